//! Signing in through the edge with the code from a real SMTP server: the session in
//! its cookies on an unsafe route, sign-out (the old JWT refused at the edge), a session
//! ended from another one, five wrong codes, 16 concurrent verifications, and the
//! edge's own sign-in limits. Each test connects from its own `127.0.0.x`, which the
//! edge counts apart (wrangler sets `CF-Connecting-IP` from the connection).

use std::net::{IpAddr, Ipv4Addr};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::sign_in::{SEND_CODE_PATH, VERIFY_CODE_PATH};
use tollgate_shared::AuthError;
use tollgate_tests::api::{assert_refused, Api};
use tollgate_tests::stack::{Stack, EMAIL};

fn from(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Polls `check` for up to 2 s (the revocation bound), returning its last answer.
async fn within_2_s(mut check: impl AsyncFnMut() -> StatusCode, want: StatusCode) -> StatusCode {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let status = check().await;
        if status == want || std::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub async fn a_person_signs_in_works_in_the_browser_and_signs_out(stack: &Stack) {
    let browser = stack.sign_in(EMAIL, from(21)).await;
    let r = stack.as_browser(&browser, Method::GET, "/api/me").await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        (me["actor_source"].as_str(), &me["user_id"]),
        (Some("session"), &stack.user["id"])
    );

    // An unsafe route with the cookies: the CSRF cookie's value is the header.
    let r = stack
        .http_from(browser.from)
        .post(format!("{}/api/tokens", stack.edge.url))
        .header("cookie", browser.cookie())
        .json(&json!({ "name": "signed in" }))
        .send()
        .await
        .unwrap();
    assert_refused(r, AuthError::CsrfFailed).await;
    let r = stack
        .http_from(browser.from)
        .post(format!("{}/api/tokens", stack.edge.url))
        .header("cookie", browser.cookie())
        .header("x-csrf-token", &browser.csrf)
        .json(&json!({ "name": "signed in" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    stack.keep(created["token"].as_str().unwrap());

    // The record holds the address the edge saw, signed through to the origin.
    let r = stack
        .as_browser(&browser, Method::GET, "/api/sessions")
        .await;
    let listed: Value = r.json().await.unwrap();
    let current = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(current["ip"], "127.0.0.21", "{listed}");

    // Signing out clears both cookies, and the JWT is refused at the edge at once.
    let r = stack
        .as_browser(&browser, Method::POST, "/api/auth/logout")
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let cleared: Vec<&str> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cleared.len(), 2, "{cleared:?}");
    assert!(
        cleared.iter().all(|c| c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    let r = stack.as_browser(&browser, Method::GET, "/api/me").await;
    assert_refused(r, AuthError::InvalidToken).await;
}

pub async fn a_session_ended_from_another_is_refused_at_the_edge(stack: &Stack) {
    let (laptop, phone) = (
        stack.sign_in(EMAIL, from(22)).await,
        stack.sign_in(EMAIL, from(22)).await,
    );
    let r = stack.as_browser(&phone, Method::GET, "/api/sessions").await;
    let listed: Value = r.json().await.unwrap();
    let sessions = listed["sessions"].as_array().unwrap();
    let laptop_id = tollgate_shared::session::verify(
        &tollgate_shared::session::SessionKey::new(tollgate_tests::stack::JWT_SECRET),
        &laptop.jwt,
        0,
    )
    .unwrap()
    .id
    .to_string();
    assert!(
        sessions.iter().any(|s| s["id"] == laptop_id.as_str()),
        "{listed}"
    );
    let path = format!("/api/sessions/{laptop_id}");
    let r = stack.as_browser(&phone, Method::DELETE, &path).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let status = within_2_s(
        async || {
            stack
                .as_browser(&laptop, Method::GET, "/api/me")
                .await
                .status()
        },
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let r = stack.as_browser(&phone, Method::GET, "/api/me").await;
    assert_eq!(r.status(), StatusCode::OK, "the other session lives on");
    // And every other one at once.
    let r = stack
        .as_browser(&phone, Method::POST, "/api/sessions/revoke-others")
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = stack.as_browser(&phone, Method::GET, "/api/me").await;
    assert_eq!(r.status(), StatusCode::OK);
}

pub async fn five_wrong_codes_burn_it_and_16_verifications_make_one_session(stack: &Stack) {
    let person = stack.person();
    let at = from(23);
    let send = json!({ "email": person.email });
    assert_eq!(
        stack.post_from(at, SEND_CODE_PATH, &send).await.status(),
        StatusCode::NO_CONTENT
    );
    let code = stack.smtp.next_code(&person.email).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 7) % 1_000_000);
    for guess in [wrong.as_str(); 5].into_iter().chain([code.as_str()]) {
        let body = json!({ "email": person.email, "code": guess });
        let r = stack.post_from(at, VERIFY_CODE_PATH, &body).await;
        assert_refused(r, AuthError::InvalidCode).await;
    }

    // A new code, verified 16 times at once through the edge: one session.
    let at = from(24);
    assert_eq!(
        stack.post_from(at, SEND_CODE_PATH, &send).await.status(),
        StatusCode::NO_CONTENT
    );
    let code = stack.smtp.next_code(&person.email).await;
    let body = json!({ "email": person.email, "code": code });
    let verifications = (0..16).map(|_| stack.post_from(at, VERIFY_CODE_PATH, &body));
    let answers = futures_util::future::join_all(verifications).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::OK, StatusCode::UNAUTHORIZED].contains(s)),
        "{statuses:?}"
    );
    let live = format!(
        "SELECT count(*) = 1 FROM sessions WHERE user_id = '{}' AND revoked_at IS NULL",
        person.id
    );
    assert!(stack.query_bool(&live).await);
}

pub async fn the_edge_limits_sign_in_requests_per_client(stack: &Stack) {
    let at = from(25);
    let before = stack
        .metric("tollgate_http_requests_total{route=\"/api/auth/send-code\"")
        .await;
    // The binding counts in fixed one-minute windows: six requests that straddle a
    // window's end can pass five in each, so eleven guarantee a 429.
    let mut statuses = Vec::new();
    for i in 0..11 {
        let body = json!({ "email": format!("limit{i}@example.com") });
        let r = stack.post_from(at, SEND_CODE_PATH, &body).await;
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(r.headers()["retry-after"], "60");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "too many sign-in requests");
            break;
        }
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let reached = stack
        .metric("tollgate_http_requests_total{route=\"/api/auth/send-code\"")
        .await;
    assert_eq!(
        reached - before,
        (statuses.len() - 1) as f64,
        "the refused one never reached the origin: {statuses:?}"
    );
    // Another client is counted apart.
    let body = json!({ "email": "limit-other@example.com" });
    let r = stack.post_from(from(26), SEND_CODE_PATH, &body).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}
