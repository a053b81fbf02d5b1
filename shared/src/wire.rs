//! The bodies of the calls between the edge and the origin (docs/ARCHITECTURE.md "Caches and
//! invalidation"), defined once for both sides and for the client crate.

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::errors::AuthError;
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

/// The resolver's error answers that the edge acts on, read once from an answer's
/// status and its `{"error": …}` text (the words the origin answers with). Any other
/// answer is none of these, and the edge fails closed on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveFailure {
    /// 401 `invalid token`: the token was refused.
    InvalidToken,
    /// 401 `invalid signature`: the edge's own call was refused (clock skew, another
    /// key), which says nothing about the token.
    InvalidSignature,
    /// 503 `cloud pat verifier unavailable`: Fleet could not be asked about a cloud PAT.
    VerifierUnavailable,
}

impl ResolveFailure {
    pub const ALL: [ResolveFailure; 3] = [
        ResolveFailure::InvalidToken,
        ResolveFailure::InvalidSignature,
        ResolveFailure::VerifierUnavailable,
    ];

    pub fn status(self) -> u16 {
        match self {
            ResolveFailure::InvalidToken => AuthError::InvalidToken.status(),
            ResolveFailure::InvalidSignature => AuthError::InvalidSignature.status(),
            ResolveFailure::VerifierUnavailable => 503,
        }
    }

    /// The `error` text of the answer.
    pub fn message(self) -> &'static str {
        match self {
            ResolveFailure::InvalidToken => AuthError::InvalidToken.message(),
            ResolveFailure::InvalidSignature => AuthError::InvalidSignature.message(),
            ResolveFailure::VerifierUnavailable => VERIFIER_UNAVAILABLE,
        }
    }

    /// The failure whose `error` text is exactly `message`.
    pub fn from_message(message: &str) -> Option<ResolveFailure> {
        ResolveFailure::ALL
            .into_iter()
            .find(|f| f.message() == message)
    }

    /// The failure an answer is: its `error` text and its status must both be this
    /// failure's. A body that is not `{"error": "<text>"}` is none.
    pub fn from_answer(status: u16, body: &[u8]) -> Option<ResolveFailure> {
        #[derive(Deserialize)]
        struct ErrorBody {
            error: String,
        }
        let body: ErrorBody = serde_json::from_slice(body).ok()?;
        ResolveFailure::from_message(&body.error).filter(|f| f.status() == status)
    }
}

/// The largest request body a path takes.
pub fn max_body_bytes(path: &str) -> usize {
    if path.starts_with(CLOUD_RUNTIME_PREFIX) {
        CLOUD_RUNTIME_MAX_BODY_BYTES
    } else if path == crate::leaks::REVOKE_LEAKED_PATH {
        crate::leaks::MAX_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

/// `POST /internal/auth/resolve`: one of our tokens by its hash, or a cloud PAT itself
/// (Fleet verifies those and needs the token). On the wire
/// `{"hash":"<64 hex>","kind":"mul"}` or `{"kind":"mcn","token":"mcn_…"}`, other fields
/// ignored; a body that is neither (a hash kind without its hash, `mcn` without its
/// token) does not parse. Both secrets redact themselves in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ResolveFields<TokenHash, RawToken>")]
pub enum ResolveRequest {
    /// Our own kinds (`mul`, `mdt`, `mat`, `mit`): never [`TokenKind::Cloud`].
    ByHash { kind: TokenKind, hash: TokenHash },
    /// A cloud PAT (`mcn`), raw, as presented: the origin still parses it.
    CloudPat { token: RawToken },
}

impl ResolveRequest {
    /// What the edge sends for a presented token: its hash, or the cloud PAT itself.
    pub fn for_token(token: &Token<'_>) -> ResolveRequest {
        match token.kind {
            TokenKind::Cloud => ResolveRequest::CloudPat {
                token: token.to_raw(),
            },
            kind => ResolveRequest::ByHash {
                kind,
                hash: token.hash(),
            },
        }
    }

    pub fn kind(&self) -> TokenKind {
        match self {
            ResolveRequest::ByHash { kind, .. } => *kind,
            ResolveRequest::CloudPat { .. } => TokenKind::Cloud,
        }
    }
}

/// The fields as they travel, in the order they always have (the body is signed, and
/// its bytes are pinned by a test).
#[derive(Serialize, Deserialize)]
struct ResolveFields<H, T> {
    // A missing `Option` field is `None`: no `default`, which would bound `H: Default`.
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<H>,
    kind: TokenKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<T>,
}

impl Serialize for ResolveRequest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields: ResolveFields<&TokenHash, &RawToken> = match self {
            ResolveRequest::ByHash { kind, hash } => ResolveFields {
                hash: Some(hash),
                kind: *kind,
                token: None,
            },
            ResolveRequest::CloudPat { token } => ResolveFields {
                hash: None,
                kind: TokenKind::Cloud,
                token: Some(token),
            },
        };
        fields.serialize(s)
    }
}

impl TryFrom<ResolveFields<TokenHash, RawToken>> for ResolveRequest {
    type Error = &'static str;

    fn try_from(fields: ResolveFields<TokenHash, RawToken>) -> Result<Self, Self::Error> {
        match (fields.kind, fields.hash, fields.token) {
            (TokenKind::Cloud, _, Some(token)) => Ok(ResolveRequest::CloudPat { token }),
            (TokenKind::Cloud, _, None) => Err("a cloud pat travels as its token"),
            (kind, Some(hash), _) => Ok(ResolveRequest::ByHash { kind, hash }),
            (_, None, _) => Err("a token of our own travels as its hash"),
        }
    }
}

/// The resolver's 200: who the token belongs to and how long the edge may cache that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ResolveAnswer {
    pub identity: Actor,
    /// How long the edge may cache this answer.
    pub ttl_secs: u64,
}

/// `POST /api/install-tokens/exchange`: what an installer sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExchangeRequest {
    /// The install token, `mit_…`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub token: RawToken,
    pub daemon_id: String,
}

/// The exchange's 409: the daemon id is another member's (their live token holds it).
pub const DAEMON_ID_TAKEN: &str = "daemon id already enrolled";

/// The exchange's 200: the daemon token, shown this once, and where it belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExchangeAnswer {
    /// The daemon token, `mdt_…`, shown this once.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
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
        assert_eq!(
            back,
            ResolveRequest::ByHash {
                kind: TokenKind::Pat,
                hash: raw.hash()
            }
        );
        assert_eq!(back.kind(), TokenKind::Pat);
        assert!(!format!("{back:?}").contains(raw.hash().as_str()));
    }

    #[test]
    fn the_bytes_of_each_shape_are_pinned() {
        // The body is signed: these bytes are the contract, not just their meaning.
        let hash = TokenHash::of("mdt_pinned");
        let by_hash = ResolveRequest::ByHash {
            kind: TokenKind::Daemon,
            hash,
        };
        assert_eq!(
            serde_json::to_string(&by_hash).unwrap(),
            format!(r#"{{"hash":"{}","kind":"mdt"}}"#, hash.as_str())
        );
        let cloud = ResolveRequest::CloudPat {
            token: token::parse("mcn_pinned").unwrap().to_raw(),
        };
        assert_eq!(
            serde_json::to_string(&cloud).unwrap(),
            r#"{"kind":"mcn","token":"mcn_pinned"}"#
        );
        assert_eq!(cloud.kind(), TokenKind::Cloud);
        // Either order parses, and fields a shape does not use are ignored.
        let extra = format!(
            r#"{{"kind":"mdt","hash":"{}","token":"x","other":1}}"#,
            hash.as_str()
        );
        assert_eq!(
            serde_json::from_str::<ResolveRequest>(&extra).unwrap(),
            by_hash
        );
        let extra = format!(
            r#"{{"token":"mcn_pinned","hash":"{}","kind":"mcn"}}"#,
            hash.as_str()
        );
        assert_eq!(
            serde_json::from_str::<ResolveRequest>(&extra).unwrap(),
            cloud
        );
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
            // A shape without its secret (the origin answered these 400 before too).
            r#"{"kind":"mul"}"#,
            r#"{"kind":"mul","token":"mul_x"}"#,
            r#"{"kind":"mcn"}"#,
            r#"{"kind":"mcn","hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
        ] {
            assert!(
                serde_json::from_str::<ResolveRequest>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn failures_are_read_from_status_and_text() {
        for f in ResolveFailure::ALL {
            let body = format!(r#"{{"error":"{}"}}"#, f.message());
            assert_eq!(ResolveFailure::from_message(f.message()), Some(f));
            assert_eq!(
                ResolveFailure::from_answer(f.status(), body.as_bytes()),
                Some(f)
            );
            // The same words with another status are not that answer.
            assert_eq!(ResolveFailure::from_answer(500, body.as_bytes()), None);
        }
        assert_eq!(
            ResolveFailure::InvalidToken.message(),
            AuthError::InvalidToken.message()
        );
        assert_eq!(
            ResolveFailure::VerifierUnavailable.message(),
            "cloud pat verifier unavailable"
        );
        assert_eq!(
            ResolveFailure::from_answer(401, br#"{ "error": "invalid token", "x": 1 }"#),
            Some(ResolveFailure::InvalidToken)
        );
        for other in [
            &br#"{"error":"Invalid Token"}"#[..],
            br#"{"error":"invalid token "}"#,
            br#"{"message":"invalid token"}"#,
            br#"{"error":5}"#,
            b"invalid token",
            b"",
        ] {
            assert_eq!(ResolveFailure::from_answer(401, other), None);
        }
    }

    #[test]
    fn answer_shape() {
        let json = concat!(
            r#"{"identity":{"actor_source":"pat","user_id":"7d4f9c2e-0000-4000-8000-000000000001","#,
            r#""user_email":null,"workspace_id":null,"daemon_id":null,"agent_id":null,"task_id":null,"#,
            r#""access":"write"},"#,
            r#""ttl_secs":600}"#
        );
        let answer: ResolveAnswer = serde_json::from_str(json).unwrap();
        assert_eq!(answer.ttl_secs, 600);
        assert_eq!(serde_json::to_string(&answer).unwrap(), json);
    }
}
