//! Daemons: install tokens minted by admins and exchanged exactly once, daemon tokens
//! on `/api/daemon/*`, runtimes and heartbeats, revocation.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::{Actor, RawToken, TokenKind};
use uuid::Uuid;

use crate::harness::{edge_app, now, stamped, TestApp, SECRET};

/// An owner with a PAT, their workspace, and a fresh install token of it.
async fn setup(app: &TestApp) -> (Uuid, String, Uuid, String) {
    let (owner, pat) = app
        .user_with_token(&format!("{}@example.com", Uuid::new_v4()))
        .await;
    let ws = app.workspace(owner).await;
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{ws}/install-tokens"),
            Some(&pat),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (owner, pat, ws, r.body["token"].as_str().unwrap().to_owned())
}

async fn exchange(app: &TestApp, body: &str) -> crate::harness::TestResponse {
    app.call(
        Method::POST,
        "/api/install-tokens/exchange",
        None,
        Some(body),
    )
    .await
}

/// A daemon token for `daemon` in a fresh workspace: `(owner, pat, workspace, mdt)`.
async fn enrolled(app: &TestApp, daemon: &str) -> (Uuid, String, Uuid, String) {
    let (owner, pat, ws, mit) = setup(app).await;
    let r = exchange(app, &json!({"token": mit, "daemon_id": daemon}).to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    (owner, pat, ws, r.body["token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn admins_mint_install_tokens_that_last_fifteen_minutes() {
    let app = TestApp::new().await;
    let (_, pat, ws, mit) = setup(&app).await;
    assert!(mit.starts_with("mit_") && mit.len() == 44);
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{ws}/install-tokens"),
            Some(&pat),
            None,
        )
        .await;
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert_eq!(r.body["workspace_id"], ws.to_string());
    let owner = app.sql("SELECT user_id FROM members").await[0].get::<_, Uuid>(0);
    assert_eq!(
        r.body["user_id"],
        owner.to_string(),
        "for the caller by default"
    );
    let created =
        chrono::DateTime::parse_from_rfc3339(r.body["created_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(r.body["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_minutes(), 15);
    let rows = app.sql("SELECT token_hash FROM install_tokens").await;
    assert!(
        rows.iter().all(|row| row.get::<_, String>(0) != mit),
        "only hashes"
    );

    // Members who are not admins, non-members, unknown workspaces.
    let (member, member_pat) = app.user_with_token("member@example.com").await;
    app.add_member(ws, member, "member").await;
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{ws}/install-tokens"),
            Some(&member_pat),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "insufficient permissions")
    );
    let (_, stranger) = app.user_with_token("stranger@example.com").await;
    for path in [
        format!("/api/workspaces/{ws}/install-tokens"),
        format!("/api/workspaces/{}/install-tokens", Uuid::new_v4()),
        "/api/workspaces/not-a-uuid/install-tokens".to_owned(),
    ] {
        let r = app.call(Method::POST, &path, Some(&stranger), None).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::NOT_FOUND, "workspace not found"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn machines_cannot_mint_install_tokens() {
    let app = edge_app().await;
    let (owner, _) = app.user_with_token("o@example.com").await;
    let ws = app.workspace(owner).await;
    let daemon = Actor::Daemon {
        user_id: owner,
        workspace_id: ws,
        daemon_id: "d".into(),
    };
    let req = stamped(
        Method::POST,
        &format!("/api/workspaces/{ws}/install-tokens"),
        Some(&daemon),
        SECRET,
        now(),
    )
    .body(Body::empty())
    .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::FORBIDDEN,
            "this endpoint is only available to human actors"
        )
    );
}

#[tokio::test]
async fn exchange_answers_in_the_documented_order() {
    let app = TestApp::new().await;
    let (_, _, _, mit) = setup(&app).await;
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            "not json".into(),
            StatusCode::BAD_REQUEST,
            "invalid_install_token",
        ),
        (
            json!({"token": "mul_x", "daemon_id": "d"}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_install_token",
        ),
        (
            json!({"daemon_id": "d"}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_install_token",
        ),
        (
            json!({"token": mit}).to_string(),
            StatusCode::BAD_REQUEST,
            "daemon_id is required",
        ),
        (
            json!({"token": mit, "daemon_id": ""}).to_string(),
            StatusCode::BAD_REQUEST,
            "daemon_id is required",
        ),
        (
            json!({"token": mit, "daemon_id": "a b"}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid daemon_id",
        ),
        (
            json!({"token": mit, "daemon_id": "x".repeat(129)}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid daemon_id",
        ),
        (
            json!({"token": "mit_unknown_never_minted_token_hex_padding_4", "daemon_id": "d"})
                .to_string(),
            StatusCode::UNAUTHORIZED,
            "invalid_install_token",
        ),
    ];
    for (body, status, message) in cases {
        let r = exchange(&app, &body).await;
        assert_eq!((r.status, r.error()), (status, message), "{body}");
    }
    assert_eq!(app.sql("SELECT 1 FROM daemon_tokens").await.len(), 0);

    let r = exchange(
        &app,
        &json!({"token": mit, "daemon_id": "laptop-1"}).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mdt = r.body["token"].as_str().unwrap();
    assert!(mdt.starts_with("mdt_") && mdt.len() == 44);
    assert_eq!(r.body["daemon_id"], "laptop-1");
    let expires =
        chrono::DateTime::parse_from_rfc3339(r.body["expires_at"].as_str().unwrap()).unwrap();
    assert!((expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days() > 365 * 99);
    let r = exchange(
        &app,
        &json!({"token": mit, "daemon_id": "laptop-2"}).to_string(),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "install_token_already_used")
    );
}

#[tokio::test]
async fn expired_tokens_and_demoted_issuers() {
    let app = TestApp::new().await;
    let (owner, pat, ws, expired) = setup(&app).await;
    app.sql("UPDATE install_tokens SET expires_at = now() - interval '1 second'")
        .await;
    let r = exchange(
        &app,
        &json!({"token": expired, "daemon_id": "d"}).to_string(),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid_install_token")
    );

    // The issuer is demoted after minting: the token stays unused and is refused.
    let (admin, admin_pat) = app.user_with_token("admin@example.com").await;
    app.add_member(ws, admin, "admin").await;
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{ws}/install-tokens"),
            Some(&admin_pat),
            None,
        )
        .await;
    let mit = r.body["token"].as_str().unwrap().to_owned();
    app.add_member(ws, admin, "member").await;
    let r = exchange(&app, &json!({"token": mit, "daemon_id": "d"}).to_string()).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "issuer no longer authorized")
    );
    let hash = tollgate_shared::TokenHash::of(&mit);
    let unused: bool = app
        .sql(&format!(
            "SELECT used_at IS NULL FROM install_tokens WHERE token_hash = '{}'",
            hash.as_str()
        ))
        .await[0]
        .get(0);
    assert!(unused, "a refused exchange uses nothing up");
    let _ = (owner, pat);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_parallel_exchanges_have_exactly_one_winner() {
    let app = Arc::new(TestApp::new().await);
    let (_, _, _, mit) = setup(&app).await;
    let body = json!({"token": mit, "daemon_id": "raced"}).to_string();
    let handles: Vec<_> = (0..64)
        .map(|_| {
            let (app, body) = (app.clone(), body.clone());
            tokio::spawn(async move { exchange(&app, &body).await })
        })
        .collect();
    let mut ok = 0;
    let mut used = 0;
    for h in handles {
        let r = h.await.unwrap();
        match (r.status, r.error()) {
            (StatusCode::OK, _) => ok += 1,
            (StatusCode::UNAUTHORIZED, "install_token_already_used") => used += 1,
            other => panic!("{other:?}: {}", r.text),
        }
    }
    assert_eq!((ok, used), (1, 63));
    assert_eq!(app.sql("SELECT 1 FROM daemon_tokens").await.len(), 1);
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
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&mdt),
            Some(r#"{"name":"claude"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "online");
    assert_eq!(r.body["owner_id"], owner.to_string());
    assert_eq!(r.body["workspace_id"], ws.to_string());
    assert_eq!(r.body["daemon_id"], "box-1");
    let runtime = r.body["id"].as_str().unwrap().to_owned();
    // Registering again is the same runtime.
    let again = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&mdt),
            Some(r#"{"name":"claude"}"#),
        )
        .await;
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
