//! Micro-benchmarks of the per-request work the edge does before any I/O, against the
//! floor: one bare sha256 of 44 bytes. Run by `scripts/bench` (criterion's JSON lands in
//! target/criterion/, which the bench harness reads).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sha2::{Digest, Sha256};
use tollgate_shared::signing::{Body, SignedRequest};
use tollgate_shared::{token, Actor, RawToken, SigningKey, TokenKind};

fn micro(c: &mut Criterion) {
    let raw = RawToken::generate(TokenKind::Pat).unwrap();
    let presented = raw.expose().to_owned();
    assert_eq!(presented.len(), 44);

    c.bench_function("sha256_44_bytes", |b| {
        b.iter(|| Sha256::digest(black_box(presented.as_bytes())))
    });
    c.bench_function("parse_checksum_hash", |b| {
        b.iter(|| token::parse(black_box(&presented)).unwrap().hash())
    });

    let key = SigningKey::new("0123456789abcdef0123456789abcdef");
    let identity = Actor::Session {
        user_id: "7d4f9c2e-0000-4000-8000-000000000001".parse().unwrap(),
        email: Some("ada@example.com".into()),
    };
    let values = identity.signing_values();
    let values = values.each_ref().map(String::as_str);
    let request = SignedRequest {
        method: "GET",
        path_and_query: "/api/me?include=workspaces",
        body: Body::Unsigned,
        client: "203.0.113.7",
        identity: values,
    };
    let now = 1_700_000_000;
    c.bench_function("sign_identity_headers", |b| {
        b.iter(|| key.sign(black_box(&request), now))
    });
    let (ts, sig) = key.sign(&request, now).unwrap();
    c.bench_function("verify_identity_headers", |b| {
        b.iter(|| key.verify(black_box(&request), &ts, &sig, now).unwrap())
    });
}

criterion_group!(benches, micro);
criterion_main!(benches);
