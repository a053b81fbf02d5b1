//! `/api/workspaces`: create one (a person; they become its owner) and list one's own.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::db::{bounded, members, workspaces};
use crate::http::json::JsonBody;
use crate::http::names;
use crate::http::{AppError, AppResult, HumanCaller};
use crate::model::Role;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateWorkspace {
    name: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/workspaces",
    tag = "workspaces",
    operation_id = "create_workspace",
    request_body = CreateWorkspace,
    responses((status = 201, description = "The workspace; the caller is its owner", body = crate::openapi::schemas::WorkspaceRole), (status = 400, description = "`name is required`, `name is too long`, `name must not contain control characters`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: HumanCaller,
    JsonBody(body): JsonBody<CreateWorkspace>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let name = names::name(body.name.as_deref())?;
    let id = bounded(async {
        let mut db = state.pool.get().await?;
        let tx = db.transaction().await?;
        let id = workspaces::insert(&tx, &name).await?;
        members::upsert(&tx, id, caller.user_id, Role::Owner).await?;
        tx.commit().await?;
        Ok::<_, AppError>(id)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "name": name, "role": Role::Owner })),
    ))
}

#[utoipa::path(
    get,
    path = "/api/workspaces",
    tag = "workspaces",
    operation_id = "list_workspaces",
    responses((status = 200, description = "The caller's workspaces with roles", body = Vec<crate::openapi::schemas::WorkspaceRole>)),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn list(State(state): State<AppState>, caller: HumanCaller) -> AppResult<Json<Value>> {
    let rows = bounded(async {
        let db = state.pool.get().await?;
        workspaces::list_for_user(&db, caller.user_id).await
    })
    .await?;
    let list: Vec<Value> = rows
        .into_iter()
        .map(|(id, name, role)| json!({ "id": id, "name": name, "role": role }))
        .collect();
    Ok(Json(Value::Array(list)))
}
