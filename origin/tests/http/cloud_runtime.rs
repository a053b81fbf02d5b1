//! The cloud-runtime proxy to a fake Fleet: what is passed on (method, path, query,
//! body, user, request id — never the caller's credentials), what comes back, its own
//! body limit, and Fleet being slow, down or not configured.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tollgate_origin::fleet::FleetSettings;
use tollgate_shared::Actor;
use tollgate_tests::fleet::{FakeFleet, Runtime, Verify};
use uuid::Uuid;

use crate::fleet::{app_with, cloud_pat, nowhere, settings};
use crate::harness::{now, send_stamped, TestApp, SECRET};

const MIB: usize = 1024 * 1024;

async fn proxy() -> (FakeFleet, TestApp, Uuid, String) {
    let fleet = FakeFleet::start(None).await;
    let (app, user) = app_with(settings(&fleet.url)).await;
    fleet.verify_with(Verify::Valid(Some(user.to_string())));
    let (_, token) = app.mint(user, None).await;
    (fleet, app, user, token)
}

#[tokio::test]
async fn every_route_goes_to_the_same_path_under_fleets_api() {
    let (fleet, app, user, token) = proxy().await;
    let routes = [
        (Method::GET, "/healthz"),
        (Method::GET, "/readyz"),
        (Method::GET, "/nodes"),
        (Method::POST, "/nodes"),
        (Method::DELETE, "/nodes"),
        (Method::POST, "/nodes/start"),
        (Method::POST, "/nodes/stop"),
        (Method::POST, "/nodes/reboot"),
        (Method::POST, "/nodes/status"),
        (Method::POST, "/nodes/exec"),
    ];
    for (method, path) in &routes {
        let r = app
            .call(
                method.clone(),
                &format!("/api/cloud-runtime{path}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{method} {path}: {}", r.text);
        assert_eq!(r.body["method"], method.as_str());
        assert_eq!(r.body["path"], format!("/api/v1{path}"));
        assert_eq!(r.body["user_id"], user.to_string());
    }
    assert_eq!(fleet.seen().len(), routes.len());
    // Only these: anything else under the prefix is ours to refuse.
    let r = app
        .get("/api/cloud-runtime/nodes/secret", Some(&token))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(Method::PUT, "/api/cloud-runtime/nodes", Some(&token), None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(fleet.seen().len(), routes.len());
}

#[tokio::test]
async fn body_query_user_and_request_id_are_passed_on_and_credentials_are_not() {
    let (fleet, app, user, token) = proxy().await;
    let body = r#"{"node":"n-1","command":["echo","hi"]}"#;
    let req = Request::post("/api/cloud-runtime/nodes/exec?node=n-1&wait=true")
        .header("authorization", format!("Bearer {token}"))
        .header("cookie", "tollgate_session=x")
        .header("content-type", "application/json")
        .header("x-request-id", "trace-42")
        .header("x-user-id", Uuid::new_v4().to_string())
        .body(Body::from(body))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("x-request-id"), Some("trace-42"));
    let seen = fleet.seen().pop().unwrap();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path_and_query, "/api/v1/nodes/exec?node=n-1&wait=true");
    assert_eq!(seen.body, body.as_bytes());
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.header("x-user-id"), Some(user.to_string().as_str()));
    assert_eq!(seen.header("x-request-id"), Some("trace-42"));
    for private in ["authorization", "cookie"] {
        assert_eq!(seen.header(private), None, "{private} reached Fleet");
    }
}

#[tokio::test]
async fn fleets_answer_comes_back_as_it_was() {
    let (fleet, app, _, token) = proxy().await;
    let get = || app.get("/api/cloud-runtime/nodes", Some(&token));

    fleet.runtime_with(Runtime::Raw(
        201,
        r#"{"id":"n-9","state":"starting"}"#.into(),
    ));
    let r = get().await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.text, r#"{"id":"n-9","state":"starting"}"#);
    assert_eq!(r.header("content-type"), Some("application/json"));

    fleet.runtime_with(Runtime::Raw(404, String::new()));
    let r = get().await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::NOT_FOUND, ""));

    fleet.runtime_with(Runtime::Raw(500, "node pool exhausted".into()));
    let r = get().await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.error(), "node pool exhausted");

    fleet.runtime_with(Runtime::Raw(409, r#"{"error":"node busy"}"#.into()));
    let r = get().await;
    assert_eq!((r.status, r.error()), (StatusCode::CONFLICT, "node busy"));

    // Fleet's own request id, when it chose one, is the one the client sees.
    fleet.runtime_with(Runtime::RequestId("fleet-7".into()));
    let r = get().await;
    assert_eq!(r.header("x-request-id"), Some("fleet-7"));
}

#[tokio::test]
async fn the_proxy_takes_bodies_up_to_one_mebibyte() {
    let (fleet, app, _, token) = proxy().await;
    let post = |path: &'static str, size: usize| {
        let body = "x".repeat(size);
        let (app, token) = (&app, &token);
        async move { app.call(Method::POST, path, Some(token), Some(&body)).await }
    };
    let r = post("/api/cloud-runtime/nodes/exec", MIB).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["body_bytes"], MIB);
    let r = post("/api/cloud-runtime/nodes/exec", MIB + 1).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
    );
    assert_eq!(
        fleet.seen().len(),
        1,
        "an oversized body never reaches Fleet"
    );
    // Elsewhere the default limit still holds.
    let r = post("/api/tokens", 100 * 1024).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn people_and_cloud_nodes_may_call_it_agents_and_strangers_may_not() {
    let (fleet, app, user, _) = proxy().await;
    let r = app
        .get("/api/cloud-runtime/nodes", Some(&cloud_pat()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user_id"], user.to_string());

    let r = app.get("/api/cloud-runtime/nodes", None).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "missing authorization")
    );
    let agent = Actor::TaskToken {
        user_id: user,
        workspace_id: Uuid::new_v4(),
        agent_id: Uuid::new_v4(),
        task_id: Uuid::new_v4(),
    };
    let r = send_stamped(
        &app,
        Method::GET,
        "/api/cloud-runtime/nodes",
        Some(&agent),
        SECRET,
        now(),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::FORBIDDEN,
            "this endpoint is only available to human actors"
        )
    );
    assert_eq!(fleet.seen().len(), 1);
}

#[tokio::test]
async fn unconfigured_slow_and_unreachable_fleets() {
    let (app, user) = app_with(FleetSettings::default()).await;
    let (_, token) = app.mint(user, None).await;
    let r = app.get("/api/cloud-runtime/healthz", Some(&token)).await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "cloud runtime is not configured"
        )
    );
    assert_eq!(
        r.header("retry-after"),
        Some("5"),
        "as documented for every 503"
    );

    let (app, user) = app_with(settings(&nowhere())).await;
    let (_, token) = app.mint(user, None).await;
    let r = app.get("/api/cloud-runtime/healthz", Some(&token)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_GATEWAY, "cloud runtime unavailable")
    );

    let fleet = FakeFleet::start(None).await;
    let (app, user) = app_with(FleetSettings {
        proxy_timeout: Duration::from_millis(500),
        ..settings(&fleet.url)
    })
    .await;
    let (_, token) = app.mint(user, None).await;
    fleet.runtime_with(Runtime::Slow(Duration::from_millis(1500)));
    let r = app.get("/api/cloud-runtime/nodes", Some(&token)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::GATEWAY_TIMEOUT, "cloud runtime timeout")
    );
}

#[test]
fn the_contracts_timeouts() {
    let defaults = FleetSettings::default();
    assert_eq!(defaults.verify_timeout, Duration::from_secs(3));
    assert_eq!(defaults.proxy_timeout, Duration::from_secs(35));
    assert_eq!(defaults.positive_ttl_secs, 60);
    assert_eq!(defaults.url, None);
}
