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
