//! Install tokens: minted by admins, lasting fifteen minutes, exchanged exactly once, in
//! the documented order of refusals, and not by machines.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use tollgate_shared::Actor;
use tollgate_tests::fixtures::{exchange, exchange_body, install_token, mint};
use uuid::Uuid;

use crate::harness::{edge_app, now, owner, stamped, TestApp, SECRET};

/// An owner with a PAT, their workspace, and a fresh install token of it.
async fn setup(app: &TestApp) -> (Uuid, String, Uuid, String) {
    let (owner, pat, ws) = owner(app).await;
    let mit = install_token(app, ws, &pat).await;
    (owner, pat, ws, mit)
}

#[tokio::test]
async fn admins_mint_install_tokens_that_last_fifteen_minutes() {
    let app = TestApp::new().await;
    let (_, pat, ws, mit) = setup(&app).await;
    assert!(mit.starts_with("mit_") && mit.len() == 44);
    let r = mint(&app, ws, &pat, None).await;
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
    let r = mint(&app, ws, &member_pat, None).await;
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
        let r = exchange_body(&app, &body).await;
        assert_eq!((r.status, r.error()), (status, message), "{body}");
    }
    assert_eq!(app.sql("SELECT 1 FROM daemon_tokens").await.len(), 0);

    let r = exchange(&app, &mit, "laptop-1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mdt = r.body["token"].as_str().unwrap();
    assert!(mdt.starts_with("mdt_") && mdt.len() == 44);
    assert_eq!(r.body["daemon_id"], "laptop-1");
    let expires =
        chrono::DateTime::parse_from_rfc3339(r.body["expires_at"].as_str().unwrap()).unwrap();
    assert!((expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days() > 365 * 99);
    let r = exchange(&app, &mit, "laptop-2").await;
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
    let r = exchange(&app, &expired, "d").await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid_install_token")
    );

    // The issuer is demoted after minting: the token stays unused and is refused.
    let (admin, admin_pat) = app.user_with_token("admin@example.com").await;
    app.add_member(ws, admin, "admin").await;
    let r = mint(&app, ws, &admin_pat, None).await;
    let mit = r.body["token"].as_str().unwrap().to_owned();
    app.add_member(ws, admin, "member").await;
    let r = exchange(&app, &mit, "d").await;
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
            tokio::spawn(async move { exchange_body(&app, &body).await })
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

/// "Add a computer" follows its install token: unused, then used by which daemon; only
/// the workspace's admins see it, and only in its own workspace.
#[tokio::test]
async fn admins_see_whether_an_install_token_was_used_and_by_which_daemon() {
    let app = TestApp::new().await;
    let (_, pat, ws) = owner(&app).await;
    let minted = mint(&app, ws, &pat, None).await;
    let id = minted.body["id"].as_str().unwrap().to_owned();
    let mit = minted.body["token"].as_str().unwrap().to_owned();
    let path = format!("/api/workspaces/{ws}/install-tokens/{id}");
    let r = app.get(&path, Some(&pat)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["used_at"].clone(), r.body["daemon_id"].clone()),
        (json!(null), json!(null))
    );
    assert!(
        r.body.get("token").is_none() && !r.text.contains(&mit),
        "never the token"
    );

    assert_eq!(
        exchange(&app, &mit, "laptop-7").await.status,
        StatusCode::OK
    );
    let r = app.get(&path, Some(&pat)).await;
    assert_eq!(r.body["daemon_id"], "laptop-7");
    assert!(r.body["used_at"].is_string());

    let (member, member_pat) = app.user_with_token("member@example.com").await;
    app.add_member(ws, member, "member").await;
    let r = app.get(&path, Some(&member_pat)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "insufficient permissions")
    );
    let (_, other_pat, other_ws) = owner(&app).await;
    for elsewhere in [
        format!("/api/workspaces/{other_ws}/install-tokens/{id}"),
        format!("/api/workspaces/{ws}/install-tokens/{}", Uuid::new_v4()),
        format!("/api/workspaces/{ws}/install-tokens/not-a-uuid"),
    ] {
        let token = if elsewhere.contains(&other_ws.to_string()) {
            &other_pat
        } else {
            &pat
        };
        let r = app.get(&elsewhere, Some(token)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::NOT_FOUND, "install token not found"),
            "{elsewhere}"
        );
    }
}
