//! The edge's cache-miss call: `POST {ORIGIN_URL}/internal/auth/resolve`, signed over
//! the body digest, and what its answer means.

use serde::Deserialize;
use serde_json::json;
use tollgate_shared::signing::Request;
use tollgate_shared::{Identity, SigningKey, Token, TokenKind};

use crate::errors::EdgeError;

pub const PATH: &str = "/internal/auth/resolve";

/// The body to send: the hash, or for cloud PATs (verified by Fleet) the raw token.
pub fn request_body(token: &Token<'_>) -> String {
    match token.kind {
        TokenKind::Cloud => json!({ "kind": "mcn", "token": token.expose() }),
        kind => json!({ "kind": kind.as_str(), "hash": token.hash().as_str() }),
    }
    .to_string()
}

/// `(X-Edge-Timestamp, X-Edge-Signature)` for a resolve call with `body`.
pub fn sign(key: &SigningKey, body: &str, now: i64) -> (String, String) {
    key.sign(&Request::internal("POST", PATH, body.as_bytes()), now)
}

#[derive(Debug, Deserialize)]
struct Answer {
    identity: Identity,
    ttl_secs: u64,
}

/// The origin's answer: 200 → identity and TTL; 401 → invalid token (not cached);
/// anything else (5xx, a 404 from an origin without the secret, a body we cannot
/// read) → the auth backend is unavailable, fail closed with 503.
pub fn interpret(status: u16, body: &str) -> Result<(Identity, u64), EdgeError> {
    match status {
        200 => serde_json::from_str::<Answer>(body)
            .map(|a| (a.identity, a.ttl_secs))
            .map_err(|_| EdgeError::AUTH_UNAVAILABLE),
        401 => Err(EdgeError::INVALID_TOKEN),
        _ => Err(EdgeError::AUTH_UNAVAILABLE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_shared::{token, ActorSource, RawToken};

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
        let req = Request::internal("POST", PATH, b"{}");
        assert!(key.verify(&req, &ts, &sig, 100).is_ok());
    }

    #[test]
    fn answers() {
        let ok = r#"{"identity":{"actor_source":"pat","user_id":"u","user_email":null,"workspace_id":null,"daemon_id":null,"agent_id":null,"task_id":null},"ttl_secs":600}"#;
        let (identity, ttl) = interpret(200, ok).unwrap();
        assert_eq!(identity.actor_source, ActorSource::Pat);
        assert_eq!(ttl, 600);
        assert_eq!(interpret(401, "").unwrap_err(), EdgeError::INVALID_TOKEN);
        for status in [500, 503, 404, 400] {
            assert_eq!(
                interpret(status, "").unwrap_err(),
                EdgeError::AUTH_UNAVAILABLE
            );
        }
        assert_eq!(
            interpret(200, "garbage").unwrap_err(),
            EdgeError::AUTH_UNAVAILABLE
        );
    }
}
