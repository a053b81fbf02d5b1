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
