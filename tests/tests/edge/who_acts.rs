//! Who acts for whom, through the edge: a daemon acts for the member its install token
//! was minted for (whoever minted it), and removing that member stops that daemon and
//! nothing else. The helpers here make the people, workspaces and machines of these
//! tests (`shared_runtimes` uses them too).

use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::AuthError;
use tollgate_tests::api::assert_refused;
use tollgate_tests::fixtures;
use tollgate_tests::origin::client_bin;
use tollgate_tests::stack::{Person, Stack};

pub(crate) async fn call(
    stack: &Stack,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = stack
        .http()
        .request(method, format!("{}{path}", stack.edge.url))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// `call` that must answer `status`; returns the JSON body (`Null` when empty).
pub(crate) async fn ok(
    stack: &Stack,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    status: StatusCode,
) -> Value {
    let r = call(stack, method.clone(), path, token, body).await;
    let got = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "{method} {path}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A workspace of the stack's user (its owner), with `roles.len()` new people added
/// through the edge in those roles: `(workspace, owner PAT, people)`.
pub(crate) async fn workspace_with(
    stack: &Stack,
    name: &str,
    roles: &[&str],
) -> (String, String, Vec<Person>) {
    let ws = stack.workspace(name);
    let (_, owner_pat) = stack.pat();
    let mut people = Vec::new();
    for role in roles {
        let p = stack.person();
        fixtures::add_member(stack, &ws, &owner_pat, &p.email, role).await;
        people.push(p);
    }
    (ws, owner_pat, people)
}

/// An install token minted by `issuer` for `for_user` (`None`: an empty body, the
/// issuer themselves); checks the mint answer names the member.
pub(crate) async fn mint(
    stack: &Stack,
    ws: &str,
    issuer: &str,
    for_user: Option<&str>,
    expect: &str,
) -> String {
    let body = for_user.map(|id| json!({ "user_id": id }).to_string());
    let minted = fixtures::mint(stack, ws, issuer, body.as_deref()).await;
    assert_eq!(minted.status, StatusCode::CREATED, "{}", minted.text);
    assert_eq!(minted.body["workspace_id"], ws, "{}", minted.text);
    assert_eq!(minted.body["user_id"], expect, "{}", minted.text);
    minted.body["token"].as_str().unwrap().to_owned()
}

/// Exchanges `mit` through the edge (a public route); checks the answer names the
/// member; returns the daemon token.
pub(crate) async fn exchange(
    stack: &Stack,
    mit: &str,
    daemon_id: &str,
    ws: &str,
    member: &str,
) -> String {
    let r = fixtures::exchange(stack, mit, daemon_id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let answer = &r.body;
    assert_eq!(answer["workspace_id"], ws, "{answer}");
    assert_eq!(answer["daemon_id"], daemon_id, "{answer}");
    assert_eq!(answer["user_id"], member, "{answer}");
    answer["token"].as_str().unwrap().to_owned()
}

pub(crate) async fn whoami(stack: &Stack, mdt: &str) -> reqwest::Response {
    call(stack, Method::GET, "/api/daemon/whoami", mdt, None).await
}

/// `whoami` twice, the second a KV hit: the daemon token is cached at the edge.
async fn cached_whoami(stack: &Stack, mdt: &str, ws: &str, daemon_id: &str, member: &str) {
    let mut resolves = Vec::new();
    for _ in 0..2 {
        resolves.push(stack.resolves().await);
        let r = whoami(stack, mdt).await;
        assert_eq!(r.status(), StatusCode::OK);
        let me: Value = r.json().await.unwrap();
        assert_eq!(me["actor_source"], "daemon");
        assert_eq!(me["workspace_id"], ws);
        assert_eq!(me["daemon_id"], daemon_id);
        assert_eq!(me["user_id"], member, "the daemon acts for the member");
        stack.let_cache_writes_land().await;
    }
    assert_eq!(
        stack.resolves().await,
        resolves[1],
        "the second is a KV hit"
    );
}

pub(crate) async fn runtimes(stack: &Stack, ws: &str, token: &str) -> Vec<Value> {
    let list = ok(
        stack,
        Method::GET,
        &format!("/api/workspaces/{ws}/runtimes"),
        token,
        None,
        StatusCode::OK,
    )
    .await;
    list["runtimes"].as_array().unwrap().clone()
}

pub(crate) fn runtime<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("runtime {id} not in {list:?}"))
}

pub async fn an_admin_enrolls_a_members_daemon_and_removing_the_member_stops_it_alone(
    stack: &Stack,
) {
    let (ws, owner_pat, people) = workspace_with(stack, "Team", &["admin", "member"]).await;
    let [admin, member] = &people[..] else {
        unreachable!()
    };
    // A plain member cannot mint: an admin enrolls their laptop for them.
    let r = call(
        stack,
        Method::POST,
        &format!("/api/workspaces/{ws}/install-tokens"),
        &member.pat,
        None,
    )
    .await;
    assert_refused(r, AuthError::InsufficientPermissions).await;
    let mit = mint(stack, &ws, &admin.pat, Some(&member.id), &member.id).await;

    // The member's laptop enrolls with the real client, through the edge.
    let home =
        std::env::temp_dir().join(format!("tollgate-home-{}", uuid::Uuid::new_v4().simple()));
    let client = |args: &[&str]| {
        let out = Command::new(client_bin())
            .args(args)
            .env("TOLLGATE_HOME", &home)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    client(&[
        "enroll",
        "--server",
        &stack.edge.url,
        "--install-token",
        &mit,
        "--daemon-id",
        "member-laptop",
    ]);
    let me: Value = serde_json::from_slice(&client(&["whoami"])).unwrap();
    assert_eq!(me["user_id"], member.id.as_str(), "{me}");
    let saved: Value =
        serde_json::from_slice(&std::fs::read(home.join("credentials.json")).unwrap()).unwrap();
    let member_mdt = saved["token"].as_str().unwrap().to_owned();
    stack.minted.lock().unwrap().push(member_mdt.clone());

    // The admin enrolls their own machine (an empty body: for the caller).
    let admin_mit = mint(stack, &ws, &admin.pat, None, &admin.id).await;
    let admin_mdt = exchange(stack, &admin_mit, "admin-box", &ws, &admin.id).await;

    // Each machine's runtime is its member's, whoever minted the install token.
    let member_rt = ok(
        stack,
        Method::POST,
        "/api/daemon/runtimes",
        &member_mdt,
        Some(json!({"name": "laptop"})),
        StatusCode::OK,
    )
    .await;
    let admin_rt = ok(
        stack,
        Method::POST,
        "/api/daemon/runtimes",
        &admin_mdt,
        Some(json!({"name": "box"})),
        StatusCode::OK,
    )
    .await;
    let (member_rt, admin_rt) = (
        member_rt["id"].as_str().unwrap(),
        admin_rt["id"].as_str().unwrap(),
    );
    let list = runtimes(stack, &ws, &owner_pat).await;
    assert_eq!(runtime(&list, member_rt)["owner_id"], member.id.as_str());
    assert_eq!(runtime(&list, member_rt)["status"], "online");
    assert_eq!(runtime(&list, admin_rt)["owner_id"], admin.id.as_str());

    cached_whoami(stack, &member_mdt, &ws, "member-laptop", &member.id).await;
    cached_whoami(stack, &admin_mdt, &ws, "admin-box", &admin.id).await;

    ok(
        stack,
        Method::DELETE,
        &format!("/api/workspaces/{ws}/members/{}", member.id),
        &owner_pat,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    // From the 204 on: the purge was delivered before it.
    assert_refused(whoami(stack, &member_mdt).await, AuthError::InvalidToken).await;
    let r = call(
        stack,
        Method::POST,
        "/api/daemon/heartbeat",
        &member_mdt,
        Some(json!({"runtime_ids": [member_rt]})),
    )
    .await;
    assert_refused(r, AuthError::InvalidToken).await;

    // The admin's machine acts for the admin: untouched.
    let r = whoami(stack, &admin_mdt).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()["user_id"],
        admin.id.as_str()
    );
    ok(
        stack,
        Method::POST,
        "/api/daemon/runtimes",
        &admin_mdt,
        Some(json!({"name": "box"})),
        StatusCode::OK,
    )
    .await;
    let list = runtimes(stack, &ws, &owner_pat).await;
    assert_eq!(runtime(&list, member_rt)["status"], "offline");
    assert_eq!(runtime(&list, admin_rt)["status"], "online");
    let _ = std::fs::remove_dir_all(&home);
}
