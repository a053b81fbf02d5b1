//! A real `wrangler dev` running the Worker, in front of a real origin.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `wrangler dev --local`, with its own KV state; stopped with SIGINT on drop (the whole
/// tree — node, workerd, esbuild — exits and frees the port).
pub struct Edge {
    pub url: String,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
    state: PathBuf,
}

impl Edge {
    pub fn start(origin_url: &str, secret: &str) -> Edge {
        let port = free_port();
        Edge::start_on(port, origin_url, secret, None)
    }

    pub fn start_on(port: u16, origin_url: &str, secret: &str, jwt_secret: Option<&str>) -> Edge {
        let root = repo_root();
        let tmp =
            std::env::temp_dir().join(format!("tollgate-edge-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&tmp).unwrap();
        let log = tmp.join("wrangler.log");
        let file = std::fs::File::create(&log).unwrap();
        let jwt_var = jwt_secret
            .map(|jwt| ["--var".to_owned(), format!("JWT_SECRET:{jwt}")])
            .into_iter()
            .flatten();
        let child = Command::new("node")
            .current_dir(&root)
            .arg(root.join("node_modules/wrangler/bin/wrangler.js"))
            .args([
                "dev",
                "--local",
                "--ip",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .args([
                "--inspector-ip",
                "127.0.0.1",
                "--inspector-port",
                &free_port().to_string(),
            ])
            .arg("--show-interactive-dev-session=false")
            .arg("--persist-to")
            .arg(tmp.join("state"))
            .args(["--var", &format!("ORIGIN_URL:{origin_url}")])
            .args(["--var", &format!("EDGE_ORIGIN_SECRET:{secret}")])
            // Short, so the stalled-origin test need not wait the default 30 s.
            .args(["--var", "ORIGIN_TIMEOUT_SECS:3"])
            .args(jwt_var)
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
        let mut edge = Edge {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child: Some(child),
            log,
            state: tmp,
        };
        edge.wait_ready();
        edge
    }

    /// Ready means: serving, and done with the extra build wrangler starts right after
    /// start-up (its watcher fires once), which restarts the Worker and fails whatever
    /// request is in flight. If that rebuild has not come within a few seconds of being
    /// ready, it is not coming.
    fn wait_ready(&mut self) {
        // Cold builds of the Worker take a while on two cores.
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut serving_since = None;
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                panic!("wrangler dev exited with {status}:\n{}", self.logs());
            }
            let logs = self.logs();
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
        std::fs::read_to_string(&self.log).unwrap_or_default()
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
        if let Some(mut child) = self.child.take() {
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
        let _ = std::fs::remove_dir_all(&self.state);
    }
}
