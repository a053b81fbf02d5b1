//! The bodies of the calls between the edge and the origin (DESIGN.md "Caches and
//! invalidation"), defined once for both sides and for the client crate.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::token::{RawToken, Token, TokenHash, TokenKind};

/// The origin's resolver, called by the edge on a cache miss.
pub const RESOLVE_PATH: &str = "/internal/auth/resolve";
/// The edge's purge endpoint, called by the origin after a revocation.
pub const PURGE_PATH: &str = "/__tollgate/purge";
/// The largest request body any endpoint takes, at the edge and at the origin alike.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The cloud-runtime proxy (`/api/cloud-runtime/…` → Fleet) carries larger bodies
/// (`exec` payloads): its limit replaces [`MAX_BODY_BYTES`] there, on both sides.
pub const CLOUD_RUNTIME_PREFIX: &str = "/api/cloud-runtime/";
pub const CLOUD_RUNTIME_MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long the origin waits for Fleet on a proxied call before answering 504; the
/// edge waits longer on those routes, so that the origin's answer is the one a client
/// gets.
pub const CLOUD_RUNTIME_TIMEOUT_SECS: u64 = 35;
/// The 503 of a resolve the origin could not decide because Fleet did not answer
/// usably; the edge passes it on as it is, not as its own "auth backend unavailable".
pub const VERIFIER_UNAVAILABLE: &str = "cloud pat verifier unavailable";

/// The largest request body a path takes.
pub fn max_body_bytes(path: &str) -> usize {
    if path.starts_with(CLOUD_RUNTIME_PREFIX) {
        CLOUD_RUNTIME_MAX_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

/// `POST /internal/auth/resolve`: `{"kind":"mul","hash":"<64 hex>"}`, or for cloud PATs
/// (verified by Fleet, which needs the token itself) `{"kind":"mcn","token":"mcn_…"}`.
/// Both secrets redact themselves in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<TokenHash>,
    pub kind: TokenKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<RawToken>,
}

impl ResolveRequest {
    /// What the edge sends for a presented token: its hash, or the cloud PAT itself.
    pub fn for_token(token: &Token<'_>) -> ResolveRequest {
        match token.kind {
            TokenKind::Cloud => ResolveRequest {
                hash: None,
                kind: token.kind,
                token: Some(token.to_raw()),
            },
            kind => ResolveRequest {
                hash: Some(token.hash()),
                kind,
                token: None,
            },
        }
    }
}

/// The resolver's 200: who the token belongs to and how long the edge may cache that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveAnswer {
    pub identity: Actor,
    pub ttl_secs: u64,
}

/// `POST /api/install-tokens/exchange`: what an installer sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRequest {
    pub token: RawToken,
    pub daemon_id: String,
}

/// Its 200: the daemon token, shown this once, and where it belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeAnswer {
    pub token: RawToken,
    pub workspace_id: uuid::Uuid,
    pub daemon_id: String,
    /// The member the daemon acts for.
    pub user_id: uuid::Uuid,
    /// RFC 3339.
    pub expires_at: String,
}

/// `POST /__tollgate/purge`: the cache keys that went stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeRequest {
    pub keys: Vec<String>,
}

/// The edge's answer to a purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeAnswer {
    pub purged: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token;

    #[test]
    fn resolve_request_carries_the_hash_not_the_token() {
        let raw = RawToken::generate(TokenKind::Pat).unwrap();
        let t = token::parse(raw.expose()).unwrap();
        let body = serde_json::to_string(&ResolveRequest::for_token(&t)).unwrap();
        assert!(!body.contains(raw.expose()));
        assert_eq!(
            body,
            format!(r#"{{"hash":"{}","kind":"mul"}}"#, raw.hash().as_str())
        );
        let back: ResolveRequest = serde_json::from_str(&body).unwrap();
        assert_eq!(back.hash, Some(raw.hash()));
        assert!(!format!("{back:?}").contains(raw.hash().as_str()));
    }

    #[test]
    fn cloud_pats_travel_raw_but_never_in_debug() {
        let t = token::parse("mcn_fleet-minted-token").unwrap();
        let req = ResolveRequest::for_token(&t);
        let body = serde_json::to_string(&req).unwrap();
        assert_eq!(body, r#"{"kind":"mcn","token":"mcn_fleet-minted-token"}"#);
        assert!(!format!("{req:?}").contains("minted-token"));
    }

    #[test]
    fn malformed_requests_do_not_parse() {
        for bad in [
            "{}",
            r#"{"kind":"xyz","hash":"00"}"#,
            r#"{"kind":"mul","hash":"ABC"}"#,
            r#"{"kind":"mul","hash":5}"#,
        ] {
            assert!(
                serde_json::from_str::<ResolveRequest>(bad).is_err(),
                "{bad}"
            );
        }
        let kind_only: ResolveRequest = serde_json::from_str(r#"{"kind":"mul"}"#).unwrap();
        assert_eq!((kind_only.hash, kind_only.token), (None, None));
    }

    #[test]
    fn answer_shape() {
        let json = r#"{"identity":{"actor_source":"pat","user_id":"7d4f9c2e-0000-4000-8000-000000000001","user_email":null,"workspace_id":null,"daemon_id":null,"agent_id":null,"task_id":null},"ttl_secs":600}"#;
        let answer: ResolveAnswer = serde_json::from_str(json).unwrap();
        assert_eq!(answer.ttl_secs, 600);
        assert_eq!(serde_json::to_string(&answer).unwrap(), json);
    }
}
