//! No usable answer from the origin — none at all, or one not signed for this request — is
//! 503, and nothing is cached.

use super::*;

#[test]
fn no_answer_is_503_and_nothing_cached() {
    for answer in [
        Err(OriginError::Timeout),
        Err(OriginError::Unreachable),
        Ok((500, String::new())),
        Ok((404, r#"{"error":"not found"}"#.into())),
        Ok((200, "not json".into())),
    ] {
        let kv = MemoryKv::default();
        let origin = FakeOrigin::answering(answer.clone());
        let (_, header) = bearer(TokenKind::Pat);
        assert_eq!(
            auth(&kv, &origin, &header, NOW),
            Err(EdgeError::AuthUnavailable),
            "{answer:?}"
        );
        assert!(kv.entries.borrow().is_empty());
    }
}

#[test]
fn answers_not_signed_for_this_request_are_503_and_not_cached() {
    for signs in [Signs::Not, Signs::WithAnotherKey, Signs::TwoMinutesAgo] {
        let kv = MemoryKv::default();
        let origin = FakeOrigin {
            signs,
            ..FakeOrigin::ok(600)
        };
        let (_, header) = bearer(TokenKind::Pat);
        assert_eq!(
            auth(&kv, &origin, &header, NOW),
            Err(EdgeError::AuthUnavailable)
        );
        assert!(kv.entries.borrow().is_empty());
    }
    // Nor is a forged refusal believed: an unsigned 401 is no answer either.
    let origin = FakeOrigin {
        signs: Signs::Not,
        ..FakeOrigin::refusing()
    };
    let (_, header) = bearer(TokenKind::Pat);
    assert_eq!(
        auth(&MemoryKv::default(), &origin, &header, NOW),
        Err(EdgeError::AuthUnavailable)
    );
}
