//! Fault injection on the running stack (run when `TOLLGATE_FAULTS=1`, which
//! `scripts/test` sets): an origin killed between a revocation's commit and its purge,
//! Postgres restarted under load, and revocations in the middle of a mixed load.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tollgate_shared::{RawToken, TokenKind};
use tollgate_tests::origin::Origin;
use tollgate_tests::stack::{Stack, SECRET};

/// Polls until `check` holds (every 200 ms, at most `limit`); returns whether it did.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

pub async fn an_origin_killed_before_its_purge_leaves_it_to_the_outbox(stack: &Stack) {
    let (id, token) = stack.pat();
    for _ in 0..2 {
        assert_eq!(stack.me(&token).await.status(), StatusCode::OK, "cached");
    }
    // A second origin on the same database whose purges go into a black hole: the
    // connection is accepted and never answered, so the revoking request waits (≤ 2 s)
    // after its commit, and is killed there.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_url = format!("http://{}/__tollgate/purge", hole.local_addr().unwrap());
    let mut doomed = Origin::start(
        &stack.db,
        &[
            ("EDGE_ORIGIN_SECRET", SECRET),
            ("EDGE_PURGE_URL", &hole_url),
        ],
    );
    let revoke = tokio::spawn({
        let url = format!("{}/api/tokens/{id}", doomed.url);
        let client = stack.http();
        let token = token.clone();
        async move { client.delete(url).bearer_auth(token).send().await }
    });
    let committed = eventually(Duration::from_secs(5), || async {
        stack
            .query_bool(&format!(
                "SELECT revoked FROM personal_access_tokens WHERE id = '{id}'"
            ))
            .await
    })
    .await;
    assert!(committed, "the revocation commits");
    doomed.kill();
    assert!(
        revoke.await.unwrap().is_err(),
        "the revoking request died with its origin"
    );
    // Not delivered: the edge still serves its cached entry...
    assert_eq!(stack.me(&token).await.status(), StatusCode::OK);
    // ...until the surviving origin's dispatcher delivers the outbox row.
    let purged = eventually(Duration::from_secs(20), || async {
        stack.me(&token).await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(purged, "the outbox delivered the purge after the crash");
    drop(hole);
}

/// What one request of a load run saw.
struct Seen {
    token: String,
    sent: Instant,
    status: u16,
    retry_after: bool,
}

/// `workers` clients sending `GET /api/me` through the edge until `deadline`, each
/// with the token `pick(worker, n)` for its `n`th request.
fn load(
    stack: &Stack,
    workers: usize,
    deadline: Instant,
    pick: impl Fn(usize, usize) -> String + Send + Sync + 'static,
) -> (Arc<Mutex<Vec<Seen>>>, Vec<tokio::task::JoinHandle<()>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let pick = Arc::new(pick);
    let handles = (0..workers)
        .map(|worker| {
            let (seen, pick) = (seen.clone(), pick.clone());
            let (client, edge) = (stack.http(), stack.edge.url.clone());
            tokio::spawn(async move {
                let mut n = 0usize;
                while Instant::now() < deadline {
                    n += 1;
                    let token = pick(worker, n);
                    let sent = Instant::now();
                    let request = client.get(format!("{edge}/api/me")).bearer_auth(&token);
                    let Ok(r) = request.send().await else {
                        continue;
                    };
                    seen.lock().unwrap().push(Seen {
                        token,
                        sent,
                        status: r.status().as_u16(),
                        retry_after: r.headers().contains_key("retry-after"),
                    });
                }
            })
        })
        .collect();
    (seen, handles)
}

fn unknown_token() -> String {
    RawToken::generate(TokenKind::Pat)
        .unwrap()
        .expose()
        .to_owned()
}

pub async fn postgres_restarted_under_load_is_503_never_500_and_recovers(stack: &Stack) {
    let tokens: Vec<String> = (0..4).map(|_| stack.pat().1).collect();
    for token in &tokens {
        assert_eq!(stack.me(token).await.status(), StatusCode::OK);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    // Mostly cached identities (the origin still reads the user), some tokens nobody
    // has (a resolve each).
    let (seen, workers) = load(stack, 16, deadline, move |worker, n| {
        if (worker + n).is_multiple_of(5) {
            unknown_token()
        } else {
            tokens[(worker + n) % tokens.len()].clone()
        }
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    tokio::task::block_in_place(tollgate_tests::cluster::restart);
    let back = Instant::now();
    for w in workers {
        w.await.unwrap();
    }
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 100, "{} requests", seen.len());
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for s in seen.iter() {
        *by_status.entry(s.status).or_default() += 1;
        assert!(
            matches!(s.status, 200 | 401 | 429 | 503),
            "{} during the restart: {by_status:?}",
            s.status
        );
        if s.status == 503 {
            assert!(s.retry_after, "503 without Retry-After");
        }
    }
    let late: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.sent > back + Duration::from_secs(5))
        .collect();
    assert!(!late.is_empty());
    assert!(
        late.iter().all(|s| s.status != 503),
        "still 503 more than 5 s after Postgres came back: {by_status:?}"
    );
    assert!(late.iter().any(|s| s.status == 200));
}

pub async fn revocations_under_a_mixed_load_take_effect_at_once(stack: &Stack) {
    // The load before this one sent unknown tokens from this same client.
    stack.wait_until_misses_resolve().await;
    let revocable: Vec<(String, String)> = (0..50).map(|_| stack.pat()).collect();
    let cold: Vec<String> = (0..10).map(|_| stack.pat().1).collect();
    for (_, token) in &revocable {
        assert_eq!(stack.me(token).await.status(), StatusCode::OK);
    }
    // Cached before the load starts: a token whose KV write had not landed would be a
    // miss, and a miss may be refused (429) once the unknown tokens block this client.
    stack.let_cache_writes_land().await;
    // Per token: when its DELETE was sent, and when its 204 arrived.
    let revoked_at: Arc<Mutex<HashMap<String, (Instant, Instant)>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (seen, workers) = load(stack, 64, deadline, {
        let (revocable, cold) = (revocable.clone(), cold.clone());
        move |worker, n| match (worker * 7 + n) % 20 {
            // Hits (and, once revoked, refusals).
            0..=9 => revocable[(worker + n) % revocable.len()].1.clone(),
            // Valid tokens first seen now: misses, then hits.
            10..=12 => cold[(worker + n) % cold.len()].clone(),
            // Tokens nobody has.
            _ => unknown_token(),
        }
    });
    let revoker = tokio::spawn({
        let (revoked_at, revocable) = (revoked_at.clone(), revocable.clone());
        let (client, edge) = (stack.http(), stack.edge.url.clone());
        async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            for (id, token) in revocable {
                let started = Instant::now();
                let r = client
                    .delete(format!("{edge}/api/tokens/{id}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::NO_CONTENT);
                revoked_at
                    .lock()
                    .unwrap()
                    .insert(token, (started, Instant::now()));
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        }
    });
    for w in workers {
        w.await.unwrap();
    }
    revoker.await.unwrap();
    // Taken out of their locks: no guard is held across the wait at the end.
    let revoked_at = std::mem::take(&mut *revoked_at.lock().unwrap());
    assert_eq!(revoked_at.len(), 50);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(seen.len() > 500, "{} requests", seen.len());
    let valid: std::collections::HashSet<&String> = cold.iter().collect();
    // The unknown tokens put this client over its invalid-token budget: from the first
    // 429 on, the edge may refuse its misses before asking the origin — a valid token
    // not yet cached included (never with a 401).
    let blocked_from = seen
        .iter()
        .filter(|s| s.status == 429)
        .map(|s| s.sent)
        .min();
    let may_be_blocked = |sent: &Instant| blocked_from.is_some_and(|from| *sent >= from);
    for Seen {
        token,
        sent,
        status,
        ..
    } in seen.iter()
    {
        assert!(*status < 500 || *status == 503, "{status}");
        match revoked_at.get(token) {
            // From its 204 on, a revoked token is refused (429 once the same client
            // has also sent too many unknown tokens).
            Some((_, done)) if sent > done => {
                assert!(
                    matches!(status, 401 | 429),
                    "revoked token answered {status}"
                );
            }
            // Before its revocation began it was valid: neither the negative cache nor
            // the rate limit may refuse it. (While the DELETE runs, either is right.)
            Some((started, _)) if sent < started => {
                assert_eq!(*status, 200, "a valid token refused before its revocation");
            }
            Some(_) => assert!(matches!(status, 200 | 401 | 429), "{status}"),
            None if valid.contains(token) && *status == 429 => {
                assert!(
                    may_be_blocked(sent),
                    "a valid token refused 429 before any block"
                );
            }
            None if valid.contains(token) => assert_eq!(*status, 200, "a valid token refused"),
            None => assert!(
                matches!(status, 401 | 429),
                "an unknown token answered {status}"
            ),
        }
    }
    // The unknown tokens left this client blocked for the limiter's period: the next
    // test's new tokens (misses) would be refused with 429 until it lifts.
    stack.wait_until_misses_resolve().await;
}
