//! `POST /api/tokens/current/renew`: a PAT with under 7 days left is extended by 90 days,
//! exactly once however many processes sharing it ask at the same moment.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tollgate_shared::{Actor, RawToken, TokenKind};
use uuid::Uuid;

use crate::harness::{edge_app, now, pat_actor, stamped, TestApp, TestResponse, SECRET};

const RENEW: &str = "/api/tokens/current/renew";

/// A PAT of a fresh user whose expiry is `interval` (SQL) from now.
async fn pat_expiring_in(app: &TestApp, interval: &str) -> (Uuid, Uuid, String) {
    let user = app
        .create_user(&format!("{}@example.com", Uuid::new_v4()))
        .await;
    let (id, token) = app.mint(user, Some(30)).await;
    app.sql(&format!(
        "UPDATE personal_access_tokens SET expires_at = now() + interval '{interval}' WHERE id = '{id}'"
    ))
    .await;
    (user, id, token)
}

async fn expiry(app: &TestApp, id: Uuid) -> Option<DateTime<Utc>> {
    app.sql(&format!(
        "SELECT expires_at FROM personal_access_tokens WHERE id = '{id}'"
    ))
    .await[0]
        .get(0)
}

fn parsed(r: &TestResponse) -> DateTime<Utc> {
    let at = r.body["expires_at"].as_str().unwrap();
    assert!(
        at.ends_with('Z') && !at.contains('.'),
        "RFC 3339 UTC, seconds: {at}"
    );
    DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn renewal_extends_only_inside_the_window() {
    let app = TestApp::new().await;
    // Never expires: nothing to do.
    let (_, forever) = app.user_with_token("forever@example.com").await;
    let r = app.call(Method::POST, RENEW, Some(&forever), None).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::OK, &json!({"expires_at": "", "renewed": false}))
    );

    // 7 days and a minute left: no write.
    let (_, id, token) = pat_expiring_in(&app, "7 days 1 minute").await;
    let before = expiry(&app, id).await.unwrap();
    let r = app.call(Method::POST, RENEW, Some(&token), None).await;
    assert_eq!(
        (r.status, &r.body["renewed"]),
        (StatusCode::OK, &json!(false))
    );
    assert_eq!(parsed(&r).timestamp(), before.timestamp());
    assert_eq!(expiry(&app, id).await, Some(before));

    // 6 days 23 hours left: renewed for 90 days from now.
    let (_, id, token) = pat_expiring_in(&app, "6 days 23 hours").await;
    let r = app.call(Method::POST, RENEW, Some(&token), None).await;
    assert_eq!(
        (r.status, &r.body["renewed"]),
        (StatusCode::OK, &json!(true)),
        "{}",
        r.text
    );
    let new = parsed(&r);
    let expected = Utc::now() + Duration::days(90);
    assert!(
        (new - expected).num_seconds().abs() <= 5,
        "{new} vs {expected}"
    );
    assert_eq!(expiry(&app, id).await.unwrap().timestamp(), new.timestamp());
    // Asked again: outside the window now.
    let r = app.call(Method::POST, RENEW, Some(&token), None).await;
    assert_eq!(r.body["renewed"], json!(false));
    assert_eq!(parsed(&r), new);
    // And the token still works.
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
}

async fn race(parallel: usize) {
    let app = Arc::new(TestApp::new().await);
    let (_, id, token) = pat_expiring_in(&app, "3 days").await;
    let handles: Vec<_> = (0..parallel)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { app.call(Method::POST, RENEW, Some(&token), None).await })
        })
        .collect();
    let mut renewed = 0;
    let mut expiries = std::collections::HashSet::new();
    for h in handles {
        let r = h.await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if r.body["renewed"] == json!(true) {
            renewed += 1;
        }
        expiries.insert(r.body["expires_at"].as_str().unwrap().to_owned());
    }
    assert_eq!(renewed, 1, "{parallel} renewals, exactly one extends");
    assert_eq!(
        expiries.len(),
        1,
        "all report the same new expiry: {expiries:?}"
    );
    let row = expiry(&app, id).await.unwrap();
    let expected = Utc::now() + Duration::days(90);
    assert!(
        (row - expected).num_seconds().abs() <= 5,
        "{row} vs {expected}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_parallel_renewals_extend_once() {
    race(8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_parallel_renewals_extend_once() {
    race(64).await;
}

#[tokio::test]
async fn what_cannot_be_renewed() {
    let app = edge_app().await;
    let (user, id, token) = pat_expiring_in(&app, "3 days").await;
    let renew_as = |actor: Actor, bearer: String| {
        stamped(Method::POST, RENEW, Some(&actor), SECRET, now())
            .header("authorization", format!("Bearer {bearer}"))
            .body(Body::empty())
            .unwrap()
    };
    // Authenticated (a stamped identity, as from a still-cached edge entry) by a token
    // that has been revoked since.
    app.sql(&format!(
        "UPDATE personal_access_tokens SET revoked = true WHERE id = '{id}'"
    ))
    .await;
    let r = app.send(renew_as(pat_actor(user), token.clone())).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "token is no longer valid")
    );
    // Or has expired since.
    let (user2, id2, token2) = pat_expiring_in(&app, "3 days").await;
    app.sql(&format!(
        "UPDATE personal_access_tokens SET expires_at = now() - interval '1 second' WHERE id = '{id2}'"
    ))
    .await;
    let r = app.send(renew_as(pat_actor(user2), token2)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "token is no longer valid")
    );
    // Someone else's token.
    let (_, _, theirs) = pat_expiring_in(&app, "3 days").await;
    let (me, _, _) = pat_expiring_in(&app, "3 days").await;
    let r = app.send(renew_as(pat_actor(me), theirs)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "token does not belong to caller")
    );
    // Not a PAT at all: a session.
    let session = Actor::Session {
        user_id: me,
        email: None,
    };
    let jwt = app.session(me, 600).await;
    let r = app.send(renew_as(session, jwt)).await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::BAD_REQUEST,
            "only personal access tokens can be renewed"
        )
    );
    // A daemon token never gets that far: user routes refuse it.
    let mdt = RawToken::generate(TokenKind::Daemon).unwrap();
    let r = app
        .call(Method::POST, RENEW, Some(mdt.expose()), None)
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
}
