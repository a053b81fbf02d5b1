//! A real `wrangler dev` running the Worker, in front of a real origin.

use std::path::PathBuf;
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
}

impl Edge {
    pub fn start(origin_url: &str, secret: &str) -> Edge {
        let port = free_port();
        Edge::start_on(port, origin_url, secret, None)
    }

    pub fn start_on(port: u16, origin_url: &str, secret: &str, jwt_secret: Option<&str>) -> Edge {
        let dir =
            std::env::temp_dir().join(format!("tollgate-edge-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut vars = vec![
            format!("ORIGIN_URL:{origin_url}"),
            format!("EDGE_ORIGIN_SECRET:{secret}"),
            // Short, so the stalled-origin test need not wait the default 30 s.
            "ORIGIN_TIMEOUT_SECS:3".to_owned(),
        ];
        if let Some(jwt) = jwt_secret {
            vars.push(format!("JWT_SECRET:{jwt}"));
        }
        let edge = Edge {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child: Mutex::new(None),
            dir,
            vars,
        };
        edge.start_again();
        edge
    }

    /// Starts wrangler (again) with the same port, settings and KV state.
    pub fn start_again(&self) {
        let root = repo_root();
        let log = self.dir.join("wrangler.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut command = Command::new("node");
        command
            .current_dir(&root)
            .arg(root.join("node_modules/wrangler/bin/wrangler.js"))
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
            .env("XDG_CONFIG_HOME", root.join(".xdg"))
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("WRANGLER_HIDE_BANNER", "true")
            .stdin(Stdio::null())
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
