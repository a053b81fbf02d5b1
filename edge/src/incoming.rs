//! A request as the runtime hands it over: its URL, its method as sent and its header
//! fields, read once by the glue. What the edge decides from them is asked here: the
//! request id, the dispatch, the caller's credentials, the body's declared length and
//! cap, and the forward's plan.

use tollgate_shared::access::Offered;
use tollgate_shared::headers::X_REQUEST_ID;
use tollgate_shared::{request_id, session, streams, Actor};

use crate::body::{self, Cap};
use crate::config::Config;
use crate::dispatch::{self, Dispatch};
use crate::errors::EdgeError;
use crate::forward::{self, Outgoing};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// As the runtime gives it: parsed and normalized already (WHATWG).
    pub url: String,
    /// As sent: not the runtime's enum, which turns methods it does not know into GET.
    pub method: String,
    /// As the runtime lists them: lowercased names, one pair per field, the values of a
    /// repeated field joined with `", "` (`Set-Cookie` aside, which stays repeated).
    pub headers: Vec<(String, String)>,
    /// The client's `X-Request-ID` if it is usable, else a new one.
    pub request_id: String,
}

/// The value of the field `name` (any case) among `headers`.
fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut named = headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
    named.next().map(|(_, value)| value.as_str())
}

impl Incoming {
    pub fn new(url: String, method: String, headers: Vec<(String, String)>) -> Incoming {
        let request_id = request_id::choose(find(&headers, X_REQUEST_ID));
        Incoming {
            url,
            method,
            headers,
            request_id,
        }
    }

    /// A request header by name, as the runtime's `Headers.get` gives it.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// What to do with this request (see [`dispatch::dispatch`]).
    pub fn dispatch(&self) -> Result<Dispatch<'_>, EdgeError> {
        dispatch::dispatch(&self.url, &self.method, self.headers.len())
    }

    /// The credentials it presents.
    pub fn offered(&self) -> Offered<'_> {
        Offered {
            authorization: self.header("authorization"),
            cookie: self.header("cookie"),
            method: &self.method,
            csrf: self.header(session::CSRF_HEADER),
        }
    }

    /// The client the limiter counts it by: `CF-Connecting-IP`, set by Cloudflare (and
    /// by wrangler dev) from the connection, not by the client.
    pub fn client(&self) -> &str {
        self.header("cf-connecting-ip").unwrap_or("unknown")
    }

    /// Its `Content-Length`, when that is a number.
    pub fn declared_length(&self) -> Option<u64> {
        body::declared_length(self.header("content-length"))
    }

    /// The count of its body read up to `cap`: 413 at once for a declared length over it.
    pub fn body_cap(&self, cap: usize) -> Result<Cap, EdgeError> {
        Cap::new(cap, self.declared_length())
    }

    /// Its forward to `path_and_query` for `actor` (none on a public route), see
    /// [`forward::plan`].
    pub fn plan(
        &self,
        config: &Config,
        path_and_query: &str,
        actor: Option<&Actor>,
        now: i64,
    ) -> Result<Outgoing, EdgeError> {
        let length = self.header("content-length");
        let sender = forward::Sender {
            actor,
            client: self.client(),
            request_id: &self.request_id,
        };
        let mut plan = forward::plan(config, &self.method, path_and_query, length, sender, now)?;
        if streams::is_stream(crate::route::path(path_and_query)) {
            // A browser sends the session cookie with a WebSocket any page opens: only
            // our own pages' are let through (the origin checks again).
            streams::check_origin(
                &self.offered(),
                self.header("origin"),
                streams::origin_of(&self.url),
            )?;
            if streams::wants_websocket(self.header("upgrade")) {
                plan.stamped.push(("upgrade", "websocket".to_owned()));
            }
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Forwarded;
    use crate::dispatch::Action;
    use crate::forward::MAX_CLIENT_HEADERS;
    use std::time::Duration;
    use tollgate_shared::{RouteClass, SigningKey};

    fn incoming(method: &str, path_and_query: &str, headers: &[(&str, &str)]) -> Incoming {
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()));
        let url = format!("https://edge.example{path_and_query}");
        Incoming::new(url, method.to_owned(), headers.collect())
    }

    #[test]
    fn headers_are_found_by_name_in_any_case() {
        let req = incoming(
            "GET",
            "/api/me",
            &[("content-type", "a"), ("x-one", "1, 2")],
        );
        assert_eq!(req.header("Content-Type"), Some("a"));
        assert_eq!(req.header("x-one"), Some("1, 2"));
        assert_eq!(req.header("x-two"), None);
    }

    #[test]
    fn a_usable_request_id_is_kept_and_any_other_replaced() {
        let kept = incoming("GET", "/", &[("x-request-id", "trace-1.a_b")]);
        assert_eq!(kept.request_id, "trace-1.a_b");
        for bad in [&[("x-request-id", "has space")][..], &[]] {
            let new = incoming("GET", "/", bad).request_id;
            assert_eq!(new.len(), 36, "{new}");
            assert!(uuid::Uuid::parse_str(&new).is_ok(), "{new}");
        }
    }

    #[test]
    fn the_dispatch_counts_every_header_field() {
        let req = incoming("GET", "/api/me?x=1", &[]);
        let dispatch = req.dispatch().unwrap();
        assert_eq!(dispatch.path_and_query, "/api/me?x=1");
        assert_eq!(dispatch.action, Action::Forward(Some(RouteClass::User)));
        let fields: Vec<(String, &str)> = (0..=MAX_CLIENT_HEADERS)
            .map(|i| (format!("x-h{i}"), "v"))
            .collect();
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let crowded = incoming("GET", "/api/me", &fields);
        assert_eq!(crowded.dispatch(), Err(EdgeError::HeadersTooLarge));
        assert_eq!(
            incoming("QUERY", "/api/me", &[]).dispatch(),
            Err(EdgeError::MethodNotAllowed(crate::route::ALLOW))
        );
    }

    #[test]
    fn credentials_are_read_as_the_runtime_gives_them() {
        let req = incoming(
            "POST",
            "/api/me",
            &[
                ("authorization", "Bearer a, Bearer b"),
                ("cookie", "tollgate_session=x.y.z"),
                ("x-csrf-token", "00.11"),
                ("cf-connecting-ip", "203.0.113.7"),
            ],
        );
        assert_eq!(req.client(), "203.0.113.7");
        let p = req.offered();
        assert_eq!(p.authorization, Some("Bearer a, Bearer b"));
        assert_eq!(p.cookie, Some("tollgate_session=x.y.z"));
        assert_eq!((p.method, p.csrf), ("POST", Some("00.11")));
        let bare = incoming("GET", "/api/me", &[]);
        assert_eq!(bare.client(), "unknown", "no address: one shared budget");
        let p = bare.offered();
        assert_eq!((p.authorization, p.cookie, p.csrf), (None, None, None));
        assert_eq!(p.method, "GET");
        let any_case = incoming("GET", "/", &[("Authorization", "Bearer a")]);
        assert_eq!(any_case.offered().authorization, Some("Bearer a"));
    }

    #[test]
    fn the_declared_length_bounds_what_is_read() {
        let declared = incoming("POST", "/", &[("content-length", "11")]);
        assert_eq!(declared.declared_length(), Some(11));
        assert_eq!(declared.body_cap(10).unwrap_err(), EdgeError::TooLarge);
        assert!(declared.body_cap(11).is_ok());
        let unreadable = incoming("POST", "/", &[("content-length", "x")]);
        assert_eq!(unreadable.declared_length(), None);
        assert!(unreadable.body_cap(0).is_ok());
    }

    #[test]
    fn the_plan_takes_the_method_length_client_and_request_id_of_the_request() {
        let config = Config {
            origin: "https://o.example".to_owned(),
            key: SigningKey::new("s"),
            origin_timeout: Duration::from_secs(7),
            sessions: None,
        };
        let headers = [
            ("content-length", "12"),
            ("x-request-id", "rid"),
            ("cf-connecting-ip", "198.51.100.4"),
        ];
        let req = incoming("POST", "/api/me?x=1", &headers);
        let plan = req.plan(&config, "/api/me?x=1", None, 500).unwrap();
        let sender = forward::Sender {
            actor: None,
            client: "198.51.100.4",
            request_id: "rid",
        };
        let by_hand = forward::plan(&config, "POST", "/api/me?x=1", Some("12"), sender, 500);
        assert_eq!(Ok(plan.clone()), by_hand);
        assert_eq!(plan.body, Forwarded::Stream);
        let over = incoming("PUT", "/api/me", &[("content-length", "70000")]);
        let refused = over.plan(&config, "/api/me", None, 500);
        assert_eq!(refused, Err(EdgeError::TooLarge));
    }

    #[test]
    fn a_stream_keeps_its_upgrade_and_a_cookie_stream_needs_our_origin() {
        let config = Config {
            origin: "https://o.example".to_owned(),
            key: SigningKey::new("s"),
            origin_timeout: Duration::from_secs(7),
            sessions: None,
        };
        let path = "/api/workspaces/w/events/stream?after=3";
        let upgrade = |plan: &Outgoing| {
            let up = plan.stamped.iter().filter(|(n, _)| *n == "upgrade");
            up.map(|(_, v)| v.clone()).collect::<Vec<_>>()
        };
        let cookie = ("cookie", "tollgate_session=x.y.z");
        let ours = incoming(
            "GET",
            path,
            &[
                cookie,
                ("origin", "https://edge.example"),
                ("upgrade", "websocket"),
            ],
        );
        let plan = ours.plan(&config, path, None, 500).unwrap();
        assert_eq!(upgrade(&plan), ["websocket"]);
        for origin in [&[("origin", "https://evil.example")][..], &[]] {
            let mut headers = vec![cookie, ("upgrade", "websocket")];
            headers.extend_from_slice(origin);
            let theirs = incoming("GET", path, &headers);
            assert_eq!(
                theirs.plan(&config, path, None, 500),
                Err(EdgeError::Auth(tollgate_shared::AuthError::CrossSite)),
                "{origin:?}"
            );
        }
        let bearer = incoming(
            "GET",
            path,
            &[
                ("authorization", "Bearer mul_x"),
                ("origin", "https://evil.example"),
                ("upgrade", "websocket"),
            ],
        );
        assert_eq!(
            upgrade(&bearer.plan(&config, path, None, 500).unwrap()),
            ["websocket"]
        );
        // Elsewhere an upgrade is not passed on.
        let elsewhere = incoming("GET", "/api/me", &[("upgrade", "websocket")]);
        assert!(upgrade(&elsewhere.plan(&config, "/api/me", None, 500).unwrap()).is_empty());
    }
}
