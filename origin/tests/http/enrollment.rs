//! Enrollment: install tokens are minted for a member (by whom the roles allow), and the
//! daemon they enroll acts for that member. Whose a daemon id is: `daemon_ids`.

use axum::http::{Method, StatusCode};
use serde_json::json;
use tollgate_tests::fixtures::{exchange, mint, refused, register};
use uuid::Uuid;

use crate::harness::{count, team, TestApp};

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
    let r = register(&app, &mdt, "rt").await;
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
async fn admins_enroll_machines_for_members_not_for_owners() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let for_user = |u: Uuid| json!({ "user_id": u }).to_string();
    refused(
        &mint(&app, t.ws, &t.admin.1, Some(&for_user(t.owner.0))).await,
        StatusCode::FORBIDDEN,
        "insufficient permissions",
    );
    for (pat, member) in [
        (&t.admin.1, t.alice.0),
        (&t.owner.1, t.admin.0),
        (&t.owner.1, t.alice.0),
    ] {
        let r = mint(&app, t.ws, pat, Some(&for_user(member))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let admin2 = app.user_with_token("admin2@example.com").await;
    app.add_member(t.ws, admin2.0, "admin").await;
    let r = mint(&app, t.ws, &t.admin.1, Some(&for_user(admin2.0))).await;
    assert_eq!(r.status, StatusCode::CREATED, "an admin for another admin");
}
