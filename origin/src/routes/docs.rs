//! `GET /openapi.json` and `GET /openapi.internal.json`: the descriptions, generated at
//! start-up from the same route lists as the router, served as they are.

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Extension;

/// Both documents, serialized once and shared by every answer (no copy per request).
#[derive(Debug, Clone)]
pub struct Documents {
    pub public: Bytes,
    pub internal: Bytes,
}

fn json(body: &Bytes) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], body.clone())
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "health",
    operation_id = "openapi",
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object))
)]
pub async fn public(Extension(docs): Extension<Documents>) -> impl IntoResponse {
    json(&docs.public)
}

#[utoipa::path(
    get,
    path = "/openapi.internal.json",
    tag = "health",
    operation_id = "openapi_internal",
    responses((
        status = 200,
        description = "The description of the edge's signed calls to the origin (not served at the edge)",
        body = Object
    ))
)]
pub async fn internal(Extension(docs): Extension<Documents>) -> impl IntoResponse {
    json(&docs.internal)
}
