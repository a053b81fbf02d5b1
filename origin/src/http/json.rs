//! JSON in and out: a body extractor whose rejections are our JSON errors, and a layer
//! that turns every error the framework makes (404, 405, 413, …) into JSON too.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::error::AppError;
use crate::refusal::Refusal;

pub use tollgate_shared::wire::MAX_BODY_BYTES;

/// Like `axum::Json`, but any body that is not the expected JSON is
/// `400 invalid request body`, and an oversized one is `413 request body too large`.
/// The content type is not checked: `curl -d` users should not need `-H`.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = read_body(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|_| AppError::Refused(Refusal::InvalidRequestBody))
    }
}

/// How long a client may take to send its body once its headers are in.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The whole body: 413 when it is over the limit, 408 when it did not arrive within
/// [`BODY_READ_TIMEOUT`] (the router's `RequestBodyTimeoutLayer`).
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else if timed_out(&rejection) {
            AppError::RequestTimeout
        } else {
            AppError::Refused(Refusal::InvalidRequestBody)
        }
    })
}

fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        current = err.source();
    }
    false
}

/// Rewrites error responses that are not JSON (the framework's own) into
/// `{"error": "..."}`, keeping status and headers such as `Allow`.
pub async fn json_errors(req: Request, next: Next) -> Response {
    as_json_error(next.run(req).await)
}

/// Marks a response that passes another service's answer on as it came (the
/// cloud-runtime proxy): [`json_errors`] leaves it alone, an empty body stays empty.
#[derive(Debug, Clone, Copy)]
pub struct Passthrough;

/// The rewrite [`json_errors`] does, for a layer that must see the final body (the
/// internal router signs it).
pub fn as_json_error(response: Response) -> Response {
    if response.extensions().get::<Passthrough>().is_some() {
        return response;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let message = match status {
        StatusCode::NOT_FOUND => "not found",
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "request body too large",
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "invalid request body",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported media type",
        StatusCode::REQUEST_TIMEOUT => "request timeout",
        s if s.is_server_error() => "internal error",
        s => s.canonical_reason().unwrap_or("error"),
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = Json(json!({ "error": message.to_lowercase() })).into_response();
    Response::from_parts(parts, Body::new(body.into_body()))
}
