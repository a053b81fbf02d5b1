//! `POST /api/workspaces/{id}/install-tokens` (owners and admins mint) and
//! `POST /api/install-tokens/exchange` (public: an installer trades one for a daemon
//! token, exactly once).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use uuid::Uuid;

use tollgate_shared::wire::{ExchangeAnswer, ExchangeRequest};
use tollgate_shared::AuthError;

use crate::daemons::{self, MintedInstallToken};
use crate::db::with_client;
use crate::http::json::read_body;
use crate::http::{AppError, AppResult, HumanCaller, InWorkspace};
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;
use crate::validate;

/// The mint body: optional, and so is its `user_id` (the caller by default).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct MintFor {
    /// The member the daemon will act for.
    #[schema(value_type = Option<Uuid>)]
    user_id: Option<Value>,
}

/// Whom an install token is for: `{"user_id": …}`, or the caller without a body.
fn minted_for(body: &[u8], caller: Uuid) -> AppResult<Uuid> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(caller);
    }
    let body: MintFor = serde_json::from_slice(body).map_err(|_| Refusal::InvalidRequestBody)?;
    match body.user_id {
        None | Some(Value::Null) => Ok(caller),
        Some(Value::String(s)) => Uuid::parse_str(&s).map_err(|_| Refusal::InvalidUserId.into()),
        Some(_) => Err(Refusal::InvalidUserId.into()),
    }
}

refusals! {
    MintRefusals = [
        Refusal::InvalidUserId,
        Refusal::InvalidRequestBody,
        AuthError::InsufficientPermissions => "a plain member; an admin minting for an owner",
        Refusal::WorkspaceNotFound,
        Refusal::MemberNotFound,
    ]
    ExchangeRefusals = [
        Refusal::NotAnInstallToken => "not an install token at all",
        Refusal::DaemonIdRequired,
        Refusal::InvalidDaemonId,
        Refusal::InvalidRequestBody,
        AuthError::InvalidInstallToken,
        AuthError::InstallTokenAlreadyUsed,
        AuthError::MemberGone,
        AuthError::IssuerNotAuthorized,
        Refusal::DaemonIdEnrolled => "another member's daemon holds it",
        AppError::DatabaseUnavailable,
    ]
}

#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/install-tokens",
    tag = "daemons",
    operation_id = "mint_install_token",
    params(("id" = Uuid, Path, description = "Workspace id")),
    request_body(
        content = MintFor,
        description = "Optional: the member the daemon will act for (default: the caller)"
    ),
    responses(
        (
            status = 201,
            description = "A single-use install token (15 min) for the member, shown this once",
            body = MintedInstallToken
        ),
        MintRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn mint(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    req: Request,
) -> AppResult<(StatusCode, Json<MintedInstallToken>)> {
    ws.require_admin()?;
    let for_user = minted_for(&read_body(req, &state).await?, ws.user_id())?;
    let minted = with_client(&state.pool, move |db| {
        Box::pin(async move {
            daemons::mint_install_token(db, ws.id, (ws.user_id(), ws.role), for_user).await
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(minted)))
}

refusals! {
    InstallTokenStatusRefusals = [
        Refusal::InstallTokenNotFound => "not of this workspace, or no UUID",
        AuthError::InsufficientPermissions => "not an owner or admin",
        Refusal::WorkspaceNotFound,
    ]
}

/// For "Add a computer": whether the install token was used, and by which daemon.
#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/install-tokens/{token_id}",
    tag = "daemons",
    operation_id = "install_token_status",
    params(("id" = Uuid, Path, description = "Workspace id"), ("token_id" = Uuid, Path, description = "The install token")),
    responses(
        (
            status = 200,
            description = "The install token (never the token itself): when a daemon used it, and which",
            body = crate::db::install_tokens::InstallTokenStatus
        ),
        InstallTokenStatusRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    axum::extract::Path((_workspace, token)): axum::extract::Path<(String, String)>,
) -> AppResult<Json<crate::db::install_tokens::InstallTokenStatus>> {
    ws.require_admin()?;
    let id = Uuid::parse_str(&token).map_err(|_| Refusal::InstallTokenNotFound)?;
    let workspace_id = ws.id;
    let status = with_client(&state.pool, move |db| {
        Box::pin(async move { crate::db::install_tokens::status(db, workspace_id, id).await })
    })
    .await
    .map_err(AppError::from)?
    .ok_or(Refusal::InstallTokenNotFound)?;
    Ok(Json(status))
}

/// Checks in the documented order: the body and the token's shape (400), the daemon id
/// (400), then the token itself (401/403), decided in Postgres.
#[utoipa::path(
    post,
    path = "/api/install-tokens/exchange",
    tag = "daemons",
    operation_id = "exchange_install_token",
    request_body = ExchangeRequest,
    responses(
        (
            status = 200,
            description = "The daemon token, exactly once per install token",
            body = ExchangeAnswer
        ),
        ExchangeRefusals
    )
)]
pub async fn exchange(
    State(state): State<AppState>,
    req: Request,
) -> AppResult<Json<ExchangeAnswer>> {
    let bytes = read_body(req, &state).await?;
    let invalid = Refusal::NotAnInstallToken;
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| invalid)?;
    let token = body
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| t.starts_with("mit_"))
        .ok_or(invalid)?;
    let daemon_id = validate::daemon_id(body.get("daemon_id"))?;
    Ok(Json(
        daemons::exchange(&state.outbox, token, &daemon_id).await?,
    ))
}
