//! `/api/tokens`: the caller's personal access tokens — create, list, revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use uuid::Uuid;

use crate::db::bounded;
use crate::db::pats::{self as store, PatView};
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult, HumanCaller, UserCaller};
use crate::pats::{self, CreatedPat};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct CreateToken {
    name: Option<String>,
    expires_in_days: Option<i64>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: HumanCaller,
    JsonBody(body): JsonBody<CreateToken>,
) -> AppResult<(StatusCode, Json<CreatedPat>)> {
    let (name, days) = pats::validate(body.name.as_deref(), body.expires_in_days)?;
    let created = bounded(async {
        let db = state.pool.get().await?;
        pats::mint(&db, caller.user_id, &name, days).await
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list(
    State(state): State<AppState>,
    caller: UserCaller,
) -> AppResult<Json<Vec<PatView>>> {
    let list = bounded(async {
        let db = state.pool.get().await?;
        store::list_for_user(&db, caller.user_id).await
    })
    .await?;
    Ok(Json(list))
}

pub async fn revoke(
    State(state): State<AppState>,
    caller: UserCaller,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::BadRequest("invalid token id"))?;
    pats::revoke(&state.pool, &state.outbox, caller.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
