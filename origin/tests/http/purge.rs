//! Revocations reach the edge: one delivery before the answer, retries with backoff,
//! and the delayed second purge.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;
use tokio::sync::mpsc;
use tollgate_shared::signing::{SignedAnswer, SignedRequest};
use tollgate_shared::wire::PURGE_PATH;
use tollgate_shared::{cache_key, SigningKey, TokenHash, TokenKind};

use crate::harness::{now, Options, TestApp, SECRET};

/// How the stand-in edge answers.
const ANSWERS: u8 = 0;
const FAILS: u8 = 1;
const ANSWERS_UNSIGNED: u8 = 2;

/// Stands in for the edge's `/__tollgate/purge` (the end-to-end tests use the real
/// worker): verifies the request's signature like the worker must, records the keys,
/// and answers signed for the request — or fails, or answers unsigned, while told to.
struct PurgeReceiver {
    url: String,
    keys: mpsc::UnboundedReceiver<Vec<String>>,
    mode: Arc<AtomicU8>,
}

async fn purge_receiver() -> PurgeReceiver {
    let (tx, keys) = mpsc::unbounded_channel();
    let mode = Arc::new(AtomicU8::new(ANSWERS));
    let current = mode.clone();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let tx = tx.clone();
        let current = current.clone();
        async move {
            let h = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            };
            let key = SigningKey::new(SECRET);
            let verified = key.verify(
                &SignedRequest::internal("POST", PURGE_PATH, &body),
                &h("x-edge-timestamp"),
                &h("x-edge-signature"),
                now(),
            );
            let mode = current.load(Ordering::SeqCst);
            let (status, answer) = if verified.is_err() {
                (
                    StatusCode::UNAUTHORIZED,
                    r#"{"error":"invalid signature"}"#.to_owned(),
                )
            } else if mode == FAILS {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    r#"{"error":"auth backend unavailable"}"#.to_owned(),
                )
            } else {
                let body: Value = serde_json::from_slice(&body).unwrap();
                let keys: Vec<String> = body["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_owned())
                    .collect();
                let answer = format!(r#"{{"purged":{}}}"#, keys.len());
                tx.send(keys).unwrap();
                (StatusCode::OK, answer)
            };
            let mut response = (status, answer.clone()).into_response();
            if mode != ANSWERS_UNSIGNED {
                let signed = SignedAnswer {
                    request_signature: &h("x-edge-signature"),
                    status: status.as_u16(),
                    body: answer.as_bytes(),
                };
                let (ts, sig) = key.sign_answer(&signed, now()).unwrap();
                response
                    .headers_mut()
                    .insert("x-edge-timestamp", ts.parse().unwrap());
                response
                    .headers_mut()
                    .insert("x-edge-signature", sig.parse().unwrap());
            }
            response
        }
    };
    let router = axum::Router::new().route(PURGE_PATH, axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{PURGE_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    PurgeReceiver { url, keys, mode }
}

/// An app that purges to `url` (second purges due after `echo_delay`), with one user
/// whose token it has just revoked through the API: returns the app, the revoked token
/// and the DELETE's status.
async fn revoke_with_purge_to(url: &str, echo_delay: Duration) -> (TestApp, String, StatusCode) {
    let app = TestApp::with(Options {
        secret: Some(SECRET),
        purge_url: Some(url.to_owned()),
        echo_delay: Some(echo_delay),
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
    let (app, token, status) = revoke_with_purge_to(&edge.url, Duration::from_secs(4)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Already delivered when the 204 arrived.
    let keys = edge
        .keys
        .try_recv()
        .expect("purge delivered before the response");
    assert_eq!(
        keys,
        vec![cache_key(TokenKind::Pat, &TokenHash::of(&token)).to_string()]
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
    assert!((0.5..=4.0).contains(&due_in), "{due_in}");

    // The dispatcher delivers it when due, then the outbox is empty.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let outbox = app.state.outbox.clone();
    let dispatcher = tokio::spawn(async move { outbox.run_dispatcher(stopped).await });
    let again = tokio::time::timeout(Duration::from_secs(10), edge.keys.recv())
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
    edge.mode.store(FAILS, Ordering::SeqCst);
    // The second purge far off, so what arrives below can only be the retry.
    let (app, token, status) = revoke_with_purge_to(&edge.url, Duration::from_secs(600)).await;
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

    edge.mode.store(ANSWERS, Ordering::SeqCst);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let outbox = app.state.outbox.clone();
    let dispatcher = tokio::spawn(async move { outbox.run_dispatcher(stopped).await });
    // Within the first backoff (2 s) and a poll.
    let keys = tokio::time::timeout(Duration::from_secs(8), edge.keys.recv())
        .await
        .expect("retried within the backoff")
        .unwrap();
    assert_eq!(
        keys,
        vec![cache_key(TokenKind::Pat, &TokenHash::of(&token)).to_string()]
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

#[tokio::test]
async fn an_answer_the_edge_did_not_sign_is_no_delivery() {
    let mut edge = purge_receiver().await;
    edge.mode.store(ANSWERS_UNSIGNED, Ordering::SeqCst);
    let (app, token, status) = revoke_with_purge_to(&edge.url, Duration::from_secs(600)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The keys arrived, but nothing proves it was the edge that took them.
    let keys = edge.keys.try_recv().expect("the purge was sent");
    assert_eq!(
        keys,
        vec![cache_key(TokenKind::Pat, &TokenHash::of(&token)).to_string()]
    );
    assert_eq!(
        app.metric(r#"tollgate_purge_total{outcome="error"}"#).await,
        1.0
    );
    let rows = app
        .sql("SELECT attempts FROM cache_invalidations WHERE attempts > 0")
        .await;
    assert_eq!(rows.len(), 1, "kept for the dispatcher to retry");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    // Whatever answers at the other end of a redirect proves nothing.
    let edge = purge_receiver().await;
    let redirect = axum::Router::new().route(
        PURGE_PATH,
        axum::routing::post(move || {
            let to = edge.url.clone();
            async move { axum::response::Redirect::permanent(&to) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{PURGE_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, redirect).await });
    let (app, _, status) = revoke_with_purge_to(&url, Duration::from_secs(600)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.metric(r#"tollgate_purge_total{outcome="error"}"#).await,
        1.0
    );
}

#[tokio::test]
async fn the_second_purge_is_due_from_the_commit_not_the_transactions_start() {
    let edge = purge_receiver().await;
    let app = TestApp::with(Options {
        secret: Some(SECRET),
        purge_url: Some(edge.url.clone()),
        echo_delay: Some(Duration::from_secs(4)),
        ..Options::default()
    })
    .await;
    let user = app.create_user("slow@example.com").await;
    let (id, token) = app.mint(user, None).await;
    // Another transaction holds the outbox: the revocation's transaction begins, revokes,
    // then waits 2 s to queue its keys.
    let mut holder = app.pool.get().await.unwrap();
    let held = holder.transaction().await.unwrap();
    held.batch_execute("LOCK TABLE cache_invalidations IN EXCLUSIVE MODE")
        .await
        .unwrap();
    let release = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        held.commit().await.unwrap();
    };
    let path = format!("/api/tokens/{id}");
    let revoke = app.call(Method::DELETE, &path, Some(&token), None);
    let (revoked, ()) = tokio::join!(revoke, release);
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let rows = app
        .sql(
            "SELECT extract(epoch FROM next_attempt_at - now())::float8
             FROM cache_invalidations WHERE attempts = 0",
        )
        .await;
    assert_eq!(rows.len(), 1);
    let due_in: f64 = rows[0].get(0);
    // From the transaction's start it would be due in about 2 s.
    assert!((3.0..=4.0).contains(&due_in), "due in {due_in} s");
}
