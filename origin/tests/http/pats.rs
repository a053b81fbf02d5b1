//! `/api/tokens`: creating, listing and revoking personal access tokens.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::TestApp;

#[tokio::test]
async fn create_token_returns_it_once() {
    let app = TestApp::new().await;
    let (_, token) = app.user_with_token("c@example.com").await;
    let r = app
        .call(
            Method::POST,
            "/api/tokens",
            Some(&token),
            Some(r#"{"name":" laptop ","expires_in_days":30}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let new = r.body["token"].as_str().unwrap().to_owned();
    assert!(new.starts_with("mul_") && new.len() == 44);
    assert_eq!(r.body["name"], "laptop");
    assert_eq!(r.body["token_prefix"], &new[..12]);
    assert_eq!(r.body["last_used_at"], Value::Null);
    let created =
        chrono::DateTime::parse_from_rfc3339(r.body["created_at"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(r.body["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_days(), 30);
    assert!(r.body["created_at"].as_str().unwrap().ends_with('Z'));
    // The database holds only the hash.
    let rows = app
        .sql("SELECT token_hash FROM personal_access_tokens")
        .await;
    assert!(rows.iter().all(|row| row.get::<_, String>(0) != new));
    // And the new token works.
    assert_eq!(app.get("/api/me", Some(&new)).await.status, StatusCode::OK);

    for body in [
        r#"{"name":"n"}"#,
        r#"{"name":"n","expires_in_days":0}"#,
        r#"{"name":"n","expires_in_days":-3}"#,
        r#"{"name":"n","expires_in_days":null}"#,
    ] {
        let r = app
            .call(Method::POST, "/api/tokens", Some(&token), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.text);
        assert_eq!(r.body["expires_at"], Value::Null, "{body}");
    }
    let r = app
        .call(
            Method::POST,
            "/api/tokens",
            Some(&token),
            Some(r#"{"name":"n","expires_in_days":3650}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn create_token_validation_messages() {
    let app = TestApp::new().await;
    let (_, token) = app.user_with_token("d@example.com").await;
    let long = format!(r#"{{"name":"{}"}}"#, "x".repeat(101));
    let cases: Vec<(&str, &str)> = vec![
        ("not json", "invalid request body"),
        ("", "invalid request body"),
        ("[]", "invalid request body"),
        (r#"{"name":5}"#, "invalid request body"),
        (
            r#"{"name":"n","expires_in_days":"30"}"#,
            "invalid request body",
        ),
        (
            r#"{"name":"n","expires_in_days":1.5}"#,
            "invalid request body",
        ),
        ("{}", "name is required"),
        (
            r#"{"name":"\u0000abc"}"#,
            "name must not contain control characters",
        ),
        (
            r#"{"name":"a\nb"}"#,
            "name must not contain control characters",
        ),
        (r#"{"name":""}"#, "name is required"),
        (r#"{"name":"   "}"#, "name is required"),
        (&long, "name is too long"),
        (
            r#"{"name":"n","expires_in_days":3651}"#,
            "expires_in_days must be at most 3650",
        ),
    ];
    for (body, message) in cases {
        let r = app
            .call(Method::POST, "/api/tokens", Some(&token), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.error(), message, "{body}");
    }
    assert_eq!(
        app.sql("SELECT 1 FROM personal_access_tokens").await.len(),
        1
    );
}

#[tokio::test]
async fn list_shows_own_live_tokens_newest_first_without_secrets() {
    let app = TestApp::new().await;
    let user = app.create_user("e@example.com").await;
    let (first, token) = app.mint(user, None).await;
    let (expired, _) = app.mint(user, Some(1)).await;
    let (revoked, _) = app.mint(user, None).await;
    let (_, other) = app.user_with_token("other@example.com").await;
    app.sql(&format!("UPDATE personal_access_tokens SET expires_at = now() - interval '1 day' WHERE id = '{expired}'")).await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/tokens/{revoked}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    let r = app.get("/api/tokens", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.body.as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![expired.to_string(), first.to_string()]);
    for t in list {
        let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 8, "{keys:?}");
        assert_eq!(
            (&t["workspace_id"], &t["access"]),
            (&json!(null), &json!("write"))
        );
        assert!(t.get("token").is_none() && t.get("token_hash").is_none());
    }
    assert!(!r.text.contains(&token));
    assert!(!r.text.contains(&other));
}

#[tokio::test]
async fn revoke_is_idempotent_and_only_for_the_owner() {
    let app = TestApp::new().await;
    let (_, mine) = app.user_with_token("f@example.com").await;
    let other_user = app.create_user("g@example.com").await;
    let (theirs_id, theirs) = app.mint(other_user, None).await;

    let r = app
        .call(
            Method::DELETE,
            &format!("/api/tokens/{theirs_id}"),
            Some(&mine),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/me", Some(&theirs)).await.status,
        StatusCode::OK
    );
    assert_eq!(app.sql("SELECT 1 FROM cache_invalidations").await.len(), 0);

    let unknown = uuid::Uuid::new_v4();
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/tokens/{unknown}"),
            Some(&mine),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    let r = app
        .call(Method::DELETE, "/api/tokens/not-a-uuid", Some(&mine), None)
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "invalid token id")
    );

    // Revoking twice: the same 204, and the token stays revoked.
    let me: uuid::Uuid = app
        .sql("SELECT id FROM users WHERE email = 'f@example.com'")
        .await[0]
        .get(0);
    let (second_id, second) = app.mint(me, None).await;
    for _ in 0..2 {
        let r = app
            .call(
                Method::DELETE,
                &format!("/api/tokens/{second_id}"),
                Some(&mine),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let revoked: bool = app
        .sql(&format!(
            "SELECT revoked FROM personal_access_tokens WHERE id = '{second_id}'"
        ))
        .await[0]
        .get(0);
    assert!(revoked);
    assert_eq!(
        app.get("/api/me", Some(&second)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/api/me", Some(&mine)).await.status, StatusCode::OK);
    // With no EDGE_PURGE_URL the outbox rows are dropped after commit.
    assert_eq!(app.sql("SELECT 1 FROM cache_invalidations").await.len(), 0);
}
