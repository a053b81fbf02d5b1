//! The one body shape that is not a handler's own type: every error is
//! `{"error": "<message>"}` (the cloud-runtime proxy builds it for a Fleet answer that
//! is not JSON). Error responses document their exact messages inline
//! (`openapi::responses`); the wire types of the edge's calls document themselves in
//! `tollgate-shared` (its `utoipa` feature).

use serde::Serialize;
use utoipa::ToSchema;

/// Every error: `{"error": "<message>"}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}
