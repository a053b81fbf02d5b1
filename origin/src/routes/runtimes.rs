//! `/api/workspaces/{id}/runtimes`: the workspace's runtimes, for its members; each
//! owner decides whether theirs is private (the default) or shared with the workspace.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use tollgate_shared::AuthError;
use uuid::Uuid;

use crate::db::runtimes::{self, RuntimeView};
use crate::db::with_client;
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult, HumanCaller, InWorkspace, UserCaller};
use crate::model::Visibility;
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;

refusals! {
    ListRuntimesRefusals = [Refusal::WorkspaceNotFound]
}

#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/runtimes",
    tag = "daemons",
    operation_id = "list_runtimes",
    params(("id" = Uuid, Path, description = "Workspace id")),
    responses(
        (
            status = 200,
            description = "The workspace's runtimes, with owner, status and visibility",
            body = Runtimes
        ),
        ListRuntimesRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = []), ("task_token" = []), ("cloud_pat" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ws: InWorkspace<UserCaller>,
) -> AppResult<Json<Runtimes>> {
    let list = with_client(&state.pool, move |db| {
        Box::pin(async move { Ok::<_, AppError>(runtimes::list(db, ws.id).await?) })
    })
    .await?;
    let runtimes = list.into_iter().map(RuntimeView::from).collect();
    Ok(Json(Runtimes { runtimes }))
}

/// `GET /api/workspaces/{id}/runtimes`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Runtimes {
    pub runtimes: Vec<RuntimeView>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChangeVisibility {
    /// `private` or `workspace`.
    visibility: Option<String>,
}

refusals! {
    ChangeRuntimeVisibilityRefusals = [
        Refusal::InvalidVisibility,
        AuthError::RuntimeNotYours,
        Refusal::WorkspaceNotFound,
        Refusal::RuntimeNotFound,
    ]
}

#[utoipa::path(
    patch,
    path = "/api/workspaces/{id}/runtimes/{runtime_id}",
    tag = "daemons",
    operation_id = "change_runtime_visibility",
    params(("id" = Uuid, Path, description = "Workspace id"), ("runtime_id" = Uuid, Path, description = "The runtime")),
    request_body = ChangeVisibility,
    responses(
        (
            status = 200,
            description = "The runtime with its new visibility",
            body = crate::db::runtimes::RuntimeView
        ),
        ChangeRuntimeVisibilityRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn change_visibility(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    Path((_workspace, runtime)): Path<(String, String)>,
    JsonBody(body): JsonBody<ChangeVisibility>,
) -> AppResult<Json<RuntimeView>> {
    let runtime_id = Uuid::parse_str(&runtime).map_err(|_| Refusal::RuntimeNotFound)?;
    let visibility = body
        .visibility
        .as_deref()
        .and_then(Visibility::parse)
        .ok_or(Refusal::InvalidVisibility)?;
    let changed = with_client(&state.pool, move |db| {
        Box::pin(async move {
            let Some(changed) =
                runtimes::set_visibility(db, ws.id, runtime_id, ws.user_id(), visibility).await?
            else {
                // Only to choose the message: the statement decided.
                return Err(match runtimes::find(db, ws.id, runtime_id).await? {
                    Some(_) => AuthError::RuntimeNotYours.into(),
                    None => Refusal::RuntimeNotFound.into(),
                });
            };
            Ok::<_, AppError>(changed)
        })
    })
    .await?;
    Ok(Json(changed.into()))
}
