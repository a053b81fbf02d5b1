//! Event streams through the edge: who may open one (each credential kind, and the
//! refusals), replay and live with no gap across a reconnect, an event committed on
//! another origin process arriving, every way a credential ends closing its sockets
//! within 2 s, and the limits (on an origin of their own, with small ones).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::access::{self, Credential, RouteClass};
use tollgate_shared::streams::Ending;
use tollgate_shared::{AuthError, TokenKind};
use tollgate_tests::api::Api;
use tollgate_tests::fixtures;
use tollgate_tests::origin::Origin;
use tollgate_tests::stack::Stack;
use tollgate_tests::ws::{self, Next, Stream, With};

/// The bound every revocation path promises.
const BOUND: Duration = Duration::from_secs(2);

fn stream_path(ws: &str) -> String {
    format!("/api/workspaces/{ws}/events/stream")
}

async fn open(stack: &Stack, path: &str, with: With<'_>) -> Stream {
    match ws::open(&stack.edge.url, path, with).await {
        Ok(stream) => stream,
        Err(refused) => panic!("{path} refused: {refused:?}"),
    }
}

/// The handshake is refused with `status` and exactly `error`.
async fn refused(base: &str, path: &str, with: With<'_>, status: u16, error: &str) {
    match ws::open(base, path, with).await {
        Ok(_) => panic!("{path} opened"),
        Err(r) => assert_eq!((r.status, r.error.as_str()), (status, error), "{path}"),
    }
}

/// A new member of `ws` (added by `owner`): the person.
async fn member(stack: &Stack, ws: &str, owner: &str) -> tollgate_tests::stack::Person {
    let person = stack.person();
    fixtures::add_member(stack, ws, owner, &person.email, "member").await;
    person
}

/// The ids of the workspace's events after `after`, as the polled list gives them.
async fn listed_after(stack: &Stack, ws: &str, pat: &str, after: i64) -> Vec<i64> {
    let r = stack
        .get(
            &format!("/api/workspaces/{ws}/events?after={after}"),
            Some(pat),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    ids(r.body["events"].as_array().unwrap())
}

fn ids(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

pub async fn a_stream_opens_with_each_credential_and_refuses_the_rest(stack: &Stack) {
    let (_, pat) = stack.pat();
    let ws = stack.workspace("streams-open");
    let path = stream_path(&ws);
    let edge = stack.edge.url.as_str();

    // A PAT: the workspace's events as they commit, each {id, kind, payload, created_at}.
    let mut by_pat = open(stack, &path, With::Bearer(&pat)).await;
    let added = member(stack, &ws, &pat).await;
    let event = by_pat.event().await;
    assert_eq!(event["kind"], "member:added", "{event}");
    assert_eq!(event["payload"]["user_id"], added.id.as_str(), "{event}");
    assert_eq!(event["payload"]["role"], "member", "{event}");
    assert!(
        event["id"].is_i64() && event["created_at"].is_string(),
        "{event}"
    );

    // A session cookie (the new member's: the stack's own person has used up the
    // per-email sends of the sign-in tests by now), from the console's own origin only.
    let browser = stack
        .sign_in(&added.email, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 81)))
        .await;
    let cookie = browser.cookie();
    let own = With::Cookie {
        cookie: &cookie,
        origin: Some(edge),
    };
    let mut by_cookie = open(stack, &path, own).await;
    let cross = AuthError::CrossSite.message();
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let with = With::Cookie {
            cookie: &cookie,
            origin,
        };
        refused(edge, &path, with, 403, cross).await;
    }
    // Nothing at all.
    let missing = RouteClass::User.missing();
    refused(edge, &path, With::Nothing, 401, missing.message()).await;
    // Another workspace's stream: not a member there.
    let elsewhere = stack.workspace("streams-elsewhere");
    let (_, stranger) = {
        let person = stack.person();
        (person.id, person.pat)
    };
    refused(
        edge,
        &stream_path(&elsewhere),
        With::Bearer(&stranger),
        404,
        "workspace not found",
    )
    .await;

    // A task token of the workspace; a daemon token on its own stream, not on a user's.
    let world = fixtures::world(stack, &ws, &pat, "streams-open").await;
    let r = world.task(stack, "stream").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let claimed = world.claim(stack).await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.text);
    let mat = claimed.body["task_token"].as_str().unwrap().to_owned();
    let mut by_task = open(stack, &path, With::Bearer(&mat)).await;
    let daemon_path = tollgate_shared::streams::DAEMON_STREAM_PATH;
    let mut by_daemon = open(stack, daemon_path, With::Bearer(&world.mdt)).await;
    let user_route = access::admit(RouteClass::User, Credential::Token(TokenKind::Daemon));
    let user_route = user_route.expect_err("daemon tokens are not for user routes");
    refused(
        edge,
        &path,
        With::Bearer(&world.mdt),
        user_route.status(),
        user_route.message(),
    )
    .await;
    let not_for_streams = AuthError::NotForStreams.message();
    refused(edge, daemon_path, With::Bearer(&pat), 403, not_for_streams).await;

    // Everyone sees the next event.
    let second = member(stack, &ws, &pat).await;
    for stream in [&mut by_pat, &mut by_cookie, &mut by_task, &mut by_daemon] {
        let seen = stream.until("member:added").await;
        let last = seen.last().unwrap();
        assert_eq!(last["payload"]["user_id"], second.id.as_str(), "{last}");
    }

    // Without the handshake: 426, in JSON.
    let r = stack
        .http()
        .get(format!("{edge}{path}"))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UPGRADE_REQUIRED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "websocket upgrade required");

    // 16 streams per credential: the 17th is 429 with when to try again.
    let mut held = vec![by_pat];
    for _ in 1..tollgate_shared::streams::PER_CREDENTIAL {
        held.push(open(stack, &path, With::Bearer(&pat)).await);
    }
    match ws::open(edge, &path, With::Bearer(&pat)).await {
        Ok(_) => panic!("a 17th stream opened"),
        Err(r) => {
            assert_eq!(
                (r.status, r.error.as_str()),
                (429, "too many streams for this credential")
            );
            assert!(r.retry_after.is_some(), "Retry-After");
        }
    }
    // One closed, one more may open.
    held.pop().unwrap().close().await;
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(stream) = ws::open(edge, &path, With::Bearer(&pat)).await {
            reopened = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed stream frees its place");
}

pub async fn replay_then_live_with_no_gap_or_duplicate_across_a_reconnect(stack: &Stack) {
    let (_, pat) = stack.pat();
    let ws = stack.workspace("streams-replay");
    let path = stream_path(&ws);
    let mut first = open(stack, &path, With::Bearer(&pat)).await;
    for _ in 0..3 {
        member(stack, &ws, &pat).await;
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(first.event().await);
    }
    let last_seen = *ids(&seen).last().unwrap();
    first.close().await;

    // Missed while away; then, reconnected with ?after=, replayed and live in order.
    for _ in 0..2 {
        member(stack, &ws, &pat).await;
    }
    let mut second = open(
        stack,
        &format!("{path}?after={last_seen}"),
        With::Bearer(&pat),
    )
    .await;
    member(stack, &ws, &pat).await;
    let mut again = Vec::new();
    for _ in 0..3 {
        again.push(second.event().await);
    }
    assert_eq!(second.next(Duration::from_millis(500)).await, Next::Nothing);
    let again = ids(&again);
    assert_eq!(again, listed_after(stack, &ws, &pat, last_seen).await);
    assert!(again.windows(2).all(|w| w[0] < w[1]), "{again:?}");

    // From the start: every event once, as the list has them.
    let mut all = open(stack, &format!("{path}?after=0"), With::Bearer(&pat)).await;
    let listed = listed_after(stack, &ws, &pat, 0).await;
    let mut replayed = Vec::new();
    for _ in 0..listed.len() {
        replayed.push(all.event().await);
    }
    assert_eq!(ids(&replayed), listed);
    assert_eq!(all.next(Duration::from_millis(500)).await, Next::Nothing);
    // A bad cursor is the list's 400.
    refused(
        &stack.edge.url,
        &format!("{path}?after=x"),
        With::Bearer(&pat),
        400,
        "invalid request body",
    )
    .await;
}

pub async fn an_event_committed_on_another_origin_reaches_the_stream(stack: &Stack) {
    let (_, pat) = stack.pat();
    let ws = stack.workspace("streams-replicas");
    let path = stream_path(&ws);
    // A second origin process on the same database, called directly.
    let other = tokio::task::block_in_place(|| Origin::start(&stack.db, &[]));
    let mut through_edge = open(stack, &path, With::Bearer(&pat)).await;
    let mut at_other = match ws::open(&other.url, &path, With::Bearer(&pat)).await {
        Ok(stream) => stream,
        Err(r) => panic!("the second origin refused: {r:?}"),
    };
    // Committed on the second origin: heard on the stream the first one holds.
    let person = stack.person();
    let r = stack
        .http()
        .post(format!("{}/api/workspaces/{ws}/members", other.url))
        .bearer_auth(&pat)
        .json(&json!({"email": person.email, "role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.text().await);
    for stream in [&mut through_edge, &mut at_other] {
        let event = stream.event().await;
        assert_eq!(event["kind"], "member:added");
        assert_eq!(event["payload"]["user_id"], person.id.as_str());
    }
    // And the other way round.
    let added = member(stack, &ws, &pat).await;
    for stream in [&mut through_edge, &mut at_other] {
        let event = stream.event().await;
        assert_eq!(event["payload"]["user_id"], added.id.as_str());
    }
}

/// `stream` is closed with `ending`'s code within the bound; how long it took.
async fn closed_with(stream: &mut Stream, ending: Ending, what: &str) -> Duration {
    let (code, reason, after) = stream.closed(Duration::from_secs(10)).await;
    assert_eq!(
        (code, reason.as_str()),
        (ending.code(), ending.reason()),
        "{what}"
    );
    println!("{what}: closed with {code} {after:?} after the 2xx");
    assert!(after < BOUND, "{what}: {after:?}");
    after
}

pub async fn every_end_of_a_credential_closes_its_streams_within_2_s(stack: &Stack) {
    let (_, owner) = stack.pat();
    let ws = stack.workspace("streams-revoke");
    let path = stream_path(&ws);
    let mut owners = open(stack, &path, With::Bearer(&owner)).await;

    // A revoked PAT: 4401.
    let (id, pat) = stack.pat();
    let mut by_pat = open(stack, &path, With::Bearer(&pat)).await;
    stack.revoke_pat(&id, &pat).await;
    closed_with(&mut by_pat, Ending::Revoked, "revoked PAT").await;

    // A signed-out session (a member's, signed in for this): 4401.
    let signed_in = member(stack, &ws, &owner).await;
    let browser = stack
        .sign_in(&signed_in.email, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 82)))
        .await;
    let cookie = browser.cookie();
    let with = With::Cookie {
        cookie: &cookie,
        origin: Some(&stack.edge.url),
    };
    let mut by_session = open(stack, &path, with).await;
    let r = stack
        .as_browser(&browser, Method::POST, "/api/auth/logout")
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    closed_with(&mut by_session, Ending::Revoked, "signed-out session").await;

    // A session that expires: 4401 when it does, not at the next ping (30 s).
    let jwt = stack.session(3);
    let mut expiring = open(stack, &path, With::Bearer(&jwt)).await;
    let (code, reason, _) = expiring.closed(Duration::from_secs(10)).await;
    assert_eq!(
        (code, reason.as_str()),
        (Ending::Revoked.code(), Ending::Revoked.reason()),
        "expired session"
    );

    // A finished task's token: 4401.
    let world = fixtures::world(stack, &ws, &owner, "streams-revoke").await;
    world.task(stack, "t").await;
    let claimed = world.claim(stack).await;
    let mat = claimed.body["task_token"].as_str().unwrap().to_owned();
    let task = claimed.body["task"]["id"].as_str().unwrap().to_owned();
    let mut by_task = open(stack, &path, With::Bearer(&mat)).await;
    assert_eq!(
        fixtures::start(stack, &world.mdt, &task).await.status,
        StatusCode::OK
    );
    let done = json!({"status": "completed"}).to_string();
    let r = stack
        .call(
            Method::POST,
            &format!("/api/daemon/tasks/{task}/complete"),
            Some(&world.mdt),
            Some(&done),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    closed_with(&mut by_task, Ending::Revoked, "finished task's token").await;

    // A removed member: their PAT's stream 4403, their daemon's 4401 (its token goes
    // with them); the owner's stays open and hears of it.
    let leaver = member(stack, &ws, &owner).await;
    let (mdt, _) = fixtures::daemon_for(stack, &ws, &owner, &leaver.id, "leaver-box").await;
    stack.minted.lock().unwrap().push(mdt.clone());
    let mut leavers = open(stack, &path, With::Bearer(&leaver.pat)).await;
    let daemon_path = tollgate_shared::streams::DAEMON_STREAM_PATH;
    let mut leavers_daemon = open(stack, daemon_path, With::Bearer(&mdt)).await;
    let r = stack
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{ws}/members/{}", leaver.id),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    closed_with(&mut leavers, Ending::NotAMember, "removed member's PAT").await;
    // Their daemon acts for them: gone from the workspace with them (its token is
    // revoked in the same commit).
    closed_with(
        &mut leavers_daemon,
        Ending::NotAMember,
        "removed member's daemon",
    )
    .await;
    let seen = owners.until("member:removed").await;
    assert_eq!(
        seen.last().unwrap()["payload"]["user_id"],
        leaver.id.as_str()
    );
    // Their PAT still works elsewhere, but not for this workspace's stream.
    refused(
        &stack.edge.url,
        &path,
        With::Bearer(&leaver.pat),
        404,
        "workspace not found",
    )
    .await;

    // A suspended person: every stream acting for them, 4401.
    let suspended = member(stack, &ws, &owner).await;
    let mut theirs = open(stack, &path, With::Bearer(&suspended.pat)).await;
    let out = tokio::task::block_in_place(|| {
        let start = std::time::Instant::now();
        let out = stack.user_command(&["suspend", "--email", &suspended.email], true);
        (out, start.elapsed())
    });
    assert!(
        out.0.status.success(),
        "{}",
        String::from_utf8_lossy(&out.0.stderr)
    );
    // Timed from the command's end (it commits, then prints).
    closed_with(&mut theirs, Ending::Revoked, "suspended person's PAT").await;
}

/// A stream opened with `token` at `base`, tried every 100 ms for 5 s (an origin that
/// has just freed a place, or is listening again, refuses until then).
async fn open_within_5_s(base: &str, path: &str, token: &str) -> Option<Stream> {
    for _ in 0..50 {
        if let Ok(stream) = ws::open(base, path, With::Bearer(token)).await {
            return Some(stream);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The limits, on an origin of their own with small ones: the total per process and the
/// idle limit. (A full queue's 1013 is the registry's rule, tested where it is decided,
/// `origin::streams`: here a socket's task may drain its queue at any moment, so which
/// delivery overflows it is not the test's to fix.)
pub async fn streams_keep_to_their_limits(stack: &Stack) {
    let env = [
        ("STREAMS_MAX", "2"),
        ("STREAM_PING_SECS", "1"),
        ("STREAM_IDLE_SECS", "2"),
    ];
    let origin = tokio::task::block_in_place(|| Origin::start(&stack.db, &env));
    let (_, owner) = stack.pat();
    let ws = stack.workspace("streams-limits");
    let path = stream_path(&ws);
    let at = |with| ws::open(&origin.url, &path, with);
    let first = at(With::Bearer(&owner)).await.unwrap();
    let (_, other) = stack.pat();
    let second = at(With::Bearer(&other)).await.unwrap();
    let (_, third) = stack.pat();
    match at(With::Bearer(&third)).await {
        Ok(_) => panic!("a third stream opened with STREAMS_MAX=2"),
        Err(r) => {
            assert_eq!((r.status, r.error.as_str()), (429, "too many streams"));
            assert!(r.retry_after.is_some());
        }
    }

    first.close().await;
    second.close().await;
    // Closed by the client, each frees its place as soon as the origin has seen it.
    let freed = open_within_5_s(&origin.url, &path, &owner).await;
    drop(freed.expect("a closed stream frees its place"));

    // A client that answers nothing (no pong: it does not read) is closed as idle.
    let mut quiet = at(With::Bearer(&owner)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (code, reason, _) = quiet.closed(Duration::from_secs(10)).await;
    assert_eq!((code, reason.as_str()), (1001, Ending::Idle.reason()));
    // One that reads (and so answers the pings) stays.
    let mut lively = at(With::Bearer(&owner)).await.unwrap();
    assert_eq!(lively.next(Duration::from_secs(4)).await, Next::Nothing);

    // Its origin loses its database listener: what is committed meanwhile would not
    // reach the stream, so it is closed (1012, reconnect with ?after=), and a new one
    // opens once the listener is back.
    let listener = tollgate_shared::streams::listener_name(origin.pid());
    stack
        .sql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = '{listener}'"
        ))
        .await;
    let (code, reason, _) = lively.closed(Duration::from_secs(5)).await;
    assert_eq!((code, reason.as_str()), (1012, Ending::Restarting.reason()));
    let back = open_within_5_s(&origin.url, &path, &owner).await;
    assert!(
        back.is_some(),
        "no stream opened after the listener came back"
    );
}
