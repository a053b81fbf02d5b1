//! `runtimes`: what a daemon runs, one row per (workspace, daemon, name).

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{GenericClient, StoreResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Runtime {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub daemon_id: String,
    pub owner_id: Uuid,
    pub name: String,
    pub status: String,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, workspace_id, daemon_id, owner_id, name, status, last_seen_at, created_at";

impl From<Row> for Runtime {
    fn from(row: Row) -> Runtime {
        Runtime {
            id: row.get("id"),
            workspace_id: row.get("workspace_id"),
            daemon_id: row.get("daemon_id"),
            owner_id: row.get("owner_id"),
            name: row.get("name"),
            status: row.get("status"),
            last_seen_at: row.get("last_seen_at"),
            created_at: row.get("created_at"),
        }
    }
}

/// Registers (or re-registers) a runtime: online, seen now, owned by `owner_id`.
pub async fn upsert(
    db: &impl GenericClient,
    workspace_id: Uuid,
    daemon_id: &str,
    owner_id: Uuid,
    name: &str,
) -> StoreResult<Runtime> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO runtimes (workspace_id, daemon_id, owner_id, name, status, last_seen_at)
             VALUES ($1, $2, $3, $4, 'online', now())
             ON CONFLICT (workspace_id, daemon_id, name) DO UPDATE
                 SET owner_id = EXCLUDED.owner_id, status = 'online', last_seen_at = now()
             RETURNING {COLUMNS}"
        ))
        .await?;
    let row = db
        .query_one(&stmt, &[&workspace_id, &daemon_id, &owner_id, &name])
        .await?;
    Ok(row.into())
}

/// Marks the daemon's runtimes `ids` online, seen now. Returns how many it updated: fewer
/// than `ids` when some belong to another workspace or daemon (the caller then rolls
/// back).
pub async fn heartbeat(
    db: &impl GenericClient,
    ids: &[Uuid],
    workspace_id: Uuid,
    daemon_id: &str,
) -> StoreResult<u64> {
    let stmt = db
        .prepare_cached(
            "UPDATE runtimes SET status = 'online', last_seen_at = now()
             WHERE id = ANY($1) AND workspace_id = $2 AND daemon_id = $3",
        )
        .await?;
    Ok(db
        .execute(&stmt, &[&ids, &workspace_id, &daemon_id])
        .await?)
}
