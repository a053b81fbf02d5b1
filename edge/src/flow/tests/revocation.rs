//! Hits checked against the revocation log, purges that append to it first, and floods
//! refused before the origin is asked.

use super::*;

/// A flow with its own log, memory and limiter.
struct Isolate {
    kv: MemoryKv,
    log: MemoryLog,
    memory: Memory,
}

impl Isolate {
    fn new() -> Isolate {
        Isolate {
            kv: MemoryKv::default(),
            log: MemoryLog::default(),
            memory: Memory::default(),
        }
    }

    fn auth_at<L: Limiter>(
        &self,
        origin: &FakeOrigin,
        limiter: &L,
        client: &str,
        header: &str,
        now_ms: i64,
    ) -> Result<Actor, EdgeError> {
        self.auth_with_clock(origin, limiter, client, header, now_ms, &no_time_passes)
    }

    fn auth_with_clock<L: Limiter>(
        &self,
        origin: &FakeOrigin,
        limiter: &L,
        client: &str,
        header: &str,
        now_ms: i64,
        clock: &dyn Fn() -> i64,
    ) -> Result<Actor, EdgeError> {
        let (key, sessions) = (key(), SessionKey::new(SESSION_SECRET));
        let flow = Flow {
            kv: &self.kv,
            origin,
            limiter,
            log: &self.log,
            memory: &self.memory,
            key: &key,
            sessions: Some(&sessions),
            clock,
        };
        let offered = bearer_only(Some(header));
        run(flow.authenticate(RouteClass::User, &offered, client, now_ms))
    }

    fn auth(&self, origin: &FakeOrigin, header: &str, now_ms: i64) -> Result<Actor, EdgeError> {
        self.auth_at(origin, &Unlimited, CLIENT, header, now_ms)
    }
}

const SESSION_SECRET: &str = "jwt-secret-of-at-least-32-bytes!!";

#[test]
fn a_signed_out_session_is_refused_once_the_log_has_it_and_the_origin_decides_otherwise() {
    let isolate = Isolate::new();
    let sid = uuid::Uuid::from_u128(9);
    let minted = session::Minted {
        user_id: USER.parse().unwrap(),
        email: None,
        session_id: sid,
        iat: NOW,
        exp: NOW + 600,
    };
    let header = format!(
        "Bearer {}",
        session::mint(&SessionKey::new(SESSION_SECRET), &minted)
    );
    let origin = FakeOrigin::refusing();
    isolate.log.as_of_ms.set(ms(NOW));
    assert!(isolate.auth(&origin, &header, ms(NOW)).is_ok(), "live");
    run(isolate.log.append(&[session::revocation_key(sid)])).unwrap();
    isolate.log.as_of_ms.set(ms(NOW) + 1_500);
    assert_eq!(
        isolate.auth(&origin, &header, ms(NOW) + 1_500),
        Err(EdgeError::Auth(AuthError::InvalidToken))
    );
    assert_eq!(origin.calls.get(), 0, "sessions are never resolved");
    // A log that cannot be read refuses nothing here: the origin checks the record.
    let other = Isolate::new();
    other.log.fails.set(true);
    assert!(other.auth(&origin, &header, ms(NOW) + 1_500).is_ok());
}

/// A token cached in `isolate`'s KV (a miss answered by `origin`, then stored).
fn cached(isolate: &Isolate) -> (RawToken, String) {
    let (raw, header) = bearer(TokenKind::Pat);
    let origin = FakeOrigin::ok(600);
    assert_eq!(isolate.auth(&origin, &header, ms(NOW)), Ok(pat()));
    assert!(isolate.kv.entries.borrow().contains_key(&key_of(&raw)));
    (raw, header)
}

#[test]
fn a_hit_whose_key_is_in_the_log_is_resolved_and_refused() {
    let isolate = Isolate::new();
    let (raw, header) = cached(&isolate);
    // Revoked elsewhere: the log has it, this location's KV still does too.
    run(isolate.log.append(&[key_of(&raw)])).unwrap();
    isolate.log.as_of_ms.set(ms(NOW) + 1_500);
    let refusing = FakeOrigin::refusing();
    let later = ms(NOW) + 1_500;
    assert_eq!(
        isolate.auth(&refusing, &header, later),
        Err(EdgeError::Auth(AuthError::InvalidToken))
    );
    assert_eq!(refusing.calls.get(), 1, "the origin decided");
    assert!(isolate.kv.entries.borrow().contains_key(&key_of(&raw)));
    // Refused again from the isolate's memory, with no resolve.
    assert!(isolate.auth(&refusing, &header, later).is_err());
    assert_eq!(refusing.calls.get(), 1);
}

#[test]
fn a_hit_the_log_clears_costs_one_log_read_a_second() {
    let isolate = Isolate::new();
    let (_, header) = cached(&isolate);
    isolate.log.as_of_ms.set(ms(NOW));
    let origin = FakeOrigin::ok(600);
    let reads = isolate.log.reads.get();
    for offset in [0, 200, 999, 1_000] {
        assert_eq!(isolate.auth(&origin, &header, ms(NOW) + offset), Ok(pat()));
    }
    assert_eq!(origin.calls.get(), 0, "hits");
    assert_eq!(
        isolate.log.reads.get(),
        reads + 1,
        "one read: the copy is a second fresh"
    );
    isolate.log.as_of_ms.set(ms(NOW) + 1_001);
    assert_eq!(isolate.auth(&origin, &header, ms(NOW) + 1_001), Ok(pat()));
    assert_eq!(isolate.log.reads.get(), reads + 2, "then caught up");
    assert_eq!(origin.calls.get(), 0);
}

#[test]
fn without_the_log_every_hit_resolves_and_the_log_is_asked_once_a_second() {
    let isolate = Isolate::new();
    let (_, header) = cached(&isolate);
    isolate.log.fails.set(true);
    let origin = FakeOrigin::ok(600);
    let reads = isolate.log.reads.get();
    // The copy from the miss was "current"; make it as old as the log's last answer.
    let isolate = Isolate {
        memory: Memory::default(),
        ..isolate
    };
    for offset in [0, 100, 500] {
        assert_eq!(isolate.auth(&origin, &header, ms(NOW) + offset), Ok(pat()));
    }
    assert_eq!(origin.calls.get(), 3, "never served from KV");
    assert_eq!(
        isolate.log.reads.get(),
        reads + 1,
        "one read, then backing off"
    );
    assert_eq!(isolate.auth(&origin, &header, ms(NOW) + 1_000), Ok(pat()));
    assert_eq!(isolate.log.reads.get(), reads + 2);
}

#[test]
fn the_copys_age_is_judged_after_the_slow_read_not_before_it() {
    let isolate = Isolate::new();
    let (_, header) = cached(&isolate);
    let origin = FakeOrigin::ok(600);
    isolate.log.as_of_ms.set(ms(NOW));
    assert_eq!(isolate.auth(&origin, &header, ms(NOW)), Ok(pat()));
    let calls = origin.calls.get();
    // 1.2 s later the copy is read again; the read fails after a second.
    isolate.log.fails.set(true);
    let started = ms(NOW) + 1_200;
    let after_the_read = move || started + 1_000;
    let hit = isolate.auth_with_clock(
        &origin,
        &Unlimited,
        CLIENT,
        &header,
        started,
        &after_the_read,
    );
    assert_eq!(hit, Ok(pat()));
    assert_eq!(
        origin.calls.get(),
        calls + 1,
        "a 2.2 s old copy clears nothing"
    );
}

#[test]
fn a_copy_older_than_the_stale_limit_clears_nothing() {
    let isolate = Isolate::new();
    let (_, header) = cached(&isolate);
    let origin = FakeOrigin::ok(600);
    isolate.log.as_of_ms.set(ms(NOW));
    assert_eq!(isolate.auth(&origin, &header, ms(NOW)), Ok(pat()));
    let calls = origin.calls.get();
    // The log now answers, but only with an old view (a cache stuck on old answers).
    isolate.log.as_of_ms.set(ms(NOW) + 100);
    let late = ms(NOW) + crate::revocations::USABLE_MS + 101;
    assert_eq!(isolate.auth(&origin, &header, late), Ok(pat()));
    assert_eq!(origin.calls.get(), calls + 1, "resolved, not believed");
}

#[test]
fn a_flood_costs_the_origin_its_budget_and_then_nothing() {
    let isolate = Isolate::new();
    let (_, cached_header) = cached(&isolate);
    let refusing = FakeOrigin::refusing();
    let limiter = CountingLimiter::with_budget(3);
    let mut statuses = Vec::new();
    for _ in 0..50 {
        let (_, header) = bearer(TokenKind::Pat);
        let outcome = isolate.auth_at(&refusing, &limiter, CLIENT, &header, ms(NOW));
        statuses.push(outcome.map_err(EdgeError::status).err());
    }
    assert_eq!(statuses[..4], [Some(401), Some(401), Some(401), Some(429)]);
    assert!(statuses[4..].iter().all(|s| *s == Some(429)));
    assert_eq!(
        refusing.calls.get(),
        4,
        "the budget and the one that went over"
    );
    assert_eq!(limiter.asked.get(), 4, "only the origin's refusals count");
    // The client's cached token is a hit, asked of nobody.
    let accepting = FakeOrigin::ok(600);
    let hit = isolate.auth_at(&accepting, &limiter, CLIENT, &cached_header, ms(NOW));
    assert_eq!(hit, Ok(pat()));
    // Its misses wait for the period; then the origin is asked again.
    let (_, fresh) = bearer(TokenKind::Pat);
    let during = isolate.auth_at(&accepting, &limiter, CLIENT, &fresh, ms(NOW + 9));
    assert_eq!(during, Err(EdgeError::TooManyInvalidTokens));
    assert_eq!(accepting.calls.get(), 0);
    let after = isolate.auth_at(&accepting, &limiter, CLIENT, &fresh, ms(NOW + 10));
    assert_eq!(after, Ok(pat()));
}

#[test]
fn malformed_tokens_and_remembered_refusals_are_not_counted() {
    let isolate = Isolate::new();
    let limiter = CountingLimiter::with_budget(0);
    let refusing = FakeOrigin::refusing();
    let (raw, header) = bearer(TokenKind::Pat);
    let broken = format!("{}x", &header[..header.len() - 1]);
    for _ in 0..5 {
        let outcome = isolate.auth_at(&refusing, &limiter, CLIENT, &broken, ms(NOW));
        assert_eq!(outcome, Err(EdgeError::Auth(AuthError::InvalidToken)));
    }
    assert_eq!((limiter.asked.get(), refusing.calls.get()), (0, 0));
    // Over budget at once: the origin's refusal is counted and answered 429 …
    let first = isolate.auth_at(&refusing, &limiter, CLIENT, &header, ms(NOW));
    assert_eq!(first, Err(EdgeError::TooManyInvalidTokens));
    assert!(isolate.memory.negatives.refused(&key_of(&raw), NOW));
    // … and the same token again is the remembered 401, not another count.
    let again = isolate.auth_at(&refusing, &limiter, CLIENT, &header, ms(NOW));
    assert_eq!(again, Err(EdgeError::Auth(AuthError::InvalidToken)));
    assert_eq!((limiter.asked.get(), refusing.calls.get()), (1, 1));
}

#[test]
fn one_ipv6_network_is_one_client() {
    let isolate = Isolate::new();
    let refusing = FakeOrigin::refusing();
    let limiter = AnyClientLimiter::with_budget(1);
    let mut outcomes = Vec::new();
    for address in ["2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:ffff::9"] {
        let (_, header) = bearer(TokenKind::Pat);
        outcomes.push(isolate.auth_at(&refusing, &limiter, address, &header, ms(NOW)));
    }
    let limited = Err(EdgeError::TooManyInvalidTokens);
    assert_eq!(outcomes[1..], [limited.clone(), limited]);
    assert_eq!(limiter.clients.borrow()[0], "2001:db8:0:1::/64");
    // Another network is another client.
    let (_, header) = bearer(TokenKind::Pat);
    let other = isolate.auth_at(&refusing, &limiter, "2001:db8:0:2::1", &header, ms(NOW));
    assert_eq!(
        other,
        Err(EdgeError::TooManyInvalidTokens),
        "its own count, also spent"
    );
    assert_eq!(
        limiter.clients.borrow().last().unwrap(),
        "2001:db8:0:2::/64"
    );
}

/// A limiter for any client: `budget` refusals in all, and who was counted.
struct AnyClientLimiter {
    budget: Cell<usize>,
    clients: RefCell<Vec<String>>,
}

impl AnyClientLimiter {
    fn with_budget(budget: usize) -> AnyClientLimiter {
        AnyClientLimiter {
            budget: Cell::new(budget),
            clients: RefCell::default(),
        }
    }
}

impl Limiter for AnyClientLimiter {
    async fn allow(&self, client: &str) -> bool {
        self.clients.borrow_mut().push(client.to_owned());
        let left = self.budget.get();
        self.budget.set(left.saturating_sub(1));
        left > 0
    }
}

#[test]
fn a_blocked_clients_cached_token_resolves_when_the_log_cannot_clear_it() {
    let isolate = Isolate::new();
    let (_, cached_header) = cached(&isolate);
    // The client goes over its budget.
    let refusing = FakeOrigin::refusing();
    let limiter = CountingLimiter::with_budget(0);
    let (_, header) = bearer(TokenKind::Pat);
    let over = isolate.auth_at(&refusing, &limiter, CLIENT, &header, ms(NOW));
    assert_eq!(over, Err(EdgeError::TooManyInvalidTokens));
    // The log fails (and the isolate's copy is gone: only the block is remembered):
    // its cached token is not believed from KV, but resolved, not refused 429.
    isolate.log.fails.set(true);
    let Isolate { kv, log, memory } = isolate;
    let memory = Memory {
        blocked: memory.blocked,
        ..Memory::default()
    };
    let isolate = Isolate { kv, log, memory };
    let accepting = FakeOrigin::ok(600);
    let hit = isolate.auth_at(&accepting, &limiter, CLIENT, &cached_header, ms(NOW));
    assert_eq!(hit, Ok(pat()));
    assert_eq!(accepting.calls.get(), 1);
    // A token it never had is still refused before the origin is asked.
    let (_, fresh) = bearer(TokenKind::Pat);
    let miss = isolate.auth_at(&accepting, &limiter, CLIENT, &fresh, ms(NOW));
    assert_eq!(miss, Err(EdgeError::TooManyInvalidTokens));
    assert_eq!(accepting.calls.get(), 1);
}
