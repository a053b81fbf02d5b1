//! Who acts for whom: install tokens are minted for a member, a daemon acts for that
//! member, a daemon id is its member's, runtimes are private unless shared, a task
//! token acts for the member who queued the task — and the escalation paths that used
//! to work are refused.

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

fn refused(r: &TestResponse, status: StatusCode, message: &str) {
    assert_eq!((r.status, r.error()), (status, message), "{}", r.text);
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.sql(sql).await[0].get(0)
}

#[tokio::test]
async fn install_tokens_are_minted_for_a_member() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (alice, _) = t.alice.clone();
    let for_alice = json!({ "user_id": alice }).to_string();

    let r = mint(&app, t.ws, &t.admin.1, Some(&for_alice)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["user_id"], alice.to_string());
    let mit = r.body["token"].as_str().unwrap().to_owned();
    let r = exchange(&app, &mit, "alices-laptop").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user_id"], alice.to_string(), "acts for the member");
    let mdt = r.body["token"].as_str().unwrap().to_owned();
    let r = app.get("/api/daemon/whoami", Some(&mdt)).await;
    assert_eq!(r.body["user_id"], alice.to_string());
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&mdt),
            Some(r#"{"name":"rt"}"#),
        )
        .await;
    assert_eq!(r.body["owner_id"], alice.to_string(), "not the admin's");
    let issued: Uuid = app.sql("SELECT issued_by FROM daemon_tokens").await[0].get(0);
    assert_eq!(issued, t.admin.0, "who minted it, for the audit trail");

    // Without a body, or with a null user_id: for the caller.
    for body in [None, Some(r#"{"user_id": null}"#), Some("{}"), Some("  ")] {
        let r = mint(&app, t.ws, &t.admin.1, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{body:?}: {}", r.text);
        assert_eq!(r.body["user_id"], t.admin.0.to_string(), "{body:?}");
    }
    // Not a member, no such user, not a UUID, not JSON.
    let (stranger, _) = app.user_with_token("stranger@example.com").await;
    for who in [stranger, Uuid::new_v4()] {
        let body = json!({ "user_id": who }).to_string();
        refused(
            &mint(&app, t.ws, &t.admin.1, Some(&body)).await,
            StatusCode::NOT_FOUND,
            "member not found",
        );
    }
    for body in [
        r#"{"user_id": "nope"}"#,
        r#"{"user_id": 5}"#,
        r#"{"user_id": ["x"]}"#,
    ] {
        refused(
            &mint(&app, t.ws, &t.admin.1, Some(body)).await,
            StatusCode::BAD_REQUEST,
            "invalid user_id",
        );
    }
    refused(
        &mint(&app, t.ws, &t.admin.1, Some("{nope")).await,
        StatusCode::BAD_REQUEST,
        "invalid request body",
    );
    // Minting stays owner/admin only, for oneself too.
    for body in [None, Some(for_alice.as_str())] {
        refused(
            &mint(&app, t.ws, &t.alice.1, body).await,
            StatusCode::FORBIDDEN,
            "insufficient permissions",
        );
    }

    // The member leaves before the exchange: refused, the token left unused.
    let r = mint(&app, t.ws, &t.owner.1, Some(&for_alice)).await;
    let mit = r.body["token"].as_str().unwrap().to_owned();
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{}/leave", t.ws),
            Some(&t.alice.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    refused(
        &exchange(&app, &mit, "late").await,
        StatusCode::FORBIDDEN,
        "member no longer in workspace",
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM install_tokens WHERE user_id = '{alice}' AND used_at IS NULL"
            )
        )
        .await,
        1,
        "left unused"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM daemon_tokens WHERE daemon_id = 'late'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn one_live_token_per_daemon_id_and_re_enrolling_replaces_it() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (mdt, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "box").await;
    // Alice's shared runtime runs a task Bob queued; another of his waits.
    assert_eq!(
        share(&app, t.ws, &t.alice.1, &runtime, "workspace")
            .await
            .status,
        StatusCode::OK
    );
    let a = agent(&app, t.ws, &t.bob.1, &runtime).await;
    let agent_id = a.body["id"].as_str().unwrap().to_owned();
    queue(&app, t.ws, &t.bob.1, &agent_id).await;
    queue(&app, t.ws, &t.bob.1, &agent_id).await;
    let c = claim(&app, &mdt, &runtime).await;
    let mat = c.body["task_token"].as_str().unwrap().to_owned();

    // Another member cannot take the daemon id: 409, the install token left unused.
    let r = mint(
        &app,
        t.ws,
        &t.admin.1,
        Some(&json!({"user_id": t.bob.0}).to_string()),
    )
    .await;
    let bobs = r.body["token"].as_str().unwrap().to_owned();
    refused(
        &exchange(&app, &bobs, "box").await,
        StatusCode::CONFLICT,
        "daemon id already enrolled",
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&mdt)).await.status,
        StatusCode::OK
    );
    assert_eq!(app.get("/api/me", Some(&mat)).await.status, StatusCode::OK);
    // …and, being unused, it still enrolls Bob under a daemon id of his own.
    let r = exchange(&app, &bobs, "bobs-box").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Alice re-enrolls the same machine: the old token is replaced in the same step.
    let r = mint(
        &app,
        t.ws,
        &t.owner.1,
        Some(&json!({"user_id": t.alice.0}).to_string()),
    )
    .await;
    let r = exchange(&app, r.body["token"].as_str().unwrap(), "box").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let fresh = r.body["token"].as_str().unwrap().to_owned();
    refused(
        &app.get("/api/daemon/whoami", Some(&mdt)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&fresh)).await.status,
        StatusCode::OK
    );
    // What the old token started ended with it: the claimed task and its token; the
    // queued one waits for the machine, which goes on with its new token.
    refused(
        &app.get("/api/me", Some(&mat)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM tasks WHERE status = 'cancelled'"
        )
        .await,
        1
    );
    let c = claim(&app, &fresh, &runtime).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM daemon_tokens WHERE daemon_id = 'box' AND revoked_at IS NULL"
        )
        .await,
        1
    );
    let r = app
        .get(
            &format!("/api/workspaces/{}/events", t.ws),
            Some(&t.owner.1),
        )
        .await;
    let kinds: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["daemon:revoked", "task:cancelled"]);

    // A daemon id whose runtimes are another member's (their token since revoked).
    let ids: Vec<Uuid> = app
        .sql("SELECT id FROM daemon_tokens WHERE daemon_id = 'bobs-box'")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    let bob_rt = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&t.bob.1),
            Some(&json!({"name": "rt", "workspace_id": t.ws, "daemon_id": "bobs-box"}).to_string()),
        )
        .await;
    assert_eq!(bob_rt.status, StatusCode::OK, "{}", bob_rt.text);
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{}/daemon-tokens/{}", t.ws, ids[0]),
            Some(&t.admin.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = mint(
        &app,
        t.ws,
        &t.admin.1,
        Some(&json!({"user_id": t.alice.0}).to_string()),
    )
    .await;
    refused(
        &exchange(&app, r.body["token"].as_str().unwrap(), "bobs-box").await,
        StatusCode::CONFLICT,
        "daemon id already enrolled",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_members_racing_for_one_daemon_id_one_wins() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let (owner, pat) = app.user_with_token("o@example.com").await;
    let ws = app.workspace(owner).await;
    let mut mits = Vec::new();
    for i in 0..16 {
        let (user, _) = app.user_with_token(&format!("m{i}@example.com")).await;
        app.add_member(ws, user, "member").await;
        let r = mint(
            &app,
            ws,
            &pat,
            Some(&json!({ "user_id": user }).to_string()),
        )
        .await;
        mits.push(r.body["token"].as_str().unwrap().to_owned());
    }
    let handles: Vec<_> = mits
        .into_iter()
        .map(|mit| {
            let app = app.clone();
            tokio::spawn(async move { exchange(&app, &mit, "contested").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for h in handles {
        let r = h.await.unwrap();
        if r.status == StatusCode::CONFLICT {
            assert_eq!(r.error(), "daemon id already enrolled");
        }
        statuses.push(r.status);
    }
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let lost = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((won, lost), (1, 15), "{statuses:?}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM daemon_tokens WHERE daemon_id = 'contested'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM install_tokens WHERE used_at IS NULL"
        )
        .await,
        15,
        "the losers' install tokens are left unused"
    );
}

#[tokio::test]
async fn a_daemon_id_belongs_to_its_member() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (_, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "alices-box").await;
    let as_person = |name: &str, daemon: &str| {
        json!({"name": name, "workspace_id": t.ws, "daemon_id": daemon}).to_string()
    };
    // Bob (or the owner) running a daemon by hand under Alice's daemon id.
    for pat in [&t.bob.1, &t.owner.1] {
        let r = app
            .call(
                Method::POST,
                "/api/daemon/runtimes",
                Some(pat),
                Some(&as_person("rt", "alices-box")),
            )
            .await;
        refused(
            &r,
            StatusCode::FORBIDDEN,
            "daemon id belongs to another member",
        );
        let body =
            json!({"runtime_ids": [runtime], "workspace_id": t.ws, "daemon_id": "alices-box"});
        let r = app
            .call(
                Method::POST,
                "/api/daemon/heartbeat",
                Some(pat),
                Some(&body.to_string()),
            )
            .await;
        refused(
            &r,
            StatusCode::FORBIDDEN,
            "daemon id belongs to another member",
        );
    }
    let owner: Uuid = app
        .sql(&format!(
            "SELECT owner_id FROM runtimes WHERE id = '{runtime}'"
        ))
        .await[0]
        .get(0);
    assert_eq!(owner, t.alice.0, "its owner never changes");
    // Alice may, by hand too; Bob under a daemon id of his own.
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&t.alice.1),
            Some(&as_person("rt", "alices-box")),
        )
        .await;
    assert_eq!(
        (r.status, r.body["id"].as_str()),
        (StatusCode::OK, Some(runtime.as_str()))
    );
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&t.bob.1),
            Some(&as_person("rt", "bobs-box")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["owner_id"], t.bob.0.to_string());
    // A runtime held by hand makes the daemon id Bob's for enrollments too.
    let r = mint(
        &app,
        t.ws,
        &t.admin.1,
        Some(&json!({"user_id": t.alice.0}).to_string()),
    )
    .await;
    refused(
        &exchange(&app, r.body["token"].as_str().unwrap(), "bobs-box").await,
        StatusCode::CONFLICT,
        "daemon id already enrolled",
    );
}

#[tokio::test]
async fn runtimes_are_private_to_their_owner_unless_shared() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (mdt, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "box").await;

    let r = app
        .get(
            &format!("/api/workspaces/{}/runtimes", t.ws),
            Some(&t.bob.1),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let listed = &r.body["runtimes"][0];
    let mut keys: Vec<&String> = listed.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "daemon_id",
            "id",
            "last_heartbeat_at",
            "name",
            "owner_id",
            "status",
            "visibility"
        ]
    );
    assert_eq!(
        (
            &listed["id"],
            &listed["owner_id"],
            &listed["visibility"],
            &listed["status"]
        ),
        (
            &json!(runtime),
            &json!(t.alice.0),
            &json!("private"),
            &json!("online")
        )
    );
    assert!(listed["last_heartbeat_at"].is_string());
    let (_, stranger) = app.user_with_token("stranger@example.com").await;
    refused(
        &app.get(
            &format!("/api/workspaces/{}/runtimes", t.ws),
            Some(&stranger),
        )
        .await,
        StatusCode::NOT_FOUND,
        "workspace not found",
    );

    // Nobody else puts agents on a private runtime: not a member, not the owner.
    for pat in [&t.bob.1, &t.owner.1, &t.admin.1] {
        refused(
            &agent(&app, t.ws, pat, &runtime).await,
            StatusCode::FORBIDDEN,
            "runtime belongs to another member",
        );
    }
    refused(
        &agent(&app, t.ws, &t.bob.1, &Uuid::new_v4().to_string()).await,
        StatusCode::NOT_FOUND,
        "runtime not found",
    );
    // Only its owner changes the visibility.
    for pat in [&t.bob.1, &t.owner.1] {
        refused(
            &share(&app, t.ws, pat, &runtime, "workspace").await,
            StatusCode::FORBIDDEN,
            "runtime belongs to another member",
        );
    }
    for bad in ["public", "Workspace", ""] {
        refused(
            &share(&app, t.ws, &t.alice.1, &runtime, bad).await,
            StatusCode::BAD_REQUEST,
            "invalid visibility",
        );
    }
    refused(
        &share(
            &app,
            t.ws,
            &t.alice.1,
            &Uuid::new_v4().to_string(),
            "workspace",
        )
        .await,
        StatusCode::NOT_FOUND,
        "runtime not found",
    );
    let r = share(&app, t.ws, &t.alice.1, &runtime, "workspace").await;
    assert_eq!(
        (r.status, &r.body["visibility"]),
        (StatusCode::OK, &json!("workspace"))
    );

    // Shared: Bob's agent, Bob's task.
    let r = agent(&app, t.ws, &t.bob.1, &runtime).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["created_by"], t.bob.0.to_string());
    let bobs_agent = r.body["id"].as_str().unwrap().to_owned();
    let r = queue(&app, t.ws, &t.bob.1, &bobs_agent).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["queued_by"], t.bob.0.to_string());
    // Private again: nothing new lands on it but its owner's.
    assert_eq!(
        share(&app, t.ws, &t.alice.1, &runtime, "private")
            .await
            .status,
        StatusCode::OK
    );
    refused(
        &queue(&app, t.ws, &t.bob.1, &bobs_agent).await,
        StatusCode::FORBIDDEN,
        "runtime belongs to another member",
    );
    refused(
        &agent(&app, t.ws, &t.bob.1, &runtime).await,
        StatusCode::FORBIDDEN,
        "runtime belongs to another member",
    );
    let r = agent(&app, t.ws, &t.alice.1, &runtime).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        queue(&app, t.ws, &t.alice.1, r.body["id"].as_str().unwrap())
            .await
            .status,
        StatusCode::CREATED
    );
    // The task Bob queued while it was shared still runs, for Bob.
    let c = claim(&app, &mdt, &runtime).await;
    assert_eq!(c.body["task"]["queued_by"], t.bob.0.to_string());
}

#[tokio::test]
async fn a_task_token_acts_for_the_member_who_queued_the_task() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (mdt, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "box").await;
    share(&app, t.ws, &t.alice.1, &runtime, "workspace").await;
    let a = agent(&app, t.ws, &t.bob.1, &runtime).await;
    let task = queue(&app, t.ws, &t.bob.1, a.body["id"].as_str().unwrap()).await;
    let task_id = task.body["id"].as_str().unwrap().to_owned();
    let c = claim(&app, &mdt, &runtime).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let mat = c.body["task_token"].as_str().unwrap().to_owned();

    let r = app.get("/api/me", Some(&mat)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["user_id"], &r.body["actor_source"]),
        (&json!(t.bob.0), &json!("task_token")),
        "for Bob, who queued it — not Alice, whose machine runs it"
    );

    // Nothing of the person's own: tokens, workspaces.
    let (alice_pat_id, _) = app.mint(t.alice.0, None).await;
    let (bob_pat_id, _) = app.mint(t.bob.0, None).await;
    for (method, path, body) in [
        (Method::GET, "/api/tokens".to_owned(), None),
        (
            Method::POST,
            "/api/tokens".to_owned(),
            Some(r#"{"name":"x"}"#),
        ),
        (Method::DELETE, format!("/api/tokens/{bob_pat_id}"), None),
        (Method::DELETE, format!("/api/tokens/{alice_pat_id}"), None),
        (Method::POST, "/api/tokens/current/renew".to_owned(), None),
        (Method::GET, "/api/workspaces".to_owned(), None),
        (
            Method::POST,
            "/api/workspaces".to_owned(),
            Some(r#"{"name":"x"}"#),
        ),
    ] {
        let r = app.call(method.clone(), &path, Some(&mat), body).await;
        refused(
            &r,
            StatusCode::FORBIDDEN,
            "this endpoint is only available to human actors",
        );
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM personal_access_tokens WHERE revoked"
        )
        .await,
        0
    );

    // Its own workspace, however the id is spelled; no other, however spelled.
    let own = |ws: &str| format!("/api/workspaces/{ws}/tasks/{task_id}");
    let upper = t.ws.to_string().to_uppercase();
    let encoded: String =
        t.ws.to_string()
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
    for ws in [t.ws.to_string(), upper, encoded] {
        let r = app.get(&own(&ws), Some(&mat)).await;
        assert_eq!(r.status, StatusCode::OK, "{ws}: {}", r.text);
    }
    let other = team(&app).await.ws.to_string();
    let other_encoded: String = other.bytes().map(|b| format!("%{b:02x}")).collect();
    for ws in [other.clone(), other.to_uppercase(), other_encoded] {
        for path in [
            own(&ws),
            format!("/api/workspaces/{ws}/events"),
            format!("/api/workspaces/{ws}/runtimes"),
        ] {
            let r = app.get(&path, Some(&mat)).await;
            refused(
                &r,
                StatusCode::FORBIDDEN,
                "task token is bound to a different workspace",
            );
        }
    }
    let r = app
        .get(&format!("/api/workspaces/{}/runtimes", t.ws), Some(&mat))
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "its own workspace's routes: {}",
        r.text
    );

    // Bob leaves: what acts for him stops; Alice's machine goes on.
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{}/leave", t.ws),
            Some(&t.bob.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    refused(
        &app.get("/api/me", Some(&mat)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&mdt)).await.status,
        StatusCode::OK
    );
}

/// A daemon identity as the edge would stamp it from its (stale) cache.
fn stale(actor: &Actor, path: &str, body: Value) -> axum::http::Request<axum::body::Body> {
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

#[tokio::test]
async fn revoking_a_daemon_token_ends_what_it_started_even_if_the_edge_still_has_it() {
    let app = crate::harness::edge_app().await;
    let t = team(&app).await;
    let (mdt, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "box").await;
    let a = agent(&app, t.ws, &t.alice.1, &runtime).await;
    let agent_id = a.body["id"].as_str().unwrap().to_owned();
    let first = queue(&app, t.ws, &t.alice.1, &agent_id).await;
    let first = first.body["id"].as_str().unwrap().to_owned();
    queue(&app, t.ws, &t.alice.1, &agent_id).await;
    queue(&app, t.ws, &t.alice.1, &agent_id).await;
    let c = claim(&app, &mdt, &runtime).await;
    let mat = c.body["task_token"].as_str().unwrap().to_owned();
    let r = app
        .call(
            Method::POST,
            &format!("/api/daemon/tasks/{first}/start"),
            Some(&mdt),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let second = claim(&app, &mdt, &runtime).await;
    let second = second.body["task"]["id"].as_str().unwrap().to_owned();

    let token_id: Uuid = app.sql("SELECT id FROM daemon_tokens").await[0].get(0);
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{}/daemon-tokens/{token_id}", t.ws),
            Some(&t.admin.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The running and the dispatched task are cancelled, their token refused at once;
    // the queued one waits; the runtime is offline.
    refused(
        &app.get("/api/me", Some(&mat)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    let statuses: Vec<String> = app
        .sql("SELECT status FROM tasks ORDER BY created_at")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(statuses, ["cancelled", "cancelled", "queued"]);
    assert_eq!(count(&app, "SELECT count(*) FROM task_tokens").await, 0);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM runtimes WHERE id = '{runtime}' AND status = 'offline'")
        )
        .await,
        1
    );
    let r = app
        .get(
            &format!("/api/workspaces/{}/events", t.ws),
            Some(&t.owner.1),
        )
        .await;
    let kinds: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["daemon:revoked", "task:cancelled", "task:cancelled"]
    );

    // An edge that still has the identity cached gets nothing done with it: each
    // daemon statement checks that the token is live.
    let actor = Actor::Daemon {
        user_id: t.alice.0,
        workspace_id: t.ws,
        daemon_id: "box".into(),
    };
    for (path, body) in [
        (
            "/api/daemon/tasks/claim".to_owned(),
            json!({ "runtime_id": runtime }),
        ),
        (format!("/api/daemon/tasks/{second}/start"), json!({})),
        (
            format!("/api/daemon/tasks/{first}/complete"),
            json!({"status": "completed"}),
        ),
        (
            "/api/daemon/heartbeat".to_owned(),
            json!({ "runtime_ids": [runtime] }),
        ),
        ("/api/daemon/runtimes".to_owned(), json!({ "name": "rt" })),
    ] {
        let r = app.send(stale(&actor, &path, body)).await;
        refused(&r, StatusCode::UNAUTHORIZED, "invalid token");
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM tasks WHERE status = 'queued'").await,
        1,
        "the queued task was not claimed"
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM runtimes WHERE id = '{runtime}' AND status = 'offline'")
        )
        .await,
        1,
        "no heartbeat brought it back"
    );
}

#[tokio::test]
async fn removing_a_member_stops_exactly_what_acts_for_them() {
    let app = crate::harness::edge_app().await;
    let t = team(&app).await;
    // The admin enrolled Alice's laptop and their own machine.
    let (alice_mdt, alice_rt) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "alice").await;
    let (admin_mdt, admin_rt) = daemon_for(&app, t.ws, &t.admin.1, t.admin.0, "admin").await;
    let (bob_mdt, bob_rt) = daemon_for(&app, t.ws, &t.admin.1, t.bob.0, "bob").await;
    for (pat, rt) in [(&t.admin.1, &admin_rt), (&t.bob.1, &bob_rt)] {
        share(&app, t.ws, pat, rt, "workspace").await;
    }
    let id = |r: TestResponse| r.body["id"].as_str().unwrap().to_owned();
    // Alice's agent on her machine and one on the admin's (shared); the admin's own;
    // Bob's on his (shared).
    let alice_own = id(agent(&app, t.ws, &t.alice.1, &alice_rt).await);
    let alice_on_admin = id(agent(&app, t.ws, &t.alice.1, &admin_rt).await);
    let admin_own = id(agent(&app, t.ws, &t.admin.1, &admin_rt).await);
    let bob_on_bob = id(agent(&app, t.ws, &t.bob.1, &bob_rt).await);
    // Tasks: Alice's on her machine, Alice's on the admin's agent, Alice's on Bob's,
    // Bob's on Bob's, the admin's on the admin's.
    let alice_t1 = id(queue(&app, t.ws, &t.alice.1, &alice_own).await);
    let alice_t2 = id(queue(&app, t.ws, &t.alice.1, &admin_own).await);
    let alice_t3 = id(queue(&app, t.ws, &t.alice.1, &bob_on_bob).await);
    let bob_t = id(queue(&app, t.ws, &t.bob.1, &bob_on_bob).await);
    let admin_t = id(queue(&app, t.ws, &t.admin.1, &admin_own).await);
    // Claimed: Alice's on the admin's machine (a live task token acting for Alice),
    // then the admin's own.
    let c = claim(&app, &admin_mdt, &admin_rt).await;
    assert_eq!(c.body["task"]["id"], json!(alice_t2));
    let alice_mat = c.body["task_token"].as_str().unwrap().to_owned();
    let c = claim(&app, &admin_mdt, &admin_rt).await;
    assert_eq!(c.body["task"]["id"], json!(admin_t));
    let admin_mat = c.body["task_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/me", Some(&alice_mat)).await.body["user_id"],
        json!(t.alice.0)
    );

    // The admin who enrolled her machine is removed first: nothing of Alice's stops.
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{}/members/{}", t.ws, t.admin.0),
            Some(&t.owner.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&alice_mdt)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&bob_mdt)).await.status,
        StatusCode::OK
    );
    refused(
        &app.get("/api/daemon/whoami", Some(&admin_mdt)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    // Their machine ran Alice's task: it is gone with the machine (its token too).
    refused(
        &app.get("/api/me", Some(&alice_mat)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    refused(
        &app.get("/api/me", Some(&admin_mat)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );

    // Now Alice, by the owner.
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{}/members/{}", t.ws, t.alice.0),
            Some(&t.owner.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    refused(
        &app.get("/api/daemon/whoami", Some(&alice_mdt)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    // Even an edge that still had her daemon cached gets nothing done.
    let stale_alice = Actor::Daemon {
        user_id: t.alice.0,
        workspace_id: t.ws,
        daemon_id: "alice".into(),
    };
    for (path, body) in [
        ("/api/daemon/tasks/claim", json!({ "runtime_id": alice_rt })),
        (
            "/api/daemon/heartbeat",
            json!({ "runtime_ids": [alice_rt] }),
        ),
        ("/api/daemon/runtimes", json!({ "name": "again" })),
    ] {
        let r = app.send(stale(&stale_alice, path, body)).await;
        refused(&r, StatusCode::UNAUTHORIZED, "invalid token");
    }
    let status = |task: &str| {
        let task = task.to_owned();
        let app = &app;
        async move {
            app.sql(&format!("SELECT status FROM tasks WHERE id = '{task}'"))
                .await[0]
                .get::<_, String>(0)
        }
    };
    // Every task Alice queued, anywhere, is cancelled; Bob's is not.
    for task in [&alice_t1, &alice_t2, &alice_t3] {
        assert_eq!(status(task).await, "cancelled", "{task}");
    }
    assert_eq!(status(&bob_t).await, "queued");
    // Her agents (on her machine and the one she made on the admin's) are archived;
    // Bob's is not.
    let archived = |agent: &str| {
        let agent = agent.to_owned();
        let app = &app;
        async move {
            app.sql(&format!(
                "SELECT archived_at IS NOT NULL FROM agents WHERE id = '{agent}'"
            ))
            .await[0]
                .get::<_, bool>(0)
        }
    };
    assert!(archived(&alice_own).await && archived(&alice_on_admin).await);
    assert!(!archived(&bob_on_bob).await);
    // Bob's machine, runtime and queued work go on.
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&bob_mdt)).await.status,
        StatusCode::OK
    );
    let c = claim(&app, &bob_mdt, &bob_rt).await;
    assert_eq!(c.body["task"]["id"], json!(bob_t), "{}", c.text);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM runtimes WHERE id = '{alice_rt}' AND status = 'offline'"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM runtimes WHERE id = '{bob_rt}' AND status = 'online'")
        )
        .await,
        1
    );
}
