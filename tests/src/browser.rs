//! Headless Chromium over WebDriver, for the console's tests: Debian's `chromium` and
//! `chromedriver` (scripts/lib/browser.sh installs them). One chromedriver serves the
//! run; each [`Driver::open`] starts a browser with its own new profile, so two of them
//! are two people's browsers (or one person's two), each with its own cookies.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::origin::free_port;

fn chromium() -> String {
    std::env::var("TOLLGATE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

fn chromedriver() -> String {
    std::env::var("TOLLGATE_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned())
}

/// Where the console's screenshots and timings go: `target/console/`.
pub fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// How long a page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(10);

/// A running chromedriver, stopped when dropped.
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    pub async fn start() -> Driver {
        let port = free_port();
        let child = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} ({e}): run scripts/test, which installs it",
                    chromedriver()
                )
            });
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        let started = Instant::now();
        loop {
            if let Ok(r) = reqwest::get(&status).await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, url }
    }

    /// A new headless browser with an empty profile of its own.
    pub async fn open(&self) -> Page {
        let profile = tempfile::tempdir().unwrap();
        // The flags keep Chromium off the network it cannot reach from these machines
        // (background updates, sync, QUIC) and out of a sandbox it cannot have as root.
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
        ];
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium(), "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session");
        Page {
            client,
            _profile: profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser, and the helpers the tests use to act in it as a person does: by labels,
/// button texts and what is shown.
pub struct Page {
    pub client: Client,
    _profile: tempfile::TempDir,
}

impl Page {
    /// Loads `url` afresh and waits until the page says it is interactive (its data
    /// shown): the milliseconds from navigation to then.
    pub async fn load(&self, url: &str) -> f64 {
        self.client.goto("about:blank").await.unwrap();
        self.client.goto(url).await.unwrap();
        self.ready().await
    }

    /// Waits for the page's `tollgate:ready` mark: the milliseconds since navigation.
    pub async fn ready(&self) -> f64 {
        let started = Instant::now();
        loop {
            let at = self
                .client
                .execute(
                    "const m = performance.getEntriesByName('tollgate:ready');
                     return m.length ? m[m.length - 1].startTime : null;",
                    vec![],
                )
                .await
                .unwrap();
            if let Some(ms) = at.as_f64() {
                return ms;
            }
            assert!(started.elapsed() < PATIENCE, "the page never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first element matching `css`, once there is one.
    pub async fn find(&self, css: &str) -> Element {
        self.find_within(css, PATIENCE).await
    }

    pub async fn find_within(&self, css: &str, patience: Duration) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                return e;
            }
            assert!(
                started.elapsed() < patience,
                "nothing matches {css} after {patience:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until nothing matches `css`.
    pub async fn gone(&self, css: &str) {
        let started = Instant::now();
        while !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
        {
            assert!(started.elapsed() < PATIENCE, "{css} is still there");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types `text` into the field labelled `label`.
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.labelled(label).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Picks the option shown as `option` in the list labelled `label`.
    pub async fn choose(&self, label: &str, option: &str) {
        self.labelled(label)
            .await
            .select_by_label(option)
            .await
            .unwrap();
    }

    /// The form control a `<label>` with exactly `label` names.
    pub async fn labelled(&self, label: &str) -> Element {
        let xpath = format!(
            "//*[@id=//label[normalize-space()={}]/@for] | //*[@aria-label={}]",
            xpath_literal(label),
            xpath_literal(label)
        );
        self.find_xpath(&xpath).await
    }

    /// Clicks the button that says `text` (the last one, when several do: a dialog's).
    pub async fn press(&self, text: &str) {
        let xpath = format!(
            "(//button[normalize-space()={}])[last()]",
            xpath_literal(text)
        );
        let button = self.find_xpath(&xpath).await;
        let started = Instant::now();
        while !button.is_enabled().await.unwrap() {
            assert!(started.elapsed() < PATIENCE, "button {text} stays disabled");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        button.click().await.unwrap();
    }

    /// Clicks the button that says `text` inside the first element matching `css`.
    pub async fn press_in(&self, css: &str, text: &str) {
        let row = self.find(css).await;
        let xpath = format!(".//button[normalize-space()={}]", xpath_literal(text));
        row.find(Locator::XPath(&xpath))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    pub async fn find_xpath(&self, xpath: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::XPath(xpath)).await {
                return e;
            }
            assert!(started.elapsed() < PATIENCE, "nothing matches {xpath}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of the first element matching `css`, once it contains `expected`.
    pub async fn text_with(&self, css: &str, expected: &str) -> String {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = e.text().await {
                    if text.contains(expected) {
                        return text;
                    }
                }
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css} never said {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Runs `script` in the page; its `return` value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Gives the browser `cookies` for `url`'s site, as a sign-in elsewhere would have
    /// (the page at `url` is loaded first: WebDriver sets cookies for the current site).
    pub async fn set_cookies(&self, url: &str, cookies: &[(&str, &str)]) {
        self.client.goto(url).await.unwrap();
        for (name, value) in cookies {
            // chromedriver wants the host named, and SameSite as the origin sets it
            // (unset, the driver asks for None, which Chromium refuses without Secure).
            let host = reqwest::Url::parse(url)
                .unwrap()
                .host_str()
                .unwrap()
                .to_owned();
            let cookie = fantoccini::cookies::Cookie::parse(format!(
                "{name}={value}; Path=/; Domain={host}; SameSite=Lax"
            ))
            .unwrap();
            self.client.add_cookie(cookie).await.unwrap();
        }
    }

    /// Saves the page as `target/console/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
    }

    /// axe-core's scan of the page as it is: its serious and critical violations.
    pub async fn accessibility_violations(&self) -> Vec<Value> {
        let axe = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../node_modules/axe-core/axe.min.js"),
        )
        .expect("node_modules/axe-core (npm ci)");
        self.client.execute(&axe, vec![]).await.unwrap();
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] }).then(
                   (r) => done(r.violations
                     .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                     .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                    nodes: v.nodes.map((n) => n.target.join(' ')) }))),
                   (e) => done([{ id: 'axe failed', help: String(e) }]));",
                vec![],
            )
            .await
            .unwrap();
        found
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("axe answered {found}"))
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// `s` as an XPath string literal.
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// Records that `page` became interactive `ms` after navigation, in
/// `target/console/timings.json` (`scripts/bench` reports the file).
pub fn record_timing(page: &str, ms: f64) {
    let file = artifacts().join("timings.json");
    let mut all: serde_json::Map<String, Value> = std::fs::read(&file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    all.insert(page.to_owned(), json!(ms.round()));
    std::fs::write(&file, serde_json::to_vec_pretty(&all).unwrap()).unwrap();
    println!("console page {page}: interactive after {ms:.0} ms");
}

/// Fails with axe-core's findings if the page as it is has any serious or critical
/// accessibility violation; saves its screenshot as `<name>.png` either way.
pub async fn check_page(page: &Page, name: &str) {
    page.screenshot(name).await;
    let violations = page.accessibility_violations().await;
    assert!(
        violations.is_empty(),
        "{name}: {}",
        serde_json::to_string_pretty(&violations).unwrap()
    );
}
