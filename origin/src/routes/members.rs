//! `/api/workspaces/{id}/members` and `/leave`: the membership life cycle, and
//! `/events`: what it did.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tollgate_shared::AuthError;
use uuid::Uuid;

use crate::db::events::{self, Events};
use crate::db::members::{self as store, MemberView};
use crate::db::with_client;
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult, HumanCaller, InWorkspace, UserCaller};
use crate::members::{self, Membership};
use crate::model::Role;
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;
use crate::validate;

refusals! {
    ListMembersRefusals = [AuthError::InsufficientPermissions, Refusal::WorkspaceNotFound]
}

#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/members",
    tag = "workspaces",
    operation_id = "list_members",
    params(("id" = Uuid, Path, description = "Workspace id")),
    responses(
        (
            status = 200,
            description = "Members with roles",
            body = Vec<crate::db::members::MemberView>
        ),
        ListMembersRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
) -> AppResult<Json<Vec<MemberView>>> {
    ws.require_admin()?;
    let id = ws.id;
    let list = with_client(&state.pool, |db| {
        Box::pin(async move { store::list(db, id).await })
    })
    .await
    .map_err(AppError::from)?;
    Ok(Json(list))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AddMember {
    email: Option<String>,
    role: Option<String>,
}

fn role(value: Option<&str>) -> AppResult<Role> {
    value
        .and_then(Role::parse)
        .ok_or(Refusal::InvalidRole.into())
}

refusals! {
    AddMemberRefusals = [
        Refusal::InvalidEmail,
        Refusal::InvalidRole,
        AuthError::InsufficientPermissions,
        Refusal::WorkspaceNotFound,
        Refusal::AlreadyAMember,
    ]
}

#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/members",
    tag = "workspaces",
    operation_id = "add_member",
    params(("id" = Uuid, Path, description = "Workspace id")),
    request_body = AddMember,
    responses(
        (status = 201, description = "Added", body = crate::members::Membership),
        AddMemberRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn add(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    JsonBody(body): JsonBody<AddMember>,
) -> AppResult<(StatusCode, Json<Membership>)> {
    let role = role(body.role.as_deref())?;
    let email = body
        .email
        .as_deref()
        .and_then(validate::email)
        .ok_or(Refusal::InvalidEmail)?;
    let added = members::add(&state.pool, ws.id, ws.role, &email, role).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChangeRole {
    role: Option<String>,
}

refusals! {
    ChangeMemberRoleRefusals = [
        Refusal::InvalidRole,
        Refusal::LastOwner,
        AuthError::InsufficientPermissions,
        Refusal::WorkspaceNotFound,
        Refusal::MemberNotFound,
    ]
}

#[utoipa::path(
    patch,
    path = "/api/workspaces/{id}/members/{user_id}",
    tag = "workspaces",
    operation_id = "change_member_role",
    params(("id" = Uuid, Path, description = "Workspace id"), ("user_id" = Uuid, Path, description = "The member")),
    request_body = ChangeRole,
    responses(
        (status = 200, description = "Changed", body = crate::members::Membership),
        ChangeMemberRoleRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn change_role(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    Path((_workspace, user)): Path<(String, String)>,
    JsonBody(body): JsonBody<ChangeRole>,
) -> AppResult<Json<Membership>> {
    let user_id = Uuid::parse_str(&user).map_err(|_| Refusal::MemberNotFound)?;
    let role = role(body.role.as_deref())?;
    Ok(Json(
        members::change_role(&state.pool, ws.id, ws.role, user_id, role).await?,
    ))
}

refusals! {
    RemoveMemberRefusals = [
        Refusal::LastOwner,
        AuthError::InsufficientPermissions,
        Refusal::WorkspaceNotFound,
        Refusal::MemberNotFound,
    ]
}

#[utoipa::path(
    delete,
    path = "/api/workspaces/{id}/members/{user_id}",
    tag = "workspaces",
    operation_id = "remove_member",
    params(("id" = Uuid, Path, description = "Workspace id"), ("user_id" = Uuid, Path, description = "The member")),
    responses(
        (
            status = 204,
            description = "Removed; their agents, tasks, task tokens, runtimes and daemon tokens stopped"
        ),
        RemoveMemberRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    Path((_workspace, user)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let user_id = Uuid::parse_str(&user).map_err(|_| Refusal::MemberNotFound)?;
    ws.require_admin()?;
    members::remove(&state.outbox, ws.id, user_id, ws.user_id(), Some(ws.role)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/members/{user_id}/removal-preview",
    tag = "workspaces",
    operation_id = "preview_member_removal",
    params(("id" = Uuid, Path, description = "Workspace id"), ("user_id" = Uuid, Path, description = "The member")),
    responses(
        (
            status = 200,
            description = "What removing the member now would stop: the removal's own statements, rolled back",
            body = members::Stopped
        ),
        RemoveMemberRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn preview_removal(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    Path((_workspace, user)): Path<(String, String)>,
) -> AppResult<Json<members::Stopped>> {
    let user_id = Uuid::parse_str(&user).map_err(|_| Refusal::MemberNotFound)?;
    ws.require_admin()?;
    let stopped =
        members::preview_removal(&state.pool, ws.id, user_id, ws.user_id(), ws.role).await?;
    Ok(Json(stopped))
}

refusals! {
    LeaveWorkspaceRefusals = [
        Refusal::LastOwner,
        Refusal::WorkspaceNotFound,
        Refusal::MemberNotFound,
    ]
}

#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/leave",
    tag = "workspaces",
    operation_id = "leave_workspace",
    params(("id" = Uuid, Path, description = "Workspace id")),
    responses(
        (status = 204, description = "Left, with the same clean-up as a removal"),
        LeaveWorkspaceRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn leave(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
) -> AppResult<StatusCode> {
    members::remove(&state.outbox, ws.id, ws.user_id(), ws.user_id(), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?after=<id>` of an event feed (this one, and a person's own in `account`).
#[derive(Debug, Deserialize)]
pub struct After {
    pub after: Option<i64>,
}

refusals! {
    ListEventsRefusals = [Refusal::InvalidRequestBody => "a bad after", Refusal::WorkspaceNotFound]
}

#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/events",
    tag = "workspaces",
    operation_id = "list_events",
    params(
        ("id" = Uuid, Path, description = "Workspace id"),
        ("after" = Option<i64>, Query, description = "Only events after this id")
    ),
    responses(
        (
            status = 200,
            description = "At most 100 events, in id order",
            body = crate::db::events::Events
        ),
        ListEventsRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = []), ("task_token" = []), ("cloud_pat" = []))
)]
pub async fn events(
    State(state): State<AppState>,
    ws: InWorkspace<UserCaller>,
    Query(after): Query<After>,
) -> AppResult<Json<Events>> {
    let (id, after) = (ws.id, after.after.unwrap_or(0));
    let events = with_client(&state.pool, |db| {
        Box::pin(async move { events::after(db, id, after).await })
    })
    .await
    .map_err(AppError::from)?;
    Ok(Json(events))
}
