//! `/api/workspaces`: create one (a person; they become its owner) and list one's own.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::db::with_client;
use crate::db::workspaces::{self as db_workspaces, WorkspaceRole};
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult, HumanCaller};
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;
use crate::workspaces;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateWorkspace {
    name: Option<String>,
}

refusals! {
    CreateWorkspaceRefusals = [Refusal::NameRequired, Refusal::NameTooLong, Refusal::NameHasControl]
}

#[utoipa::path(
    post,
    path = "/api/workspaces",
    tag = "workspaces",
    operation_id = "create_workspace",
    request_body = CreateWorkspace,
    responses(
        (
            status = 201,
            description = "The workspace; the caller is its owner",
            body = crate::db::workspaces::WorkspaceRole
        ),
        CreateWorkspaceRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: HumanCaller,
    JsonBody(body): JsonBody<CreateWorkspace>,
) -> AppResult<(StatusCode, Json<WorkspaceRole>)> {
    let created = workspaces::create(&state.pool, body.name.as_deref(), caller.user_id).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/api/workspaces",
    tag = "workspaces",
    operation_id = "list_workspaces",
    responses((status = 200, description = "The caller's workspaces with roles", body = Vec<WorkspaceRole>)),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: HumanCaller,
) -> AppResult<Json<Vec<WorkspaceRole>>> {
    let user = caller.user_id;
    let list = with_client(&state.pool, |db| {
        Box::pin(async move { db_workspaces::list_for_user(db, user).await })
    })
    .await
    .map_err(AppError::from)?;
    Ok(Json(list))
}
