//! What a test sets up before it tests, made through the API of any [`Api`] (the
//! origin's router in process, or the whole stack through the edge): members added to a
//! workspace, install tokens minted and exchanged, a daemon enrolled with a runtime, an
//! agent on it, tasks queued and claimed — and [`world`], a workspace with all of them.
//! The people and their PATs come from each side's own seeding (the origin's code, or the
//! admin CLI); the API cannot make them.
//!
//! The calls whose refusals tests check answer as they came ([`mint`], [`exchange`],
//! [`agent`], [`queue`], [`claim`], …); the ones that set something up check that it
//! worked. Every secret they are given is passed to [`Api::keep`].

use std::fmt::Display;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::api::{Api, TestResponse};

/// Asserts that `r` is the refusal `status` with `message`.
pub fn refused(r: &TestResponse, status: StatusCode, message: &str) {
    assert_eq!((r.status, r.error()), (status, message), "{}", r.text);
}

/// The `id` of what `r` created.
pub fn id(r: &TestResponse) -> String {
    r.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {}", r.text))
        .to_owned()
}

/// Passes the secret at `field` of `r`'s body, if any, to [`Api::keep`].
fn keep(api: &impl Api, r: &TestResponse, field: &str) {
    if let Some(secret) = r.body[field].as_str() {
        api.keep(secret);
    }
}

/// `pat` adds the user with `email` to `ws` as `role`.
pub async fn add_member(api: &impl Api, ws: impl Display, pat: &str, email: &str, role: &str) {
    let body = json!({"email": email, "role": role}).to_string();
    let r = api
        .call(
            Method::POST,
            &format!("/api/workspaces/{ws}/members"),
            Some(pat),
            Some(&body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// `POST /api/workspaces/{ws}/install-tokens` by `pat`, with `body`.
pub async fn mint(api: &impl Api, ws: impl Display, pat: &str, body: Option<&str>) -> TestResponse {
    let r = api
        .call(
            Method::POST,
            &format!("/api/workspaces/{ws}/install-tokens"),
            Some(pat),
            body,
        )
        .await;
    keep(api, &r, "token");
    r
}

/// An install token `issuer` mints for themselves (no body).
pub async fn install_token(api: &impl Api, ws: impl Display, issuer: &str) -> String {
    let r = mint(api, ws, issuer, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["token"].as_str().unwrap().to_owned()
}

/// `POST /api/install-tokens/exchange` with `body` as it is.
pub async fn exchange_body(api: &impl Api, body: &str) -> TestResponse {
    let r = api
        .call(
            Method::POST,
            "/api/install-tokens/exchange",
            None,
            Some(body),
        )
        .await;
    keep(api, &r, "token");
    r
}

/// Exchanges `mit` for a daemon token of `daemon_id`.
pub async fn exchange(api: &impl Api, mit: &str, daemon_id: &str) -> TestResponse {
    exchange_body(
        api,
        &json!({"token": mit, "daemon_id": daemon_id}).to_string(),
    )
    .await
}

/// Exchanges `mit`, which must work: the daemon token.
pub async fn enroll(api: &impl Api, mit: &str, daemon_id: &str) -> String {
    let r = exchange(api, mit, daemon_id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["token"].as_str().unwrap().to_owned()
}

/// The daemon of `mdt` registers a runtime called `name`.
pub async fn register(api: &impl Api, mdt: &str, name: &str) -> TestResponse {
    let body = json!({ "name": name }).to_string();
    api.call(Method::POST, "/api/daemon/runtimes", Some(mdt), Some(&body))
        .await
}

/// A runtime `rt` of the daemon of `mdt`, which must register: its id.
pub async fn runtime(api: &impl Api, mdt: &str) -> String {
    let r = register(api, mdt, "rt").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    id(&r)
}

/// A daemon `issuer` enrolls for themselves (a mint without a body), with one runtime:
/// `(daemon token, runtime id)`.
pub async fn daemon(
    api: &impl Api,
    ws: impl Display,
    issuer: &str,
    daemon_id: &str,
) -> (String, String) {
    let mit = install_token(api, ws, issuer).await;
    let mdt = enroll(api, &mit, daemon_id).await;
    let runtime = runtime(api, &mdt).await;
    (mdt, runtime)
}

/// A daemon enrolled by `issuer` for `member`, with one runtime: `(daemon token, runtime
/// id)`.
pub async fn daemon_for(
    api: &impl Api,
    ws: impl Display,
    issuer: &str,
    member: impl Display,
    daemon_id: &str,
) -> (String, String) {
    let for_member = json!({ "user_id": member.to_string() }).to_string();
    let r = mint(api, ws, issuer, Some(&for_member)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let mdt = enroll(api, r.body["token"].as_str().unwrap(), daemon_id).await;
    let runtime = runtime(api, &mdt).await;
    (mdt, runtime)
}

/// `pat` puts an agent called `helper` on `runtime`.
pub async fn agent(api: &impl Api, ws: impl Display, pat: &str, runtime: &str) -> TestResponse {
    let body = json!({"name": "helper", "runtime_id": runtime}).to_string();
    api.call(
        Method::POST,
        &format!("/api/workspaces/{ws}/agents"),
        Some(pat),
        Some(&body),
    )
    .await
}

/// `pat` queues a task with `prompt` for `agent`.
pub async fn task(
    api: &impl Api,
    ws: impl Display,
    pat: &str,
    agent: &str,
    prompt: &str,
) -> TestResponse {
    let body = json!({"agent_id": agent, "prompt": prompt}).to_string();
    api.call(
        Method::POST,
        &format!("/api/workspaces/{ws}/tasks"),
        Some(pat),
        Some(&body),
    )
    .await
}

/// `pat` queues a task for `agent` (prompt `go`).
pub async fn queue(api: &impl Api, ws: impl Display, pat: &str, agent: &str) -> TestResponse {
    task(api, ws, pat, agent, "go").await
}

/// The daemon of `mdt` claims the next task of `runtime`.
pub async fn claim(api: &impl Api, mdt: &str, runtime: &str) -> TestResponse {
    let body = json!({ "runtime_id": runtime }).to_string();
    let r = api
        .call(
            Method::POST,
            "/api/daemon/tasks/claim",
            Some(mdt),
            Some(&body),
        )
        .await;
    keep(api, &r, "task_token");
    r
}

/// The daemon of `mdt` starts the claimed `task`.
pub async fn start(api: &impl Api, mdt: &str, task: &str) -> TestResponse {
    api.call(
        Method::POST,
        &format!("/api/daemon/tasks/{task}/start"),
        Some(mdt),
        None,
    )
    .await
}

/// `pat` sets the visibility of `runtime`.
pub async fn share(
    api: &impl Api,
    ws: impl Display,
    pat: &str,
    runtime: &str,
    visibility: &str,
) -> TestResponse {
    let body = json!({ "visibility": visibility }).to_string();
    api.call(
        Method::PATCH,
        &format!("/api/workspaces/{ws}/runtimes/{runtime}"),
        Some(pat),
        Some(&body),
    )
    .await
}

/// The kinds of the workspace's events, in order, as `pat` lists them.
pub async fn event_kinds(api: &impl Api, ws: impl Display, pat: &str) -> Vec<String> {
    let r = api
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

/// A workspace whose owner enrolled a daemon with a runtime, and put an agent on it.
pub struct World {
    /// The owner's PAT.
    pub pat: String,
    pub workspace: String,
    /// The daemon's token.
    pub mdt: String,
    pub runtime: String,
    pub agent: String,
}

impl World {
    /// The owner queues a task with `prompt` for the agent.
    pub async fn task(&self, api: &impl Api, prompt: &str) -> TestResponse {
        task(api, &self.workspace, &self.pat, &self.agent, prompt).await
    }

    /// The daemon claims the next task of the runtime.
    pub async fn claim(&self, api: &impl Api) -> TestResponse {
        claim(api, &self.mdt, &self.runtime).await
    }
}

/// In `workspace`, whose owner has `pat`: a daemon `daemon_id` the owner enrolled, its
/// runtime, and the owner's agent on it.
pub async fn world(api: &impl Api, workspace: impl Display, pat: &str, daemon_id: &str) -> World {
    let workspace = workspace.to_string();
    let (mdt, runtime) = daemon(api, &workspace, pat, daemon_id).await;
    let r = agent(api, &workspace, pat, &runtime).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    World {
        pat: pat.to_owned(),
        agent: id(&r),
        workspace,
        mdt,
        runtime,
    }
}
