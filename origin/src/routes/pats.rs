//! `/api/tokens`: the caller's personal access tokens — create, list, revoke.

use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use tollgate_shared::bearer::bearer;
use tollgate_shared::AuthError;
use tollgate_shared::{token, ActorSource, Token, TokenKind};
use uuid::Uuid;

use crate::db::pats::{self as store, PatView};
use crate::db::with_client;
use crate::http::json::JsonBody;
use crate::http::{AppResult, HumanCaller};
use crate::openapi::refusals;
use crate::pats::{self, CreatedPat, Granter, Renewal};
use crate::refusal::Refusal;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateToken {
    name: Option<String>,
    expires_in_days: Option<i64>,
    /// Binds the token to this workspace, which the caller must be a member of: it then
    /// works only on that workspace's routes, its daemon routes, `/api/me` and its own
    /// renewal.
    #[schema(value_type = Option<Uuid>)]
    workspace_id: Option<String>,
    /// `write` (the default) or `read`: `GET` and `HEAD` only (and its own renewal).
    #[schema(value_type = Option<tollgate_shared::Access>)]
    access: Option<String>,
}

refusals! {
    CreatePatRefusals = [
        Refusal::NameRequired,
        Refusal::NameTooLong,
        Refusal::NameHasControl,
        Refusal::ExpiryTooLong,
        Refusal::InvalidAccess,
        AuthError::CannotGrant,
        Refusal::WorkspaceNotFound,
    ]
}

#[utoipa::path(
    post,
    path = "/api/tokens",
    tag = "tokens",
    operation_id = "create_pat",
    request_body = CreateToken,
    responses(
        (
            status = 201,
            description = "The new PAT; `token` is shown this once",
            body = crate::pats::CreatedPat
        ),
        CreatePatRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: HumanCaller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateToken>,
) -> AppResult<(StatusCode, Json<CreatedPat>)> {
    let (name, days) = pats::validate(body.name.as_deref(), body.expires_in_days)?;
    let scope = pats::requested_scope(body.workspace_id.as_deref(), body.access.as_deref())?;
    let by = Granter {
        scope: caller.actor.scope(),
        token: presented_pat(&caller, &headers).map(|t| t.hash()),
    };
    let created = pats::mint(&state.pool, caller.user_id, by, &name, days, scope).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/api/tokens",
    tag = "tokens",
    operation_id = "list_pats",
    responses((status = 200, description = "The caller's unrevoked PATs, no secrets (for a token bound to a workspace: those bound to it)", body = Vec<PatView>)),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: HumanCaller,
) -> AppResult<Json<Vec<PatView>>> {
    let bound_to = caller.actor.scope().workspace;
    let list = with_client(&state.pool, move |db| {
        Box::pin(async move { store::list_for_user(db, caller.user_id, bound_to).await })
    })
    .await?;
    Ok(Json(list))
}

refusals! {
    RevokePatRefusals = [Refusal::InvalidTokenId]
}

#[utoipa::path(
    delete,
    path = "/api/tokens/{id}",
    tag = "tokens",
    operation_id = "revoke_pat",
    params(("id" = Uuid, Path, description = "PAT id")),
    responses(
        (
            status = 204,
            description = "Revoked, or not the caller's to revoke (idempotent; a token bound to a workspace reaches only tokens bound to it); purged at the edge before this answer"
        ),
        RevokePatRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: HumanCaller,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = Uuid::parse_str(&id).map_err(|_| Refusal::InvalidTokenId)?;
    pats::revoke(&state.outbox, caller.user_id, caller.actor.scope(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

refusals! {
    RenewCurrentPatRefusals = [
        Refusal::PatsOnly,
        AuthError::TokenNoLongerValid,
        AuthError::TokenNotCallers,
    ]
}

/// `POST /api/tokens/current/renew`: renews the very PAT in `Authorization`.
#[utoipa::path(
    post,
    path = "/api/tokens/current/renew",
    tag = "tokens",
    operation_id = "renew_current_pat",
    responses(
        (
            status = 200,
            description = "`renewed` is true for exactly one of parallel renewals",
            body = crate::pats::Renewal
        ),
        RenewCurrentPatRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn renew_current(
    State(state): State<AppState>,
    caller: HumanCaller,
    headers: HeaderMap,
) -> AppResult<Json<Renewal>> {
    // A session (cookie or bearer JWT) authenticated this request, not a PAT: there is
    // nothing of ours to extend.
    let token = presented_pat(&caller, &headers).ok_or(Refusal::PatsOnly)?;
    let renewal = pats::renew(&state.outbox, caller.user_id, &token.hash()).await?;
    Ok(Json(renewal))
}

/// The PAT in `Authorization` that authenticated `caller`, when a PAT did.
fn presented_pat<'h>(caller: &HumanCaller, headers: &'h HeaderMap) -> Option<Token<'h>> {
    if caller.actor.source() != ActorSource::Pat {
        return None;
    }
    let raw = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)?;
    token::parse(raw).ok().filter(|t| t.kind == TokenKind::Pat)
}
