//! PAT renewal through the edge, and the client's daemon loop against the real stack.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tollgate_tests::origin::client_bin;
use tollgate_tests::stack::Stack;

/// A PAT of the stack's user with `interval` (SQL) left: `(id, token)`.
async fn pat_expiring_in(stack: &Stack, interval: &str) -> (String, String) {
    let (id, token) = stack.pat();
    stack
        .sql(&format!(
            "UPDATE personal_access_tokens SET expires_at = now() + interval '{interval}' WHERE id = '{id}'"
        ))
        .await;
    (id, token)
}

pub async fn parallel_renewals_through_the_edge_extend_once_and_the_token_keeps_working(
    stack: &Stack,
) {
    let (id, token) = pat_expiring_in(stack, "3 days").await;
    assert_eq!(
        stack.me(&token).await.status(),
        StatusCode::OK,
        "now cached"
    );
    // Otherwise the 16 renewals may all miss KV at once and resolve together under load.
    stack.let_cache_writes_land().await;
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (client, url, token) = (
                stack.http(),
                format!("{}/api/tokens/current/renew", stack.edge.url),
                token.clone(),
            );
            tokio::spawn(async move {
                let r = client.post(url).bearer_auth(token).send().await.unwrap();
                let status = r.status();
                let body: Value = r.json().await.unwrap();
                assert_eq!(status, StatusCode::OK, "{body}");
                body
            })
        })
        .collect();
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.unwrap());
    }
    assert_eq!(
        answers
            .iter()
            .filter(|a| a["renewed"] == json!(true))
            .count(),
        1
    );
    let expiries: std::collections::HashSet<&str> = answers
        .iter()
        .map(|a| a["expires_at"].as_str().unwrap())
        .collect();
    assert_eq!(expiries.len(), 1, "{expiries:?}");
    let days_left = stack
        .query_bool(&format!(
            "SELECT expires_at BETWEEN now() + interval '90 days' - interval '10 seconds'
                                   AND now() + interval '90 days'
             FROM personal_access_tokens WHERE id = '{id}'"
        ))
        .await;
    assert!(days_left, "renewed to 90 days from now");
    // The renewal purged the old entry: the next request re-resolves, and works.
    let before = stack.resolves().await;
    assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    assert_eq!(
        stack.resolves().await,
        before + 1.0,
        "re-resolved with the new expiry"
    );
}

/// A `tollgate` process with its own home, logged in with `token` for the workspace.
fn client(stack: &Stack, home: &std::path::Path, token: &str, workspace: &str) -> Command {
    let login = Command::new(client_bin())
        .args(["login", "--server", &stack.edge.url, "--token", token])
        .args(["--workspace", workspace, "--daemon-id", "loop-box"])
        .env("TOLLGATE_HOME", home)
        .output()
        .unwrap();
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(home.join("credentials.json"))
            .unwrap()
            .permissions()
            .mode()
    };
    assert_eq!(mode & 0o777, 0o600);
    let mut run = Command::new(client_bin());
    run.args(["run", "--runtime", "r1"])
        .env("TOLLGATE_HOME", home)
        .env("TOLLGATE_HEARTBEAT_SECS", "1")
        .env("RUST_LOG", "info");
    run
}

fn temp_home() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-home-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn the_daemon_loop_renews_before_its_first_heartbeat(stack: &Stack) {
    let ws = stack.workspace("Loop");
    let (id, token) = pat_expiring_in(stack, "2 days").await;
    let home = temp_home();
    let mut run = client(stack, &home, &token, &ws);
    let child = Killed(
        run.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Observed on the server: the runtime registered and beating, the token renewed.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut beating = false;
    while Instant::now() < deadline && !beating {
        tokio::time::sleep(Duration::from_millis(300)).await;
        beating = stack
            .query_bool(&format!(
                "SELECT count(*) = 1 FROM runtimes WHERE workspace_id = '{ws}' AND last_seen_at > created_at"
            ))
            .await;
    }
    drop(child);
    assert!(beating, "heartbeats after registration");
    // The renewal set expires_at = (its time) + 90 days: it happened before the
    // runtime was registered, which is before the first heartbeat.
    let renewed_first = stack
        .query_bool(&format!(
            "SELECT p.expires_at - interval '90 days' <= r.created_at
             FROM personal_access_tokens p, runtimes r
             WHERE p.id = '{id}' AND r.workspace_id = '{ws}'"
        ))
        .await;
    assert!(renewed_first, "the preflight renewal came first");
    let _ = std::fs::remove_dir_all(&home);
}

pub async fn the_daemon_loop_warns_once_its_pat_is_refused_and_goes_on(stack: &Stack) {
    let ws = stack.workspace("Warn");
    let (id, token) = stack.pat();
    let home = temp_home();
    let mut run = client(stack, &home, &token, &ws);
    // Revoked after login: every call is refused from now on.
    stack.revoke_pat(&id, &token).await;
    let log = home.join("run.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = Killed(run.stdout(Stdio::null()).stderr(file).spawn().unwrap());
    let mut logs = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        logs = std::fs::read_to_string(&log).unwrap_or_default();
        if logs.contains("no longer valid") {
            break;
        }
    }
    assert!(logs.contains("WARN"), "{logs}");
    assert!(
        logs.contains("PAT is no longer valid — run \"tollgate login\" again"),
        "{logs}"
    );
    assert!(logs.contains(&token[..12]), "the display prefix: {logs}");
    assert!(!logs.contains(&token[12..]), "never the token");
    // The loop goes on.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(child.0.try_wait().unwrap().is_none(), "still running");
    drop(child);
    let _ = std::fs::remove_dir_all(&home);
}
