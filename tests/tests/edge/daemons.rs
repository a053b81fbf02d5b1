//! Daemons through the edge: an admin mints an install token, an installer exchanges it
//! (a public route), the daemon calls `/api/daemon/*` with its token (a KV hit from the
//! second call), an admin revokes it (401 at once); and the real `tollgate` client.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_shared::AuthError;
use tollgate_tests::api::assert_refused;
use tollgate_tests::fixtures;
use tollgate_tests::origin::client_bin;
use tollgate_tests::stack::Stack;

/// A workspace of the stack's user, and a PAT to administer it.
fn workspace(stack: &Stack) -> (String, String) {
    let ws = stack.workspace("Fleet");
    let (_, pat) = stack.pat();
    (ws, pat)
}

async fn whoami(stack: &Stack, token: &str) -> reqwest::Response {
    stack
        .http()
        .get(format!("{}/api/daemon/whoami", stack.edge.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub async fn enroll_call_and_revoke_through_the_edge(stack: &Stack) {
    let (ws, pat) = workspace(stack);
    let mit = fixtures::install_token(stack, &ws, &pat).await;
    let mdt = fixtures::enroll(stack, &mit, "edge-box").await;

    let before = stack.resolves().await;
    for _ in 0..2 {
        let r = whoami(stack, &mdt).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["actor_source"], "daemon");
        assert_eq!(body["workspace_id"], ws.as_str());
        assert_eq!(body["daemon_id"], "edge-box");
        stack.let_cache_writes_land().await;
    }
    assert_eq!(
        stack.resolves().await,
        before + 1.0,
        "the second call is a KV hit"
    );
    // Daemon tokens are not user credentials, and daemon routes take no cookies.
    assert_refused(stack.me(&mdt).await, AuthError::InvalidToken).await;
    let r = stack
        .http()
        .get(format!("{}/api/daemon/whoami", stack.edge.url))
        .header("cookie", format!("tollgate_session={mdt}"))
        .send()
        .await
        .unwrap();
    assert_refused(r, AuthError::MissingAuthorizationHeader).await;

    let list: Value = stack
        .http()
        .get(format!(
            "{}/api/workspaces/{ws}/daemon-tokens",
            stack.edge.url
        ))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list[0]["id"].as_str().unwrap();
    let r = stack
        .http()
        .delete(format!(
            "{}/api/workspaces/{ws}/daemon-tokens/{id}",
            stack.edge.url
        ))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_refused(whoami(stack, &mdt).await, AuthError::InvalidToken).await;
}

pub async fn the_client_enrolls_and_keeps_its_token_private(stack: &Stack) {
    let (ws, pat) = workspace(stack);
    let mit = fixtures::install_token(stack, &ws, &pat).await;
    let home = tempfile_dir();
    let run = |args: &[&str]| {
        Command::new(client_bin())
            .args(args)
            .env("TOLLGATE_HOME", &home)
            .output()
            .unwrap()
    };
    let out = run(&[
        "enroll",
        "--server",
        &stack.edge.url,
        "--install-token",
        &mit,
        "--daemon-id",
        "cli-box",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&ws) && said.contains("cli-box"), "{said}");
    let file = home.join("credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["workspace_id"], ws.as_str());
    assert!(saved["token"].as_str().unwrap().starts_with("mdt_"));
    stack
        .minted
        .lock()
        .unwrap()
        .push(saved["token"].as_str().unwrap().to_owned());

    let out = run(&["whoami"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let me: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(me["daemon_id"], "cli-box");

    // The same install token again: the server's message and what to do.
    let out = run(&[
        "enroll",
        "--server",
        &stack.edge.url,
        "--install-token",
        &mit,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("install_token_already_used"), "{err}");
    assert!(
        err.contains("ask an admin for a new install token"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&home);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-home-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
