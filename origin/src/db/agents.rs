//! `agents`: who created an agent, on which runtime, and whether it is archived.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{GenericClient, StoreResult};
use crate::model::Visibility;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub runtime_id: Uuid,
    pub name: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// The SQL condition "the runtime `r` is `$caller`'s own or shared with the workspace".
pub(super) fn usable_by(caller: &str) -> String {
    format!(
        "(r.owner_id = {caller} OR r.visibility = '{}')",
        Visibility::Workspace.as_str()
    )
}

/// An agent created by `created_by` on a runtime of the workspace that is theirs or
/// shared; `None` when it is neither (checked by the statement itself, so a runtime
/// made private meanwhile is refused).
pub async fn insert(
    db: &impl GenericClient,
    workspace_id: Uuid,
    runtime_id: Uuid,
    name: &str,
    created_by: Uuid,
) -> StoreResult<Option<Agent>> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO agents (workspace_id, runtime_id, name, created_by)
             SELECT $1, r.id, $3, $4 FROM runtimes r
             WHERE r.id = $2 AND r.workspace_id = $1 AND {}
             RETURNING id, workspace_id, runtime_id, name, created_by, created_at",
            usable_by("$4")
        ))
        .await?;
    Ok(db
        .query_opt(&stmt, &[&workspace_id, &runtime_id, &name, &created_by])
        .await?
        .map(|r| Agent {
            id: r.get(0),
            workspace_id: r.get(1),
            runtime_id: r.get(2),
            name: r.get(3),
            created_by: r.get(4),
            created_at: r.get(5),
        }))
}

/// Where an active agent of the workspace runs: its runtime's owner and visibility, and
/// who created the agent.
#[derive(Debug, Clone, Copy)]
pub struct AgentRuntime {
    pub owner_id: Uuid,
    pub visibility: Visibility,
    pub created_by: Option<Uuid>,
}

pub async fn runtime(
    db: &impl GenericClient,
    workspace_id: Uuid,
    agent_id: Uuid,
) -> StoreResult<Option<AgentRuntime>> {
    let stmt = db
        .prepare_cached(
            "SELECT r.owner_id, r.visibility, a.created_by
             FROM agents a JOIN runtimes r ON r.id = a.runtime_id
             WHERE a.id = $1 AND a.workspace_id = $2 AND a.archived_at IS NULL",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&agent_id, &workspace_id])
        .await?
        .map(|r| AgentRuntime {
            owner_id: r.get(0),
            visibility: r.get(1),
            created_by: r.get(2),
        }))
}

/// Archives the workspace's active agents on `runtimes` or created by `created_by`;
/// returns their ids.
pub async fn archive(
    db: &impl GenericClient,
    workspace_id: Uuid,
    runtimes: &[Uuid],
    created_by: Uuid,
    by: Uuid,
) -> StoreResult<Vec<Uuid>> {
    let stmt = db
        .prepare_cached(
            "UPDATE agents SET archived_at = now(), archived_by = $4
             WHERE workspace_id = $1 AND archived_at IS NULL
               AND (runtime_id = ANY($2) OR created_by = $3)
             RETURNING id",
        )
        .await?;
    Ok(db
        .query(&stmt, &[&workspace_id, &runtimes, &created_by, &by])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
