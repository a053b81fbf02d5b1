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
    pub owner_id: Uuid,
    pub token_prefix: String,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const VIEW_COLUMNS: &str =
    "id, workspace_id, daemon_id, owner_id, token_prefix, expires_at, revoked_at, created_at";

impl From<Row> for DaemonTokenView {
    fn from(row: Row) -> DaemonTokenView {
        DaemonTokenView {
            id: row.get("id"),
            workspace_id: row.get("workspace_id"),
            daemon_id: row.get("daemon_id"),
            owner_id: row.get("owner_id"),
            token_prefix: row.get("token_prefix"),
            expires_at: row.get("expires_at"),
            revoked_at: row.get("revoked_at"),
            created_at: row.get("created_at"),
        }
    }
}

pub struct NewDaemonToken<'a> {
    pub hash: &'a TokenHash,
    pub prefix: &'a str,
    pub workspace_id: Uuid,
    pub daemon_id: &'a str,
    pub owner_id: Uuid,
}

/// Daemon tokens live ~100 years: a daemon is retired by revoking its token.
pub async fn insert(
    db: &impl GenericClient,
    t: &NewDaemonToken<'_>,
) -> StoreResult<DaemonTokenView> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO daemon_tokens
                 (token_hash, token_prefix, workspace_id, daemon_id, owner_id, expires_at)
             VALUES ($1, $2, $3, $4, $5, now() + interval '100 years')
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
            ],
        )
        .await?;
    Ok(row.into())
}

/// What the resolver needs of a usable daemon token.
#[derive(Debug, Clone)]
pub struct ActiveDaemonToken {
    pub workspace_id: Uuid,
    pub daemon_id: String,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub async fn find_active_by_hash(
    db: &impl GenericClient,
    hash: &TokenHash,
) -> StoreResult<Option<ActiveDaemonToken>> {
    let stmt = db
        .prepare_cached(
            "SELECT workspace_id, daemon_id, expires_at, now() AS now FROM daemon_tokens
             WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str()])
        .await?
        .map(|row| ActiveDaemonToken {
            workspace_id: row.get(0),
            daemon_id: row.get(1),
            expires_at: row.get(2),
            now: row.get(3),
        }))
}

/// The owner of the daemon's newest usable token: whom its runtimes belong to.
pub async fn owner_of(
    db: &impl GenericClient,
    workspace_id: Uuid,
    daemon_id: &str,
) -> StoreResult<Option<Uuid>> {
    let stmt = db
        .prepare_cached(
            "SELECT owner_id FROM daemon_tokens
             WHERE workspace_id = $1 AND daemon_id = $2 AND revoked_at IS NULL
               AND expires_at > now()
             ORDER BY created_at DESC LIMIT 1",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&workspace_id, &daemon_id])
        .await?
        .map(|row| row.get(0)))
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

/// Revokes a token of the workspace. Returns its hash when this call revoked it.
pub async fn revoke(
    db: &impl GenericClient,
    id: Uuid,
    workspace_id: Uuid,
) -> StoreResult<Option<TokenHash>> {
    let stmt = db
        .prepare_cached(
            "UPDATE daemon_tokens SET revoked_at = now()
             WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL
             RETURNING token_hash",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&id, &workspace_id])
        .await?
        .and_then(|row| TokenHash::from_hex(row.get(0))))
}
