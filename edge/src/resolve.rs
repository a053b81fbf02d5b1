//! The edge's cache-miss call: `POST {ORIGIN_URL}/internal/auth/resolve`, signed over
//! the body digest, and what its answer means.

use tollgate_shared::signing::Request;
use tollgate_shared::wire::{ResolveAnswer, ResolveRequest, RESOLVE_PATH};
use tollgate_shared::{AuthError, SigningKey, Token};

use crate::errors::EdgeError;

/// The body to send: the hash, or for cloud PATs (verified by Fleet) the raw token.
pub fn request_body(token: &Token<'_>) -> String {
    // Serializing a struct of strings cannot fail; an empty body would be refused.
    serde_json::to_string(&ResolveRequest::for_token(token)).unwrap_or_default()
}

/// `(X-Edge-Timestamp, X-Edge-Signature)` for a resolve call with `body`.
pub fn sign(key: &SigningKey, body: &str, now: i64) -> (String, String) {
    key.sign(
        &Request::internal("POST", RESOLVE_PATH, body.as_bytes()),
        now,
    )
}

/// The origin's answer: 200 → the answer; 401 → invalid token (not cached); anything
/// else (5xx, a 404 from an origin without the secret, a body we cannot read) → the
/// auth backend is unavailable, fail closed with 503.
pub fn interpret(status: u16, body: &str) -> Result<ResolveAnswer, EdgeError> {
    match status {
        200 => serde_json::from_str(body).map_err(|_| EdgeError::AuthUnavailable),
        401 => Err(AuthError::InvalidToken.into()),
        _ => Err(EdgeError::AuthUnavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_shared::{token, ActorSource, RawToken, TokenKind};

    #[test]
    fn body_carries_the_hash_not_the_token() {
        let raw = RawToken::generate(TokenKind::Pat).unwrap();
        let t = token::parse(raw.expose()).unwrap();
        let body = request_body(&t);
        assert!(!body.contains(raw.expose()));
        assert_eq!(
            body,
            format!(r#"{{"hash":"{}","kind":"mul"}}"#, raw.hash().as_str())
        );
    }

    #[test]
    fn signature_verifies_like_the_origin_does() {
        let key = SigningKey::new("k");
        let (ts, sig) = sign(&key, "{}", 100);
        let req = Request::internal("POST", RESOLVE_PATH, b"{}");
        assert!(key.verify(&req, &ts, &sig, 100).is_ok());
    }

    #[test]
    fn answers() {
        let ok = r#"{"identity":{"actor_source":"pat","user_id":"7d4f9c2e-0000-4000-8000-000000000001","user_email":null,"workspace_id":null,"daemon_id":null,"agent_id":null,"task_id":null},"ttl_secs":600}"#;
        let answer = interpret(200, ok).unwrap();
        assert_eq!(answer.identity.source(), ActorSource::Pat);
        assert_eq!(answer.ttl_secs, 600);
        assert_eq!(
            interpret(401, "").unwrap_err(),
            EdgeError::Auth(AuthError::InvalidToken)
        );
        for status in [500, 503, 404, 400] {
            assert_eq!(
                interpret(status, "").unwrap_err(),
                EdgeError::AuthUnavailable
            );
        }
        assert_eq!(
            interpret(200, "garbage").unwrap_err(),
            EdgeError::AuthUnavailable
        );
    }
}
