//! Session JWTs at the origin (for requests that come straight to it): as a bearer, or
//! as the `tollgate_session` cookie with CSRF for unsafe methods.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tollgate_shared::session::{self, SessionKey};

use crate::harness::{TestApp, JWT_SECRET};

/// A JWT signed with `key` for `user` and session `sid`, valid for an hour.
fn signed(key: &SessionKey, user: uuid::Uuid, sid: uuid::Uuid) -> String {
    let now = chrono::Utc::now().timestamp();
    let minted = session::Minted {
        user_id: user,
        email: None,
        session_id: sid,
        iat: now,
        exp: now + 3600,
    };
    session::mint(key, &minted)
}

#[tokio::test]
async fn sessions_by_bearer_and_by_cookie() {
    let app = TestApp::new().await;
    let user = app.create_user("s@example.com").await;
    let jwt = app.session(user, 600).await;
    let r = app.get("/api/me", Some(&jwt)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["actor_source"], "session");
    assert_eq!(r.body["user_id"], user.to_string());
    let cookie = format!("theme=dark; tollgate_session={jwt}");
    let get = Request::get("/api/me")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(get).await.status, StatusCode::OK);

    // Unsafe methods with a cookie need the CSRF token; a bearer does not.
    let post = |csrf: Option<&str>| {
        let mut req = Request::post("/api/tokens").header("cookie", &cookie);
        if let Some(csrf) = csrf {
            req = req.header("x-csrf-token", csrf);
        }
        req.body(Body::from(r#"{"name":"from the browser"}"#))
            .unwrap()
    };
    let r = app.send(post(None)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "CSRF validation failed")
    );
    let wrong = session::csrf_token("another cookie", [3; 16]);
    let r = app.send(post(Some(&wrong))).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "CSRF validation failed")
    );
    let right = session::csrf_token(&jwt, [3; 16]);
    let r = app.send(post(Some(&right))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .call(
            axum::http::Method::POST,
            "/api/tokens",
            Some(&jwt),
            Some(r#"{"name":"tool"}"#),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "a bearer session needs no CSRF token"
    );
    // Sessions renew nothing: they are not PATs.
    let r = app
        .call(
            axum::http::Method::POST,
            "/api/tokens/current/renew",
            Some(&jwt),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::BAD_REQUEST,
            "only personal access tokens can be renewed"
        )
    );
}

#[tokio::test]
async fn bad_sessions() {
    let app = TestApp::new().await;
    let user = app.create_user("b@example.com").await;
    let expired = app.session(user, -1).await;
    let r = app.get("/api/me", Some(&expired)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
    let live = app.session(user, 600).await;
    let live_sid = session::verify(&SessionKey::new(JWT_SECRET), &live, 0)
        .unwrap()
        .id;
    let wrong_secret = signed(
        &SessionKey::new("another-secret-of-at-least-32-bytes"),
        user,
        live_sid,
    );
    let r = app.get("/api/me", Some(&wrong_secret)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
    let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{user}","exp":9999999999}}"#));
    let r = app
        .get("/api/me", Some(&format!("{header}.{claims}.")))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
    // A well-signed token whose subject is no user id.
    let key = SessionKey::new(JWT_SECRET);
    let good = signed(&key, user, live_sid);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(r#"{"sub":"nobody","exp":9999999999}"#);
    let r = app.get("/api/me", Some(&parts.join("."))).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token"),
        "tampered"
    );
}

#[tokio::test]
async fn a_session_is_its_record() {
    let app = TestApp::new().await;
    let user = app.create_user("r@example.com").await;
    let key = SessionKey::new(JWT_SECRET);
    // Well signed, but no record stands behind it (or another user's does).
    let r = app
        .get("/api/me", Some(&signed(&key, user, uuid::Uuid::new_v4())))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
    let other = app.create_user("o@example.com").await;
    let theirs = app.session(other, 600).await;
    let their_sid = session::verify(&key, &theirs, 0).unwrap().id;
    let r = app
        .get("/api/me", Some(&signed(&key, user, their_sid)))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );

    let jwt = app.session(user, 600).await;
    assert_eq!(app.get("/api/me", Some(&jwt)).await.status, StatusCode::OK);
    let seen = app
        .sql("SELECT count(*) FROM sessions WHERE last_seen_at IS NOT NULL")
        .await[0]
        .get::<_, i64>(0);
    assert_eq!(seen, 1, "marked seen");
    app.sql("UPDATE sessions SET revoked_at = now()").await;
    let r = app.get("/api/me", Some(&jwt)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
}

#[tokio::test]
async fn a_stamped_session_is_held_to_its_record_too() {
    let app = crate::harness::edge_app().await;
    let user = app.create_user("st@example.com").await;
    let jwt = app.session(user, 600).await;
    let actor = tollgate_shared::Actor::Session {
        user_id: user,
        email: None,
    };
    let send = |jwt: String, actor: tollgate_shared::Actor| {
        let app = &app;
        async move {
            let req = crate::harness::stamped(
                axum::http::Method::GET,
                "/api/me",
                Some(&actor),
                crate::harness::SECRET,
                crate::harness::now(),
            )
            .header("authorization", format!("Bearer {jwt}"))
            .body(Body::empty())
            .unwrap();
            app.send(req).await
        }
    };
    assert_eq!(
        send(jwt.clone(), actor.clone()).await.status,
        StatusCode::OK
    );
    // A stamp for someone else than the JWT forwarded with it is no identity.
    let other = tollgate_shared::Actor::Session {
        user_id: uuid::Uuid::new_v4(),
        email: None,
    };
    let r = send(jwt.clone(), other).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
    app.sql("UPDATE sessions SET revoked_at = now()").await;
    let r = send(jwt, actor).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token"),
        "revoked: refused at once, whatever the edge stamped"
    );
}

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
