//! Session JWTs at the origin (for requests that come straight to it): as a bearer, or
//! as the `tollgate_session` cookie with CSRF for unsafe methods.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tollgate_shared::session::{self, SessionKey};

use crate::harness::{TestApp, JWT_SECRET};

fn jwt_for(user: uuid::Uuid, ttl: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    session::mint(
        &SessionKey::new(JWT_SECRET),
        user,
        Some("s@example.com"),
        now,
        now + ttl,
    )
}

#[tokio::test]
async fn sessions_by_bearer_and_by_cookie() {
    let app = TestApp::new().await;
    let user = app.create_user("s@example.com").await;
    let jwt = jwt_for(user, 600);
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
    let expired = jwt_for(user, -1);
    let r = app.get("/api/me", Some(&expired)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
    let wrong_secret = session::mint(
        &SessionKey::new("another-secret-of-at-least-32-bytes"),
        user,
        None,
        0,
        i64::MAX / 2,
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
    let good = session::mint(&key, user, None, 0, 9_999_999_999);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(r#"{"sub":"nobody","exp":9999999999}"#);
    let r = app.get("/api/me", Some(&parts.join("."))).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token"),
        "tampered"
    );
}
