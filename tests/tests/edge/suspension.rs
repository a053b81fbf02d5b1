//! Suspending an account with the admin command through a running stack: the purge is
//! delivered by the command itself, so the person's cached PAT and their session are
//! refused at the edge at once; lifted, the PAT works again.

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_shared::AuthError;
use tollgate_tests::api::assert_refused;
use tollgate_tests::stack::Stack;

pub async fn a_suspended_persons_credentials_are_refused_at_the_edge_at_once(stack: &Stack) {
    let person = stack.person();
    let me = |token: String| {
        let stack = &stack;
        async move {
            stack
                .http()
                .get(format!("{}/api/me", stack.edge.url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(me(person.pat.clone()).await.status(), StatusCode::OK);
    stack.let_cache_writes_land().await;
    assert_eq!(
        me(person.pat.clone()).await.status(),
        StatusCode::OK,
        "a hit"
    );

    // Without the edge's settings the command refuses: the purge would be lost.
    let out = stack.user_command(&["suspend", "--email", &person.email], false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("EDGE_PURGE_URL"));
    assert_eq!(
        me(person.pat.clone()).await.status(),
        StatusCode::OK,
        "nothing done"
    );

    let out = stack.user_command(
        &[
            "suspend",
            "--email",
            &person.email,
            "--reason",
            "leaked laptop",
        ],
        true,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            said["suspended"].as_bool(),
            said["purge_delivered"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert_refused(me(person.pat.clone()).await, AuthError::InvalidToken).await;

    let out = stack.user_command(&["unsuspend", "--email", &person.email], false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The origin takes it at once; this isolate remembers the refusal for up to 30 s.
    let direct = stack
        .http()
        .get(format!("{}/api/me", stack.origin_url))
        .bearer_auth(&person.pat)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
}
