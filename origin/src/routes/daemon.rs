//! `/api/daemon/*`: what daemons call — who am I, register a runtime, heartbeat. A
//! daemon token acts in its own workspace as its own daemon, for its member; a person
//! running a daemon by hand with a PAT names both in the body, must be a member of the
//! workspace, and may not use a daemon id another member's daemon holds.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tollgate_shared::{Actor, ActorSource, AuthError};
use uuid::Uuid;

use crate::db::runtimes::{self, Acting, Runtime};
use crate::db::{daemon_tokens, in_transaction, members, GenericClient};
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult, DaemonCaller};
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;
use crate::validate;
use crate::workspaces;

#[utoipa::path(
    get,
    path = "/api/daemon/whoami",
    tag = "daemons",
    operation_id = "daemon_whoami",
    responses((status = 200, description = "Who is calling", body = Whoami)),
    security(("daemon_token" = []), ("pat" = []), ("cloud_pat" = []))
)]
pub async fn whoami(caller: DaemonCaller) -> Json<Whoami> {
    let (workspace_id, daemon_id) = match &caller.actor {
        Actor::Daemon {
            workspace_id,
            daemon_id,
            ..
        } => (Some(*workspace_id), Some(daemon_id.clone())),
        // A PAT bound to a workspace acts there only.
        other => (other.scope().workspace, None),
    };
    Json(Whoami {
        actor_source: caller.actor.source(),
        workspace_id,
        daemon_id,
        user_id: caller.actor.user_id(),
    })
}

/// Who is calling a daemon route.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Whoami {
    /// `daemon`, `pat` or `cloud_pat`.
    #[schema(value_type = String)]
    pub actor_source: ActorSource,
    pub workspace_id: Option<Uuid>,
    pub daemon_id: Option<String>,
    /// The member the caller acts for (a daemon: the one it was enrolled for).
    pub user_id: Uuid,
}

/// How many runtimes a heartbeat marked online.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeartbeatAnswer {
    pub updated: u64,
}

/// Who a daemon call acts as, its membership held for the rest of the transaction (a
/// removal waits for it, or has happened). A daemon token is bound to its workspace,
/// its daemon id and its member; a person (PAT, cloud PAT) names the workspace and a
/// daemon id, which must not be another member's.
async fn acting(
    db: &impl GenericClient,
    caller: &DaemonCaller,
    workspace_id: Option<&str>,
    daemon_id: Option<&Value>,
) -> AppResult<Acting> {
    let acting = match Acting::of_daemon(&caller.actor) {
        Some(own) => {
            // A daemon token is bound to its workspace: another one does not exist for it.
            if workspace_id.is_some_and(|w| workspaces::parse_id(w).ok() != Some(own.workspace_id))
            {
                return Err(Refusal::WorkspaceNotFound.into());
            }
            own
        }
        None => {
            let workspace_id = workspaces::parse_id(workspace_id.unwrap_or_default())?;
            // A PAT bound to a workspace runs daemons there and nowhere else.
            if caller
                .actor
                .scope()
                .workspace
                .is_some_and(|own| own != workspace_id)
            {
                return Err(AuthError::BoundElsewhere.into());
            }
            Acting {
                workspace_id,
                daemon_id: validate::daemon_id(daemon_id)?,
                user_id: caller.actor.user_id(),
                by_token: false,
            }
        }
    };
    let (ws, daemon, user) = (acting.workspace_id, &*acting.daemon_id, acting.user_id);
    let held = members::hold(db, ws, &[user]).await?;
    if held.is_empty() {
        // A daemon's member removed since the edge cached its token: its token is gone.
        return Err(if acting.by_token {
            AuthError::InvalidToken.into()
        } else {
            Refusal::WorkspaceNotFound.into()
        });
    }
    if acting.by_token {
        // Its row held until the transaction ends: a revocation waits for this call (and
        // then ends what it did), or has happened.
        if !daemon_tokens::lock_live(db, ws, daemon, user).await? {
            return Err(AuthError::InvalidToken.into());
        }
    } else {
        // Decided under the daemon id's lock, which enrollments take too.
        daemon_tokens::lock_daemon_id(db, ws, daemon).await?;
        if daemon_tokens::held_by_another(db, ws, daemon, user).await?
            || runtimes::held_by_another(db, ws, daemon, user).await?
        {
            return Err(AuthError::DaemonIdTaken.into());
        }
    }
    Ok(acting)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterRuntime {
    name: Option<String>,
    workspace_id: Option<String>,
    #[schema(value_type = Option<String>)]
    daemon_id: Option<Value>,
}

refusals! {
    RegisterRuntimeRefusals = [
        Refusal::NameRequired,
        Refusal::NameTooLong,
        Refusal::NameHasControl,
        Refusal::DaemonIdRequired,
        Refusal::InvalidDaemonId,
        AuthError::DaemonIdTaken,
        AuthError::BoundElsewhere,
        Refusal::WorkspaceNotFound,
    ]
}

#[utoipa::path(
    post,
    path = "/api/daemon/runtimes",
    tag = "daemons",
    operation_id = "register_runtime",
    request_body = RegisterRuntime,
    responses(
        (status = 200, description = "The runtime, online", body = crate::db::runtimes::Runtime),
        RegisterRuntimeRefusals
    ),
    security(("daemon_token" = []), ("pat" = []), ("cloud_pat" = []))
)]
pub async fn register_runtime(
    State(state): State<AppState>,
    caller: DaemonCaller,
    JsonBody(body): JsonBody<RegisterRuntime>,
) -> AppResult<Json<Runtime>> {
    let name = validate::name(body.name.as_deref())?;
    let runtime = in_transaction(&state.pool, move |tx| {
        Box::pin(async move {
            let acting = acting(
                tx,
                &caller,
                body.workspace_id.as_deref(),
                body.daemon_id.as_ref(),
            )
            .await?;
            crate::daemons::register_runtime(tx, &acting, &name)
                .await?
                .ok_or(AppError::Auth(AuthError::InvalidToken))
        })
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

refusals! {
    HeartbeatRefusals = [
        Refusal::InvalidRequestBody,
        AuthError::DaemonIdTaken,
        AuthError::BoundElsewhere,
        Refusal::RuntimeNotFound,
        Refusal::WorkspaceNotFound,
    ]
}

/// All or nothing: if any runtime is not this daemon's, none is touched.
#[utoipa::path(
    post,
    path = "/api/daemon/heartbeat",
    tag = "daemons",
    operation_id = "heartbeat",
    request_body = Heartbeat,
    responses(
        (status = 200, description = "All or nothing", body = HeartbeatAnswer),
        HeartbeatRefusals
    ),
    security(("daemon_token" = []), ("pat" = []), ("cloud_pat" = []))
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    caller: DaemonCaller,
    JsonBody(body): JsonBody<Heartbeat>,
) -> AppResult<Json<HeartbeatAnswer>> {
    let ids: Vec<Uuid> = body
        .runtime_ids
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let updated = in_transaction(&state.pool, move |tx| {
        Box::pin(async move {
            let acting = acting(
                tx,
                &caller,
                body.workspace_id.as_deref(),
                body.daemon_id.as_ref(),
            )
            .await?;
            let updated = runtimes::heartbeat(tx, &acting, &ids).await?;
            if updated != ids.len() as u64 {
                // All or nothing: the transaction is rolled back.
                return Err(AppError::Refused(Refusal::RuntimeNotFound));
            }
            Ok(updated)
        })
    })
    .await?;
    Ok(Json(HeartbeatAnswer { updated }))
}
