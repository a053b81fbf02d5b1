//! Property tests of the edge's parsers of network input: KV values, resolve answers,
//! purge bodies, settings and routes. None panics on any input; what the edge writes,
//! it reads back. `PROPTEST_CASES` sets the case count.

use proptest::prelude::*;
use tollgate_shared::signing::SignedRequest;
use tollgate_shared::wire::PURGE_PATH;
use tollgate_shared::{Actor, SigningKey, TokenKind};

use crate::resolve::{self, OriginAnswer};
use crate::{cache, config, purge, route};

const KEY: &str = "0123456789abcdef0123456789abcdef";

proptest! {
    #[test]
    fn prop_kv_values_never_panic(value in "\\PC{0,300}", now in any::<i64>()) {
        let _ = cache::hit(Some(&value), now);
    }

    #[test]
    fn prop_stored_entries_read_back_until_valid_until(
        bytes in any::<[u8; 16]>(),
        ttl in 1u64..=600,
        now in 0i64..4_000_000_000,
    ) {
        let actor = Actor::Pat { user_id: uuid_from(bytes), scope: tollgate_shared::Scope::UNSCOPED };
        let (value, kv_ttl) = cache::entry_to_store(TokenKind::Pat, &actor, ttl, now).unwrap();
        prop_assert!((60..=600).contains(&kv_ttl));
        prop_assert_eq!(cache::hit(Some(&value), now), Some(actor.clone()));
        prop_assert_eq!(cache::hit(Some(&value), now + ttl as i64 - 1), Some(actor));
        prop_assert_eq!(cache::hit(Some(&value), now + ttl as i64), None);
    }

    #[test]
    fn prop_resolve_answers_never_panic(
        status in any::<u16>(),
        body in prop::collection::vec(any::<u8>(), 0..300),
        timestamp in proptest::option::of("\\PC{0,20}"),
        signature in proptest::option::of("\\PC{0,70}"),
        now in any::<i64>(),
    ) {
        let answer = OriginAnswer { status, body: body.clone(), timestamp, signature };
        // Nothing unsigned is believed.
        prop_assert!(resolve::verify_answer(&SigningKey::new(KEY), "sig", &answer, now).is_err());
        let _ = resolve::interpret(status, &body);
    }

    #[test]
    fn prop_purge_bodies_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..400),
        now in 0i64..4_000_000_000,
    ) {
        let key = SigningKey::new(KEY);
        let (ts, sig) = key.sign(&SignedRequest::internal("POST", PURGE_PATH, &body), now).unwrap();
        let parsed = purge::verify_and_parse(&key, PURGE_PATH, Some(&ts), Some(&sig), &body, now);
        if let Ok(keys) = parsed {
            prop_assert!(keys.iter().all(|k| k.starts_with("tollgate:auth:")));
        }
    }

    #[test]
    fn prop_settings_and_routes_never_panic(
        origin in "\\PC{0,60}",
        secret in "\\PC{0,60}",
        timeout in "\\PC{0,10}",
        method in "\\PC{0,10}",
        path in "\\PC{0,80}",
    ) {
        let _ = config::read(|name| match name {
            "ORIGIN_URL" => Some(origin.clone()),
            "EDGE_ORIGIN_SECRET" => Some(secret.clone()),
            "ORIGIN_TIMEOUT_SECS" => Some(timeout.clone()),
            _ => None,
        });
        let _ = route::classify(&method, &path);
        let _ = route::is_forwardable(&method);
    }
}

fn uuid_from(bytes: [u8; 16]) -> uuid::Uuid {
    uuid::Uuid::from_bytes(bytes)
}
