//! `agents`, `tasks` and `task_tokens`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tollgate_shared::TokenHash;
use uuid::Uuid;

use super::{GenericClient, StoreResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub runtime_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub agent_id: Uuid,
    pub runtime_id: Uuid,
    pub status: String,
    pub prompt: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const TASK_COLUMNS: &str =
    "id, workspace_id, agent_id, runtime_id, status, prompt, created_at, updated_at";

/// Statuses after which a task token is worth nothing.
pub const TERMINAL: [&str; 3] = ["completed", "failed", "cancelled"];

impl From<Row> for Task {
    fn from(row: Row) -> Task {
        Task {
            id: row.get("id"),
            workspace_id: row.get("workspace_id"),
            agent_id: row.get("agent_id"),
            runtime_id: row.get("runtime_id"),
            status: row.get("status"),
            prompt: row.get("prompt"),
            created_at: row.get("created_at"),
            updated_at: row.get("updated_at"),
        }
    }
}

/// An agent on a runtime of the workspace; `None` when the runtime is not the
/// workspace's.
pub async fn insert_agent(
    db: &impl GenericClient,
    workspace_id: Uuid,
    runtime_id: Uuid,
    name: &str,
) -> StoreResult<Option<Agent>> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO agents (workspace_id, runtime_id, name)
             SELECT $1, id, $3 FROM runtimes WHERE id = $2 AND workspace_id = $1
             RETURNING id, workspace_id, runtime_id, name, created_at",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&workspace_id, &runtime_id, &name])
        .await?
        .map(|r| Agent {
            id: r.get(0),
            workspace_id: r.get(1),
            runtime_id: r.get(2),
            name: r.get(3),
            created_at: r.get(4),
        }))
}

/// A queued task for an active agent of the workspace; `None` when there is no such
/// agent.
pub async fn insert_task(
    db: &impl GenericClient,
    workspace_id: Uuid,
    agent_id: Uuid,
    prompt: &str,
) -> StoreResult<Option<Task>> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO tasks (workspace_id, agent_id, runtime_id, status, prompt)
             SELECT $1, id, runtime_id, 'queued', $3 FROM agents
             WHERE id = $2 AND workspace_id = $1 AND archived_at IS NULL
             RETURNING {TASK_COLUMNS}"
        ))
        .await?;
    Ok(db
        .query_opt(&stmt, &[&workspace_id, &agent_id, &prompt])
        .await?
        .map(Task::from))
}

pub async fn find_task(
    db: &impl GenericClient,
    workspace_id: Uuid,
    task_id: Uuid,
) -> StoreResult<Option<Task>> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND workspace_id = $2"
        ))
        .await?;
    Ok(db
        .query_opt(&stmt, &[&task_id, &workspace_id])
        .await?
        .map(Task::from))
}

/// Claims the oldest queued task of `runtime_id`: one statement, and `SKIP LOCKED`, so
/// concurrent claims never get the same task.
pub async fn claim(db: &impl GenericClient, runtime_id: Uuid) -> StoreResult<Option<Task>> {
    let stmt = db
        .prepare_cached(&format!(
            "UPDATE tasks SET status = 'dispatched', updated_at = now()
             WHERE id = (SELECT id FROM tasks
                         WHERE runtime_id = $1 AND status = 'queued'
                         ORDER BY created_at, id
                         LIMIT 1
                         FOR UPDATE SKIP LOCKED)
             RETURNING {TASK_COLUMNS}"
        ))
        .await?;
    Ok(db.query_opt(&stmt, &[&runtime_id]).await?.map(Task::from))
}

/// Moves a task of the daemon's runtimes from `from` to `to`; `None` when it is not the
/// daemon's or not in `from`.
pub async fn transition(
    db: &impl GenericClient,
    task_id: Uuid,
    workspace_id: Uuid,
    daemon_id: &str,
    from: &[&str],
    to: &str,
) -> StoreResult<Option<Task>> {
    let stmt = db
        .prepare_cached(
            "UPDATE tasks t SET status = $5, updated_at = now()
             FROM runtimes r
             WHERE t.id = $1 AND t.workspace_id = $2 AND r.id = t.runtime_id
               AND r.daemon_id = $3 AND t.status = ANY($4)
             RETURNING t.id, t.workspace_id, t.agent_id, t.runtime_id, t.status, t.prompt,
                       t.created_at, t.updated_at",
        )
        .await?;
    let from: Vec<String> = from.iter().map(|s| (*s).to_owned()).collect();
    Ok(db
        .query_opt(&stmt, &[&task_id, &workspace_id, &daemon_id, &from, &to])
        .await?
        .map(Task::from))
}

/// The runtime's owner, when the runtime belongs to the daemon.
pub async fn runtime_owner(
    db: &impl GenericClient,
    runtime_id: Uuid,
    workspace_id: Uuid,
    daemon_id: &str,
) -> StoreResult<Option<Uuid>> {
    let stmt = db
        .prepare_cached(
            "SELECT owner_id FROM runtimes WHERE id = $1 AND workspace_id = $2 AND daemon_id = $3",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&runtime_id, &workspace_id, &daemon_id])
        .await?
        .map(|r| r.get(0)))
}

pub async fn insert_token(
    db: &impl GenericClient,
    hash: &TokenHash,
    task: &Task,
    user_id: Uuid,
) -> StoreResult<DateTime<Utc>> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO task_tokens (token_hash, task_id, agent_id, workspace_id, user_id, expires_at)
             VALUES ($1, $2, $3, $4, $5, now() + interval '24 hours')
             RETURNING expires_at",
        )
        .await?;
    Ok(db
        .query_one(
            &stmt,
            &[
                &hash.as_str(),
                &task.id,
                &task.agent_id,
                &task.workspace_id,
                &user_id,
            ],
        )
        .await?
        .get(0))
}

pub async fn delete_tokens(db: &impl GenericClient, task_id: Uuid) -> StoreResult<u64> {
    let stmt = db
        .prepare_cached("DELETE FROM task_tokens WHERE task_id = $1")
        .await?;
    Ok(db.execute(&stmt, &[&task_id]).await?)
}

/// What a task token stands for: only while its row exists, it has not expired and its
/// task is not finished.
#[derive(Debug, Clone)]
pub struct ActiveTaskToken {
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub agent_id: Uuid,
    pub task_id: Uuid,
}

pub async fn find_active_token(
    db: &impl GenericClient,
    hash: &TokenHash,
) -> StoreResult<Option<ActiveTaskToken>> {
    let stmt = db
        .prepare_cached(
            "SELECT k.user_id, k.workspace_id, k.agent_id, k.task_id
             FROM task_tokens k JOIN tasks t ON t.id = k.task_id
             WHERE k.token_hash = $1 AND k.expires_at > now()
               AND t.status <> ALL($2)",
        )
        .await?;
    let terminal: Vec<String> = TERMINAL.iter().map(|s| (*s).to_owned()).collect();
    Ok(db
        .query_opt(&stmt, &[&hash.as_str(), &terminal])
        .await?
        .map(|r| ActiveTaskToken {
            user_id: r.get(0),
            workspace_id: r.get(1),
            agent_id: r.get(2),
            task_id: r.get(3),
        }))
}
