//! `/api/tokens`: the caller's personal access tokens — create, list, revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::tokens::{self, PatView};
use crate::error::{AppError, AppResult};
use crate::json::JsonBody;
use crate::pats::{self, CreatedPat};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct CreateToken {
    name: Option<String>,
    expires_in_days: Option<i64>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateToken>,
) -> AppResult<(StatusCode, Json<CreatedPat>)> {
    let user_id = caller.require_human()?;
    let (name, days) = pats::validate(body.name.as_deref(), body.expires_in_days)?;
    let db = state.pool.get().await?;
    let created = pats::mint(&db, user_id, &name, days).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Vec<PatView>>> {
    let user_id = caller.user_id()?;
    let db = state.pool.get().await?;
    Ok(Json(tokens::list_for_user(&db, user_id).await?))
}

pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let user_id = caller.user_id()?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::BadRequest("invalid token id"))?;
    pats::revoke(&state, user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
