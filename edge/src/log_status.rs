//! `GET /__tollgate/revocation-log`: what the revocation log has served and holds, for
//! operators and `scripts/bench` (reads per second under load). Signed like the purge
//! (an empty body), answered signed for a call whose signature verified, and nothing
//! else: the counts are not public.

use tollgate_shared::headers::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP};
use tollgate_shared::signing::SignedRequest;
use tollgate_shared::{AuthError, SigningKey};

use crate::errors::EdgeError;
use crate::incoming::Incoming;
use crate::purge;
use crate::reply::Reply;
use crate::revocation_log::Stats;

pub const PATH: &str = "/__tollgate/revocation-log";

/// The call, with the log's I/O handed in: `stats` asks the log, `now` is the clock.
pub async fn call(
    key: &SigningKey,
    incoming: &Incoming,
    path_and_query: &str,
    stats: impl AsyncFnOnce() -> Result<Stats, EdgeError>,
    now: impl Fn() -> i64,
) -> Reply {
    let signature = incoming.header(X_EDGE_SIGNATURE);
    let verified = verify(key, incoming, path_and_query, now());
    let (outcome, signed_for) = match verified {
        Ok(()) => (stats().await, signature),
        Err(refused) => (Err(refused), None),
    };
    let mut reply = match outcome {
        Ok(stats) => Reply {
            status: 200,
            body: serde_json::to_string(&stats).unwrap_or_default(),
            headers: vec![],
        },
        Err(e) => Reply::from(e),
    };
    let body = reply.body.as_bytes();
    let signed = purge::answer_headers(key, signed_for, reply.status, body, now());
    reply.headers.extend(signed);
    reply
}

fn verify(
    key: &SigningKey,
    incoming: &Incoming,
    path_and_query: &str,
    now: i64,
) -> Result<(), EdgeError> {
    if incoming.method != "GET" {
        return Err(EdgeError::MethodNotAllowed("GET"));
    }
    let timestamp = incoming.header(X_EDGE_TIMESTAMP);
    let signature = incoming.header(X_EDGE_SIGNATURE);
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(AuthError::InvalidSignature.into());
    };
    let request = SignedRequest::internal("GET", path_and_query, b"");
    key.verify(&request, timestamp, signature, now)
        .map_err(|_| EdgeError::Auth(AuthError::InvalidSignature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn call_with(method: &str, headers: Vec<(String, String)>) -> Reply {
        let url = format!("https://edge.example{PATH}");
        let incoming = Incoming::new(url, method.to_owned(), headers);
        let key = SigningKey::new("s");
        let stats = async || {
            Ok(Stats {
                reads: 3,
                retained: 2,
            })
        };
        let call = call(&key, &incoming, PATH, stats, || 10);
        let polled = pin!(call).poll(&mut Context::from_waker(Waker::noop()));
        let Poll::Ready(reply) = polled else {
            panic!("the fakes never wait");
        };
        reply
    }

    fn signed() -> Vec<(String, String)> {
        let request = SignedRequest::internal("GET", PATH, b"");
        let (ts, sig) = SigningKey::new("s").sign(&request, 10).unwrap();
        vec![
            (X_EDGE_TIMESTAMP.to_owned(), ts),
            (X_EDGE_SIGNATURE.to_owned(), sig),
        ]
    }

    #[test]
    fn a_signed_call_gets_the_counts_signed() {
        let reply = call_with("GET", signed());
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, r#"{"reads":3,"retained":2}"#);
        assert!(reply.headers.iter().any(|(n, _)| *n == X_EDGE_SIGNATURE));
    }

    #[test]
    fn anything_else_gets_an_unsigned_refusal() {
        let forged = vec![
            (X_EDGE_TIMESTAMP.to_owned(), "10".to_owned()),
            (X_EDGE_SIGNATURE.to_owned(), "00".to_owned()),
        ];
        for (method, headers, status) in [
            ("GET", forged, 401),
            ("GET", vec![], 401),
            ("POST", signed(), 405),
        ] {
            let reply = call_with(method, headers);
            assert_eq!(reply.status, status);
            assert!(!reply.body.contains("reads"));
            assert!(!reply.headers.iter().any(|(n, _)| n.starts_with("x-edge")));
        }
    }
}
