//! Edge↔origin request signing, `tollgate-v1`, byte for byte as docs/ARCHITECTURE.md "Request signature".
//!
//! `X-Edge-Signature` = hex(HMAC-SHA256(EDGE_ORIGIN_SECRET, message)), where the message
//! is these lines joined by `\n`: `tollgate-v1`, the method in upper case, the path and
//! query as sent, the timestamp as in `X-Edge-Timestamp`, the body digest, then the seven
//! identity header values in [`SIGNED_IDENTITY_HEADERS`] order (empty when absent).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

#[cfg(doc)]
use crate::headers::SIGNED_IDENTITY_HEADERS;
use crate::hex;

pub const VERSION: &str = "tollgate-v1";
/// The first line of a signed answer's message.
pub const ANSWER_VERSION: &str = "tollgate-v1-answer";
/// Signatures older or newer than this (seconds, against the receiver's clock) are refused.
pub const MAX_SKEW_SECS: i64 = 60;
/// The body line of forwarded client requests, whose bodies are streamed, not hashed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

type HmacSha256 = Hmac<Sha256>;

/// The body line: `UNSIGNED-PAYLOAD` for forwarded client requests, the sha256 of the
/// body for `/internal/*` and `/__tollgate/*` calls.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Unsigned,
    Digest(&'a [u8]),
}

impl Body<'_> {
    fn line(self) -> String {
        match self {
            Body::Unsigned => UNSIGNED_PAYLOAD.to_owned(),
            Body::Digest(bytes) => ::hex::encode(Sha256::digest(bytes)),
        }
    }
}

/// What a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub body: Body<'a>,
    /// The seven identity header values in signature order; `[""; 7]` for none.
    pub identity: [&'a str; 7],
}

impl<'a> Request<'a> {
    /// A call between the two sides themselves (`/internal/*`, `/__tollgate/*`): no
    /// identity, and the body signed by its digest.
    pub fn internal(method: &'a str, path_and_query: &'a str, body: &'a [u8]) -> Request<'a> {
        Request {
            method,
            path_and_query,
            body: Body::Digest(body),
            identity: [""; 7],
        }
    }
}

/// The shared secret. Redacts itself.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("malformed timestamp")]
    BadTimestamp,
    #[error("timestamp outside the allowed skew")]
    Stale,
    #[error("signature mismatch")]
    Mismatch,
    /// A signed field holds a control character: with a `\n` in a value, two different
    /// requests could have the same message, so nothing with one is signed or believed.
    #[error("control character in a signed field")]
    ControlCharacter,
}

/// What an answer's signature covers (docs/ARCHITECTURE.md "Signed answers"): the signature of the
/// request it answers, its status and its body.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub request_signature: &'a str,
    pub status: u16,
    pub body: &'a [u8],
}

fn has_control(field: &str) -> bool {
    field.chars().any(char::is_control)
}

/// The exact bytes that are signed for a request.
pub fn canonical_message(req: &Request<'_>, timestamp: &str) -> Result<String, SignatureError> {
    let method = req.method.to_ascii_uppercase();
    let body = req.body.line();
    let mut lines = vec![VERSION, &method, req.path_and_query, timestamp, &body];
    lines.extend(req.identity);
    if lines.iter().any(|l| has_control(l)) {
        return Err(SignatureError::ControlCharacter);
    }
    Ok(lines.join("\n"))
}

/// The exact bytes that are signed for an answer.
pub fn canonical_answer(answer: &Answer<'_>, timestamp: &str) -> Result<String, SignatureError> {
    if has_control(answer.request_signature) || has_control(timestamp) {
        return Err(SignatureError::ControlCharacter);
    }
    Ok(format!(
        "{ANSWER_VERSION}\n{}\n{:03}\n{timestamp}\n{}",
        answer.request_signature,
        answer.status,
        ::hex::encode(Sha256::digest(answer.body)),
    ))
}

impl SigningKey {
    pub fn new(secret: &str) -> SigningKey {
        SigningKey(secret.as_bytes().to_vec())
    }

    /// The length of the secret, for the start-up checks that refuse short ones.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn mac(&self, message: &str) -> HmacSha256 {
        // HMAC takes keys of any length; this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(message.as_bytes());
        mac
    }

    fn sign_message(&self, message: &str) -> String {
        ::hex::encode(self.mac(message).finalize().into_bytes())
    }

    /// The timestamp within ±60 s of `now`, then the MAC in constant time.
    fn verify_message(
        &self,
        message: impl FnOnce(&str) -> Result<String, SignatureError>,
        timestamp: &str,
        signature: &str,
        now: i64,
    ) -> Result<(), SignatureError> {
        let sent = parse_timestamp(timestamp).ok_or(SignatureError::BadTimestamp)?;
        if now.abs_diff(sent) > MAX_SKEW_SECS.unsigned_abs() {
            return Err(SignatureError::Stale);
        }
        let tag = hex::decode(signature).ok_or(SignatureError::Mismatch)?;
        self.mac(&message(timestamp)?)
            .verify_slice(&tag)
            .map_err(|_| SignatureError::Mismatch)
    }

    /// Returns `(X-Edge-Timestamp, X-Edge-Signature)` for a request sent at `now`.
    pub fn sign(&self, req: &Request<'_>, now: i64) -> Result<(String, String), SignatureError> {
        let timestamp = now.to_string();
        let signature = self.sign_message(&canonical_message(req, &timestamp)?);
        Ok((timestamp, signature))
    }

    /// Checks a received request signature.
    pub fn verify(
        &self,
        req: &Request<'_>,
        timestamp: &str,
        signature: &str,
        now: i64,
    ) -> Result<(), SignatureError> {
        self.verify_message(|ts| canonical_message(req, ts), timestamp, signature, now)
    }

    /// Returns `(X-Edge-Timestamp, X-Edge-Signature)` for an answer sent at `now`.
    pub fn sign_answer(
        &self,
        answer: &Answer<'_>,
        now: i64,
    ) -> Result<(String, String), SignatureError> {
        let timestamp = now.to_string();
        let signature = self.sign_message(&canonical_answer(answer, &timestamp)?);
        Ok((timestamp, signature))
    }

    /// Checks the signature of an answer before the caller believes it.
    pub fn verify_answer(
        &self,
        answer: &Answer<'_>,
        timestamp: &str,
        signature: &str,
        now: i64,
    ) -> Result<(), SignatureError> {
        self.verify_message(|ts| canonical_answer(answer, ts), timestamp, signature, now)
    }
}

/// Decimal unix seconds, digits only: no sign, no spaces, no leading `+`.
fn parse_timestamp(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Actor;
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000;

    fn pat_identity() -> [String; 7] {
        let user_id = "7d4f9c2e-0000-4000-8000-000000000001".parse().unwrap();
        Actor::Pat { user_id }.signing_values()
    }

    #[test]
    fn fixed_vector() {
        // Computed independently with Python's hmac module from the same lines.
        let id = pat_identity();
        let req = Request {
            method: "get",
            path_and_query: "/api/me?x=1",
            body: Body::Unsigned,
            identity: id.each_ref().map(String::as_str),
        };
        let key = SigningKey::new("test-secret");
        assert_eq!(
            canonical_message(&req, "1700000000").unwrap(),
            "tollgate-v1\nGET\n/api/me?x=1\n1700000000\nUNSIGNED-PAYLOAD\n\
             7d4f9c2e-0000-4000-8000-000000000001\n\npat\n\n\n\n"
        );
        let (ts, sig) = key.sign(&req, NOW).unwrap();
        assert_eq!(ts, "1700000000");
        assert_eq!(sig, FIXED_SIGNATURE);
    }

    #[test]
    fn fixed_vector_with_body_digest() {
        let req = Request::internal(
            "POST",
            "/internal/auth/resolve",
            br#"{"kind":"mul","hash":"00"}"#,
        );
        let (_, sig) = SigningKey::new("test-secret").sign(&req, NOW).unwrap();
        assert_eq!(sig, FIXED_BODY_SIGNATURE);
    }

    #[test]
    fn verify_accepts_within_skew_and_rejects_outside() {
        let id = pat_identity();
        let req = Request {
            method: "GET",
            path_and_query: "/api/me",
            body: Body::Unsigned,
            identity: id.each_ref().map(String::as_str),
        };
        let key = SigningKey::new("s");
        let (ts, sig) = key.sign(&req, NOW).unwrap();
        assert_eq!(key.verify(&req, &ts, &sig, NOW), Ok(()));
        assert_eq!(key.verify(&req, &ts, &sig, NOW + 60), Ok(()));
        assert_eq!(key.verify(&req, &ts, &sig, NOW - 60), Ok(()));
        assert_eq!(
            key.verify(&req, &ts, &sig, NOW + 61),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            key.verify(&req, &ts, &sig, NOW - 61),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            SigningKey::new("other").verify(&req, &ts, &sig, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            key.verify(&req, "+1700000000", &sig, NOW),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            key.verify(&req, &ts, &sig.to_uppercase(), NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            key.verify(&req, &ts, "", NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn every_covered_field_matters() {
        let key = SigningKey::new("s");
        let id = pat_identity();
        let base = Request {
            method: "GET",
            path_and_query: "/api/me",
            body: Body::Unsigned,
            identity: id.each_ref().map(String::as_str),
        };
        let (ts, sig) = key.sign(&base, NOW).unwrap();
        let mut changed = vec![
            Request {
                method: "POST",
                ..base
            },
            Request {
                path_and_query: "/api/me?x",
                ..base
            },
            Request {
                body: Body::Digest(b""),
                ..base
            },
        ];
        for i in 0..7 {
            let mut identity = base.identity;
            identity[i] = if identity[i] == "x" { "y" } else { "x" };
            changed.push(Request { identity, ..base });
        }
        for req in changed {
            assert_eq!(
                key.verify(&req, &ts, &sig, NOW),
                Err(SignatureError::Mismatch),
                "{req:?}"
            );
        }
    }

    #[test]
    fn control_characters_are_never_signed_nor_believed() {
        let key = SigningKey::new("s");
        let id = pat_identity();
        let mut identity = id.each_ref().map(String::as_str);
        identity[1] = "ada@example.com\nx-user-id: someone-else";
        let req = Request {
            method: "GET",
            path_and_query: "/api/me",
            body: Body::Unsigned,
            identity,
        };
        assert_eq!(key.sign(&req, NOW), Err(SignatureError::ControlCharacter));
        for bad in ["/api/me\r", "/api/\u{0}me", "/api/\u{7f}"] {
            let req = Request::internal("GET", bad, b"");
            assert_eq!(key.sign(&req, NOW), Err(SignatureError::ControlCharacter));
        }
        let (ts, sig) = key.sign(&Request::internal("GET", "/x", b""), NOW).unwrap();
        let tampered = Request::internal("GET", "/x\n", b"");
        assert_eq!(
            key.verify(&tampered, &ts, &sig, NOW),
            Err(SignatureError::ControlCharacter)
        );
    }

    #[test]
    fn answers_fixed_vectors() {
        // Computed independently with Python's hmac module from the same lines.
        let key = SigningKey::new("test-secret");
        let answer = Answer {
            request_signature: FIXED_BODY_SIGNATURE,
            status: 200,
            body: br#"{"ok":true}"#,
        };
        let (ts, sig) = key.sign_answer(&answer, NOW).unwrap();
        assert_eq!(
            (ts.as_str(), sig.as_str()),
            ("1700000000", FIXED_ANSWER_SIGNATURE)
        );
        let unsigned_request = Answer {
            request_signature: "",
            status: 404,
            body: b"",
        };
        let (_, sig) = key.sign_answer(&unsigned_request, NOW).unwrap();
        assert_eq!(sig, FIXED_EMPTY_ANSWER_SIGNATURE);
    }

    #[test]
    fn answers_are_bound_to_request_status_and_body() {
        let key = SigningKey::new("s");
        let answer = Answer {
            request_signature: "ab",
            status: 200,
            body: b"{}",
        };
        let (ts, sig) = key.sign_answer(&answer, NOW).unwrap();
        assert_eq!(key.verify_answer(&answer, &ts, &sig, NOW + 60), Ok(()));
        assert_eq!(
            key.verify_answer(&answer, &ts, &sig, NOW + 61),
            Err(SignatureError::Stale)
        );
        for changed in [
            Answer {
                request_signature: "ac",
                ..answer
            },
            Answer {
                status: 201,
                ..answer
            },
            Answer {
                body: b"{ }",
                ..answer
            },
        ] {
            assert_eq!(
                key.verify_answer(&changed, &ts, &sig, NOW),
                Err(SignatureError::Mismatch)
            );
        }
        // A request signature and an answer signature never stand in for each other.
        let req = Request::internal("POST", "/x", b"{}");
        let (ts, sig) = key.sign(&req, NOW).unwrap();
        assert!(key.verify_answer(&answer, &ts, &sig, NOW).is_err());
    }

    #[test]
    fn key_redacts_itself() {
        assert_eq!(format!("{:?}", SigningKey::new("hunter2")), "SigningKey(…)");
    }

    proptest! {
        #[test]
        fn sign_verify_round_trip(
            method in "[A-Z]{3,7}",
            path in "/[ -~]{0,40}",
            body in prop::collection::vec(any::<u8>(), 0..64),
            secret in "[ -~]{1,40}",
            skew in -60i64..=60,
        ) {
            let key = SigningKey::new(&secret);
            let req = Request::internal(&method, &path, &body);
            let (ts, sig) = key.sign(&req, NOW).unwrap();
            prop_assert_eq!(key.verify(&req, &ts, &sig, NOW + skew), Ok(()));
        }
    }

    const FIXED_SIGNATURE: &str =
        "eb5d4bf4ecc3876274598a14e53d64aeacd5abe634e961bba1fc8a4564021ab3";
    const FIXED_ANSWER_SIGNATURE: &str =
        "a1694518b9cd11a6c03ddbe188c427feb4b6dc2ccc0d6814b22a46b70d2e5907";
    const FIXED_EMPTY_ANSWER_SIGNATURE: &str =
        "85215d46bf612775814538c706f03812de9ca4caa97e35ecef50885799a88d89";
    const FIXED_BODY_SIGNATURE: &str =
        "f56f0e2257a6c33118c96000e77117bc4e1e99e357acc18d2cea440a632cd071";
}
