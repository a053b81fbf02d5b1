//! Liveness, readiness, metrics, and the answers every route shares: JSON errors from
//! the framework, request ids, and 503 when Postgres is down.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;

use crate::harness::{Options, TestApp, SECRET};

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
async fn unreachable_database_is_503_with_retry_after() {
    let app = TestApp::with(Options {
        unreachable_db: true,
        secret: Some(SECRET),
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
