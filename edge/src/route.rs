//! Which class a request belongs to (docs/ARCHITECTURE.md "Route classes"): the edge's own
//! two endpoints, then the API's classes as [`tollgate_shared::routes`] decides them.

use tollgate_shared::routes::{self, PathClass};
use tollgate_shared::RouteClass;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`, answered by the edge itself.
    Health,
    /// `/__tollgate/purge`: the origin's signed purge call.
    Purge,
    /// `/__tollgate/revocation-log`: the log's counts, for a signed call.
    LogStatus,
    /// Forwarded without authentication.
    Public,
    /// Forwarded once the caller authenticated for this class: `/api/daemon/*` daemon
    /// authentication (header only), everything else under `/api/` user authentication.
    Authenticated(RouteClass),
    /// Not served: `/internal/*` and anything outside `/api/`.
    NotFound,
}

/// The methods the edge forwards as they came. Anything else (`QUERY`, `FOO`) cannot be
/// forwarded exactly and is answered 405, never sent on as another method.
pub const FORWARDED_METHODS: [&str; 7] =
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The `Allow` value of the edge's 405s.
pub const ALLOW: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

pub fn is_forwardable(method: &str) -> bool {
    FORWARDED_METHODS.contains(&method)
}

/// `/path?query` of an absolute URL as the runtime gives it (already normalized): the
/// fragment dropped, `/` for an empty path. `None` for anything not absolute.
pub fn path_and_query(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let start = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = &rest[start..];
    let rest = rest.split('#').next().unwrap_or_default();
    match rest.chars().next() {
        Some('/') => Some(rest),
        // `https://host?x` has the path `/`; the caller forwards `/?x`, which is the same.
        _ => None,
    }
}

/// The path of a `/path?query`.
pub fn path(path_and_query: &str) -> &str {
    path_and_query.split('?').next().unwrap_or_default()
}

pub fn classify(method: &str, path: &str) -> Route {
    if path == "/healthz" {
        return Route::Health;
    }
    if path == "/__tollgate/purge" {
        return Route::Purge;
    }
    if path == crate::log_status::PATH {
        return Route::LogStatus;
    }
    match routes::classify(method, path) {
        PathClass::Public => Route::Public,
        PathClass::Authenticated(class) => Route::Authenticated(class),
        PathClass::Internal | PathClass::NotServed => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: Route = Route::Authenticated(RouteClass::User);
    const DAEMON: Route = Route::Authenticated(RouteClass::Daemon);

    #[test]
    fn paths_and_queries() {
        let cases = [
            ("https://edge.example/api/me", Some("/api/me")),
            (
                "https://edge.example/api/me?x=1&y=%20",
                Some("/api/me?x=1&y=%20"),
            ),
            ("http://127.0.0.1:8787/api/me#frag", Some("/api/me")),
            ("http://127.0.0.1:8787/a%3F%23b?c#d", Some("/a%3F%23b?c")),
            ("https://user:pw@edge.example:443/healthz", Some("/healthz")),
            ("https://edge.example/", Some("/")),
            ("https://edge.example?x", None),
            ("/api/me", None),
        ];
        for (url, expected) in cases {
            assert_eq!(path_and_query(url), expected, "{url}");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(path("/api/me?x=1?y"), "/api/me");
        assert_eq!(path("/api/me"), "/api/me");
        assert_eq!(path("/?x"), "/");
    }

    #[test]
    fn classes() {
        assert_eq!(classify("GET", "/healthz"), Route::Health);
        assert_eq!(classify("POST", "/healthz"), Route::Health);
        assert_eq!(classify("POST", "/__tollgate/purge"), Route::Purge);
        assert_eq!(
            classify("GET", "/__tollgate/revocation-log"),
            Route::LogStatus
        );
        assert_eq!(classify("GET", "/openapi.json"), Route::Public);
        assert_eq!(classify("HEAD", "/openapi.json"), Route::Public);
        assert_eq!(classify("GET", "/openapi.internal.json"), Route::NotFound);
        assert_eq!(
            classify("POST", "/api/install-tokens/exchange"),
            Route::Public
        );
        assert_eq!(classify("GET", "/api/install-tokens/exchange"), USER);
        assert_eq!(classify("GET", "/api/ping"), Route::Public);
        assert_eq!(classify("GET", "/api/me"), USER);
        assert_eq!(classify("GET", "/api/daemon/whoami"), DAEMON);
        assert_eq!(classify("POST", "/api/daemon/heartbeat"), DAEMON);
        assert_eq!(classify("GET", "/api/daemonic"), USER);
        assert_eq!(classify("DELETE", "/api/tokens/x"), USER);
        assert_eq!(classify("POST", "/internal/auth/resolve"), Route::NotFound);
        assert_eq!(classify("GET", "/internal"), Route::NotFound);
        assert_eq!(classify("GET", "/"), Route::NotFound);
        assert_eq!(classify("GET", "/api"), Route::NotFound);
        assert_eq!(classify("GET", "/metrics"), Route::NotFound);
        assert_eq!(classify("GET", "/readyz"), Route::NotFound);
        assert_eq!(classify("HEAD", "/api/ping"), Route::Public);
        assert_eq!(classify("HEAD", "/api/me"), USER);
        assert_eq!(classify("HEAD", "/api/install-tokens/exchange"), USER);
    }

    #[test]
    fn methods() {
        for m in FORWARDED_METHODS {
            assert!(is_forwardable(m) && ALLOW.contains(m));
        }
        for m in ["QUERY", "FOO", "get", "CONNECT", "TRACE", ""] {
            assert!(!is_forwardable(m), "{m}");
        }
    }
}
