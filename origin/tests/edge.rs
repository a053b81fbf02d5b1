//! Everything between the origin and an edge: signed requests, the resolve endpoint,
//! `last_used_at`, and purge delivery with its retry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use common::{Options, TestApp, SECRET};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tollgate_shared::signing::{Body as Signed, Request as SignedRequest};
use tollgate_shared::{cache_key, ActorSource, Identity, SigningKey, TokenHash, TokenKind};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A request as the edge forwards it: identity stamped, signed over UNSIGNED-PAYLOAD.
fn stamped(
    method: Method,
    path: &str,
    identity: Option<&Identity>,
    secret: &str,
    at: i64,
) -> axum::http::request::Builder {
    let values = identity.map_or([""; 7], Identity::signing_values);
    let (ts, sig) = SigningKey::new(secret).sign(
        &SignedRequest {
            method: method.as_str(),
            path_and_query: path,
            body: Signed::Unsigned,
            identity: values,
        },
        at,
    );
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("x-edge-timestamp", ts)
        .header("x-edge-signature", sig);
    for (name, value) in identity.map(Identity::to_headers).unwrap_or_default() {
        req = req.header(name, value);
    }
    req
}

/// An app that trusts edge signatures made with [`SECRET`].
async fn edge_app() -> TestApp {
    TestApp::with(Options {
        secret: Some(SECRET),
        ..Options::default()
    })
    .await
}

/// Sends a body-less request stamped and signed as the edge would.
async fn send_stamped(
    app: &TestApp,
    method: Method,
    path: &str,
    identity: Option<&Identity>,
    secret: &str,
    at: i64,
) -> common::TestResponse {
    app.send(
        stamped(method, path, identity, secret, at)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn pat_identity(user: uuid::Uuid) -> Identity {
    Identity::new(ActorSource::Pat).with_user(user.to_string(), None)
}

/// The edge's resolve call, signed over the body digest.
fn resolve_request(body: &str, secret: &str, at: i64) -> Request<Body> {
    let (ts, sig) = SigningKey::new(secret).sign(
        &SignedRequest::internal("POST", "/internal/auth/resolve", body.as_bytes()),
        at,
    );
    Request::post("/internal/auth/resolve")
        .header("content-type", "application/json")
        .header("x-edge-timestamp", ts)
        .header("x-edge-signature", sig)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn resolve_body(token: &str) -> String {
    json!({"kind": "mul", "hash": TokenHash::of(token).as_str()}).to_string()
}

async fn last_used(app: &TestApp) -> Option<chrono::DateTime<chrono::Utc>> {
    app.sql("SELECT last_used_at FROM personal_access_tokens")
        .await[0]
        .get(0)
}

#[tokio::test]
async fn a_valid_signature_is_trusted_as_stamped() {
    let app = edge_app().await;
    let (user, _) = app.user_with_token("a@example.com").await;
    let r = send_stamped(
        &app,
        Method::GET,
        "/api/me?x=1",
        Some(&pat_identity(user)),
        SECRET,
        now(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user_id"], user.to_string());
    assert_eq!(r.body["actor_source"], "pat");
    // A cache hit at the edge costs the database no write.
    assert_eq!(last_used(&app).await, None);
}

#[tokio::test]
async fn bad_or_stale_signatures_are_refused_never_a_fallback() {
    let app = edge_app().await;
    let (user, token) = app.user_with_token("b@example.com").await;
    let id = pat_identity(user);
    let cases = [
        (
            "wrong secret",
            stamped(Method::GET, "/api/me", Some(&id), "other", now()),
        ),
        (
            "replayed after 61 s",
            stamped(Method::GET, "/api/me", Some(&id), SECRET, now() - 61),
        ),
        (
            "from the future",
            stamped(Method::GET, "/api/me", Some(&id), SECRET, now() + 61),
        ),
        (
            "other path",
            stamped(Method::GET, "/api/tokens", Some(&id), SECRET, now()).uri("/api/me"),
        ),
        (
            "identity changed after signing",
            stamped(Method::GET, "/api/me", Some(&id), SECRET, now()).header("x-workspace-id", "w"),
        ),
        (
            "timestamp only",
            Request::get("/api/me").header("x-edge-timestamp", now().to_string()),
        ),
    ];
    for (what, req) in cases {
        // A valid bearer token does not rescue a bad signature.
        let req = req
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let r = app.send(req).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(r.error(), "invalid signature", "{what}");
        assert!(
            r.header("www-authenticate").unwrap().starts_with("Bearer"),
            "{what}"
        );
    }
    // Within the skew it is accepted.
    let r = send_stamped(&app, Method::GET, "/api/me", Some(&id), SECRET, now() - 55).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_secret_no_signature_is_trusted() {
    let app = TestApp::new().await;
    let (user, _) = app.user_with_token("c@example.com").await;
    let r = send_stamped(
        &app,
        Method::GET,
        "/api/me",
        Some(&pat_identity(user)),
        SECRET,
        now(),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid signature")
    );
    let r = app.send(resolve_request("{}", SECRET, now())).await;
    assert_eq!((r.status, r.error()), (StatusCode::NOT_FOUND, "not found"));
}

#[tokio::test]
async fn signed_requests_without_identity_are_anonymous() {
    let app = edge_app().await;
    let r = send_stamped(&app, Method::GET, "/api/me", None, SECRET, now()).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "missing authorization")
    );
    let r = send_stamped(&app, Method::GET, "/healthz", None, SECRET, now()).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn minting_tokens_is_for_humans_only() {
    let app = edge_app().await;
    let (user, _) = app.user_with_token("d@example.com").await;
    for source in [
        ActorSource::Daemon,
        ActorSource::TaskToken,
        ActorSource::CloudPat,
    ] {
        let mut id = Identity::new(source).with_user(user.to_string(), None);
        id.workspace_id = Some(uuid::Uuid::new_v4().to_string());
        let req = stamped(Method::POST, "/api/tokens", Some(&id), SECRET, now())
            .body(Body::from(r#"{"name":"x"}"#))
            .unwrap();
        let r = app.send(req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{source}");
        assert_eq!(r.error(), "this endpoint is only available to human actors");
    }
    let req = stamped(
        Method::POST,
        "/api/tokens",
        Some(&pat_identity(user)),
        SECRET,
        now(),
    )
    .body(Body::from(r#"{"name":"x"}"#))
    .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn resolve_answers_the_edge() {
    let app = edge_app().await;
    let (user, token) = app.user_with_token("e@example.com").await;

    let r = app
        .send(resolve_request(&resolve_body(&token), SECRET, now()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"identity": {"actor_source": "pat", "user_id": user.to_string(), "user_email": null,
            "workspace_id": null, "daemon_id": null, "agent_id": null, "task_id": null}, "ttl_secs": 600})
    );
    assert_eq!(
        app.metric(r#"tollgate_resolve_total{kind="mul",outcome="ok"}"#)
            .await,
        1.0
    );

    // A token with 30 s left is cached at most 30 s.
    let (short_id, short) = app.mint(user, Some(1)).await;
    app.sql(&format!("UPDATE personal_access_tokens SET expires_at = now() + interval '30 seconds' WHERE id = '{short_id}'")).await;
    let r = app
        .send(resolve_request(&resolve_body(&short), SECRET, now()))
        .await;
    let ttl = r.body["ttl_secs"].as_u64().unwrap();
    assert!((28..=30).contains(&ttl), "{ttl}");

    let unknown = json!({"kind": "mul", "hash": TokenHash::of("nope").as_str()}).to_string();
    let r = app.send(resolve_request(&unknown, SECRET, now())).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
    assert_eq!(
        app.metric(r#"tollgate_resolve_total{kind="mul",outcome="invalid"}"#)
            .await,
        1.0
    );

    for bad in [
        "nope",
        "{}",
        r#"{"kind":"mul"}"#,
        r#"{"kind":"xyz","hash":"00"}"#,
        r#"{"kind":"mul","hash":"ABC"}"#,
    ] {
        let r = app.send(resolve_request(bad, SECRET, now())).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::BAD_REQUEST, "invalid request body"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn resolve_requires_a_body_signature() {
    let app = edge_app().await;
    let (_, token) = app.user_with_token("f@example.com").await;
    let body = resolve_body(&token);
    let unsigned = Request::post("/internal/auth/resolve")
        .body(Body::from(body.clone()))
        .unwrap();
    let r = app.send(unsigned).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid signature")
    );
    // Signed for one body, sent with another.
    let mut req = resolve_request(&body, SECRET, now());
    *req.body_mut() = Body::from(resolve_body("mul_other"));
    assert_eq!(app.send(req).await.status, StatusCode::UNAUTHORIZED);
    let r = app.send(resolve_request(&body, SECRET, now() - 61)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid signature")
    );
    let r = app.send(resolve_request(&body, "wrong", now())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn last_used_at_is_written_by_the_resolver_at_most_once_a_minute() {
    let app = edge_app().await;
    let (user, token) = app.user_with_token("g@example.com").await;
    // Listing and edge-stamped requests do not touch it.
    assert_eq!(
        send_stamped(
            &app,
            Method::GET,
            "/api/tokens",
            Some(&pat_identity(user)),
            SECRET,
            now()
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(last_used(&app).await, None);

    assert_eq!(
        app.send(resolve_request(&resolve_body(&token), SECRET, now()))
            .await
            .status,
        StatusCode::OK
    );
    let first = last_used(&app).await.expect("set by resolve");
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        last_used(&app).await,
        Some(first),
        "rewritten within a minute"
    );

    app.sql("UPDATE personal_access_tokens SET last_used_at = now() - interval '2 minutes'")
        .await;
    let old = last_used(&app).await.unwrap();
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    assert!(last_used(&app).await.unwrap() > old);
}

/// Stands in for the edge's `/__tollgate/purge` (built in the edge issue; the end-to-end
/// tests use the real worker): verifies the signature like the worker must, records the
/// keys, and fails while told to.
struct PurgeReceiver {
    url: String,
    keys: mpsc::UnboundedReceiver<Vec<String>>,
    failing: Arc<AtomicBool>,
}

async fn purge_receiver() -> PurgeReceiver {
    let (tx, keys) = mpsc::unbounded_channel();
    let failing = Arc::new(AtomicBool::new(false));
    let fail = failing.clone();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let tx = tx.clone();
        let fail = fail.clone();
        async move {
            let h = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            };
            let verified = SigningKey::new(SECRET).verify(
                &SignedRequest::internal("POST", "/__tollgate/purge", &body),
                &h("x-edge-timestamp"),
                &h("x-edge-signature"),
                now(),
            );
            if verified.is_err() {
                return StatusCode::UNAUTHORIZED;
            }
            if fail.load(Ordering::SeqCst) {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            let body: Value = serde_json::from_slice(&body).unwrap();
            let keys = body["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_owned())
                .collect();
            tx.send(keys).unwrap();
            StatusCode::OK
        }
    };
    let router = axum::Router::new().route("/__tollgate/purge", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/__tollgate/purge", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    PurgeReceiver { url, keys, failing }
}

/// An app that purges to `url`, with one user whose token it has just revoked through
/// the API: returns the app, the revoked token and the DELETE's status.
async fn revoke_with_purge_to(url: &str) -> (TestApp, String, StatusCode) {
    let app = TestApp::with(Options {
        secret: Some(SECRET),
        purge_url: Some(url.to_owned()),
        ..Options::default()
    })
    .await;
    let user = app.create_user("purge@example.com").await;
    let (id, token) = app.mint(user, None).await;
    let path = format!("/api/tokens/{id}");
    let status = app
        .call(Method::DELETE, &path, Some(&token), None)
        .await
        .status;
    (app, token, status)
}

#[tokio::test]
async fn revoke_delivers_the_purge_before_answering() {
    let mut edge = purge_receiver().await;
    let (app, token, status) = revoke_with_purge_to(&edge.url).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Already delivered when the 204 arrived.
    let keys = edge
        .keys
        .try_recv()
        .expect("purge delivered before the response");
    assert_eq!(
        keys,
        vec![cache_key(TokenKind::Pat, &TokenHash::of(&token))]
    );
    assert_eq!(
        app.metric(r#"tollgate_purge_total{outcome="ok"}"#).await,
        1.0
    );
    // What stays is the delayed second purge, for a resolve that raced the revocation.
    let rows = app
        .sql(
            "SELECT attempts, extract(epoch FROM next_attempt_at - now())::float8
             FROM cache_invalidations",
        )
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i32>(0), 0);
    let due_in: f64 = rows[0].get(1);
    assert!((5.0..=10.0).contains(&due_in), "{due_in}");

    // The dispatcher delivers it when due, then the outbox is empty.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher = tokio::spawn(tollgate_origin::purge::run_dispatcher(
        app.state.clone(),
        stopped,
    ));
    let again = tokio::time::timeout(Duration::from_secs(20), edge.keys.recv())
        .await
        .expect("the second purge arrives")
        .unwrap();
    assert_eq!(again, keys);
    wait_for_rows(&app, "SELECT 1 FROM cache_invalidations", 0).await;
    stop.send(true).unwrap();
    dispatcher.await.unwrap();
}

/// Polls until `query` returns `expected` rows (the dispatcher deletes after the edge
/// answered, a moment after the delivery the test saw).
async fn wait_for_rows(app: &TestApp, query: &str, expected: usize) {
    let mut rows = usize::MAX;
    for _ in 0..100 {
        rows = app.sql(query).await.len();
        if rows == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rows, expected, "{query}");
}

#[tokio::test]
async fn undelivered_purges_are_retried_by_the_dispatcher() {
    let mut edge = purge_receiver().await;
    edge.failing.store(true, Ordering::SeqCst);
    let (app, token, status) = revoke_with_purge_to(&edge.url).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "the revocation stands even if the edge is down"
    );
    let rows = app
        .sql("SELECT cache_key, attempts FROM cache_invalidations ORDER BY attempts DESC")
        .await;
    assert_eq!(rows.len(), 2, "the failed purge and the delayed second one");
    assert_eq!(rows[0].get::<_, i32>(1), 1);
    assert_eq!(rows[1].get::<_, i32>(1), 0);
    assert!(app.get("/api/me", Some(&token)).await.status == StatusCode::UNAUTHORIZED);

    edge.failing.store(false, Ordering::SeqCst);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher = tokio::spawn(tollgate_origin::purge::run_dispatcher(
        app.state.clone(),
        stopped,
    ));
    // Before the delayed second purge is due (10 s): this is the retry.
    let keys = tokio::time::timeout(Duration::from_secs(8), edge.keys.recv())
        .await
        .expect("retried within the backoff")
        .unwrap();
    assert_eq!(
        keys,
        vec![cache_key(TokenKind::Pat, &TokenHash::of(&token))]
    );
    // The retried row goes once the edge confirmed; the delayed one is not due yet.
    wait_for_rows(
        &app,
        "SELECT 1 FROM cache_invalidations WHERE attempts > 0",
        0,
    )
    .await;
    stop.send(true).unwrap();
    dispatcher.await.unwrap();
}
