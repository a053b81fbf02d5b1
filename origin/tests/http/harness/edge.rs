//! Requests as the edge sends them to the origin, signed with the kit's
//! `tollgate_tests::signing`: forwarded with the identity it stamped, and its own calls.

use axum::body::Body;
use axum::http::request::Builder;
use axum::http::{Method, Request};
use serde_json::{json, Value};
use tollgate_shared::wire::RESOLVE_PATH;
use tollgate_shared::{Actor, TokenHash};
use tollgate_tests::api::TestResponse;
use tollgate_tests::signing;

use super::app::{TestApp, SECRET};

/// A request as the edge forwards it: identity stamped, signed over UNSIGNED-PAYLOAD.
pub fn stamped(
    method: Method,
    path: &str,
    actor: Option<&Actor>,
    secret: &str,
    at: i64,
) -> Builder {
    let headers = signing::stamp(method.as_str(), path, actor, secret, at);
    let mut req = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req
}

/// Sends a body-less request stamped and signed as the edge would.
pub async fn send_stamped(
    app: &TestApp,
    method: Method,
    path: &str,
    actor: Option<&Actor>,
    secret: &str,
    at: i64,
) -> TestResponse {
    app.send(
        stamped(method, path, actor, secret, at)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// A daemon identity as the edge would stamp it from its (stale) cache.
pub fn stale(actor: &Actor, path: &str, body: Value) -> Request<Body> {
    stamped(Method::POST, path, Some(actor), SECRET, signing::now())
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub fn pat_actor(user_id: uuid::Uuid) -> Actor {
    Actor::Pat {
        user_id,
        scope: tollgate_shared::Scope::UNSCOPED,
    }
}

/// A call from the edge to `path`, signed over the body digest.
pub fn internal_request(
    method: Method,
    path: &str,
    body: &str,
    secret: &str,
    at: i64,
) -> Request<Body> {
    let [(ts_name, ts), (sig_name, sig)] =
        signing::internal(method.as_str(), path, body.as_bytes(), secret, at);
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header(ts_name, ts)
        .header(sig_name, sig)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// The edge's resolve call.
pub fn resolve_request(body: &str, secret: &str, at: i64) -> Request<Body> {
    internal_request(Method::POST, RESOLVE_PATH, body, secret, at)
}

pub fn resolve_body(token: &str) -> String {
    json!({"kind": "mul", "hash": TokenHash::of(token).as_str()}).to_string()
}
