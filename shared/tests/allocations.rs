//! The edge's per-request work before any I/O — parse, checksum, hash, cache key —
//! allocates nothing: counted with an instrumented global allocator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use tollgate_shared::{cache_key, token, RawToken, TokenKind};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn parse_hash_and_cache_key_allocate_nothing() {
    let presented = RawToken::generate(TokenKind::Pat).unwrap();
    let header = format!("Bearer {}", presented.expose());
    let raw = header.strip_prefix("Bearer ").unwrap();

    let region = Region::new(GLOBAL);
    let mut total = 0usize;
    for _ in 0..100 {
        let token = token::parse(std::hint::black_box(raw)).unwrap();
        let key = cache_key(token.kind, &token.hash());
        total += std::hint::black_box(key.as_str()).len();
    }
    let stats = region.change();
    assert_eq!(total, 100 * 82);
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "the hit path's key allocated: {stats:?}"
    );
}
