//! `tollgate login` through the browser (RFC 8628): a grant started by a client, looked
//! up and approved or denied by a signed-in person, polled for — every answer of §3.5,
//! slow_down, expiry, a PAT refused as an approver, five wrong codes a minute, a
//! workspace only its members can grant (races and lifetimes: `device_races`).

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{count, owner, Options, TestApp, TestResponse};

const PUBLIC_URL: &str = "http://127.0.0.1:8787";

pub(crate) async fn device_app() -> TestApp {
    TestApp::with(Options {
        public_url: Some(PUBLIC_URL.parse().unwrap()),
        ..Options::default()
    })
    .await
}

pub(crate) async fn post(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> TestResponse {
    app.call(Method::POST, path, token, Some(&body.to_string()))
        .await
}

/// A new grant: (device code, user code as shown).
pub(crate) async fn start(app: &TestApp, body: Value) -> (String, String) {
    let r = post(app, "/api/auth/device/code", None, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let device = r.body["device_code"].as_str().unwrap().to_owned();
    let user = r.body["user_code"].as_str().unwrap().to_owned();
    (device, user)
}

pub(crate) async fn poll(app: &TestApp, device_code: &str) -> TestResponse {
    post(
        app,
        "/api/auth/device/token",
        None,
        json!({"device_code": device_code}),
    )
    .await
}

pub(crate) fn assert_error(r: &TestResponse, status: StatusCode, error: &str) {
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (status, Some(error)),
        "{}",
        r.text
    );
}

/// Lets the next poll come after the interval, as a well-behaved client's would.
pub(crate) async fn wait_out_interval(app: &TestApp) {
    app.sql("UPDATE device_grants SET last_polled_at = last_polled_at - interval '1 hour'")
        .await;
}

#[tokio::test]
async fn a_client_gets_one_token_once_its_person_approves() {
    let app = device_app().await;
    let r = post(
        &app,
        "/api/auth/device/code",
        None,
        json!({"client_name": "tollgate CLI on build-7"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["cache-control"], "no-store");
    let device = r.body["device_code"].as_str().unwrap().to_owned();
    let user = r.body["user_code"].as_str().unwrap().to_owned();
    assert_eq!(device.len(), 64);
    let letters = |s: &str| s.len() == 4 && s.bytes().all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b));
    let (a, b) = user.split_once('-').unwrap();
    assert!(letters(a) && letters(b), "{user}");
    let page = format!("{PUBLIC_URL}/console/device");
    assert_eq!(r.body["verification_uri"], page.as_str());
    assert_eq!(
        r.body["verification_uri_complete"],
        format!("{page}?user_code={user}").as_str()
    );
    assert_eq!(
        (r.body["expires_in"].as_i64(), r.body["interval"].as_i64()),
        (Some(600), Some(5))
    );
    // Neither code is stored as it is.
    let stored = count(
        &app,
        &format!(
            "SELECT count(*) FROM device_grants
             WHERE position(decode('{device}', 'hex') IN device_digest) > 0
                OR position(convert_to('{device}', 'UTF8') IN device_digest) > 0
                OR position(convert_to('{a}{b}', 'UTF8') IN user_digest) > 0"
        ),
    )
    .await;
    assert_eq!(stored, 0);

    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );
    // Again at once: too soon, and the interval grows by 5 s.
    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "slow_down",
    );
    assert_eq!(
        count(&app, "SELECT interval_secs::bigint FROM device_grants").await,
        10
    );

    let (person, _, _) = owner(&app).await;
    let session = app.session(person, 3600).await;
    let looked = post(
        &app,
        "/api/auth/device/lookup",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_eq!(looked.status, StatusCode::OK, "{}", looked.text);
    assert_eq!(looked.body["client_name"], "tollgate CLI on build-7");
    assert_eq!(looked.body["workspace_id"], Value::Null);
    assert!(looked.body["created_at"].is_string(), "{}", looked.text);
    // However it is typed: lower case, without the dash.
    let typed = user.replace('-', "").to_lowercase();
    let r = post(
        &app,
        "/api/auth/device/approve",
        Some(&session),
        json!({"user_code": typed}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let again = post(
        &app,
        "/api/auth/device/approve",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_error(&again, StatusCode::NOT_FOUND, "user code not found");

    wait_out_interval(&app).await;
    let r = poll(&app, &device).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["cache-control"], "no-store");
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("mul_"));
    assert_eq!(r.body["name"], "tollgate CLI on build-7");
    assert_eq!(r.body["workspace_id"], Value::Null);
    let days = count(&app, "SELECT extract(day FROM expires_at - created_at)::bigint FROM personal_access_tokens WHERE name = 'tollgate CLI on build-7'").await;
    assert_eq!(days, 90);
    let me = app.get("/api/me", Some(&token)).await;
    assert_eq!(me.body["user_id"], person.to_string().as_str());
    // Given out once.
    wait_out_interval(&app).await;
    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "expired_token",
    );
}

#[tokio::test]
async fn denied_expired_unknown_and_a_pat_as_approver_are_refused() {
    let app = device_app().await;
    let (person, pat, _) = owner(&app).await;
    let session = app.session(person, 3600).await;

    // A PAT cannot approve itself a new PAT, nor look a grant up; nothing at all neither.
    let (device, user) = start(&app, json!({})).await;
    for path in [
        "/api/auth/device/approve",
        "/api/auth/device/lookup",
        "/api/auth/device/deny",
    ] {
        let r = post(&app, path, Some(&pat), json!({"user_code": user})).await;
        assert_error(
            &r,
            StatusCode::FORBIDDEN,
            "a device is approved from a signed-in session",
        );
        let r = post(&app, path, None, json!({"user_code": user})).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = post(
        &app,
        "/api/auth/device/lookup",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_eq!(
        r.body["client_name"], "a device",
        "the name of an unnamed client"
    );

    let r = post(
        &app,
        "/api/auth/device/deny",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "access_denied",
    );
    let r = post(
        &app,
        "/api/auth/device/approve",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "user code not found");

    let (device, user) = start(&app, json!({"client_name": "late"})).await;
    app.sql("UPDATE device_grants SET expires_at = now() - interval '1 second' WHERE client_name = 'late'").await;
    let r = post(
        &app,
        "/api/auth/device/lookup",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "user code not found");
    let r = post(
        &app,
        "/api/auth/device/approve",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "user code not found");
    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "expired_token",
    );

    assert_error(
        &poll(&app, &"0".repeat(64)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    let r = post(&app, "/api/auth/device/token", None, json!({})).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    let r = post(
        &app,
        "/api/auth/device/code",
        None,
        json!({"client_name": "x".repeat(101)}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = post(
        &app,
        "/api/auth/device/code",
        None,
        json!({"workspace_id": "nope"}),
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "workspace not found");

    // Without PUBLIC_URL there is no page to send anyone to.
    let bare = TestApp::new().await;
    let r = post(&bare, "/api/auth/device/code", None, json!({})).await;
    assert_error(
        &r,
        StatusCode::SERVICE_UNAVAILABLE,
        "device login is not configured",
    );
    assert!(r.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn five_wrong_codes_a_minute_and_the_session_waits() {
    let app = device_app().await;
    let (person, _, _) = owner(&app).await;
    let (session, other) = (
        app.session(person, 3600).await,
        app.session(person, 3600).await,
    );
    let (_, user) = start(&app, json!({})).await;
    for wrong in [
        "BBBB-BBBB",
        "CCCC-CCCC",
        "DDDD-DDDD",
        "not a code",
        "FFFF-FFFF",
    ] {
        let r = post(
            &app,
            "/api/auth/device/approve",
            Some(&session),
            json!({"user_code": wrong}),
        )
        .await;
        assert_error(&r, StatusCode::NOT_FOUND, "user code not found");
    }
    // The sixth attempt waits, even with the right code.
    let r = post(
        &app,
        "/api/auth/device/approve",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "too many wrong codes");
    assert!(r.headers.contains_key("retry-after"));
    // Another session of the same person is counted apart.
    let r = post(
        &app,
        "/api/auth/device/approve",
        Some(&other),
        json!({"user_code": user}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn a_workspace_grant_is_approved_by_its_members_only_and_binds_the_token() {
    let app = device_app().await;
    let (_, _, ws) = owner(&app).await;
    let (member, _) = crate::harness::member(&app, ws, &owner_pat(&app, ws).await, "member").await;
    let outsider = app.create_user("outsider@example.com").await;
    let (device, user) = start(&app, json!({"client_name": "ci", "workspace_id": ws})).await;

    let outsider_session = app.session(outsider, 3600).await;
    let looked = post(
        &app,
        "/api/auth/device/lookup",
        Some(&outsider_session),
        json!({"user_code": user}),
    )
    .await;
    assert_eq!(looked.status, StatusCode::OK);
    assert_eq!(looked.body["workspace_id"], ws.to_string().as_str());
    // Whether the id names a workspace, and what it is called, is for its members.
    assert_eq!(looked.body["workspace_name"], Value::Null);
    let r = post(
        &app,
        "/api/auth/device/approve",
        Some(&outsider_session),
        json!({"user_code": user}),
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "workspace not found");
    // Still pending: a member approves it.
    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );
    let session = app.session(member, 3600).await;
    let r = post(
        &app,
        "/api/auth/device/approve",
        Some(&session),
        json!({"user_code": user}),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    wait_out_interval(&app).await;
    let r = poll(&app, &device).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["workspace_id"], ws.to_string().as_str());
    let me = app
        .get("/api/me", Some(r.body["token"].as_str().unwrap()))
        .await;
    assert_eq!(me.body["user_id"], member.to_string().as_str());
}

/// The owner's PAT of `ws` (the one `owner` made).
pub(crate) async fn owner_pat(app: &TestApp, ws: uuid::Uuid) -> String {
    let owner: uuid::Uuid = app
        .sql(&format!(
            "SELECT user_id FROM members WHERE workspace_id = '{ws}' AND role = 'owner'"
        ))
        .await[0]
        .get(0);
    app.mint(owner, None).await.1
}

/// The page approves with the session cookie: without the CSRF token a cross-site form
/// approves nothing; with it, the grant is approved.
#[tokio::test]
async fn a_cookie_approval_needs_its_csrf_token() {
    let app = device_app().await;
    let (person, _, _) = owner(&app).await;
    let jwt = app.session(person, 3600).await;
    let (_, user) = start(&app, json!({})).await;
    let approve = |csrf: Option<String>| {
        let mut req = axum::http::Request::post("/api/auth/device/approve")
            .header("cookie", format!("tollgate_session={jwt}"))
            .header("content-type", "application/json");
        if let Some(csrf) = csrf {
            req = req.header("x-csrf-token", csrf);
        }
        req.body(axum::body::Body::from(
            json!({"user_code": user}).to_string(),
        ))
        .unwrap()
    };
    let r = app.send(approve(None)).await;
    assert_error(&r, StatusCode::FORBIDDEN, "CSRF validation failed");
    let csrf = tollgate_shared::session::csrf_token(&jwt, [7; 16]);
    let r = app.send(approve(Some(csrf))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

/// Ten grants a minute per client address; the eleventh waits. A poll too soon is
/// slowed down, and the next too-soon poll again, each adding 5 s.
#[tokio::test]
async fn grants_are_limited_per_address_and_slow_down_keeps_adding() {
    let app = device_app().await;
    let (device, _) = start(&app, json!({})).await;
    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );
    for interval in [10, 15] {
        assert_error(
            &poll(&app, &device).await,
            StatusCode::BAD_REQUEST,
            "slow_down",
        );
        assert_eq!(
            count(&app, "SELECT interval_secs::bigint FROM device_grants").await,
            interval
        );
    }
    // A poll after the grown interval is pending again, the interval kept.
    wait_out_interval(&app).await;
    assert_error(
        &poll(&app, &device).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );
    assert_eq!(
        count(&app, "SELECT interval_secs::bigint FROM device_grants").await,
        15
    );

    // Ten a minute from one (here unknown) address, in fixed windows: one grant was
    // made above, and 21 more attempts reach a 429 whether or not a window ends among
    // them, after at least nine more grants.
    let mut granted = 1;
    let mut limited = None;
    for _ in 0..21 {
        let r = post(&app, "/api/auth/device/code", None, json!({})).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        granted += 1;
    }
    let r = limited.expect("a 429 within 21 grants");
    assert_error(
        &r,
        StatusCode::TOO_MANY_REQUESTS,
        "too many device requests",
    );
    assert!(r.headers.contains_key("retry-after"));
    assert!(granted >= 10, "{granted} grants before the limit");
}
