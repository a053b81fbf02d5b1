//! `X-Request-ID`: keep a client's well-formed value so traces join up across hops,
//! replace anything else with a fresh UUID; echo it on every response.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tollgate_shared::headers::X_REQUEST_ID;
use tollgate_shared::request_id;

/// The request id of the request being served, for log lines.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A fresh id: a version-4 UUID from a per-thread generator. Request ids are not
/// secrets, and this costs no system call (the OS generator was a visible share of a
/// resolve's CPU).
pub fn fresh_id() -> String {
    request_id::from_random_bytes(fastrand::u128(..).to_le_bytes())
}

pub async fn request_id(mut req: Request, next: Next) -> Response {
    let client = req
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok());
    let id = request_id::choose_or(client, fresh_id);
    // Only [A-Za-z0-9._-] reaches here, which is always a valid header value.
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("-"));
    req.headers_mut().insert(X_REQUEST_ID, value.clone());
    req.extensions_mut().insert(RequestId(id));
    let mut response = next.run(req).await;
    // A proxied answer may carry the id the next hop chose; otherwise ours.
    if !response.headers().contains_key(X_REQUEST_ID) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn fresh_ids_are_version_4_uuids_and_differ() {
        let (a, b) = (super::fresh_id(), super::fresh_id());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert!(tollgate_shared::request_id::is_acceptable(&a));
    }
}
