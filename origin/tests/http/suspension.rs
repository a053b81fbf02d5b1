//! Suspending an account: every credential acting for the user is refused — PAT, daemon
//! token, task token, session — and after the suspension is lifted, PATs and daemon
//! tokens work again while ended sessions stay ended.

use axum::http::StatusCode;
use serde_json::json;
use tollgate_origin::accounts;
use tollgate_tests::fixtures::{exchange, mint, world};

use crate::harness::{owner, TestApp};

async fn status(app: &TestApp, path: &str, token: &str) -> StatusCode {
    app.get(path, Some(token)).await.status
}

#[tokio::test]
async fn a_suspended_account_acts_for_nobody_until_it_is_lifted() {
    let app = TestApp::new().await;
    let (user, pat, ws) = owner(&app).await;
    let w = world(&app, ws, &pat, "susp-box").await;
    let task = w.task(&app, "work").await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.text);
    let claimed = w.claim(&app).await;
    let mat = claimed.body["task_token"].as_str().unwrap().to_owned();
    let session = app.session(user, 600).await;
    let (bystander, other_pat) = app.user_with_token("bystander@example.com").await;
    let _ = bystander;
    let credentials = [
        ("/api/me", pat.as_str()),
        ("/api/daemon/whoami", w.mdt.as_str()),
        ("/api/me", mat.as_str()),
        ("/api/me", session.as_str()),
    ];
    for (path, token) in credentials {
        assert_eq!(status(&app, path, token).await, StatusCode::OK, "{path}");
    }

    let suspended = accounts::suspend(&app.state.outbox, user, "abuse report")
        .await
        .unwrap()
        .expect("a user");
    assert_eq!(suspended.sessions_revoked, 1);
    assert_eq!(suspended.tokens_purged, 2, "the PAT and the daemon token");
    for (path, token) in credentials {
        let r = app.get(path, Some(token)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "invalid token"),
            "{path}"
        );
    }
    assert_eq!(
        status(&app, "/api/me", &other_pat).await,
        StatusCode::OK,
        "others untouched"
    );
    let reason = app
        .sql(&format!(
            "SELECT suspended_reason FROM users WHERE id = '{user}'"
        ))
        .await[0]
        .get::<_, Option<String>>(0);
    assert_eq!(reason.as_deref(), Some("abuse report"));

    // No new machine enrolls for them, and they enroll none: minting for them finds no
    // member, an install token minted before is refused, and so is one they issued.
    let (admin, admin_pat) = app.user_with_token("admin@example.com").await;
    // A second owner: owners may mint for anyone.
    app.add_member(w.workspace.parse().unwrap(), admin, "owner")
        .await;
    let r = mint(
        &app,
        &w.workspace,
        &admin_pat,
        Some(&json!({ "user_id": user }).to_string()),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "member not found")
    );
    assert!(accounts::unsuspend(&app.state.outbox, user).await.unwrap());
    let theirs = mint(
        &app,
        &w.workspace,
        &admin_pat,
        Some(&json!({ "user_id": user }).to_string()),
    )
    .await;
    let theirs = theirs.body["token"].as_str().unwrap().to_owned();
    let issued = mint(&app, &w.workspace, &pat, None).await;
    let issued = issued.body["token"].as_str().unwrap().to_owned();
    accounts::suspend(&app.state.outbox, user, "")
        .await
        .unwrap();
    let r = exchange(&app, &theirs, "late-box").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = exchange(&app, &issued, "late-box-2").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    assert!(accounts::unsuspend(&app.state.outbox, user).await.unwrap());
    assert_eq!(status(&app, "/api/me", &pat).await, StatusCode::OK);
    assert_eq!(
        status(&app, "/api/daemon/whoami", &w.mdt).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "/api/me", &session).await,
        StatusCode::UNAUTHORIZED,
        "sessions stay ended"
    );
    assert!(
        accounts::suspend(&app.state.outbox, uuid::Uuid::new_v4(), "")
            .await
            .unwrap()
            .is_none()
    );
}
