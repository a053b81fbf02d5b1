//! Agents, tasks and task tokens: claimed exactly once, valid only while the task runs,
//! bound to one workspace, never human.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tollgate_tests::fixtures::{self, id, start, World};
use uuid::Uuid;

use crate::harness::TestApp;

/// An owner with a workspace made through the API, an enrolled daemon with a runtime,
/// and an agent on it.
async fn world(app: &TestApp) -> World {
    let (_, pat) = app
        .user_with_token(&format!("{}@example.com", Uuid::new_v4()))
        .await;
    let r = app
        .call(
            Method::POST,
            "/api/workspaces",
            Some(&pat),
            Some(r#"{"name":"Agents"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["role"], "owner");
    fixtures::world(app, id(&r), &pat, "worker").await
}

/// A task the owner queues: its id.
async fn queue(app: &TestApp, w: &World, prompt: &str) -> String {
    let r = w.task(app, prompt).await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (StatusCode::CREATED, &json!("queued")),
        "{}",
        r.text
    );
    id(&r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_claims_of_ten_tasks_take_each_exactly_once() {
    let app = Arc::new(TestApp::new().await);
    let w = Arc::new(world(&app).await);
    let mut queued = HashSet::new();
    for i in 0..10 {
        queued.insert(queue(&app, &w, &format!("task {i}")).await);
    }
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let (app, w) = (app.clone(), w.clone());
            tokio::spawn(async move { w.claim(&app).await })
        })
        .collect();
    let mut claimed = Vec::new();
    let mut empty = 0;
    for h in handles {
        let r = h.await.unwrap();
        match r.status {
            StatusCode::OK => {
                assert!(r.body["task_token"].as_str().unwrap().starts_with("mat_"));
                assert_eq!(r.body["task"]["status"], "dispatched");
                claimed.push(r.body["task"]["id"].as_str().unwrap().to_owned());
            }
            StatusCode::NO_CONTENT => empty += 1,
            other => panic!("{other}: {}", r.text),
        }
    }
    let distinct: HashSet<String> = claimed.iter().cloned().collect();
    assert_eq!((claimed.len(), distinct.len(), empty), (10, 10, 22));
    assert_eq!(distinct, queued);
    assert_eq!(app.sql("SELECT 1 FROM task_tokens").await.len(), 10);
}

#[tokio::test]
async fn a_task_token_lives_and_dies_with_its_task() {
    let app = TestApp::new().await;
    let w = world(&app).await;
    let task = queue(&app, &w, "do it").await;
    let other = queue(&app, &w, "later").await;
    let r = w.claim(&app).await;
    let mat = r.body["task_token"].as_str().unwrap().to_owned();
    assert_eq!(r.body["task"]["id"], task.as_str());
    let r = start(&app, &w.mdt, &task).await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (StatusCode::OK, &json!("running"))
    );

    let r = app.get("/api/me", Some(&mat)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["actor_source"], "task_token");
    assert_eq!(
        (r.body["task_id"].as_str(), r.body["agent_id"].as_str()),
        (Some(task.as_str()), Some(w.agent.as_str()))
    );
    let own = format!("/api/workspaces/{}/tasks/{task}", w.workspace);
    assert_eq!(app.get(&own, Some(&mat)).await.status, StatusCode::OK);
    let r = app
        .get(
            &format!("/api/workspaces/{}/tasks/{other}", w.workspace),
            Some(&mat),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "task not found")
    );
    let r = app
        .get(
            &format!("/api/workspaces/{}/tasks/{task}", Uuid::new_v4()),
            Some(&mat),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::FORBIDDEN,
            "task token is bound to a different workspace"
        )
    );
    // Never human, whatever headers it sends.
    for (path, body) in [
        ("/api/tokens", r#"{"name":"x"}"#),
        ("/api/workspaces", r#"{"name":"x"}"#),
    ] {
        let req = Request::post(path)
            .header("authorization", format!("Bearer {mat}"))
            .header("x-actor-source", "session")
            .body(Body::from(body))
            .unwrap();
        let r = app.send(req).await;
        assert_eq!(
            (r.status, r.error()),
            (
                StatusCode::FORBIDDEN,
                "this endpoint is only available to human actors"
            ),
            "{path}"
        );
    }
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{}/install-tokens", w.workspace),
            Some(&mat),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = app
        .call(
            Method::POST,
            &format!("/api/daemon/tasks/{task}/complete"),
            Some(&w.mdt),
            Some(r#"{"status":"completed"}"#),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (StatusCode::OK, &json!("completed"))
    );
    assert_eq!(app.sql("SELECT 1 FROM task_tokens").await.len(), 0);
    let r = app.get("/api/me", Some(&mat)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token"),
        "the moment its task ends"
    );
    // And a member still reads the finished task.
    let r = app.get(&own, Some(&w.pat)).await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (StatusCode::OK, &json!("completed"))
    );
}

#[tokio::test]
async fn task_routes_and_their_refusals() {
    let app = TestApp::new().await;
    let w = world(&app).await;
    // Nothing queued.
    assert_eq!(w.claim(&app).await.status, StatusCode::NO_CONTENT);
    let r = app
        .call(
            Method::POST,
            "/api/daemon/tasks/claim",
            Some(&w.mdt),
            Some(&json!({"runtime_id": Uuid::new_v4()}).to_string()),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "runtime not found")
    );
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{}/tasks", w.workspace),
            Some(&w.pat),
            Some(&json!({"agent_id": Uuid::new_v4()}).to_string()),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "agent not found")
    );
    let r = app
        .call(
            Method::POST,
            &format!("/api/daemon/tasks/{}/complete", Uuid::new_v4()),
            Some(&w.mdt),
            Some(r#"{"status":"done"}"#),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::BAD_REQUEST,
            "status must be completed or failed"
        )
    );
    let task = queue(&app, &w, "x").await;
    let r = start(&app, &w.mdt, &task).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "task not found"),
        "not claimed yet"
    );
    let (_, stranger) = app.user_with_token("stranger@example.com").await;
    let r = app
        .get(
            &format!("/api/workspaces/{}/tasks/{task}", w.workspace),
            Some(&stranger),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "workspace not found")
    );
    // Workspaces: the caller's own, with roles.
    let r = app.get("/api/workspaces", Some(&w.pat)).await;
    let list: &Vec<Value> = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], w.workspace);
    assert_eq!(
        app.get("/api/workspaces", Some(&stranger)).await.body,
        json!([])
    );
}
