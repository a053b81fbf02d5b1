//! `stream-bench`: the event streams' figures for `scripts/bench` (bench/bench.py runs
//! it and reads the JSON it prints). With the owner's PAT of a workspace it opens
//! SOCKETS streams at the origin (16 per credential: a PAT per 16) and measures, per
//! event, the time from the request that commits it to its arrival on every socket;
//! the origin's memory per socket; the time from a PAT's revocation request to its
//! stream's close; and the delivery again through the edge with EDGE_SOCKETS streams.
//!
//! Usage: stream-bench ORIGIN_URL EDGE_URL PAT WORKSPACE ORIGIN_PID SOCKETS EDGE_SOCKETS
//!        EVENTS REVOCATIONS

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tollgate_shared::streams::PER_CREDENTIAL;
use tollgate_tests::ws::{self, Next, Stream, With};

struct Args {
    origin: String,
    edge: String,
    pat: String,
    workspace: String,
    origin_pid: u32,
    sockets: usize,
    edge_sockets: usize,
    events: usize,
    revocations: usize,
}

fn args() -> Args {
    let a: Vec<String> = std::env::args().skip(1).collect();
    assert_eq!(a.len(), 9, "usage: stream-bench ORIGIN_URL EDGE_URL PAT WORKSPACE ORIGIN_PID SOCKETS EDGE_SOCKETS EVENTS REVOCATIONS");
    Args {
        origin: a[0].clone(),
        edge: a[1].clone(),
        pat: a[2].clone(),
        workspace: a[3].clone(),
        origin_pid: a[4].parse().unwrap(),
        sockets: a[5].parse().unwrap(),
        edge_sockets: a[6].parse().unwrap(),
        events: a[7].parse().unwrap(),
        revocations: a[8].parse().unwrap(),
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A new PAT of the owner: `(id, token)`.
async fn new_pat(
    http: &reqwest::Client,
    origin: &str,
    owner: &str,
    name: &str,
) -> (String, String) {
    let r = http
        .post(format!("{origin}/api/tokens"))
        .bearer_auth(owner)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "PAT: {}", r.status());
    let body: Value = r.json().await.unwrap();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["token"].as_str().unwrap().to_owned(),
    )
}

/// `count` streams of `workspace` at `base`, 16 per PAT, opened 50 at a time.
async fn open_many(base: &str, workspace: &str, pats: &[String], count: usize) -> Vec<Stream> {
    let path = format!("/api/workspaces/{workspace}/events/stream");
    let mut streams = Vec::with_capacity(count);
    let mut i = 0;
    while i < count {
        let batch = (i..count.min(i + 50)).map(|j| {
            let (pat, path) = (pats[j / PER_CREDENTIAL].clone(), path.clone());
            async move {
                ws::open(base, &path, With::Bearer(&pat))
                    .await
                    .unwrap_or_else(|r| panic!("stream refused: {r:?}"))
            }
        });
        streams.extend(futures_util::future::join_all(batch).await);
        i += 50;
    }
    streams
}

fn stats(mut ms: Vec<f64>) -> Value {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    json!({ "n": ms.len(), "p50": at(0.5), "p99": at(0.99), "max": at(1.0) })
}

/// Commits `events` events one after another (a member added each time) and waits for
/// each on every stream: milliseconds from the request to each arrival.
async fn delivery(http: &reqwest::Client, args: &Args, streams: Vec<Stream>) -> Value {
    let (arrived, mut arrivals) = mpsc::unbounded_channel();
    let count = streams.len();
    for mut stream in streams {
        let arrived = arrived.clone();
        tokio::spawn(async move {
            loop {
                match stream.next(Duration::from_secs(120)).await {
                    Next::Event(_) => {
                        if arrived.send(Instant::now()).is_err() {
                            return;
                        }
                    }
                    Next::Nothing => continue,
                    _ => return,
                }
            }
        });
    }
    let mut ms = Vec::with_capacity(count * args.events);
    for _ in 0..args.events {
        let email = format!("{}@bench.example", uuid::Uuid::new_v4().simple());
        let sent = Instant::now();
        let r = http
            .post(format!(
                "{}/api/workspaces/{}/members",
                args.origin, args.workspace
            ))
            .bearer_auth(&args.pat)
            .json(&json!({ "email": email, "role": "member" }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "add member: {}", r.status());
        for _ in 0..count {
            let at = tokio::time::timeout(Duration::from_secs(30), arrivals.recv())
                .await
                .expect("every stream gets the event within 30 s")
                .unwrap();
            ms.push(at.duration_since(sent).as_secs_f64() * 1000.0);
        }
    }
    stats(ms)
}

/// Revokes `revocations` PATs, each holding one stream: milliseconds from the request
/// to the close.
async fn close_on_revoke(http: &reqwest::Client, args: &Args) -> Value {
    let path = format!("/api/workspaces/{}/events/stream", args.workspace);
    let mut ms = Vec::new();
    for i in 0..args.revocations {
        let (id, token) = new_pat(http, &args.origin, &args.pat, &format!("revoke-{i}")).await;
        let mut stream = ws::open(&args.origin, &path, With::Bearer(&token))
            .await
            .unwrap();
        let sent = Instant::now();
        let r = http
            .delete(format!("{}/api/tokens/{id}", args.origin))
            .bearer_auth(&args.pat)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "revoke: {}", r.status());
        let (code, _, _) = stream.closed(Duration::from_secs(10)).await;
        assert_eq!(code, 4401);
        ms.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    stats(ms)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let http = reqwest::Client::new();
    let needed = args.sockets.div_ceil(PER_CREDENTIAL) + args.edge_sockets.div_ceil(PER_CREDENTIAL);
    let mut pats = Vec::with_capacity(needed);
    for i in 0..needed {
        pats.push(
            new_pat(&http, &args.origin, &args.pat, &format!("stream-{i}"))
                .await
                .1,
        );
    }
    let (origin_pats, edge_pats) = pats.split_at(args.sockets.div_ceil(PER_CREDENTIAL));

    let before = rss_kib(args.origin_pid);
    let streams = open_many(&args.origin, &args.workspace, origin_pats, args.sockets).await;
    // Let the origin settle: each stream's first check has run by the 101.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(args.origin_pid);
    let per_socket = (after.saturating_sub(before)) as f64 / args.sockets as f64;
    let origin_delivery = delivery(&http, &args, streams).await;
    let close = close_on_revoke(&http, &args).await;

    let edge_streams = open_many(&args.edge, &args.workspace, edge_pats, args.edge_sockets).await;
    let edge_delivery = delivery(&http, &args, edge_streams).await;
    println!(
        "{}",
        json!({
            "sockets": args.sockets,
            "events": args.events,
            "delivery_ms": origin_delivery,
            "rss_before_kib": before,
            "rss_after_kib": after,
            "rss_per_socket_kib": per_socket,
            "close_ms": close,
            "edge_sockets": args.edge_sockets,
            "edge_delivery_ms": edge_delivery,
        })
    );
}
