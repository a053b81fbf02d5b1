//! `POST /internal/auth/resolve`: the edge's cache-miss call, behind the internal
//! router's body-digest signature.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use tollgate_shared::signing::SignedAnswer;
use tollgate_shared::{SigningKey, TokenHash};

use crate::harness::{
    edge_app, internal_request, now, resolve_body, resolve_request, CHALLENGE_INVALID, SECRET,
};

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
            "access": "write",
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
    assert_eq!(r.header("www-authenticate"), Some(CHALLENGE_INVALID));
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
    assert_eq!(r.header("www-authenticate"), Some(CHALLENGE_INVALID));
    // Signed for one body, sent with another.
    let mut req = resolve_request(&body, SECRET, now());
    *req.body_mut() = Body::from(resolve_body("mul_other"));
    let tampered = app.send(req).await;
    let stale = app.send(resolve_request(&body, SECRET, now() - 61)).await;
    let wrong_key = app.send(resolve_request(&body, "wrong", now())).await;
    for r in [tampered, stale, wrong_key] {
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "invalid signature")
        );
        assert_eq!(r.header("www-authenticate"), Some(CHALLENGE_INVALID));
    }
}

#[tokio::test]
async fn every_internal_route_sits_behind_the_signature() {
    let app = edge_app().await;
    // Other methods and other paths are refused before anything is revealed.
    let r = app
        .send(
            Request::get("/internal/auth/resolve")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid signature")
    );
    let signed_get = internal_request(Method::GET, "/internal/auth/resolve", "", SECRET, now());
    let r = app.send(signed_get).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    );
    let r = app.send(resolve_request("{}", SECRET, now())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app
        .send(
            Request::post("/internal/nothing")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((r.status, r.error()), (StatusCode::NOT_FOUND, "not found"));
    // The signature covers the whole path, prefix included.
    let mut req = internal_request(Method::POST, "/auth/resolve", "{}", SECRET, now());
    *req.uri_mut() = "/internal/auth/resolve".parse().unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// Sends `req` and checks its answer is signed for it: bound to the request's
/// signature, the status and the body.
async fn send_expecting_signed_answer(
    app: &crate::harness::TestApp,
    req: Request<Body>,
) -> crate::harness::TestResponse {
    let request_signature = req
        .headers()
        .get("x-edge-signature")
        .map_or("", |v| v.to_str().unwrap())
        .to_owned();
    let r = app.send(req).await;
    let answer = SignedAnswer {
        request_signature: &request_signature,
        status: r.status.as_u16(),
        body: r.text.as_bytes(),
    };
    let verified = SigningKey::new(SECRET).verify_answer(
        &answer,
        r.header("x-edge-timestamp").expect("a signed answer"),
        r.header("x-edge-signature").expect("a signed answer"),
        now(),
    );
    assert_eq!(verified, Ok(()), "{}: {} {:?}", r.status, r.text, r.headers);
    r
}

#[tokio::test]
async fn every_answer_to_a_verified_request_is_signed_for_it_and_no_other() {
    let app = edge_app().await;
    let (_, token) = app.user_with_token("s@example.com").await;
    let ok = resolve_request(&resolve_body(&token), SECRET, now());
    assert_eq!(
        send_expecting_signed_answer(&app, ok).await.status,
        StatusCode::OK
    );
    let unknown = resolve_request(&resolve_body("mul_nobody"), SECRET, now());
    assert_eq!(
        send_expecting_signed_answer(&app, unknown).await.status,
        StatusCode::UNAUTHORIZED
    );
    let garbage = resolve_request("nope", SECRET, now());
    assert_eq!(
        send_expecting_signed_answer(&app, garbage).await.status,
        StatusCode::BAD_REQUEST
    );
    // A request whose signature does not verify gets no signed answer at all: the
    // origin signs nothing over a signature it did not make (no signing oracle).
    let stale = resolve_request(&resolve_body(&token), SECRET, now() - 61);
    let forged = resolve_request(
        &resolve_body(&token),
        "not-the-secret-but-32-bytes-long!",
        now(),
    );
    for unverified in [stale, forged] {
        let r = app.send(unverified).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "invalid signature")
        );
        assert_eq!(r.header("x-edge-signature"), None);
        assert_eq!(r.header("x-edge-timestamp"), None);
    }
    let get = internal_request(Method::GET, "/internal/auth/resolve", "", SECRET, now());
    assert_eq!(
        send_expecting_signed_answer(&app, get).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    // Signed by this origin for one request, the answer does not fit another.
    let r = app
        .send(resolve_request(&resolve_body(&token), SECRET, now()))
        .await;
    let replayed = SignedAnswer {
        request_signature: "a different request",
        status: 200,
        body: r.text.as_bytes(),
    };
    assert!(SigningKey::new(SECRET)
        .verify_answer(
            &replayed,
            r.header("x-edge-timestamp").unwrap(),
            r.header("x-edge-signature").unwrap(),
            now()
        )
        .is_err());
}
