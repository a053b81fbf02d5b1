//! Ending sessions at the origin: the list with the current one marked, revoking one or
//! all others, signing out (by bearer and by cookie, the cookies cleared even for a dead
//! session), and a session revoked while it revokes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tollgate_shared::session::{self, SessionKey};

use crate::harness::{TestApp, JWT_SECRET};

/// The session records' ids of `jwt`s, by verifying them.
fn sid(jwt: &str) -> uuid::Uuid {
    session::verify(&SessionKey::new(JWT_SECRET), jwt, 0)
        .unwrap()
        .id
}

#[tokio::test]
async fn people_see_and_end_their_sessions() {
    let app = TestApp::new().await;
    let (user, pat) = app.user_with_token("many@example.com").await;
    let (laptop, phone, tablet) = (
        app.session(user, 600).await,
        app.session(user, 600).await,
        app.session(user, 600).await,
    );
    let stranger = app.create_user("stranger@example.com").await;
    let theirs = app.session(stranger, 600).await;
    let call = |method: axum::http::Method, path: String, token: String| {
        let app = &app;
        async move { app.call(method, &path, Some(&token), None).await }
    };

    let r = app.get("/api/sessions", Some(&laptop)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let listed = r.body["sessions"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 3, "{}", r.text);
    let current: Vec<&str> = listed
        .iter()
        .filter(|s| s["current"] == true)
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(current, [sid(&laptop).to_string()]);
    assert!(!r.text.contains(&laptop), "never the JWT");
    for field in [
        "created_at",
        "last_seen_at",
        "expires_at",
        "user_agent",
        "ip",
    ] {
        assert!(listed[0].get(field).is_some(), "{field}");
    }

    // Another person's session is not found, and stays live.
    let r = call(
        axum::http::Method::DELETE,
        format!("/api/sessions/{}", sid(&theirs)),
        laptop.clone(),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "session not found")
    );
    for bad in ["nope", "00000000-0000-0000-0000-000000000000"] {
        let r = call(
            axum::http::Method::DELETE,
            format!("/api/sessions/{bad}"),
            laptop.clone(),
        )
        .await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::NOT_FOUND, "session not found")
        );
    }
    assert_eq!(
        app.get("/api/me", Some(&theirs)).await.status,
        StatusCode::OK
    );

    // One ended from another.
    let r = call(
        axum::http::Method::DELETE,
        format!("/api/sessions/{}", sid(&phone)),
        laptop.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        app.get("/api/me", Some(&phone)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = call(
        axum::http::Method::DELETE,
        format!("/api/sessions/{}", sid(&phone)),
        laptop.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "ended already");

    // Every other one.
    let r = call(
        axum::http::Method::POST,
        "/api/sessions/revoke-others".into(),
        laptop.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        app.get("/api/me", Some(&tablet)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/me", Some(&laptop)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/me", Some(&theirs)).await.status,
        StatusCode::OK
    );

    // A PAT cannot sign out (it is no session); it may end every session.
    let r = call(
        axum::http::Method::POST,
        "/api/auth/logout".into(),
        pat.clone(),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "only a session can sign out")
    );
    let r = call(
        axum::http::Method::POST,
        "/api/auth/logout".into(),
        laptop.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let cookies: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(cookies[0].starts_with("tollgate_session=;") && cookies[0].contains("Max-Age=0"));
    assert!(cookies[0].contains("HttpOnly"));
    assert!(cookies[1].starts_with("tollgate_csrf=;") && cookies[1].contains("Max-Age=0"));
    assert_eq!(
        app.get("/api/me", Some(&laptop)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = app.get("/api/sessions", Some(&pat)).await;
    assert_eq!(r.body["sessions"], serde_json::json!([]), "{}", r.text);
}

#[tokio::test]
async fn signing_out_by_cookie_and_what_a_dead_session_gets() {
    let app = TestApp::new().await;
    let (user, pat) = app.user_with_token("out@example.com").await;
    let jwt = app.session(user, 600).await;
    let logout = |csrf: Option<String>, jwt: &str| {
        let mut req =
            Request::post("/api/auth/logout").header("cookie", format!("tollgate_session={jwt}"));
        if let Some(csrf) = csrf {
            req = req.header("x-csrf-token", csrf);
        }
        req.body(Body::empty()).unwrap()
    };
    let cleared = |r: &tollgate_tests::api::TestResponse| {
        r.headers
            .get_all("set-cookie")
            .iter()
            .filter(|v| v.to_str().unwrap().contains("Max-Age=0"))
            .count()
    };
    // A cross-site form cannot sign anyone out: no CSRF token, nothing cleared.
    let r = app.send(logout(None, &jwt)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "CSRF validation failed")
    );
    assert_eq!(cleared(&r), 0);
    let csrf = session::csrf_token(&jwt, [5; 16]);
    let r = app.send(logout(Some(csrf.clone()), &jwt)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(cleared(&r), 2);
    // Signing out again with the dead cookie still clears it (scripts cannot).
    let r = app.send(logout(Some(csrf), &jwt)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
    assert_eq!(cleared(&r), 2);

    // Expired sessions are not listed; a PAT's revoke-others ends every live one.
    let _expired = app.session(user, -1).await;
    let (a, b) = (app.session(user, 600).await, app.session(user, 600).await);
    let r = app.get("/api/sessions", Some(&pat)).await;
    let ids: Vec<String> = r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let mut want = vec![sid(&a).to_string(), sid(&b).to_string()];
    want.sort();
    let mut ids_sorted = ids.clone();
    ids_sorted.sort();
    assert_eq!(ids_sorted, want, "live ones only");
    assert!(r.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["current"] == false));
    let r = app
        .call(
            axum::http::Method::POST,
            "/api/sessions/revoke-others",
            Some(&pat),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for jwt in [a, b] {
        assert_eq!(
            app.get("/api/me", Some(&jwt)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn a_revoked_session_ends_nothing_more() {
    let app = TestApp::new().await;
    let user = app.create_user("late@example.com").await;
    let (caller, victim) = (app.session(user, 600).await, app.session(user, 600).await);
    // The caller's session revoked after it authenticated, before it revokes: the
    // domain call holds it live, so it ends nothing.
    app.sql(&format!(
        "UPDATE sessions SET revoked_at = now() WHERE id = '{}'",
        sid(&caller)
    ))
    .await;
    let which = tollgate_origin::db::sessions::Which::AllBut(Some(sid(&caller)));
    let r =
        tollgate_origin::sessions::revoke(&app.state.outbox, user, Some(sid(&caller)), which).await;
    assert!(r.is_err(), "refused");
    assert_eq!(
        app.get("/api/me", Some(&victim)).await.status,
        StatusCode::OK
    );
}
