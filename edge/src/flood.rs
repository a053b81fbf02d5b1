//! Floods of well-formed random tokens (CRC32 is no secret, so anyone can make them).
//! Only the origin's "invalid token" counts against a client (the Rate Limiting
//! binding counts it); once the binding says a client is over its budget, this isolate
//! refuses that client's misses with 429 for the binding's period *before* asking the
//! origin, so a flood costs the origin (and Fleet, for `mcn_`) about the budget, not one
//! lookup per token. The client's cached tokens keep working (a hit asks nobody).
//!
//! Clients are counted by address (`tollgate_shared::client::client_key`).

pub use tollgate_shared::client::client_key;
use tollgate_shared::expiring::ExpiringMap;

/// The binding's period (`wrangler.toml`: `simple = { limit = 50, period = 10 }`), and
/// the `Retry-After` of its 429.
pub const BLOCK_SECS: i64 = 10;
/// Clients remembered at most; the oldest go first.
pub const CAPACITY: usize = 10_000;

/// The clients this isolate knows to be over their budget, until when.
pub struct Blocked {
    clients: ExpiringMap<()>,
}

impl Default for Blocked {
    fn default() -> Blocked {
        Blocked {
            clients: ExpiringMap::new(CAPACITY),
        }
    }
}

impl Blocked {
    pub fn is_blocked(&self, client_key: &str, now: i64) -> bool {
        self.clients.get(client_key, now).is_some()
    }

    /// The binding refused `client_key` at `now`: its window ends within the period.
    pub fn block(&self, client_key: &str, now: i64) {
        self.clients.insert(client_key, (), now + BLOCK_SECS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_lasts_the_binding_period() {
        let blocked = Blocked::default();
        assert!(!blocked.is_blocked("c", 100));
        blocked.block("c", 100);
        assert!(blocked.is_blocked("c", 100));
        assert!(blocked.is_blocked("c", 100 + BLOCK_SECS - 1));
        assert!(!blocked.is_blocked("c", 100 + BLOCK_SECS));
        assert!(!blocked.is_blocked("d", 100));
    }
}
