//! What ends with a daemon token (an admin's revocation) and with a member (a removal):
//! exactly what acts for them, even where the edge still has a credential cached.

use axum::http::{Method, StatusCode};
use serde_json::json;
use tollgate_shared::Actor;
use tollgate_tests::fixtures::{
    agent, claim, daemon_for, event_kinds, queue, refused, share, start,
};
use uuid::Uuid;

use crate::harness::{count, edge_app, stale, team, TestResponse};

#[tokio::test]
async fn revoking_a_daemon_token_ends_what_it_started_even_if_the_edge_still_has_it() {
    let app = edge_app().await;
    let t = team(&app).await;
    let (mdt, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "box").await;
    let a = agent(&app, t.ws, &t.alice.1, &runtime).await;
    let agent_id = a.body["id"].as_str().unwrap().to_owned();
    let first = queue(&app, t.ws, &t.alice.1, &agent_id).await;
    let first = first.body["id"].as_str().unwrap().to_owned();
    queue(&app, t.ws, &t.alice.1, &agent_id).await;
    queue(&app, t.ws, &t.alice.1, &agent_id).await;
    let c = claim(&app, &mdt, &runtime).await;
    let mat = c.body["task_token"].as_str().unwrap().to_owned();
    let r = start(&app, &mdt, &first).await;
    assert_eq!(r.status, StatusCode::OK);
    let second = claim(&app, &mdt, &runtime).await;
    let second = second.body["task"]["id"].as_str().unwrap().to_owned();

    let token_id: Uuid = app.sql("SELECT id FROM daemon_tokens").await[0].get(0);
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{}/daemon-tokens/{token_id}", t.ws),
            Some(&t.admin.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The running and the dispatched task are cancelled, their token refused at once;
    // the queued one waits; the runtime is offline.
    refused(
        &app.get("/api/me", Some(&mat)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    let statuses: Vec<String> = app
        .sql("SELECT status FROM tasks ORDER BY created_at")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(statuses, ["cancelled", "cancelled", "queued"]);
    assert_eq!(count(&app, "SELECT count(*) FROM task_tokens").await, 0);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM runtimes WHERE id = '{runtime}' AND status = 'offline'")
        )
        .await,
        1
    );
    let kinds = event_kinds(&app, t.ws, &t.owner.1).await;
    assert_eq!(
        kinds,
        [
            "daemon:registered",
            "runtime:online",
            "daemon:revoked",
            "task:cancelled",
            "task:cancelled",
            "runtime:offline"
        ]
    );

    // An edge that still has the identity cached gets nothing done with it: each
    // daemon statement checks that the token is live.
    let actor = Actor::Daemon {
        user_id: t.alice.0,
        workspace_id: t.ws,
        daemon_id: "box".into(),
    };
    for (path, body) in [
        (
            "/api/daemon/tasks/claim".to_owned(),
            json!({ "runtime_id": runtime }),
        ),
        (format!("/api/daemon/tasks/{second}/start"), json!({})),
        (
            format!("/api/daemon/tasks/{first}/complete"),
            json!({"status": "completed"}),
        ),
        (
            "/api/daemon/heartbeat".to_owned(),
            json!({ "runtime_ids": [runtime] }),
        ),
        ("/api/daemon/runtimes".to_owned(), json!({ "name": "rt" })),
    ] {
        let r = app.send(stale(&actor, &path, body)).await;
        refused(&r, StatusCode::UNAUTHORIZED, "invalid token");
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM tasks WHERE status = 'queued'").await,
        1,
        "the queued task was not claimed"
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM runtimes WHERE id = '{runtime}' AND status = 'offline'")
        )
        .await,
        1,
        "no heartbeat brought it back"
    );
}

#[tokio::test]
async fn removing_a_member_stops_exactly_what_acts_for_them() {
    let app = edge_app().await;
    let t = team(&app).await;
    // The admin enrolled Alice's laptop and their own machine.
    let (alice_mdt, alice_rt) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "alice").await;
    let (admin_mdt, admin_rt) = daemon_for(&app, t.ws, &t.admin.1, t.admin.0, "admin").await;
    let (bob_mdt, bob_rt) = daemon_for(&app, t.ws, &t.admin.1, t.bob.0, "bob").await;
    for (pat, rt) in [(&t.admin.1, &admin_rt), (&t.bob.1, &bob_rt)] {
        share(&app, t.ws, pat, rt, "workspace").await;
    }
    let id = |r: TestResponse| r.body["id"].as_str().unwrap().to_owned();
    // Alice's agent on her machine and one on the admin's (shared); the admin's own;
    // Bob's on his (shared).
    let alice_own = id(agent(&app, t.ws, &t.alice.1, &alice_rt).await);
    let alice_on_admin = id(agent(&app, t.ws, &t.alice.1, &admin_rt).await);
    let admin_own = id(agent(&app, t.ws, &t.admin.1, &admin_rt).await);
    let bob_on_bob = id(agent(&app, t.ws, &t.bob.1, &bob_rt).await);
    // Tasks: Alice's on her machine, Alice's on the admin's agent, Alice's on Bob's,
    // Bob's on Bob's, the admin's on the admin's.
    let alice_t1 = id(queue(&app, t.ws, &t.alice.1, &alice_own).await);
    let alice_t2 = id(queue(&app, t.ws, &t.alice.1, &admin_own).await);
    let alice_t3 = id(queue(&app, t.ws, &t.alice.1, &bob_on_bob).await);
    let bob_t = id(queue(&app, t.ws, &t.bob.1, &bob_on_bob).await);
    let admin_t = id(queue(&app, t.ws, &t.admin.1, &admin_own).await);
    // Claimed: Alice's on the admin's machine (a live task token acting for Alice),
    // then the admin's own.
    let c = claim(&app, &admin_mdt, &admin_rt).await;
    assert_eq!(c.body["task"]["id"], json!(alice_t2));
    let alice_mat = c.body["task_token"].as_str().unwrap().to_owned();
    let c = claim(&app, &admin_mdt, &admin_rt).await;
    assert_eq!(c.body["task"]["id"], json!(admin_t));
    let admin_mat = c.body["task_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/me", Some(&alice_mat)).await.body["user_id"],
        json!(t.alice.0)
    );

    // The admin who enrolled her machine is removed first: nothing of Alice's stops.
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{}/members/{}", t.ws, t.admin.0),
            Some(&t.owner.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&alice_mdt)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&bob_mdt)).await.status,
        StatusCode::OK
    );
    refused(
        &app.get("/api/daemon/whoami", Some(&admin_mdt)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    // Their machine ran Alice's task: it is gone with the machine (its token too).
    refused(
        &app.get("/api/me", Some(&alice_mat)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    refused(
        &app.get("/api/me", Some(&admin_mat)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );

    // Now Alice, by the owner.
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{}/members/{}", t.ws, t.alice.0),
            Some(&t.owner.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    refused(
        &app.get("/api/daemon/whoami", Some(&alice_mdt)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    // Even an edge that still had her daemon cached gets nothing done.
    let stale_alice = Actor::Daemon {
        user_id: t.alice.0,
        workspace_id: t.ws,
        daemon_id: "alice".into(),
    };
    for (path, body) in [
        ("/api/daemon/tasks/claim", json!({ "runtime_id": alice_rt })),
        (
            "/api/daemon/heartbeat",
            json!({ "runtime_ids": [alice_rt] }),
        ),
        ("/api/daemon/runtimes", json!({ "name": "again" })),
    ] {
        let r = app.send(stale(&stale_alice, path, body)).await;
        refused(&r, StatusCode::UNAUTHORIZED, "invalid token");
    }
    let status = |task: &str| {
        let task = task.to_owned();
        let app = &app;
        async move {
            app.sql(&format!("SELECT status FROM tasks WHERE id = '{task}'"))
                .await[0]
                .get::<_, String>(0)
        }
    };
    // Every task Alice queued, anywhere, is cancelled; Bob's is not.
    for task in [&alice_t1, &alice_t2, &alice_t3] {
        assert_eq!(status(task).await, "cancelled", "{task}");
    }
    assert_eq!(status(&bob_t).await, "queued");
    // Her agents (on her machine and the one she made on the admin's) are archived;
    // Bob's is not.
    let archived = |agent: &str| {
        let agent = agent.to_owned();
        let app = &app;
        async move {
            app.sql(&format!(
                "SELECT archived_at IS NOT NULL FROM agents WHERE id = '{agent}'"
            ))
            .await[0]
                .get::<_, bool>(0)
        }
    };
    assert!(archived(&alice_own).await && archived(&alice_on_admin).await);
    assert!(!archived(&bob_on_bob).await);
    // Bob's machine, runtime and queued work go on.
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&bob_mdt)).await.status,
        StatusCode::OK
    );
    let c = claim(&app, &bob_mdt, &bob_rt).await;
    assert_eq!(c.body["task"]["id"], json!(bob_t), "{}", c.text);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM runtimes WHERE id = '{alice_rt}' AND status = 'offline'"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM runtimes WHERE id = '{bob_rt}' AND status = 'online'")
        )
        .await,
        1
    );
}
