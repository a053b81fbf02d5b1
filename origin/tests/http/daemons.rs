//! Daemons: their tokens on `/api/daemon/*` (and nowhere else), runtimes and
//! heartbeats, and an admin's list and revocation of the tokens.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::{RawToken, TokenKind};
use tollgate_tests::fixtures::{enroll, install_token, register};
use uuid::Uuid;

use crate::harness::{owner, TestApp};

/// A daemon token for `daemon` in a fresh workspace: `(owner, pat, workspace, mdt)`.
async fn enrolled(app: &TestApp, daemon: &str) -> (Uuid, String, Uuid, String) {
    let (owner, pat, ws) = owner(app).await;
    let mit = install_token(app, ws, &pat).await;
    let mdt = enroll(app, &mit, daemon).await;
    (owner, pat, ws, mdt)
}

#[tokio::test]
async fn daemon_auth_at_the_origin() {
    let app = TestApp::new().await;
    let (owner, pat, ws, mdt) = enrolled(&app, "box-7").await;
    let r = app.get("/api/daemon/whoami", Some(&mdt)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"actor_source": "daemon", "workspace_id": ws.to_string(), "daemon_id": "box-7", "user_id": owner.to_string()})
    );
    // A person running a daemon by hand.
    let r = app.get("/api/daemon/whoami", Some(&pat)).await;
    assert_eq!(
        r.body,
        json!({"actor_source": "pat", "workspace_id": null, "daemon_id": null, "user_id": owner.to_string()})
    );
    let r = app.get("/api/daemon/whoami", None).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "missing authorization header")
    );
    let req = Request::get("/api/daemon/whoami")
        .header("authorization", format!("Basic {mdt}"))
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid authorization format")
    );
    // No cookies on daemon routes.
    let req = Request::get("/api/daemon/whoami")
        .header("cookie", format!("tollgate_session={mdt}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.error(), "missing authorization header");
    for kind in [TokenKind::Task, TokenKind::Install] {
        let t = RawToken::generate(kind).unwrap();
        let r = app.get("/api/daemon/whoami", Some(t.expose())).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "invalid token"),
            "{kind}"
        );
    }
    // Daemon tokens are not user credentials.
    for path in ["/api/me", "/api/tokens"] {
        let r = app.get(path, Some(&mdt)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "invalid token"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn runtimes_and_heartbeats() {
    let app = TestApp::new().await;
    let (owner, pat, ws, mdt) = enrolled(&app, "box-1").await;
    let r = register(&app, &mdt, "claude").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "online");
    assert_eq!(r.body["owner_id"], owner.to_string());
    assert_eq!(r.body["workspace_id"], ws.to_string());
    assert_eq!(r.body["daemon_id"], "box-1");
    let runtime = r.body["id"].as_str().unwrap().to_owned();
    // Registering again is the same runtime.
    let again = register(&app, &mdt, "claude").await;
    assert_eq!(again.body["id"], runtime.as_str());
    let r = app
        .call(Method::POST, "/api/daemon/runtimes", Some(&mdt), Some("{}"))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "name is required")
    );
    let body = json!({"name": "x", "workspace_id": Uuid::new_v4()}).to_string();
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&mdt),
            Some(&body),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "workspace not found")
    );

    app.sql("UPDATE runtimes SET status = 'offline', last_seen_at = now() - interval '1 hour'")
        .await;
    let beat = json!({"runtime_ids": [runtime]}).to_string();
    let r = app
        .call(
            Method::POST,
            "/api/daemon/heartbeat",
            Some(&mdt),
            Some(&beat),
        )
        .await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::OK, &json!({"updated": 1}))
    );
    let fresh: bool = app
        .sql(
            "SELECT status = 'online' AND last_seen_at > now() - interval '1 minute' FROM runtimes",
        )
        .await[0]
        .get(0);
    assert!(fresh);

    // Another daemon's runtime: nothing is touched.
    let (_, _, _, other) = enrolled(&app, "box-2").await;
    let r = app
        .call(
            Method::POST,
            "/api/daemon/heartbeat",
            Some(&other),
            Some(&beat),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "runtime not found")
    );
    let mixed = json!({"runtime_ids": [runtime, Uuid::new_v4()]}).to_string();
    let r = app
        .call(
            Method::POST,
            "/api/daemon/heartbeat",
            Some(&mdt),
            Some(&mixed),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "runtime not found")
    );

    // A PAT caller names the workspace and daemon, and must be a member.
    let body = json!({"name": "by-hand", "workspace_id": ws, "daemon_id": "my-laptop"}).to_string();
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&pat),
            Some(&body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["daemon_id"], "my-laptop");
    let (_, stranger) = app.user_with_token("stranger@example.com").await;
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&stranger),
            Some(&body),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "workspace not found")
    );
}

#[tokio::test]
async fn admins_list_and_revoke_daemon_tokens() {
    let app = TestApp::new().await;
    let (_, pat, ws, mdt) = enrolled(&app, "box-9").await;
    let r = app
        .get(&format!("/api/workspaces/{ws}/daemon-tokens"), Some(&pat))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert!(!r.text.contains(&mdt[4..]) && list[0].get("token_hash").is_none());
    assert_eq!(list[0]["token_prefix"], &mdt[..12]);
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let (_, stranger) = app.user_with_token("s@example.com").await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{ws}/daemon-tokens/{id}"),
            Some(&stranger),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "workspace not found")
    );
    for _ in 0..2 {
        let r = app
            .call(
                Method::DELETE,
                &format!("/api/workspaces/{ws}/daemon-tokens/{id}"),
                Some(&pat),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let r = app.get("/api/daemon/whoami", Some(&mdt)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
    let r = app
        .get(&format!("/api/workspaces/{ws}/daemon-tokens"), Some(&pat))
        .await;
    assert!(r.body[0]["revoked_at"].is_string());
    let _: Value = r.body;
}
