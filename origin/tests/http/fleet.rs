//! Cloud PATs (`mcn_`), verified by a fake Fleet over real HTTP: every answer Fleet can
//! give, what is remembered (positives, for the TTL) and what never is, and where a
//! cloud node may go.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;
use tollgate_origin::fleet::FleetSettings;
use tollgate_tests::fleet::{FakeFleet, Verify};
use uuid::Uuid;

use crate::harness::{now, resolve_request, Options, TestApp, TestResponse, SECRET};

pub fn cloud_pat() -> String {
    format!("mcn_{}", Uuid::new_v4().simple())
}

/// A closed loopback port: connecting there fails at once.
pub fn nowhere() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

pub fn settings(url: &str) -> FleetSettings {
    FleetSettings {
        url: Some(url.to_owned()),
        ..FleetSettings::default()
    }
}

/// An app whose `FLEET_URL` is `fleet` (settings otherwise as given), and a user.
pub async fn app_with(fleet: FleetSettings) -> (TestApp, Uuid) {
    let app = TestApp::with(Options {
        secret: Some(SECRET),
        fleet,
        ..Options::default()
    })
    .await;
    let user = app.create_user("node-owner@example.com").await;
    (app, user)
}

fn assert_invalid(r: &TestResponse) {
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token"),
        "{}",
        r.text
    );
}

fn assert_unavailable(r: &TestResponse) {
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "cloud pat verifier unavailable"
        ),
        "{}",
        r.text
    );
    assert_eq!(r.header("retry-after"), Some("5"));
}

#[tokio::test]
async fn without_fleet_url_no_cloud_pat_is_valid() {
    let (app, _) = app_with(FleetSettings::default()).await;
    assert_invalid(&app.get("/api/me", Some(&cloud_pat())).await);
    assert_invalid(&app.get("/api/daemon/whoami", Some(&cloud_pat())).await);
}

#[tokio::test]
async fn a_valid_cloud_pat_acts_for_its_owner_on_user_and_daemon_routes_not_human_ones() {
    let fleet = FakeFleet::start(None).await;
    let (app, user) = app_with(settings(&format!("{}/", fleet.url))).await;
    fleet.verify_with(Verify::Valid(Some(user.to_string())));
    let token = cloud_pat();

    let r = app.get("/api/me", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["actor_source"], "cloud_pat");
    assert_eq!(r.body["user_id"], user.to_string());
    // The trailing slash of FLEET_URL was trimmed, and Fleet got the token itself.
    assert_eq!(fleet.verified_tokens(), vec![token.clone()]);

    let r = app.get("/api/daemon/whoami", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["actor_source"], "cloud_pat");
    assert_eq!(r.body["user_id"], user.to_string());

    let r = app
        .call(
            Method::POST,
            "/api/tokens",
            Some(&token),
            Some(r#"{"name":"x"}"#),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::FORBIDDEN,
            "this endpoint is only available to human actors"
        )
    );
    // Its owner's credentials and workspace list are the owner's business, not a node's.
    let (pat_id, _) = app.mint(user, None).await;
    for (method, path) in [
        (Method::GET, "/api/tokens".to_owned()),
        (Method::DELETE, format!("/api/tokens/{pat_id}")),
        (Method::POST, "/api/tokens/current/renew".to_owned()),
        (Method::GET, "/api/workspaces".to_owned()),
    ] {
        let r = app.call(method.clone(), &path, Some(&token), None).await;
        assert_eq!(
            (r.status, r.error()),
            (
                StatusCode::FORBIDDEN,
                "this endpoint is only available to human actors"
            ),
            "{method} {path}"
        );
    }
    assert_eq!(
        app.sql("SELECT 1 FROM personal_access_tokens WHERE NOT revoked")
            .await
            .len(),
        1,
        "the owner's PAT was not revoked"
    );
    assert_eq!(fleet.verify_calls(), 1, "one verification served them all");
}

#[tokio::test]
async fn every_refusal_is_401_and_asked_again_every_time() {
    let fleet = FakeFleet::start(None).await;
    let (app, _) = app_with(settings(&fleet.url)).await;
    let mut expected_calls = 0;
    let refusals = [
        "format_invalid",
        "checksum_invalid",
        "token_not_found",
        "token_revoked",
        "token_expired",
        "owner_mismatch",
        "instance_mismatch",
    ]
    .map(Verify::Invalid);
    let unknown_owners = [
        // Valid, but without an owner, or an owner who is not one of our users.
        Verify::Valid(None),
        Verify::Valid(Some(Uuid::new_v4().to_string())),
        Verify::Valid(Some("not-a-uuid".to_owned())),
    ];
    let token = cloud_pat();
    for answer in refusals.into_iter().chain(unknown_owners) {
        fleet.verify_with(answer.clone());
        for _ in 0..2 {
            assert_invalid(&app.get("/api/me", Some(&token)).await);
            expected_calls += 1;
        }
        assert_eq!(fleet.verify_calls(), expected_calls, "{answer:?}");
    }
    assert_eq!(
        app.metric("tollgate_resolve_total{kind=\"mcn\",outcome=\"invalid\"}")
            .await,
        f64::from(expected_calls as u32)
    );
}

#[tokio::test]
async fn no_usable_answer_is_503_never_401_and_never_remembered() {
    let fleet = FakeFleet::start(None).await;
    let (app, user) = app_with(FleetSettings {
        verify_timeout: Duration::from_millis(500),
        ..settings(&fleet.url)
    })
    .await;
    let token = cloud_pat();
    for answer in [
        Verify::Status(500),
        Verify::Status(404),
        Verify::Status(204),
        Verify::Garbage,
        Verify::Oversize,
        Verify::Slow(Duration::from_millis(1500)),
    ] {
        fleet.verify_with(answer.clone());
        let r = app.get("/api/me", Some(&token)).await;
        assert_unavailable(&r);
    }
    // Once Fleet answers, the same token is verified (nothing was remembered).
    fleet.verify_with(Verify::Valid(Some(user.to_string())));
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );

    // Fleet down altogether.
    let (down, _) = app_with(settings(&nowhere())).await;
    assert_unavailable(&down.get("/api/me", Some(&token)).await);
    assert_unavailable(&down.get("/api/daemon/whoami", Some(&token)).await);
}

#[tokio::test]
async fn the_owner_lookup_failing_is_503() {
    let fleet = FakeFleet::start(Some(Uuid::new_v4().to_string())).await;
    let app = TestApp::with(Options {
        unreachable_db: true,
        fleet: settings(&fleet.url),
        ..Options::default()
    })
    .await;
    let r = app.get("/api/me", Some(&cloud_pat())).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    );
    assert_eq!(fleet.verify_calls(), 1);
}

#[tokio::test]
async fn a_positive_is_believed_for_its_ttl_then_verified_again() {
    let fleet = FakeFleet::start(None).await;
    let (app, user) = app_with(FleetSettings {
        positive_ttl_secs: 2,
        ..settings(&fleet.url)
    })
    .await;
    fleet.verify_with(Verify::Valid(Some(user.to_string())));
    let token = cloud_pat();
    for _ in 0..5 {
        assert_eq!(
            app.get("/api/me", Some(&token)).await.status,
            StatusCode::OK
        );
    }
    // The edge's miss shares the verification and is told only what is left of it.
    let body = json!({"kind": "mcn", "token": token}).to_string();
    let r = app.send(resolve_request(&body, SECRET, now())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["identity"]["actor_source"], "cloud_pat");
    assert!(r.body["ttl_secs"].as_u64().unwrap() <= 2, "{}", r.text);
    assert_eq!(fleet.verify_calls(), 1);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        fleet.verify_calls(),
        2,
        "verified again once the TTL is over"
    );
    // Another token is another verification.
    assert_eq!(
        app.get("/api/me", Some(&cloud_pat())).await.status,
        StatusCode::OK
    );
    assert_eq!(fleet.verify_calls(), 3);
}

#[tokio::test]
async fn the_edges_resolve_call_gets_fleets_verdict() {
    let fleet = FakeFleet::start(None).await;
    let (app, user) = app_with(settings(&fleet.url)).await;
    let token = cloud_pat();
    let body = json!({"kind": "mcn", "token": token}).to_string();
    let resolve = || app.send(resolve_request(&body, SECRET, now()));

    fleet.verify_with(Verify::Invalid("token_revoked"));
    assert_invalid(&resolve().await);
    fleet.verify_with(Verify::Status(502));
    let r = resolve().await;
    assert_unavailable(&r);
    assert!(r.header("x-edge-signature").is_some(), "answers are signed");

    fleet.verify_with(Verify::Valid(Some(user.to_string())));
    let r = resolve().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["identity"]["user_id"], user.to_string());
    assert_eq!(r.body["ttl_secs"], 60);
    // The hash alone is not enough: Fleet verifies tokens, not hashes.
    let hash_only = json!({"kind": "mcn", "hash": tollgate_shared::TokenHash::of(&token).as_str()});
    let r = app
        .send(resolve_request(&hash_only.to_string(), SECRET, now()))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "invalid request body")
    );
}
