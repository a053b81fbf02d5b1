//! Task tokens through the edge: asked of the origin on every request (never cached),
//! refused the moment their task ends, and never made human by a header.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::AuthError;
use tollgate_tests::api::{assert_refused, Api};
use tollgate_tests::fixtures;
use tollgate_tests::stack::Stack;

/// A task that runs in a new workspace of the stack's user, with the PAT that set it up,
/// the enrolled daemon's token and the agent's task token.
pub struct RunningTask {
    pub pat: String,
    pub daemon_token: String,
    pub task_id: String,
    pub task_token: String,
}

pub async fn running_task(stack: &Stack) -> RunningTask {
    let ws = stack.workspace("Tasks");
    let (_, pat) = stack.pat();
    let w = fixtures::world(stack, &ws, &pat, "task-box").await;
    let task = w.task(stack, "work").await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.text);
    let claimed = w.claim(stack).await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.text);
    assert_eq!(claimed.body["task"]["id"], task.body["id"]);
    let mat = claimed.body["task_token"].as_str().unwrap().to_owned();
    let task_id = fixtures::id(&task);
    let r = stack
        .call(
            Method::POST,
            &format!("/api/daemon/tasks/{task_id}/start"),
            Some(&w.mdt),
            Some("{}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    RunningTask {
        pat,
        daemon_token: w.mdt,
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

    let r = stack
        .call(
            Method::POST,
            &format!("/api/daemon/tasks/{task_id}/complete"),
            Some(&mdt),
            Some(&json!({"status": "completed"}).to_string()),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_refused(stack.me(&mat).await, AuthError::InvalidToken).await;
}
