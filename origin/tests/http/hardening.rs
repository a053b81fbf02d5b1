//! What a hostile or unlucky world does to the origin: a Postgres that stalls, requests
//! that skip the edge in edge-only mode, oversized headers and URIs, metrics kept off
//! the API listener.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tollgate_origin::state::{AppState, Wiring};
use tollgate_tests::cluster::admin_url;
use tollgate_tests::proxy::StallingProxy;
use tower::ServiceExt;

use crate::harness::app::fresh_database;
use crate::harness::{edge_app, now, pat_actor, send_stamped, Options, TestApp, SECRET};

#[tokio::test]
async fn a_stalled_postgres_is_503_within_seconds_not_a_hang() {
    let db = fresh_database().await;
    let upstream: u16 = admin_url().rsplit(':').next().unwrap().parse().unwrap();
    let proxy = StallingProxy::start(upstream).await;
    let through_proxy = db.replacen(&format!(":{upstream}/"), &format!(":{}/", proxy.port), 1);
    let app = TestApp::with(Options {
        database_url: Some(through_proxy),
        ..Options::default()
    })
    .await;
    let (_, token) = app.user_with_token("stall@example.com").await;
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );

    proxy.stall(true);
    let started = Instant::now();
    let (me, ready, create) = tokio::join!(
        app.call(Method::GET, "/api/me", Some(&token), None),
        app.call(Method::GET, "/readyz", Some(&token), None),
        app.call(
            Method::POST,
            "/api/tokens",
            Some(&token),
            Some(r#"{"name":"x"}"#)
        ),
    );
    for (path, r) in [
        ("/api/me", me),
        ("/readyz", ready),
        ("POST /api/tokens", create),
    ] {
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
            "{path}"
        );
        assert_eq!(r.header("retry-after"), Some("5"));
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{path}: {:?}",
            started.elapsed()
        );
    }
    proxy.stall(false);
    // Service comes back by itself once Postgres answers again.
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        status = app.get("/api/me", Some(&token)).await.status;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn edge_only_mode_refuses_credentials_that_skip_the_edge() {
    let app = TestApp::with(Options {
        secret: Some(SECRET),
        require_edge: true,
        ..Options::default()
    })
    .await;
    let (user, token) = app.user_with_token("edge-only@example.com").await;
    let r = app.get("/api/me", Some(&token)).await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::UNAUTHORIZED,
            "requests must come through the edge"
        )
    );
    let req = Request::get("/api/me")
        .header("cookie", "theme=dark; tollgate_session=abc")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::UNAUTHORIZED);
    // Public routes without credentials still answer; the edge's stamps still count.
    assert_eq!(app.get("/api/ping", None).await.status, StatusCode::OK);
    assert_eq!(app.get("/healthz", None).await.status, StatusCode::OK);
    let r = send_stamped(
        &app,
        Method::GET,
        "/api/me",
        Some(&pat_actor(user)),
        SECRET,
        now(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // Off by default: the origin works alone.
    let alone = edge_app().await;
    let (_, token) = alone.user_with_token("alone@example.com").await;
    assert_eq!(
        alone.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn too_many_headers_and_long_uris_are_answered_in_json() {
    let app = TestApp::new().await;
    let mut req = Request::get("/api/ping");
    for i in 0..129 {
        req = req.header(format!("x-filler-{i}"), "x");
    }
    let r = app.send(req.body(Body::empty()).unwrap()).await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request header fields too large"
        )
    );
    let long = format!("/api/ping?q={}", "a".repeat(9000));
    let r = app.get(&long, None).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::URI_TOO_LONG, "uri too long")
    );
    // The edge forwards at most 80 of a client's headers plus about 15 of its own.
    let mut req = Request::get("/api/ping");
    for i in 0..100 {
        req = req.header(format!("x-filler-{i}"), "x");
    }
    assert_eq!(
        app.send(req.body(Body::empty()).unwrap()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn metrics_can_live_on_their_own_listener() {
    let app = TestApp::new().await;
    let state = AppState::new(
        app.pool.clone(),
        Wiring {
            metrics_elsewhere: true,
            ..Wiring::default()
        },
    )
    .unwrap();
    let api = tollgate_origin::app(state.clone());
    let r = api
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let metrics = tollgate_origin::app::metrics_app(state);
    let r = metrics
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
