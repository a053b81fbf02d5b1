//! Reading and writing KV entries (docs/ARCHITECTURE.md "Edge KV").

use tollgate_shared::cache::{is_cacheable, max_ttl_secs};
use tollgate_shared::{Actor, CacheEntry, TokenKind};

/// What a KV value means at `now`: the actor while fresh, otherwise a miss. A value we
/// cannot read is a miss too (the origin answers and the entry is overwritten).
pub fn hit(value: Option<&str>, now: i64) -> Option<Actor> {
    let entry: CacheEntry = serde_json::from_str(value?).ok()?;
    entry.is_fresh(now).then_some(entry.identity)
}

/// The KV write for a resolved actor: `(value, expiration_ttl)`, or `None` when it
/// must not be cached (a kind that is never cached, or no time left). The TTL is
/// clamped to the kind's ceiling whatever the origin answered.
pub fn entry_to_store(
    kind: TokenKind,
    actor: &Actor,
    ttl_secs: u64,
    now: i64,
) -> Option<(String, u64)> {
    let ttl_secs = ttl_secs.min(max_ttl_secs(kind));
    if !is_cacheable(kind) || ttl_secs == 0 {
        return None;
    }
    let entry = CacheEntry::new(actor.clone(), now, ttl_secs);
    let value = serde_json::to_string(&entry).ok()?;
    Some((value, CacheEntry::kv_expiration_ttl(ttl_secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Actor {
        Actor::Pat {
            user_id: "7d4f9c2e-0000-4000-8000-000000000001".parse().unwrap(),
            scope: tollgate_shared::Scope::UNSCOPED,
        }
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
    fn ttls_are_clamped_whatever_the_origin_says() {
        let (value, kv_ttl) = entry_to_store(TokenKind::Pat, &id(), 86_400, 1000).unwrap();
        assert_eq!(kv_ttl, 600);
        assert_eq!(hit(Some(&value), 1599), Some(id()));
        assert_eq!(hit(Some(&value), 1600), None);
        let (value, kv_ttl) = entry_to_store(TokenKind::Cloud, &id(), 600, 1000).unwrap();
        assert_eq!(kv_ttl, 60);
        assert_eq!(hit(Some(&value), 1060), None);
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
        let incomplete = concat!(
            r#"{"identity":{"actor_source":"pat","user_id":null,"user_email":null,"#,
            r#""workspace_id":null,"daemon_id":null,"agent_id":null,"task_id":null},"#,
            r#""valid_until":99}"#
        );
        assert_eq!(hit(Some(incomplete), 0), None);
    }

    #[test]
    fn a_daemon_entry_cached_before_daemons_carried_their_member_is_a_miss() {
        let old = concat!(
            r#"{"identity":{"actor_source":"daemon","user_id":null,"user_email":null,"#,
            r#""workspace_id":"7d4f9c2e-0000-4000-8000-000000000002","daemon_id":"laptop","#,
            r#""agent_id":null,"task_id":null},"valid_until":99}"#
        );
        assert_eq!(hit(Some(old), 0), None, "resolved again, with its member");
        let daemon = Actor::Daemon {
            user_id: "7d4f9c2e-0000-4000-8000-000000000001".parse().unwrap(),
            workspace_id: "7d4f9c2e-0000-4000-8000-000000000002".parse().unwrap(),
            daemon_id: "laptop".into(),
        };
        let (value, _) = entry_to_store(TokenKind::Daemon, &daemon, 600, 0).unwrap();
        assert_eq!(hit(Some(&value), 0), Some(daemon));
    }

    #[test]
    fn a_pat_entry_cached_before_scopes_is_a_miss() {
        let old = concat!(
            r#"{"identity":{"actor_source":"pat","user_id":"7d4f9c2e-0000-4000-8000-000000000001","#,
            r#""user_email":null,"workspace_id":null,"daemon_id":null,"agent_id":null,"#,
            r#""task_id":null},"valid_until":99}"#
        );
        assert_eq!(hit(Some(old), 0), None, "resolved again, with its scope");
        let bound = Actor::Pat {
            user_id: "7d4f9c2e-0000-4000-8000-000000000001".parse().unwrap(),
            scope: tollgate_shared::Scope {
                workspace: Some("7d4f9c2e-0000-4000-8000-000000000002".parse().unwrap()),
                access: tollgate_shared::Access::Read,
            },
        };
        let (value, _) = entry_to_store(TokenKind::Pat, &bound, 600, 0).unwrap();
        assert_eq!(hit(Some(&value), 0), Some(bound));
    }
}
