//! The request flow against in-memory fakes of KV, the origin and the limiter: the fakes
//! and helpers here, the tests by subject in the files beside.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tollgate_shared::signing::{SignedAnswer, SignedRequest};
use tollgate_shared::wire::{ResolveRequest, RESOLVE_PATH};
use tollgate_shared::{AuthError, CacheEntry, RawToken, TokenKind};

use super::*;
use crate::revocation_log::{self, Entry};

const NOW: i64 = 1_700_000_000;
const CLIENT: &str = "203.0.113.7";

/// `secs` in the milliseconds the flow takes.
fn ms(secs: i64) -> i64 {
    secs * 1000
}
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

    /// The origin's answer to a token it does not know.
    fn refusing() -> FakeOrigin {
        FakeOrigin::answering(Ok((401, r#"{"error":"invalid token"}"#.into())))
    }

    fn ok(ttl_secs: u64) -> FakeOrigin {
        let body = format!(
            concat!(
                r#"{{"identity":{{"actor_source":"pat","user_id":"{user}","user_email":null,"#,
                r#""workspace_id":null,"daemon_id":null,"agent_id":null,"task_id":null,"#,
                r#""access":"write"}},"#,
                r#""ttl_secs":{ttl_secs}}}"#
            ),
            user = USER,
            ttl_secs = ttl_secs
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
        let signed = SignedRequest::internal("POST", RESOLVE_PATH, body.as_bytes());
        assert!(self.key.verify(&signed, timestamp, signature, NOW).is_ok());
        serde_json::from_str::<ResolveRequest>(body).expect("a resolve request");
        let (status, body) = self.answer.clone()?;
        let answer = SignedAnswer {
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
        scope: tollgate_shared::Scope::UNSCOPED,
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

/// The revocation log in memory: its entries, whether it fails, how often it was read,
/// and the clock it answers with (by default far ahead: a log that is always current,
/// for the tests that are not about it).
struct MemoryLog {
    entries: RefCell<Vec<Entry>>,
    fails: Cell<bool>,
    reads: Cell<usize>,
    as_of_ms: Cell<i64>,
}

impl Default for MemoryLog {
    fn default() -> MemoryLog {
        MemoryLog {
            entries: RefCell::default(),
            fails: Cell::new(false),
            reads: Cell::new(0),
            as_of_ms: Cell::new(i64::MAX / 4),
        }
    }
}

impl Log for MemoryLog {
    async fn after(&self, seq: u64) -> Result<Page, LogError> {
        self.reads.set(self.reads.get() + 1);
        if self.fails.get() {
            return Err(LogError);
        }
        let entries = self.entries.borrow();
        let rows = entries.iter().filter(|e| e.seq > seq).cloned().collect();
        Ok(revocation_log::page(
            "e".into(),
            rows,
            self.as_of_ms.get(),
            0,
        ))
    }
    async fn append(&self, keys: &[String]) -> Result<(), LogError> {
        if self.fails.get() {
            return Err(LogError);
        }
        let mut entries = self.entries.borrow_mut();
        for key in keys {
            let seq = entries.len() as u64 + 1;
            let at_ms = self.as_of_ms.get();
            entries.push(Entry {
                seq,
                key: key.clone(),
                at_ms,
            });
        }
        Ok(())
    }
}

/// A log nobody else uses, for one flow.
fn current_log() -> &'static MemoryLog {
    Box::leak(Box::default())
}

fn bindings<'a, L>(
    kv: &'a MemoryKv,
    origin: &'a FakeOrigin,
    limiter: &'a L,
) -> Bindings<'a, MemoryKv, FakeOrigin, L, MemoryLog> {
    Bindings {
        kv,
        origin,
        limiter,
        log: current_log(),
        clock: &no_time_passes,
    }
}

/// The fakes take no time: the flow's clock stays at the request's start.
fn no_time_passes() -> i64 {
    i64::MIN
}

fn flow<'a, L: Limiter>(
    kv: &'a MemoryKv,
    origin: &'a FakeOrigin,
    memory: &'a Memory,
    limiter: &'a L,
    key: &'a SigningKey,
) -> Flow<'a, MemoryKv, FakeOrigin, L, MemoryLog> {
    Flow {
        kv,
        origin,
        limiter,
        log: current_log(),
        memory,
        key,
        sessions: None,
        clock: &no_time_passes,
    }
}

fn bearer_only(authorization: Option<&str>) -> Offered<'_> {
    Offered {
        authorization,
        cookie: None,
        method: "GET",
        csrf: None,
    }
}

/// One request on its own (a fresh isolate: nothing remembered, no limit).
fn auth(kv: &MemoryKv, origin: &FakeOrigin, header: &str, now: i64) -> Result<Actor, EdgeError> {
    auth_in(kv, origin, &Memory::default(), Some(header), now)
}

/// A request in an isolate that remembers `memory`, at `now` (seconds).
fn auth_in(
    kv: &MemoryKv,
    origin: &FakeOrigin,
    memory: &Memory,
    header: Option<&str>,
    now: i64,
) -> Result<Actor, EdgeError> {
    let key = key();
    let flow = flow(kv, origin, memory, &Unlimited, &key);
    run(flow.authenticate(RouteClass::User, &bearer_only(header), CLIENT, ms(now)))
}

fn key_of(raw: &RawToken) -> String {
    cache_key(TokenKind::Pat, &raw.hash()).to_string()
}

mod cache;
mod cloud;
mod credentials;
mod outages;
mod refusals;
mod revocation;
mod sign_in;
