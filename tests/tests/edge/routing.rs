//! What the edge serves, strips and forwards before any authentication.

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_shared::AuthError;
use tollgate_tests::assert_refused;
use tollgate_tests::stack::Stack;

pub async fn spoofed_identity_headers_never_reach_the_origin(stack: &Stack) {
    let (_, token) = stack.pat();
    let r = stack
        .http()
        .get(format!("{}/api/me", stack.edge.url))
        .bearer_auth(&token)
        .header("X-User-ID", "00000000-0000-4000-8000-000000000000")
        .header("X-Actor-Source", "session")
        .header("X-Workspace-ID", "spoofed")
        .header("X-Edge-Signature", "00")
        .header("X-Edge-Timestamp", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user_id"], stack.user["id"]);
    assert_eq!(body["actor_source"], "pat");
}

pub async fn unserved_routes(stack: &Stack) {
    let r = stack
        .http()
        .post(format!("{}/internal/auth/resolve", stack.edge.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "not found");
    let r = stack
        .http()
        .post(format!("{}/__tollgate/purge", stack.edge.url))
        .body(r#"{"keys":[]}"#)
        .send()
        .await
        .unwrap();
    assert_refused(r, AuthError::InvalidSignature).await;
    for path in ["/", "/metrics", "/readyz", "/favicon.ico"] {
        let r = stack
            .http()
            .get(format!("{}{path}", stack.edge.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = stack
        .http()
        .get(format!("{}/healthz", stack.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
}

pub async fn public_routes_are_forwarded_without_credentials(stack: &Stack) {
    let r = stack
        .http()
        .get(format!("{}/api/ping", stack.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["pong"], true);
}
