//! Edge↔origin request signing, `tollgate-v3`, byte for byte as docs/ARCHITECTURE.md "Request signature".
//!
//! `X-Edge-Signature` = hex(HMAC-SHA256(EDGE_ORIGIN_SECRET, message)), where the message
//! is these lines joined by `\n`: `tollgate-v3`, the method in upper case, the path and
//! query as sent, the timestamp as in `X-Edge-Timestamp`, the body digest, the client's
//! address (`X-Client-Address`), then the eight identity header values in
//! [`SIGNED_IDENTITY_HEADERS`] order (empty when absent).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::headers::IDENTITY_FIELDS;
#[cfg(doc)]
use crate::headers::SIGNED_IDENTITY_HEADERS;
use crate::hex;

/// `v3` since the client's address is signed (the origin's sign-in limits count it);
/// `v2` had none, `v1` seven identity values. A message of another version never
/// verifies, so an edge and an origin of different versions refuse each other.
pub const VERSION: &str = "tollgate-v3";
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
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub body: Body<'a>,
    /// The client's address as the edge saw it (`CF-Connecting-IP`); empty on the two
    /// sides' own calls.
    pub client: &'a str,
    /// The identity header values in signature order; all empty for none.
    pub identity: [&'a str; IDENTITY_FIELDS],
}

impl<'a> SignedRequest<'a> {
    /// A call between the two sides themselves (`/internal/*`, `/__tollgate/*`): no
    /// identity, and the body signed by its digest.
    pub fn internal(method: &'a str, path_and_query: &'a str, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method,
            path_and_query,
            body: Body::Digest(body),
            client: "",
            identity: [""; IDENTITY_FIELDS],
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
pub struct SignedAnswer<'a> {
    pub request_signature: &'a str,
    pub status: u16,
    pub body: &'a [u8],
}

fn has_control(field: &str) -> bool {
    field.chars().any(char::is_control)
}

/// The exact bytes that are signed for a request.
pub fn canonical_message(
    req: &SignedRequest<'_>,
    timestamp: &str,
) -> Result<String, SignatureError> {
    let method = req.method.to_ascii_uppercase();
    let body = req.body.line();
    let mut lines = vec![
        VERSION,
        &method,
        req.path_and_query,
        timestamp,
        &body,
        req.client,
    ];
    lines.extend(req.identity);
    if lines.iter().any(|l| has_control(l)) {
        return Err(SignatureError::ControlCharacter);
    }
    Ok(lines.join("\n"))
}

/// The exact bytes that are signed for an answer.
pub fn canonical_answer(
    answer: &SignedAnswer<'_>,
    timestamp: &str,
) -> Result<String, SignatureError> {
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
    pub fn sign(
        &self,
        req: &SignedRequest<'_>,
        now: i64,
    ) -> Result<(String, String), SignatureError> {
        let timestamp = now.to_string();
        let signature = self.sign_message(&canonical_message(req, &timestamp)?);
        Ok((timestamp, signature))
    }

    /// Checks a received request signature.
    pub fn verify(
        &self,
        req: &SignedRequest<'_>,
        timestamp: &str,
        signature: &str,
        now: i64,
    ) -> Result<(), SignatureError> {
        self.verify_message(|ts| canonical_message(req, ts), timestamp, signature, now)
    }

    /// Returns `(X-Edge-Timestamp, X-Edge-Signature)` for an answer sent at `now`.
    pub fn sign_answer(
        &self,
        answer: &SignedAnswer<'_>,
        now: i64,
    ) -> Result<(String, String), SignatureError> {
        let timestamp = now.to_string();
        let signature = self.sign_message(&canonical_answer(answer, &timestamp)?);
        Ok((timestamp, signature))
    }

    /// Checks the signature of an answer before the caller believes it.
    pub fn verify_answer(
        &self,
        answer: &SignedAnswer<'_>,
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
mod tests;
