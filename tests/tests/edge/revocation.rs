//! Revoking a token reaches the edge before the next request.

use reqwest::StatusCode;
use tollgate_shared::AuthError;
use tollgate_tests::api::assert_refused;
use tollgate_tests::stack::Stack;

pub async fn revoke_reaches_the_edge_before_the_next_request(stack: &Stack) {
    let (id, token) = stack.pat();
    assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    stack.let_cache_writes_land().await;
    assert_eq!(
        stack.me(&token).await.status(),
        StatusCode::OK,
        "now cached"
    );
    let delivered = r#"tollgate_purge_total{outcome="ok"}"#;
    let before = stack.metric(delivered).await;
    stack.revoke_pat(&id, &token).await;
    let r = stack.me(&token).await;
    assert_refused(r, AuthError::InvalidToken).await;
    // The origin counts a purge as delivered only when the edge signed its answer.
    assert_eq!(stack.metric(delivered).await, before + 1.0);
}
