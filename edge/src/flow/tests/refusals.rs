//! Refused tokens: remembered in the isolate (never in KV), counted by the limiter, and told
//! apart from the origin refusing the edge's own signature.

use super::*;

#[test]
fn a_refused_token_is_401_remembered_in_the_isolate_and_never_in_kv() {
    let kv = MemoryKv::default();
    let origin = FakeOrigin::refusing();
    let memory = Memory::default();
    let (_, header) = bearer(TokenKind::Pat);
    for now in [NOW, NOW + 1, NOW + 29] {
        assert_eq!(
            auth_in(&kv, &origin, &memory, Some(&header), now),
            Err(EdgeError::Auth(AuthError::InvalidToken))
        );
    }
    assert_eq!(origin.calls.get(), 1, "refused again without a resolve");
    assert_eq!(kv.reads.get(), 1, "nor a KV read");
    assert!(kv.entries.borrow().is_empty(), "nothing negative in KV");
    // After 30 s the origin is asked again.
    let _ = auth_in(&kv, &origin, &memory, Some(&header), NOW + 30);
    assert_eq!(origin.calls.get(), 2);
}

#[test]
fn only_refusals_are_remembered() {
    let kv = MemoryKv::default();
    let memory = Memory::default();
    for answer in [Err(OriginError::Timeout), Ok((500, String::new()))] {
        let origin = FakeOrigin::answering(answer);
        let (_, header) = bearer(TokenKind::Pat);
        let _ = auth_in(&kv, &origin, &memory, Some(&header), NOW);
    }
    assert!(memory.negatives.is_empty(), "an outage is not a refusal");
    // Task tokens are the origin's to judge every time.
    let origin = FakeOrigin::refusing();
    let raw = RawToken::generate(TokenKind::Task).unwrap();
    let token = tollgate_shared::token::parse(raw.expose()).unwrap();
    let key = key();
    let flow = flow(&kv, &origin, &memory, &Unlimited, &key);
    for _ in 0..2 {
        assert!(run(flow.resolve_token(&token, CLIENT, ms(NOW))).is_err());
    }
    assert_eq!(origin.calls.get(), 2);
    assert!(memory.negatives.is_empty());
}

#[test]
fn a_signed_invalid_signature_401_is_503_not_a_refusal() {
    // The origin refused the edge's own signature (clock skew, another key) and signed
    // that answer: it says nothing about the token.
    let kv = MemoryKv::default();
    let refusing_us = EdgeError::Auth(AuthError::InvalidSignature).body();
    let origin = FakeOrigin::answering(Ok((401, refusing_us)));
    let memory = Memory::default();
    let limiter = CountingLimiter::with_budget(0);
    let key = key();
    let flow = flow(&kv, &origin, &memory, &limiter, &key);
    let (raw, header) = bearer(TokenKind::Pat);
    for calls in 1..=2 {
        assert_eq!(
            run(flow.authenticate(
                RouteClass::User,
                &bearer_only(Some(&header)),
                "203.0.113.7",
                ms(NOW)
            )),
            Err(EdgeError::AuthUnavailable)
        );
        assert_eq!(origin.calls.get(), calls, "asked again: nothing remembered");
    }
    assert!(memory.negatives.is_empty() && !memory.negatives.refused(&key_of(&raw), NOW));
    assert!(kv.entries.borrow().is_empty());
    assert_eq!(limiter.asked.get(), 0, "not an invalid token");
}

#[test]
fn too_many_invalid_tokens_from_one_client_is_429_but_valid_ones_pass() {
    let kv = MemoryKv::default();
    let memory = Memory::default();
    let limiter = CountingLimiter::with_budget(2);
    let key = key();
    let refusing = FakeOrigin::refusing();
    let refused = flow(&kv, &refusing, &memory, &limiter, &key);
    let mut answers = Vec::new();
    for _ in 0..4 {
        let (_, header) = bearer(TokenKind::Pat);
        answers.push(run(refused.authenticate(
            RouteClass::User,
            &bearer_only(Some(&header)),
            "203.0.113.7",
            ms(NOW),
        )));
    }
    let invalid = Err(EdgeError::Auth(AuthError::InvalidToken));
    let limited = Err(EdgeError::TooManyInvalidTokens);
    assert_eq!(
        answers,
        [invalid.clone(), invalid, limited.clone(), limited]
    );
    // The third went over: the fourth was refused before the origin was asked, and
    // not counted (issue 22: a flood costs the origin its budget, not a lookup each).
    assert_eq!(refusing.calls.get(), 3);
    assert_eq!(limiter.asked.get(), 3);
    // A valid token costs no budget: one from another client passes; one from this
    // client passes once its period is over (its cached tokens pass throughout: see
    // `revocation::a_flood_costs_the_origin_its_budget_and_then_nothing`).
    let accepting = FakeOrigin::ok(600);
    let valid = flow(&kv, &accepting, &memory, &limiter, &key);
    let (_, header) = bearer(TokenKind::Pat);
    let offered = bearer_only(Some(&header));
    let elsewhere = valid.authenticate(RouteClass::User, &offered, "198.51.100.1", ms(NOW));
    assert_eq!(run(elsewhere), Ok(pat()));
    let (_, header) = bearer(TokenKind::Pat);
    let offered = bearer_only(Some(&header));
    let later = ms(NOW + crate::flood::BLOCK_SECS);
    assert_eq!(
        run(valid.authenticate(RouteClass::User, &offered, CLIENT, later)),
        Ok(pat())
    );
    assert_eq!(limiter.asked.get(), 3);
    // Missing credentials are not invalid tokens.
    assert_eq!(
        run(valid.authenticate(RouteClass::User, &bearer_only(None), "203.0.113.7", ms(NOW))),
        Err(EdgeError::Auth(AuthError::MissingAuthorization))
    );
    assert_eq!(limiter.asked.get(), 3);
}
