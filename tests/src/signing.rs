//! Requests signed as the edge signs them, for tests that play the edge in front of the
//! origin: a forwarded request with the identity the edge stamped on it, and the edge's
//! own calls to `/internal/*`. Headers only, to put on whatever request a test builds.

use tollgate_shared::signing::{Body, SignedRequest};
use tollgate_shared::{Actor, SigningKey};

/// Now, in the seconds that signatures carry.
pub fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

/// The client address the kit's edge stamps (a documentation address, RFC 5737).
pub const CLIENT: &str = "203.0.113.7";

/// The headers the edge adds to a request it forwards for `actor` (`None`: nobody) from
/// [`CLIENT`], signed at `at` over the request line, the client and the identity, the
/// body unsigned: the timestamp, the signature, the client, then the identity headers.
pub fn stamp(
    method: &str,
    path: &str,
    actor: Option<&Actor>,
    secret: &str,
    at: i64,
) -> Vec<(&'static str, String)> {
    stamp_from(CLIENT, method, path, actor, secret, at)
}

/// [`stamp`], from `client`.
pub fn stamp_from(
    client: &str,
    method: &str,
    path: &str,
    actor: Option<&Actor>,
    secret: &str,
    at: i64,
) -> Vec<(&'static str, String)> {
    let values = actor.map(Actor::signing_values).unwrap_or_default();
    let (ts, sig) = SigningKey::new(secret)
        .sign(
            &SignedRequest {
                method,
                path_and_query: path,
                body: Body::Unsigned,
                client,
                identity: values.each_ref().map(String::as_str),
            },
            at,
        )
        .unwrap();
    let mut headers = vec![
        ("x-edge-timestamp", ts),
        ("x-edge-signature", sig),
        ("x-client-address", client.to_owned()),
    ];
    headers.extend(actor.map(Actor::to_headers).unwrap_or_default());
    headers
}

/// The headers of the edge's own call to `path`, signed at `at` over the body's digest.
pub fn internal(
    method: &str,
    path: &str,
    body: &[u8],
    secret: &str,
    at: i64,
) -> [(&'static str, String); 2] {
    let (ts, sig) = SigningKey::new(secret)
        .sign(&SignedRequest::internal(method, path, body), at)
        .unwrap();
    [("x-edge-timestamp", ts), ("x-edge-signature", sig)]
}
