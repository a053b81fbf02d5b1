//! Who is calling, for requests straight to the origin: bearer PATs, their refusals
//! with the exact RFC 6750 challenges, and client-set identity headers ignored.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::harness::{TestApp, CHALLENGE, CHALLENGE_INVALID};

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
    assert_eq!(r.header("www-authenticate"), Some(CHALLENGE));

    // One changed character: the checksum fails before any lookup.
    let mut broken = token.clone().into_bytes();
    broken[10] = if broken[10] == b'0' { b'1' } else { b'0' };
    let broken = String::from_utf8(broken).unwrap();
    let before = app.metric("tollgate_resolve_total").await;
    let r = app.get("/api/me", Some(&broken)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "invalid token");
    assert_eq!(r.header("www-authenticate"), Some(CHALLENGE_INVALID));
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
    assert_eq!(r.error(), "invalid authorization format");
    assert_eq!(r.header("www-authenticate"), Some(CHALLENGE));

    // Two credentials: which one to believe is not ours to guess (the edge agrees).
    let req = Request::get("/api/me")
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid authorization format")
    );
    // Bytes that are not even UTF-8 make a bad token, as at the edge.
    let req = Request::get("/api/me")
        .header(
            "authorization",
            axum::http::HeaderValue::from_bytes(b"Bearer t\xf6k\xe9n").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );

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
