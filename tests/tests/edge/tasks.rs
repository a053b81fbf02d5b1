//! Task tokens through the edge: asked of the origin on every request (never cached),
//! refused the moment their task ends, and never made human by a header.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tollgate_shared::AuthError;
use tollgate_tests::stack::{Stack, EMAIL};
use tollgate_tests::{assert_refused, cli_json};

async fn post(stack: &Stack, path: &str, token: &str, body: Value) -> Value {
    let r = stack
        .http()
        .post(format!("{}{path}", stack.edge.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// A task that runs in a new workspace of the stack's user, with the PAT that set it up,
/// the enrolled daemon's token and the agent's task token.
pub struct RunningTask {
    pub pat: String,
    pub daemon_token: String,
    pub task_id: String,
    pub task_token: String,
}

pub async fn running_task(stack: &Stack) -> RunningTask {
    let ws = cli_json(
        &stack.db,
        &[
            "workspace",
            "create",
            "--name",
            "Tasks",
            "--owner-email",
            EMAIL,
        ],
    );
    let ws = ws["id"].as_str().unwrap().to_owned();
    let (_, pat) = stack.pat();
    let mit = post(
        stack,
        &format!("/api/workspaces/{ws}/install-tokens"),
        &pat,
        json!({}),
    )
    .await;
    let enrolled = post(
        stack,
        "/api/install-tokens/exchange",
        "unused",
        json!({"token": mit["token"], "daemon_id": "task-box"}),
    )
    .await;
    let mdt = enrolled["token"].as_str().unwrap().to_owned();
    let runtime = post(stack, "/api/daemon/runtimes", &mdt, json!({"name": "rt"})).await;
    let agent = post(
        stack,
        &format!("/api/workspaces/{ws}/agents"),
        &pat,
        json!({"name": "helper", "runtime_id": runtime["id"]}),
    )
    .await;
    let task = post(
        stack,
        &format!("/api/workspaces/{ws}/tasks"),
        &pat,
        json!({"agent_id": agent["id"], "prompt": "work"}),
    )
    .await;
    let claimed = post(
        stack,
        "/api/daemon/tasks/claim",
        &mdt,
        json!({"runtime_id": runtime["id"]}),
    )
    .await;
    assert_eq!(claimed["task"]["id"], task["id"]);
    let mat = claimed["task_token"].as_str().unwrap().to_owned();
    for token in [&mit["token"], &enrolled["token"]] {
        stack
            .minted
            .lock()
            .unwrap()
            .push(token.as_str().unwrap().to_owned());
    }
    stack.minted.lock().unwrap().push(mat.clone());
    let task_id = task["id"].as_str().unwrap().to_owned();
    post(
        stack,
        &format!("/api/daemon/tasks/{task_id}/start"),
        &mdt,
        json!({}),
    )
    .await;
    RunningTask {
        pat,
        daemon_token: mdt,
        task_id,
        task_token: mat,
    }
}

pub async fn a_task_token_works_while_its_task_runs_and_not_a_moment_longer(stack: &Stack) {
    let RunningTask {
        daemon_token: mdt,
        task_id,
        task_token: mat,
        ..
    } = running_task(stack).await;

    let before = stack.resolves().await;
    for _ in 0..2 {
        let r = stack.me(&mat).await;
        assert_eq!(r.status(), StatusCode::OK);
        let me: Value = r.json().await.unwrap();
        assert_eq!(me["actor_source"], "task_token");
        assert_eq!(me["task_id"], task_id.as_str());
    }
    assert_eq!(
        stack.resolves().await,
        before + 2.0,
        "never served from the cache"
    );

    // A header does not make an agent human: the edge strips it.
    let r = stack
        .http()
        .post(format!("{}/api/tokens", stack.edge.url))
        .bearer_auth(&mat)
        .header("X-Actor-Source", "session")
        .body(r#"{"name":"escalate"}"#)
        .send()
        .await
        .unwrap();
    assert_refused(r, AuthError::HumanOnly).await;

    post(
        stack,
        &format!("/api/daemon/tasks/{task_id}/complete"),
        &mdt,
        json!({"status": "completed"}),
    )
    .await;
    assert_refused(stack.me(&mat).await, AuthError::InvalidToken).await;
}
