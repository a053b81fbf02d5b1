//! Well-formed random tokens (CRC32 is no secret): a repeated one costs the origin one
//! resolve, and a client that sends many gets 429 — and is refused before the origin is
//! asked, so the flood costs the origin about the limiter's budget — while its cached
//! valid tokens keep working.

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_shared::{AuthError, RawToken, TokenKind};
use tollgate_tests::api::assert_refused;
use tollgate_tests::stack::Stack;

pub async fn a_refused_token_is_refused_again_without_a_resolve(stack: &Stack) {
    let unknown = RawToken::generate(TokenKind::Pat).unwrap();
    let before = stack.resolves().await;
    for _ in 0..3 {
        assert_refused(stack.me(unknown.expose()).await, AuthError::InvalidToken).await;
    }
    assert_eq!(
        stack.resolves().await,
        before + 1.0,
        "one resolve for three refusals"
    );
}

pub async fn a_flood_of_invalid_tokens_gets_429_and_valid_tokens_still_pass(stack: &Stack) {
    let (_, valid) = stack.pat();
    // Cached before the flood: a hit asks nobody, the limiter included.
    assert_eq!(stack.me(&valid).await.status(), StatusCode::OK);
    stack.let_cache_writes_land().await;
    let before = stack.resolves().await;
    let mut limited = None;
    // The limiter counts in fixed 10 s windows (wrangler's simulation, as Cloudflare's):
    // a flood that straddles a window's end can spread 100 tokens over two windows
    // without reaching 50 in either, so 101 guarantee a 429 in any one of them.
    for _ in 0..101 {
        let garbage = RawToken::generate(TokenKind::Pat).unwrap();
        let r = stack.me(garbage.expose()).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = limited.expect("429 within 101 invalid tokens (the limit is 50 per 10 s window)");
    assert_eq!(r.headers()["retry-after"], "10");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "too many invalid tokens"
    );
    // Once over, the client's misses are refused at the edge: 100 more cost nothing.
    let resolved = stack.resolves().await - before;
    for _ in 0..100 {
        let garbage = RawToken::generate(TokenKind::Pat).unwrap();
        let r = stack.me(garbage.expose()).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(
        stack.resolves().await - before,
        resolved,
        "no resolve once over"
    );
    assert!(resolved <= 101.0, "{resolved} resolves for the flood");
    // The same client's cached valid token: a hit, never refused.
    for _ in 0..2 {
        assert_eq!(stack.me(&valid).await.status(), StatusCode::OK);
    }
    // The block lifts with the limiter's period, so later tests are not refused.
    stack.wait_until_misses_resolve().await;
    // A token with a broken checksum costs no I/O and counts for nothing: a plain 401.
    let last = if valid.ends_with('0') { '1' } else { '0' };
    let broken = format!("{}{last}", &valid[..valid.len() - 1]);
    assert_eq!(stack.me(&broken).await.status(), StatusCode::UNAUTHORIZED);
}
