//! Device grants under races and changes: concurrent polls of an approved grant mint
//! one token, racing decisions decide once, and an approval ends with the session that
//! gave it and with the membership of the workspace it binds.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::json;

use crate::device::{assert_error, device_app, owner_pat, poll, post, start, wait_out_interval};
use crate::harness::{count, owner};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_polls_of_an_approved_grant_get_one_token() {
    let app = Arc::new(device_app().await);
    let (person, _, _) = owner(&app).await;
    let session = app.session(person, 3600).await;
    let (device, user) = start(&app, json!({"client_name": "raced"})).await;
    let r = post(
        &app,
        "/api/auth/device/approve",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let polls: Vec<_> = (0..16)
        .map(|_| {
            let (app, device) = (app.clone(), device.clone());
            tokio::spawn(async move { poll(&app, &device).await })
        })
        .collect();
    let mut answers = Vec::new();
    for p in polls {
        answers.push(p.await.unwrap());
    }
    let winners = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(winners, 1);
    for r in answers.iter().filter(|r| r.status != StatusCode::OK) {
        assert_error(r, StatusCode::BAD_REQUEST, "expired_token");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM personal_access_tokens WHERE name = 'raced'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM device_grants WHERE pat_id IS NOT NULL"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_decisions_decide_once() {
    let app = Arc::new(device_app().await);
    let (person, _, _) = owner(&app).await;
    let (_, user) = start(&app, json!({})).await;
    // One session each: a session's losing tries count as wrong codes, five a minute.
    let mut sessions = Vec::new();
    for _ in 0..8 {
        sessions.push(app.session(person, 3600).await);
    }
    let decisions: Vec<_> = sessions
        .into_iter()
        .enumerate()
        .map(|(i, session)| {
            let (app, user) = (app.clone(), user.clone());
            let path = if i % 2 == 0 {
                "/api/auth/device/approve"
            } else {
                "/api/auth/device/deny"
            };
            tokio::spawn(async move {
                post(&app, path, Some(&session), json!({"user_code": user})).await
            })
        })
        .collect();
    let mut decided = 0;
    for d in decisions {
        let r = d.await.unwrap();
        if r.status == StatusCode::NO_CONTENT {
            decided += 1;
        } else {
            assert_error(&r, StatusCode::NOT_FOUND, "user code not found");
        }
    }
    assert_eq!(decided, 1);
}

/// An approval counts while the session that gave it lives and its person may act: a
/// sign-out (or a suspension) before the client polls ends it, and so does leaving the
/// workspace a grant binds.
#[tokio::test]
async fn an_approval_dies_with_its_session_and_with_the_membership_it_binds() {
    let app = device_app().await;
    let (person, _, ws) = owner(&app).await;
    let session = app.session(person, 3600).await;
    let (device, user) = start(&app, json!({})).await;
    let r = post(
        &app,
        "/api/auth/device/approve",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.sql("UPDATE sessions SET revoked_at = now()").await;
    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "access_denied",
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM personal_access_tokens WHERE name = 'a device'"
        )
        .await,
        0
    );

    let (member, _) = crate::harness::member(&app, ws, &owner_pat(&app, ws).await, "member").await;
    let session = app.session(member, 3600).await;
    let (device, user) = start(&app, json!({"workspace_id": ws, "client_name": "leaver"})).await;
    let r = post(
        &app,
        "/api/auth/device/approve",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    app.sql(&format!("DELETE FROM members WHERE user_id = '{member}'"))
        .await;
    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "access_denied",
    );
    wait_out_interval(&app).await;
    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "access_denied",
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM personal_access_tokens WHERE name = 'leaver'"
        )
        .await,
        0
    );
}
