//! `/api/daemon/*`: what daemons call — who am I, register a runtime, heartbeat. A
//! daemon token acts in its own workspace as its own daemon; a person running a daemon
//! by hand with a PAT names both in the body and must be a member of the workspace.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tollgate_shared::{Actor, AuthError};
use uuid::Uuid;

use crate::daemons;
use crate::db::runtimes::{self, Runtime};
use crate::db::{bounded, daemon_tokens, GenericClient};
use crate::http::json::JsonBody;
use crate::http::names;
use crate::http::{AppError, AppResult, DaemonCaller};
use crate::state::AppState;
use crate::workspaces;

#[utoipa::path(
    get,
    path = "/api/daemon/whoami",
    tag = "daemons",
    operation_id = "daemon_whoami",
    responses((status = 200, description = "Who is calling", body = crate::openapi::schemas::Whoami)),
    security(("daemon_token" = []), ("pat" = []), ("cloud_pat" = []))
)]
pub async fn whoami(caller: DaemonCaller) -> Json<Value> {
    let (workspace_id, daemon_id) = match &caller.actor {
        Actor::Daemon {
            workspace_id,
            daemon_id,
        } => (Some(*workspace_id), Some(daemon_id.clone())),
        _ => (None, None),
    };
    Json(json!({
        "actor_source": caller.actor.source(),
        "workspace_id": workspace_id,
        "daemon_id": daemon_id,
        "user_id": caller.actor.user_id(),
    }))
}

/// Where a daemon call acts: the workspace, the daemon and whom its runtimes belong to.
struct Target {
    workspace_id: Uuid,
    daemon_id: String,
    owner_id: Uuid,
}

async fn target(
    db: &impl GenericClient,
    caller: &DaemonCaller,
    workspace_id: Option<&str>,
    daemon_id: Option<&Value>,
) -> AppResult<Target> {
    match &caller.actor {
        Actor::Daemon {
            workspace_id: own,
            daemon_id,
        } => {
            // A daemon token is bound to its workspace: another one does not exist for it.
            if workspace_id.is_some_and(|w| workspaces::parse_id(w).ok() != Some(*own)) {
                return Err(workspaces::NOT_FOUND);
            }
            // Revoked since the edge cached it: no owner, no identity.
            let owner_id = daemon_tokens::owner_of(db, *own, daemon_id)
                .await?
                .ok_or(AuthError::InvalidToken)?;
            Ok(Target {
                workspace_id: *own,
                daemon_id: daemon_id.clone(),
                owner_id,
            })
        }
        actor => {
            let user_id = actor.user_id().ok_or(AuthError::InvalidToken)?;
            let workspace_id = workspaces::parse_id(workspace_id.unwrap_or_default())?;
            let daemon_id = daemons::daemon_id(daemon_id)?;
            workspaces::role(db, workspace_id, user_id).await?;
            Ok(Target {
                workspace_id,
                daemon_id,
                owner_id: user_id,
            })
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterRuntime {
    name: Option<String>,
    workspace_id: Option<String>,
    #[schema(value_type = Option<String>)]
    daemon_id: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/api/daemon/runtimes",
    tag = "daemons",
    operation_id = "register_runtime",
    request_body = RegisterRuntime,
    responses((status = 200, description = "The runtime, online", body = crate::db::runtimes::Runtime), (status = 400, description = "`name is required`, `name is too long`, `name must not contain control characters`, `daemon_id is required`, `invalid daemon_id`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`workspace not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("daemon_token" = []), ("pat" = []), ("cloud_pat" = []))
)]
pub async fn register_runtime(
    State(state): State<AppState>,
    caller: DaemonCaller,
    JsonBody(body): JsonBody<RegisterRuntime>,
) -> AppResult<Json<Runtime>> {
    let name = names::name(body.name.as_deref())?;
    let runtime = bounded(async {
        let db = state.pool.get().await?;
        let t = target(
            &db,
            &caller,
            body.workspace_id.as_deref(),
            body.daemon_id.as_ref(),
        )
        .await?;
        Ok::<_, AppError>(
            runtimes::upsert(&db, t.workspace_id, &t.daemon_id, t.owner_id, &name).await?,
        )
    })
    .await?;
    Ok(Json(runtime))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Heartbeat {
    runtime_ids: Vec<Uuid>,
    workspace_id: Option<String>,
    daemon_id: Option<Value>,
}

/// All or nothing: if any runtime is not this daemon's, none is touched.
#[utoipa::path(
    post,
    path = "/api/daemon/heartbeat",
    tag = "daemons",
    operation_id = "heartbeat",
    request_body = Heartbeat,
    responses((status = 200, description = "All or nothing", body = crate::openapi::schemas::HeartbeatAnswer), (status = 400, description = "`invalid request body`", body = crate::openapi::schemas::ErrorBody), (status = 404, description = "`runtime not found`, `workspace not found`", body = crate::openapi::schemas::ErrorBody)),
    security(("daemon_token" = []), ("pat" = []), ("cloud_pat" = []))
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    caller: DaemonCaller,
    JsonBody(body): JsonBody<Heartbeat>,
) -> AppResult<Json<Value>> {
    let ids: Vec<Uuid> = body
        .runtime_ids
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let updated = bounded(async {
        let mut db = state.pool.get().await?;
        let tx = db.transaction().await?;
        let t = target(
            &tx,
            &caller,
            body.workspace_id.as_deref(),
            body.daemon_id.as_ref(),
        )
        .await?;
        let updated = runtimes::heartbeat(&tx, &ids, t.workspace_id, &t.daemon_id).await?;
        if updated != ids.len() as u64 {
            return Err(AppError::Missing("runtime not found"));
        }
        tx.commit().await?;
        Ok(updated)
    })
    .await?;
    Ok(Json(json!({ "updated": updated })))
}
