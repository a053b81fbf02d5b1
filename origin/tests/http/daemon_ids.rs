//! A daemon id is its member's: one live token per daemon id, re-enrolling replaces it,
//! another member cannot take it (not even racing for it), nor run a daemon by hand
//! under it.

use axum::http::{Method, StatusCode};
use serde_json::json;
use tollgate_tests::fixtures::{
    agent, claim, daemon_for, event_kinds, exchange, mint, queue, refused, register, share,
};
use uuid::Uuid;

use crate::harness::{count, team, TestApp};

#[tokio::test]
async fn one_live_token_per_daemon_id_and_re_enrolling_replaces_it() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (mdt, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "box").await;
    // Alice's shared runtime runs a task Bob queued; another of his waits.
    assert_eq!(
        share(&app, t.ws, &t.alice.1, &runtime, "workspace")
            .await
            .status,
        StatusCode::OK
    );
    let a = agent(&app, t.ws, &t.bob.1, &runtime).await;
    let agent_id = a.body["id"].as_str().unwrap().to_owned();
    queue(&app, t.ws, &t.bob.1, &agent_id).await;
    queue(&app, t.ws, &t.bob.1, &agent_id).await;
    let c = claim(&app, &mdt, &runtime).await;
    let mat = c.body["task_token"].as_str().unwrap().to_owned();

    // Another member cannot take the daemon id: 409, the install token left unused.
    let r = mint(
        &app,
        t.ws,
        &t.admin.1,
        Some(&json!({"user_id": t.bob.0}).to_string()),
    )
    .await;
    let bobs = r.body["token"].as_str().unwrap().to_owned();
    refused(
        &exchange(&app, &bobs, "box").await,
        StatusCode::CONFLICT,
        "daemon id already enrolled",
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&mdt)).await.status,
        StatusCode::OK
    );
    assert_eq!(app.get("/api/me", Some(&mat)).await.status, StatusCode::OK);
    // …and, being unused, it still enrolls Bob under a daemon id of his own.
    let r = exchange(&app, &bobs, "bobs-box").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let bobs_mdt = r.body["token"].as_str().unwrap().to_owned();
    let r = register(&app, &bobs_mdt, "rt").await;
    assert_eq!(r.body["owner_id"], t.bob.0.to_string());

    // Alice re-enrolls the same machine: the old token is replaced in the same step.
    let r = mint(
        &app,
        t.ws,
        &t.owner.1,
        Some(&json!({"user_id": t.alice.0}).to_string()),
    )
    .await;
    let r = exchange(&app, r.body["token"].as_str().unwrap(), "box").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let fresh = r.body["token"].as_str().unwrap().to_owned();
    refused(
        &app.get("/api/daemon/whoami", Some(&mdt)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&fresh)).await.status,
        StatusCode::OK
    );
    // What the old token started ended with it: the claimed task and its token; the
    // queued one waits for the machine, which goes on with its new token.
    refused(
        &app.get("/api/me", Some(&mat)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM tasks WHERE status = 'cancelled'"
        )
        .await,
        1
    );
    let c = claim(&app, &fresh, &runtime).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM daemon_tokens WHERE daemon_id = 'box' AND revoked_at IS NULL"
        )
        .await,
        1
    );
    let kinds = event_kinds(&app, t.ws, &t.owner.1).await;
    // Each daemon's first runtime, then the replacement: the old token, its claimed
    // task and its runtime going offline.
    assert_eq!(
        kinds,
        [
            "daemon:registered",
            "runtime:online",
            "daemon:registered",
            "runtime:online",
            "daemon:revoked",
            "task:cancelled",
            "runtime:offline"
        ]
    );

    // Once Bob's daemon is retired its id is free: only a live token holds one (so an
    // old runtime under it — there since, say, an admin enrolled the machine for
    // themselves — never blocks its member). The runtimes stay whose they were.
    let ids: Vec<Uuid> = app
        .sql("SELECT id FROM daemon_tokens WHERE daemon_id = 'bobs-box'")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{}/daemon-tokens/{}", t.ws, ids[0]),
            Some(&t.admin.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let (alices, alices_rt) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "bobs-box").await;
    let r = app.get("/api/daemon/whoami", Some(&alices)).await;
    assert_eq!(r.body["user_id"], t.alice.0.to_string());
    let owners: Vec<(String, Uuid)> = app
        .sql("SELECT name, owner_id FROM runtimes WHERE daemon_id = 'bobs-box' ORDER BY created_at")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        owners,
        [("rt".to_owned(), t.bob.0), ("rt".to_owned(), t.alice.0)],
        "Alice's own runtime of the same name beside Bob's old one"
    );
    let r = app
        .get(
            &format!("/api/workspaces/{}/runtimes", t.ws),
            Some(&t.bob.1),
        )
        .await;
    let alices_listed = r.body["runtimes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rt| rt["id"] == json!(alices_rt))
        .cloned()
        .unwrap();
    assert_eq!(alices_listed["owner_id"], t.alice.0.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_members_racing_for_one_daemon_id_one_wins() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let (owner, pat) = app.user_with_token("o@example.com").await;
    let ws = app.workspace(owner).await;
    let mut mits = Vec::new();
    for i in 0..16 {
        let (user, _) = app.user_with_token(&format!("m{i}@example.com")).await;
        app.add_member(ws, user, "member").await;
        let r = mint(
            &app,
            ws,
            &pat,
            Some(&json!({ "user_id": user }).to_string()),
        )
        .await;
        mits.push(r.body["token"].as_str().unwrap().to_owned());
    }
    let handles: Vec<_> = mits
        .into_iter()
        .map(|mit| {
            let app = app.clone();
            tokio::spawn(async move { exchange(&app, &mit, "contested").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for h in handles {
        let r = h.await.unwrap();
        if r.status == StatusCode::CONFLICT {
            assert_eq!(r.error(), "daemon id already enrolled");
        }
        statuses.push(r.status);
    }
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let lost = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((won, lost), (1, 15), "{statuses:?}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM daemon_tokens WHERE daemon_id = 'contested'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM install_tokens WHERE used_at IS NULL"
        )
        .await,
        15,
        "the losers' install tokens are left unused"
    );
}

#[tokio::test]
async fn a_daemon_id_belongs_to_its_member() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (_, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "alices-box").await;
    let as_person = |name: &str, daemon: &str| {
        json!({"name": name, "workspace_id": t.ws, "daemon_id": daemon}).to_string()
    };
    // Bob (or the owner) running a daemon by hand under Alice's daemon id.
    for pat in [&t.bob.1, &t.owner.1] {
        let r = app
            .call(
                Method::POST,
                "/api/daemon/runtimes",
                Some(pat),
                Some(&as_person("rt", "alices-box")),
            )
            .await;
        refused(
            &r,
            StatusCode::FORBIDDEN,
            "daemon id belongs to another member",
        );
        let body =
            json!({"runtime_ids": [runtime], "workspace_id": t.ws, "daemon_id": "alices-box"});
        let r = app
            .call(
                Method::POST,
                "/api/daemon/heartbeat",
                Some(pat),
                Some(&body.to_string()),
            )
            .await;
        refused(
            &r,
            StatusCode::FORBIDDEN,
            "daemon id belongs to another member",
        );
    }
    let owner: Uuid = app
        .sql(&format!(
            "SELECT owner_id FROM runtimes WHERE id = '{runtime}'"
        ))
        .await[0]
        .get(0);
    assert_eq!(owner, t.alice.0, "its owner never changes");
    // Alice may, by hand too; Bob under a daemon id of his own.
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&t.alice.1),
            Some(&as_person("rt", "alices-box")),
        )
        .await;
    assert_eq!(
        (r.status, r.body["id"].as_str()),
        (StatusCode::OK, Some(runtime.as_str()))
    );
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&t.bob.1),
            Some(&as_person("rt", "bobs-box")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["owner_id"], t.bob.0.to_string());
    // Runtimes registered by hand do not hold a daemon id against an enrollment (a
    // member could otherwise squat on colleagues' host names); once one is enrolled
    // under it, the id is that member's, and Bob's hand-run daemon is refused there.
    let (_, alices_rt) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "bobs-box").await;
    assert_ne!(alices_rt, r.body["id"].as_str().unwrap());
    let r = app
        .call(
            Method::POST,
            "/api/daemon/runtimes",
            Some(&t.bob.1),
            Some(&as_person("rt", "bobs-box")),
        )
        .await;
    refused(
        &r,
        StatusCode::FORBIDDEN,
        "daemon id belongs to another member",
    );
}
