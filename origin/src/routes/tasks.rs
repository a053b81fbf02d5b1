//! Agents and tasks: people create agents on their own runtimes or shared ones and
//! queue tasks (`/api/workspaces/{id}/agents`, `…/tasks`). Daemons claim, start and
//! complete them in `routes::task_runs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tollgate_shared::{Actor, AuthError};
use uuid::Uuid;

use crate::db::agents::{self, Agent};
use crate::db::runtimes;
use crate::db::tasks::{self, Task};
use crate::db::{in_transaction, members as db_members, with_client, GenericClient};
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult, HumanCaller, InWorkspace, UserCaller};
use crate::model::Visibility;
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
