//! `GET /api/me`: who the caller is.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::db::users;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub async fn me(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Value>> {
    let user_id = caller.user_id()?;
    let db = state.pool.get().await?;
    // A stamped identity whose user has since been deleted is no identity.
    let user = users::find_by_id(&db, user_id)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    Ok(Json(json!({
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "actor_source": caller.identity.actor_source,
    })))
}
