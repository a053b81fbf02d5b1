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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateAgent {
    name: Option<String>,
    runtime_id: Option<Uuid>,
}

#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/agents",
    tag = "tasks",
    operation_id = "create_agent",
    params(("id" = Uuid, Path, description = "Workspace id")),
    request_body = CreateAgent,
    responses((status = 201, description = "The agent", body = crate::db::tasks::Agent), (status = 400, description = "`runtime_id is required`, `name is required`, `name is too long`, `name must not contain control characters`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`, `runtime not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateTask {
    agent_id: Option<Uuid>,
    prompt: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/tasks",
    tag = "tasks",
    operation_id = "create_task",
    params(("id" = Uuid, Path, description = "Workspace id")),
    request_body = CreateTask,
    responses((status = 201, description = "The task, queued", body = crate::db::tasks::Task), (status = 400, description = "`agent_id is required`, `prompt must not contain NUL`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`, `agent not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
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
#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/tasks/{task_id}",
    tag = "tasks",
    operation_id = "get_task",
    params(("id" = Uuid, Path, description = "Workspace id"), ("task_id" = Uuid, Path, description = "The task")),
    responses((status = 200, description = "The task", body = crate::db::tasks::Task), (status = 404, description = "`workspace not found`, `task not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = []), ("task_token" = []), ("cloud_pat" = []))
)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Claim {
    runtime_id: Option<Uuid>,
}

/// The oldest queued task of the runtime, with a task token for its agent: 200, or 204
/// when nothing is queued. Two daemons never claim the same task.
#[utoipa::path(
    post,
    path = "/api/daemon/tasks/claim",
    tag = "tasks",
    operation_id = "claim_task",
    request_body = Claim,
    responses((status = 200, description = "The oldest queued task and its task token", body = crate::openapi::schemas::Claimed), (status = 204, description = "Nothing is queued"), (status = 400, description = "`runtime_id is required`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`runtime not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("daemon_token" = []))
)]
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

#[utoipa::path(
    post,
    path = "/api/daemon/tasks/{id}/start",
    tag = "tasks",
    operation_id = "start_task",
    params(("id" = Uuid, Path, description = "The task")),
    responses((status = 200, description = "Dispatched → running", body = crate::db::tasks::Task), (status = 404, description = "`task not found` (also a task not in the state the call needs)", body = crate::openapi::schemas::ErrorBody)),
    security(("daemon_token" = []))
)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Complete {
    status: Option<String>,
}

/// Ends a task; its task tokens are deleted in the same transaction, so the agent's
/// very next request fails.
#[utoipa::path(
    post,
    path = "/api/daemon/tasks/{id}/complete",
    tag = "tasks",
    operation_id = "complete_task",
    params(("id" = Uuid, Path, description = "The task")),
    request_body = Complete,
    responses((status = 200, description = "Finished; its task tokens die with it", body = crate::db::tasks::Task), (status = 400, description = "`status must be completed or failed`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`task not found` (also a task not in the state the call needs)", body = crate::openapi::schemas::ErrorBody)),
    security(("daemon_token" = []))
)]
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
