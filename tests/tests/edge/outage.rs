//! The origin down: fail closed with 503, cached identities still authenticate, and
//! recovery. Then the logs of the whole run are checked for tokens.

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_tests::stack::Stack;

pub async fn an_origin_that_stalls_is_504_at_the_edge(stack: &Stack) {
    let (_, token) = stack.pat();
    assert_eq!(
        stack.me(&token).await.status(),
        StatusCode::OK,
        "now cached"
    );
    stack.origin.lock().unwrap().signal("STOP");
    let started = std::time::Instant::now();
    let r = stack.me(&token).await;
    let waited = started.elapsed();
    stack.origin.lock().unwrap().signal("CONT");
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "origin timeout");
    // ORIGIN_TIMEOUT_SECS is 3 in the test stack.
    assert!(waited < std::time::Duration::from_secs(10), "{waited:?}");
    assert_eq!(stack.me(&token).await.status(), StatusCode::OK, "and back");
}

pub async fn origin_down_is_503_then_recovers(stack: &Stack) {
    let (_, cached) = stack.pat();
    let (_, uncached) = stack.pat();
    assert_eq!(stack.me(&cached).await.status(), StatusCode::OK);
    stack.origin.lock().unwrap().stop();

    let r = stack.me(&uncached).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "5");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "auth backend unavailable"
    );
    // A cached identity still authenticates; the forward then finds no origin.
    let r = stack.me(&cached).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "origin unavailable"
    );

    stack.restart_origin();
    assert_eq!(stack.me(&uncached).await.status(), StatusCode::OK);
}

/// Runs last: no token minted by any test reached the origin's or the edge's log.
pub async fn no_token_reaches_the_logs(stack: &Stack) {
    let logs = stack.logs();
    assert!(logs.contains("tollgate-origin listening"));
    for token in stack.minted.lock().unwrap().iter() {
        assert!(!logs.contains(&token[4..]), "a raw token reached the logs");
    }
}
