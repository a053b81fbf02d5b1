//! Who may call a path, decided once: the edge routes on it, and the origin's extractors
//! and its OpenAPI pass can ask the same function rather than keep their own list.
//! Which credentials each authenticated class then takes is [`crate::access::admit`].

use crate::access::RouteClass;

/// The class of a (method, path) of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathClass {
    /// Served to anyone, with no credential.
    Public,
    /// Served to a caller with a credential that `class` takes.
    Authenticated(RouteClass),
    /// `/internal/*`: the edge's signed calls to the origin, never served to a client.
    Internal,
    /// Not part of the API (anything outside `/api/` that is not public).
    NotServed,
}

impl PathClass {
    /// The credential class, for the authenticated paths.
    pub fn route_class(self) -> Option<RouteClass> {
        match self {
            PathClass::Authenticated(class) => Some(class),
            PathClass::Public | PathClass::Internal | PathClass::NotServed => None,
        }
    }
}

/// Public routes are exact (method, path) pairs: a prefix match would open more than
/// intended.
pub const PUBLIC: [(&str, &str); 8] = [
    ("POST", "/api/install-tokens/exchange"),
    // `tollgate login` through the browser (RFC 8628): the client asks for a grant and
    // polls for its token; a person approves it with a session (`crate::device`).
    ("POST", crate::device::CODE_PATH),
    ("POST", crate::device::TOKEN_PATH),
    // Anyone who finds a leaked token may report it (`crate::leaks`).
    ("POST", crate::leaks::REVOKE_LEAKED_PATH),
    // Sign-in: rate limited per client address at both sides (`crate::sign_in`).
    ("POST", crate::sign_in::SEND_CODE_PATH),
    ("POST", crate::sign_in::VERIFY_CODE_PATH),
    ("GET", "/api/ping"),
    // The API's description, for SDK generators and API testers. The internal one
    // (`/openapi.internal.json`) is not served.
    ("GET", "/openapi.json"),
];

/// Where the daemon routes start; everything else under [`API_PREFIX`] is a user route.
pub const DAEMON_PREFIX: &str = "/api/daemon/";
pub const API_PREFIX: &str = "/api/";
pub const INTERNAL_PREFIX: &str = "/internal/";

/// The class of `method` on `path` (the path without its query; a route template such
/// as `/api/daemon/tasks/{id}/start` classifies as its paths do). HEAD is GET without
/// the body: it belongs to GET's class. Methods compare without regard to case.
pub fn classify(method: &str, path: &str) -> PathClass {
    let method = if method.eq_ignore_ascii_case("HEAD") {
        "GET"
    } else {
        method
    };
    if path.starts_with(INTERNAL_PREFIX) || path == "/internal" {
        return PathClass::Internal;
    }
    if PUBLIC
        .iter()
        .any(|(m, p)| *p == path && m.eq_ignore_ascii_case(method))
    {
        return PathClass::Public;
    }
    if path.starts_with(DAEMON_PREFIX) {
        return PathClass::Authenticated(RouteClass::Daemon);
    }
    if path.starts_with(API_PREFIX) {
        return PathClass::Authenticated(RouteClass::User);
    }
    PathClass::NotServed
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: PathClass = PathClass::Authenticated(RouteClass::User);
    const DAEMON: PathClass = PathClass::Authenticated(RouteClass::Daemon);

    #[test]
    fn classes() {
        let cases = [
            ("GET", "/openapi.json", PathClass::Public),
            ("HEAD", "/openapi.json", PathClass::Public),
            ("POST", "/openapi.json", PathClass::NotServed),
            ("GET", "/openapi.internal.json", PathClass::NotServed),
            ("POST", "/api/install-tokens/exchange", PathClass::Public),
            ("post", "/api/install-tokens/exchange", PathClass::Public),
            ("GET", "/api/install-tokens/exchange", USER),
            ("HEAD", "/api/install-tokens/exchange", USER),
            ("GET", "/api/ping", PathClass::Public),
            ("POST", "/api/auth/send-code", PathClass::Public),
            ("POST", "/api/auth/verify-code", PathClass::Public),
            ("GET", "/api/auth/send-code", USER),
            ("POST", "/api/auth/logout", USER),
            ("POST", "/api/tokens/revoke-leaked", PathClass::Public),
            ("DELETE", "/api/tokens/revoke-leaked", USER),
            ("HEAD", "/api/ping", PathClass::Public),
            ("POST", "/api/ping", USER),
            ("GET", "/api/me", USER),
            ("HEAD", "/api/me", USER),
            ("DELETE", "/api/tokens/x", USER),
            ("GET", "/api/daemonic", USER),
            ("GET", "/api/daemon/whoami", DAEMON),
            ("POST", "/api/daemon/heartbeat", DAEMON),
            ("POST", "/api/daemon/tasks/{id}/start", DAEMON),
            ("GET", "/api/daemon", USER),
            ("POST", "/internal/auth/resolve", PathClass::Internal),
            ("GET", "/internal", PathClass::Internal),
            ("GET", "/internally", PathClass::NotServed),
            ("GET", "/", PathClass::NotServed),
            ("GET", "/api", PathClass::NotServed),
            ("GET", "/healthz", PathClass::NotServed),
            ("GET", "/metrics", PathClass::NotServed),
            ("GET", "/readyz", PathClass::NotServed),
        ];
        for (method, path, expected) in cases {
            assert_eq!(classify(method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn only_authenticated_paths_have_a_credential_class() {
        assert_eq!(USER.route_class(), Some(RouteClass::User));
        assert_eq!(DAEMON.route_class(), Some(RouteClass::Daemon));
        for other in [PathClass::Public, PathClass::Internal, PathClass::NotServed] {
            assert_eq!(other.route_class(), None, "{other:?}");
        }
    }

    #[test]
    fn every_public_route_is_public_and_nothing_near_it_is() {
        for (method, path) in PUBLIC {
            assert_eq!(classify(method, path), PathClass::Public);
            assert_ne!(classify(method, &format!("{path}/")), PathClass::Public);
            assert_ne!(classify("PUT", path), PathClass::Public);
        }
    }
}
