//! `device_grants`: RFC 8628 grants, keyed by digests of their two codes. Each change
//! of state is one conditional statement: a person decides a pending grant once, and an
//! approved grant is consumed once (by the poll that mints its PAT, in its transaction).

use chrono::{DateTime, Utc};
use tollgate_shared::device::{EXPIRES_IN_SECS, SLOW_DOWN_SECS};
use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// Rows swept per new grant: those expired over a day ago (bounded work per call).
const SWEEP_PER_GRANT: i64 = 20;

pub struct NewGrant<'a> {
    pub device_digest: &'a [u8],
    pub user_digest: &'a [u8],
    pub client_name: &'a str,
    pub client_address: Option<&'a str>,
    pub workspace_id: Option<Uuid>,
    pub interval_secs: i32,
}

/// Stores a pending grant valid for [`EXPIRES_IN_SECS`]; sweeps a few long expired.
/// `false` when a code's digest is taken (the caller draws new codes).
pub async fn insert(db: &impl GenericClient, grant: &NewGrant<'_>) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "WITH swept AS (
                 DELETE FROM device_grants WHERE id IN (
                     SELECT id FROM device_grants
                     WHERE expires_at < now() - interval '1 day' LIMIT $7)
             )
             INSERT INTO device_grants
                 (device_digest, user_digest, client_name, workspace_id, interval_secs,
                  expires_at, client_address)
             VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::bigint), $8)
             ON CONFLICT DO NOTHING",
        )
        .await?;
    let inserted = db
        .execute(
            &stmt,
            &[
                &grant.device_digest,
                &grant.user_digest,
                &grant.client_name,
                &grant.workspace_id,
                &grant.interval_secs,
                &EXPIRES_IN_SECS,
                &SWEEP_PER_GRANT,
                &grant.client_address,
            ],
        )
        .await?;
    Ok(inserted == 1)
}

/// A pending grant as the person deciding it sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Pending {
    /// What the client calls itself: its own claim.
    pub client_name: String,
    /// Where it asked from, as the origin saw it (the edge signs the client's address).
    pub client_address: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The workspace the token will be bound to, if the client asked for one.
    pub workspace_id: Option<Uuid>,
    pub workspace_name: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// The live pending grant whose user code has `user_digest`.
///
/// As `viewer` sees it: the workspace's name only if they are a member of it (a client
/// may name any id it likes).
pub async fn pending(
    db: &impl GenericClient,
    user_digest: &[u8],
    viewer: Uuid,
) -> StoreResult<Option<Pending>> {
    let stmt = db
        .prepare_cached(
            "SELECT g.client_name, g.workspace_id, mine.name, g.expires_at,
                    g.client_address, g.created_at
             FROM device_grants g
             LEFT JOIN (SELECT w.id, w.name FROM workspaces w
                        JOIN members m ON m.workspace_id = w.id AND m.user_id = $2) mine
                    ON mine.id = g.workspace_id
             WHERE g.user_digest = $1 AND g.status = 'pending' AND g.expires_at > now()",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&user_digest, &viewer])
        .await?
        .map(|r| Pending {
            client_name: r.get(0),
            workspace_id: r.get(1),
            workspace_name: r.get(2),
            expires_at: r.get(3),
            client_address: r.get(4),
            created_at: r.get(5),
        }))
}

/// Decides the live pending grant whose user code has `user_digest` — `approved` or
/// `denied` by `by` in their session `session` — in one conditional statement: its
/// workspace, or `None` when there is no such grant (unknown, expired, or decided).
pub async fn decide(
    db: &impl GenericClient,
    user_digest: &[u8],
    (by, session): (Uuid, Uuid),
    approve: bool,
) -> StoreResult<Option<Option<Uuid>>> {
    let stmt = db
        .prepare_cached(
            "UPDATE device_grants
             SET status = CASE WHEN $4 THEN 'approved' ELSE 'denied' END,
                 decided_by = $2, decided_session = $3, decided_at = now()
             WHERE user_digest = $1 AND status = 'pending' AND expires_at > now()
             RETURNING workspace_id",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&user_digest, &by, &session, &approve])
        .await?
        .map(|r| r.get(0)))
}

/// An approved grant, consumed.
#[derive(Debug)]
pub struct Approved {
    pub id: Uuid,
    pub user_id: Uuid,
    pub client_name: String,
    pub workspace_id: Option<Uuid>,
}

/// Consumes the live approved grant whose device code has `device_digest`, while the
/// session that approved it is live and its person unsuspended (those rows held until
/// the commit, so a sign-out or a suspension either came first or waits): of concurrent
/// polls exactly one gets it (the others wait for its commit, then find it consumed).
pub async fn consume(
    db: &impl GenericClient,
    device_digest: &[u8],
) -> StoreResult<Option<Approved>> {
    let stmt = db
        .prepare_cached(
            "WITH approver AS (
                 SELECT g.id FROM device_grants g
                 JOIN sessions s ON s.id = g.decided_session
                                AND s.revoked_at IS NULL AND s.expires_at > now()
                 JOIN users u ON u.id = g.decided_by AND u.suspended_at IS NULL
                 WHERE g.device_digest = $1
                 FOR SHARE OF s, u
             )
             UPDATE device_grants g SET status = 'consumed'
             FROM approver
             WHERE g.id = approver.id AND g.status = 'approved' AND g.expires_at > now()
             RETURNING g.id, g.decided_by, g.client_name, g.workspace_id",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&device_digest])
        .await?
        .map(|r| Approved {
            id: r.get(0),
            user_id: r.get(1),
            client_name: r.get(2),
            workspace_id: r.get(3),
        }))
}

/// A consumed grant whose token could not be minted (its approver has left the
/// workspace it binds since): denied, so that its client hears `access_denied`.
pub async fn deny_consumed(db: &impl GenericClient, grant: Uuid) -> StoreResult<()> {
    let stmt = db
        .prepare_cached(
            "UPDATE device_grants SET status = 'denied' WHERE id = $1 AND status = 'consumed'",
        )
        .await?;
    db.execute(&stmt, &[&grant]).await?;
    Ok(())
}

pub async fn set_token(db: &impl GenericClient, grant: Uuid, pat: Uuid) -> StoreResult<()> {
    let stmt = db
        .prepare_cached("UPDATE device_grants SET pat_id = $2 WHERE id = $1")
        .await?;
    db.execute(&stmt, &[&grant, &pat]).await?;
    Ok(())
}

/// What a poll that got no token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    /// `pending`, `approved`, `denied` or `consumed`.
    pub status: String,
    pub expired: bool,
    /// Polled again before its interval had passed: the interval grew by
    /// [`SLOW_DOWN_SECS`] (RFC 8628 §3.5).
    pub too_soon: bool,
}

/// Records a poll of the grant whose device code has `device_digest`, in one
/// statement: when, and a longer interval if it came too soon; `None` for no grant.
pub async fn poll(db: &impl GenericClient, device_digest: &[u8]) -> StoreResult<Option<Polled>> {
    let stmt = db
        .prepare_cached(
            "WITH before AS (
                 SELECT id, interval_secs,
                        last_polled_at > now() - make_interval(secs => interval_secs::double precision) AS too_soon
                 FROM device_grants WHERE device_digest = $1 FOR UPDATE
             )
             UPDATE device_grants g
             SET last_polled_at = now(),
                 interval_secs = CASE WHEN before.too_soon AND g.status = 'pending'
                                      THEN before.interval_secs + $2 ELSE before.interval_secs END
             FROM before WHERE g.id = before.id
             RETURNING g.status, g.expires_at <= now(), coalesce(before.too_soon, false)",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&device_digest, &SLOW_DOWN_SECS])
        .await?
        .map(|r| Polled {
            status: r.get(0),
            expired: r.get(1),
            too_soon: r.get(2),
        }))
}
