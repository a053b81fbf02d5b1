//! Runtimes are their owner's unless shared, and a task acts for the member who queued
//! it, through the edge: on another member's shared runtime, the task token is the
//! queuer's (not the runtime owner's), no human, bound to its workspace, and ends when
//! the queuer leaves.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::AuthError;
use tollgate_tests::api::assert_refused;
use tollgate_tests::fixtures::add_member;
use tollgate_tests::stack::Stack;

use crate::who_acts::{call, exchange, mint, ok, runtime, runtimes, whoami, workspace_with};

pub async fn a_task_on_a_shared_runtime_acts_for_the_member_who_queued_it(stack: &Stack) {
    let (ws, owner_pat, people) = workspace_with(stack, "Shared", &["member", "member"]).await;
    let [a, b] = &people[..] else { unreachable!() };
    // A's machine, enrolled by the owner for A.
    let mit = mint(stack, &ws, &owner_pat, Some(&a.id), &a.id).await;
    let a_mdt = exchange(stack, &mit, "a-box", &ws, &a.id).await;
    let rt = ok(
        stack,
        Method::POST,
        "/api/daemon/runtimes",
        &a_mdt,
        Some(json!({"name": "a-rt"})),
        StatusCode::OK,
    )
    .await;
    let rt = rt["id"].as_str().unwrap().to_owned();
    let agents = format!("/api/workspaces/{ws}/agents");
    let agent_on_rt = json!({"name": "helper", "runtime_id": rt});

    // Private: neither B nor the workspace's owner may send it prompts, or share it.
    let listed = runtimes(stack, &ws, &b.pat).await;
    assert_eq!(runtime(&listed, &rt)["owner_id"], a.id.as_str());
    assert_eq!(runtime(&listed, &rt)["visibility"], "private");
    for pat in [&b.pat, &owner_pat] {
        let r = call(stack, Method::POST, &agents, pat, Some(agent_on_rt.clone())).await;
        assert_refused(r, AuthError::RuntimeNotYours).await;
    }
    let share = format!("/api/workspaces/{ws}/runtimes/{rt}");
    let r = call(
        stack,
        Method::PATCH,
        &share,
        &b.pat,
        Some(json!({"visibility": "workspace"})),
    )
    .await;
    assert_refused(r, AuthError::RuntimeNotYours).await;

    // A shares it; B's agent on it runs B's task.
    let shared = ok(
        stack,
        Method::PATCH,
        &share,
        &a.pat,
        Some(json!({"visibility": "workspace"})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(shared["visibility"], "workspace", "{shared}");
    assert_eq!(shared["owner_id"], a.id.as_str(), "{shared}");
    let agent = ok(
        stack,
        Method::POST,
        &agents,
        &b.pat,
        Some(agent_on_rt),
        StatusCode::CREATED,
    )
    .await;
    let task = ok(
        stack,
        Method::POST,
        &format!("/api/workspaces/{ws}/tasks"),
        &b.pat,
        Some(json!({"agent_id": agent["id"], "prompt": "work"})),
        StatusCode::CREATED,
    )
    .await;
    let claimed = ok(
        stack,
        Method::POST,
        "/api/daemon/tasks/claim",
        &a_mdt,
        Some(json!({"runtime_id": rt})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(claimed["task"]["id"], task["id"]);
    let mat = claimed["task_token"].as_str().unwrap().to_owned();
    stack.minted.lock().unwrap().push(mat.clone());
    let task_id = task["id"].as_str().unwrap();
    ok(
        stack,
        Method::POST,
        &format!("/api/daemon/tasks/{task_id}/start"),
        &a_mdt,
        None,
        StatusCode::OK,
    )
    .await;

    // The agent acts for B, who queued the task, not for A, whose machine runs it.
    let r = stack.me(&mat).await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["actor_source"], "task_token");
    assert_eq!(me["user_id"], b.id.as_str(), "{me}");
    assert_eq!(me["workspace_id"], ws.as_str());
    assert_eq!(me["task_id"], task_id);
    // It may read its own workspace, and is no human.
    runtimes(stack, &ws, &mat).await;
    for path in ["/api/tokens", "/api/workspaces"] {
        let r = call(stack, Method::GET, path, &mat, None).await;
        assert_refused(r, AuthError::HumanOnly).await;
    }
    // Bound to its task's workspace, even one B belongs to too, however its id is
    // spelled.
    let (other, other_owner_pat, _) = workspace_with(stack, "Elsewhere", &[]).await;
    add_member(stack, &other, &other_owner_pat, &b.email, "member").await;
    let r = call(
        stack,
        Method::GET,
        &format!("/api/workspaces/{other}/runtimes"),
        &mat,
        None,
    )
    .await;
    assert_refused(r, AuthError::WrongWorkspace).await;
    let r = call(
        stack,
        Method::GET,
        &format!("/api/workspaces/{}/runtimes", other.to_uppercase()),
        &mat,
        None,
    )
    .await;
    assert_refused(r, AuthError::WrongWorkspace).await;

    // B leaves: B's task ends with them; A's machine acts for A and goes on.
    ok(
        stack,
        Method::DELETE,
        &format!("/api/workspaces/{ws}/members/{}", b.id),
        &owner_pat,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_refused(stack.me(&mat).await, AuthError::InvalidToken).await;
    let r = whoami(stack, &a_mdt).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["user_id"], a.id.as_str());
}
