//! `daemon_tokens`: long-lived tokens bound to one workspace and one daemon.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tollgate_shared::TokenHash;
use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// A daemon token as workspace admins see it: never the token, never its hash.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DaemonTokenView {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub daemon_id: String,
    /// The member the daemon acts for.
    pub owner_id: Uuid,
    /// Who minted the install token it was exchanged for.
    pub issued_by: Option<Uuid>,
    pub token_prefix: String,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const VIEW_COLUMNS: &str = "id, workspace_id, daemon_id, owner_id, issued_by, token_prefix, \
                            expires_at, revoked_at, created_at";

impl From<Row> for DaemonTokenView {
    fn from(row: Row) -> DaemonTokenView {
        DaemonTokenView {
            id: row.get("id"),
            workspace_id: row.get("workspace_id"),
            daemon_id: row.get("daemon_id"),
            owner_id: row.get("owner_id"),
            issued_by: row.get("issued_by"),
            token_prefix: row.get("token_prefix"),
            expires_at: row.get("expires_at"),
            revoked_at: row.get("revoked_at"),
            created_at: row.get("created_at"),
        }
    }
}

/// The SQL condition "the daemon `daemon` of workspace `ws` has a live token acting for
/// `user`", over the given expressions: the statements daemons call (claim, start,
/// complete, heartbeat, runtime registration) check it themselves, so a token revoked
/// after the edge cached it acts no more.
pub fn live_token_condition(ws: &str, daemon: &str, user: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM daemon_tokens d
                 WHERE d.workspace_id = {ws} AND d.daemon_id = {daemon} AND d.owner_id = {user}
                   AND d.revoked_at IS NULL AND d.expires_at > now())"
    )
}

pub struct NewDaemonToken<'a> {
    pub hash: &'a TokenHash,
    pub prefix: &'a str,
    pub workspace_id: Uuid,
    pub daemon_id: &'a str,
    /// The member it acts for.
    pub owner_id: Uuid,
    pub issued_by: Uuid,
}

/// Daemon tokens live ~100 years: a daemon is retired by revoking its token. A second
/// live token for the same daemon id is a unique violation
/// (`daemon_tokens_one_live_per_daemon`).
pub async fn insert(
    db: &impl GenericClient,
    t: &NewDaemonToken<'_>,
) -> StoreResult<DaemonTokenView> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO daemon_tokens
                 (token_hash, token_prefix, workspace_id, daemon_id, owner_id, issued_by, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, now() + interval '100 years')
             RETURNING {VIEW_COLUMNS}"
        ))
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[
                &t.hash.as_str(),
                &t.prefix,
                &t.workspace_id,
                &t.daemon_id,
                &t.owner_id,
                &t.issued_by,
            ],
        )
        .await?;
    Ok(row.into())
}

/// What the resolver needs of a usable daemon token.
#[derive(Debug, Clone)]
pub struct ActiveDaemonToken {
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub daemon_id: String,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// A live token whose member is still in the workspace (a removal revokes their tokens
/// anyway; this keeps the rule in the lookup too).
pub async fn find_active_by_hash(
    db: &impl GenericClient,
    hash: &TokenHash,
) -> StoreResult<Option<ActiveDaemonToken>> {
    let stmt = db
        .prepare_cached(
            "SELECT d.owner_id, d.workspace_id, d.daemon_id, d.expires_at, now() AS now
             FROM daemon_tokens d
             JOIN members m ON m.workspace_id = d.workspace_id AND m.user_id = d.owner_id
             JOIN users u ON u.id = d.owner_id AND u.suspended_at IS NULL
             WHERE d.token_hash = $1 AND d.revoked_at IS NULL AND d.expires_at > now()",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str()])
        .await?
        .map(|row| ActiveDaemonToken {
            user_id: row.get(0),
            workspace_id: row.get(1),
            daemon_id: row.get(2),
            expires_at: row.get(3),
            now: row.get(4),
        }))
}

/// The hashes of the live daemon tokens acting for `user_id`, in every workspace (for
/// purging them when the account is suspended).
pub async fn live_hashes_for(
    db: &impl GenericClient,
    user_id: Uuid,
) -> StoreResult<Vec<TokenHash>> {
    let stmt = db
        .prepare_cached(
            "SELECT token_hash FROM daemon_tokens
             WHERE owner_id = $1 AND revoked_at IS NULL AND expires_at > now()",
        )
        .await?;
    Ok(super::hashes(&db.query(&stmt, &[&user_id]).await?))
}

/// Does the daemon have a live token acting for `user`? Only to choose a message after
/// a statement that checked it itself refused.
pub async fn is_live(
    db: &impl GenericClient,
    workspace_id: Uuid,
    daemon_id: &str,
    user_id: Uuid,
) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {}",
            live_token_condition("$1", "$2", "$3")
        ))
        .await?;
    Ok(db
        .query_one(&stmt, &[&workspace_id, &daemon_id, &user_id])
        .await?
        .get(0))
}

/// Does the daemon have a live token acting for `user`? If so, its row is share-locked
/// until the transaction ends: a revocation of it waits, then sees what this
/// transaction did.
pub async fn lock_live(
    db: &impl GenericClient,
    workspace_id: Uuid,
    daemon_id: &str,
    user_id: Uuid,
) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "SELECT 1 FROM daemon_tokens
             WHERE workspace_id = $1 AND daemon_id = $2 AND owner_id = $3
               AND revoked_at IS NULL AND expires_at > now()
             FOR SHARE",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&workspace_id, &daemon_id, &user_id])
        .await?
        .is_some())
}

/// Serializes what decides who holds a daemon id (an enrollment, a person running a
/// daemon by hand under it) until the transaction ends.
pub async fn lock_daemon_id(
    db: &impl GenericClient,
    workspace_id: Uuid,
    daemon_id: &str,
) -> StoreResult<()> {
    let stmt = db
        .prepare_cached(
            "SELECT pg_advisory_xact_lock(hashtextextended('daemon:' || $1::text || ':' || $2::text, 0))",
        )
        .await?;
    db.execute(&stmt, &[&workspace_id.to_string(), &daemon_id])
        .await?;
    Ok(())
}

/// The live token of a daemon id, its row locked until the transaction ends: whom it
/// acts for, so an exchange can tell a re-enrollment from a takeover.
pub async fn live_for_daemon(
    db: &impl GenericClient,
    workspace_id: Uuid,
    daemon_id: &str,
) -> StoreResult<Option<(Uuid, Uuid)>> {
    let stmt = db
        .prepare_cached(
            "SELECT id, owner_id FROM daemon_tokens
             WHERE workspace_id = $1 AND daemon_id = $2 AND revoked_at IS NULL
             FOR UPDATE",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&workspace_id, &daemon_id])
        .await?
        .map(|row| (row.get(0), row.get(1))))
}

/// Does a member other than `user_id` hold this daemon id (a live token)?
pub async fn held_by_another(
    db: &impl GenericClient,
    workspace_id: Uuid,
    daemon_id: &str,
    user_id: Uuid,
) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM daemon_tokens
                            WHERE workspace_id = $1 AND daemon_id = $2 AND owner_id <> $3
                              AND revoked_at IS NULL)",
        )
        .await?;
    Ok(db
        .query_one(&stmt, &[&workspace_id, &daemon_id, &user_id])
        .await?
        .get(0))
}

pub async fn list_for_workspace(
    db: &impl GenericClient,
    workspace_id: Uuid,
) -> StoreResult<Vec<DaemonTokenView>> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {VIEW_COLUMNS} FROM daemon_tokens WHERE workspace_id = $1
             ORDER BY created_at DESC, id DESC"
        ))
        .await?;
    let rows = db.query(&stmt, &[&workspace_id]).await?;
    Ok(rows.into_iter().map(DaemonTokenView::from).collect())
}

/// A token this call revoked: what must end with it.
#[derive(Debug, Clone)]
pub struct Revoked {
    pub id: Uuid,
    pub hash: TokenHash,
    pub daemon_id: String,
    pub owner_id: Uuid,
}

const REVOKED_COLUMNS: &str = "id, token_hash, daemon_id, owner_id";

fn revoked(row: &Row) -> Option<Revoked> {
    Some(Revoked {
        id: row.get(0),
        hash: TokenHash::from_hex(row.get(1))?,
        daemon_id: row.get(2),
        owner_id: row.get(3),
    })
}

/// The member a token of the workspace acts for, whatever its state.
pub async fn owner(
    db: &impl GenericClient,
    id: Uuid,
    workspace_id: Uuid,
) -> StoreResult<Option<Uuid>> {
    let stmt = db
        .prepare_cached("SELECT owner_id FROM daemon_tokens WHERE id = $1 AND workspace_id = $2")
        .await?;
    Ok(db
        .query_opt(&stmt, &[&id, &workspace_id])
        .await?
        .map(|row| row.get(0)))
}

/// The live (unrevoked, unexpired) token whose hash is `hash`: `(id, workspace, the
/// member it acts for)`, for a leak report to revoke as an admin would.
pub async fn live_by_hash(
    db: &impl GenericClient,
    hash: &TokenHash,
) -> StoreResult<Option<(Uuid, Uuid, Uuid)>> {
    let stmt = db
        .prepare_cached(
            "SELECT id, workspace_id, owner_id FROM daemon_tokens
             WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str()])
        .await?
        .map(|row| (row.get(0), row.get(1), row.get(2))))
}

/// Revokes a token of the workspace; `Some` when this call revoked it.
pub async fn revoke(
    db: &impl GenericClient,
    id: Uuid,
    workspace_id: Uuid,
) -> StoreResult<Option<Revoked>> {
    let stmt = db
        .prepare_cached(&format!(
            "UPDATE daemon_tokens SET revoked_at = now()
             WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL
             RETURNING {REVOKED_COLUMNS}"
        ))
        .await?;
    Ok(db
        .query_opt(&stmt, &[&id, &workspace_id])
        .await?
        .as_ref()
        .and_then(revoked))
}

/// Revokes every live token acting for `user_id` in the workspace, whoever minted
/// its install token.
pub async fn revoke_for_member(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Vec<Revoked>> {
    let stmt = db
        .prepare_cached(&format!(
            "UPDATE daemon_tokens SET revoked_at = now()
             WHERE workspace_id = $1 AND owner_id = $2 AND revoked_at IS NULL
             RETURNING {REVOKED_COLUMNS}"
        ))
        .await?;
    Ok(db
        .query(&stmt, &[&workspace_id, &user_id])
        .await?
        .iter()
        .filter_map(revoked)
        .collect())
}
