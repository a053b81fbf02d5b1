//! The OpenAPI documents against the router they describe: every documented operation
//! is served, no documented path serves a method the document does not list, and every
//! operation carries what its caller class answers.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;

use crate::harness::{edge_app, TestApp};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(app: &TestApp, path: &str) -> Value {
    let r = app.get(path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.body["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        r.body["openapi"]
    );
    r.body
}

/// `(method, path)` of every operation in `doc`.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.push((method.to_owned(), path.clone()));
            }
        }
    }
    ops
}

/// A concrete path for a template: every `{param}` a UUID nobody has.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "0d3d7c4e-0000-4000-8000-00000000abcd"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn probe(app: &TestApp, method: &str, path: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
        .uri(concrete(path))
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    (r.status, r.text)
}

#[tokio::test]
async fn the_router_serves_exactly_what_the_documents_describe() {
    // With a secret, so that the internal route is served (and refuses unsigned calls).
    let app = edge_app().await;
    let public = document(&app, "/openapi.json").await;
    let internal = document(&app, "/openapi.internal.json").await;
    let public_ops = operations(&public);
    let internal_ops = operations(&internal);
    assert!(public_ops.len() >= 40, "{public_ops:?}");
    assert_eq!(
        internal_ops,
        vec![("post".to_owned(), "/internal/auth/resolve".to_owned())]
    );
    assert!(
        public_ops.iter().all(|(_, p)| !p.starts_with("/internal")),
        "the edge's calls are not in the public document"
    );

    for (method, path) in public_ops.iter().chain(&internal_ops) {
        // Without credentials every route answers something of its own (a 401, a 400, a
        // 200) — never the router's 404 for an unknown path or 405 for a method.
        let (status, text) = probe(&app, method, path).await;
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not served: {status} {text}"
        );
    }
    // The reverse, for every documented path: a method the document does not list is
    // not served there either.
    for (path, item) in public["paths"].as_object().unwrap() {
        for method in METHODS.iter().filter(|m| item.get(**m).is_none()) {
            let (status, text) = probe(&app, method, path).await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is served but not documented: {text}"
            );
        }
    }
}

/// Routes reach the router only through `routes!` (which documents them): a bare
/// `.route(` in app.rs would serve a path the document does not know.
#[test]
fn routes_are_added_only_with_their_documentation() {
    let app = include_str!("../../src/app.rs");
    let bare: Vec<&str> = app
        .lines()
        .filter(|l| l.contains(".route(") && !l.trim_start().starts_with("//"))
        .collect();
    // The one exception: `/metrics` on its own listener, which is not the API.
    assert_eq!(
        bare,
        vec!["        .route(\"/metrics\", get(health::metrics))"],
        "add routes with .routes(routes!(handler)) and a #[utoipa::path]"
    );
}

#[tokio::test]
async fn every_operation_says_who_may_call_it_and_what_that_can_answer() {
    let app = TestApp::new().await;
    let doc = document(&app, "/openapi.json").await;
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for name in [
        "pat",
        "session",
        "session_cookie",
        "csrf",
        "task_token",
        "cloud_pat",
        "daemon_token",
    ] {
        assert!(schemes.contains_key(name), "{name}");
    }
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][&method];
        let id = format!("{method} {path}");
        let responses = op["responses"].as_object().unwrap();
        for (status, response) in responses {
            assert!(
                response["headers"]["X-Request-ID"].is_object(),
                "{id} {status}: no X-Request-ID"
            );
        }
        let public = op.get("security").is_none();
        if public {
            continue;
        }
        let unauthorized = &responses["401"];
        assert!(
            unauthorized["headers"]["WWW-Authenticate"].is_object(),
            "{id}"
        );
        let messages = unauthorized["content"]["application/json"]["schema"]["properties"]["error"]
            ["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{id}: the 401's messages are not listed"));
        assert!(messages.contains(&Value::from("invalid token")), "{id}");
        assert!(
            responses["503"]["headers"]["Retry-After"].is_object(),
            "{id}: 503 without Retry-After"
        );
    }
    // Human-only routes say so; routes agents may call do not.
    let create_pat = &doc["paths"]["/api/tokens"]["post"]["responses"]["403"];
    assert!(create_pat
        .to_string()
        .contains("only available to human actors"));
    let me = &doc["paths"]["/api/me"]["get"]["responses"]["403"];
    assert!(!me.to_string().contains("only available to human actors"));
}
