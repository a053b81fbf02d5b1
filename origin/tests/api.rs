//! The public HTTP API through the real router and a real Postgres.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Options, TestApp};
use serde_json::Value;

#[tokio::test]
async fn health_ready_and_metrics() {
    let app = TestApp::new().await;
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
    let ping = app.get("/api/ping", None).await;
    assert_eq!(
        (ping.status, &ping.body["pong"]),
        (StatusCode::OK, &Value::Bool(true))
    );
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    for name in [
        "tollgate_http_requests_total",
        "tollgate_http_request_duration_seconds",
        "tollgate_db_pool_connections",
        "tollgate_db_token_lookups_total",
    ] {
        assert!(
            metrics.text.contains(name),
            "{name} missing:\n{}",
            metrics.text
        );
    }
}

#[tokio::test]
async fn me_returns_the_caller() {
    let app = TestApp::new().await;
    let (user, token) = app.user_with_token("ada@example.com").await;
    let r = app.get("/api/me", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user_id"], user.to_string());
    assert_eq!(r.body["email"], "ada@example.com");
    assert_eq!(r.body["name"], "Test User");
    assert_eq!(r.body["actor_source"], "pat");
}

#[tokio::test]
async fn missing_and_malformed_credentials_are_401_with_bearer_challenge() {
    let app = TestApp::new().await;
    let (_, token) = app.user_with_token("a@example.com").await;

    let r = app.get("/api/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "missing authorization");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));

    // One changed character: the checksum fails before any lookup.
    let mut broken = token.clone().into_bytes();
    broken[10] = if broken[10] == b'0' { b'1' } else { b'0' };
    let broken = String::from_utf8(broken).unwrap();
    let before = app.metric("tollgate_resolve_total").await;
    let r = app.get("/api/me", Some(&broken)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "invalid token");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    assert_eq!(app.metric("tollgate_resolve_total").await, before);

    // Well-formed, but nobody's.
    let unknown = tollgate_shared::RawToken::generate(tollgate_shared::TokenKind::Pat).unwrap();
    let r = app.get("/api/me", Some(unknown.expose())).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );

    // Other kinds are not user credentials.
    let daemon = tollgate_shared::RawToken::generate(tollgate_shared::TokenKind::Daemon).unwrap();
    let r = app.get("/api/me", Some(daemon.expose())).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );

    let req = Request::get("/api/me")
        .header("authorization", format!("Basic {token}"))
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("www-authenticate").is_some());

    // The scheme is case-insensitive (RFC 6750).
    let req = Request::get("/api/me")
        .header("authorization", format!("bEaReR {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::OK);
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_invalid() {
    let app = TestApp::new().await;
    let user = app.create_user("b@example.com").await;
    let (expired_id, expired) = app.mint(user, Some(1)).await;
    let (revoked_id, revoked) = app.mint(user, None).await;
    assert_eq!(
        app.get("/api/me", Some(&expired)).await.status,
        StatusCode::OK
    );
    app.sql(&format!(
        "UPDATE personal_access_tokens SET expires_at = now() - interval '1 second' WHERE id = '{expired_id}'"
    ))
    .await;
    let r = app.get("/api/me", Some(&expired)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );

    let r = app
        .call(
            Method::DELETE,
            &format!("/api/tokens/{revoked_id}"),
            Some(&revoked),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app.get("/api/me", Some(&revoked)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
}

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
        assert_eq!(keys.len(), 6, "{keys:?}");
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

#[tokio::test]
async fn framework_errors_are_json() {
    let app = TestApp::new().await;
    let (_, token) = app.user_with_token("h@example.com").await;
    let r = app.get("/nope", None).await;
    assert_eq!((r.status, r.error()), (StatusCode::NOT_FOUND, "not found"));
    let r = app.get("/internal/auth/resolve", None).await;
    assert_eq!((r.status, r.error()), (StatusCode::NOT_FOUND, "not found"));
    let r = app.call(Method::PUT, "/api/me", Some(&token), None).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    );
    assert!(r.header("allow").is_some());
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(70 * 1024));
    let r = app
        .call(Method::POST, "/api/tokens", Some(&token), Some(&big))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
    );
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
}

#[tokio::test]
async fn request_ids_are_kept_when_sane_and_replaced_otherwise() {
    let app = TestApp::new().await;
    let req = Request::get("/healthz")
        .header("x-request-id", "abc-123.X_y")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.send(req).await.header("x-request-id"),
        Some("abc-123.X_y")
    );
    for bad in ["has space".to_owned(), "x".repeat(129)] {
        let req = Request::get("/healthz")
            .header("x-request-id", bad.as_str())
            .body(Body::empty())
            .unwrap();
        let id = app
            .send(req)
            .await
            .header("x-request-id")
            .unwrap()
            .to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
    let id = app
        .get("/nope", None)
        .await
        .header("x-request-id")
        .map(str::to_owned);
    assert!(id.is_some());
}

#[tokio::test]
async fn spoofed_identity_headers_are_ignored() {
    let app = TestApp::new().await;
    let (me, token) = app.user_with_token("i@example.com").await;
    let victim = app.create_user("victim@example.com").await;
    let req = Request::get("/api/me")
        .header("authorization", format!("Bearer {token}"))
        .header("x-user-id", victim.to_string())
        .header("x-actor-source", "session")
        .header("x-workspace-id", "w")
        .header("x-user-email", "victim@example.com")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["user_id"], me.to_string());
    assert_eq!(r.body["actor_source"], "pat");

    // Without a token, spoofed headers alone are nobody.
    let req = Request::get("/api/me")
        .header("x-user-id", victim.to_string())
        .header("x-actor-source", "pat")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "missing authorization")
    );
}

#[tokio::test]
async fn unreachable_database_is_503_with_retry_after() {
    let app = TestApp::with(Options {
        unreachable_db: true,
        secret: Some(common::SECRET),
        ..Options::default()
    })
    .await;
    let token = tollgate_shared::RawToken::generate(tollgate_shared::TokenKind::Pat).unwrap();
    for path in ["/api/me", "/api/tokens", "/readyz"] {
        let r = app.get(path, Some(token.expose())).await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            r.text
        );
        assert_eq!(r.error(), "database unavailable");
        assert_eq!(r.header("retry-after"), Some("5"));
    }
    // The liveness probe does not need the database.
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
}
