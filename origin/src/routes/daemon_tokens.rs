//! `/api/workspaces/{id}/daemon-tokens`: owners and admins list and revoke their
//! workspace's daemon tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use uuid::Uuid;

use crate::daemons;
use crate::db::bounded;
use crate::db::daemon_tokens::{self, DaemonTokenView};
use crate::http::{AppError, AppResult, HumanCaller};
use crate::state::AppState;
use crate::workspaces;

#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/daemon-tokens",
    tag = "daemons",
    operation_id = "list_daemon_tokens",
    params(("id" = Uuid, Path, description = "Workspace id")),
    responses((status = 200, description = "The workspace's daemon tokens, no secrets", body = Vec<crate::db::daemon_tokens::DaemonTokenView>), (status = 403, description = "`insufficient permissions`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: HumanCaller,
    Path(workspace): Path<String>,
) -> AppResult<Json<Vec<DaemonTokenView>>> {
    let workspace_id = workspaces::parse_id(&workspace)?;
    let list = bounded(async {
        let db = state.pool.get().await?;
        workspaces::require_admin(&db, workspace_id, caller.user_id).await?;
        Ok::<_, AppError>(daemon_tokens::list_for_workspace(&db, workspace_id).await?)
    })
    .await?;
    Ok(Json(list))
}

#[utoipa::path(
    delete,
    path = "/api/workspaces/{id}/daemon-tokens/{token_id}",
    tag = "daemons",
    operation_id = "revoke_daemon_token",
    params(("id" = Uuid, Path, description = "Workspace id"), ("token_id" = Uuid, Path, description = "Daemon token id")),
    responses((status = 204, description = "Revoked (idempotent); purged at the edge"), (status = 400, description = "`invalid token id`", body = crate::openapi::schemas::ErrorBody), (status = 403, description = "`insufficient permissions`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: HumanCaller,
    Path((workspace, token)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let workspace_id = workspaces::parse_id(&workspace)?;
    let token_id = Uuid::parse_str(&token).map_err(|_| AppError::BadRequest("invalid token id"))?;
    bounded(async {
        let db = state.pool.get().await?;
        workspaces::require_admin(&db, workspace_id, caller.user_id).await
    })
    .await?;
    daemons::revoke_daemon_token(&state.pool, &state.outbox, workspace_id, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
