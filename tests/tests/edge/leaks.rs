//! A leaked token reported through the edge: the live PAT and daemon token in a report
//! are refused at this edge at once and at another location within 2 s, their owner's
//! events and the mail through the real SMTP server name them by prefix and source and
//! never hold them, a second report changes nothing, and the limits hold.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tollgate_shared::leaks::REVOKE_LEAKED_PATH;
use tollgate_shared::AuthError;
use tollgate_tests::api::{assert_refused, Api};
use tollgate_tests::edge::Edge;
use tollgate_tests::fixtures;
use tollgate_tests::stack::{Stack, EMAIL};

fn from(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

async fn get(stack: &Stack, edge: &Edge, path: &str, token: &str) -> reqwest::Response {
    let url = format!("{}{path}", edge.url);
    stack
        .http()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Cached at `edge`: a miss, then a hit.
async fn warm(stack: &Stack, edge: &Edge, path: &str, token: &str) {
    for _ in 0..2 {
        assert_eq!(get(stack, edge, path, token).await.status(), StatusCode::OK);
        stack.let_cache_writes_land().await;
    }
}

/// Polls until `edge` refuses `token` (401 invalid token), for at most 10 s: how long.
async fn refused_after(stack: &Stack, edge: &Edge, path: &str, token: &str) -> Duration {
    let start = Instant::now();
    loop {
        let r = get(stack, edge, path, token).await;
        if r.status() != StatusCode::OK {
            assert_refused(r, AuthError::InvalidToken).await;
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still served after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn with_bad_checksum(token: &str) -> String {
    let last = if token.ends_with('0') { "1" } else { "0" };
    format!("{}{last}", &token[..token.len() - 1])
}

pub async fn a_reported_token_stops_working_everywhere_and_its_owner_hears_of_it(stack: &Stack) {
    let (_, pat) = stack.pat();
    let (_, leaked_pat) = stack.pat();
    let (dead_id, dead_pat) = stack.pat();
    stack.revoke_pat(&dead_id, &dead_pat).await;
    let ws = stack.workspace("leaky");
    let (mdt, _) = fixtures::daemon(stack, &ws, &pat, "leaky-machine").await;
    let second = &stack.locations().await.second;
    for edge in [&stack.edge, second] {
        warm(stack, edge, "/api/me", &leaked_pat).await;
        warm(stack, edge, "/api/daemon/whoami", &mdt).await;
    }

    let source = "https://github.com/edge/app/blob/main/config.yml";
    let tokens = json!([
        leaked_pat,
        mdt,
        dead_pat,
        "garbage",
        with_bad_checksum(&pat)
    ]);
    let body = json!({ "tokens": tokens, "source": source });
    let r = stack.post_from(from(40), REVOKE_LEAKED_PATH, &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({ "received": 5 }));

    // Refused here at once, and at the other location within 2 s.
    assert_refused(
        get(stack, &stack.edge, "/api/me", &leaked_pat).await,
        AuthError::InvalidToken,
    )
    .await;
    let r = get(stack, &stack.edge, "/api/daemon/whoami", &mdt).await;
    assert_refused(r, AuthError::InvalidToken).await;
    for (path, token) in [("/api/me", &leaked_pat), ("/api/daemon/whoami", &mdt)] {
        let took = refused_after(stack, second, path, token).await;
        assert!(
            took <= Duration::from_secs(2),
            "{path}: {took:?} at the other location"
        );
    }
    assert_eq!(
        stack.me(&pat).await.status(),
        StatusCode::OK,
        "the others work on"
    );

    // The owner's events and mail: prefix and source, never the token.
    let mine = stack.get("/api/events", Some(&pat)).await;
    let in_ws = stack
        .get(&format!("/api/workspaces/{ws}/events"), Some(&pat))
        .await;
    let leaked: Vec<Value> = [&mine, &in_ws]
        .iter()
        .flat_map(|r| r.body["events"].as_array().unwrap().clone())
        .filter(|e| e["kind"] == "token:leaked")
        .collect();
    let prefixes: Vec<&str> = leaked
        .iter()
        .map(|e| e["payload"]["prefix"].as_str().unwrap())
        .collect();
    assert!(
        prefixes.contains(&&leaked_pat[..12]) && prefixes.contains(&&mdt[..12]),
        "{leaked:?}"
    );
    assert!(
        leaked.iter().all(|e| e["payload"]["source"] == source),
        "{leaked:?}"
    );
    let shown = format!("{}{}", mine.text, in_ws.text);
    assert!(!shown.contains(&leaked_pat) && !shown.contains(&mdt));
    let notices = [
        stack.smtp.next_message(EMAIL).await,
        stack.smtp.next_message(EMAIL).await,
    ];
    for (token, prefix) in [(&leaked_pat, &leaked_pat[..12]), (&mdt, &mdt[..12])] {
        assert!(notices
            .iter()
            .any(|m| m.body().contains(prefix) && m.body().contains(source)));
        assert!(notices.iter().all(|m| !m.raw.contains(token.as_str())));
    }

    // The same report again changes nothing.
    let r = stack.post_from(from(40), REVOKE_LEAKED_PATH, &body).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let again = stack.get("/api/events", Some(&pat)).await;
    assert_eq!(again.body["events"], mine.body["events"]);
}

pub async fn leak_reports_keep_to_their_limits_through_the_edge(stack: &Stack) {
    let at = from(41);
    let r = stack
        .post_from(
            at,
            REVOKE_LEAKED_PATH,
            &json!({ "tokens": vec!["x"; 1001] }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let huge = json!({ "tokens": ["x"], "padding": "p".repeat(1024 * 1024) });
    let r = stack.post_from(at, REVOKE_LEAKED_PATH, &huge).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // 60 an hour per address (the two above counted); fixed windows, so 121 suffice.
    let mut accepted = 0;
    let refused = loop {
        let r = stack
            .post_from(at, REVOKE_LEAKED_PATH, &json!({ "tokens": ["x"] }))
            .await;
        if r.status() != StatusCode::ACCEPTED || accepted == 121 {
            break r;
        }
        accepted += 1;
    };
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "after {accepted}"
    );
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too many reports");
}
