//! The session cookie is found by one rule on both sides (`tollgate_shared::session::cookie`,
//! RFC 6265 §5.2: name and value lose leading and trailing space and tab, nothing else),
//! so an edge-only origin refuses every unsigned request its own extractors would have
//! authenticated by cookie.

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode};

use crate::harness::{edge_app, Options, TestApp, TestResponse, CHALLENGE, SECRET};

async fn edge_only() -> TestApp {
    TestApp::with(Options {
        secret: Some(SECRET),
        require_edge: true,
        ..Options::default()
    })
    .await
}

/// An unsigned GET of `path` carrying `cookie` as its one `Cookie` header.
async fn with_cookie(app: &TestApp, path: &str, cookie: &[u8]) -> TestResponse {
    let req = Request::get(path)
        .header("cookie", HeaderValue::from_bytes(cookie).unwrap())
        .body(Body::empty())
        .unwrap();
    app.send(req).await
}

#[tokio::test]
async fn a_session_cookie_with_wsp_around_its_name_must_come_through_the_edge() {
    let app = edge_only().await;
    for cookie in [&b"tollgate_session =x"[..], b"a=b;\ttollgate_session=x"] {
        let r = with_cookie(&app, "/api/me", cookie).await;
        assert_eq!(
            (r.status, r.error()),
            (
                StatusCode::UNAUTHORIZED,
                "requests must come through the edge"
            ),
            "{}",
            String::from_utf8_lossy(cookie)
        );
        assert_eq!(r.header("www-authenticate"), Some(CHALLENGE));
    }
    // The origin alone reads the same cookies as a session (refused: `x` is no JWT).
    let alone = edge_app().await;
    for cookie in [&b"tollgate_session =x"[..], b"a=b;\ttollgate_session=x"] {
        let r = with_cookie(&alone, "/api/me", cookie).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "invalid token"),
            "{}",
            String::from_utf8_lossy(cookie)
        );
    }
}

#[tokio::test]
async fn other_cookies_are_no_credentials_and_public_routes_still_answer() {
    let app = edge_only().await;
    // A no-break space is not WSP: that name is not the session cookie's.
    for cookie in [
        &b"other=1"[..],
        b"xtollgate_session=x",
        b"\xc2\xa0tollgate_session=x",
    ] {
        let r = with_cookie(&app, "/api/ping", cookie).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}: {}",
            String::from_utf8_lossy(cookie),
            r.text
        );
    }
}
