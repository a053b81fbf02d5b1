//! Leaked-token reports at the origin: a report ends exactly the live PATs, daemon tokens
//! and task tokens in it (install tokens, cloud PATs, dead tokens and garbage change
//! nothing), answers the same whatever it held, tells each owner — an event without the
//! token, and a message through the real SMTP server — once however often it is
//! reported, and keeps to its limits.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::{AuthError, RawToken, TokenKind};
use tollgate_tests::fixtures::{self, world};
use tollgate_tests::signing;
use tollgate_tests::smtp::{SmtpServer, Tls};

use crate::harness::{edge_app, mailing_app, TestApp, TestResponse, SECRET};

const REPORT: &str = "/api/tokens/revoke-leaked";

async fn report(app: &TestApp, body: &Value) -> TestResponse {
    report_from(app, signing::CLIENT, body).await
}

/// A report as the edge forwards it for a client at `client`.
async fn report_from(app: &TestApp, client: &str, body: &Value) -> TestResponse {
    let mut req = Request::post(REPORT).header("content-type", "application/json");
    for (name, value) in signing::stamp_from(client, "POST", REPORT, None, SECRET, signing::now()) {
        req = req.header(name, value);
    }
    app.send(req.body(Body::from(body.to_string())).unwrap())
        .await
}

fn with_bad_checksum(token: &str) -> String {
    let last = if token.ends_with('0') { "1" } else { "0" };
    format!("{}{last}", &token[..token.len() - 1])
}

/// The `token:leaked` events of `r`'s list.
fn leaked_events(r: &TestResponse) -> Vec<Value> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let events = r.body["events"].as_array().unwrap();
    events
        .iter()
        .filter(|e| e["kind"] == "token:leaked")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_report_ends_the_live_tokens_in_it_and_tells_their_owners_once() {
    let smtp = SmtpServer::start(Tls::StartTls);
    let app = mailing_app(&smtp).await;
    let (owner, pat) = app.user_with_token("owner@example.com").await;
    let (_, leaked_pat) = app.mint(owner, None).await;
    let (dead_id, dead_pat) = app.mint(owner, None).await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/tokens/{dead_id}"),
            Some(&pat),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let ws = app.workspace(owner).await;
    let w = world(&app, ws, &pat, "laptop").await;
    assert_eq!(w.task(&app, "go").await.status, StatusCode::CREATED);
    let claimed = w.claim(&app).await;
    let task_token = claimed.body["task_token"].as_str().unwrap().to_owned();
    let install = fixtures::install_token(&app, ws, &pat).await;
    let source = "https://github.com/owner/app/blob/main/.env";

    let tokens = json!([
        leaked_pat,
        w.mdt,
        task_token,
        dead_pat,
        install,
        "garbage",
        with_bad_checksum(&pat),
        "mcn_a-cloud-token",
    ]);
    let r = report(&app, &json!({ "tokens": tokens, "source": source })).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::ACCEPTED, &json!({ "received": 8 }))
    );

    // Ended: each refused from the next request on.
    for token in [&leaked_pat, &task_token] {
        let r = app.get("/api/me", Some(token)).await;
        assert_eq!(r.error(), AuthError::InvalidToken.message(), "{}", r.text);
    }
    let r = app.get("/api/daemon/whoami", Some(&w.mdt)).await;
    assert_eq!(r.error(), AuthError::InvalidToken.message());
    // Untouched: the other PAT, and the install token (not a report's to end).
    assert_eq!(app.get("/api/me", Some(&pat)).await.status, StatusCode::OK);
    let r = fixtures::exchange(&app, &install, "another-machine").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // The owner's own feed has the PAT; the workspace's, the daemon and task tokens.
    let mine = leaked_events(&app.get("/api/events", Some(&pat)).await);
    assert_eq!(mine.len(), 1, "{mine:?}");
    let prefix = &leaked_pat[..12];
    assert_eq!(mine[0]["payload"]["prefix"], prefix.to_string());
    assert_eq!(mine[0]["payload"]["kind"], "mul");
    assert_eq!(mine[0]["payload"]["source"], source);
    let in_ws = leaked_events(
        &app.get(&format!("/api/workspaces/{ws}/events"), Some(&pat))
            .await,
    );
    let of_kind = |kind: &str| {
        in_ws
            .iter()
            .filter(|e| e["payload"]["kind"] == kind)
            .count()
    };
    assert_eq!(
        (of_kind("mdt"), of_kind("mat"), in_ws.len()),
        (1, 1, 2),
        "{in_ws:?}"
    );
    let daemon = in_ws
        .iter()
        .find(|e| e["payload"]["kind"] == "mdt")
        .unwrap();
    assert_eq!(daemon["payload"]["name"], "laptop");
    assert_eq!(daemon["payload"]["prefix"], w.mdt[..12].to_string());
    let everything = format!("{mine:?}{in_ws:?}");
    for secret in [&leaked_pat, &w.mdt, &task_token] {
        assert!(
            !everything.contains(secret.as_str()),
            "an event holds a token"
        );
    }

    // Three messages, one per ended token, with the prefix and the source, not the token.
    let mut notices = Vec::new();
    for _ in 0..3 {
        notices.push(smtp.next_message("owner@example.com").await);
    }
    let texts: Vec<&str> = notices.iter().map(|m| m.body()).collect();
    for (secret, shown) in [
        (&leaked_pat, &leaked_pat[..12]),
        (&w.mdt, &w.mdt[..12]),
        (&task_token, &task_token[..12]),
    ] {
        assert!(
            texts.iter().any(|t| t.contains(shown)),
            "{shown}: {texts:?}"
        );
        assert!(notices.iter().all(|m| !m.raw.contains(secret.as_str())));
    }
    assert!(texts.iter().all(|t| t.contains(source)), "{texts:?}");

    // The same report again changes nothing: no event, no message.
    let r = report(&app, &json!({ "tokens": tokens, "source": source })).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::ACCEPTED, &json!({ "received": 8 }))
    );
    assert_eq!(
        leaked_events(&app.get("/api/events", Some(&pat)).await).len(),
        1
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(smtp.messages_to("owner@example.com").len(), 3);
}

#[tokio::test]
async fn concurrent_reports_of_one_token_end_it_once() {
    let app = Arc::new(edge_app().await);
    let (owner, pat) = app.user_with_token("twice@example.com").await;
    let (_, leaked) = app.mint(owner, None).await;
    let reports: Vec<_> = (0..8)
        .map(|_| {
            let (app, leaked) = (app.clone(), leaked.clone());
            tokio::spawn(async move { report(&app, &json!({ "tokens": [leaked] })).await })
        })
        .collect();
    for r in reports {
        assert_eq!(r.await.unwrap().status, StatusCode::ACCEPTED);
    }
    let events = leaked_events(&app.get("/api/events", Some(&pat)).await);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["payload"]["source"], Value::Null);
}

#[tokio::test]
async fn reports_keep_to_their_limits() {
    let app = edge_app().await;
    let garbage = |n: usize| json!({ "tokens": vec!["x"; n] });
    let r = report(&app, &garbage(1001)).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "at most 1000 tokens")
    );
    let r = report(
        &app,
        &json!({ "tokens": ["x"], "source": "s".repeat(2049) }),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "source is too long")
    );
    let r = report(&app, &json!({ "source": "a repo" })).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "tokens is required")
    );
    let r = report(&app, &json!({ "tokens": [1, 2] })).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::BAD_REQUEST, "invalid request body")
    );
    // 1,000 tokens of 44 characters fit in 1 MiB with room for a source; over it, 413.
    let many: Vec<String> = (0..1000)
        .map(|_| {
            RawToken::generate(TokenKind::Pat)
                .unwrap()
                .expose()
                .to_owned()
        })
        .collect();
    let r = report(&app, &json!({ "tokens": many, "source": "s".repeat(2048) })).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::ACCEPTED, &json!({ "received": 1000 }))
    );
    let huge = json!({ "tokens": ["x"], "padding": "p".repeat(1024 * 1024) });
    let r = report(&app, &huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);

    // 60 reports an hour per client address, in fixed windows: 121 reports that
    // straddle an hour's end can pass 60 in each, so the 121st is refused whatever.
    let from = "198.51.100.60";
    let mut accepted = 0;
    let r = loop {
        let r = report_from(&app, from, &garbage(1)).await;
        if r.status != StatusCode::ACCEPTED || accepted == 121 {
            break r;
        }
        accepted += 1;
    };
    assert!((60..=120).contains(&accepted), "{accepted} accepted");
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::TOO_MANY_REQUESTS, "too many reports")
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    let r = report_from(&app, "198.51.100.61", &garbage(1)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
}
