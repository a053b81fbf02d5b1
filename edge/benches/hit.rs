//! The edge's own CPU per cache hit, natively: everything the Worker computes for a
//! request whose identity is in KV — credential parse and checksum, sha256, cache key,
//! cache-entry decode, identity stamp and signature. I/O (the KV read, the forward) is
//! not here; `scripts/bench` reads criterion's estimate from target/criterion/.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tollgate_edge::revocation_log::{Entry, Page};
use tollgate_edge::revocations::{Revocations, Verdict};
use tollgate_edge::{cache, forward};
use tollgate_shared::access::{self, Extracted, Offered, RouteClass};
use tollgate_shared::{cache_key, Actor, CacheEntry, RawToken, SigningKey, TokenKind};

fn hit(c: &mut Criterion) {
    let raw = RawToken::generate(TokenKind::Pat).unwrap();
    let authorization = format!("Bearer {}", raw.expose());
    let actor = Actor::Pat {
        user_id: "7d4f9c2e-0000-4000-8000-000000000001".parse().unwrap(),
        scope: tollgate_shared::Scope::UNSCOPED,
    };
    let now = 1_700_000_000;
    let entry = serde_json::to_string(&CacheEntry::new(actor, now, 600)).unwrap();
    let key = SigningKey::new("0123456789abcdef0123456789abcdef");

    // The same, plus the check a hit now passes: a fresh copy of the revocation log
    // holding 1,000 revoked keys, asked for this key.
    let now_ms = now * 1000;
    let revocations = Revocations::default();
    let entries = (1..=1_000u64)
        .map(|seq| Entry {
            seq,
            key: format!("tollgate:auth:mul:{seq:064x}"),
            at_ms: now_ms,
        })
        .collect();
    let page = Page {
        epoch: "e".to_owned(),
        entries,
        more: false,
        as_of_ms: now_ms,
        overflow_until_ms: 0,
    };
    assert!(revocations.apply(0, page, now_ms));
    // One hit; `check` is what the key must pass before the entry is believed.
    let one = |check: &dyn Fn(&str)| {
        let presented = Offered {
            authorization: Some(black_box(&authorization)),
            cookie: None,
            method: "GET",
            csrf: None,
        };
        let Extracted::Token(token) = access::extract(RouteClass::User, &presented).unwrap() else {
            unreachable!("a PAT")
        };
        let cache_key = cache_key(token.kind, &token.hash());
        let actor = cache::hit(Some(black_box(&entry)), now).unwrap();
        check(black_box(cache_key.as_str()));
        let sender = forward::Sender {
            actor: Some(&actor),
            client: "203.0.113.7",
            request_id: "req-1",
        };
        forward::stamp(&key, "GET", "/api/me", sender, now).unwrap()
    };
    let cleared = |cache_key: &str| {
        assert_eq!(revocations.verdict(cache_key, now_ms), Verdict::Clear);
    };
    c.bench_function("edge_hit_cpu_with_log", |b| b.iter(|| one(&cleared)));
    c.bench_function("edge_hit_cpu", |b| b.iter(|| one(&|_| {})));
}

criterion_group!(benches, hit);
criterion_main!(benches);
