//! `POST /__tollgate/purge`: the origin tells the edge which cache keys went stale.
//! Signed by the origin over the body digest; only our own keys may be deleted. Every
//! answer, whatever its status, is signed back for the call it answers.

use tollgate_shared::headers::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP};
use tollgate_shared::signing::{SignedAnswer, SignedRequest};
use tollgate_shared::wire::{PurgeAnswer, PurgeRequest, MAX_BODY_BYTES};
use tollgate_shared::{AuthError, SigningKey};

use crate::errors::EdgeError;
use crate::reply::Reply;

/// Keys per call: each is one KV operation, and Workers bound those per invocation.
pub const MAX_KEYS: usize = 500;
const KEY_PREFIX: &str = "tollgate:auth:";
/// The largest purge body read.
pub const MAX_BODY: usize = MAX_BODY_BYTES;

/// Only `POST` purges; checked before the body is read.
pub fn check_method(method: &str) -> Result<(), EdgeError> {
    if method == "POST" {
        Ok(())
    } else {
        Err(EdgeError::MethodNotAllowed("POST"))
    }
}

/// Checks the signature and returns the keys to delete.
pub fn verify_and_parse(
    key: &SigningKey,
    path_and_query: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<Vec<String>, EdgeError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(AuthError::InvalidSignature.into());
    };
    let request = SignedRequest::internal("POST", path_and_query, body);
    key.verify(&request, timestamp, signature, now)
        .map_err(|_| EdgeError::Auth(AuthError::InvalidSignature))?;
    let parsed: PurgeRequest = serde_json::from_slice(body).map_err(|_| EdgeError::BadRequest)?;
    if parsed.keys.len() > MAX_KEYS || !parsed.keys.iter().all(|k| k.starts_with(KEY_PREFIX)) {
        return Err(EdgeError::BadRequest);
    }
    Ok(parsed.keys)
}

/// The headers that sign this endpoint's answer, whatever its status (docs/ARCHITECTURE.md "Signed
/// answers"): the origin believes only an answer bound to its own request.
pub fn answer_headers(
    key: &SigningKey,
    request_signature: Option<&str>,
    status: u16,
    body: &[u8],
    now: i64,
) -> Vec<(&'static str, String)> {
    let answer = SignedAnswer {
        request_signature: request_signature.unwrap_or(""),
        status,
        body,
    };
    match key.sign_answer(&answer, now) {
        Ok((timestamp, signature)) => {
            vec![(X_EDGE_TIMESTAMP, timestamp), (X_EDGE_SIGNATURE, signature)]
        }
        // Unsignable (a control character in the request's header): the answer goes
        // out unsigned and the origin will not believe it, which is the right outcome.
        Err(_) => vec![],
    }
}

/// The answer to a purge call: how many keys went, or the refusal, signed for the
/// call (`request_signature`, its own `X-Edge-Signature`) whatever the outcome.
pub fn reply(
    key: &SigningKey,
    request_signature: Option<&str>,
    outcome: Result<usize, EdgeError>,
    now: i64,
) -> Reply {
    let mut reply = match outcome {
        Ok(purged) => Reply {
            status: 200,
            body: serde_json::to_string(&PurgeAnswer { purged }).unwrap_or_default(),
            headers: vec![],
        },
        Err(e) => Reply::from(e),
    };
    let signed = answer_headers(
        key,
        request_signature,
        reply.status,
        reply.body.as_bytes(),
        now,
    );
    reply.headers.extend(signed);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    use tollgate_shared::wire::PURGE_PATH;

    fn signed(key: &SigningKey, body: &str, now: i64) -> (String, String) {
        key.sign(
            &SignedRequest::internal("POST", PURGE_PATH, body.as_bytes()),
            now,
        )
        .unwrap()
    }

    #[test]
    fn accepts_signed_purges_of_our_keys() {
        let key = SigningKey::new("s");
        let body = r#"{"keys":["tollgate:auth:mul:abc"]}"#;
        let (ts, sig) = signed(&key, body, 10);
        let keys = verify_and_parse(
            &key,
            "/__tollgate/purge",
            Some(&ts),
            Some(&sig),
            body.as_bytes(),
            10,
        )
        .unwrap();
        assert_eq!(keys, vec!["tollgate:auth:mul:abc"]);
    }

    #[test]
    fn answers_are_signed_for_the_request() {
        let key = SigningKey::new("s");
        let headers = answer_headers(&key, Some("abc"), 200, b"{}", 10);
        let answer = SignedAnswer {
            request_signature: "abc",
            status: 200,
            body: b"{}",
        };
        assert_eq!(headers[0].0, X_EDGE_TIMESTAMP);
        assert!(key
            .verify_answer(&answer, &headers[0].1, &headers[1].1, 10)
            .is_ok());
        let unsigned_request = answer_headers(&key, None, 401, b"x", 10);
        assert_eq!(unsigned_request.len(), 2);
    }

    #[test]
    fn refuses_unsigned_stale_or_foreign() {
        let key = SigningKey::new("s");
        let body = r#"{"keys":["tollgate:auth:mul:abc"]}"#;
        let (ts, sig) = signed(&key, body, 10);
        let p = "/__tollgate/purge";
        assert_eq!(
            verify_and_parse(&key, p, None, None, body.as_bytes(), 10),
            Err(EdgeError::Auth(AuthError::InvalidSignature))
        );
        assert_eq!(
            verify_and_parse(&key, p, Some(&ts), Some(&sig), body.as_bytes(), 100),
            Err(EdgeError::Auth(AuthError::InvalidSignature))
        );
        assert_eq!(
            verify_and_parse(
                &SigningKey::new("x"),
                p,
                Some(&ts),
                Some(&sig),
                body.as_bytes(),
                10
            ),
            Err(EdgeError::Auth(AuthError::InvalidSignature))
        );
        let other = r#"{"keys":["session:123"]}"#;
        let (ts, sig) = signed(&key, other, 10);
        assert_eq!(
            verify_and_parse(&key, p, Some(&ts), Some(&sig), other.as_bytes(), 10),
            Err(EdgeError::BadRequest)
        );
    }

    #[test]
    fn only_post_purges() {
        assert_eq!(check_method("POST"), Ok(()));
        for m in ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"] {
            assert_eq!(check_method(m), Err(EdgeError::MethodNotAllowed("POST")));
        }
    }

    #[test]
    fn every_reply_is_signed_for_the_call() {
        let key = SigningKey::new("s");
        let verifies = |reply: &Reply, request_signature: &str| {
            let answer = SignedAnswer {
                request_signature,
                status: reply.status,
                body: reply.body.as_bytes(),
            };
            let header = |name: &str| {
                let found = reply.headers.iter().find(|(n, _)| *n == name);
                found.map_or("", |(_, v)| v.as_str())
            };
            key.verify_answer(
                &answer,
                header(X_EDGE_TIMESTAMP),
                header(X_EDGE_SIGNATURE),
                10,
            )
            .is_ok()
        };
        let done = reply(&key, Some("req"), Ok(2), 10);
        assert_eq!((done.status, done.body.as_str()), (200, r#"{"purged":2}"#));
        assert_eq!(done.headers.len(), 2);
        assert!(verifies(&done, "req"));
        assert!(!verifies(&done, "another call"));
        let refused = reply(
            &key,
            Some("req"),
            Err(AuthError::InvalidSignature.into()),
            10,
        );
        assert_eq!(refused.status, 401);
        assert_eq!(refused.body, r#"{"error":"invalid signature"}"#);
        assert_eq!(
            refused.headers[0],
            (
                "www-authenticate",
                "Bearer error=\"invalid_token\"".to_owned()
            )
        );
        assert_eq!(refused.headers.len(), 3);
        assert!(verifies(&refused, "req"));
        let wrong_method = reply(&key, None, Err(EdgeError::MethodNotAllowed("POST")), 10);
        assert_eq!(wrong_method.status, 405);
        assert_eq!(wrong_method.headers[0], ("allow", "POST".to_owned()));
        assert!(
            verifies(&wrong_method, ""),
            "an unsigned call gets an answer for \"\""
        );
        // Unsignable (a control character in the call's signature): sent unsigned.
        let unsignable = reply(&key, Some("a\nb"), Ok(0), 10);
        assert!(unsignable.headers.is_empty());
    }
}
