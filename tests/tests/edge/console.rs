//! The console in headless Chromium, served by the edge as static assets and speaking
//! only the API, as people use it: signing in with the mailed code, a token made,
//! used and revoked in the page, every other session signed out, a computer added with
//! the command the page shows, and a member removed after the preview. Every page is
//! scanned with axe-core, saved as a screenshot under target/console/, and timed to
//! interactive.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tollgate_shared::AuthError;
use tollgate_tests::api::{assert_refused, Api};
use tollgate_tests::browser::{check_page, record_timing, Page};
use tollgate_tests::origin::{client_bin, client_ok, saved_credentials};
use tollgate_tests::stack::Stack;

/// A child process killed when dropped, even by a failing assertion.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn console(stack: &Stack) -> String {
    format!("{}/console/", stack.edge.url)
}

/// Signs `email` in on `page` with the code from the test SMTP server.
async fn sign_in(stack: &Stack, page: &Page, email: &str) {
    page.load(&console(stack)).await;
    page.fill("Email address", email).await;
    page.press("Email me a code").await;
    page.find("#code").await;
    let code = stack.smtp.next_code(email).await;
    page.fill("Code", &code).await;
    page.press("Sign in").await;
    page.text_with("[data-testid='signed-in-as']", email).await;
}

/// Loads `#/route` afresh and records how long it took to be interactive.
async fn open(stack: &Stack, page: &Page, route: &str, name: &str) {
    let ms = page.load(&format!("{}#/{route}", console(stack))).await;
    record_timing(name, ms);
}

pub async fn the_edge_serves_the_console_with_its_security_headers(stack: &Stack) {
    let http = stack.http();
    let page = http.get(console(stack)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    // One script, from a file: no inline script for the policy to allow.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(
        html.contains(r#"<script type="module" src="/console/app.js"></script>"#),
        "{html}"
    );
    let script = http
        .get(format!("{}app.js", console(stack)))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    // The API is still the Worker's, next to the assets.
    let ping = http
        .get(format!("{}/api/ping", stack.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), StatusCode::OK);
}

pub async fn a_person_signs_in_makes_a_token_uses_it_and_revokes_it(stack: &Stack) {
    let person = stack.person();
    let page = stack.browser().await;
    record_timing("sign-in", page.load(&console(stack)).await);
    check_page(&page, "sign-in").await;
    sign_in(stack, &page, &person.email).await;

    open(stack, &page, "tokens", "tokens").await;
    check_page(&page, "tokens").await;
    page.fill("Name", "from the browser").await;
    // 90 days unless the person picks another expiry.
    let expiry = page
        .eval("return document.getElementById('token-expiry').selectedOptions[0].text")
        .await;
    assert_eq!(expiry, "in 90 days");
    page.press("Create token").await;
    let token = page.text("[data-testid='new token']").await;
    assert!(token.starts_with("mul_"), "{token}");
    stack.keep(&token);
    assert_eq!(
        page.text("[data-testid='login command']").await,
        format!("tollgate login --server {} --token {token}", stack.edge.url)
    );
    // Done only once the person says the token is stored.
    let done = page.find_xpath("//button[normalize-space()='Done']").await;
    assert!(!done.is_enabled().await.unwrap());
    check_page(&page, "token-created").await;
    page.find(".reveal input[type='checkbox']")
        .await
        .click()
        .await
        .unwrap();
    page.press("Done").await;
    page.gone(".reveal").await;
    assert!(
        !page.client.source().await.unwrap().contains(&token),
        "the token is gone from the page after Done"
    );
    // No secret in storage or the URL; the session cookie is out of the page's reach.
    let held = page
        .eval("return [localStorage.length, sessionStorage.length, location.href, document.cookie]")
        .await;
    assert_eq!((held[0].as_u64(), held[1].as_u64()), (Some(0), Some(0)));
    let (href, cookies) = (held[2].as_str().unwrap(), held[3].as_str().unwrap());
    assert!(!href.contains("mul_") && !href.contains("code"), "{href}");
    assert!(
        cookies.contains("tollgate_csrf=") && !cookies.contains("tollgate_session"),
        "{cookies}"
    );

    // The token works through the edge, like any client's.
    assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    let row = "[data-testid='token'][data-name='from the browser']";
    page.load(&format!("{}#/tokens", console(stack))).await;
    let shown = page.text(row).await;
    assert!(shown.contains(&format!("{}…", &token[..12])), "{shown}");

    page.press_in(row, "Revoke").await;
    page.text_with("dialog", "This cannot be undone").await;
    check_page(&page, "token-revoke").await;
    page.press("Revoke token").await;
    page.gone(row).await;
    assert_refused(stack.me(&token).await, AuthError::InvalidToken).await;
    page.close().await;
}

pub async fn signing_out_all_other_sessions_signs_out_the_other_browser(stack: &Stack) {
    let person = stack.person();
    let (first, second) = (stack.browser().await, stack.browser().await);
    sign_in(stack, &first, &person.email).await;
    sign_in(stack, &second, &person.email).await;

    open(stack, &first, "sessions", "sessions").await;
    let rows = first
        .client
        .find_all(fantoccini::Locator::Css("[data-testid='session']"));
    assert_eq!(rows.await.unwrap().len(), 2);
    first
        .text_with("[data-testid='session']:has(.badge)", "this session")
        .await;
    check_page(&first, "sessions").await;
    first.press("Sign out all other sessions").await;
    let started = Instant::now();
    loop {
        let rows = first
            .client
            .find_all(fantoccini::Locator::Css("[data-testid='session']"))
            .await
            .unwrap();
        if rows.len() == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} sessions",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The other browser: signed out at its next load, within the revocation bound.
    let started = Instant::now();
    loop {
        second.load(&format!("{}#/tokens", console(stack))).await;
        if second
            .client
            .find(fantoccini::Locator::Css("#email"))
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the other browser is still signed in"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And the first signs itself out from the header.
    first.press("Sign out").await;
    first.find("#email").await;
    first.load(&console(stack)).await;
    first.find("#email").await;
    first.close().await;
    second.close().await;
}

pub async fn an_admin_adds_a_computer_and_removes_a_member_after_the_preview(stack: &Stack) {
    let (admin, member) = (stack.person(), stack.person());
    let page = stack.browser().await;
    sign_in(stack, &page, &admin.email).await;

    open(stack, &page, "workspaces", "workspaces").await;
    check_page(&page, "workspaces").await;
    page.fill("Name", "Monday laptops").await;
    page.press("Create workspace").await;
    page.text_with("h1", "Monday laptops").await;
    let url = page.client.current_url().await.unwrap();
    let ws = url
        .fragment()
        .and_then(|f| f.split('/').nth(2))
        .expect("#/workspaces/<id>/members")
        .to_owned();

    page.fill("Email address", &member.email).await;
    page.choose("Role", "member").await;
    page.press("Add member").await;
    let member_row = format!("[data-testid='member'][data-email='{}']", member.email);
    page.find(&member_row).await;

    open(
        stack,
        &page,
        &format!("workspaces/{ws}/computers"),
        "computers",
    )
    .await;
    page.choose("For", &member.email).await;
    page.press("Add a computer").await;
    let enroll = page.text("[data-testid='enroll command']").await;
    let countdown = page.text("[data-testid='countdown']").await;
    assert!(
        countdown.starts_with("15:00") || countdown.starts_with("14:"),
        "{countdown}"
    );
    check_page(&page, "add-a-computer").await;

    // Exactly the commands the page shows, on "the computer".
    let words: Vec<&str> = enroll.split_whitespace().collect();
    assert_eq!(
        &words[..4],
        ["tollgate", "enroll", "--server", stack.edge.url.as_str()],
        "{enroll}"
    );
    assert_eq!(words[4], "--install-token");
    stack.keep(words[5]);
    let home = tempfile::tempdir().unwrap();
    client_ok(home.path(), &words[1..]);
    let saved = saved_credentials(home.path());
    let daemon_token = saved["token"].as_str().unwrap().to_owned();
    stack.keep(&daemon_token);
    assert_eq!(
        page.text("[data-testid='run command']").await,
        "tollgate run"
    );
    let _run = Killed(
        Command::new(client_bin())
            .arg("run")
            .env("TOLLGATE_HOME", home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let connected = page
        .find_within("[data-testid='connected']", Duration::from_secs(5))
        .await
        .text()
        .await
        .unwrap();
    let daemon_id = saved["daemon_id"].as_str().unwrap();
    assert_eq!(connected, format!("Connected: {daemon_id}"));
    let runtime = page
        .text_with(
            &format!("[data-testid='runtime'][data-daemon='{daemon_id}']"),
            "online",
        )
        .await;
    assert!(runtime.contains(&member.email), "{runtime}");
    check_page(&page, "computers").await;

    open(stack, &page, &format!("workspaces/{ws}/members"), "members").await;
    check_page(&page, "members").await;
    page.press_in(&member_row, "Remove").await;
    let preview = page
        .text_with("[data-testid='removal-preview']", "1 daemon")
        .await;
    for stops in ["1 runtime", "0 agents", "0 tasks"] {
        assert!(preview.contains(stops), "{preview}");
    }
    check_page(&page, "remove-member").await;
    page.press("Remove member").await;
    page.gone(&member_row).await;
    let whoami = stack
        .call(
            axum::http::Method::GET,
            "/api/daemon/whoami",
            Some(&daemon_token),
            None,
        )
        .await;
    assert_eq!(whoami.status, StatusCode::UNAUTHORIZED, "{}", whoami.text);

    open(
        stack,
        &page,
        &format!("workspaces/{ws}/activity"),
        "activity",
    )
    .await;
    page.find("[data-testid='event'][data-kind='member:removed']")
        .await;
    page.find("[data-testid='event'][data-kind='daemon:revoked']")
        .await;
    check_page(&page, "activity").await;
    page.close().await;
}
