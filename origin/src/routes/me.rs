//! `GET /api/me`: who the caller is.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use tollgate_shared::{Access, Actor, ActorSource, AuthError};
use uuid::Uuid;

use crate::db::{users, with_client};
use crate::http::{AppError, AppResult, UserCaller};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/me",
    tag = "tokens",
    operation_id = "me",
    responses((status = 200, description = "The caller", body = Me)),
    security(("pat" = []), ("session" = []), ("session_cookie" = []), ("task_token" = []), ("cloud_pat" = []))
)]
pub async fn me(State(state): State<AppState>, caller: UserCaller) -> AppResult<Json<Me>> {
    let id = caller.user_id;
    let user = with_client(&state.pool, |db| {
        Box::pin(async move { users::find_active_by_id(db, id).await })
    })
    .await
    .map_err(AppError::from)?;
    // A stamped identity whose user has since been deleted is no identity.
    let user = user.ok_or(AuthError::InvalidToken)?;
    let mut me = Me {
        user_id: user.id,
        email: user.email,
        name: user.name,
        actor_source: caller.actor.source(),
        workspace_id: None,
        access: None,
        agent_id: None,
        task_id: None,
    };
    if let Actor::Pat { scope, .. } = caller.actor {
        me.workspace_id = scope.workspace;
        me.access = Some(scope.access);
    }
    // An agent acts for the member who queued its task, for that task only.
    if let Actor::TaskToken {
        workspace_id,
        agent_id,
        task_id,
        ..
    } = caller.actor
    {
        me.workspace_id = Some(workspace_id);
        me.agent_id = Some(agent_id);
        me.task_id = Some(task_id);
    }
    Ok(Json(me))
}

/// Who the caller is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user_id: Uuid,
    pub email: String,
    pub name: Option<String>,
    /// `pat`, `session`, `task_token` or `cloud_pat`.
    #[schema(value_type = String)]
    pub actor_source: ActorSource,
    /// A task token's workspace, agent and task; a PAT's bound workspace.
    #[schema(required = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<Uuid>,
    /// A PAT's access: `write` or `read`.
    #[schema(required = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    #[schema(required = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
    #[schema(required = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<Uuid>,
}
