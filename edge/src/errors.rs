//! The edge's own answers: JSON `{"error": ...}` with the status and headers each needs.

use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeError {
    pub status: u16,
    pub message: &'static str,
}

pub const RETRY_AFTER_SECS: &str = "5";

impl EdgeError {
    pub const fn new(status: u16, message: &'static str) -> EdgeError {
        EdgeError { status, message }
    }

    pub const NOT_FOUND: EdgeError = EdgeError::new(404, "not found");
    pub const METHOD_NOT_ALLOWED: EdgeError = EdgeError::new(405, "method not allowed");
    pub const MISSING_AUTHORIZATION: EdgeError = EdgeError::new(401, "missing authorization");
    pub const INVALID_AUTHORIZATION_FORMAT: EdgeError =
        EdgeError::new(401, "invalid authorization format");
    pub const INVALID_TOKEN: EdgeError = EdgeError::new(401, "invalid token");
    pub const INVALID_SIGNATURE: EdgeError = EdgeError::new(401, "invalid signature");
    pub const BAD_REQUEST: EdgeError = EdgeError::new(400, "invalid request body");
    pub const TOO_LARGE: EdgeError = EdgeError::new(413, "request body too large");
    pub const AUTH_UNAVAILABLE: EdgeError = EdgeError::new(503, "auth backend unavailable");
    pub const ORIGIN_UNAVAILABLE: EdgeError = EdgeError::new(502, "origin unavailable");
    pub const MISCONFIGURED: EdgeError = EdgeError::new(500, "internal error");

    pub fn body(&self) -> String {
        json!({ "error": self.message }).to_string()
    }

    /// Extra headers: the RFC 6750 challenge on 401s, `Retry-After` on 503s.
    pub fn headers(&self) -> Vec<(&'static str, &'static str)> {
        match self.status {
            401 if self.message == "invalid token" || self.message == "invalid signature" => {
                vec![("www-authenticate", "Bearer error=\"invalid_token\"")]
            }
            401 => vec![("www-authenticate", "Bearer")],
            503 => vec![("retry-after", RETRY_AFTER_SECS)],
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_headers() {
        assert_eq!(EdgeError::NOT_FOUND.body(), r#"{"error":"not found"}"#);
        assert_eq!(
            EdgeError::MISSING_AUTHORIZATION.headers(),
            vec![("www-authenticate", "Bearer")]
        );
        assert!(EdgeError::INVALID_TOKEN.headers()[0]
            .1
            .starts_with("Bearer"));
        assert_eq!(
            EdgeError::AUTH_UNAVAILABLE.headers(),
            vec![("retry-after", "5")]
        );
        assert!(EdgeError::ORIGIN_UNAVAILABLE.headers().is_empty());
    }
}
