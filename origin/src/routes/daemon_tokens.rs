//! `/api/workspaces/{id}/daemon-tokens`: owners and admins list and revoke their
//! workspace's daemon tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use tollgate_shared::AuthError;
use uuid::Uuid;

use crate::daemons;
use crate::db::daemon_tokens::{self, DaemonTokenView};
use crate::db::with_client;
use crate::http::{AppError, AppResult, HumanCaller, InWorkspace};
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;

refusals! {
    ListDaemonTokensRefusals = [AuthError::InsufficientPermissions, Refusal::WorkspaceNotFound]
}

#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/daemon-tokens",
    tag = "daemons",
    operation_id = "list_daemon_tokens",
    params(("id" = Uuid, Path, description = "Workspace id")),
    responses(
        (
            status = 200,
            description = "The workspace's daemon tokens, no secrets",
            body = Vec<crate::db::daemon_tokens::DaemonTokenView>
        ),
        ListDaemonTokensRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
) -> AppResult<Json<Vec<DaemonTokenView>>> {
    ws.require_admin()?;
    let list = with_client(&state.pool, move |db| {
        Box::pin(
            async move { Ok::<_, AppError>(daemon_tokens::list_for_workspace(db, ws.id).await?) },
        )
    })
    .await?;
    Ok(Json(list))
}

refusals! {
    RevokeDaemonTokenRefusals = [
        Refusal::InvalidTokenId,
        AuthError::InsufficientPermissions,
        Refusal::WorkspaceNotFound,
    ]
}

#[utoipa::path(
    delete,
    path = "/api/workspaces/{id}/daemon-tokens/{token_id}",
    tag = "daemons",
    operation_id = "revoke_daemon_token",
    params(
        ("id" = Uuid, Path, description = "Workspace id"),
        ("token_id" = Uuid, Path, description = "Daemon token id")
    ),
    responses(
        (
            status = 204,
            description = "Revoked (idempotent); the tasks it claimed cancelled, its runtimes \
                           offline, purged at the edge"
        ),
        RevokeDaemonTokenRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    ws: InWorkspace<HumanCaller>,
    Path((_workspace, token)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    ws.require_admin()?;
    let token_id = Uuid::parse_str(&token).map_err(|_| Refusal::InvalidTokenId)?;
    daemons::revoke_daemon_token(&state.outbox, ws.id, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
