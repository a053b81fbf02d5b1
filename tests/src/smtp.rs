//! A real SMTP server for the tests that mail: aiosmtpd (pinned with the other Python
//! tools in `scripts/schemathesis-requirements.txt`; `TOLLGATE_PYTHON` is its
//! interpreter) writing what it receives into a Maildir, which the tests read the codes
//! out of. With [`Tls::StartTls`] it requires STARTTLS, with the test cluster's
//! certificate for `localhost` (the origin trusts its CA through `SMTP_CA_FILE`).

use std::collections::HashSet;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cluster::var;
use crate::origin::free_port;

/// The sender every test origin mails from.
pub const MAIL_FROM: &str = "Tollgate <no-reply@tollgate.test>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain SMTP, which the origin allows to loopback only.
    None,
    /// STARTTLS required before any mail is taken.
    StartTls,
}

pub struct SmtpServer {
    pub port: u16,
    pub tls: Tls,
    maildir: PathBuf,
    child: Child,
    /// Messages already handed out by [`SmtpServer::next_message`].
    seen: Mutex<HashSet<PathBuf>>,
}

/// One received message: its raw text as stored (envelope headers first).
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: String,
}

impl Received {
    /// The value of header `name` (the first one), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\n\n").next().unwrap_or_default();
        let mut lines = head.lines().peekable();
        while let Some(line) = lines.next() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if key.eq_ignore_ascii_case(name) {
                let mut value = value.trim().to_owned();
                while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                    value.push(' ');
                    value.push_str(next.trim());
                    lines.next();
                }
                return Some(value);
            }
        }
        None
    }

    /// The body: what follows the headers.
    pub fn body(&self) -> &str {
        self.raw.split_once("\n\n").map_or("", |(_, body)| body)
    }

    /// The sign-in code: the body's line that is six digits (and nothing else).
    pub fn code(&self) -> String {
        let body = self.body();
        let code = body
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()));
        code.unwrap_or_else(|| panic!("no code in {body:?}"))
            .to_owned()
    }
}

impl SmtpServer {
    pub fn start(tls: Tls) -> SmtpServer {
        let maildir =
            std::env::temp_dir().join(format!("tollgate-smtp-{}", uuid::Uuid::new_v4().simple()));
        let port = free_port();
        let mut cmd = Command::new(var("TOLLGATE_PYTHON"));
        cmd.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if tls == Tls::StartTls {
            let certs = PathBuf::from(var("TOLLGATE_TEST_PG_DATA")).join("tls");
            cmd.arg("--tlscert")
                .arg(certs.join("server.crt"))
                .arg("--tlskey")
                .arg(certs.join("server.key"));
        }
        let child = cmd.arg(&maildir).spawn().expect("spawn aiosmtpd");
        let server = SmtpServer {
            port,
            tls,
            maildir,
            child,
            seen: Mutex::default(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen in 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `SMTP_URL` for it (`localhost`: the name its certificate is for).
    pub fn url(&self) -> String {
        match self.tls {
            Tls::None => format!("smtp://127.0.0.1:{}", self.port),
            Tls::StartTls => format!("smtp://localhost:{}?tls=required", self.port),
        }
    }

    /// The origin's mail settings for it: `SMTP_URL`, `MAIL_FROM` and, with TLS,
    /// `SMTP_CA_FILE`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("SMTP_URL", self.url()),
            ("MAIL_FROM", MAIL_FROM.to_owned()),
        ];
        if self.tls == Tls::StartTls {
            env.push(("SMTP_CA_FILE", var("TOLLGATE_TEST_PG_CA")));
        }
        env
    }

    /// Every message received for `to` so far, oldest first.
    pub fn messages_to(&self, to: &str) -> Vec<(PathBuf, Received)> {
        let mut found = Vec::new();
        for dir in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(raw) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let received = Received {
                    raw: raw.replace("\r\n", "\n"),
                };
                let rcpt = received.header("x-rcptto").unwrap_or_default();
                if rcpt.split([',', ' ']).any(|r| r.eq_ignore_ascii_case(to)) {
                    let modified = entry.metadata().and_then(|m| m.modified()).ok();
                    found.push((modified, path, received));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        found.into_iter().map(|(_, p, r)| (p, r)).collect()
    }

    /// The next message for `to` not handed out before, waiting up to 10 s for it.
    pub async fn next_message(&self, to: &str) -> Received {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let fresh = {
                let mut seen = self.seen.lock().unwrap();
                let next = self
                    .messages_to(to)
                    .into_iter()
                    .find(|(path, _)| !seen.contains(path));
                next.map(|(path, received)| {
                    seen.insert(path);
                    received
                })
            };
            if let Some(received) = fresh {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "no new mail for {to} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The code of the next message for `to`.
    pub async fn next_code(&self, to: &str) -> String {
        self.next_message(to).await.code()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}
