//! Hits, misses and what is kept in KV: the TTLs, the kinds never cached, purges.

use super::*;

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
fn uncacheable_kinds_never_touch_kv() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(600));
    let raw = RawToken::generate(TokenKind::Task).unwrap();
    let token = tollgate_shared::token::parse(raw.expose()).unwrap();
    for _ in 0..2 {
        let (memory, key) = (Memory::default(), key());
        let flow = flow(&kv, &origin, &memory, &Unlimited, &key);
        assert_eq!(run(flow.resolve_token(&token, CLIENT, ms(NOW))), Ok(pat()));
    }
    assert_eq!(origin.calls.get(), 2, "asked every time");
    assert_eq!(kv.reads.get(), 0);
    assert!(kv.entries.borrow().is_empty());
}

#[test]
fn purge_deletes_and_fails_loudly() {
    let kv = MemoryKv::default();
    let (raw, header) = bearer(TokenKind::Pat);
    let origin = FakeOrigin::ok(600);
    auth(&kv, &origin, &header, NOW).unwrap();
    let keys = vec![key_of(&raw), "tollgate:auth:mul:absent".to_owned()];
    let log = MemoryLog::default();
    assert_eq!(run(purge(&log, &kv, &keys)), Ok(2));
    assert!(kv.entries.borrow().is_empty());
    assert_eq!(log.entries.borrow().len(), 2, "and in the log");
    // A log that fails fails the call, but this location's KV loses the keys anyway.
    auth(&kv, &origin, &header, NOW).unwrap();
    assert!(!kv.entries.borrow().is_empty());
    log.fails.set(true);
    assert_eq!(
        run(purge(&log, &kv, &keys)),
        Err(EdgeError::AuthUnavailable)
    );
    assert!(kv.entries.borrow().is_empty());
    let broken = MemoryKv {
        fail_writes: true,
        ..MemoryKv::default()
    };
    assert_eq!(
        run(purge(&log, &broken, &keys)),
        Err(EdgeError::AuthUnavailable)
    );
}
