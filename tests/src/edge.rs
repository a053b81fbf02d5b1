//! A real `wrangler dev` running the Worker, in front of a real origin.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::origin::free_port;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `wrangler dev --local`, with its own KV state; stopped with SIGINT on drop (the whole
/// tree — node, workerd, esbuild — exits and frees the port). It can be stopped and
/// started again on the same port with the same KV state (fault tests).
pub struct Edge {
    pub url: String,
    pub port: u16,
    child: Mutex<Option<Child>>,
    dir: PathBuf,
    vars: Vec<String>,
    /// Another location's generated configuration (`None`: the repository's).
    config: Option<PathBuf>,
    /// wrangler's config folder, which holds the dev registry through which local
    /// Workers reach each other's Durable Objects: shared by a stack's edges.
    pub xdg: PathBuf,
}

/// What a second edge shares with the first: the log's Worker, the settings.
pub struct Elsewhere<'a> {
    /// The Worker name of this location (its own KV and cache).
    pub name: &'a str,
    /// The Worker whose revocation log it binds (`script_name`); one that is not
    /// running leaves it without a log.
    pub log_script: &'a str,
    pub origin_url: &'a str,
    pub secret: &'a str,
    pub jwt_secret: Option<&'a str>,
    /// The first edge's `xdg`.
    pub xdg: &'a Path,
}

impl Edge {
    pub fn start(origin_url: &str, secret: &str) -> Edge {
        let port = free_port();
        Edge::start_on(port, origin_url, secret, None)
    }

    pub fn start_on(port: u16, origin_url: &str, secret: &str, jwt_secret: Option<&str>) -> Edge {
        let dir = new_dir();
        let xdg = dir.join("xdg");
        let edge = Edge::new(port, dir, xdg, None, origin_url, secret, jwt_secret);
        edge.start_again();
        edge
    }

    /// The same Worker as another location (two data centers whose KV has not
    /// converged): its own KV and Cache API, the built Worker of the first edge (no
    /// build of its own), and the revocation log of `log_script`.
    pub fn start_elsewhere(at: &Elsewhere<'_>) -> Edge {
        let dir = new_dir();
        let root = repo_root();
        let main_config = std::fs::read_to_string(root.join("wrangler.toml")).unwrap();
        let compatibility = main_config
            .lines()
            .find(|l| l.starts_with("compatibility_date"))
            .expect("wrangler.toml has a compatibility_date");
        let config = format!(
            r#"name = "{name}"
main = "{main}"
{compatibility}

[[kv_namespaces]]
binding = "AUTH_CACHE"
id = "{name}-auth-cache"

[[ratelimits]]
name = "INVALID_TOKEN_LIMITER"
namespace_id = "1001"
simple = {{ limit = 50, period = 10 }}

[[ratelimits]]
name = "SIGN_IN_SEND_LIMITER"
namespace_id = "1002"
simple = {{ limit = 5, period = 60 }}

[[ratelimits]]
name = "SIGN_IN_VERIFY_LIMITER"
namespace_id = "1003"
simple = {{ limit = 20, period = 60 }}

[[durable_objects.bindings]]
name = "REVOCATION_LOG"
class_name = "RevocationLog"
script_name = "{log}"
"#,
            name = at.name,
            main = root.join("build/worker/shim.mjs").display(),
            log = at.log_script,
        );
        let path = dir.join("wrangler.toml");
        std::fs::write(&path, config).unwrap();
        let xdg = at.xdg.to_owned();
        let port = free_port();
        let edge = Edge::new(
            port,
            dir,
            xdg,
            Some(path),
            at.origin_url,
            at.secret,
            at.jwt_secret,
        );
        edge.start_again();
        edge
    }

    fn new(
        port: u16,
        dir: PathBuf,
        xdg: PathBuf,
        config: Option<PathBuf>,
        origin_url: &str,
        secret: &str,
        jwt_secret: Option<&str>,
    ) -> Edge {
        let mut vars = vec![
            format!("ORIGIN_URL:{origin_url}"),
            format!("EDGE_ORIGIN_SECRET:{secret}"),
            // Short, so the stalled-origin test need not wait the default 30 s.
            "ORIGIN_TIMEOUT_SECS:3".to_owned(),
        ];
        if let Some(jwt) = jwt_secret {
            vars.push(format!("JWT_SECRET:{jwt}"));
        }
        Edge {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child: Mutex::new(None),
            dir,
            vars,
            config,
            xdg,
        }
    }

    /// Its KV state, for `wrangler kv` commands.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// The value under `key` in this edge's KV, read with `wrangler kv key get`.
    pub fn kv_get(&self, key: &str) -> Option<String> {
        let out = self
            .wrangler()
            .args([
                "kv",
                "key",
                "get",
                key,
                "--binding",
                "AUTH_CACHE",
                "--local",
            ])
            .arg("--persist-to")
            .arg(self.state_dir())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (out.status.success() && !text.is_empty() && text != "Value not found").then_some(text)
    }

    /// Writes `value` under `key` into this edge's KV (`wrangler kv key put`), as a
    /// write that lands late would.
    pub fn kv_put(&self, key: &str, value: &str) {
        let out = self
            .wrangler()
            .args([
                "kv",
                "key",
                "put",
                key,
                value,
                "--binding",
                "AUTH_CACHE",
                "--local",
            ])
            .args(["--ttl", "600"])
            .arg("--persist-to")
            .arg(self.state_dir())
            .output()
            .unwrap();
        assert!(out.status.success(), "kv put: {out:?}");
    }

    /// `node wrangler.js` in the repository, with this edge's configuration.
    fn wrangler(&self) -> Command {
        let root = repo_root();
        let mut command = Command::new("node");
        command
            .current_dir(&root)
            .arg(root.join("node_modules/wrangler/bin/wrangler.js"));
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        command
            .env("XDG_CONFIG_HOME", &self.xdg)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("WRANGLER_HIDE_BANNER", "true")
            .stdin(Stdio::null());
        command
    }

    /// Starts wrangler (again) with the same port, settings and KV state.
    pub fn start_again(&self) {
        let log = self.dir.join("wrangler.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut command = self.wrangler();
        command
            .args([
                "dev",
                "--local",
                "--ip",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
            ])
            .args([
                "--inspector-ip",
                "127.0.0.1",
                "--inspector-port",
                &free_port().to_string(),
            ])
            .arg("--show-interactive-dev-session=false")
            .arg("--persist-to")
            .arg(self.dir.join("state"));
        for var in &self.vars {
            command.args(["--var", var]);
        }
        let child = command
            .env("TOLLGATE_NO_OPT", "1")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start wrangler dev (run scripts/test: it installs wrangler)");
        let offset = self.logs().len();
        *self.child.lock().unwrap() = Some(child);
        self.wait_ready(offset);
    }

    /// Ready means: serving, and done with the extra build wrangler starts right after
    /// start-up (its watcher fires once), which restarts the Worker and fails whatever
    /// request is in flight. If that rebuild has not come within a few seconds of being
    /// ready, it is not coming. Only the log after `offset` counts (restarts append).
    fn wait_ready(&self, offset: usize) {
        // Cold builds of the Worker take a while on two cores.
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut serving_since = None;
        while Instant::now() < deadline {
            if let Some(child) = self.child.lock().unwrap().as_mut() {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("wrangler dev exited with {status}:\n{}", self.logs());
                }
            }
            let all = self.logs();
            let logs = all.get(offset..).unwrap_or_default();
            let builds = logs.matches("[custom build] Running").count();
            let built = logs.matches("[custom build] ⚡ Done").count();
            let rebuilt = logs.contains("restarting build");
            let serving = logs.contains("Ready on") && built >= builds && healthz(self.port);
            if serving && self.config.is_some() {
                // Another location builds nothing, so no rebuild follows.
                return;
            }
            if serving {
                let since = *serving_since.get_or_insert_with(Instant::now);
                if rebuilt || since.elapsed() > Duration::from_secs(8) {
                    // Let the reloaded Worker take over before the first test request.
                    std::thread::sleep(Duration::from_millis(500));
                    if healthz(self.port) {
                        return;
                    }
                }
            } else {
                serving_since = None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("wrangler dev not ready after 300 s:\n{}", self.logs());
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.join("wrangler.log")).unwrap_or_default()
    }

    /// SIGINT, and wait until the whole tree has exited and the port is free.
    pub fn stop(&self) {
        let Some(mut child) = self.child.lock().unwrap().take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn new_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-edge-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn healthz(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
