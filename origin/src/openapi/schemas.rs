//! The shapes of the bodies that handlers build with `json!` or that live in the
//! wasm-shared crate (which must not carry utoipa into the Worker). Schemathesis checks
//! every response against them, so a shape here that drifts from its handler fails
//! `scripts/test`.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Every error: `{"error": "<message>"}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct Pong {
    pub pong: bool,
    pub service: String,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: Uuid,
    pub email: String,
    pub name: Option<String>,
    /// `pat`, `session`, `task_token` or `cloud_pat`.
    pub actor_source: String,
    /// A task token's workspace, agent and task.
    #[schema(required = false)]
    pub workspace_id: Option<Uuid>,
    #[schema(required = false)]
    pub agent_id: Option<Uuid>,
    #[schema(required = false)]
    pub task_id: Option<Uuid>,
}

/// A workspace with the caller's role in it.
#[derive(Serialize, ToSchema)]
pub struct WorkspaceRole {
    pub id: Uuid,
    pub name: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub joined_at: String,
}

/// A member's role, as added or changed.
#[derive(Serialize, ToSchema)]
pub struct Membership {
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Events {
    pub events: Vec<Event>,
}

#[derive(Serialize, ToSchema)]
pub struct Whoami {
    /// `daemon`, `pat` or `cloud_pat`.
    pub actor_source: String,
    pub workspace_id: Option<Uuid>,
    pub daemon_id: Option<String>,
    /// The member the caller acts for (a daemon: the one it was enrolled for).
    pub user_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct HeartbeatAnswer {
    pub updated: u64,
}

/// A claimed task and the token its agent uses while it runs.
#[derive(Serialize, ToSchema)]
pub struct Claimed {
    pub task: crate::db::tasks::Task,
    /// `mat_…`, shown this once.
    pub task_token: String,
    pub task_token_expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ExchangeRequest {
    /// The install token, `mit_…`.
    pub token: String,
    pub daemon_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ExchangeAnswer {
    /// The daemon token, `mdt_…`, shown this once.
    pub token: String,
    pub workspace_id: Uuid,
    pub daemon_id: String,
    /// The member the daemon acts for.
    pub user_id: Uuid,
    pub expires_at: String,
}

/// `GET /api/workspaces/{id}/runtimes`.
#[derive(Serialize, ToSchema)]
pub struct Runtimes {
    pub runtimes: Vec<crate::db::runtimes::RuntimeView>,
}

/// `{"kind":"mul","hash":"<64 hex>"}`, or for cloud PATs `{"kind":"mcn","token":"mcn_…"}`.
#[derive(Serialize, ToSchema)]
pub struct ResolveRequest {
    /// `mul`, `mdt`, `mat` or `mcn`.
    pub kind: String,
    /// Lowercase hex sha256 of the token.
    #[schema(required = false)]
    pub hash: Option<String>,
    /// Cloud PATs only: the token itself, for Fleet.
    #[schema(required = false)]
    pub token: Option<String>,
}

/// Who a token belongs to; absent fields are `null`.
#[derive(Serialize, ToSchema)]
pub struct Identity {
    pub actor_source: String,
    pub user_id: Option<Uuid>,
    pub user_email: Option<String>,
    pub workspace_id: Option<Uuid>,
    pub daemon_id: Option<String>,
    pub agent_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct ResolveAnswer {
    pub identity: Identity,
    /// How long the edge may cache this answer.
    pub ttl_secs: u64,
}
