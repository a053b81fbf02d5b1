//! Agents and tasks: people create agents on their own runtimes or shared ones and
//! queue tasks (`/api/workspaces/{id}/agents`, `…/tasks`); daemons claim, start and
//! complete them (`/api/daemon/tasks/*`), and a claimed task comes with a task token
//! that acts for the member who queued it, valid until the task ends.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tollgate_shared::{Actor, AuthError, RawToken, TokenKind};
use uuid::Uuid;

use crate::db::agents::{self, Agent};
use crate::db::runtimes::{self, Acting};
use crate::db::tasks::{self, Task};
use crate::db::{daemon_tokens, in_transaction, members as db_members, with_client, GenericClient};
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult, DaemonCaller, HumanCaller, InWorkspace, UserCaller};
use crate::model::{TaskStatus, Visibility};
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;
use crate::validate;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateAgent {
    name: Option<String>,
    runtime_id: Option<Uuid>,
}

refusals! {
    CreateAgentRefusals = [
        Refusal::RuntimeIdRequired,
        Refusal::NameRequired,
        Refusal::NameTooLong,
        Refusal::NameHasControl,
        AuthError::RuntimeNotYours => "a private runtime of someone else's",
        Refusal::WorkspaceNotFound,
        Refusal::RuntimeNotFound,
    ]
}

#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/agents",
    tag = "tasks",
    operation_id = "create_agent",
    params(("id" = Uuid, Path, description = "Workspace id")),
    request_body = CreateAgent,
    responses(
        (status = 201, description = "The agent", body = crate::db::agents::Agent),
        CreateAgentRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn create_agent(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    JsonBody(body): JsonBody<CreateAgent>,
) -> AppResult<(StatusCode, Json<Agent>)> {
    let name = validate::name(body.name.as_deref())?;
    let runtime_id = body.runtime_id.ok_or(Refusal::RuntimeIdRequired)?;
    let caller = ws.user_id();
    let agent = in_transaction(&state.pool, move |tx| {
        Box::pin(async move {
            let runtime = runtimes::find(tx, ws.id, runtime_id)
                .await?
                .ok_or(Refusal::RuntimeNotFound)?;
            usable(caller, runtime.owner_id, runtime.visibility)?;
            hold(tx, ws.id, caller, runtime.owner_id, None).await?;
            let agent = agents::insert(tx, ws.id, runtime_id, &name, caller)
                .await?
                .ok_or(AuthError::RuntimeNotYours)?;
            Ok::<_, AppError>(agent)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(agent)))
}

/// A member may put work only on their own runtimes and those shared with the
/// workspace — owners and admins included: a member's machine is theirs.
fn usable(caller: Uuid, owner: Uuid, visibility: Visibility) -> AppResult<()> {
    if caller == owner || visibility == Visibility::Workspace {
        Ok(())
    } else {
        Err(AuthError::RuntimeNotYours.into())
    }
}

/// Holds the memberships of the caller, of the runtime's owner and of the agent's
/// creator for the rest of the transaction (a removal of any of them waits, or has
/// happened): the caller must still be a member, and a runtime whose owner has left (or
/// an agent whose creator has) runs nothing.
async fn hold(
    tx: &impl GenericClient,
    workspace_id: Uuid,
    caller: Uuid,
    owner: Uuid,
    creator: Option<Uuid>,
) -> AppResult<()> {
    let users: Vec<Uuid> = [caller, owner].into_iter().chain(creator).collect();
    let held = db_members::hold(tx, workspace_id, &users).await?;
    let member = |user: Uuid| held.iter().any(|(u, _)| *u == user);
    if !member(caller) {
        return Err(Refusal::WorkspaceNotFound.into());
    }
    if !member(owner) {
        return Err(Refusal::RuntimeNotFound.into());
    }
    if creator.is_some_and(|c| !member(c)) {
        return Err(Refusal::AgentNotFound.into());
    }
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateTask {
    agent_id: Option<Uuid>,
    prompt: Option<String>,
}

refusals! {
    CreateTaskRefusals = [
        Refusal::AgentIdRequired,
        Refusal::PromptHasNul,
        AuthError::RuntimeNotYours => "the agent runs on someone else's private runtime",
        Refusal::WorkspaceNotFound,
        Refusal::AgentNotFound,
    ]
}

#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/tasks",
    tag = "tasks",
    operation_id = "create_task",
    params(("id" = Uuid, Path, description = "Workspace id")),
    request_body = CreateTask,
    responses(
        (status = 201, description = "The task, queued", body = crate::db::tasks::Task),
        CreateTaskRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn create_task(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    JsonBody(body): JsonBody<CreateTask>,
) -> AppResult<(StatusCode, Json<Task>)> {
    let agent_id = body.agent_id.ok_or(Refusal::AgentIdRequired)?;
    let prompt = body.prompt.unwrap_or_default();
    if prompt.contains('\0') {
        return Err(Refusal::PromptHasNul.into());
    }
    let caller = ws.user_id();
    let task = in_transaction(&state.pool, move |tx| {
        Box::pin(async move {
            let runtime = agents::runtime(tx, ws.id, agent_id)
                .await?
                .ok_or(Refusal::AgentNotFound)?;
            usable(caller, runtime.owner_id, runtime.visibility)?;
            hold(tx, ws.id, caller, runtime.owner_id, runtime.created_by).await?;
            let task = tasks::insert_task(tx, ws.id, agent_id, &prompt, caller)
                .await?
                .ok_or(AuthError::RuntimeNotYours)?;
            Ok::<_, AppError>(task)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(task)))
}

refusals! {
    GetTaskRefusals = [Refusal::WorkspaceNotFound, Refusal::TaskNotFound]
}

/// A member reads any task of the workspace; an agent's task token reads its own task.
#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/tasks/{task_id}",
    tag = "tasks",
    operation_id = "get_task",
    params(("id" = Uuid, Path, description = "Workspace id"), ("task_id" = Uuid, Path, description = "The task")),
    responses(
        (status = 200, description = "The task", body = crate::db::tasks::Task),
        GetTaskRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = []), ("task_token" = []), ("cloud_pat" = []))
)]
pub async fn get_task(
    State(state): State<AppState>,
    ws: InWorkspace<UserCaller>,
    Path((_workspace, task)): Path<(String, String)>,
) -> AppResult<Json<Task>> {
    let task_id = Uuid::parse_str(&task).map_err(|_| Refusal::TaskNotFound)?;
    // An agent reads its own task only.
    if let Actor::TaskToken { task_id: own, .. } = ws.caller.actor {
        if own != task_id {
            return Err(Refusal::TaskNotFound.into());
        }
    }
    let task = with_client(&state.pool, move |db| {
        Box::pin(async move {
            tasks::find_task(db, ws.id, task_id)
                .await?
                .ok_or(AppError::Refused(Refusal::TaskNotFound))
        })
    })
    .await?;
    Ok(Json(task))
}

/// Who a daemon token acts as: task routes are for daemons only.
fn daemon(caller: &DaemonCaller) -> AppResult<Acting> {
    Acting::of_daemon(&caller.actor).ok_or(AuthError::InvalidToken.into())
}

/// After a daemon statement that checks its token found nothing: a revoked token is a
/// 401, anything else `otherwise`.
async fn unless_revoked(db: &impl GenericClient, acting: &Acting, otherwise: AppError) -> AppError {
    match daemon_tokens::is_live(db, acting.workspace_id, &acting.daemon_id, acting.user_id).await {
        Ok(true) => otherwise,
        Ok(false) => AuthError::InvalidToken.into(),
        Err(e) => e.into(),
    }
}

/// A claimed task and the token its agent uses while it runs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Claimed {
    pub task: Task,
    /// `mat_…`, shown this once.
    #[schema(value_type = String)]
    pub task_token: RawToken,
    #[schema(value_type = String)]
    pub task_token_expires_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Claim {
    runtime_id: Option<Uuid>,
}

refusals! {
    ClaimTaskRefusals = [Refusal::RuntimeIdRequired, Refusal::RuntimeNotFound]
}

/// The oldest queued task of the runtime, with a task token for its agent: 200, or 204
/// when nothing is queued. Two daemons never claim the same task.
#[utoipa::path(
    post,
    path = "/api/daemon/tasks/claim",
    tag = "tasks",
    operation_id = "claim_task",
    request_body = Claim,
    responses(
        (status = 200, description = "The oldest queued task and its task token", body = Claimed),
        (status = 204, description = "Nothing is queued"),
        ClaimTaskRefusals
    ),
    security(("daemon_token" = []))
)]
pub async fn claim(
    State(state): State<AppState>,
    caller: DaemonCaller,
    JsonBody(body): JsonBody<Claim>,
) -> AppResult<Response> {
    let acting = daemon(&caller)?;
    let runtime_id = body.runtime_id.ok_or(Refusal::RuntimeIdRequired)?;
    let claimed = in_transaction(&state.pool, move |tx| {
        Box::pin(async move {
            // A removal of the daemon's member waits for this claim, or has happened; so
            // does a revocation of its token, whose row is held (and which then cancels
            // what this claimed).
            let (ws, user) = (acting.workspace_id, acting.user_id);
            if db_members::hold(tx, ws, &[user]).await?.is_empty()
                || !daemon_tokens::lock_live(tx, ws, &acting.daemon_id, user).await?
            {
                return Err(AuthError::InvalidToken.into());
            }
            if !tasks::runtime_is_daemons(tx, runtime_id, &acting).await? {
                return Err(Refusal::RuntimeNotFound.into());
            }
            let Some(task) = tasks::claim(tx, &acting, runtime_id).await? else {
                return Ok(None);
            };
            let token = RawToken::generate(TokenKind::Task)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let expires_at = tasks::insert_token(tx, &token.hash(), &task).await?;
            Ok::<_, AppError>(Some((task, token, expires_at)))
        })
    })
    .await?;
    Ok(match claimed {
        None => StatusCode::NO_CONTENT.into_response(),
        Some((task, task_token, task_token_expires_at)) => Json(Claimed {
            task,
            task_token,
            task_token_expires_at,
        })
        .into_response(),
    })
}

refusals! {
    StartTaskRefusals = [Refusal::TaskNotFound => "also a task not in the state the call needs"]
}

#[utoipa::path(
    post,
    path = "/api/daemon/tasks/{id}/start",
    tag = "tasks",
    operation_id = "start_task",
    params(("id" = Uuid, Path, description = "The task")),
    responses(
        (status = 200, description = "Dispatched → running", body = crate::db::tasks::Task),
        StartTaskRefusals
    ),
    security(("daemon_token" = []))
)]
pub async fn start(
    State(state): State<AppState>,
    caller: DaemonCaller,
    Path(task): Path<String>,
) -> AppResult<Json<Task>> {
    let acting = daemon(&caller)?;
    let task_id = Uuid::parse_str(&task).map_err(|_| Refusal::TaskNotFound)?;
    let task = with_client(&state.pool, move |db| {
        Box::pin(async move {
            match tasks::transition(
                db,
                &acting,
                task_id,
                &[TaskStatus::Dispatched],
                TaskStatus::Running,
            )
            .await?
            {
                Some(task) => Ok(task),
                None => Err(unless_revoked(db, &acting, Refusal::TaskNotFound.into()).await),
            }
        })
    })
    .await?;
    Ok(Json(task))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Complete {
    status: Option<String>,
}

refusals! {
    CompleteTaskRefusals = [
        Refusal::InvalidOutcome,
        Refusal::TaskNotFound => "also a task not in the state the call needs",
    ]
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
    responses(
        (
            status = 200,
            description = "Finished; its task tokens die with it",
            body = crate::db::tasks::Task
        ),
        CompleteTaskRefusals
    ),
    security(("daemon_token" = []))
)]
pub async fn complete(
    State(state): State<AppState>,
    caller: DaemonCaller,
    Path(task): Path<String>,
    JsonBody(body): JsonBody<Complete>,
) -> AppResult<Json<Task>> {
    let acting = daemon(&caller)?;
    let task_id = Uuid::parse_str(&task).map_err(|_| Refusal::TaskNotFound)?;
    let status = body
        .status
        .as_deref()
        .and_then(TaskStatus::parse)
        .filter(|s| TaskStatus::OUTCOMES.contains(s))
        .ok_or(Refusal::InvalidOutcome)?;
    let task = in_transaction(&state.pool, move |tx| {
        Box::pin(async move {
            let Some(task) =
                tasks::transition(tx, &acting, task_id, &TaskStatus::CLAIMED, status).await?
            else {
                return Err(unless_revoked(tx, &acting, Refusal::TaskNotFound.into()).await);
            };
            tasks::delete_tokens(tx, &[task.id]).await?;
            Ok::<_, AppError>(task)
        })
    })
    .await?;
    Ok(Json(task))
}
