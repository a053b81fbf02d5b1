//! The work the edge does for a request whose identity is in KV, on the same shared
//! functions the Worker calls — credential parse and checksum, sha256, cache key,
//! cache-entry decode, identity signature — exported for node to time. No I/O.

use tollgate_shared::access::{self, Offered, Extracted, RouteClass};
use tollgate_shared::actor::stamped_headers;
use tollgate_shared::signing::{Body, SignedRequest};
use tollgate_shared::{cache_key, Actor, CacheEntry, SigningKey};
use wasm_bindgen::prelude::wasm_bindgen;

/// Runs the hit path `iterations` times; returns a checksum so nothing is optimized out.
#[wasm_bindgen]
pub fn hit_path(authorization: &str, entry: &str, iterations: u32) -> u32 {
    let key = SigningKey::new("0123456789abcdef0123456789abcdef");
    let now = 1_700_000_000;
    let mut sum = 0u32;
    for _ in 0..iterations {
        let presented = Offered {
            authorization: Some(authorization),
            cookie: None,
            method: "GET",
            csrf: None,
        };
        let Ok(Extracted::Token(token)) = access::extract(RouteClass::User, &presented) else {
            return 0;
        };
        let cache_key = cache_key(token.kind, &token.hash());
        let Ok(entry) = serde_json::from_str::<CacheEntry>(entry) else {
            return 0;
        };
        if !entry.is_fresh(now) {
            return 0;
        }
        let values = entry.identity.signing_values();
        let signed = key.sign(
            &SignedRequest {
                method: "GET",
                path_and_query: "/api/me",
                body: Body::Unsigned,
                client: "203.0.113.7",
                identity: values.each_ref().map(String::as_str),
            },
            now,
        );
        let headers = stamped_headers(values);
        sum = sum
            .wrapping_add(cache_key.as_str().len() as u32)
            .wrapping_add(headers.len() as u32)
            .wrapping_add(signed.map_or(0, |(_, s)| s.len() as u32));
    }
    sum
}

/// A cache entry as KV holds it, for the timing script.
#[wasm_bindgen]
pub fn sample_entry() -> String {
    let actor = Actor::Pat {
        user_id: "7d4f9c2e-0000-4000-8000-000000000001"
            .parse()
            .unwrap_or_default(),
        scope: tollgate_shared::Scope::UNSCOPED,
    };
    serde_json::to_string(&CacheEntry::new(actor, 1_700_000_000, 600)).unwrap_or_default()
}
