//! Edge↔origin request signing, `tollgate-v1`, byte for byte as DESIGN.md "Signing".
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
            Body::Digest(bytes) => hex::encode(&Sha256::digest(bytes)),
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
}

/// The exact bytes that are signed.
pub fn canonical_message(req: &Request<'_>, timestamp: &str) -> String {
    let method = req.method.to_ascii_uppercase();
    let body = req.body.line();
    let mut lines = vec![VERSION, &method, req.path_and_query, timestamp, &body];
    lines.extend(req.identity);
    lines.join("\n")
}

impl SigningKey {
    pub fn new(secret: &str) -> SigningKey {
        SigningKey(secret.as_bytes().to_vec())
    }

    fn mac(&self, req: &Request<'_>, timestamp: &str) -> HmacSha256 {
        // HMAC takes keys of any length; this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(canonical_message(req, timestamp).as_bytes());
        mac
    }

    /// Returns `(X-Edge-Timestamp, X-Edge-Signature)` for a request sent at `now`.
    pub fn sign(&self, req: &Request<'_>, now: i64) -> (String, String) {
        let timestamp = now.to_string();
        let signature = hex::encode(&self.mac(req, &timestamp).finalize().into_bytes());
        (timestamp, signature)
    }

    /// Checks a received signature: the timestamp within ±60 s of `now`, then the MAC
    /// in constant time.
    pub fn verify(
        &self,
        req: &Request<'_>,
        timestamp: &str,
        signature: &str,
        now: i64,
    ) -> Result<(), SignatureError> {
        let sent = parse_timestamp(timestamp).ok_or(SignatureError::BadTimestamp)?;
        if now.abs_diff(sent) > MAX_SKEW_SECS.unsigned_abs() {
            return Err(SignatureError::Stale);
        }
        let tag = hex::decode(signature).ok_or(SignatureError::Mismatch)?;
        self.mac(req, timestamp)
            .verify_slice(&tag)
            .map_err(|_| SignatureError::Mismatch)
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
            canonical_message(&req, "1700000000"),
            "tollgate-v1\nGET\n/api/me?x=1\n1700000000\nUNSIGNED-PAYLOAD\n\
             7d4f9c2e-0000-4000-8000-000000000001\n\npat\n\n\n\n"
        );
        let (ts, sig) = key.sign(&req, NOW);
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
        let (_, sig) = SigningKey::new("test-secret").sign(&req, NOW);
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
        let (ts, sig) = key.sign(&req, NOW);
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
        let (ts, sig) = key.sign(&base, NOW);
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
            let (ts, sig) = key.sign(&req, NOW);
            prop_assert_eq!(key.verify(&req, &ts, &sig, NOW + skew), Ok(()));
        }
    }

    const FIXED_SIGNATURE: &str =
        "eb5d4bf4ecc3876274598a14e53d64aeacd5abe634e961bba1fc8a4564021ab3";
    const FIXED_BODY_SIGNATURE: &str =
        "f56f0e2257a6c33118c96000e77117bc4e1e99e357acc18d2cea440a632cd071";
}
