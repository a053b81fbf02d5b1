//! `/internal/*`: calls from the edge, signed over the body digest. Every route of the
//! internal router sits behind [`verify_internal`], so a new internal route cannot skip
//! the signature; handlers read the verified body with [`EdgeSigned`].

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tollgate_shared::signing;
use tollgate_shared::AuthError;

use super::edge_trust::verify_edge_signature;
use super::error::AppError;
use super::json::read_body;
use crate::state::AppState;

/// The body of a request whose signature [`verify_internal`] checked.
#[derive(Clone)]
struct VerifiedBody(Bytes);

/// The layer of the internal router. Without `EDGE_ORIGIN_SECRET` the internal routes
/// do not exist (404, whatever the method); with it, the method, the path as sent, the
/// timestamp and the body digest must verify before any handler sees the request.
pub async fn verify_internal(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(key) = state.edge_key.clone() else {
        return AppError::NotFound.into_response();
    };
    // Nested routers see the path without their prefix; the signature covers all of it.
    let uri = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().clone(), |o| o.0.clone());
    let (mut parts, body) = req.into_parts();
    let bytes = match read_body(Request::from_parts(parts.clone(), body), &state).await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    let digest = signing::Body::Digest(&bytes);
    if let Err(e) = verify_edge_signature(&key, &parts.method, &uri, &parts.headers, digest) {
        return AppError::Auth(e).into_response();
    }
    parts.extensions.insert(VerifiedBody(bytes.clone()));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A JSON body the edge signed. Parsed only after [`verify_internal`] verified it; used
/// anywhere else it refuses the request rather than trust an unverified body.
pub struct EdgeSigned<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for EdgeSigned<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, AppError> {
        let Some(VerifiedBody(bytes)) = req.extensions().get::<VerifiedBody>() else {
            return Err(AuthError::InvalidSignature.into());
        };
        serde_json::from_slice(bytes)
            .map(EdgeSigned)
            .map_err(|_| AppError::BadRequest("invalid request body"))
    }
}
