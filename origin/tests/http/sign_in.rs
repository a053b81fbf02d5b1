//! Signing in by emailed code at the origin, mailing through a real SMTP server (STARTTLS
//! with the test CA): the cookies and what they open, every refusal and its message,
//! single use, five wrong tries, expiry, a new code replacing the last, 16 concurrent
//! verifications of one code, suspension (and a suspension racing a sign-in), the
//! limits, and mail that is not configured.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::session::{self, SessionKey};
use tollgate_shared::AuthError;
use tollgate_tests::signing;
use tollgate_tests::smtp::{SmtpServer, Tls};

use crate::harness::{mailing, mailing_app, Options, TestApp, TestResponse, JWT_SECRET, SECRET};

fn smtp() -> SmtpServer {
    SmtpServer::start(Tls::StartTls)
}

/// `POST path` with a JSON body and `headers`, straight to the origin.
async fn post(app: &TestApp, path: &str, body: &Value, headers: &[(&str, &str)]) -> TestResponse {
    let mut req = Request::post(path).header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    app.send(req.body(Body::from(body.to_string())).unwrap())
        .await
}

/// The same, as the edge forwards it for a client at `client`.
async fn post_from(app: &TestApp, client: &str, path: &str, body: &Value) -> TestResponse {
    let mut req = Request::post(path).header("content-type", "application/json");
    for (name, value) in signing::stamp_from(client, "POST", path, None, SECRET, signing::now()) {
        req = req.header(name, value);
    }
    app.send(req.body(Body::from(body.to_string())).unwrap())
        .await
}

async fn send_code(app: &TestApp, email: &str) -> TestResponse {
    post(app, "/api/auth/send-code", &json!({ "email": email }), &[]).await
}

async fn verify(app: &TestApp, email: &str, code: &str) -> TestResponse {
    let body = json!({ "email": email, "code": code });
    post(app, "/api/auth/verify-code", &body, &[]).await
}

fn refused(r: &TestResponse, expected: AuthError) {
    assert_eq!(
        (r.status.as_u16(), r.error()),
        (expected.status(), expected.message()),
        "{}",
        r.text
    );
}

fn set_cookies(r: &TestResponse) -> Vec<String> {
    let all = r.headers.get_all("set-cookie").iter();
    all.map(|v| v.to_str().unwrap().to_owned()).collect()
}

/// The value `r` sets cookie `name` to.
fn cookie(r: &TestResponse, name: &str) -> String {
    set_cookies(r)
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", set_cookies(r)))
        .to_owned()
}

/// A right code for `email`: sent, and read out of the message.
async fn code_for(app: &TestApp, smtp: &SmtpServer, email: &str) -> String {
    let r = send_code(app, email).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    smtp.next_code(email).await
}

async fn live_sessions(app: &TestApp, user: uuid::Uuid) -> i64 {
    let db = app.pool.get().await.unwrap();
    let sql = "SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL";
    db.query_one(sql, &[&user]).await.unwrap().get(0)
}

#[tokio::test]
async fn a_code_from_the_mail_signs_in_with_both_cookies_once() {
    let smtp = smtp();
    let app = mailing_app(&smtp).await;
    let user = app.create_user("ada@example.com").await;
    let r = send_code(&app, " Ada@Example.com ").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let mail = smtp.next_message("ada@example.com").await;
    let code = mail.code();
    assert!(mail.body().contains(&format!("    {code}")), "{}", mail.raw);
    // Not in the subject, which notifications and relays' logs show.
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Your Tollgate sign-in code")
    );
    assert_eq!(
        mail.header("from").as_deref(),
        Some("Tollgate <no-reply@tollgate.test>")
    );
    // Nothing but the code: no link, no session, no digest.
    assert!(!mail.raw.contains("http"), "{}", mail.raw);

    let body = json!({ "email": "ada@example.com", "code": code });
    let headers = [("user-agent", "Firefox on a shared computer")];
    let r = post(&app, "/api/auth/verify-code", &body, &headers).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["id"], user.to_string());
    assert_eq!(r.body["user"]["email"], "ada@example.com");
    assert_eq!(r.body["user"]["name"], "Test User");
    assert!(r.body["expires_at"].is_string(), "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let set = set_cookies(&r);
    assert_eq!(set.len(), 2, "{set:?}");
    let session_cookie = set
        .iter()
        .find(|c| c.starts_with("tollgate_session="))
        .unwrap();
    let csrf_cookie = set
        .iter()
        .find(|c| c.starts_with("tollgate_csrf="))
        .unwrap();
    for attribute in ["Path=/", "SameSite=Lax", "Secure", "Max-Age=2592000"] {
        assert!(session_cookie.contains(attribute), "{session_cookie}");
        assert!(csrf_cookie.contains(attribute), "{csrf_cookie}");
    }
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(
        !csrf_cookie.contains("HttpOnly"),
        "the page reads it: {csrf_cookie}"
    );
    let (jwt, csrf) = (cookie(&r, "tollgate_session"), cookie(&r, "tollgate_csrf"));
    assert!(
        session::csrf_valid(&jwt, Some(&csrf)),
        "the server's CSRF token"
    );
    let verified = session::verify(&SessionKey::new(JWT_SECRET), &jwt, signing::now()).unwrap();
    assert!(!r.text.contains(&jwt), "the JWT only in its cookie");

    // The cookies open an unsafe route, with the CSRF cookie's value as the header.
    let cookies = format!("tollgate_session={jwt}; tollgate_csrf={csrf}");
    let create = json!({ "name": "from the browser" });
    let r = post(&app, "/api/tokens", &create, &[("cookie", &cookies)]).await;
    refused(&r, AuthError::CsrfFailed);
    let with_csrf = [
        ("cookie", cookies.as_str()),
        ("x-csrf-token", csrf.as_str()),
    ];
    let r = post(&app, "/api/tokens", &create, &with_csrf).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // The record knows where it was opened.
    let r = app.get("/api/sessions", Some(&jwt)).await;
    let listed = &r.body["sessions"][0];
    assert_eq!(listed["id"], verified.id.to_string(), "{}", r.text);
    assert_eq!(listed["user_agent"], "Firefox on a shared computer");
    assert_eq!(listed["current"], true);

    // The code was used up.
    refused(
        &verify(&app, "ada@example.com", &code).await,
        AuthError::InvalidCode,
    );
    assert_eq!(live_sessions(&app, user).await, 1);
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_mail() {
    let smtp = smtp();
    let app = mailing_app(&smtp).await;
    app.create_user("known@example.com").await;
    let r = send_code(&app, "nobody@example.com").await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::NO_CONTENT, ""));
    // The known address's mail arrives; by then the unknown one's would have too.
    code_for(&app, &smtp, "known@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(smtp.messages_to("nobody@example.com").is_empty());
    refused(
        &verify(&app, "nobody@example.com", "123456").await,
        AuthError::InvalidCode,
    );
}

#[tokio::test]
async fn anything_wrong_is_one_answer() {
    let smtp = smtp();
    let app = mailing_app(&smtp).await;
    app.create_user("wrong@example.com").await;
    let code = code_for(&app, &smtp, "wrong@example.com").await;
    let other = if code == "000000" { "000001" } else { "000000" };
    for (email, code) in [
        ("wrong@example.com", other),
        ("wrong@example.com", "12345"),
        ("wrong@example.com", "abcdef"),
        ("wrong@example.com", ""),
        ("not an address", code.as_str()),
        ("other@example.com", code.as_str()),
    ] {
        refused(&verify(&app, email, code).await, AuthError::InvalidCode);
    }
    let r = post(&app, "/api/auth/verify-code", &json!({}), &[]).await;
    refused(&r, AuthError::InvalidCode);
    let r = post(
        &app,
        "/api/auth/verify-code",
        &json!({ "code": 123456 }),
        &[],
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "invalid request body")
    );
    let too_long = format!("{}@example.com", "a".repeat(250));
    for bad in [
        json!({}),
        json!({ "email": "nope" }),
        json!({ "email": too_long }),
        json!({ "email": 7 }),
    ] {
        let r = post(&app, "/api/auth/send-code", &bad, &[]).await;
        let expected = if bad["email"].is_number() {
            "invalid request body"
        } else {
            "invalid email"
        };
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::BAD_REQUEST, expected),
            "{bad}"
        );
    }
    // One wrong code counted (the malformed ones could never be right): the code works.
    let r = verify(&app, "wrong@example.com", &code).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn five_wrong_tries_burn_the_code() {
    let smtp = smtp();
    let app = mailing_app(&smtp).await;
    let user = app.create_user("burn@example.com").await;
    let code = code_for(&app, &smtp, "burn@example.com").await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    for _ in 0..5 {
        refused(
            &verify(&app, "burn@example.com", &wrong).await,
            AuthError::InvalidCode,
        );
    }
    refused(
        &verify(&app, "burn@example.com", &code).await,
        AuthError::InvalidCode,
    );
    assert_eq!(live_sessions(&app, user).await, 0);
    // A new code starts over.
    let code = code_for(&app, &smtp, "burn@example.com").await;
    assert_eq!(
        verify(&app, "burn@example.com", &code).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_code_expires_and_a_new_one_replaces_the_last() {
    let smtp = smtp();
    let app = mailing_app(&smtp).await;
    let user = app.create_user("late@example.com").await;
    let first = code_for(&app, &smtp, "late@example.com").await;
    let second = code_for(&app, &smtp, "late@example.com").await;
    if first != second {
        refused(
            &verify(&app, "late@example.com", &first).await,
            AuthError::InvalidCode,
        );
    }
    let db = app.pool.get().await.unwrap();
    let expire = "UPDATE sign_in_codes SET expires_at = now() - interval '1 second'";
    db.execute(expire, &[]).await.unwrap();
    refused(
        &verify(&app, "late@example.com", &second).await,
        AuthError::InvalidCode,
    );
    // Stored as digests: neither the address nor the code is in the table.
    let row = db
        .query_one("SELECT address, digest FROM sign_in_codes", &[])
        .await
        .unwrap();
    let (address, digest): (Vec<u8>, Vec<u8>) = (row.get(0), row.get(1));
    assert_eq!((address.len(), digest.len()), (32, 32));
    for stored in [&address, &digest] {
        assert!(!stored.windows(6).any(|w| w == second.as_bytes()));
        assert!(!stored.windows(4).any(|w| w == b"late"));
    }
    assert_eq!(live_sessions(&app, user).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_16_concurrent_verifications_of_one_code_exactly_one_signs_in() {
    let smtp = smtp();
    let app = std::sync::Arc::new(mailing_app(&smtp).await);
    let user = app.create_user("race@example.com").await;
    let code = code_for(&app, &smtp, "race@example.com").await;
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let (app, code) = (app.clone(), code.clone());
            tokio::spawn(async move { verify(&app, "race@example.com", &code).await })
        })
        .collect();
    let mut answers = Vec::new();
    for attempt in attempts {
        answers.push(attempt.await.unwrap());
    }
    let won: Vec<&TestResponse> = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for lost in answers.iter().filter(|r| r.status != StatusCode::OK) {
        refused(lost, AuthError::InvalidCode);
        assert!(set_cookies(lost).is_empty());
    }
    assert_eq!(live_sessions(&app, user).await, 1);
}

#[tokio::test]
async fn a_suspended_account_is_told_so_with_the_right_code_only() {
    let smtp = smtp();
    let app = mailing_app(&smtp).await;
    let user = app.create_user("away@example.com").await;
    tollgate_origin::accounts::suspend(&app.state.outbox, user, "left")
        .await
        .unwrap();
    let code = code_for(&app, &smtp, "away@example.com").await;
    let other = if code == "999999" { "999998" } else { "999999" };
    refused(
        &verify(&app, "away@example.com", other).await,
        AuthError::InvalidCode,
    );
    let r = verify(&app, "away@example.com", &code).await;
    refused(&r, AuthError::AccountSuspended);
    assert!(set_cookies(&r).is_empty());
    assert_eq!(live_sessions(&app, user).await, 0);
    // Used up all the same.
    tollgate_origin::accounts::unsuspend(&app.state.outbox, user)
        .await
        .unwrap();
    refused(
        &verify(&app, "away@example.com", &code).await,
        AuthError::InvalidCode,
    );
}

#[tokio::test]
async fn a_suspension_racing_a_sign_in_leaves_no_live_session() {
    let smtp = smtp();
    let app = mailing_app(&smtp).await;
    for round in 0..3 {
        let email = format!("racing{round}@example.com");
        let user = app.create_user(&email).await;
        let code = code_for(&app, &smtp, &email).await;
        let suspend = tollgate_origin::accounts::suspend(&app.state.outbox, user, "");
        let (signed_in, suspended) = tokio::join!(verify(&app, &email, &code), suspend);
        suspended.unwrap().unwrap();
        // Signed in first (then ended by the suspension) or refused: never a live one.
        assert!(
            [StatusCode::OK, StatusCode::FORBIDDEN].contains(&signed_in.status),
            "{}",
            signed_in.text
        );
        assert_eq!(live_sessions(&app, user).await, 0, "round {round}");
    }
}

#[tokio::test]
async fn sends_are_limited_per_address_and_per_email_alike_for_unknown_ones() {
    let smtp = smtp();
    let app = mailing_app(&smtp).await;
    // Per client address: 5 a minute, whatever the addresses asked for.
    for i in 0..5 {
        let body = json!({ "email": format!("someone{i}@example.com") });
        let r = post_from(&app, "198.51.100.1", "/api/auth/send-code", &body).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
    let body = json!({ "email": "someone5@example.com" });
    let r = post_from(&app, "198.51.100.1", "/api/auth/send-code", &body).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::TOO_MANY_REQUESTS, "too many sign-in requests")
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another address is counted apart; an IPv6 /64 is one client.
    let r = post_from(&app, "2001:db8:1:2::1", "/api/auth/send-code", &body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // Per email address: 3 in 10 minutes from anywhere, an account or not.
    app.create_user("popular@example.com").await;
    for email in ["popular@example.com", "unknown@example.com"] {
        for i in 0..3 {
            let from = format!("198.51.100.{}", 10 + i);
            let r = post_from(
                &app,
                &from,
                "/api/auth/send-code",
                &json!({ "email": email }),
            )
            .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{email}: {}", r.text);
        }
        let r = post_from(
            &app,
            "198.51.100.20",
            "/api/auth/send-code",
            &json!({ "email": email }),
        )
        .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=600).contains(&retry), "{retry}");
    }
    for _ in 0..3 {
        smtp.next_message("popular@example.com").await;
    }
    assert_eq!(smtp.messages_to("popular@example.com").len(), 3);
    assert!(smtp.messages_to("unknown@example.com").is_empty());
}

#[tokio::test]
async fn verifications_are_limited_per_address() {
    let smtp = smtp();
    let app = mailing_app(&smtp).await;
    let body = json!({ "email": "x@example.com", "code": "000000" });
    for _ in 0..20 {
        let r = post_from(&app, "198.51.100.30", "/api/auth/verify-code", &body).await;
        refused(&r, AuthError::InvalidCode);
    }
    let r = post_from(&app, "198.51.100.30", "/api/auth/verify-code", &body).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::TOO_MANY_REQUESTS, "too many sign-in requests")
    );
    assert!(r.header("retry-after").is_some());
    let r = post_from(&app, "198.51.100.31", "/api/auth/verify-code", &body).await;
    refused(&r, AuthError::InvalidCode);
}

#[tokio::test]
async fn another_sites_pages_cannot_sign_anyone_in() {
    let smtp = smtp();
    let app = TestApp::with(Options {
        public_url: Some("https://tollgate.example".parse().unwrap()),
        ..mailing(&smtp)
    })
    .await;
    app.create_user("visitor@example.com").await;
    let send = json!({ "email": "visitor@example.com" });
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
    ] {
        let r = post(&app, "/api/auth/send-code", &send, headers).await;
        refused(&r, AuthError::CrossSite);
        let verify = json!({ "email": "visitor@example.com", "code": "123456" });
        let r = post(&app, "/api/auth/verify-code", &verify, headers).await;
        refused(&r, AuthError::CrossSite);
    }
    // Our own pages, and tools that send no Origin, are served.
    let ours = [
        ("origin", "https://tollgate.example"),
        ("sec-fetch-site", "same-origin"),
    ];
    let r = post(&app, "/api/auth/send-code", &send, &ours).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let code = smtp.next_code("visitor@example.com").await;
    let verify = json!({ "email": "visitor@example.com", "code": code });
    let r = post(&app, "/api/auth/verify-code", &verify, &ours).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn without_mail_sending_is_503_and_loopback_cookies_are_not_secure() {
    let app = TestApp::new().await;
    let r = send_code(&app, "ada@example.com").await;
    assert_eq!(
        (r.status, r.error(), r.header("retry-after")),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "mail is not configured",
            Some("5")
        )
    );

    let smtp = SmtpServer::start(Tls::None);
    let app = TestApp::with(Options {
        public_url: Some("http://127.0.0.1:8787".parse().unwrap()),
        ..mailing(&smtp)
    })
    .await;
    app.create_user("local@example.com").await;
    let code = code_for(&app, &smtp, "local@example.com").await;
    let r = verify(&app, "local@example.com", &code).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let set = set_cookies(&r);
    assert!(set.iter().all(|c| !c.contains("Secure")), "{set:?}");
    // Signing out clears them the same way.
    let jwt = cookie(&r, "tollgate_session");
    let r = app
        .call(Method::POST, "/api/auth/logout", Some(&jwt), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let cleared = set_cookies(&r);
    assert_eq!(cleared.len(), 2);
    assert!(cleared
        .iter()
        .all(|c| c.contains("Max-Age=0") && !c.contains("Secure")));
}
