//! `GET /api/me`: who the caller is.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use tollgate_shared::{Actor, AuthError};

use crate::db::{bounded, users};
use crate::http::{AppResult, UserCaller};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/me",
    tag = "tokens",
    operation_id = "me",
    responses((status = 200, description = "The caller", body = crate::openapi::schemas::Me)),
    security(("pat" = []), ("session" = []), ("session_cookie" = []), ("task_token" = []), ("cloud_pat" = []))
)]
pub async fn me(State(state): State<AppState>, caller: UserCaller) -> AppResult<Json<Value>> {
    let user = bounded(async {
        let db = state.pool.get().await?;
        users::find_by_id(&db, caller.user_id).await
    })
    .await?;
    // A stamped identity whose user has since been deleted is no identity.
    let user = user.ok_or(AuthError::InvalidToken)?;
    let mut me = json!({
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "actor_source": caller.actor.source(),
    });
    // An agent acts for the member who queued its task, for that task only.
    if let Actor::TaskToken {
        workspace_id,
        agent_id,
        task_id,
        ..
    } = caller.actor
    {
        me["workspace_id"] = json!(workspace_id);
        me["agent_id"] = json!(agent_id);
        me["task_id"] = json!(task_id);
    }
    Ok(Json(me))
}
