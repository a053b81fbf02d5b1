//! Browser sessions through the edge: a JWT in the `tollgate_session` cookie (or as a
//! bearer) is verified at the edge with no lookup; unsafe methods with a cookie need the
//! CSRF token, checked at the edge before anything else.

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_shared::session::{self, SessionKey};
use tollgate_shared::AuthError;
use tollgate_tests::api::assert_refused;
use tollgate_tests::stack::{Stack, JWT_SECRET};

pub async fn a_browser_session_works_with_csrf_and_costs_no_lookup(stack: &Stack) {
    let user: uuid::Uuid = stack.user["id"].as_str().unwrap().parse().unwrap();
    let now = chrono_now();
    let jwt = stack.session(600);
    let cookie = format!("tollgate_session={jwt}");
    let before = stack.resolves().await;

    let r = stack
        .http()
        .get(format!("{}/api/me", stack.edge.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["actor_source"], "session");
    assert_eq!(me["user_id"], stack.user["id"]);

    let post = |csrf: Option<String>| {
        let mut req = stack
            .http()
            .post(format!("{}/api/tokens", stack.edge.url))
            .header("cookie", &cookie)
            .body(r#"{"name":"browser"}"#);
        if let Some(csrf) = csrf {
            req = req.header("x-csrf-token", csrf);
        }
        req.send()
    };
    assert_refused(post(None).await.unwrap(), AuthError::CsrfFailed).await;
    let wrong = session::csrf_token("not the cookie", [5; 16]);
    assert_refused(post(Some(wrong)).await.unwrap(), AuthError::CsrfFailed).await;
    let r = post(Some(session::csrf_token(&jwt, [5; 16])))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    stack
        .minted
        .lock()
        .unwrap()
        .push(created["token"].as_str().unwrap().to_owned());

    // As a bearer: no cookie, no CSRF needed.
    let r = stack
        .http()
        .get(format!("{}/api/me", stack.edge.url))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        stack.resolves().await,
        before,
        "sessions never reach the resolver"
    );

    // Expired, signed with another secret, or well signed for no record.
    let signed = |secret: &str, iat: i64, exp: i64| {
        let minted = session::Minted {
            user_id: user,
            email: None,
            session_id: uuid::Uuid::new_v4(),
            iat,
            exp,
        };
        session::mint(&SessionKey::new(secret), &minted)
    };
    let expired = signed(JWT_SECRET, now - 100, now - 1);
    let forged = signed("some-other-secret-of-32-bytes-ok", now, now + 600);
    let unrecorded = signed(JWT_SECRET, now, now + 600);
    for jwt in [expired, forged, unrecorded] {
        let r = stack
            .http()
            .get(format!("{}/api/me", stack.edge.url))
            .header("cookie", format!("tollgate_session={jwt}"))
            .send()
            .await
            .unwrap();
        assert_refused(r, AuthError::InvalidToken).await;
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Requests the origin counted (`/metrics` scrapes included).
async fn origin_requests(stack: &Stack) -> f64 {
    stack.metric("tollgate_http_requests_total").await
}

pub async fn a_signed_out_session_is_refused_at_the_edge(stack: &Stack) {
    let (jwt, other) = (stack.session(600), stack.session(600));
    let me = |jwt: String| {
        let stack = &stack;
        async move {
            stack
                .http()
                .get(format!("{}/api/me", stack.edge.url))
                .bearer_auth(jwt)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(me(jwt.clone()).await.status(), StatusCode::OK);
    let r = stack
        .http()
        .post(format!("{}/api/auth/logout", stack.edge.url))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers().get_all("set-cookie").iter().count(), 2);
    // Refused from the 204 on (the origin checks every session's record) …
    assert_refused(me(jwt.clone()).await, AuthError::InvalidToken).await;
    // … and, once the log has reached this location (≤ 1.5 s), by the edge itself.
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    let scrape = {
        let before = origin_requests(stack).await;
        origin_requests(stack).await - before
    };
    let before = origin_requests(stack).await;
    assert_refused(me(jwt).await, AuthError::InvalidToken).await;
    assert_eq!(
        origin_requests(stack).await - before,
        scrape,
        "not forwarded"
    );
    assert_eq!(
        me(other).await.status(),
        StatusCode::OK,
        "other sessions live on"
    );
}
