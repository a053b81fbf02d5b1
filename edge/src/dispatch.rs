//! The edge's first decision on a request, before any I/O: from its URL, its method and
//! how many headers it has, what the edge does with it — answer it itself, take the
//! origin's purge call, or forward it (after authenticating the caller, or not). The
//! glue does what this says, then the flow, the purge and the forward decide the rest.

use tollgate_shared::RouteClass;

use crate::errors::EdgeError;
use crate::forward::MAX_CLIENT_HEADERS;
use crate::reply::Reply;
use crate::route::{self, Route};

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The edge answers it itself (`/healthz`).
    Answer(Reply),
    /// The origin's purge call (`/__tollgate/purge`); see [`crate::purge`].
    Purge,
    /// The revocation log's counts; see [`crate::log_status`].
    LogStatus,
    /// Forward it to the origin: once the caller authenticated for this class, or, for
    /// a public route, as it came.
    Forward(Option<RouteClass>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch<'a> {
    /// `/path?query` as sent: what is forwarded and signed.
    pub path_and_query: &'a str,
    pub action: Action,
}

/// `url` as the runtime gives it (already parsed and normalized), the method as sent
/// (not the runtime's enum, which turns methods it does not know into GET) and the
/// number of headers: an unusable URL is 404, a method the edge cannot forward exactly
/// 405, too many headers 431, then the route decides.
pub fn dispatch<'a>(
    url: &'a str,
    method: &str,
    header_count: usize,
) -> Result<Dispatch<'a>, EdgeError> {
    let path_and_query = route::path_and_query(url).ok_or(EdgeError::NotFound)?;
    if !route::is_forwardable(method) {
        return Err(EdgeError::MethodNotAllowed(route::ALLOW));
    }
    if header_count > MAX_CLIENT_HEADERS {
        return Err(EdgeError::HeadersTooLarge);
    }
    let action = match route::classify(method, route::path(path_and_query)) {
        Route::NotFound => return Err(EdgeError::NotFound),
        Route::Health => match method {
            "GET" | "HEAD" => Action::Answer(Reply::health()),
            _ => return Err(EdgeError::MethodNotAllowed("GET, HEAD")),
        },
        // Its method is the purge's to check, once the configuration is read.
        Route::Purge => Action::Purge,
        Route::LogStatus => Action::LogStatus,
        Route::Public => Action::Forward(None),
        Route::Authenticated(class) => Action::Forward(Some(class)),
    };
    Ok(Dispatch {
        path_and_query,
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDGE: &str = "https://edge.example";

    fn action(method: &str, path_and_query: &str) -> Result<Action, EdgeError> {
        let url = format!("{EDGE}{path_and_query}");
        dispatch(&url, method, 3).map(|d| d.action)
    }

    #[test]
    fn each_route_to_its_action() {
        let health = Ok(Action::Answer(Reply::health()));
        assert_eq!(action("GET", "/healthz"), health);
        assert_eq!(action("HEAD", "/healthz?probe=1"), health);
        assert_eq!(
            action("POST", "/healthz"),
            Err(EdgeError::MethodNotAllowed("GET, HEAD"))
        );
        for method in ["POST", "GET", "DELETE"] {
            assert_eq!(action(method, "/__tollgate/purge"), Ok(Action::Purge));
            let status = action(method, "/__tollgate/revocation-log");
            assert_eq!(status, Ok(Action::LogStatus));
        }
        assert_eq!(action("GET", "/api/ping"), Ok(Action::Forward(None)));
        assert_eq!(
            action("POST", "/api/install-tokens/exchange"),
            Ok(Action::Forward(None))
        );
        assert_eq!(
            action("GET", "/api/me?x=1"),
            Ok(Action::Forward(Some(RouteClass::User)))
        );
        assert_eq!(
            action("POST", "/api/daemon/heartbeat"),
            Ok(Action::Forward(Some(RouteClass::Daemon)))
        );
        for path in [
            "/internal/auth/resolve",
            "/",
            "/metrics",
            "/openapi.internal.json",
        ] {
            assert_eq!(action("GET", path), Err(EdgeError::NotFound), "{path}");
        }
    }

    #[test]
    fn the_path_and_query_is_kept_as_sent() {
        let d = dispatch("http://127.0.0.1:8787/api/me?x=1&y=%20#frag", "GET", 0).unwrap();
        assert_eq!(d.path_and_query, "/api/me?x=1&y=%20");
        assert_eq!(dispatch("/api/me", "GET", 0), Err(EdgeError::NotFound));
    }

    #[test]
    fn methods_then_headers_are_checked_before_the_route() {
        let allow = Err(EdgeError::MethodNotAllowed(route::ALLOW));
        for method in ["QUERY", "get", "TRACE"] {
            assert_eq!(action(method, "/api/me"), allow, "{method}");
            assert_eq!(action(method, "/healthz"), allow, "{method}");
        }
        let url = format!("{EDGE}/api/me");
        assert!(dispatch(&url, "GET", MAX_CLIENT_HEADERS).is_ok());
        assert_eq!(
            dispatch(&url, "GET", MAX_CLIENT_HEADERS + 1),
            Err(EdgeError::HeadersTooLarge)
        );
        let unknown = format!("{EDGE}/nope");
        assert_eq!(
            dispatch(&unknown, "GET", MAX_CLIENT_HEADERS + 1),
            Err(EdgeError::HeadersTooLarge)
        );
        let unforwardable = dispatch(&url, "FOO", MAX_CLIENT_HEADERS + 1);
        assert_eq!(unforwardable.map(|d| d.action), allow);
        // An unusable URL is refused before anything else.
        assert_eq!(
            dispatch("nope", "FOO", MAX_CLIENT_HEADERS + 1),
            Err(EdgeError::NotFound)
        );
    }
}
