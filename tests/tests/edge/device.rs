//! `tollgate login` through the browser, end to end: the real CLI asks the edge for a
//! device grant and prints where to approve it; a signed-in person opens that page in
//! headless Chromium and approves; the CLI saves its new PAT, and `tollgate whoami`
//! works through the edge with it.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tollgate_tests::api::Api;
use tollgate_tests::browser::{check_page, record_timing};
use tollgate_tests::origin::{client_bin, client_ok, saved_credentials};
use tollgate_tests::stack::Stack;

pub async fn tollgate_login_is_approved_in_the_browser_and_whoami_works(stack: &Stack) {
    let person = stack.person();
    // Signed in from an address of its own (the sign-in limits count per address).
    let signed_in = stack
        .sign_in(&person.email, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 41)))
        .await;
    let page = stack.browser().await;
    let console = format!("{}/console/", stack.edge.url);
    let cookies = [
        ("tollgate_session", signed_in.jwt.as_str()),
        ("tollgate_csrf", signed_in.csrf.as_str()),
    ];
    page.set_cookies(&console, &cookies).await;

    let home = tempfile::tempdir().unwrap();
    let mut login = tokio::process::Command::new(client_bin())
        .args(["login", "--server", &stack.edge.url, "--no-browser"])
        .env("TOLLGATE_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(login.stdout.take().unwrap()).lines();
    let (mut code, mut url) = (None, None);
    while url.is_none() {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("tollgate login prints where to approve")
            .unwrap()
            .expect("tollgate login ended early");
        if let Some(shown) = line.strip_prefix("and enter the code ") {
            code = Some(shown.to_owned());
        }
        if let Some(rest) = line.strip_prefix("(or open ") {
            url = Some(rest.trim_end_matches(')').to_owned());
        }
    }
    let (code, url) = (code.unwrap(), url.unwrap());
    assert_eq!(
        url,
        format!("{}/console/device?user_code={code}", stack.edge.url)
    );

    record_timing("device", page.load(&url).await);
    let asked = page
        .text_with("[data-testid='device-request']", "tollgate CLI on")
        .await;
    assert!(asked.contains("for all your workspaces"), "{asked}");
    assert_eq!(page.text("[data-testid='device-code']").await, code);
    // Where the request came from, as the edge signed it through: this machine.
    let origin = page.text("[data-testid='device-origin']").await;
    assert!(origin.contains("from 127.0.0.1"), "{origin}");
    check_page(&page, "device").await;
    page.press("Approve").await;
    page.text_with("[data-testid='device-decided']", "Approved")
        .await;

    // The CLI's next poll (within its 5 s interval) gets the token.
    let status = tokio::time::timeout(Duration::from_secs(30), login.wait())
        .await
        .expect("tollgate login finishes once approved")
        .unwrap();
    let mut said = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        said.push_str(&line);
        said.push('\n');
    }
    assert!(status.success(), "{said}");
    assert!(
        said.contains(&format!("logged in as {}", person.email)),
        "{said}"
    );
    let saved = saved_credentials(home.path());
    let token = saved["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("mul_"));
    stack.keep(&token);

    let me: serde_json::Value = serde_json::from_str(&client_ok(home.path(), &["whoami"])).unwrap();
    assert_eq!(me["user_id"], person.id.as_str(), "{me}");
    // Through the edge: the same token, as any client would send it.
    assert_eq!(stack.me(&token).await.status(), reqwest::StatusCode::OK);
    page.close().await;
}
