//! What the edge adds to a forwarded request: the identity headers, the request id and
//! the signature over them (UNSIGNED-PAYLOAD: the body is streamed, not hashed).

use std::time::Duration;
use tollgate_shared::actor::stamped_headers;
use tollgate_shared::headers::{
    STRIPPED_HEADERS, X_CLIENT_ADDRESS, X_EDGE_SIGNATURE, X_EDGE_TIMESTAMP, X_REQUEST_ID,
};

use tollgate_shared::signing::{Body, SignedRequest};
use tollgate_shared::wire::{CLOUD_RUNTIME_PREFIX, CLOUD_RUNTIME_TIMEOUT_SECS};
use tollgate_shared::{Actor, SigningKey};

use crate::body::{self, Forwarded};
use crate::config::Config;
use crate::errors::EdgeError;
use crate::flow::OriginError;
use crate::route;

/// Client headers the edge forwards at most. With what the edge and the runtime add
/// (identity, signature, request id, `cf-*`: about 15) a request stays well under the
/// origin's 128, so a valid request is never refused there for what the edge added.
pub const MAX_CLIENT_HEADERS: usize = 80;

/// Headers never copied from the client: the identity ones (a client must not set them),
/// those the runtime derives from the new request itself, and the hop-by-hop ones
/// (RFC 9110 §7.6.1), which describe the client's connection, not the origin's.
pub fn is_dropped(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    STRIPPED_HEADERS.contains(&name.as_str())
        || matches!(
            name.as_str(),
            "host"
                | "content-length"
                | "x-request-id"
                | "transfer-encoding"
                | "connection"
                | "keep-alive"
                | "te"
                | "trailer"
                | "upgrade"
                | "proxy-connection"
        )
        // The handshake's own fields: the runtime makes its own handshake with the
        // origin, and no extension or subprotocol is offered on a stream.
        || name.starts_with("sec-websocket-")
}

/// The client's headers a forward keeps, in order: all but the [`is_dropped`] ones.
pub fn kept(client: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    let kept = client.iter().filter(|(name, _)| !is_dropped(name));
    kept.map(|(name, value)| (name.as_str(), value.as_str()))
}

/// The origin's answer headers as they go back: all of them, in order (a repeated
/// `Set-Cookie` stays repeated), and the request id unless the origin echoed the one it
/// was given or (proxying) the one the next hop chose.
pub fn passed_back(
    origin: impl IntoIterator<Item = (String, String)>,
    request_id: &str,
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = origin.into_iter().collect();
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case(X_REQUEST_ID))
    {
        headers.push((X_REQUEST_ID.to_owned(), request_id.to_owned()));
    }
    headers
}

/// Who sent a forwarded request, and which: what [`stamp`] signs besides the request line.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    /// Authenticated, or `None` on a public route.
    pub actor: Option<&'a Actor>,
    /// `CF-Connecting-IP`: the origin's sign-in limits count it.
    pub client: &'a str,
    pub request_id: &'a str,
}

/// The headers to add: identity, client address, request id, timestamp and signature.
/// A value with a control character cannot be signed unambiguously: 400.
pub fn stamp(
    key: &SigningKey,
    method: &str,
    path_and_query: &str,
    sender: Sender<'_>,
    now: i64,
) -> Result<Vec<(&'static str, String)>, EdgeError> {
    let Sender {
        actor,
        client,
        request_id,
    } = sender;
    let values = actor.map(Actor::signing_values).unwrap_or_default();
    let (timestamp, signature) = key
        .sign(
            &SignedRequest {
                method,
                path_and_query,
                body: Body::Unsigned,
                client,
                identity: values.each_ref().map(String::as_str),
            },
            now,
        )
        .map_err(|_| EdgeError::BadRequest)?;
    // The values just signed are the headers to stamp: formatted once.
    let mut headers = if actor.is_some() {
        stamped_headers(values)
    } else {
        Vec::new()
    };
    headers.push((X_CLIENT_ADDRESS, client.to_owned()));
    headers.push((X_REQUEST_ID, request_id.to_owned()));
    headers.push((X_EDGE_TIMESTAMP, timestamp));
    headers.push((X_EDGE_SIGNATURE, signature));
    Ok(headers)
}

/// How long to wait for the origin on `path`: `ORIGIN_TIMEOUT_SECS`, except on the
/// cloud-runtime proxy, where the origin waits up to 35 s for Fleet and then answers
/// 504 itself — the edge waits longer, so that the answer a client gets is the origin's.
pub fn timeout(path: &str, configured: Duration) -> Duration {
    if path.starts_with(CLOUD_RUNTIME_PREFIX) {
        configured.max(Duration::from_secs(CLOUD_RUNTIME_TIMEOUT_SECS + 5))
    } else {
        configured
    }
}

/// `ORIGIN_URL` (scheme, host and port only) joined with the path and query as sent.
pub fn origin_url(origin: &str, path_and_query: &str) -> String {
    format!("{}{path_and_query}", origin.trim_end_matches('/'))
}

/// A forward as decided before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// `ORIGIN_URL` joined with the path and query as sent.
    pub url: String,
    /// Set over the client's headers that are not [`is_dropped`]: see [`stamp`].
    pub stamped: Vec<(&'static str, String)>,
    pub body: Forwarded,
    pub timeout: Duration,
}

/// The forward of a `method` request to `path_and_query` with its `Content-Length`
/// (`content_length`), from `sender`: 403 for a scoped PAT outside its scope, 400 for an
/// identity that cannot be signed, then 413 for a body over the path's limit.
pub fn plan(
    config: &Config,
    method: &str,
    path_and_query: &str,
    content_length: Option<&str>,
    sender: Sender<'_>,
    now: i64,
) -> Result<Outgoing, EdgeError> {
    let path = route::path(path_and_query);
    // A scoped PAT outside its scope is refused here, from the cached identity: the
    // request is never signed, never sent, and costs the origin nothing.
    if let Some(actor) = sender.actor {
        actor.scope().permits(method, path)?;
    }
    let stamped = stamp(&config.key, method, path_and_query, sender, now)?;
    let body = body::forwarded(method, path, body::declared_length(content_length))?;
    Ok(Outgoing {
        url: origin_url(&config.origin, path_and_query),
        stamped,
        body,
        timeout: timeout(path, config.origin_timeout),
    })
}

/// A forward the origin did not answer: 502, or 504 when it ran out of time.
pub fn unanswered(e: OriginError) -> EdgeError {
    match e {
        OriginError::Unreachable => EdgeError::OriginUnavailable,
        OriginError::Timeout => EdgeError::OriginTimeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn identity_and_spoofable_headers_are_dropped() {
        for h in [
            "X-User-ID",
            "x-actor-source",
            "X-Edge-Signature",
            "Host",
            "X-Request-ID",
            "Transfer-Encoding",
            "Connection",
            "Upgrade",
            "Sec-WebSocket-Key",
            "sec-websocket-extensions",
        ] {
            assert!(is_dropped(h), "{h}");
        }
        for h in ["authorization", "content-type", "cookie", "x-csrf-token"] {
            assert!(!is_dropped(h), "{h}");
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        let owned = list.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned()));
        owned.collect()
    }

    #[test]
    fn a_forward_keeps_the_client_headers_that_are_not_dropped() {
        let client = pairs(&[
            ("authorization", "Bearer x"),
            ("host", "edge.example"),
            ("x-user-id", "spoofed"),
            ("content-type", "application/json"),
            ("x-request-id", "rid"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
        ]);
        assert_eq!(
            kept(&client).collect::<Vec<_>>(),
            vec![
                ("authorization", "Bearer x"),
                ("content-type", "application/json"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2")
            ]
        );
    }

    #[test]
    fn the_answer_goes_back_with_a_request_id() {
        let origin = pairs(&[("content-type", "text/plain"), ("set-cookie", "a=1")]);
        let mut with_id = origin.clone();
        with_id.push(("x-request-id".into(), "rid".into()));
        assert_eq!(passed_back(origin.clone(), "rid"), with_id);
        assert_eq!(
            passed_back(Vec::new(), "r"),
            pairs(&[("x-request-id", "r")])
        );
        // The origin's own (or the next hop's) is kept, whatever its case.
        for name in ["x-request-id", "X-Request-ID"] {
            let echoed = pairs(&[(name, "theirs"), ("set-cookie", "b=2")]);
            assert_eq!(passed_back(echoed.clone(), "rid"), echoed);
        }
    }

    fn sender(actor: Option<&Actor>) -> Sender<'_> {
        Sender {
            actor,
            client: "203.0.113.7",
            request_id: "rid",
        }
    }

    #[test]
    fn stamped_headers_verify_at_the_origin() {
        let key = SigningKey::new("s");
        let user_id = "7d4f9c2e-0000-4000-8000-000000000001";
        let id = Actor::Pat {
            user_id: user_id.parse().unwrap(),
            scope: tollgate_shared::Scope::UNSCOPED,
        };
        let headers: HashMap<&str, String> =
            stamp(&key, "GET", "/api/me?x=1", sender(Some(&id)), 500)
                .unwrap()
                .into_iter()
                .collect();
        assert_eq!(headers["x-user-id"], user_id);
        assert_eq!(headers["x-actor-source"], "pat");
        assert_eq!(headers["x-request-id"], "rid");
        assert_eq!(headers["x-client-address"], "203.0.113.7");
        let get = |n: &str| headers.get(n).map_or("", String::as_str);
        let req = SignedRequest {
            method: "GET",
            path_and_query: "/api/me?x=1",
            body: Body::Unsigned,
            client: get("x-client-address"),
            identity: tollgate_shared::headers::SIGNED_IDENTITY_HEADERS.map(get),
        };
        assert!(key
            .verify(&req, get("x-edge-timestamp"), get("x-edge-signature"), 500)
            .is_ok());
    }

    #[test]
    fn the_proxy_outwaits_the_origins_own_timeout() {
        let five = Duration::from_secs(5);
        assert_eq!(timeout("/api/me", five), five);
        assert_eq!(
            timeout("/api/cloud-runtime/nodes/exec", five),
            Duration::from_secs(40)
        );
        let long = Duration::from_secs(90);
        assert_eq!(timeout("/api/cloud-runtime/nodes", long), long);
    }

    #[test]
    fn urls() {
        assert_eq!(
            origin_url("http://127.0.0.1:8080/", "/api/me?x=1"),
            "http://127.0.0.1:8080/api/me?x=1"
        );
        assert_eq!(
            origin_url("https://o.example", "/api/me"),
            "https://o.example/api/me"
        );
    }

    fn config() -> Config {
        Config {
            origin: "https://o.example/".to_owned(),
            key: SigningKey::new("s"),
            origin_timeout: Duration::from_secs(7),
            sessions: None,
        }
    }

    #[test]
    fn a_scoped_pat_outside_its_scope_is_refused_before_anything_is_signed() {
        use tollgate_shared::{Access, AuthError, Scope};
        let config = config();
        let (mine, theirs) = (
            "7d4f9c2e-0000-4000-8000-00000000000a",
            "7d4f9c2e-0000-4000-8000-00000000000b",
        );
        let pat = |workspace: Option<&str>, access| Actor::Pat {
            user_id: "7d4f9c2e-0000-4000-8000-000000000001".parse().unwrap(),
            scope: Scope {
                workspace: workspace.map(|w| w.parse().unwrap()),
                access,
            },
        };
        let plan_for = |actor: &Actor, method, path: &str| {
            super::plan(&config, method, path, None, sender(Some(actor)), 500).map(|_| ())
        };
        let bound = pat(Some(mine), Access::Write);
        let read = pat(None, Access::Read);
        let runtimes = |w: &str| format!("/api/workspaces/{w}/runtimes?x=1");
        assert_eq!(plan_for(&bound, "GET", &runtimes(mine)), Ok(()));
        assert_eq!(
            plan_for(&bound, "GET", &runtimes(theirs)),
            Err(EdgeError::Auth(AuthError::BoundElsewhere))
        );
        assert_eq!(
            plan_for(&read, "POST", &runtimes(mine)),
            Err(EdgeError::Auth(AuthError::ReadOnly))
        );
        assert_eq!(
            plan_for(&read, "POST", "/api/tokens"),
            Err(EdgeError::Auth(AuthError::CannotGrant))
        );
        let unscoped = pat(None, Access::Write);
        assert_eq!(plan_for(&unscoped, "POST", &runtimes(theirs)), Ok(()));
    }

    #[test]
    fn a_plan_signs_then_bounds_the_body() {
        let config = config();
        let id = Actor::Pat {
            user_id: "7d4f9c2e-0000-4000-8000-000000000001".parse().unwrap(),
            scope: tollgate_shared::Scope::UNSCOPED,
        };
        let plan = plan(
            &config,
            "POST",
            "/api/me?x=1",
            Some("12"),
            sender(Some(&id)),
            500,
        )
        .unwrap();
        assert_eq!(plan.url, "https://o.example/api/me?x=1");
        assert_eq!(plan.body, Forwarded::Stream);
        assert_eq!(plan.timeout, Duration::from_secs(7));
        assert_eq!(
            plan.stamped,
            stamp(&config.key, "POST", "/api/me?x=1", sender(Some(&id)), 500).unwrap()
        );
        let public = super::plan(&config, "GET", "/api/ping", None, sender(None), 500).unwrap();
        assert_eq!(public.body, Forwarded::Nothing);
        assert!(!public.stamped.iter().any(|(n, _)| *n == "x-user-id"));
        let exec = "/api/cloud-runtime/nodes/exec";
        let proxy = super::plan(&config, "POST", exec, None, sender(None), 500).unwrap();
        assert_eq!(
            (proxy.body, proxy.timeout),
            (Forwarded::Read(1024 * 1024), Duration::from_secs(40))
        );
        let over = Some("70000");
        assert_eq!(
            super::plan(&config, "PUT", "/api/me", over, sender(None), 500),
            Err(EdgeError::TooLarge)
        );
        // An identity that cannot be signed is refused before the body is looked at.
        let unsignable = Actor::Session {
            user_id: "7d4f9c2e-0000-4000-8000-000000000001".parse().unwrap(),
            email: Some("a\nb@example.com".into()),
        };
        assert_eq!(
            super::plan(
                &config,
                "PUT",
                "/api/me",
                over,
                sender(Some(&unsignable)),
                500
            ),
            Err(EdgeError::BadRequest)
        );
    }

    #[test]
    fn no_answer_is_502_or_504() {
        assert_eq!(
            unanswered(OriginError::Unreachable),
            EdgeError::OriginUnavailable
        );
        assert_eq!(unanswered(OriginError::Timeout), EdgeError::OriginTimeout);
    }
}
