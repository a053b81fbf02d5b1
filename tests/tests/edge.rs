//! The whole request path through a real `wrangler dev`: PAT auth with no origin call on
//! a cache hit, purge on revoke, zero-I/O checksum rejection, header stripping, the
//! unserved routes, fail-closed 503 with the origin down, and short-lived tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::Value;
use tollgate_tests::edge::Edge;
use tollgate_tests::{cli_json, free_port, fresh_database, Origin};

const SECRET: &str = "e2e-edge-origin-secret";

struct Stack {
    db: String,
    origin: Origin,
    edge: Edge,
    http: Client,
    /// Every token minted, to check none reached a log.
    minted: std::sync::Mutex<Vec<String>>,
}

impl Stack {
    async fn me(&self, token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/api/me", self.edge.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `tollgate_resolve_total`, summed, from the origin's own `/metrics`.
    async fn resolves(&self) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.origin.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with("tollgate_resolve_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    fn pat(&self, email: &str) -> (String, String) {
        let pat = cli_json(
            &self.db,
            &["pat", "create", "--email", email, "--name", "e2e"],
        );
        let token = pat["token"].as_str().unwrap().to_owned();
        self.minted.lock().unwrap().push(token.clone());
        (pat["id"].as_str().unwrap().to_owned(), token)
    }

    async fn sql(&self, query: &str) {
        let (client, conn) = tokio_postgres::connect(&self.db, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client.batch_execute(query).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_edge() {
    let db = fresh_database().await;
    cli_json(&db, &["migrate"]);
    let user = cli_json(
        &db,
        &[
            "user",
            "create",
            "--email",
            "edge@example.com",
            "--name",
            "Edge",
        ],
    );
    cli_json(&db, &["user", "create", "--email", "victim@example.com"]);

    let (origin_port, edge_port) = (free_port(), free_port());
    let origin_url = format!("http://127.0.0.1:{origin_port}");
    let purge_url = format!("http://127.0.0.1:{edge_port}/__tollgate/purge");
    let origin_env = [
        ("EDGE_ORIGIN_SECRET", SECRET),
        ("EDGE_PURGE_URL", purge_url.as_str()),
    ];
    let origin = Origin::start_on(&db, origin_port, &origin_env).unwrap();
    let edge = tokio::task::spawn_blocking({
        let origin_url = origin_url.clone();
        move || Edge::start_on(edge_port, &origin_url, SECRET)
    })
    .await
    .unwrap();
    let mut stack = Stack {
        db,
        origin,
        edge,
        http: Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        minted: Default::default(),
    };

    a_pat_works_and_the_second_request_is_a_cache_hit(&stack, &user).await;
    revoke_reaches_the_edge_before_the_next_request(&stack).await;
    a_broken_checksum_never_leaves_the_edge(&stack).await;
    spoofed_identity_headers_never_reach_the_origin(&stack, &user).await;
    unserved_routes(&stack).await;
    short_lived_tokens_are_not_served_from_cache_after_expiry(&stack).await;
    origin_down_is_503_then_recovers(&mut stack).await;

    let logs = stack.origin.logs() + &stack.edge.logs();
    assert!(logs.contains("tollgate-origin listening"));
    for token in stack.minted.lock().unwrap().iter() {
        assert!(!logs.contains(&token[4..]), "a raw token reached the logs");
    }
}

async fn a_pat_works_and_the_second_request_is_a_cache_hit(stack: &Stack, user: &Value) {
    let (_, token) = stack.pat("edge@example.com");
    let before = stack.resolves().await;
    let r = stack.me(&token).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("x-request-id").is_some());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user_id"], user["id"]);
    assert_eq!(body["email"], "edge@example.com");
    assert_eq!(body["actor_source"], "pat");
    assert_eq!(
        stack.resolves().await,
        before + 1.0,
        "the miss resolves once"
    );

    for _ in 0..3 {
        assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    }
    assert_eq!(
        stack.resolves().await,
        before + 1.0,
        "hits never reach the resolver"
    );

    // The client's request id is kept end to end.
    let r = stack
        .http
        .get(format!("{}/api/me", stack.edge.url))
        .bearer_auth(&token)
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42");
}

async fn revoke_reaches_the_edge_before_the_next_request(stack: &Stack) {
    let (id, token) = stack.pat("edge@example.com");
    assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    assert_eq!(
        stack.me(&token).await.status(),
        StatusCode::OK,
        "now cached"
    );
    let r = stack
        .http
        .delete(format!("{}/api/tokens/{id}", stack.edge.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = stack.me(&token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid token");
}

async fn a_broken_checksum_never_leaves_the_edge(stack: &Stack) {
    let (_, token) = stack.pat("edge@example.com");
    let mut broken = token.into_bytes();
    broken[20] = if broken[20] == b'a' { b'b' } else { b'a' };
    let broken = String::from_utf8(broken).unwrap();
    let before = stack.resolves().await;
    let r = stack.me(&broken).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid token");
    let r = stack
        .http
        .get(format!("{}/api/me", stack.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "missing authorization"
    );
    assert_eq!(stack.resolves().await, before);
}

async fn spoofed_identity_headers_never_reach_the_origin(stack: &Stack, user: &Value) {
    let (_, token) = stack.pat("edge@example.com");
    let r = stack
        .http
        .get(format!("{}/api/me", stack.edge.url))
        .bearer_auth(&token)
        .header("X-User-ID", "00000000-0000-4000-8000-000000000000")
        .header("X-Actor-Source", "session")
        .header("X-Workspace-ID", "spoofed")
        .header("X-Edge-Signature", "00")
        .header("X-Edge-Timestamp", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user_id"], user["id"]);
    assert_eq!(body["actor_source"], "pat");
}

async fn unserved_routes(stack: &Stack) {
    let r = stack
        .http
        .post(format!("{}/internal/auth/resolve", stack.edge.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "not found");
    let r = stack
        .http
        .post(format!("{}/__tollgate/purge", stack.edge.url))
        .body(r#"{"keys":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    for path in ["/", "/metrics", "/readyz", "/favicon.ico"] {
        let r = stack
            .http
            .get(format!("{}{path}", stack.edge.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = stack
        .http
        .get(format!("{}/healthz", stack.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    // Public routes are forwarded without credentials.
    let r = stack
        .http
        .get(format!("{}/api/ping", stack.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["pong"], true);
}

async fn short_lived_tokens_are_not_served_from_cache_after_expiry(stack: &Stack) {
    let (id, token) = stack.pat("edge@example.com");
    stack.sql(&format!("UPDATE personal_access_tokens SET expires_at = now() + interval '4 seconds' WHERE id = '{id}'")).await;
    assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    // KV keeps the entry at least 60 s; valid_until must end it with the token.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = stack.resolves().await;
    let r = stack.me(&token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        stack.resolves().await,
        before + 1.0,
        "the expired entry was a miss"
    );
}

async fn origin_down_is_503_then_recovers(stack: &mut Stack) {
    let (_, cached) = stack.pat("edge@example.com");
    let (_, uncached) = stack.pat("edge@example.com");
    assert_eq!(stack.me(&cached).await.status(), StatusCode::OK);
    let origin_port = stack.origin.port;
    stack.origin.stop();

    let r = stack.me(&uncached).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "5");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "auth backend unavailable"
    );
    // A cached identity still authenticates; the forward then finds no origin.
    let r = stack.me(&cached).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "origin unavailable"
    );

    let purge_url = format!("{}/__tollgate/purge", stack.edge.url);
    stack.origin = Origin::start_on(
        &stack.db,
        origin_port,
        &[
            ("EDGE_ORIGIN_SECRET", SECRET),
            ("EDGE_PURGE_URL", purge_url.as_str()),
        ],
    )
    .unwrap();
    assert_eq!(stack.me(&uncached).await.status(), StatusCode::OK);
}
