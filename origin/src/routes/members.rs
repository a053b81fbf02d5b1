//! `/api/workspaces/{id}/members` and `/leave`: the membership life cycle, and
//! `/events`: what it did.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tollgate_shared::AuthError;
use uuid::Uuid;

use crate::db::{bounded, events, members as store, removal, users};
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult, HumanCaller, InWorkspace, UserCaller};
use crate::members::{self, LAST_OWNER, MEMBER_NOT_FOUND};
use crate::model::Role;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/members",
    tag = "workspaces",
    operation_id = "list_members",
    params(("id" = Uuid, Path, description = "Workspace id")),
    responses((status = 200, description = "Members with roles", body = Vec<crate::openapi::schemas::Member>), (status = 403, description = "`insufficient permissions`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
) -> AppResult<Json<Value>> {
    ws.require_admin()?;
    let list = bounded(async {
        let db = state.pool.get().await?;
        Ok::<_, AppError>(store::list(&db, ws.id).await?)
    })
    .await?;
    Ok(Json(Value::Array(list)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AddMember {
    email: Option<String>,
    role: Option<String>,
}

fn role(value: Option<&str>) -> AppResult<Role> {
    value
        .and_then(Role::parse)
        .ok_or(AppError::BadRequest("role must be owner, admin or member"))
}

#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/members",
    tag = "workspaces",
    operation_id = "add_member",
    params(("id" = Uuid, Path, description = "Workspace id")),
    request_body = AddMember,
    responses((status = 201, description = "Added", body = crate::openapi::schemas::Membership), (status = 400, description = "`invalid email`, `role must be owner, admin or member`", body = crate::openapi::schemas::ErrorBody), (status = 403, description = "`insufficient permissions`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`, `user not found`", body = crate::openapi::schemas::ErrorBody), (status = 409, description = "`already a member`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn add(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    JsonBody(body): JsonBody<AddMember>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let workspace_id = ws.id;
    let role = role(body.role.as_deref())?;
    let email = body
        .email
        .as_deref()
        .and_then(users::normalize_email)
        .ok_or(AppError::BadRequest("invalid email"))?;
    if !ws.role.may_manage(None, Some(role)) {
        return Err(AuthError::InsufficientPermissions.into());
    }
    let user_id = bounded(async {
        let db = state.pool.get().await?;
        let user = users::find_by_email(&db, &email)
            .await?
            .ok_or(AppError::Missing("user not found"))?;
        if !store::add(&db, workspace_id, user.id, role).await? {
            return Err(AppError::Conflict("already a member"));
        }
        Ok::<_, AppError>(user.id)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "workspace_id": workspace_id, "user_id": user_id, "role": role })),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChangeRole {
    role: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/api/workspaces/{id}/members/{user_id}",
    tag = "workspaces",
    operation_id = "change_member_role",
    params(("id" = Uuid, Path, description = "Workspace id"), ("user_id" = Uuid, Path, description = "The member")),
    request_body = ChangeRole,
    responses((status = 200, description = "Changed", body = crate::openapi::schemas::Membership), (status = 400, description = "`role must be owner, admin or member`, `workspace must have at least one owner`", body = crate::openapi::schemas::ErrorBody), (status = 403, description = "`insufficient permissions`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`, `member not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn change_role(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    Path((_workspace, user)): Path<(String, String)>,
    JsonBody(body): JsonBody<ChangeRole>,
) -> AppResult<Json<Value>> {
    let workspace_id = ws.id;
    let user_id = Uuid::parse_str(&user).map_err(|_| MEMBER_NOT_FOUND)?;
    let role = role(body.role.as_deref())?;
    bounded(async {
        let mut db = state.pool.get().await?;
        let tx = db.transaction().await?;
        store::lock(&tx, workspace_id, user_id).await?;
        let current = removal::member_role(&tx, workspace_id, user_id)
            .await?
            .ok_or(MEMBER_NOT_FOUND)?;
        if !ws.role.may_manage(Some(current), Some(role)) {
            return Err(AuthError::InsufficientPermissions.into());
        }
        if !store::set_role(&tx, workspace_id, user_id, role).await? {
            return Err(LAST_OWNER);
        }
        tx.commit().await?;
        Ok::<_, AppError>(())
    })
    .await?;
    Ok(Json(
        json!({ "workspace_id": workspace_id, "user_id": user_id, "role": role }),
    ))
}

#[utoipa::path(
    delete,
    path = "/api/workspaces/{id}/members/{user_id}",
    tag = "workspaces",
    operation_id = "remove_member",
    params(("id" = Uuid, Path, description = "Workspace id"), ("user_id" = Uuid, Path, description = "The member")),
    responses((status = 204, description = "Removed; their agents, tasks, task tokens, runtimes and daemon tokens stopped"), (status = 400, description = "`workspace must have at least one owner`", body = crate::openapi::schemas::ErrorBody), (status = 403, description = "`insufficient permissions`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`, `member not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    Path((_workspace, user)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let user_id = Uuid::parse_str(&user).map_err(|_| MEMBER_NOT_FOUND)?;
    ws.require_admin()?;
    members::remove(
        &state.pool,
        &state.outbox,
        ws.id,
        user_id,
        ws.user_id(),
        Some(ws.role),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/leave",
    tag = "workspaces",
    operation_id = "leave_workspace",
    params(("id" = Uuid, Path, description = "Workspace id")),
    responses((status = 204, description = "Left, with the same clean-up as a removal"), (status = 400, description = "`workspace must have at least one owner`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`, `member not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn leave(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
) -> AppResult<StatusCode> {
    members::remove(
        &state.pool,
        &state.outbox,
        ws.id,
        ws.user_id(),
        ws.user_id(),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct After {
    after: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/events",
    tag = "workspaces",
    operation_id = "list_events",
    params(("id" = Uuid, Path, description = "Workspace id"), ("after" = Option<i64>, Query, description = "Only events after this id")),
    responses((status = 200, description = "At most 100 events, in id order", body = crate::openapi::schemas::Events), (status = 400, description = "`invalid request body` (a bad after)", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = []), ("task_token" = []), ("cloud_pat" = []))
)]
pub async fn events(
    State(state): State<AppState>,
    ws: InWorkspace<UserCaller>,
    Query(after): Query<After>,
) -> AppResult<Json<Value>> {
    let events = bounded(async {
        let db = state.pool.get().await?;
        Ok::<_, AppError>(events::after(&db, ws.id, after.after.unwrap_or(0)).await?)
    })
    .await?;
    Ok(Json(json!({ "events": events })))
}
