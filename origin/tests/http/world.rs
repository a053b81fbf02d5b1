//! A team and its machines, made through the API, for the tests of who acts for whom
//! (`enrollment`, `runtimes`, `revocation`, `removal_races`).

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::Actor;
use uuid::Uuid;

use crate::harness::{stamped, TestApp, TestResponse, SECRET};

/// A workspace with an owner, an admin and two plain members, each with a PAT.
pub struct Team {
    pub ws: Uuid,
    pub owner: (Uuid, String),
    pub admin: (Uuid, String),
    pub alice: (Uuid, String),
    pub bob: (Uuid, String),
}

pub async fn team(app: &TestApp) -> Team {
    let person = |role: &'static str| async move {
        let (id, pat) = app
            .user_with_token(&format!("{role}-{}@example.com", Uuid::new_v4()))
            .await;
        (id, pat)
    };
    let owner = person("owner").await;
    let ws = app.workspace(owner.0).await;
    let admin = person("admin").await;
    app.add_member(ws, admin.0, "admin").await;
    let alice = person("alice").await;
    app.add_member(ws, alice.0, "member").await;
    let bob = person("bob").await;
    app.add_member(ws, bob.0, "member").await;
    Team {
        ws,
        owner,
        admin,
        alice,
        bob,
    }
}

/// `POST /api/workspaces/{ws}/install-tokens` by `pat`, with `body`.
pub async fn mint(app: &TestApp, ws: Uuid, pat: &str, body: Option<&str>) -> TestResponse {
    app.call(
        Method::POST,
        &format!("/api/workspaces/{ws}/install-tokens"),
        Some(pat),
        body,
    )
    .await
}

pub async fn exchange(app: &TestApp, mit: &str, daemon_id: &str) -> TestResponse {
    let body = json!({"token": mit, "daemon_id": daemon_id}).to_string();
    app.call(
        Method::POST,
        "/api/install-tokens/exchange",
        None,
        Some(&body),
    )
    .await
}

/// A daemon enrolled by `issuer` for `member`, with one runtime: `(mdt, runtime id)`.
pub async fn daemon_for(
    app: &TestApp,
    ws: Uuid,
    issuer: &str,
    member: Uuid,
    daemon_id: &str,
) -> (String, String) {
    let r = mint(
        app,
        ws,
        issuer,
        Some(&json!({ "user_id": member }).to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = exchange(app, r.body["token"].as_str().unwrap(), daemon_id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mdt = r.body["token"].as_str().unwrap().to_owned();
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&mdt),
            Some(r#"{"name":"rt"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (mdt, r.body["id"].as_str().unwrap().to_owned())
}

pub async fn agent(app: &TestApp, ws: Uuid, pat: &str, runtime: &str) -> TestResponse {
    let body = json!({"name": "helper", "runtime_id": runtime}).to_string();
    app.call(
        Method::POST,
        &format!("/api/workspaces/{ws}/agents"),
        Some(pat),
        Some(&body),
    )
    .await
}

pub async fn queue(app: &TestApp, ws: Uuid, pat: &str, agent: &str) -> TestResponse {
    let body = json!({"agent_id": agent, "prompt": "go"}).to_string();
    app.call(
        Method::POST,
        &format!("/api/workspaces/{ws}/tasks"),
        Some(pat),
        Some(&body),
    )
    .await
}

pub async fn claim(app: &TestApp, mdt: &str, runtime: &str) -> TestResponse {
    let body = json!({ "runtime_id": runtime }).to_string();
    app.call(
        Method::POST,
        "/api/daemon/tasks/claim",
        Some(mdt),
        Some(&body),
    )
    .await
}

pub async fn share(
    app: &TestApp,
    ws: Uuid,
    pat: &str,
    runtime: &str,
    visibility: &str,
) -> TestResponse {
    let body = json!({ "visibility": visibility }).to_string();
    app.call(
        Method::PATCH,
        &format!("/api/workspaces/{ws}/runtimes/{runtime}"),
        Some(pat),
        Some(&body),
    )
    .await
}

pub fn refused(r: &TestResponse, status: StatusCode, message: &str) {
    assert_eq!((r.status, r.error()), (status, message), "{}", r.text);
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    app.sql(sql).await[0].get(0)
}

/// A daemon identity as the edge would stamp it from its (stale) cache.
pub fn stale(actor: &Actor, path: &str, body: Value) -> axum::http::Request<axum::body::Body> {
    stamped(
        Method::POST,
        path,
        Some(actor),
        SECRET,
        crate::harness::now(),
    )
    .header("content-type", "application/json")
    .body(axum::body::Body::from(body.to_string()))
    .unwrap()
}

/// The kinds of the workspace's events, in order, as `pat` lists them.
pub async fn event_kinds(app: &TestApp, ws: Uuid, pat: &str) -> Vec<String> {
    let r = app
        .get(&format!("/api/workspaces/{ws}/events"), Some(pat))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}
