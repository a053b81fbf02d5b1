//! The console served by the origin (CONSOLE_DIR), for self-hosters without an edge:
//! the built files under /console/ with the headers of the repository's own _headers,
//! nothing else of the directory, and a directory without them refused.

use axum::http::StatusCode;
use tollgate_origin::config::Config;
use tollgate_origin::console::Console;

use crate::harness::{Options, TestApp};

/// A built console as scripts/build-console lays it out, with the real _headers.
fn built() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("console")).unwrap();
    std::fs::write(
        dir.path().join("console/index.html"),
        "<!doctype html><title>Tollgate console</title>",
    )
    .unwrap();
    std::fs::write(dir.path().join("console/app.js"), "export {};").unwrap();
    std::fs::write(
        dir.path().join("console/device.html"),
        "<!doctype html><title>Tollgate console</title>",
    )
    .unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../console/static/_headers"),
        dir.path().join("_headers"),
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn the_console_is_served_with_its_security_headers_and_nothing_else_is() {
    let dir = built();
    let app = TestApp::with(Options {
        console: Some(Console::open(dir.path()).unwrap()),
        ..Options::default()
    })
    .await;
    let page = app.get("/console/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Tollgate console"), "{}", page.text);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");

    let script = app.get("/console/app.js", None).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.headers["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    assert!(script.headers.contains_key("content-security-policy"));

    // The device-login page, at the address a device's person is sent to.
    let device = app.get("/console/device?user_code=BCDF-GHJK", None).await;
    assert_eq!(device.status, StatusCode::OK);
    assert!(device.text.contains("Tollgate console"));
    assert!(device.headers.contains_key("content-security-policy"));

    let bare = app.get("/console", None).await;
    assert_eq!(bare.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(bare.headers["location"], "/console/");

    // The headers file and anything outside console/ are not files of the console.
    for path in [
        "/_headers",
        "/console/../_headers",
        "/console/%2e%2e/_headers",
        "/console/missing.js",
    ] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !r.text.contains("Content-Security-Policy"),
            "{path}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn without_console_dir_there_is_no_console() {
    let app = TestApp::new().await;
    assert_eq!(
        app.get("/console/", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn a_console_dir_without_its_page_or_its_headers_is_refused_at_start() {
    let lookup = |dir: String| {
        move |name: &str| match name {
            "DATABASE_URL" => Some("postgres://localhost/x".to_owned()),
            "CONSOLE_DIR" => Some(dir.clone()),
            _ => None,
        }
    };
    let empty = tempfile::tempdir().unwrap();
    let err = Config::from_lookup(None, lookup(empty.path().display().to_string())).unwrap_err();
    assert!(
        err.to_string()
            .contains("CONSOLE_DIR has no console/index.html"),
        "{err}"
    );

    let dir = built();
    std::fs::remove_file(dir.path().join("_headers")).unwrap();
    let err = Config::from_lookup(None, lookup(dir.path().display().to_string())).unwrap_err();
    assert!(
        err.to_string()
            .contains("CONSOLE_DIR has no readable _headers"),
        "{err}"
    );

    let dir = built();
    let config = Config::from_lookup(None, lookup(dir.path().display().to_string())).unwrap();
    assert!(config.console.is_some());
}
