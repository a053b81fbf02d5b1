//! The caller's sessions: sign out (`POST /api/auth/logout`), see them
//! (`GET /api/sessions`), end one (`DELETE /api/sessions/{id}`) or every other one
//! (`POST /api/sessions/revoke-others`). People only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tollgate_shared::AuthError;
use uuid::Uuid;

use crate::db::sessions::{self as store, SessionView, Which};
use crate::db::with_client;
use crate::http::{AppError, AppResult, HumanCaller};
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::sessions;
use crate::state::AppState;

/// The caller's live sessions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Sessions {
    pub sessions: Vec<SessionView>,
}

refusals! {
    LogoutRefusals = [Refusal::NotASession]
}

#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "sessions",
    operation_id = "logout",
    responses(
        (status = 204, description = "Signed out: the session is revoked (refused at once by the origin, within 2 s by every edge) and both cookies are cleared"),
        LogoutRefusals
    ),
    security(("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn logout(
    State(state): State<AppState>,
    caller: Result<HumanCaller, AppError>,
) -> Response {
    let caller = match caller {
        Ok(caller) => caller,
        // A session that is already over (revoked, expired, unknown): the browser still
        // holds its cookie, which page scripts cannot remove (HttpOnly). Cleared here.
        Err(e @ AppError::Auth(AuthError::InvalidToken)) => {
            return (state.cookies.cleared(), e).into_response();
        }
        Err(e) => return e.into_response(),
    };
    let Some(id) = caller.session_id else {
        return AppError::from(Refusal::NotASession).into_response();
    };
    let by = Some(id);
    match sessions::revoke(&state.outbox, caller.user_id, by, Which::Only(id)).await {
        Ok(_) => (StatusCode::NO_CONTENT, state.cookies.cleared()).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

#[utoipa::path(
    get,
    path = "/api/sessions",
    tag = "sessions",
    operation_id = "list_sessions",
    responses((status = 200, description = "The caller's live sessions, newest first; `current` marks the one this request came with", body = Sessions)),
    security(("pat" = []), ("session" = []), ("session_cookie" = []))
)]
pub async fn list(State(state): State<AppState>, caller: HumanCaller) -> AppResult<Json<Sessions>> {
    let (user, current) = (caller.user_id, caller.session_id);
    let sessions = with_client(&state.pool, move |db| {
        Box::pin(async move { store::list_live(db, user, current).await })
    })
    .await?;
    Ok(Json(Sessions { sessions }))
}

refusals! {
    RevokeSessionRefusals = [Refusal::SessionNotFound]
}

#[utoipa::path(
    delete,
    path = "/api/sessions/{id}",
    tag = "sessions",
    operation_id = "revoke_session",
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Revoked: refused at once by the origin, within 2 s by every edge"),
        RevokeSessionRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: HumanCaller,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    // Someone else's, unknown, already ended, or no id at all: one answer.
    let id = Uuid::parse_str(&id).map_err(|_| Refusal::SessionNotFound)?;
    let by = caller.session_id;
    let revoked = sessions::revoke(&state.outbox, caller.user_id, by, Which::Only(id)).await?;
    if revoked == 0 {
        return Err(Refusal::SessionNotFound.into());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/sessions/revoke-others",
    tag = "sessions",
    operation_id = "revoke_other_sessions",
    responses((status = 204, description = "Every live session of the caller but the one this request came with is revoked (with a PAT: every one)")),
    security(("pat" = []), ("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn revoke_others(
    State(state): State<AppState>,
    caller: HumanCaller,
) -> AppResult<StatusCode> {
    let (by, which) = (caller.session_id, Which::AllBut(caller.session_id));
    sessions::revoke(&state.outbox, caller.user_id, by, which).await?;
    Ok(StatusCode::NO_CONTENT)
}
