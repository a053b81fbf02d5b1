//! The event streams' shared rules (docs/ARCHITECTURE.md "Event streams"): which paths
//! are WebSocket streams, who may open one from a browser, and the close codes both the
//! origin and the clients speak.

use crate::access::Offered;
use crate::AuthError;

/// The daemon's stream: its workspace's events, with its daemon token.
pub const DAEMON_STREAM_PATH: &str = "/api/daemon/events/stream";
/// A workspace's stream is `/api/workspaces/{id}` followed by this.
pub const WORKSPACE_STREAM_SUFFIX: &str = "/events/stream";
const WORKSPACES_PREFIX: &str = "/api/workspaces/";

/// At most this many streams are open at once with one credential, per origin process.
pub const PER_CREDENTIAL: usize = 16;

/// The `application_name` of origin process `pid`'s listening connection to Postgres,
/// as `pg_stat_activity` shows it.
pub fn listener_name(pid: u32) -> String {
    format!("tollgate-origin listener (pid {pid})")
}

/// Whether `path` (without its query) is one of the two event streams.
pub fn is_stream(path: &str) -> bool {
    if path == DAEMON_STREAM_PATH {
        return true;
    }
    path.strip_prefix(WORKSPACES_PREFIX)
        .and_then(|rest| rest.strip_suffix(WORKSPACE_STREAM_SUFFIX))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// A stream opened with the session cookie must come from our own page (`ours`: the
/// console's origin, `scheme://host[:port]`): a browser attaches the cookie to a
/// WebSocket that any page opens to any site, and WebSockets are not held to CORS, so
/// otherwise any site could read a signed-in visitor's events (cross-site WebSocket
/// hijacking). Browsers always send `Origin` on a WebSocket handshake; one without it,
/// or from elsewhere, is refused. A bearer credential is not sent by a browser on its
/// own, so it needs no such check.
pub fn check_origin(
    offered: &Offered<'_>,
    origin: Option<&str>,
    ours: Option<&str>,
) -> Result<(), AuthError> {
    if offered.authorization.is_some() {
        return Ok(());
    }
    match (origin, ours) {
        (Some(origin), Some(ours)) if origin.eq_ignore_ascii_case(ours) => Ok(()),
        _ => Err(AuthError::CrossSite),
    }
}

/// The origin (`scheme://host[:port]`) of a normalized absolute URL, as a browser writes
/// it in `Origin`: how the edge knows its own, from the URL it was reached at.
pub fn origin_of(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")? + 3;
    let host_end = url[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| scheme_end + i);
    (host_end > scheme_end).then(|| &url[..host_end])
}

/// Whether a request asks to become a WebSocket (`Upgrade: websocket`, any case, the
/// only protocol named).
pub fn wants_websocket(upgrade: Option<&str>) -> bool {
    upgrade.is_some_and(|u| u.trim().eq_ignore_ascii_case("websocket"))
}

/// Why the origin closed a stream: the close code, and its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The credential it was opened with was revoked, its session signed out or expired,
    /// or its person suspended.
    Revoked,
    /// The person it acts for is no longer a member of the workspace.
    NotAMember,
    /// The client did not keep up: its queue of undelivered events passed the limit.
    SlowConsumer,
    /// Nothing was heard from the client (not even a pong) for the idle limit.
    Idle,
    /// The origin cannot promise every event (it lost its database listener, or is
    /// shutting down): reconnect with `?after=` the last id received.
    Restarting,
}

impl Ending {
    pub const ALL: [Ending; 5] = [
        Ending::Revoked,
        Ending::NotAMember,
        Ending::SlowConsumer,
        Ending::Idle,
        Ending::Restarting,
    ];

    pub fn code(self) -> u16 {
        match self {
            Ending::Revoked => 4401,
            Ending::NotAMember => 4403,
            // RFC 6455 §7.4.1 / the IANA registry: "try again later".
            Ending::SlowConsumer => 1013,
            // "going away".
            Ending::Idle => 1001,
            // "service restart".
            Ending::Restarting => 1012,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Ending::Revoked => "credential revoked",
            Ending::NotAMember => "no longer a member",
            Ending::SlowConsumer => "slow consumer",
            Ending::Idle => "idle",
            Ending::Restarting => "event stream restarting",
        }
    }

    pub fn from_code(code: u16) -> Option<Ending> {
        Ending::ALL.into_iter().find(|e| e.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_stream_paths_and_nothing_else() {
        for yes in [
            "/api/daemon/events/stream",
            "/api/workspaces/7d4f9c2e-0000-4000-8000-000000000001/events/stream",
            "/api/workspaces/anything/events/stream",
        ] {
            assert!(is_stream(yes), "{yes}");
        }
        for no in [
            "/api/workspaces//events/stream",
            "/api/workspaces/a/b/events/stream",
            "/api/workspaces/a/events",
            "/api/daemon/events/stream/x",
            "/api/events/stream",
        ] {
            assert!(!is_stream(no), "{no}");
        }
    }

    fn offered<'a>(authorization: Option<&'a str>) -> Offered<'a> {
        Offered {
            authorization,
            cookie: Some("tollgate_session=x"),
            method: "GET",
            csrf: None,
        }
    }

    #[test]
    fn a_cookie_stream_comes_from_our_own_page_only() {
        let ours = Some("https://tollgate.example");
        let cookie = offered(None);
        assert_eq!(
            check_origin(&cookie, Some("https://tollgate.example"), ours),
            Ok(())
        );
        for refused in [
            None,
            Some("https://evil.example"),
            Some("null"),
            Some("http://tollgate.example"),
        ] {
            assert_eq!(
                check_origin(&cookie, refused, ours),
                Err(AuthError::CrossSite),
                "{refused:?}"
            );
        }
        // Not knowing our own origin, nothing can be checked: refused.
        assert_eq!(
            check_origin(&cookie, Some("https://tollgate.example"), None),
            Err(AuthError::CrossSite)
        );
        // A bearer credential is never attached by a browser on its own.
        assert_eq!(
            check_origin(
                &offered(Some("Bearer mul_x")),
                Some("https://evil.example"),
                ours
            ),
            Ok(())
        );
    }

    #[test]
    fn an_origin_is_read_off_the_url() {
        assert_eq!(
            origin_of("https://tollgate.example/api/x?y=1"),
            Some("https://tollgate.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8787/api"),
            Some("http://127.0.0.1:8787")
        );
        assert_eq!(origin_of("http://h.example"), Some("http://h.example"));
        assert_eq!(origin_of("http://h.example?x"), Some("http://h.example"));
        for bad in ["", "/api/x", "https:///x"] {
            assert_eq!(origin_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_a_websocket_upgrade_is_one() {
        assert!(wants_websocket(Some("websocket")));
        assert!(wants_websocket(Some("WebSocket")));
        for no in [None, Some("h2c"), Some("websocket, h2c"), Some("")] {
            assert!(!wants_websocket(no), "{no:?}");
        }
    }

    #[test]
    fn codes_are_distinct_and_read_back() {
        for e in Ending::ALL {
            assert_eq!(Ending::from_code(e.code()), Some(e));
        }
        assert_eq!(Ending::from_code(1000), None);
    }
}
