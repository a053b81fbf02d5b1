//! PATs through the edge: a miss resolves once, hits cost the origin nothing, broken
//! checksums cost nothing at all, and an entry ends with its token.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_shared::AuthError;
use tollgate_tests::api::assert_refused;
use tollgate_tests::stack::Stack;

pub async fn a_pat_works_and_the_second_request_is_a_cache_hit(stack: &Stack) {
    let (_, token) = stack.pat();
    let before = stack.resolves().await;
    let r = stack.me(&token).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("x-request-id").is_some());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user_id"], stack.user["id"]);
    assert_eq!(body["email"], "edge@example.com");
    assert_eq!(body["actor_source"], "pat");
    assert_eq!(
        stack.resolves().await,
        before + 1.0,
        "the miss resolves once"
    );
    stack.let_cache_writes_land().await;

    for _ in 0..3 {
        assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    }
    assert_eq!(
        stack.resolves().await,
        before + 1.0,
        "hits never reach the resolver"
    );

    // The client's request id is kept end to end.
    let r = stack
        .http()
        .get(format!("{}/api/me", stack.edge.url))
        .bearer_auth(&token)
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42");
}

pub async fn a_broken_checksum_never_leaves_the_edge(stack: &Stack) {
    let (_, token) = stack.pat();
    let mut broken = token.into_bytes();
    broken[20] = if broken[20] == b'a' { b'b' } else { b'a' };
    let broken = String::from_utf8(broken).unwrap();
    let before = stack.resolves().await;
    let r = stack.me(&broken).await;
    assert_refused(r, AuthError::InvalidToken).await;
    let r = stack
        .http()
        .get(format!("{}/api/me", stack.edge.url))
        .send()
        .await
        .unwrap();
    assert_refused(r, AuthError::MissingAuthorization).await;
    let r = stack
        .http()
        .get(format!("{}/api/me", stack.edge.url))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_refused(r, AuthError::InvalidAuthorizationFormat).await;
    assert_eq!(stack.resolves().await, before);
}

pub async fn short_lived_tokens_are_not_served_from_cache_after_expiry(stack: &Stack) {
    let (id, token) = stack.pat();
    stack.sql(&format!("UPDATE personal_access_tokens SET expires_at = now() + interval '4 seconds' WHERE id = '{id}'")).await;
    assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    // KV keeps the entry at least 60 s; valid_until must end it with the token.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = stack.resolves().await;
    let r = stack.me(&token).await;
    assert_refused(r, AuthError::InvalidToken).await;
    assert_eq!(
        stack.resolves().await,
        before + 1.0,
        "the expired entry was a miss"
    );
}
