//! `POST /api/workspaces/{id}/install-tokens` (owners and admins mint) and
//! `POST /api/install-tokens/exchange` (public: an installer trades one for a daemon
//! token, exactly once).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

use tollgate_shared::wire::ExchangeAnswer;

use crate::daemons::{self, MintedInstallToken};
use crate::db::bounded;
use crate::http::json::read_body;
use crate::http::{AppError, AppResult, HumanCaller};
use crate::state::AppState;
use crate::workspaces;

#[utoipa::path(
    post,
    path = "/api/workspaces/{id}/install-tokens",
    tag = "daemons",
    operation_id = "mint_install_token",
    params(("id" = Uuid, Path, description = "Workspace id")),
    responses((status = 201, description = "A single-use install token (15 min), shown this once", body = crate::daemons::MintedInstallToken), (status = 403, description = "`insufficient permissions`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn mint(
    State(state): State<AppState>,
    caller: HumanCaller,
    Path(workspace): Path<String>,
) -> AppResult<(StatusCode, Json<MintedInstallToken>)> {
    let workspace_id = workspaces::parse_id(&workspace)?;
    let minted = bounded(async {
        let db = state.pool.get().await?;
        workspaces::require_admin(&db, workspace_id, caller.user_id).await?;
        daemons::mint_install_token(&db, workspace_id, caller.user_id).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(minted)))
}

/// Checks in the documented order: the body and the token's shape (400), the daemon id
/// (400), then the token itself (401/403), decided in Postgres.
#[utoipa::path(
    post,
    path = "/api/install-tokens/exchange",
    tag = "daemons",
    operation_id = "exchange_install_token",
    request_body = crate::openapi::schemas::ExchangeRequest,
    responses((status = 200, description = "The daemon token, exactly once per install token", body = crate::openapi::schemas::ExchangeAnswer), (status = 400, description = "`invalid_install_token` (not an install token at all), `daemon_id is required`, `invalid daemon_id`, `invalid request body`", body = crate::openapi::schemas::ErrorBody), (status = 401, description = "`invalid_install_token`, `install_token_already_used`", body = crate::openapi::schemas::ErrorBody), (status = 403, description = "`issuer no longer authorized`", body = crate::openapi::schemas::ErrorBody), (status = 503, description = "`database unavailable`", body = crate::openapi::schemas::ErrorBody, headers(("Retry-After" = String, description = "Seconds to wait"))))
)]
pub async fn exchange(
    State(state): State<AppState>,
    req: Request,
) -> AppResult<Json<ExchangeAnswer>> {
    let bytes = read_body(req, &state).await?;
    let invalid = AppError::BadRequest("invalid_install_token");
    let body: Value = serde_json::from_slice(&bytes).map_err(|_| invalid)?;
    let token = body
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| t.starts_with("mit_"))
        .ok_or(AppError::BadRequest("invalid_install_token"))?;
    let daemon_id = daemons::daemon_id(body.get("daemon_id"))?;
    Ok(Json(
        daemons::exchange(&state.pool, token, &daemon_id).await?,
    ))
}
