//! The request flow against in-memory fakes of KV and the origin.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tollgate_shared::signing::{Answer, Request};
use tollgate_shared::wire::{ResolveRequest, RESOLVE_PATH};
use tollgate_shared::{AuthError, CacheEntry, RawToken, TokenKind};

use super::*;

const NOW: i64 = 1_700_000_000;
const USER: &str = "7d4f9c2e-0000-4000-8000-000000000001";

/// The fakes never wait, so one poll finishes any flow.
fn run<T>(fut: impl Future<Output = T>) -> T {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).as_mut().poll(&mut cx) {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("the in-memory fakes never wait"),
    }
}

#[derive(Default)]
struct MemoryKv {
    entries: RefCell<HashMap<String, (String, u64)>>,
    fail_reads: bool,
    fail_writes: bool,
    reads: Cell<usize>,
}

impl Kv for MemoryKv {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.reads.set(self.reads.get() + 1);
        if self.fail_reads {
            return Err(KvError);
        }
        Ok(self.entries.borrow().get(key).map(|(v, _)| v.clone()))
    }
    fn put_in_background(&self, key: &str, value: String, ttl: u64) {
        if !self.fail_writes {
            self.entries
                .borrow_mut()
                .insert(key.to_owned(), (value, ttl));
        }
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        if self.fail_writes {
            return Err(KvError);
        }
        self.entries.borrow_mut().remove(key);
        Ok(())
    }
}

/// How the fake signs its answers.
#[derive(Clone, Copy, PartialEq)]
enum Signs {
    Properly,
    Not,
    WithAnotherKey,
    TwoMinutesAgo,
}

/// Answers every resolve with `answer`, after checking the call is signed as the
/// origin will check it, and signs the answer as the origin does (or not).
struct FakeOrigin {
    answer: Result<(u16, String), OriginError>,
    calls: Cell<usize>,
    last_body: RefCell<String>,
    key: SigningKey,
    signs: Signs,
}

impl FakeOrigin {
    fn answering(answer: Result<(u16, String), OriginError>) -> FakeOrigin {
        FakeOrigin {
            answer,
            calls: Cell::new(0),
            last_body: RefCell::default(),
            key: key(),
            signs: Signs::Properly,
        }
    }

    fn ok(ttl_secs: u64) -> FakeOrigin {
        let body = format!(
            r#"{{"identity":{{"actor_source":"pat","user_id":"{USER}","user_email":null,"workspace_id":null,"daemon_id":null,"agent_id":null,"task_id":null}},"ttl_secs":{ttl_secs}}}"#
        );
        FakeOrigin::answering(Ok((200, body)))
    }
}

impl Origin for FakeOrigin {
    async fn resolve(
        &self,
        body: &str,
        timestamp: &str,
        signature: &str,
    ) -> Result<OriginAnswer, OriginError> {
        self.calls.set(self.calls.get() + 1);
        *self.last_body.borrow_mut() = body.to_owned();
        let signed = Request::internal("POST", RESOLVE_PATH, body.as_bytes());
        assert!(self.key.verify(&signed, timestamp, signature, NOW).is_ok());
        serde_json::from_str::<ResolveRequest>(body).expect("a resolve request");
        let (status, body) = self.answer.clone()?;
        let answer = Answer {
            request_signature: signature,
            status,
            body: body.as_bytes(),
        };
        let (key, at) = match self.signs {
            Signs::WithAnotherKey => (SigningKey::new("another-key-of-at-least-32-bytes!"), NOW),
            Signs::TwoMinutesAgo => (key(), NOW - 120),
            Signs::Properly | Signs::Not => (key(), NOW),
        };
        let (ts, sig) = key.sign_answer(&answer, at).unwrap();
        let signed = self.signs != Signs::Not;
        Ok(OriginAnswer {
            status,
            body: body.into_bytes(),
            timestamp: signed.then_some(ts),
            signature: signed.then_some(sig),
        })
    }
}

fn key() -> SigningKey {
    SigningKey::new("flow-test-secret-of-32-bytes-ok!")
}

fn pat() -> Actor {
    Actor::Pat {
        user_id: USER.parse().unwrap(),
    }
}

fn bearer(kind: TokenKind) -> (RawToken, String) {
    let raw = RawToken::generate(kind).unwrap();
    let header = format!("Bearer {}", raw.expose());
    (raw, header)
}

/// Lets `budget` invalid outcomes through, then refuses.
struct CountingLimiter {
    budget: Cell<usize>,
    asked: Cell<usize>,
}

impl CountingLimiter {
    fn with_budget(budget: usize) -> CountingLimiter {
        CountingLimiter {
            budget: Cell::new(budget),
            asked: Cell::new(0),
        }
    }
}

impl Limiter for CountingLimiter {
    async fn allow(&self, client: &str) -> bool {
        assert_eq!(client, "203.0.113.7");
        self.asked.set(self.asked.get() + 1);
        let left = self.budget.get();
        self.budget.set(left.saturating_sub(1));
        left > 0
    }
}

fn flow<'a, L: Limiter>(
    kv: &'a MemoryKv,
    origin: &'a FakeOrigin,
    negatives: &'a NegativeCache,
    limiter: &'a L,
    key: &'a SigningKey,
) -> Flow<'a, MemoryKv, FakeOrigin, L> {
    Flow {
        kv,
        origin,
        limiter,
        negatives,
        key,
        sessions: None,
    }
}

fn bearer_only(authorization: Option<&str>) -> Presentation<'_> {
    Presentation {
        authorization,
        cookie: None,
        method: "GET",
        csrf: None,
    }
}

/// One request on its own (a fresh isolate: nothing remembered, no limit).
fn auth(kv: &MemoryKv, origin: &FakeOrigin, header: &str, now: i64) -> Result<Actor, EdgeError> {
    auth_in(kv, origin, &NegativeCache::default(), Some(header), now)
}

/// A request in an isolate whose negative cache is `negatives`.
fn auth_in(
    kv: &MemoryKv,
    origin: &FakeOrigin,
    negatives: &NegativeCache,
    header: Option<&str>,
    now: i64,
) -> Result<Actor, EdgeError> {
    let key = key();
    let flow = flow(kv, origin, negatives, &Unlimited, &key);
    run(flow.authenticate(RouteClass::User, &bearer_only(header), "203.0.113.7", now))
}

fn key_of(raw: &RawToken) -> String {
    cache_key(TokenKind::Pat, &raw.hash()).to_string()
}

#[test]
fn a_miss_resolves_once_then_hits() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(600));
    let (raw, header) = bearer(TokenKind::Pat);
    assert_eq!(auth(&kv, &origin, &header, NOW), Ok(pat()));
    assert_eq!(origin.calls.get(), 1);
    let (_, ttl) = kv.entries.borrow()[&key_of(&raw)].clone();
    assert_eq!(ttl, 600);
    for _ in 0..3 {
        assert_eq!(auth(&kv, &origin, &header, NOW + 10), Ok(pat()));
    }
    assert_eq!(origin.calls.get(), 1, "hits never reach the origin");
}

#[test]
fn an_entry_past_valid_until_is_a_miss() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(30));
    let (raw, header) = bearer(TokenKind::Pat);
    assert_eq!(auth(&kv, &origin, &header, NOW), Ok(pat()));
    assert_eq!(kv.entries.borrow()[&key_of(&raw)].1, 60, "KV's minimum TTL");
    assert_eq!(auth(&kv, &origin, &header, NOW + 29), Ok(pat()));
    assert_eq!(origin.calls.get(), 1);
    assert_eq!(auth(&kv, &origin, &header, NOW + 30), Ok(pat()));
    assert_eq!(
        origin.calls.get(),
        2,
        "valid_until, not KV's TTL, ends the entry"
    );
    let entry: CacheEntry = serde_json::from_str(&kv.entries.borrow()[&key_of(&raw)].0).unwrap();
    assert_eq!(
        entry.valid_until,
        NOW + 60,
        "rewritten by the second resolve"
    );
}

#[test]
fn kv_read_errors_are_misses_and_write_errors_are_ignored() {
    let kv = MemoryKv {
        fail_reads: true,
        fail_writes: true,
        ..MemoryKv::default()
    };
    let origin = FakeOrigin::ok(600);
    let (_, header) = bearer(TokenKind::Pat);
    assert_eq!(auth(&kv, &origin, &header, NOW), Ok(pat()));
    assert_eq!(auth(&kv, &origin, &header, NOW), Ok(pat()));
    assert_eq!(origin.calls.get(), 2);
    assert!(kv.entries.borrow().is_empty());
}

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
        ..FakeOrigin::answering(Ok((401, r#"{"error":"invalid token"}"#.into())))
    };
    let (_, header) = bearer(TokenKind::Pat);
    assert_eq!(
        auth(&MemoryKv::default(), &origin, &header, NOW),
        Err(EdgeError::AuthUnavailable)
    );
}

#[test]
fn an_overlong_ttl_is_clamped() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(86_400));
    let (raw, header) = bearer(TokenKind::Pat);
    assert_eq!(auth(&kv, &origin, &header, NOW), Ok(pat()));
    let (value, ttl) = kv.entries.borrow()[&key_of(&raw)].clone();
    assert_eq!(ttl, 600);
    let entry: CacheEntry = serde_json::from_str(&value).unwrap();
    assert_eq!(entry.valid_until, NOW + 600);
}

#[test]
fn sessions_are_verified_at_the_edge_with_no_io() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(600));
    let (negatives, key) = (NegativeCache::default(), key());
    let sessions = SessionKey::new("jwt-secret-of-at-least-32-bytes!!");
    let mut flow = flow(&kv, &origin, &negatives, &Unlimited, &key);
    flow.sessions = Some(&sessions);
    let jwt = session::mint(
        &sessions,
        USER.parse().unwrap(),
        Some("ada@example.com"),
        NOW,
        NOW + 60,
    );
    let cookie = format!("tollgate_session={jwt}");
    let bearer = format!("Bearer {jwt}");
    let with = |authorization, cookie, method, csrf| Presentation {
        authorization,
        cookie,
        method,
        csrf,
    };
    let expected = Actor::Session {
        user_id: USER.parse().unwrap(),
        email: Some("ada@example.com".into()),
    };
    let client = "203.0.113.7";
    for p in [
        with(Some(&bearer), None, "POST", None),
        with(None, Some(&cookie), "GET", None),
    ] {
        assert_eq!(
            run(flow.authenticate(RouteClass::User, &p, client, NOW)),
            Ok(expected.clone())
        );
    }
    let csrf = session::csrf_token(&jwt, [9; 16]);
    let p = with(None, Some(&cookie), "POST", Some(&csrf));
    assert_eq!(
        run(flow.authenticate(RouteClass::User, &p, client, NOW)),
        Ok(expected)
    );
    let p = with(None, Some(&cookie), "POST", None);
    assert_eq!(
        run(flow.authenticate(RouteClass::User, &p, client, NOW)),
        Err(EdgeError::Auth(AuthError::CsrfFailed))
    );
    let p = with(Some(&bearer), None, "GET", None);
    assert_eq!(
        run(flow.authenticate(RouteClass::User, &p, client, NOW + 60)),
        Err(EdgeError::Auth(AuthError::InvalidToken)),
        "expired"
    );
    assert_eq!((kv.reads.get(), origin.calls.get()), (0, 0));
    // Without JWT_SECRET no session is valid.
    flow.sessions = None;
    let p = with(Some(&bearer), None, "GET", None);
    assert_eq!(
        run(flow.authenticate(RouteClass::User, &p, client, NOW)),
        Err(EdgeError::Auth(AuthError::InvalidToken))
    );
}

#[test]
fn malformed_credentials_cost_no_io() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(600));
    let (raw, _) = bearer(TokenKind::Pat);
    let mut broken = raw.expose().to_owned();
    broken.replace_range(43..44, if broken.ends_with('0') { "1" } else { "0" });
    let cases = [
        (None, AuthError::MissingAuthorization),
        (
            Some("Basic abc".to_owned()),
            AuthError::InvalidAuthorizationFormat,
        ),
        (Some(format!("Bearer {broken}")), AuthError::InvalidToken),
        (Some("Bearer xyz_123".to_owned()), AuthError::InvalidToken),
    ];
    for (header, expected) in cases {
        let result = auth_in(
            &kv,
            &origin,
            &NegativeCache::default(),
            header.as_deref(),
            NOW,
        );
        assert_eq!(result, Err(EdgeError::Auth(expected)), "{header:?}");
    }
    assert_eq!((kv.reads.get(), origin.calls.get()), (0, 0));
}

#[test]
fn kinds_a_route_does_not_take_are_refused_before_any_io() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(600));
    for kind in [TokenKind::Daemon, TokenKind::Install] {
        let (_, header) = bearer(kind);
        assert_eq!(
            auth(&kv, &origin, &header, NOW),
            Err(EdgeError::Auth(AuthError::InvalidToken)),
            "{kind}"
        );
    }
    assert_eq!((kv.reads.get(), origin.calls.get()), (0, 0));
}

#[test]
fn uncacheable_kinds_never_touch_kv() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(600));
    let raw = RawToken::generate(TokenKind::Task).unwrap();
    let token = tollgate_shared::token::parse(raw.expose()).unwrap();
    for _ in 0..2 {
        let (negatives, key) = (NegativeCache::default(), key());
        let flow = flow(&kv, &origin, &negatives, &Unlimited, &key);
        assert_eq!(run(flow.resolve_token(&token, NOW)), Ok(pat()));
    }
    assert_eq!(origin.calls.get(), 2, "asked every time");
    assert_eq!(kv.reads.get(), 0);
    assert!(kv.entries.borrow().is_empty());
}

const CLOUD_PAT: &str = "mcn_minted-by-fleet.0123456789";

fn cloud_answer(ttl_secs: u64) -> FakeOrigin {
    let body = format!(
        r#"{{"identity":{{"actor_source":"cloud_pat","user_id":"{USER}","user_email":null,"workspace_id":null,"daemon_id":null,"agent_id":null,"task_id":null}},"ttl_secs":{ttl_secs}}}"#
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
        let (kv, negatives) = (MemoryKv::default(), NegativeCache::default());
        for _ in 0..3 {
            assert_eq!(
                auth_in(&kv, &origin, &negatives, Some(&header), NOW),
                Err(expected)
            );
        }
        assert_eq!(origin.calls.get(), 3, "{expected:?}");
        assert!(kv.entries.borrow().is_empty() && negatives.is_empty());
    }
}

#[test]
fn purge_deletes_and_fails_loudly() {
    let kv = MemoryKv::default();
    let (raw, header) = bearer(TokenKind::Pat);
    let origin = FakeOrigin::ok(600);
    auth(&kv, &origin, &header, NOW).unwrap();
    let keys = vec![key_of(&raw), "tollgate:auth:mul:absent".to_owned()];
    assert_eq!(run(purge(&kv, &keys)), Ok(2));
    assert!(kv.entries.borrow().is_empty());
    let broken = MemoryKv {
        fail_writes: true,
        ..MemoryKv::default()
    };
    assert_eq!(run(purge(&broken, &keys)), Err(EdgeError::AuthUnavailable));
}
