//! Cloud PATs: sent raw to the origin (Fleet verifies them), positives kept 60 s, refusals and
//! verifier outages asked again every time.

use super::*;

const CLOUD_PAT: &str = "mcn_minted-by-fleet.0123456789";

fn cloud_answer(ttl_secs: u64) -> FakeOrigin {
    let body = format!(
        concat!(
            r#"{{"identity":{{"actor_source":"cloud_pat","user_id":"{user}","user_email":null,"#,
            r#""workspace_id":null,"daemon_id":null,"agent_id":null,"task_id":null}},"#,
            r#""ttl_secs":{ttl_secs}}}"#
        ),
        user = USER,
        ttl_secs = ttl_secs
    );
    FakeOrigin::answering(Ok((200, body)))
}

#[test]
fn cloud_pats_go_raw_to_the_origin_and_positives_are_kept_sixty_seconds() {
    let (kv, origin) = (MemoryKv::default(), cloud_answer(600));
    let header = format!("Bearer {CLOUD_PAT}");
    let node = Actor::CloudPat {
        user_id: USER.parse().unwrap(),
    };
    assert_eq!(auth(&kv, &origin, &header, NOW), Ok(node.clone()));
    let sent: serde_json::Value = serde_json::from_str(&origin.last_body.borrow()).unwrap();
    assert_eq!(sent["kind"], "mcn");
    assert_eq!(sent["token"], CLOUD_PAT, "Fleet needs the token itself");
    let key = cache_key(TokenKind::Cloud, &tollgate_shared::TokenHash::of(CLOUD_PAT)).to_string();
    let (value, ttl) = kv.entries.borrow()[&key].clone();
    assert_eq!(ttl, 60, "whatever the origin says");
    let entry: CacheEntry = serde_json::from_str(&value).unwrap();
    assert_eq!(entry.valid_until, NOW + 60);
    for _ in 0..20 {
        assert_eq!(auth(&kv, &origin, &header, NOW + 59), Ok(node.clone()));
    }
    assert_eq!(origin.calls.get(), 1);
    assert_eq!(auth(&kv, &origin, &header, NOW + 60), Ok(node));
    assert_eq!(origin.calls.get(), 2, "verified again after 60 s");
}

#[test]
fn cloud_refusals_and_verifier_outages_are_asked_every_time() {
    let header = format!("Bearer {CLOUD_PAT}");
    let fleet_down = r#"{"error":"cloud pat verifier unavailable"}"#.to_owned();
    for (origin, expected) in [
        (
            FakeOrigin::answering(Ok((401, r#"{"error":"invalid token"}"#.to_owned()))),
            EdgeError::Auth(AuthError::InvalidToken),
        ),
        (
            FakeOrigin::answering(Ok((503, fleet_down))),
            EdgeError::VerifierUnavailable,
        ),
    ] {
        let (kv, memory) = (MemoryKv::default(), Memory::default());
        for _ in 0..3 {
            assert_eq!(
                auth_in(&kv, &origin, &memory, Some(&header), NOW),
                Err(expected)
            );
        }
        assert_eq!(origin.calls.get(), 3, "{expected:?}");
        assert!(kv.entries.borrow().is_empty() && memory.negatives.is_empty());
    }
}
