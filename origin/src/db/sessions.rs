//! `sessions`: the record each session JWT stands for.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// A new session's row.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub user_id: Uuid,
    /// How long it lives, in seconds (the caller caps it).
    pub ttl_secs: i64,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
}

/// A session as created: its id (the JWT's `sid`) and when it ends, by the database's
/// clock.
#[derive(Debug, Clone, Copy)]
pub struct Created {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(db: &impl GenericClient, new: &NewSession<'_>) -> StoreResult<Created> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO sessions (user_id, expires_at, user_agent, ip)
             VALUES ($1, now() + make_interval(secs => $2::bigint), $3, $4)
             RETURNING id, created_at, expires_at",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[&new.user_id, &new.ttl_secs, &new.user_agent, &new.ip],
        )
        .await?;
    Ok(Created {
        id: row.get(0),
        created_at: row.get(1),
        expires_at: row.get(2),
    })
}

/// Whether session `id` of `user_id` is live (not revoked, not expired), marking it
/// seen at most once a minute in the same statement (so a busy session does not rewrite
/// its row on every request).
pub async fn seen_if_live(db: &impl GenericClient, id: Uuid, user_id: Uuid) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "WITH live AS (
                 SELECT id FROM sessions
                 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()
             ), seen AS (
                 UPDATE sessions SET last_seen_at = now()
                 WHERE id IN (SELECT id FROM live)
                   AND (last_seen_at IS NULL OR last_seen_at < now() - interval '1 minute')
             )
             SELECT count(*) FROM live",
        )
        .await?;
    let live: i64 = db.query_one(&stmt, &[&id, &user_id]).await?.get(0);
    Ok(live == 1)
}
