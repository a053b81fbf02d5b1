//! Refused tokens: remembered in the isolate (never in KV), counted by the limiter, and told
//! apart from the origin refusing the edge's own signature.

use super::*;

#[test]
fn a_refused_token_is_401_remembered_in_the_isolate_and_never_in_kv() {
    let kv = MemoryKv::default();
    let origin = FakeOrigin::answering(Ok((401, r#"{"error":"invalid token"}"#.into())));
    let negatives = NegativeCache::default();
    let (_, header) = bearer(TokenKind::Pat);
    for now in [NOW, NOW + 1, NOW + 29] {
        assert_eq!(
            auth_in(&kv, &origin, &negatives, Some(&header), now),
            Err(EdgeError::Auth(AuthError::InvalidToken))
        );
    }
    assert_eq!(origin.calls.get(), 1, "refused again without a resolve");
    assert_eq!(kv.reads.get(), 1, "nor a KV read");
    assert!(kv.entries.borrow().is_empty(), "nothing negative in KV");
    // After 30 s the origin is asked again.
    let _ = auth_in(&kv, &origin, &negatives, Some(&header), NOW + 30);
    assert_eq!(origin.calls.get(), 2);
}

#[test]
fn only_refusals_are_remembered() {
    let kv = MemoryKv::default();
    let negatives = NegativeCache::default();
    for answer in [Err(OriginError::Timeout), Ok((500, String::new()))] {
        let origin = FakeOrigin::answering(answer);
        let (_, header) = bearer(TokenKind::Pat);
        let _ = auth_in(&kv, &origin, &negatives, Some(&header), NOW);
    }
    assert!(negatives.is_empty(), "an outage is not a refusal");
    // Task tokens are the origin's to judge every time.
    let origin = FakeOrigin::answering(Ok((401, r#"{"error":"invalid token"}"#.into())));
    let raw = RawToken::generate(TokenKind::Task).unwrap();
    let token = tollgate_shared::token::parse(raw.expose()).unwrap();
    let key = key();
    let flow = flow(&kv, &origin, &negatives, &Unlimited, &key);
    for _ in 0..2 {
        assert!(run(flow.resolve_token(&token, NOW)).is_err());
    }
    assert_eq!(origin.calls.get(), 2);
    assert!(negatives.is_empty());
}

#[test]
fn a_signed_invalid_signature_401_is_503_not_a_refusal() {
    // The origin refused the edge's own signature (clock skew, another key) and signed
    // that answer: it says nothing about the token.
    let kv = MemoryKv::default();
    let refusing_us = EdgeError::Auth(AuthError::InvalidSignature).body();
    let origin = FakeOrigin::answering(Ok((401, refusing_us)));
    let negatives = NegativeCache::default();
    let limiter = CountingLimiter::with_budget(0);
    let key = key();
    let flow = flow(&kv, &origin, &negatives, &limiter, &key);
    let (raw, header) = bearer(TokenKind::Pat);
    for calls in 1..=2 {
        assert_eq!(
            run(flow.authenticate(
                RouteClass::User,
                &bearer_only(Some(&header)),
                "203.0.113.7",
                NOW
            )),
            Err(EdgeError::AuthUnavailable)
        );
        assert_eq!(origin.calls.get(), calls, "asked again: nothing remembered");
    }
    assert!(negatives.is_empty() && !negatives.refused(&key_of(&raw), NOW));
    assert!(kv.entries.borrow().is_empty());
    assert_eq!(limiter.asked.get(), 0, "not an invalid token");
}

#[test]
fn too_many_invalid_tokens_from_one_client_is_429_but_valid_ones_pass() {
    let kv = MemoryKv::default();
    let negatives = NegativeCache::default();
    let limiter = CountingLimiter::with_budget(2);
    let key = key();
    let refusing = FakeOrigin::answering(Ok((401, r#"{"error":"invalid token"}"#.into())));
    let refused = flow(&kv, &refusing, &negatives, &limiter, &key);
    let mut answers = Vec::new();
    for _ in 0..4 {
        let (_, header) = bearer(TokenKind::Pat);
        answers.push(run(refused.authenticate(
            RouteClass::User,
            &bearer_only(Some(&header)),
            "203.0.113.7",
            NOW,
        )));
    }
    let invalid = Err(EdgeError::Auth(AuthError::InvalidToken));
    let limited = Err(EdgeError::TooManyInvalidTokens);
    assert_eq!(
        answers,
        [invalid.clone(), invalid, limited.clone(), limited]
    );
    // A valid token from the same client is never refused, and costs no budget.
    let accepting = FakeOrigin::ok(600);
    let valid = flow(&kv, &accepting, &negatives, &limiter, &key);
    let (_, header) = bearer(TokenKind::Pat);
    assert_eq!(
        run(valid.authenticate(
            RouteClass::User,
            &bearer_only(Some(&header)),
            "203.0.113.7",
            NOW
        )),
        Ok(pat())
    );
    assert_eq!(limiter.asked.get(), 4);
    // Missing credentials are not invalid tokens.
    assert_eq!(
        run(valid.authenticate(RouteClass::User, &bearer_only(None), "203.0.113.7", NOW)),
        Err(EdgeError::Auth(AuthError::MissingAuthorization))
    );
    assert_eq!(limiter.asked.get(), 4);
}
