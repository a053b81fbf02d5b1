//! The edge's own answers: JSON `{"error": ...}` with the status and headers each needs.
//! Authentication failures are [`AuthError`]s, the same values the origin answers with.

use serde_json::json;
use tollgate_shared::errors::RETRY_AFTER_SECS;
use tollgate_shared::wire::VERIFIER_UNAVAILABLE;
use tollgate_shared::AuthError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeError {
    Auth(AuthError),
    NotFound,
    /// With the `Allow` value of the route.
    MethodNotAllowed(&'static str),
    BadRequest,
    TooLarge,
    /// The resolver could not be asked or did not answer usably: fail closed.
    AuthUnavailable,
    /// The origin could not ask Fleet about a cloud PAT: its 503, passed on.
    VerifierUnavailable,
    /// The forward itself failed.
    OriginUnavailable,
    /// The origin did not answer a forward in time.
    OriginTimeout,
    /// A client over its limit of invalid-token outcomes.
    TooManyInvalidTokens,
    /// A client over a sign-in route's limit (its binding's: 60 s windows).
    TooManySignInRequests,
    /// More client headers than the edge forwards.
    HeadersTooLarge,
    /// `ORIGIN_URL`, `EDGE_ORIGIN_SECRET` or the KV binding is missing.
    Misconfigured,
}

impl From<AuthError> for EdgeError {
    fn from(e: AuthError) -> EdgeError {
        EdgeError::Auth(e)
    }
}

impl EdgeError {
    pub fn status(self) -> u16 {
        match self {
            EdgeError::Auth(e) => e.status(),
            EdgeError::NotFound => 404,
            EdgeError::MethodNotAllowed(_) => 405,
            EdgeError::BadRequest => 400,
            EdgeError::TooLarge => 413,
            EdgeError::AuthUnavailable | EdgeError::VerifierUnavailable => 503,
            EdgeError::OriginUnavailable => 502,
            EdgeError::OriginTimeout => 504,
            EdgeError::TooManyInvalidTokens | EdgeError::TooManySignInRequests => 429,
            EdgeError::HeadersTooLarge => 431,
            EdgeError::Misconfigured => 500,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            EdgeError::Auth(e) => e.message(),
            EdgeError::NotFound => "not found",
            EdgeError::MethodNotAllowed(_) => "method not allowed",
            EdgeError::BadRequest => "invalid request body",
            EdgeError::TooLarge => "request body too large",
            EdgeError::AuthUnavailable => "auth backend unavailable",
            EdgeError::VerifierUnavailable => VERIFIER_UNAVAILABLE,
            EdgeError::OriginUnavailable => "origin unavailable",
            EdgeError::OriginTimeout => "origin timeout",
            EdgeError::TooManyInvalidTokens => "too many invalid tokens",
            EdgeError::TooManySignInRequests => tollgate_shared::limits::TOO_MANY_SIGN_IN_REQUESTS,
            EdgeError::HeadersTooLarge => "request header fields too large",
            EdgeError::Misconfigured => "internal error",
        }
    }

    pub fn body(self) -> String {
        json!({ "error": self.message() }).to_string()
    }

    /// Extra headers: the RFC 6750 challenge on 401s, `Retry-After` on 503s.
    pub fn headers(self) -> Vec<(&'static str, &'static str)> {
        match self {
            EdgeError::Auth(e) => e
                .challenge()
                .map(|c| ("www-authenticate", c))
                .into_iter()
                .collect(),
            EdgeError::AuthUnavailable | EdgeError::VerifierUnavailable => {
                vec![("retry-after", RETRY_AFTER_SECS)]
            }
            // The limiter's period: by then the client's count has started over.
            EdgeError::TooManyInvalidTokens => vec![("retry-after", "10")],
            // The sign-in bindings' period (`tollgate_shared::sign_in`: 60 s).
            EdgeError::TooManySignInRequests => vec![("retry-after", "60")],
            EdgeError::MethodNotAllowed(allow) => vec![("allow", allow)],
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_headers() {
        assert_eq!(EdgeError::NotFound.body(), r#"{"error":"not found"}"#);
        assert_eq!(
            EdgeError::Auth(AuthError::MissingAuthorization).headers(),
            vec![("www-authenticate", "Bearer")]
        );
        assert_eq!(
            EdgeError::Auth(AuthError::InvalidToken).headers(),
            vec![("www-authenticate", "Bearer error=\"invalid_token\"")]
        );
        assert_eq!(
            EdgeError::Auth(AuthError::InvalidSignature).headers(),
            vec![("www-authenticate", "Bearer error=\"invalid_token\"")]
        );
        assert_eq!(
            EdgeError::Auth(AuthError::InvalidToken).body(),
            r#"{"error":"invalid token"}"#
        );
        assert_eq!(
            EdgeError::AuthUnavailable.headers(),
            vec![("retry-after", "5")]
        );
        assert_eq!(EdgeError::AuthUnavailable.status(), 503);
        assert!(EdgeError::OriginUnavailable.headers().is_empty());
        assert_eq!(
            EdgeError::MethodNotAllowed("POST").headers(),
            vec![("allow", "POST")]
        );
        assert_eq!(EdgeError::OriginTimeout.status(), 504);
    }
}
