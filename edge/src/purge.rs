//! `POST /__tollgate/purge`: the origin tells the edge which cache keys went stale.
//! Signed by the origin over the body digest; only our own keys may be deleted. The keys
//! go into the revocation log before KV, so the answer means "refused everywhere within
//! 2 s". Every answer to a call whose signature verified is signed back for that call;
//! no other answer is signed (no signing oracle for a made-up `X-Edge-Signature`).

use tollgate_shared::headers::{X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP};
use tollgate_shared::signing::{SignedAnswer, SignedRequest};
use tollgate_shared::wire::{PurgeAnswer, PurgeRequest, MAX_BODY_BYTES};
use tollgate_shared::{AuthError, SigningKey};

use crate::body::Cap;
use crate::errors::EdgeError;
use crate::flow::{self, Kv, Log};
use crate::incoming::Incoming;
use crate::reply::Reply;
use crate::revocation_log;

/// Keys per call: each is one KV operation, and Workers bound those per invocation.
pub const MAX_KEYS: usize = 500;
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
    // The log's own rule: a key it would refuse would fail this call, and its retries,
    // for ever.
    if parsed.keys.len() > MAX_KEYS || !parsed.keys.iter().all(|k| revocation_log::is_valid_key(k))
    {
        return Err(EdgeError::BadRequest);
    }
    Ok(parsed.keys)
}

/// The headers that sign this endpoint's answer, whatever its status (docs/ARCHITECTURE.md
/// "Signed answers"), for a call whose signature verified (`request_signature`); none
/// for any other call. The origin believes only an answer bound to its own request.
pub fn answer_headers(
    key: &SigningKey,
    request_signature: Option<&str>,
    status: u16,
    body: &[u8],
    now: i64,
) -> Vec<(&'static str, String)> {
    let Some(request_signature) = request_signature else {
        return vec![];
    };
    let answer = SignedAnswer {
        request_signature,
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
/// call whatever the outcome when the call's signature verified (`request_signature`,
/// its own `X-Edge-Signature`), unsigned when it did not.
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

/// The purge call, from the request to its answer, with the I/O handed in: `read`
/// reads the body as a [`Cap`] counts it, `bind` binds the revocation log and the cache,
/// `now` is the clock. The method is checked before the body is read, and the bindings
/// are bound only for a call the origin signed.
pub async fn call<G: Log, K: Kv>(
    key: &SigningKey,
    incoming: &Incoming,
    path_and_query: &str,
    read: impl AsyncFnOnce(Cap) -> Result<Vec<u8>, EdgeError>,
    bind: impl FnOnce() -> Result<(G, K), EdgeError>,
    now: impl Fn() -> i64,
) -> Reply {
    let signature = incoming.header(X_EDGE_SIGNATURE);
    let verified = async {
        check_method(&incoming.method)?;
        let body = read(incoming.body_cap(MAX_BODY)?).await?;
        let timestamp = incoming.header(X_EDGE_TIMESTAMP);
        verify_and_parse(key, path_and_query, timestamp, signature, &body, now())
    };
    let (outcome, signed_for) = match verified.await {
        Ok(keys) => {
            let purged = async {
                let (log, kv) = bind()?;
                flow::purge(&log, &kv, &keys).await
            };
            (purged.await, signature)
        }
        Err(refused) => (Err(refused), None),
    };
    reply(key, signed_for, outcome, now())
}

#[cfg(test)]
mod tests;
