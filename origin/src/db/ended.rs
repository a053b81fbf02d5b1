//! Announcements of ended credentials, for the event streams (`crate::streams`): each
//! origin's listener closes the sockets that were opened with one.

use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// The channel credentials are announced on when they end, by the key a stream
/// remembers its credential by: the edge's cache key of a token
/// (`tollgate:auth:{kind}:{hash}`), the revocation key of a session, or [`user_key`]
/// for everything acting for a person.
pub const CHANNEL: &str = "tollgate_ended";

/// What starts a person's key ([`user_key`]); no credential's key does.
pub const USER_PREFIX: &str = "user:";

/// The key that ends every credential acting for user `id` (a suspension).
pub fn user_key(id: Uuid) -> String {
    format!("{USER_PREFIX}{id}")
}

/// Announces `keys` in the caller's transaction: heard if and only if it commits.
pub async fn announce(db: &impl GenericClient, keys: &[String]) -> StoreResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let stmt = db
        .prepare_cached("SELECT pg_notify($2, k) FROM unnest($1::text[]) AS k")
        .await?;
    db.execute(&stmt, &[&keys, &CHANNEL]).await?;
    Ok(())
}
