//! Cloud PATs and the cloud-runtime proxy through the edge, with the stack's fake
//! Fleet: a positive verification serves a minute of requests from KV and is then asked
//! again; refusals and outages are asked every time and never cached.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_shared::AuthError;
use tollgate_tests::api::assert_refused;
use tollgate_tests::fleet::{Runtime, Verify};
use tollgate_tests::stack::Stack;

fn cloud_pat(stack: &Stack) -> String {
    let token = format!("mcn_{}", uuid::Uuid::new_v4().simple());
    stack.minted.lock().unwrap().push(token.clone());
    token
}

fn owner(stack: &Stack) -> Option<String> {
    stack.user["id"].as_str().map(str::to_owned)
}

pub async fn a_cloud_pat_is_verified_once_a_minute_through_the_edge(stack: &Stack) {
    stack.fleet.verify_with(Verify::Valid(owner(stack)));
    let token = cloud_pat(stack);
    let before = stack.fleet.verify_calls();
    let first = stack.me(&token).await;
    let verified_at = Instant::now();
    assert_eq!(first.status(), StatusCode::OK);
    let me: Value = first.json().await.unwrap();
    assert_eq!(me["actor_source"], "cloud_pat");
    assert_eq!(me["user_id"], stack.user["id"]);
    for _ in 0..19 {
        assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    }
    // A cloud node runs a daemon with the same token: the same cached identity.
    let r = stack
        .http()
        .get(format!("{}/api/daemon/whoami", stack.edge.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()["actor_source"],
        "cloud_pat"
    );
    assert_eq!(
        stack.fleet.verify_calls() - before,
        1,
        "Fleet asked once for 21 requests"
    );
    assert_eq!(stack.fleet.verified_tokens().last(), Some(&token));

    // Past the minute (and KV's own expiry) it is asked again.
    let minute = Duration::from_secs(61);
    tokio::time::sleep(minute.saturating_sub(verified_at.elapsed())).await;
    assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    assert_eq!(stack.fleet.verify_calls() - before, 2);
}

pub async fn cloud_refusals_and_fleet_outages_are_asked_every_time(stack: &Stack) {
    let token = cloud_pat(stack);
    let before = stack.fleet.verify_calls();
    stack.fleet.verify_with(Verify::Invalid("token_revoked"));
    for _ in 0..3 {
        assert_refused(stack.me(&token).await, AuthError::InvalidToken).await;
    }
    assert_eq!(stack.fleet.verify_calls() - before, 3);

    // Fleet failing is the origin's 503, passed on by the edge — never a 401.
    stack.fleet.verify_with(Verify::Status(500));
    for _ in 0..3 {
        let r = stack.me(&token).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()["retry-after"], "5");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "cloud pat verifier unavailable");
    }
    assert_eq!(stack.fleet.verify_calls() - before, 6);

    // Nothing of either was remembered.
    stack.fleet.verify_with(Verify::Valid(owner(stack)));
    assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    assert_eq!(stack.fleet.verify_calls() - before, 7);
}

pub async fn the_cloud_runtime_proxy_through_the_edge(stack: &Stack) {
    stack.fleet.runtime_with(Runtime::Echo);
    let (_, pat) = stack.pat();
    let seen_before = stack.fleet.seen().len();
    // Over the default 64 KiB, within the proxy's 1 MiB.
    let body = vec![b'x'; 200 * 1024];
    let r = stack
        .http()
        .post(format!(
            "{}/api/cloud-runtime/nodes/exec?node=n-1",
            stack.edge.url
        ))
        .bearer_auth(&pat)
        .header("x-request-id", "e2e-cloud-1")
        .header("x-user-id", uuid::Uuid::new_v4().to_string())
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-request-id"], "e2e-cloud-1");
    let seen = stack.fleet.seen().pop().unwrap();
    assert_eq!(seen.path_and_query, "/api/v1/nodes/exec?node=n-1");
    assert_eq!(seen.body.len(), body.len());
    assert_eq!(seen.header("x-user-id"), stack.user["id"].as_str());
    assert_eq!(seen.header("x-request-id"), Some("e2e-cloud-1"));
    assert_eq!(seen.header("authorization"), None);

    let r = stack
        .http()
        .post(format!("{}/api/cloud-runtime/nodes/exec", stack.edge.url))
        .bearer_auth(&pat)
        .body(vec![b'x'; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = r.json().await.unwrap();
    assert_eq!(error["error"], "request body too large");
    assert_eq!(stack.fleet.seen().len(), seen_before + 1);
}
