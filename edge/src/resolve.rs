//! The edge's cache-miss call: `POST {ORIGIN_URL}/internal/auth/resolve`, signed over
//! the body digest, and what its answer means.

use std::time::Duration;

use tollgate_shared::headers::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP};
use tollgate_shared::signing::{SignedAnswer, SignedRequest};
use tollgate_shared::wire::{ResolveAnswer, ResolveFailure, ResolveRequest, RESOLVE_PATH};
use tollgate_shared::{AuthError, SigningKey, Token};

use crate::errors::EdgeError;

/// The body to send: the hash, or for cloud PATs (verified by Fleet) the raw token.
pub fn request_body(token: &Token<'_>) -> String {
    // Serializing strings cannot fail; an empty body would be refused.
    serde_json::to_string(&ResolveRequest::for_token(token)).unwrap_or_default()
}

/// `(X-Edge-Timestamp, X-Edge-Signature)` for a resolve call with `body`.
pub fn sign(key: &SigningKey, body: &str, now: i64) -> Result<(String, String), EdgeError> {
    key.sign(
        &SignedRequest::internal("POST", RESOLVE_PATH, body.as_bytes()),
        now,
    )
    .map_err(|_| EdgeError::BadRequest)
}

/// The headers of a resolve call signed `(timestamp, signature)`.
pub fn call_headers<'a>(timestamp: &'a str, signature: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("content-type", "application/json"),
        (X_EDGE_TIMESTAMP, timestamp),
        (X_EDGE_SIGNATURE, signature),
    ]
}

/// A cache miss waits at most this long for the origin's resolver, its answer's body
/// included.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// What the origin answered a resolve call, with the signature on its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginAnswer {
    pub status: u16,
    pub body: Vec<u8>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
}

impl OriginAnswer {
    /// The answer with `status` and `body`, signed as its headers say (`header`: one of
    /// them by name).
    pub fn read(status: u16, header: impl Fn(&str) -> Option<String>, body: Vec<u8>) -> Self {
        OriginAnswer {
            status,
            body,
            timestamp: header(X_EDGE_TIMESTAMP),
            signature: header(X_EDGE_SIGNATURE),
        }
    }
}

/// Believes an answer only if the origin signed it for this very request
/// (`request_signature`), with this status and body, within the allowed skew. Anything
/// else — an unsigned answer, a proxy's error page, a replayed or stale answer — is no
/// answer: fail closed with 503, cache nothing.
pub fn verify_answer(
    key: &SigningKey,
    request_signature: &str,
    answer: &OriginAnswer,
    now: i64,
) -> Result<(), EdgeError> {
    let (Some(timestamp), Some(signature)) = (&answer.timestamp, &answer.signature) else {
        return Err(EdgeError::AuthUnavailable);
    };
    let signed = SignedAnswer {
        request_signature,
        status: answer.status,
        body: &answer.body,
    };
    key.verify_answer(&signed, timestamp, signature, now)
        .map_err(|_| EdgeError::AuthUnavailable)
}

/// The origin's (verified) answer: 200 → the answer; 401 `invalid token` → a refusal of
/// the token (the only answer the negative cache and the limiter count); 503 because
/// Fleet could not be asked → that 503, as the origin said it; anything else → the auth
/// backend is unavailable, fail closed with 503 and cache nothing. That includes a 401
/// `invalid signature` — the origin refused the edge's own request signature (clock
/// skew, another key), which says nothing about the token — and any other 401 body, as
/// well as 5xx, a 404 from an origin without the secret, or a body we cannot read.
pub fn interpret(status: u16, body: &[u8]) -> Result<ResolveAnswer, EdgeError> {
    if status == 200 {
        return serde_json::from_slice(body).map_err(|_| EdgeError::AuthUnavailable);
    }
    match ResolveFailure::from_answer(status, body) {
        Some(ResolveFailure::InvalidToken) => Err(AuthError::InvalidToken.into()),
        Some(ResolveFailure::VerifierUnavailable) => Err(EdgeError::VerifierUnavailable),
        Some(ResolveFailure::InvalidSignature) | None => Err(EdgeError::AuthUnavailable),
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
        let (ts, sig) = sign(&key, "{}", 100).unwrap();
        let req = SignedRequest::internal("POST", RESOLVE_PATH, b"{}");
        assert!(key.verify(&req, &ts, &sig, 100).is_ok());
    }

    #[test]
    fn the_call_is_json_with_its_signature() {
        assert_eq!(
            call_headers("100", "abc"),
            [
                ("content-type", "application/json"),
                ("x-edge-timestamp", "100"),
                ("x-edge-signature", "abc")
            ]
        );
    }

    #[test]
    fn an_answer_is_read_with_the_signature_in_its_headers() {
        let headers = [("x-edge-timestamp", "100"), ("x-edge-signature", "abc")];
        let header = |name: &str| {
            let found = headers.iter().find(|(n, _)| *n == name);
            found.map(|(_, v)| (*v).to_owned())
        };
        let answer = OriginAnswer::read(401, header, b"{}".to_vec());
        assert_eq!(
            answer,
            OriginAnswer {
                status: 401,
                body: b"{}".to_vec(),
                timestamp: Some("100".into()),
                signature: Some("abc".into()),
            }
        );
        let unsigned = OriginAnswer::read(200, |_| None, Vec::new());
        assert_eq!((unsigned.timestamp, unsigned.signature), (None, None));
        assert_eq!(TIMEOUT, Duration::from_secs(5));
    }

    #[test]
    fn only_answers_signed_for_this_request_are_believed() {
        let key = SigningKey::new("k");
        let sign = |request_signature: &str, status: u16, body: &[u8], at: i64| {
            let answer = SignedAnswer {
                request_signature,
                status,
                body,
            };
            let (ts, sig) = key.sign_answer(&answer, at).unwrap();
            OriginAnswer {
                status,
                body: body.to_vec(),
                timestamp: Some(ts),
                signature: Some(sig),
            }
        };
        let good = sign("req", 200, b"{}", 100);
        assert_eq!(verify_answer(&key, "req", &good, 100), Ok(()));
        let unsigned = OriginAnswer {
            timestamp: None,
            signature: None,
            ..good.clone()
        };
        let refused = [
            (unsigned, "req", 100),
            (good.clone(), "another request", 100),
            (good.clone(), "req", 161),
            (
                OriginAnswer {
                    status: 401,
                    ..good.clone()
                },
                "req",
                100,
            ),
            (
                OriginAnswer {
                    body: b"{ }".to_vec(),
                    ..good.clone()
                },
                "req",
                100,
            ),
        ];
        for (answer, request_signature, now) in refused {
            assert_eq!(
                verify_answer(&key, request_signature, &answer, now),
                Err(EdgeError::AuthUnavailable),
                "{answer:?}"
            );
        }
        let other_key = SigningKey::new("not k");
        assert!(verify_answer(&other_key, "req", &good, 100).is_err());
    }

    #[test]
    fn answers() {
        let ok = concat!(
            r#"{"identity":{"actor_source":"pat","user_id":"7d4f9c2e-0000-4000-8000-000000000001","#,
            r#""user_email":null,"workspace_id":null,"daemon_id":null,"agent_id":null,"#,
            r#""task_id":null,"access":"write"},"ttl_secs":600}"#
        );
        let answer = interpret(200, ok.as_bytes()).unwrap();
        assert_eq!(answer.identity.source(), ActorSource::Pat);
        assert_eq!(answer.ttl_secs, 600);
        for status in [500, 503, 404, 400] {
            assert_eq!(
                interpret(status, b"").unwrap_err(),
                EdgeError::AuthUnavailable
            );
        }
        assert_eq!(
            interpret(200, b"garbage").unwrap_err(),
            EdgeError::AuthUnavailable
        );
        let fleet_down = br#"{"error":"cloud pat verifier unavailable"}"#;
        assert_eq!(
            interpret(503, fleet_down).unwrap_err(),
            EdgeError::VerifierUnavailable
        );
        // Only a 503 says that; the same words with another status are no answer.
        assert_eq!(
            interpret(500, fleet_down).unwrap_err(),
            EdgeError::AuthUnavailable
        );
    }

    #[test]
    fn only_an_invalid_token_401_refuses_the_token() {
        let body = |e: AuthError| EdgeError::Auth(e).body().into_bytes();
        assert_eq!(
            interpret(401, &body(AuthError::InvalidToken)).unwrap_err(),
            EdgeError::Auth(AuthError::InvalidToken)
        );
        assert_eq!(
            interpret(401, br#"{ "error": "invalid token" }"#).unwrap_err(),
            EdgeError::Auth(AuthError::InvalidToken)
        );
        // The origin refused the edge's signature: an outage of ours, not the token's.
        let other_401s = [
            body(AuthError::InvalidSignature),
            body(AuthError::MissingAuthorization),
            body(AuthError::InvalidClaims),
            br#"{"error":"Invalid Token"}"#.to_vec(),
            br#"{"error":"invalid token "}"#.to_vec(),
            br#"{"message":"invalid token"}"#.to_vec(),
            b"invalid token".to_vec(),
            b"".to_vec(),
        ];
        for other in other_401s {
            let refused = interpret(401, &other).unwrap_err();
            assert_eq!(
                refused,
                EdgeError::AuthUnavailable,
                "{}",
                String::from_utf8_lossy(&other)
            );
            assert_eq!(refused.status(), 503);
            assert_eq!(refused.headers(), vec![("retry-after", "5")]);
        }
    }
}
