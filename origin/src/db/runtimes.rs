//! `runtimes`: what a daemon runs, one row per (workspace, daemon id, member, name),
//! owned by the member the daemon acts for — for good: the owner is part of the key, and
//! nothing here changes it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use uuid::Uuid;

use super::daemon_tokens::{live_token_condition, Revoked};
use super::{GenericClient, StoreResult};
use crate::model::Visibility;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Runtime {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub daemon_id: String,
    pub owner_id: Uuid,
    pub name: String,
    pub status: String,
    pub visibility: Visibility,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A runtime in the workspace's list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuntimeView {
    pub id: Uuid,
    pub name: String,
    pub owner_id: Uuid,
    pub daemon_id: String,
    pub status: String,
    pub visibility: Visibility,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
}

impl From<Runtime> for RuntimeView {
    fn from(r: Runtime) -> RuntimeView {
        RuntimeView {
            id: r.id,
            name: r.name,
            owner_id: r.owner_id,
            daemon_id: r.daemon_id,
            status: r.status,
            visibility: r.visibility,
            last_heartbeat_at: r.last_seen_at,
        }
    }
}

const COLUMNS: &str =
    "id, workspace_id, daemon_id, owner_id, name, status, visibility, last_seen_at, created_at";

impl From<Row> for Runtime {
    fn from(row: Row) -> Runtime {
        Runtime {
            id: row.get("id"),
            workspace_id: row.get("workspace_id"),
            daemon_id: row.get("daemon_id"),
            owner_id: row.get("owner_id"),
            name: row.get("name"),
            status: row.get("status"),
            visibility: row.get("visibility"),
            last_seen_at: row.get("last_seen_at"),
            created_at: row.get("created_at"),
        }
    }
}

/// Who a daemon call acts as: the workspace, the daemon id and the member; `by_token`
/// when a daemon token authenticated it (then each statement checks that the token is
/// still live), not a person with a PAT.
#[derive(Debug, Clone)]
pub struct Acting {
    pub workspace_id: Uuid,
    pub daemon_id: String,
    pub user_id: Uuid,
    pub by_token: bool,
}

impl Acting {
    /// What a daemon token's actor acts as; `None` for any other kind of actor.
    pub fn of_daemon(actor: &tollgate_shared::Actor) -> Option<Acting> {
        match actor {
            tollgate_shared::Actor::Daemon {
                user_id,
                workspace_id,
                daemon_id,
            } => Some(Acting {
                workspace_id: *workspace_id,
                daemon_id: daemon_id.clone(),
                user_id: *user_id,
                by_token: true,
            }),
            _ => None,
        }
    }

    /// `live_token_condition` over `$1`, `$2`, `$3`, or true for a person.
    fn condition() -> String {
        format!(
            "(NOT $4::bool OR {})",
            live_token_condition("$1", "$2", "$3")
        )
    }
}

/// Registers (or re-registers) the member's runtime: online, seen now. `None` when the
/// token is no longer live.
pub async fn upsert(
    db: &impl GenericClient,
    acting: &Acting,
    name: &str,
) -> StoreResult<Option<Runtime>> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO runtimes (workspace_id, daemon_id, owner_id, name, status, last_seen_at)
             SELECT $1, $2, $3, $5, 'online', now() WHERE {}
             ON CONFLICT (workspace_id, daemon_id, owner_id, name) DO UPDATE
                 SET status = 'online', last_seen_at = now()
             RETURNING {COLUMNS}",
            Acting::condition()
        ))
        .await?;
    Ok(db
        .query_opt(
            &stmt,
            &[
                &acting.workspace_id,
                &acting.daemon_id,
                &acting.user_id,
                &acting.by_token,
                &name,
            ],
        )
        .await?
        .map(Runtime::from))
}

/// Marks the daemon's runtimes `ids` online, seen now. Returns how many it updated:
/// fewer than `ids` when some are not this daemon's and member's, none when the token
/// is no longer live (the caller then rolls back).
pub async fn heartbeat(db: &impl GenericClient, acting: &Acting, ids: &[Uuid]) -> StoreResult<u64> {
    let stmt = db
        .prepare_cached(&format!(
            "UPDATE runtimes SET status = 'online', last_seen_at = now()
             WHERE id = ANY($5) AND workspace_id = $1 AND daemon_id = $2 AND owner_id = $3
               AND {}",
            Acting::condition()
        ))
        .await?;
    Ok(db
        .execute(
            &stmt,
            &[
                &acting.workspace_id,
                &acting.daemon_id,
                &acting.user_id,
                &acting.by_token,
                &ids,
            ],
        )
        .await?)
}

/// Does a member other than `user_id` own a runtime of this daemon id?
pub async fn held_by_another(
    db: &impl GenericClient,
    workspace_id: Uuid,
    daemon_id: &str,
    user_id: Uuid,
) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM runtimes
                            WHERE workspace_id = $1 AND daemon_id = $2 AND owner_id <> $3)",
        )
        .await?;
    Ok(db
        .query_one(&stmt, &[&workspace_id, &daemon_id, &user_id])
        .await?
        .get(0))
}

pub async fn find(
    db: &impl GenericClient,
    workspace_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<Runtime>> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM runtimes WHERE id = $1 AND workspace_id = $2"
        ))
        .await?;
    Ok(db
        .query_opt(&stmt, &[&id, &workspace_id])
        .await?
        .map(Runtime::from))
}

pub async fn list(db: &impl GenericClient, workspace_id: Uuid) -> StoreResult<Vec<Runtime>> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM runtimes WHERE workspace_id = $1 ORDER BY created_at, id"
        ))
        .await?;
    let rows = db.query(&stmt, &[&workspace_id]).await?;
    Ok(rows.into_iter().map(Runtime::from).collect())
}

/// Sets the visibility of `owner_id`'s runtime; `None` when it is not theirs.
pub async fn set_visibility(
    db: &impl GenericClient,
    workspace_id: Uuid,
    id: Uuid,
    owner_id: Uuid,
    visibility: Visibility,
) -> StoreResult<Option<Runtime>> {
    let stmt = db
        .prepare_cached(&format!(
            "UPDATE runtimes SET visibility = $4
             WHERE id = $1 AND workspace_id = $2 AND owner_id = $3
             RETURNING {COLUMNS}"
        ))
        .await?;
    Ok(db
        .query_opt(&stmt, &[&id, &workspace_id, &owner_id, &visibility])
        .await?
        .map(Runtime::from))
}

/// The member's runtimes in the workspace.
pub async fn of_member(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Vec<Uuid>> {
    let stmt = db
        .prepare_cached("SELECT id FROM runtimes WHERE workspace_id = $1 AND owner_id = $2")
        .await?;
    Ok(db
        .query(&stmt, &[&workspace_id, &user_id])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// The runtimes revoked daemon tokens ran: their daemon id, their member's.
pub async fn of_daemons(
    db: &impl GenericClient,
    workspace_id: Uuid,
    revoked: &[Revoked],
) -> StoreResult<Vec<Uuid>> {
    let daemons: Vec<&str> = revoked.iter().map(|r| r.daemon_id.as_str()).collect();
    let owners: Vec<Uuid> = revoked.iter().map(|r| r.owner_id).collect();
    let stmt = db
        .prepare_cached(
            "SELECT r.id FROM runtimes r
             JOIN unnest($2::text[], $3::uuid[]) AS d(daemon_id, owner_id)
               ON d.daemon_id = r.daemon_id AND d.owner_id = r.owner_id
             WHERE r.workspace_id = $1",
        )
        .await?;
    Ok(db
        .query(&stmt, &[&workspace_id, &daemons, &owners])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Takes the runtimes `ids` offline; those that were not already (each a
/// `runtime:offline`).
pub async fn take_offline(db: &impl GenericClient, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
    let stmt = db
        .prepare_cached(
            "UPDATE runtimes SET status = 'offline'
             WHERE id = ANY($1) AND status <> 'offline' RETURNING id",
        )
        .await?;
    let rows = db.query(&stmt, &[&ids]).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Whether daemon `daemon_id` has registered any runtime in the workspace (call under
/// `daemon_tokens::lock_daemon_id`, so two first registrations cannot both say no).
pub async fn daemon_has_any(
    db: &impl GenericClient,
    workspace_id: Uuid,
    daemon_id: &str,
) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM runtimes WHERE workspace_id = $1 AND daemon_id = $2)",
        )
        .await?;
    Ok(db
        .query_one(&stmt, &[&workspace_id, &daemon_id])
        .await?
        .get(0))
}

/// What a workspace's feed says of a runtime going offline.
pub fn offline_event(id: &Uuid) -> (&'static str, serde_json::Value) {
    ("runtime:offline", serde_json::json!({ "runtime_id": id }))
}
