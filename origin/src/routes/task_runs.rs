//! What daemons do with tasks (`/api/daemon/tasks/*`): claim the oldest queued task of a
//! runtime (with a task token that acts for the member who queued it, valid until the
//! task ends), start it, complete it. People create agents and queue tasks in
//! `routes::tasks`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tollgate_shared::{AuthError, RawToken, TokenKind};
use uuid::Uuid;

use crate::db::runtimes::Acting;
use crate::db::tasks::{self, Task};
use crate::db::{daemon_tokens, in_transaction, members as db_members, with_client, GenericClient};
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult, DaemonCaller};
use crate::model::TaskStatus;
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;

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
