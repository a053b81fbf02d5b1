//! The whole stack, started once for all end-to-end tests through the edge: a migrated
//! database with two users, the origin binary with edge trust, purges and mail (a real
//! SMTP server), and `wrangler dev` in front of it. Dropping it stops them all.

use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::http::Method;
use reqwest::Client;
use serde_json::{json, Value};
use tollgate_shared::sign_in::{SEND_CODE_PATH, VERIFY_CODE_PATH};

use crate::api::{Api, TestResponse};
use crate::browser::{Driver, Page};
use crate::db::{connect, fresh_database};
use crate::edge::{Edge, Elsewhere};
use crate::fleet::FakeFleet;
use crate::origin::{cli_json, free_port, Origin};
use crate::smtp::{SmtpServer, Tls};

pub const SECRET: &str = "e2e-edge-origin-secret-of-32-bytes!";
/// `JWT_SECRET` of the stack's origin and edge.
pub const JWT_SECRET: &str = "e2e-jwt-secret-of-at-least-32-bytes";
pub const EMAIL: &str = "edge@example.com";

pub struct Stack {
    pub db: String,
    /// Behind a lock: the outage test stops it and starts it again.
    pub origin: Mutex<Origin>,
    pub origin_url: String,
    pub edge: Edge,
    /// The user every test's tokens belong to (`{id, email, name}`).
    pub user: Value,
    /// Every token minted, to check at the end that none reached a log.
    pub minted: Mutex<Vec<String>>,
    /// The origin's `FLEET_URL`; it verifies every cloud PAT for the stack's user
    /// unless a test says otherwise.
    pub fleet: FakeFleet,
    /// The origin's `SMTP_URL` (STARTTLS required): sign-in codes arrive here.
    pub smtp: SmtpServer,
    /// Two more locations of the edge, started by the first test that asks.
    locations: OnceLock<Locations>,
    /// The console tests' chromedriver, started by the first test that asks.
    driver: tokio::sync::OnceCell<Driver>,
}

/// A person signed in through the edge, as their browser holds it: the two cookies.
pub struct Browser {
    pub jwt: String,
    pub csrf: String,
    /// The address the browser connects from (`127.0.0.x`): what the edge counts.
    pub from: IpAddr,
}

impl Browser {
    /// The `Cookie` header the browser sends.
    pub fn cookie(&self) -> String {
        format!("tollgate_session={}; tollgate_csrf={}", self.jwt, self.csrf)
    }
}

/// Other locations of the same Worker, each with its own KV and cache: `second` shares
/// the first edge's revocation log, `without_log` binds a log nobody serves. The origin
/// purges only the first edge, as it purges one KV namespace in production, where the
/// namespace then takes its time to converge.
pub struct Locations {
    pub second: Edge,
    pub without_log: Edge,
}

/// Someone other than the stack's user.
pub struct Person {
    pub id: String,
    pub email: String,
    pub pat: String,
}

impl Stack {
    pub async fn start() -> Stack {
        let db = fresh_database().await;
        cli_json(&db, &["migrate"]);
        let user = cli_json(&db, &["user", "create", "--email", EMAIL, "--name", "Edge"]);
        cli_json(&db, &["user", "create", "--email", "victim@example.com"]);

        let fleet = FakeFleet::start(user["id"].as_str().map(str::to_owned)).await;
        let smtp = SmtpServer::start(Tls::StartTls);
        let (origin_port, edge_port) = (free_port(), free_port());
        let origin_url = format!("http://127.0.0.1:{origin_port}");
        let origin = start_origin(&db, origin_port, edge_port, &fleet.url, &smtp);
        let edge = tokio::task::spawn_blocking({
            let origin_url = origin_url.clone();
            move || Edge::start_on(edge_port, &origin_url, SECRET, Some(JWT_SECRET))
        })
        .await
        .unwrap();
        Stack {
            db,
            origin: Mutex::new(origin),
            origin_url,
            edge,
            user,
            minted: Mutex::default(),
            fleet,
            smtp,
            locations: OnceLock::new(),
            driver: tokio::sync::OnceCell::new(),
        }
    }

    /// A new headless browser with a profile of its own (chromedriver started on first
    /// use), for pages served by the edge.
    pub async fn browser(&self) -> Page {
        self.driver.get_or_init(Driver::start).await.open().await
    }

    /// The other locations (started on first use, both at once).
    pub async fn locations(&self) -> &Locations {
        if let Some(locations) = self.locations.get() {
            return locations;
        }
        let start = |name: &'static str, log_script: &'static str| {
            let (origin_url, xdg) = (self.origin_url.clone(), self.edge.xdg.clone());
            tokio::task::spawn_blocking(move || {
                Edge::start_elsewhere(&Elsewhere {
                    name,
                    log_script,
                    origin_url: &origin_url,
                    secret: SECRET,
                    jwt_secret: Some(JWT_SECRET),
                    xdg: &xdg,
                })
            })
        };
        let second = start("tollgate-edge-second", "tollgate-edge");
        let without_log = start("tollgate-edge-without-log", "tollgate-edge-nowhere");
        let (second, without_log) = (second.await.unwrap(), without_log.await.unwrap());
        self.locations.get_or_init(|| Locations {
            second,
            without_log,
        })
    }

    /// Starts the origin again on its port after a test stopped it.
    pub fn restart_origin(&self) {
        let port = self.origin.lock().unwrap().port;
        *self.origin.lock().unwrap() =
            start_origin(&self.db, port, self.edge.port, &self.fleet.url, &self.smtp);
    }

    /// A client that connects from `from` (any `127.0.0.x` is this machine): the edge
    /// counts its sign-in requests apart from every other test's.
    pub fn http_from(&self, from: IpAddr) -> Client {
        Client::builder()
            .timeout(Duration::from_secs(30))
            .local_address(from)
            .build()
            .unwrap()
    }

    /// `POST path` through the edge from `from`, with a JSON body.
    pub async fn post_from(&self, from: IpAddr, path: &str, body: &Value) -> reqwest::Response {
        self.http_from(from)
            .post(format!("{}{path}", self.edge.url))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Signs `email` in through the edge from `from`, with the code the mail brought.
    pub async fn sign_in(&self, email: &str, from: IpAddr) -> Browser {
        let r = self
            .post_from(from, SEND_CODE_PATH, &json!({ "email": email }))
            .await;
        assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
        let code = self.smtp.next_code(email).await;
        let body = json!({ "email": email, "code": code });
        let r = self.post_from(from, VERIFY_CODE_PATH, &body).await;
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let cookie = |name: &str| {
            r.headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|c| c.strip_prefix(&format!("{name}=")))
                .and_then(|rest| rest.split(';').next())
                .unwrap_or_else(|| panic!("no {name} cookie"))
                .to_owned()
        };
        let browser = Browser {
            jwt: cookie("tollgate_session"),
            csrf: cookie("tollgate_csrf"),
            from,
        };
        self.minted.lock().unwrap().push(browser.jwt.clone());
        browser
    }

    /// `method path` through the edge as `browser`: its cookies, and the CSRF header
    /// on unsafe methods.
    pub async fn as_browser(
        &self,
        browser: &Browser,
        method: Method,
        path: &str,
    ) -> reqwest::Response {
        let unsafe_method = tollgate_shared::session::needs_csrf(method.as_str());
        let mut req = self
            .http_from(browser.from)
            .request(method, format!("{}{path}", self.edge.url))
            .header("cookie", browser.cookie());
        if unsafe_method {
            req = req.header("x-csrf-token", &browser.csrf);
        }
        req.send().await.unwrap()
    }

    pub fn http(&self) -> Client {
        Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    pub async fn me(&self, token: &str) -> reqwest::Response {
        self.http()
            .get(format!("{}/api/me", self.edge.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `tollgate_resolve_total`, summed, from the origin's own `/metrics`.
    pub async fn resolves(&self) -> f64 {
        self.metric("tollgate_resolve_total").await
    }

    /// The origin's metric lines starting with `selector`, summed.
    pub async fn metric(&self, selector: &str) -> f64 {
        let text = self
            .http()
            .get(format!("{}/metrics", self.origin_url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        crate::metrics::sum(&text, selector)
    }

    /// The edge stores a miss's answer in KV after it has answered (`wait_until`): a
    /// test that counts hits, or revokes, after a miss gives that write time to land —
    /// a write that lands after the purge is what the outbox's second purge is for.
    pub async fn let_cache_writes_land(&self) {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Revokes the PAT `id` with itself through the edge; it must work (204).
    pub async fn revoke_pat(&self, id: &str, token: &str) {
        let r = self
            .http()
            .delete(format!("{}/api/tokens/{id}", self.edge.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
    }

    /// Waits until this client's misses are resolved again: a test that sent many
    /// unknown tokens leaves the client over its invalid-token budget, and the edge then
    /// refuses its misses (429) for the limiter's period. A new valid token (a miss,
    /// which counts for nothing) tells when that is over.
    pub async fn wait_until_misses_resolve(&self) {
        let (_, fresh) = self.pat();
        let mut status = reqwest::StatusCode::TOO_MANY_REQUESTS;
        for _ in 0..30 {
            status = self.me(&fresh).await.status();
            if status != reqwest::StatusCode::TOO_MANY_REQUESTS {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert_eq!(status, reqwest::StatusCode::OK, "misses resolve again");
    }

    /// A new PAT of the stack's user: `(id, token)`.
    pub fn pat(&self) -> (String, String) {
        let pat = cli_json(
            &self.db,
            &["pat", "create", "--email", EMAIL, "--name", "e2e"],
        );
        let token = pat["token"].as_str().unwrap().to_owned();
        self.minted.lock().unwrap().push(token.clone());
        (pat["id"].as_str().unwrap().to_owned(), token)
    }

    /// A session of the stack's user for `ttl_secs`, minted with its record by the admin
    /// CLI: the JWT.
    pub fn session(&self, ttl_secs: u32) -> String {
        let out = std::process::Command::new(crate::origin::origin_bin())
            .args(["session", "mint", "--email", EMAIL, "--ttl-secs"])
            .arg(ttl_secs.to_string())
            .env("DATABASE_URL", &self.db)
            .env("JWT_SECRET", JWT_SECRET)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "session mint: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let minted: Value = serde_json::from_slice(&out.stdout).unwrap();
        let jwt = minted["token"].as_str().unwrap().to_owned();
        self.minted.lock().unwrap().push(jwt.clone());
        jwt
    }

    /// A new workspace called `name`, owned by the stack's user (made with the admin
    /// CLI): its id.
    pub fn workspace(&self, name: &str) -> String {
        let ws = cli_json(
            &self.db,
            &[
                "workspace",
                "create",
                "--name",
                name,
                "--owner-email",
                EMAIL,
            ],
        );
        ws["id"].as_str().unwrap().to_owned()
    }

    /// A new person, made with the admin CLI, with a PAT.
    pub fn person(&self) -> Person {
        let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
        let user = cli_json(&self.db, &["user", "create", "--email", &email]);
        let pat = cli_json(
            &self.db,
            &["pat", "create", "--email", &email, "--name", "who"],
        );
        let pat = pat["token"].as_str().unwrap().to_owned();
        self.minted.lock().unwrap().push(pat.clone());
        let id = user["id"].as_str().unwrap().to_owned();
        Person { id, email, pat }
    }

    /// The first column of the first row of `query`, a boolean.
    pub async fn query_bool(&self, query: &str) -> bool {
        let client = connect(&self.db).await;
        client.query_one(query, &[]).await.unwrap().get(0)
    }

    /// `tollgate-origin user <args>` against this stack's database; with `edge`, told
    /// where the edge's purge is (as `serve` is), else without it.
    pub fn user_command(&self, args: &[&str], edge: bool) -> std::process::Output {
        let mut cmd = std::process::Command::new(crate::origin::origin_bin());
        cmd.arg("user").args(args).env("DATABASE_URL", &self.db);
        if edge {
            cmd.env(
                "EDGE_PURGE_URL",
                format!("{}/__tollgate/purge", self.edge.url),
            )
            .env("EDGE_ORIGIN_SECRET", SECRET);
        } else {
            cmd.env_remove("EDGE_PURGE_URL")
                .env_remove("EDGE_ORIGIN_SECRET");
        }
        cmd.output().unwrap()
    }

    pub async fn sql(&self, query: &str) {
        connect(&self.db).await.batch_execute(query).await.unwrap();
    }

    pub fn logs(&self) -> String {
        let mut logs = self.origin.lock().unwrap().logs() + &self.edge.logs();
        if let Some(locations) = self.locations.get() {
            logs += &locations.second.logs();
            logs += &locations.without_log.logs();
        }
        logs
    }
}

/// The API through the edge; every secret a fixture is given is [`Stack::minted`].
impl Api for Stack {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> TestResponse {
        let mut req = self
            .http()
            .request(method, format!("{}{path}", self.edge.url));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let r = req.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        TestResponse::new(status, headers, &r.bytes().await.unwrap())
    }

    fn keep(&self, secret: &str) {
        self.minted.lock().unwrap().push(secret.to_owned());
    }
}

/// The origin as the stack runs it: trusting the edge, purging to it, asking the fake
/// Fleet.
fn start_origin(db: &str, port: u16, edge_port: u16, fleet_url: &str, smtp: &SmtpServer) -> Origin {
    let purge_url = format!("http://127.0.0.1:{edge_port}/__tollgate/purge");
    // People reach the stack at the edge, over plain http to this machine.
    let public_url = format!("http://127.0.0.1:{edge_port}");
    let mail = smtp.env();
    let mut env = vec![
        ("EDGE_ORIGIN_SECRET", SECRET),
        ("EDGE_PURGE_URL", purge_url.as_str()),
        ("JWT_SECRET", JWT_SECRET),
        ("FLEET_URL", fleet_url),
        ("PUBLIC_URL", public_url.as_str()),
    ];
    env.extend(mail.iter().map(|(k, v)| (*k, v.as_str())));
    Origin::start_on(db, port, &env).unwrap()
}
