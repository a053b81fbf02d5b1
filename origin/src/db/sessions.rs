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

/// If session `id` of `user_id` is live (not revoked, not expired), how long it has
/// left — marking it seen at most once a minute in the same statement (so a busy
/// session does not rewrite its row on every request).
pub async fn seen_if_live(
    db: &impl GenericClient,
    id: Uuid,
    user_id: Uuid,
) -> StoreResult<Option<std::time::Duration>> {
    let stmt = db
        .prepare_cached(
            "WITH live AS (
                 SELECT id, expires_at FROM sessions
                 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()
                   AND EXISTS (SELECT 1 FROM users u WHERE u.id = $2 AND u.suspended_at IS NULL)
             ), seen AS (
                 UPDATE sessions SET last_seen_at = now()
                 WHERE id IN (SELECT id FROM live)
                   AND (last_seen_at IS NULL OR last_seen_at < now() - interval '1 minute')
             )
             SELECT ceil(extract(epoch FROM expires_at - now()) * 1000)::bigint FROM live",
        )
        .await?;
    let left = db.query_opt(&stmt, &[&id, &user_id]).await?;
    Ok(left.map(|row| std::time::Duration::from_millis(row.get::<_, i64>(0).max(0) as u64)))
}

/// Whether session `id` of `user_id` is live, its row held `FOR UPDATE` until the
/// transaction ends (a concurrent revocation of it waits, or came first).
pub async fn hold_live(db: &impl GenericClient, id: Uuid, user_id: Uuid) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "SELECT 1 FROM sessions
             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()
             FOR UPDATE",
        )
        .await?;
    Ok(db.query_opt(&stmt, &[&id, &user_id]).await?.is_some())
}

/// A session as its person sees it: never the JWT.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session this request came with.
    pub current: bool,
}

/// `user_id`'s live sessions (not revoked, not expired), newest first; `current` marks
/// `current`.
pub async fn list_live(
    db: &impl GenericClient,
    user_id: Uuid,
    current: Option<Uuid>,
) -> StoreResult<Vec<SessionView>> {
    let stmt = db
        .prepare_cached(
            "SELECT id, created_at, last_seen_at, expires_at, user_agent, ip
             FROM sessions
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
             ORDER BY created_at DESC, id DESC",
        )
        .await?;
    let rows = db.query(&stmt, &[&user_id]).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let id: Uuid = row.get(0);
            SessionView {
                id,
                created_at: row.get(1),
                last_seen_at: row.get(2),
                expires_at: row.get(3),
                user_agent: row.get(4),
                ip: row.get(5),
                current: Some(id) == current,
            }
        })
        .collect())
}

/// Revokes `user_id`'s live sessions: `only` that one, or all but `keep`. Returns the
/// ids this call revoked.
pub async fn revoke(
    db: &impl GenericClient,
    user_id: Uuid,
    which: Which,
) -> StoreResult<Vec<Uuid>> {
    let (only, keep) = match which {
        Which::Only(id) => (Some(id), None),
        Which::AllBut(keep) => (None, keep),
    };
    let stmt = db
        .prepare_cached(
            "UPDATE sessions SET revoked_at = now()
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
               AND ($2::uuid IS NULL OR id = $2)
               AND ($3::uuid IS NULL OR id <> $3)
             RETURNING id",
        )
        .await?;
    let rows = db.query(&stmt, &[&user_id, &only, &keep]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Which sessions a revocation ends.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    Only(Uuid),
    /// Every one but this (`None`: every one).
    AllBut(Option<Uuid>),
}
