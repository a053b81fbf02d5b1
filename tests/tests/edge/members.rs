//! Removing a member through the edge: their daemon token is refused from the 204 on
//! (the purge is delivered before it), their running task's token on the very next
//! request (never cached), their `tollgate run` warns and keeps running; and with the
//! edge down at commit time the purge is retried until it lands.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tollgate_shared::AuthError;
use tollgate_tests::api::assert_refused;
use tollgate_tests::fixtures;
use tollgate_tests::origin::client_bin;
use tollgate_tests::stack::Stack;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn call(
    stack: &Stack,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = stack.http().request(method, url).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// A workspace owned by the stack's user and a second person in it as admin, who
/// enrolled a daemon for themselves with the real client.
struct Setup {
    ws: String,
    owner_pat: String,
    leaver: String,
    leaver_pat: String,
    /// The leaver's daemon token.
    mdt: String,
    /// The client's home.
    home: std::path::PathBuf,
}

async fn setup(stack: &Stack, name: &str) -> Setup {
    let ws = stack.workspace(name);
    let (_, owner_pat) = stack.pat();
    let leaver = stack.person();
    fixtures::add_member(stack, &ws, &owner_pat, &leaver.email, "admin").await;
    let mit = fixtures::install_token(stack, &ws, &leaver.pat).await;
    let home =
        std::env::temp_dir().join(format!("tollgate-home-{}", uuid::Uuid::new_v4().simple()));
    let out = Command::new(client_bin())
        .args([
            "enroll",
            "--server",
            &stack.edge.url,
            "--install-token",
            &mit,
            "--daemon-id",
            name,
        ])
        .env("TOLLGATE_HOME", &home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(home.join("credentials.json")).unwrap()).unwrap();
    let mdt = saved["token"].as_str().unwrap().to_owned();
    stack.minted.lock().unwrap().push(mdt.clone());
    Setup {
        ws,
        owner_pat,
        leaver: leaver.id,
        leaver_pat: leaver.pat,
        mdt,
        home,
    }
}

async fn whoami(stack: &Stack, mdt: &str) -> StatusCode {
    call(
        stack,
        reqwest::Method::GET,
        format!("{}/api/daemon/whoami", stack.edge.url),
        mdt,
        None,
    )
    .await
    .status()
}

pub async fn a_removed_member_is_refused_at_the_edge_at_once(stack: &Stack) {
    let Setup {
        ws,
        owner_pat,
        leaver,
        leaver_pat,
        mdt,
        home,
    } = setup(stack, "removal").await;
    // The daemon runs, with a runtime; an agent on it runs a task with a task token.
    // The leaver's runtime is theirs: they create the agent and queue the task, so the
    // task token acts for them.
    let log = home.join("run.log");
    let daemon = Killed(
        Command::new(client_bin())
            .args(["run", "--runtime", "rt"])
            .env("TOLLGATE_HOME", &home)
            .env("TOLLGATE_HEARTBEAT_SECS", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut runtime = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = call(
            stack,
            reqwest::Method::POST,
            format!("{}/api/daemon/runtimes", stack.edge.url),
            &mdt,
            Some(json!({"name": "rt"})),
        )
        .await;
        if r.status() == StatusCode::OK {
            runtime = r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .map(str::to_owned);
            break;
        }
    }
    let runtime = runtime.expect("the runtime is registered");
    let agent = call(
        stack,
        reqwest::Method::POST,
        format!("{}/api/workspaces/{ws}/agents", stack.edge.url),
        &leaver_pat,
        Some(json!({"name": "a", "runtime_id": runtime})),
    )
    .await;
    assert_eq!(agent.status(), StatusCode::CREATED);
    let agent: Value = agent.json().await.unwrap();
    let r = call(
        stack,
        reqwest::Method::POST,
        format!("{}/api/workspaces/{ws}/tasks", stack.edge.url),
        &leaver_pat,
        Some(json!({"agent_id": agent["id"], "prompt": "p"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let claimed: Value = call(
        stack,
        reqwest::Method::POST,
        format!("{}/api/daemon/tasks/claim", stack.edge.url),
        &mdt,
        Some(json!({"runtime_id": runtime})),
    )
    .await
    .json()
    .await
    .unwrap();
    let mat = claimed["task_token"].as_str().unwrap().to_owned();
    stack.minted.lock().unwrap().push(mat.clone());
    let task = claimed["task"]["id"].as_str().unwrap();
    call(
        stack,
        reqwest::Method::POST,
        format!("{}/api/daemon/tasks/{task}/start", stack.edge.url),
        &mdt,
        None,
    )
    .await;
    for _ in 0..2 {
        assert_eq!(
            whoami(stack, &mdt).await,
            StatusCode::OK,
            "cached at the edge"
        );
        stack.let_cache_writes_land().await;
    }
    assert_eq!(stack.me(&mat).await.status(), StatusCode::OK);

    let r = call(
        stack,
        reqwest::Method::DELETE,
        format!("{}/api/workspaces/{ws}/members/{leaver}", stack.edge.url),
        &owner_pat,
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let removed = Instant::now();
    // The task token: the very next request.
    assert_refused(stack.me(&mat).await, AuthError::InvalidToken).await;
    // The daemon token: measured from the 204 to the first 401.
    let mut refused_after = None;
    for _ in 0..100 {
        if whoami(stack, &mdt).await == StatusCode::UNAUTHORIZED {
            refused_after = Some(removed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused_after = refused_after.expect("the daemon token is refused");
    eprintln!("daemon token refused at the edge {refused_after:?} after the removal's 204");
    assert!(refused_after < Duration::from_secs(2), "{refused_after:?}");

    // The daemon notices, says so, and keeps running.
    let mut logs = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        logs = std::fs::read_to_string(&log).unwrap_or_default();
        if logs.contains("no longer valid") {
            break;
        }
    }
    assert!(
        logs.contains("WARN") && logs.contains("daemon token is no longer valid"),
        "{logs}"
    );
    let mut daemon = daemon;
    assert!(daemon.0.try_wait().unwrap().is_none(), "still running");
    drop(daemon);
    let _ = std::fs::remove_dir_all(&home);
}

pub async fn with_the_edge_down_the_purge_lands_once_it_is_back(stack: &Stack) {
    let Setup {
        ws,
        owner_pat,
        leaver,
        mdt,
        home,
        ..
    } = setup(stack, "edge-down").await;
    assert_eq!(whoami(stack, &mdt).await, StatusCode::OK);
    assert_eq!(whoami(stack, &mdt).await, StatusCode::OK, "cached");
    tokio::task::block_in_place(|| stack.edge.stop());
    // Removed at the origin while no edge can hear of it.
    let r = call(
        stack,
        reqwest::Method::DELETE,
        format!("{}/api/workspaces/{ws}/members/{leaver}", stack.origin_url),
        &owner_pat,
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    tokio::task::block_in_place(|| stack.edge.start_again());
    let back = Instant::now();
    // KV kept the entry; the dispatcher's retries (2 s doubling, ≤ 60 s) purge it.
    let mut purged = false;
    while back.elapsed() < Duration::from_secs(70) {
        if whoami(stack, &mdt).await == StatusCode::UNAUTHORIZED {
            purged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(purged, "the purge was retried until delivered");
    eprintln!("purged {:?} after the edge came back", back.elapsed());
    let _ = std::fs::remove_dir_all(&home);
}
