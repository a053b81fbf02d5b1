//! The edge's KV cache: keys, entries and TTL rules. Times are unix seconds.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::token::{TokenHash, TokenKind, HASH_HEX_LEN};

/// No identity is cached longer than this, so a missed purge heals itself.
pub const MAX_TTL_SECS: u64 = 600;
/// Cloud PATs are Fleet's to revoke, and Fleet cannot purge our cache: positives are
/// kept this long at most.
pub const CLOUD_TTL_SECS: u64 = 60;
/// Workers KV refuses an `expiration_ttl` below 60 s.
pub const KV_MIN_TTL_SECS: u64 = 60;

const KEY_PREFIX: &[u8] = b"tollgate:auth:";
/// `tollgate:auth:` + 3-letter kind + `:` + 64 hex.
const KEY_LEN: usize = KEY_PREFIX.len() + 3 + 1 + HASH_HEX_LEN;

/// `tollgate:auth:{kind}:{sha256hex}` — the kind is part of the key so that two kinds
/// can never answer for each other. Built in one stack buffer: the hit path allocates
/// nothing to name what it looks up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CacheKey([u8; KEY_LEN]);

impl CacheKey {
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Display for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Also a secret's name (it holds the token's hash): not shown in `Debug`.
impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(…)")
    }
}

pub fn cache_key(kind: TokenKind, hash: &TokenHash) -> CacheKey {
    let mut key = [0u8; KEY_LEN];
    let (prefix, rest) = key.split_at_mut(KEY_PREFIX.len());
    prefix.copy_from_slice(KEY_PREFIX);
    let (kind_part, rest) = rest.split_at_mut(3);
    kind_part.copy_from_slice(kind.as_str().as_bytes());
    rest[0] = b':';
    rest[1..].copy_from_slice(hash.as_str().as_bytes());
    CacheKey(key)
}

/// How long an identity for a token expiring at `expires_at` may be cached at `now`:
/// no expiry → 10 min; already expired → `None` (do not cache); else the smaller of
/// 10 min and the whole seconds left.
pub fn ttl_for_expiry(expires_at: Option<i64>, now: i64) -> Option<u64> {
    match expires_at {
        None => Some(MAX_TTL_SECS),
        Some(at) => {
            let left = at.saturating_sub(now);
            (left > 0).then(|| MAX_TTL_SECS.min(left.unsigned_abs()))
        }
    }
}

/// The longest the edge may cache an identity of `kind`, whatever the origin says: an
/// answer from a compromised or misconfigured origin cannot pin an identity for longer.
pub fn max_ttl_secs(kind: TokenKind) -> u64 {
    match kind {
        TokenKind::Cloud => CLOUD_TTL_SECS,
        _ => MAX_TTL_SECS,
    }
}

/// Which kinds the edge may cache. Task tokens must fail closed the moment a task ends,
/// and install tokens are single use: neither is ever cached.
pub fn is_cacheable(kind: TokenKind) -> bool {
    matches!(kind, TokenKind::Pat | TokenKind::Daemon | TokenKind::Cloud)
}

/// The JSON value stored under a cache key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    pub identity: Actor,
    /// Unix seconds after which the entry is a miss, whatever KV still returns (KV's
    /// own expiry cannot go below 60 s).
    pub valid_until: i64,
}

impl CacheEntry {
    pub fn new(identity: Actor, now: i64, ttl_secs: u64) -> CacheEntry {
        let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
        CacheEntry {
            identity,
            valid_until: now.saturating_add(ttl),
        }
    }

    /// `expiration_ttl` for the KV `put`: KV demands at least 60 s; `valid_until`
    /// enforces the real bound.
    pub fn kv_expiration_ttl(ttl_secs: u64) -> u64 {
        ttl_secs.max(KV_MIN_TTL_SECS)
    }

    pub fn is_fresh(&self, now: i64) -> bool {
        now < self.valid_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_includes_kind_and_hash() {
        let hash = TokenHash::of("x");
        assert_eq!(
            cache_key(TokenKind::Pat, &hash).as_str(),
            format!("tollgate:auth:mul:{}", hash.as_str())
        );
        assert_ne!(
            cache_key(TokenKind::Pat, &hash),
            cache_key(TokenKind::Daemon, &hash)
        );
    }

    #[test]
    fn ttl_rules() {
        let now = 1_700_000_000;
        assert_eq!(ttl_for_expiry(None, now), Some(600));
        assert_eq!(ttl_for_expiry(Some(now + 10_000), now), Some(600));
        assert_eq!(ttl_for_expiry(Some(now + 600), now), Some(600));
        assert_eq!(ttl_for_expiry(Some(now + 30), now), Some(30));
        assert_eq!(ttl_for_expiry(Some(now + 1), now), Some(1));
        assert_eq!(ttl_for_expiry(Some(now), now), None);
        assert_eq!(ttl_for_expiry(Some(now - 5), now), None);
        assert_eq!(ttl_for_expiry(Some(i64::MIN), i64::MAX), None);
    }

    #[test]
    fn ttl_ceilings() {
        assert_eq!(max_ttl_secs(TokenKind::Pat), 600);
        assert_eq!(max_ttl_secs(TokenKind::Daemon), 600);
        assert_eq!(max_ttl_secs(TokenKind::Cloud), 60);
    }

    #[test]
    fn cacheable_kinds() {
        assert!(is_cacheable(TokenKind::Pat));
        assert!(is_cacheable(TokenKind::Daemon));
        assert!(is_cacheable(TokenKind::Cloud));
        assert!(!is_cacheable(TokenKind::Task));
        assert!(!is_cacheable(TokenKind::Install));
    }

    #[test]
    fn entries_expire_by_valid_until_not_kv() {
        let id = Actor::Pat {
            user_id: uuid::Uuid::from_bytes([1; 16]),
            scope: crate::Scope::UNSCOPED,
        };
        let entry = CacheEntry::new(id, 1000, 30);
        assert_eq!(CacheEntry::kv_expiration_ttl(30), 60);
        assert_eq!(CacheEntry::kv_expiration_ttl(600), 600);
        assert!(entry.is_fresh(1029));
        assert!(!entry.is_fresh(1030));
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["valid_until"], 1030);
        assert_eq!(json["identity"]["actor_source"], "pat");
        let back: CacheEntry = serde_json::from_value(json).unwrap();
        assert_eq!(back, entry);
    }
}
