//! The in-isolate negative cache: token hashes the origin refused, answered 401 without
//! another resolve for a while. Anyone can make well-formed random tokens (CRC32 is not
//! a secret); this makes a repeated bad token cost nothing.
//!
//! Safe because a refusal is final: the origin refuses a token that is unknown,
//! revoked or expired, and none of those becomes valid later — tokens are minted from
//! 128 random bits (no one presents a token before its mint commits), revocation is
//! never undone, and renewal only extends tokens that have not expired. Only our own
//! cacheable kinds are remembered (`mul`, `mdt`); cloud PATs are Fleet's to decide.
//! Nothing negative goes to KV: writes there cost money and are rate-limited.

use tollgate_shared::expiring::ExpiringMap;
use tollgate_shared::TokenKind;

/// How long a refusal is remembered.
pub const TTL_SECS: i64 = 30;
/// At most this many refusals are remembered; the oldest go first.
pub const CAPACITY: usize = 10_000;

/// Bounded in entries and in time.
pub struct NegativeCache {
    refused: ExpiringMap<()>,
}

impl Default for NegativeCache {
    fn default() -> NegativeCache {
        NegativeCache {
            refused: ExpiringMap::new(CAPACITY),
        }
    }
}

/// Which kinds a refusal is remembered for.
pub fn applies_to(kind: TokenKind) -> bool {
    matches!(kind, TokenKind::Pat | TokenKind::Daemon)
}

impl NegativeCache {
    /// Was this cache key refused within the last [`TTL_SECS`]?
    pub fn refused(&self, key: &str, now: i64) -> bool {
        self.refused.get(key, now).is_some()
    }

    pub fn remember(&self, key: &str, now: i64) {
        self.refused.insert(key, (), now + TTL_SECS);
    }

    pub fn len(&self) -> usize {
        self.refused.len()
    }

    pub fn is_empty(&self) -> bool {
        self.refused.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_for_thirty_seconds() {
        let cache = NegativeCache::default();
        assert!(!cache.refused("k", 100));
        cache.remember("k", 100);
        assert!(cache.refused("k", 100));
        assert!(cache.refused("k", 129));
        assert!(!cache.refused("k", 130));
        assert!(!cache.refused("other", 100));
    }

    #[test]
    fn bounded_oldest_first() {
        let cache = NegativeCache::default();
        for i in 0..CAPACITY + 5 {
            cache.remember(&format!("k{i}"), 100);
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(!cache.refused("k0", 100));
        assert!(!cache.refused("k4", 100));
        assert!(cache.refused("k5", 100));
        assert!(cache.refused(&format!("k{}", CAPACITY + 4), 100));
        // Remembering a key again does not grow the cache.
        cache.remember("k5", 101);
        assert_eq!(cache.len(), CAPACITY);
    }

    #[test]
    fn kinds() {
        assert!(applies_to(TokenKind::Pat) && applies_to(TokenKind::Daemon));
        for kind in [TokenKind::Task, TokenKind::Install, TokenKind::Cloud] {
            assert!(!applies_to(kind));
        }
    }
}
