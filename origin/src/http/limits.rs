//! Request limits answered in JSON by the router rather than as hyper's bodiless
//! errors: too many headers (431) and overlong URIs (414). They sit well below hyper's
//! own hard limits, so only requests no client needs reach those.

use axum::extract::Request;

use super::error::AppError;

/// More than any real client sends, and above what the edge forwards (80 of the
/// client's plus its own), so the edge's additions never push a valid request over.
pub const MAX_HEADERS: usize = 128;
/// Longest path and query accepted.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// `Err` with the JSON answer for a request over the header or URI limit.
pub fn check(req: &Request) -> Result<(), AppError> {
    if req.headers().len() > MAX_HEADERS {
        return Err(AppError::HeadersTooLarge);
    }
    if req.uri().path_and_query().map_or(0, |pq| pq.as_str().len()) > MAX_URI_BYTES {
        return Err(AppError::UriTooLong);
    }
    Ok(())
}
