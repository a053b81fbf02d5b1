//! Revocation at a location the origin never purges: a second `wrangler dev` with its
//! own KV (a data center whose KV has not converged) that shares only the revocation
//! log with the first. Whatever its KV holds, it refuses a revoked credential within
//! 2 s; and an edge that cannot read the log never serves a hit from KV.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_shared::{cache_key, token, AuthError};
use tollgate_tests::api::{assert_refused, Api};
use tollgate_tests::edge::Edge;
use tollgate_tests::fixtures;
use tollgate_tests::stack::Stack;

/// The bound the log promises.
const BOUND: Duration = Duration::from_secs(2);

fn kv_key(raw: &str) -> String {
    let token = token::parse(raw).unwrap();
    cache_key(token.kind, &token.hash()).as_str().to_owned()
}

async fn get(stack: &Stack, edge: &Edge, path: &str, token: &str) -> reqwest::Response {
    stack
        .http()
        .get(format!("{}{path}", edge.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// `token` is cached at `edge` and served from there: a miss, then a hit that costs
/// the origin no resolve.
async fn cached_at(stack: &Stack, edge: &Edge, path: &str, token: &str) {
    assert_eq!(get(stack, edge, path, token).await.status(), StatusCode::OK);
    stack.let_cache_writes_land().await;
    let before = stack.resolves().await;
    assert_eq!(get(stack, edge, path, token).await.status(), StatusCode::OK);
    assert_eq!(stack.resolves().await, before, "a hit at {}", edge.url);
    assert!(edge.kv_get(&kv_key(token)).is_some(), "in that edge's KV");
}

/// How long after now `edge` keeps accepting `token` (polled every 20 ms, for at most
/// 10 s); the refusal must be the origin's 401.
async fn accepted_for(stack: &Stack, edge: &Edge, path: &str, token: &str) -> Duration {
    let start = Instant::now();
    loop {
        let r = get(stack, edge, path, token).await;
        if r.status() != StatusCode::OK {
            let elapsed = start.elapsed();
            assert_refused(r, AuthError::InvalidToken).await;
            return elapsed;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still accepted after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn a_revoked_pat_is_refused_at_another_location_within_2_s(stack: &Stack) {
    let second = &stack.locations().await.second;
    let (id, token) = stack.pat();
    cached_at(stack, &stack.edge, "/api/me", &token).await;
    cached_at(stack, second, "/api/me", &token).await;
    stack.revoke_pat(&id, &token).await;
    let accepted = accepted_for(stack, second, "/api/me", &token).await;
    println!("a revoked PAT was accepted at the second location for {accepted:?}");
    assert!(accepted < BOUND, "accepted for {accepted:?}");
    // Refused although that location's KV still holds the entry: the log decided.
    let stale = second.kv_get(&kv_key(&token));
    assert!(
        stale.is_some(),
        "the second location's KV has not converged"
    );
    assert!(
        stack.edge.kv_get(&kv_key(&token)).is_none(),
        "purged where the origin purged"
    );

    // The stale entry written back where it was purged (a write that lands late): the
    // log still refuses it, with one resolve at the origin.
    stack.edge.kv_put(&kv_key(&token), &stale.unwrap());
    let before = stack.resolves().await;
    assert_refused(stack.me(&token).await, AuthError::InvalidToken).await;
    assert_eq!(
        stack.resolves().await,
        before + 1.0,
        "resolved, not served from KV"
    );
}

pub async fn a_removed_members_daemon_is_refused_at_another_location_within_2_s(stack: &Stack) {
    let second = &stack.locations().await.second;
    let (_, owner) = stack.pat();
    let ws = stack.workspace("locations");
    let member = stack.person();
    fixtures::add_member(stack, &ws, &owner, &member.email, "member").await;
    let (mdt, _) = fixtures::daemon_for(stack, &ws, &owner, &member.id, "loc-daemon").await;
    stack.keep(&mdt);
    cached_at(stack, &stack.edge, "/api/daemon/whoami", &mdt).await;
    cached_at(stack, second, "/api/daemon/whoami", &mdt).await;
    let r = stack
        .http()
        .delete(format!(
            "{}/api/workspaces/{ws}/members/{}",
            stack.edge.url, member.id
        ))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "{:?}", r.text().await);
    let accepted = accepted_for(stack, second, "/api/daemon/whoami", &mdt).await;
    println!("a removed member's daemon was accepted at the second location for {accepted:?}");
    assert!(accepted < BOUND, "accepted for {accepted:?}");
    assert!(
        second.kv_get(&kv_key(&mdt)).is_some(),
        "its KV still holds it"
    );
}

pub async fn without_the_log_every_hit_resolves_at_the_origin(stack: &Stack) {
    let without_log = &stack.locations().await.without_log;
    let (_, token) = stack.pat();
    let before = stack.resolves().await;
    for _ in 0..3 {
        let r = get(stack, without_log, "/api/me", &token).await;
        assert_eq!(r.status(), StatusCode::OK);
        let me: Value = r.json().await.unwrap();
        assert_eq!(me["user_id"], stack.user["id"]);
        stack.let_cache_writes_land().await;
    }
    // Cached in its KV all along, and never believed: three requests, three resolves.
    assert!(without_log.kv_get(&kv_key(&token)).is_some());
    assert_eq!(stack.resolves().await, before + 3.0);
}
