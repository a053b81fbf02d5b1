//! Agents and tasks: people create agents on their runtimes and queue tasks
//! (`/api/workspaces/{id}/agents`, `…/tasks`); daemons claim, start and complete them
//! (`/api/daemon/tasks/*`), and a claimed task comes with a task token for its agent,
//! valid until the task ends.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use tollgate_shared::{Actor, AuthError, RawToken, TokenKind};
use uuid::Uuid;

use crate::db::bounded;
use crate::db::tasks::{self, Agent, Task};
use crate::http::json::JsonBody;
use crate::http::names;
use crate::http::{AppError, AppResult, DaemonCaller, HumanCaller, UserCaller};
use crate::state::AppState;
use crate::workspaces;

const TASK_NOT_FOUND: AppError = AppError::Missing("task not found");

#[derive(Debug, Deserialize)]
pub struct CreateAgent {
    name: Option<String>,
    runtime_id: Option<Uuid>,
}

pub async fn create_agent(
    State(state): State<AppState>,
    caller: HumanCaller,
    Path(workspace): Path<String>,
    JsonBody(body): JsonBody<CreateAgent>,
) -> AppResult<(StatusCode, Json<Agent>)> {
    let workspace_id = workspaces::parse_id(&workspace)?;
    let name = names::name(body.name.as_deref())?;
    let runtime_id = body
        .runtime_id
        .ok_or(AppError::BadRequest("runtime_id is required"))?;
    let agent = bounded(async {
        let db = state.pool.get().await?;
        workspaces::role(&db, workspace_id, caller.user_id).await?;
        tasks::insert_agent(&db, workspace_id, runtime_id, &name)
            .await?
            .ok_or(AppError::Missing("runtime not found"))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(agent)))
}

#[derive(Debug, Deserialize)]
pub struct CreateTask {
    agent_id: Option<Uuid>,
    prompt: Option<String>,
}

pub async fn create_task(
    State(state): State<AppState>,
    caller: HumanCaller,
    Path(workspace): Path<String>,
    JsonBody(body): JsonBody<CreateTask>,
) -> AppResult<(StatusCode, Json<Task>)> {
    let workspace_id = workspaces::parse_id(&workspace)?;
    let agent_id = body
        .agent_id
        .ok_or(AppError::BadRequest("agent_id is required"))?;
    let prompt = body.prompt.unwrap_or_default();
    if prompt.contains('\0') {
        return Err(AppError::BadRequest("prompt must not contain NUL"));
    }
    let task = bounded(async {
        let db = state.pool.get().await?;
        workspaces::role(&db, workspace_id, caller.user_id).await?;
        tasks::insert_task(&db, workspace_id, agent_id, &prompt)
            .await?
            .ok_or(AppError::Missing("agent not found"))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// A member reads any task of the workspace; an agent's task token reads its own task.
pub async fn get_task(
    State(state): State<AppState>,
    caller: UserCaller,
    Path((workspace, task)): Path<(String, String)>,
) -> AppResult<Json<Task>> {
    let workspace_id = workspaces::parse_id(&workspace)?;
    let task_id = Uuid::parse_str(&task).map_err(|_| TASK_NOT_FOUND)?;
    if let Actor::TaskToken {
        workspace_id: own,
        task_id: own_task,
        ..
    } = &caller.actor
    {
        if *own != workspace_id {
            return Err(AuthError::WrongWorkspace.into());
        }
        if *own_task != task_id {
            return Err(TASK_NOT_FOUND);
        }
    }
    let task = bounded(async {
        let db = state.pool.get().await?;
        if !matches!(caller.actor, Actor::TaskToken { .. }) {
            workspaces::role(&db, workspace_id, caller.user_id).await?;
        }
        tasks::find_task(&db, workspace_id, task_id)
            .await?
            .ok_or(TASK_NOT_FOUND)
    })
    .await?;
    Ok(Json(task))
}

/// The workspace and daemon id of a daemon token: task routes are for daemons only.
fn daemon(caller: &DaemonCaller) -> AppResult<(Uuid, &str)> {
    match &caller.actor {
        Actor::Daemon {
            workspace_id,
            daemon_id,
        } => Ok((*workspace_id, daemon_id)),
        _ => Err(AuthError::InvalidToken.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct Claim {
    runtime_id: Option<Uuid>,
}

/// The oldest queued task of the runtime, with a task token for its agent: 200, or 204
/// when nothing is queued. Two daemons never claim the same task.
pub async fn claim(
    State(state): State<AppState>,
    caller: DaemonCaller,
    JsonBody(body): JsonBody<Claim>,
) -> AppResult<Response> {
    let (workspace_id, daemon_id) = daemon(&caller)?;
    let runtime_id = body
        .runtime_id
        .ok_or(AppError::BadRequest("runtime_id is required"))?;
    let claimed = bounded(async {
        let mut db = state.pool.get().await?;
        let owner = tasks::runtime_owner(&db, runtime_id, workspace_id, daemon_id)
            .await?
            .ok_or(AppError::Missing("runtime not found"))?;
        let tx = db.transaction().await?;
        let Some(task) = tasks::claim(&tx, runtime_id).await? else {
            return Ok(None);
        };
        let token =
            RawToken::generate(TokenKind::Task).map_err(|e| AppError::Internal(e.to_string()))?;
        let expires_at = tasks::insert_token(&tx, &token.hash(), &task, owner).await?;
        tx.commit().await?;
        Ok::<_, AppError>(Some((task, token, expires_at)))
    })
    .await?;
    Ok(match claimed {
        None => StatusCode::NO_CONTENT.into_response(),
        Some((task, token, expires_at)) => Json(json!({
            "task": task,
            "task_token": token,
            "task_token_expires_at": expires_at,
        }))
        .into_response(),
    })
}

pub async fn start(
    State(state): State<AppState>,
    caller: DaemonCaller,
    Path(task): Path<String>,
) -> AppResult<Json<Task>> {
    let (workspace_id, daemon_id) = daemon(&caller)?;
    let task_id = Uuid::parse_str(&task).map_err(|_| TASK_NOT_FOUND)?;
    let task = bounded(async {
        let db = state.pool.get().await?;
        tasks::transition(
            &db,
            task_id,
            workspace_id,
            daemon_id,
            &["dispatched"],
            "running",
        )
        .await?
        .ok_or(TASK_NOT_FOUND)
    })
    .await?;
    Ok(Json(task))
}

#[derive(Debug, Deserialize)]
pub struct Complete {
    status: Option<String>,
}

/// Ends a task; its task tokens are deleted in the same transaction, so the agent's
/// very next request fails.
pub async fn complete(
    State(state): State<AppState>,
    caller: DaemonCaller,
    Path(task): Path<String>,
    JsonBody(body): JsonBody<Complete>,
) -> AppResult<Json<Task>> {
    let (workspace_id, daemon_id) = daemon(&caller)?;
    let task_id = Uuid::parse_str(&task).map_err(|_| TASK_NOT_FOUND)?;
    let status = match body.status.as_deref() {
        Some(s @ ("completed" | "failed")) => s.to_owned(),
        _ => return Err(AppError::BadRequest("status must be completed or failed")),
    };
    let task = bounded(async {
        let mut db = state.pool.get().await?;
        let tx = db.transaction().await?;
        let task = tasks::transition(
            &tx,
            task_id,
            workspace_id,
            daemon_id,
            &[
                "dispatched",
                "running",
                "waiting_local_directory",
                "deferred",
            ],
            &status,
        )
        .await?
        .ok_or(TASK_NOT_FOUND)?;
        tasks::delete_tokens(&tx, task.id).await?;
        tx.commit().await?;
        Ok::<_, AppError>(task)
    })
    .await?;
    Ok(Json(task))
}
