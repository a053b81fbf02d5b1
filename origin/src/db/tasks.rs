//! `tasks` and `task_tokens`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tollgate_shared::{cache_key, TokenHash, TokenKind};
use uuid::Uuid;

use super::daemon_tokens::live_token_condition;
use super::runtimes::Acting;
use super::{GenericClient, StoreResult};
use crate::model::TaskStatus;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub agent_id: Uuid,
    pub runtime_id: Uuid,
    pub status: TaskStatus,
    pub prompt: String,
    /// The member who queued it: the one its task token acts for.
    pub queued_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const TASK_COLUMNS: &str =
    "id, workspace_id, agent_id, runtime_id, status, prompt, queued_by, created_at, updated_at";

impl From<Row> for Task {
    fn from(row: Row) -> Task {
        Task {
            id: row.get("id"),
            workspace_id: row.get("workspace_id"),
            agent_id: row.get("agent_id"),
            runtime_id: row.get("runtime_id"),
            status: row.get("status"),
            prompt: row.get("prompt"),
            queued_by: row.get("queued_by"),
            created_at: row.get("created_at"),
            updated_at: row.get("updated_at"),
        }
    }
}

/// A task queued by `queued_by` for an active agent of the workspace whose runtime is
/// theirs or shared; `None` otherwise.
pub async fn insert_task(
    db: &impl GenericClient,
    workspace_id: Uuid,
    agent_id: Uuid,
    prompt: &str,
    queued_by: Uuid,
) -> StoreResult<Option<Task>> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO tasks (workspace_id, agent_id, runtime_id, status, prompt, queued_by)
             SELECT $1, a.id, a.runtime_id, $5, $3, $4
             FROM agents a JOIN runtimes r ON r.id = a.runtime_id
             WHERE a.id = $2 AND a.workspace_id = $1 AND a.archived_at IS NULL AND {}
             RETURNING {TASK_COLUMNS}",
            super::agents::usable_by("$4")
        ))
        .await?;
    Ok(db
        .query_opt(
            &stmt,
            &[
                &workspace_id,
                &agent_id,
                &prompt,
                &queued_by,
                &TaskStatus::Queued,
            ],
        )
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

/// Is `runtime_id` this daemon's and member's?
pub async fn runtime_is_daemons(
    db: &impl GenericClient,
    runtime_id: Uuid,
    acting: &Acting,
) -> StoreResult<bool> {
    let stmt = db
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM runtimes
                            WHERE id = $1 AND workspace_id = $2 AND daemon_id = $3 AND owner_id = $4)",
        )
        .await?;
    Ok(db
        .query_one(
            &stmt,
            &[
                &runtime_id,
                &acting.workspace_id,
                &acting.daemon_id,
                &acting.user_id,
            ],
        )
        .await?
        .get(0))
}

/// Claims the oldest queued task of the daemon's runtime `runtime_id`: one statement,
/// and `SKIP LOCKED`, so concurrent claims never get the same task; only while the
/// daemon's token is live, the task's agent is not archived and the member who queued the
/// task is still in the workspace.
pub async fn claim(
    db: &impl GenericClient,
    acting: &Acting,
    runtime_id: Uuid,
) -> StoreResult<Option<Task>> {
    let stmt = db
        .prepare_cached(&format!(
            "UPDATE tasks SET status = $5, updated_at = now()
             WHERE id = (SELECT t.id FROM tasks t JOIN runtimes r ON r.id = t.runtime_id
                         JOIN agents a ON a.id = t.agent_id AND a.archived_at IS NULL
                         WHERE t.runtime_id = $4 AND t.status = $6
                           AND r.workspace_id = $1 AND r.daemon_id = $2 AND r.owner_id = $3
                           AND EXISTS (SELECT 1 FROM members m
                                       WHERE m.workspace_id = t.workspace_id
                                         AND m.user_id = t.queued_by)
                           AND {}
                         ORDER BY t.created_at, t.id
                         LIMIT 1
                         FOR UPDATE OF t SKIP LOCKED)
             RETURNING {TASK_COLUMNS}",
            live_token_condition("$1", "$2", "$3")
        ))
        .await?;
    Ok(db
        .query_opt(
            &stmt,
            &[
                &acting.workspace_id,
                &acting.daemon_id,
                &acting.user_id,
                &runtime_id,
                &TaskStatus::Dispatched,
                &TaskStatus::Queued,
            ],
        )
        .await?
        .map(Task::from))
}

/// Moves a task of the daemon's runtimes from `from` to `to`, while its token is live;
/// `None` when it is not the daemon's, not in `from`, or the token was revoked.
pub async fn transition(
    db: &impl GenericClient,
    acting: &Acting,
    task_id: Uuid,
    from: &[TaskStatus],
    to: TaskStatus,
) -> StoreResult<Option<Task>> {
    let stmt = db
        .prepare_cached(&format!(
            "UPDATE tasks t SET status = $6, updated_at = now()
             FROM runtimes r
             WHERE t.id = $4 AND t.workspace_id = $1 AND r.id = t.runtime_id
               AND r.daemon_id = $2 AND r.owner_id = $3 AND t.status = ANY($5)
               AND {}
             RETURNING t.id, t.workspace_id, t.agent_id, t.runtime_id, t.status, t.prompt,
                       t.queued_by, t.created_at, t.updated_at",
            live_token_condition("$1", "$2", "$3")
        ))
        .await?;
    Ok(db
        .query_opt(
            &stmt,
            &[
                &acting.workspace_id,
                &acting.daemon_id,
                &acting.user_id,
                &task_id,
                &from,
                &to,
            ],
        )
        .await?
        .map(Task::from))
}

/// Which tasks a revocation cancels: those on `runtimes`, of `agents`, or queued by
/// `queued_by`, when in one of `statuses`.
#[derive(Debug, Default)]
pub struct Cancel<'a> {
    pub runtimes: &'a [Uuid],
    pub agents: &'a [Uuid],
    pub queued_by: Option<Uuid>,
    pub statuses: &'a [TaskStatus],
}

/// Cancels the selected tasks of the workspace; returns their ids.
pub async fn cancel(
    db: &impl GenericClient,
    workspace_id: Uuid,
    which: &Cancel<'_>,
) -> StoreResult<Vec<Uuid>> {
    let stmt = db
        .prepare_cached(
            "UPDATE tasks SET status = $6, updated_at = now()
             WHERE workspace_id = $1 AND status = ANY($5)
               AND (runtime_id = ANY($2) OR agent_id = ANY($3) OR queued_by = $4)
             RETURNING id",
        )
        .await?;
    Ok(db
        .query(
            &stmt,
            &[
                &workspace_id,
                &which.runtimes,
                &which.agents,
                &which.queued_by,
                &which.statuses,
                &TaskStatus::Cancelled,
            ],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

pub async fn insert_token(
    db: &impl GenericClient,
    hash: &TokenHash,
    task: &Task,
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
                &task.queued_by,
            ],
        )
        .await?
        .get(0))
}

/// Deletes the task tokens of `tasks`: each is refused from the next request on (task
/// tokens are never cached), and the event streams opened with one are told.
pub async fn delete_tokens(db: &impl GenericClient, tasks: &[Uuid]) -> StoreResult<u64> {
    let stmt = db
        .prepare_cached("DELETE FROM task_tokens WHERE task_id = ANY($1) RETURNING token_hash")
        .await?;
    let rows = db.query(&stmt, &[&tasks]).await?;
    announce_ended(db, &super::hashes(&rows)).await?;
    Ok(rows.len() as u64)
}

/// Tells the event streams that the task tokens with `hashes` ended.
async fn announce_ended(db: &impl GenericClient, hashes: &[TokenHash]) -> StoreResult<()> {
    let keys: Vec<String> = hashes
        .iter()
        .map(|h| cache_key(TokenKind::Task, h).to_string())
        .collect();
    super::ended::announce(db, &keys).await
}

/// A live task token a leak report deleted, and whom to tell.
#[derive(Debug, Clone)]
pub struct LeakedTaskToken {
    pub task_id: Uuid,
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub email: String,
    /// The token's hash (hex): which reported string it was.
    pub hash: String,
}

/// Deletes the unexpired task tokens among `hashes`, in one statement; those this call
/// deleted, with the addresses of the members they acted for.
pub async fn delete_leaked_tokens(
    db: &impl GenericClient,
    hashes: &[&str],
) -> StoreResult<Vec<LeakedTaskToken>> {
    let stmt = db
        .prepare_cached(
            "WITH gone AS (
                 DELETE FROM task_tokens WHERE token_hash = ANY($1) AND expires_at > now()
                 RETURNING task_id, workspace_id, user_id, token_hash
             )
             SELECT g.task_id, g.workspace_id, g.user_id, u.email, g.token_hash
             FROM gone g JOIN users u ON u.id = g.user_id",
        )
        .await?;
    let rows = db.query(&stmt, &[&hashes]).await?;
    let ended: Vec<TokenHash> = rows
        .iter()
        .filter_map(|row| TokenHash::from_hex(row.get(4)))
        .collect();
    announce_ended(db, &ended).await?;
    Ok(rows
        .iter()
        .map(|row| LeakedTaskToken {
            task_id: row.get(0),
            workspace_id: row.get(1),
            user_id: row.get(2),
            email: row.get(3),
            hash: row.get(4),
        })
        .collect())
}

/// What a task token stands for: only while its row exists, it has not expired, its
/// task is not finished and the member it acts for is still in the workspace.
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
             JOIN members m ON m.workspace_id = k.workspace_id AND m.user_id = k.user_id
             JOIN users u ON u.id = k.user_id AND u.suspended_at IS NULL
             WHERE k.token_hash = $1 AND k.expires_at > now() AND t.status = ANY($2)",
        )
        .await?;
    Ok(db
        .query_opt(&stmt, &[&hash.as_str(), &TaskStatus::LIVE.as_slice()])
        .await?
        .map(|r| ActiveTaskToken {
            user_id: r.get(0),
            workspace_id: r.get(1),
            agent_id: r.get(2),
            task_id: r.get(3),
        }))
}
