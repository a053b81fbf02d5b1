//! Reading and writing KV entries (DESIGN.md "Caches and invalidation").

use tollgate_shared::cache::is_cacheable;
use tollgate_shared::{CacheEntry, Identity, TokenKind};

/// What a KV value means at `now`: the identity while fresh, otherwise a miss. A value
/// we cannot read is a miss too (the origin answers and the entry is overwritten).
pub fn hit(value: Option<&str>, now: i64) -> Option<Identity> {
    let entry: CacheEntry = serde_json::from_str(value?).ok()?;
    entry.is_fresh(now).then_some(entry.identity)
}

/// The KV write for a resolved identity: `(value, expiration_ttl)`, or `None` when it
/// must not be cached (a kind that is never cached, or no time left).
pub fn entry_to_store(
    kind: TokenKind,
    identity: &Identity,
    ttl_secs: u64,
    now: i64,
) -> Option<(String, u64)> {
    if !is_cacheable(kind) || ttl_secs == 0 {
        return None;
    }
    let entry = CacheEntry::new(identity.clone(), now, ttl_secs);
    let value = serde_json::to_string(&entry).ok()?;
    Some((value, CacheEntry::kv_expiration_ttl(ttl_secs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_shared::ActorSource;

    fn id() -> Identity {
        Identity::new(ActorSource::Pat).with_user("u1", None)
    }

    #[test]
    fn store_then_hit_until_valid_until() {
        let (value, kv_ttl) = entry_to_store(TokenKind::Pat, &id(), 30, 1000).unwrap();
        assert_eq!(kv_ttl, 60, "KV's minimum");
        assert_eq!(hit(Some(&value), 1000), Some(id()));
        assert_eq!(hit(Some(&value), 1029), Some(id()));
        assert_eq!(hit(Some(&value), 1030), None, "past valid_until is a miss");
        let (_, kv_ttl) = entry_to_store(TokenKind::Pat, &id(), 600, 1000).unwrap();
        assert_eq!(kv_ttl, 600);
    }

    #[test]
    fn never_cached() {
        assert!(entry_to_store(TokenKind::Task, &id(), 600, 0).is_none());
        assert!(entry_to_store(TokenKind::Install, &id(), 600, 0).is_none());
        assert!(entry_to_store(TokenKind::Pat, &id(), 0, 0).is_none());
    }

    #[test]
    fn unreadable_values_are_misses() {
        assert_eq!(hit(None, 0), None);
        assert_eq!(hit(Some("not json"), 0), None);
        assert_eq!(hit(Some(r#"{"identity":{}}"#), 0), None);
    }
}
