//! `/internal/*`: calls from the edge, signed over the body digest. Every route of the
//! internal router sits behind [`verify_internal`], so a new internal route cannot skip
//! the signature; handlers read the verified body with [`EdgeSigned`]. Every answer to a
//! request whose signature verified, whatever its status, is signed back for the request
//! it answers, so the edge believes only the origin; no other answer is signed.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, OriginalUri, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tollgate_shared::headers::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP};
use tollgate_shared::signing::{self, SignedAnswer};
use tollgate_shared::{AuthError, SigningKey};

use super::edge_trust::verify_edge_signature;
use super::error::AppError;
use super::json::{as_json_error, read_body};
use crate::refusal::Refusal;
use crate::state::AppState;

/// The largest answer an internal route gives (a resolve answer is well under 1 KiB).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

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
    let request_signature = req
        .headers()
        .get(X_EDGE_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    match verified(&state, &key, req, next).await {
        Ok(response) => sign_answer(&key, &request_signature, response).await,
        // Never signed: an answer signed over a signature that did not verify would make
        // this a signing oracle for whatever `X-Edge-Signature` a client makes up.
        Err(refusal) => as_json_error(refusal),
    }
}

/// The handler's answer to a request whose signature verified, or the refusal of one
/// whose body could not be read or whose signature did not verify.
async fn verified(
    state: &AppState,
    key: &SigningKey,
    req: Request,
    next: Next,
) -> Result<Response, Response> {
    // Nested routers see the path without their prefix; the signature covers all of it.
    let uri = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().clone(), |o| o.0.clone());
    let (mut parts, body) = req.into_parts();
    let bytes = read_body(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    let digest = signing::Body::Digest(&bytes);
    verify_edge_signature(key, &parts.method, &uri, &parts.headers, digest)
        .map_err(|e| AppError::Auth(e).into_response())?;
    parts.extensions.insert(VerifiedBody(bytes.clone()));
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}

/// Adds `X-Edge-Timestamp`/`X-Edge-Signature` over the request's signature, the status
/// and the body (docs/ARCHITECTURE.md "Signed answers").
async fn sign_answer(key: &SigningKey, request_signature: &str, response: Response) -> Response {
    // Framework errors become JSON first: the outer `json_errors` must find nothing
    // left to rewrite, or the signature would not fit the body the edge receives.
    let (mut parts, body) = as_json_error(response).into_parts();
    // Our own answers are small JSON; a body that cannot be read is no answer.
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ANSWER_BYTES).await else {
        return AppError::Internal("unreadable internal answer".to_owned()).into_response();
    };
    let answer = SignedAnswer {
        request_signature,
        status: parts.status.as_u16(),
        body: &bytes,
    };
    let now = chrono::Utc::now().timestamp();
    if let Ok((timestamp, signature)) = key.sign_answer(&answer, now) {
        for (name, value) in [(X_EDGE_TIMESTAMP, timestamp), (X_EDGE_SIGNATURE, signature)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                parts.headers.insert(name, value);
            }
        }
    }
    Response::from_parts(parts, Body::from(bytes))
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
            .map_err(|_| AppError::Refused(Refusal::InvalidRequestBody))
    }
}
