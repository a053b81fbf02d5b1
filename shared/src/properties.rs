//! Property tests of every parser that reads client or network input: none panics on
//! any input, and what we write, we read back. `PROPTEST_CASES` sets the case count
//! (`scripts/test`: 10,000; `scripts/fuzz`: far more).

use proptest::prelude::*;

use crate::access::{bearer_token, RouteClass};
use crate::actor::Actor;
use crate::bearer::bearer;
use crate::cache::CacheEntry;
use crate::headers::SIGNED_IDENTITY_HEADERS;
use crate::request_id;
use crate::settings::check_transport;
use crate::signing::{SignedAnswer, SignedRequest, SigningKey};
use crate::wire::{PurgeRequest, ResolveAnswer, ResolveRequest};
use crate::{token, RawToken, TokenKind};

fn any_actor() -> impl Strategy<Value = Actor> {
    let id = any::<[u8; 16]>().prop_map(uuid::Uuid::from_bytes);
    prop_oneof![
        (id.clone(), proptest::option::of(id.clone()), any::<bool>()).prop_map(
            |(user_id, workspace, read)| Actor::Pat {
                user_id,
                scope: crate::Scope {
                    workspace,
                    access: if read {
                        crate::Access::Read
                    } else {
                        crate::Access::Write
                    },
                },
            }
        ),
        (
            id.clone(),
            proptest::option::of("[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}")
        )
            .prop_map(|(user_id, email)| Actor::Session { user_id, email }),
        (id.clone(), id.clone(), "[A-Za-z0-9._-]{1,128}").prop_map(
            |(user_id, workspace_id, daemon_id)| Actor::Daemon {
                user_id,
                workspace_id,
                daemon_id
            }
        ),
        (id.clone(), id.clone(), id.clone(), id.clone()).prop_map(|(u, w, a, t)| {
            Actor::TaskToken {
                user_id: u,
                workspace_id: w,
                agent_id: a,
                task_id: t,
            }
        }),
        id.prop_map(|user_id| Actor::CloudPat { user_id }),
    ]
}

proptest! {
    #[test]
    fn prop_bearer_never_panics(value in "\\PC{0,200}") {
        if let Some(token) = bearer(&value) {
            prop_assert!(!token.is_empty());
            prop_assert!(value.to_ascii_lowercase().contains(&token.to_ascii_lowercase()));
        }
        let _ = bearer_token(RouteClass::User, Some(&value));
        let _ = bearer_token(RouteClass::Daemon, Some(&value));
    }

    #[test]
    fn prop_any_bearer_of_a_minted_token_extracts_it(
        scheme in "(?i)bearer",
        spaces in " {1,3}",
        kind in prop::sample::select(vec![TokenKind::Pat, TokenKind::Daemon]),
    ) {
        let raw = RawToken::generate(kind).unwrap();
        let header = format!("{scheme}{spaces}{}", raw.expose());
        let class = if kind == TokenKind::Pat { RouteClass::User } else { RouteClass::Daemon };
        let token = bearer_token(class, Some(&header)).unwrap();
        prop_assert_eq!(token.expose(), raw.expose());
    }

    #[test]
    fn prop_token_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = token::parse(&s);
    }

    #[test]
    fn prop_signature_headers_never_panic_and_never_verify_by_chance(
        timestamp in "\\PC{0,30}",
        signature in "\\PC{0,80}",
        now in any::<i64>(),
    ) {
        let key = SigningKey::new("0123456789abcdef0123456789abcdef");
        let req = SignedRequest::internal("POST", "/internal/auth/resolve", b"{}");
        prop_assert!(key.verify(&req, &timestamp, &signature, now).is_err());
        let answer = SignedAnswer { request_signature: &signature, status: 200, body: b"{}" };
        prop_assert!(key.verify_answer(&answer, &timestamp, &signature, now).is_err());
    }

    #[test]
    fn prop_stamped_actors_round_trip_through_headers_and_json(actor in any_actor()) {
        let headers = actor.to_headers();
        let get = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        prop_assert_eq!(Actor::from_headers(get).unwrap(), Some(actor.clone()));
        let json = serde_json::to_string(&actor).unwrap();
        prop_assert_eq!(serde_json::from_str::<Actor>(&json).unwrap(), actor.clone());
        // What is signed is what is stamped.
        let values = actor.signing_values();
        for (name, value) in SIGNED_IDENTITY_HEADERS.iter().zip(values.iter()) {
            prop_assert_eq!(get(name).unwrap_or(""), value.as_str());
        }
    }

    #[test]
    fn prop_actor_from_any_headers_never_panics(
        values in prop::collection::vec(
            proptest::option::of("\\PC{0,40}|read|write"),
            crate::headers::IDENTITY_FIELDS,
        ),
        source in prop::sample::select(vec!["pat", "session", "daemon", "task_token", "cloud_pat", "root", ""]),
    ) {
        let get = |name: &str| {
            if name == crate::headers::X_ACTOR_SOURCE {
                return Some(source);
            }
            SIGNED_IDENTITY_HEADERS
                .iter()
                .position(|n| *n == name)
                .and_then(|i| values[i].as_deref())
        };
        let _ = Actor::from_headers(get);
    }

    #[test]
    fn prop_wire_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = serde_json::from_slice::<ResolveRequest>(&bytes);
        let _ = serde_json::from_slice::<ResolveAnswer>(&bytes);
        let _ = serde_json::from_slice::<PurgeRequest>(&bytes);
        let _ = serde_json::from_slice::<CacheEntry>(&bytes);
        let _ = serde_json::from_slice::<Actor>(&bytes);
    }

    #[test]
    fn prop_wire_round_trips(
        actor in any_actor(),
        ttl in any::<u64>(),
        valid_until in any::<i64>(),
        keys in prop::collection::vec("\\PC{0,60}", 0..20),
    ) {
        let answer = ResolveAnswer { identity: actor.clone(), ttl_secs: ttl };
        let json = serde_json::to_vec(&answer).unwrap();
        prop_assert_eq!(serde_json::from_slice::<ResolveAnswer>(&json).unwrap(), answer);
        let entry = CacheEntry { identity: actor, valid_until };
        let json = serde_json::to_vec(&entry).unwrap();
        prop_assert_eq!(serde_json::from_slice::<CacheEntry>(&json).unwrap(), entry);
        let purge = PurgeRequest { keys };
        let json = serde_json::to_vec(&purge).unwrap();
        prop_assert_eq!(serde_json::from_slice::<PurgeRequest>(&json).unwrap(), purge);
        let raw = RawToken::generate(TokenKind::Pat).unwrap();
        let request = ResolveRequest::for_token(&token::parse(raw.expose()).unwrap());
        let json = serde_json::to_vec(&request).unwrap();
        prop_assert_eq!(serde_json::from_slice::<ResolveRequest>(&json).unwrap(), request);
    }

    #[test]
    fn prop_request_ids_are_kept_only_when_sane(value in "\\PC{0,200}") {
        let chosen = request_id::choose(Some(&value));
        prop_assert!(request_id::is_acceptable(&chosen));
        prop_assert_eq!(chosen == value, request_id::is_acceptable(&value));
    }

    #[test]
    fn prop_transport_check_never_panics(url in "\\PC{0,100}") {
        let _ = check_transport(&url);
    }
}

proptest! {
    #[test]
    fn prop_session_and_csrf_parsers_never_panic(
        jwt in "\\PC{0,200}",
        cookie_header in "\\PC{0,120}",
        csrf in proptest::option::of("\\PC{0,120}"),
        now in any::<i64>(),
    ) {
        let key = crate::session::SessionKey::new("0123456789abcdef0123456789abcdef");
        let _ = crate::session::verify(&key, &jwt, now);
        let _ = crate::session::cookie(&cookie_header, crate::session::COOKIE);
        prop_assert!(!crate::session::csrf_valid(&jwt, csrf.as_deref()) || csrf.is_some());
    }

    #[test]
    fn prop_minted_sessions_verify_until_they_expire(
        user in any::<[u8; 16]>(),
        iat in 0i64..4_000_000_000,
        ttl in 1i64..100_000,
        nonce in any::<[u8; 16]>(),
    ) {
        let key = crate::session::SessionKey::new("0123456789abcdef0123456789abcdef");
        let user_id = uuid::Uuid::from_bytes(user);
        let session_id = uuid::Uuid::from_bytes(nonce);
        let minted = crate::session::Minted { user_id, email: None, session_id, iat, exp: iat + ttl };
        let jwt = crate::session::mint(&key, &minted);
        prop_assert_eq!(
            crate::session::verify(&key, &jwt, iat),
            Ok(crate::session::Session { actor: Actor::Session { user_id, email: None }, id: session_id })
        );
        prop_assert!(crate::session::verify(&key, &jwt, iat + ttl).is_err());
        let csrf = crate::session::csrf_token(&jwt, nonce);
        prop_assert!(crate::session::csrf_valid(&jwt, Some(&csrf)));
    }
}
