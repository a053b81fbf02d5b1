//! What removing a member stops: the member's daemons, runtimes, agents, live tasks and
//! task tokens in that workspace, in one transaction — all of it or, on a failure,
//! nothing — and once however many removals race.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;
use tollgate_tests::fixtures::{add_member, daemon, event_kinds, task};

use crate::harness::{count, member, owner, TestApp};

/// A member with 2 runtimes, 3 agents and a task in every status, beside another member
/// and another workspace that must be left alone.
#[tokio::test]
async fn removal_stops_exactly_what_the_member_left_running() {
    let app = TestApp::new().await;
    let (_, pat, ws) = owner(&app).await;
    let (leaver, leaver_pat) = member(&app, ws, &pat, "admin").await;
    let (_, stayer_pat) = member(&app, ws, &pat, "admin").await;
    let (mdt1, rt1) = daemon(&app, ws, &leaver_pat, "leaver-1").await;
    let (_mdt2, rt2) = daemon(&app, ws, &leaver_pat, "leaver-2").await;
    let (mdt3, rt3) = daemon(&app, ws, &stayer_pat, "stayer").await;
    // Each runtime's owner puts agents on it (a member's machine is theirs).
    let mut agents = Vec::new();
    for (rt, by) in [
        (&rt1, &leaver_pat),
        (&rt1, &leaver_pat),
        (&rt2, &leaver_pat),
        (&rt3, &stayer_pat),
    ] {
        let body = json!({"name": "a", "runtime_id": rt}).to_string();
        let r = app
            .call(
                Method::POST,
                &format!("/api/workspaces/{ws}/agents"),
                Some(by),
                Some(&body),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        agents.push((r.body["id"].as_str().unwrap().to_owned(), by.clone()));
    }
    let statuses = [
        "queued",
        "dispatched",
        "running",
        "waiting_local_directory",
        "deferred",
        "completed",
        "failed",
        "cancelled",
    ];
    for (agent, by) in &agents {
        for status in statuses {
            let r = task(&app, ws, by, agent, status).await;
            let id = r.body["id"].as_str().unwrap();
            app.sql(&format!(
                "UPDATE tasks SET status = '{status}' WHERE id = '{id}'"
            ))
            .await;
        }
    }
    // A running task of the leaver's with a live task token, and of the stayer's.
    let live_token = |rt: &str| {
        format!(
            "INSERT INTO task_tokens (token_hash, task_id, agent_id, workspace_id, user_id, expires_at)
             SELECT encode(sha256(gen_random_uuid()::text::bytea), 'hex'), t.id, t.agent_id, t.workspace_id, t.queued_by, now() + interval '1 hour'
             FROM tasks t JOIN runtimes r ON r.id = t.runtime_id
             WHERE t.runtime_id = '{rt}' AND t.status = 'running'"
        )
    };
    app.sql(&live_token(&rt1)).await;
    app.sql(&live_token(&rt3)).await;
    // Another workspace of the leaver's, untouched.
    let (_, other_pat, other_ws) = owner(&app).await;
    let email: String = app
        .sql(&format!("SELECT email FROM users WHERE id = '{leaver}'"))
        .await[0]
        .get(0);
    add_member(&app, other_ws, &other_pat, &email, "admin").await;
    let (other_mdt, _) = daemon(&app, other_ws, &leaver_pat, "elsewhere").await;

    // The preview counts what the removal below stops, and stops none of it.
    let preview = format!("/api/workspaces/{ws}/members/{leaver}/removal-preview");
    let events_before = event_kinds(&app, ws, &pat).await.len();
    let queued = "SELECT count(*) FROM cache_invalidations";
    let queued_before = count(&app, queued).await;
    for _ in 0..2 {
        let r = app.get(&preview, Some(&pat)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            r.body,
            json!({"daemons": 2, "daemon_tokens": 2, "bound_tokens": 0, "runtimes": 2, "agents": 3, "tasks": 15})
        );
    }
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&mdt1)).await.status,
        StatusCode::OK,
        "the preview revoked nothing"
    );
    assert_eq!(event_kinds(&app, ws, &pat).await.len(), events_before);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM agents WHERE archived_at IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(count(&app, queued).await, queued_before, "no purge queued");

    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{ws}/members/{leaver}"),
            Some(&pat),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    // The leaver's: 3 agents archived, 15 live tasks cancelled, 2 runtimes offline,
    // 2 daemon tokens revoked, their running task's token gone.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM agents WHERE archived_at IS NOT NULL AND archived_by IS NOT NULL"
        )
        .await,
        3
    );
    assert_eq!(count(&app, &format!("SELECT count(*) FROM tasks WHERE runtime_id IN ('{rt1}', '{rt2}') AND status = 'cancelled'")).await, 3 * 6);
    assert_eq!(count(&app, &format!("SELECT count(*) FROM tasks WHERE runtime_id IN ('{rt1}', '{rt2}') AND status IN ('completed', 'failed')")).await, 3 * 2);
    assert_eq!(
        count(
            &app,
            &format!(
            "SELECT count(*) FROM runtimes WHERE id IN ('{rt1}', '{rt2}') AND status = 'offline'"
        )
        )
        .await,
        2
    );
    assert_eq!(count(&app, &format!("SELECT count(*) FROM daemon_tokens WHERE workspace_id = '{ws}' AND revoked_at IS NOT NULL")).await, 2);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM task_tokens WHERE workspace_id = '{ws}'")
        )
        .await,
        1,
        "only the stayer's"
    );
    // The stayer's and the other workspace's: untouched.
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM tasks WHERE runtime_id = '{rt3}' AND status = prompt")
        )
        .await,
        8
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM runtimes WHERE id = '{rt3}' AND status = 'online'")
        )
        .await,
        1
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&mdt3)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&other_mdt)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&mdt1)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let kinds = event_kinds(&app, ws, &pat).await;
    let n = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!(
        (
            n("member:removed"),
            n("agent:archived"),
            n("task:cancelled"),
            n("daemon:revoked")
        ),
        (1, 3, 15, 2)
    );
}

#[tokio::test]
async fn a_removal_preview_is_refused_as_the_removal_would_be() {
    let app = TestApp::new().await;
    let (owner_id, pat, ws) = owner(&app).await;
    let (plain, plain_pat) = member(&app, ws, &pat, "member").await;
    let (admin, admin_pat) = member(&app, ws, &pat, "admin").await;
    let preview = |user: &str| format!("/api/workspaces/{ws}/members/{user}/removal-preview");
    let refused = [
        // A member may not remove anyone, nor see what it would stop.
        (
            &plain_pat,
            admin.to_string(),
            StatusCode::FORBIDDEN,
            "insufficient permissions",
        ),
        // An admin may not remove an owner.
        (
            &admin_pat,
            owner_id.to_string(),
            StatusCode::FORBIDDEN,
            "insufficient permissions",
        ),
        (
            &pat,
            owner_id.to_string(),
            StatusCode::BAD_REQUEST,
            "workspace must have at least one owner",
        ),
        (
            &pat,
            uuid::Uuid::new_v4().to_string(),
            StatusCode::NOT_FOUND,
            "member not found",
        ),
        (
            &pat,
            "not-a-uuid".to_owned(),
            StatusCode::NOT_FOUND,
            "member not found",
        ),
    ];
    for (by, user, status, error) in refused {
        let r = app.get(&preview(&user), Some(by)).await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (status, Some(error)),
            "{user}"
        );
    }
    let r = app
        .get(&preview(&plain.to_string()), Some(&admin_pat))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"daemons": 0, "daemon_tokens": 0, "bound_tokens": 0, "runtimes": 0, "agents": 0, "tasks": 0})
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM members WHERE workspace_id = '{ws}'")
        )
        .await,
        3,
        "nobody removed"
    );
}

#[tokio::test]
async fn a_failure_mid_removal_leaves_everything_as_it_was() {
    let app = TestApp::new().await;
    let (_, pat, ws) = owner(&app).await;
    let (leaver, leaver_pat) = member(&app, ws, &pat, "admin").await;
    let (mdt, _) = daemon(&app, ws, &leaver_pat, "box").await;
    // The last statement of the removal fails.
    app.sql(
        "CREATE FUNCTION fail_events() RETURNS trigger AS $$
         BEGIN RAISE EXCEPTION 'injected'; END $$ LANGUAGE plpgsql",
    )
    .await;
    app.sql(
        "CREATE TRIGGER fail_events BEFORE INSERT ON events
         FOR EACH ROW EXECUTE FUNCTION fail_events()",
    )
    .await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{ws}/members/{leaver}"),
            Some(&pat),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM members WHERE user_id = '{leaver}'")
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM daemon_tokens WHERE revoked_at IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM runtimes WHERE status = 'offline'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM cache_invalidations").await,
        0
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&mdt)).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_removals_of_one_member_remove_once() {
    let app = Arc::new(TestApp::new().await);
    let (_, pat, ws) = owner(&app).await;
    let (leaver, leaver_pat) = member(&app, ws, &pat, "admin").await;
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (app, pat, leaver_pat) = (app.clone(), pat.clone(), leaver_pat.clone());
            tokio::spawn(async move {
                if i % 2 == 0 {
                    app.call(
                        Method::DELETE,
                        &format!("/api/workspaces/{ws}/members/{leaver}"),
                        Some(&pat),
                        None,
                    )
                    .await
                } else {
                    app.call(
                        Method::POST,
                        &format!("/api/workspaces/{ws}/leave"),
                        Some(&leaver_pat),
                        None,
                    )
                    .await
                }
            })
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        let r = h.await.unwrap();
        match r.status {
            StatusCode::NO_CONTENT => ok += 1,
            StatusCode::NOT_FOUND => {}
            other => panic!("{other}: {}", r.text),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM events WHERE kind = 'member:removed'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_members_removed_at_once_are_both_fully_revoked() {
    let app = Arc::new(TestApp::new().await);
    let (_, pat, ws) = owner(&app).await;
    let mut leavers = Vec::new();
    for name in ["one", "two"] {
        let (user, user_pat) = member(&app, ws, &pat, "admin").await;
        let (mdt, _) = daemon(&app, ws, &user_pat, name).await;
        leavers.push((user, mdt));
    }
    let handles: Vec<_> = leavers
        .iter()
        .map(|(user, _)| {
            let (app, pat, user) = (app.clone(), pat.clone(), *user);
            tokio::spawn(async move {
                app.call(
                    Method::DELETE,
                    &format!("/api/workspaces/{ws}/members/{user}"),
                    Some(&pat),
                    None,
                )
                .await
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap().status, StatusCode::NO_CONTENT);
    }
    for (_, mdt) in &leavers {
        assert_eq!(
            app.get("/api/daemon/whoami", Some(mdt)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM runtimes WHERE status = 'offline'"
        )
        .await,
        2
    );
}
