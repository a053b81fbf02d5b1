//! The real binaries, as processes: `tollgate-origin`'s admin commands and a running
//! `tollgate-origin serve` (stopped on drop), and where the `tollgate` client is.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The built `tollgate-origin` binary (`TOLLGATE_ORIGIN_BIN`, else `target/debug`).
pub fn origin_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("TOLLGATE_ORIGIN_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let bin = target.join("debug/tollgate-origin");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p tollgate-origin` (scripts/test does)",
        bin.display()
    );
    bin
}

/// The built `tollgate` client binary (next to the origin's).
pub fn client_bin() -> PathBuf {
    let bin = origin_bin().with_file_name("tollgate");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p tollgate-client` (scripts/test does)",
        bin.display()
    );
    bin
}

/// A loopback port nobody listens on right now.
/// Runs the `tollgate` CLI with `args`, its credentials in `home`: its stdout, once it
/// has succeeded (else the test fails with what it said).
pub fn client_ok(home: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(client_bin())
        .args(args)
        .env("TOLLGATE_HOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tollgate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The credentials the CLI saved in `home`.
pub fn saved_credentials(home: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(home.join("credentials.json")).unwrap()).unwrap()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs an admin command of the real binary.
pub fn cli(database_url: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(origin_bin());
    cmd.args(args).env_remove("DATABASE_URL");
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.output().expect("run tollgate-origin")
}

/// Runs an admin command that must succeed; returns its JSON.
pub fn cli_json(database_url: &str, args: &[&str]) -> serde_json::Value {
    let out = cli(Some(database_url), args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A running `tollgate-origin serve`, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Origin {
    pub url: String,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Origin {
    /// The process's id (what its database listener is named by).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn start(database_url: &str, env: &[(&str, &str)]) -> Origin {
        let port = free_port();
        Origin::start_on(database_url, port, env).expect("origin did not become ready")
    }

    /// Starts on `port` and waits for `/healthz`; `Err(log)` when the process exits first.
    pub fn start_on(database_url: &str, port: u16, env: &[(&str, &str)]) -> Result<Origin, String> {
        let log = std::env::temp_dir().join(format!(
            "tollgate-origin-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(origin_bin());
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "debug")
            .env_remove("EDGE_ORIGIN_SECRET")
            .env_remove("EDGE_PURGE_URL")
            .stdout(Stdio::null())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn tollgate-origin");
        let mut origin = Origin {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child: Some(child),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = origin.child.as_mut().unwrap().try_wait().unwrap() {
                origin.child = None;
                return Err(format!("exited with {status}: {}", origin.logs()));
            }
            // The log line, not a TCP connect: on a taken port someone else answers.
            if origin.logs().contains("tollgate-origin listening") {
                return Ok(origin);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(format!("not listening after 30 s: {}", origin.logs()))
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Starts an origin that must refuse to start; returns its one `error:` line.
    pub fn start_error(database_url: &str, env: &[(&str, &str)]) -> String {
        let log = Origin::start_on(database_url, free_port(), env)
            .err()
            .expect("must not start");
        log.lines()
            .find(|l| l.contains("error:"))
            .unwrap_or_else(|| panic!("no error line in: {log}"))
            .to_owned()
    }

    /// Sends `signal` (`STOP`, `CONT`, …) to the process.
    pub fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string())
                .status()
                .unwrap();
            assert!(status.success(), "kill -{signal}");
        }
    }

    /// SIGKILL: the process dies where it stands, as in a crash or an OOM kill.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait: the graceful path an operator's supervisor takes.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}
