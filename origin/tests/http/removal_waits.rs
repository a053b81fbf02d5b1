//! Every operation that acts for a member, run while a removal of the member (or a
//! revocation of their daemon's token) is in progress: it waits for the commit, then
//! refuses — none slips in between.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;
use tollgate_tests::fixtures::{agent, claim, daemon_for, exchange, mint, queue, register, share};

use crate::harness::{count, edge_app, team, TestApp, TestResponse};

type Op = std::pin::Pin<Box<dyn std::future::Future<Output = TestResponse> + Send>>;
/// An operation on a fresh [`Setup`].
type MakeOp = fn(Arc<TestApp>, Setup) -> Op;

/// What is in progress, not yet committed, while an operation runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum InProgress {
    /// A removal of the member: its lock taken, the membership deleted and the member's
    /// daemon tokens revoked.
    Removal,
    /// A revocation of the member's daemon tokens.
    Revocation,
}

/// Runs `op` while `what` is in progress for `member`, waits until `op` is waiting for
/// it, commits, and returns what `op` answered: every operation that acts for the
/// member holds what those change, so none slips in between.
async fn during(
    app: &Arc<TestApp>,
    what: InProgress,
    ws: uuid::Uuid,
    member: uuid::Uuid,
    op: Op,
) -> TestResponse {
    let mut db = app.pool.get().await.unwrap();
    let tx = db.transaction().await.unwrap();
    if what == InProgress::Removal {
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))",
            &[&ws.to_string(), &member.to_string()],
        )
        .await
        .unwrap();
        tx.execute(
            "DELETE FROM members WHERE workspace_id = $1 AND user_id = $2",
            &[&ws, &member],
        )
        .await
        .unwrap();
    }
    tx.execute(
        "UPDATE daemon_tokens SET revoked_at = now() WHERE workspace_id = $1 AND owner_id = $2",
        &[&ws, &member],
    )
    .await
    .unwrap();
    let handle = tokio::spawn(op);
    // A session of this test's database waiting for a lock (other tests run beside it,
    // each in its own database).
    let waiting = "SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while count(app, waiting).await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the operation never waited for the {what:?}"
        );
        assert!(
            !handle.is_finished(),
            "the operation did not wait for the {what:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tx.commit().await.unwrap();
    handle.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_operation_for_a_member_waits_for_their_removal_and_then_refuses() {
    let app = Arc::new(edge_app().await);
    type Op = fn(
        Arc<TestApp>,
        Setup,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = TestResponse> + Send>>;
    let ops: [(&str, Op, StatusCode, &str); 7] = [
        (
            "exchange",
            |app, s| Box::pin(async move { exchange(&app, &s.mit, "fresh").await }),
            StatusCode::FORBIDDEN,
            "member no longer in workspace",
        ),
        (
            "claim",
            |app, s| Box::pin(async move { claim(&app, &s.mdt, &s.runtime).await }),
            StatusCode::UNAUTHORIZED,
            "invalid token",
        ),
        (
            "queue",
            |app, s| Box::pin(async move { queue(&app, s.ws, &s.pat, &s.agent).await }),
            StatusCode::NOT_FOUND,
            "workspace not found",
        ),
        (
            "agent",
            |app, s| Box::pin(async move { agent(&app, s.ws, &s.pat, &s.runtime).await }),
            StatusCode::NOT_FOUND,
            "workspace not found",
        ),
        (
            "bound PAT",
            |app, s| {
                Box::pin(async move {
                    let scope = json!({ "workspace_id": s.ws });
                    tollgate_tests::scopes::create(&app, &s.pat, scope).await
                })
            },
            StatusCode::NOT_FOUND,
            "workspace not found",
        ),
        (
            "register",
            |app, s| Box::pin(async move { register(&app, &s.mdt, "late").await }),
            StatusCode::UNAUTHORIZED,
            "invalid token",
        ),
        (
            "heartbeat",
            |app, s| {
                Box::pin(async move {
                    let body = json!({ "runtime_ids": [s.runtime] }).to_string();
                    app.call(
                        Method::POST,
                        "/api/daemon/heartbeat",
                        Some(&s.mdt),
                        Some(&body),
                    )
                    .await
                })
            },
            StatusCode::UNAUTHORIZED,
            "invalid token",
        ),
    ];
    for (name, op, status, message) in ops {
        let s = setup(&app).await;
        let (ws, member) = (s.ws, s.member);
        let r = during(&app, InProgress::Removal, ws, member, op(app.clone(), s)).await;
        assert_eq!(
            (r.status, r.error()),
            (status, message),
            "{name}: {}",
            r.text
        );
    }
}

struct Setup {
    ws: uuid::Uuid,
    member: uuid::Uuid,
    pat: String,
    mdt: String,
    runtime: String,
    agent: String,
    mit: String,
}

async fn setup(app: &Arc<TestApp>) -> Setup {
    let t = team(app).await;
    let (member, pat) = t.alice.clone();
    let (mdt, runtime) = daemon_for(app, t.ws, &t.admin.1, member, "box").await;
    let a = agent(app, t.ws, &pat, &runtime).await;
    let agent = a.body["id"].as_str().unwrap().to_owned();
    queue(app, t.ws, &pat, &agent).await;
    let r = mint(
        app,
        t.ws,
        &t.admin.1,
        Some(&json!({ "user_id": member }).to_string()),
    )
    .await;
    Setup {
        ws: t.ws,
        member,
        pat,
        mdt,
        runtime,
        agent,
        mit: r.body["token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_a_daemon_does_waits_for_a_revocation_of_its_token_and_then_refuses() {
    let app = Arc::new(edge_app().await);
    let ops: [(&str, MakeOp); 4] = [
        ("claim", |app, s| {
            Box::pin(async move { claim(&app, &s.mdt, &s.runtime).await })
        }),
        ("register", |app, s| {
            Box::pin(async move { register(&app, &s.mdt, "late").await })
        }),
        ("heartbeat", |app, s| {
            Box::pin(async move {
                let body = json!({ "runtime_ids": [s.runtime] }).to_string();
                app.call(
                    Method::POST,
                    "/api/daemon/heartbeat",
                    Some(&s.mdt),
                    Some(&body),
                )
                .await
            })
        }),
        ("empty heartbeat", |app, s| {
            Box::pin(async move {
                app.call(
                    Method::POST,
                    "/api/daemon/heartbeat",
                    Some(&s.mdt),
                    Some(r#"{"runtime_ids":[]}"#),
                )
                .await
            })
        }),
    ];
    for (name, op) in ops {
        let s = setup(&app).await;
        let (ws, member) = (s.ws, s.member);
        let r = during(&app, InProgress::Revocation, ws, member, op(app.clone(), s)).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "invalid token"),
            "{name}: {}",
            r.text
        );
        assert_eq!(
            count(
                &app,
                &format!(
                    "SELECT count(*) FROM tasks WHERE workspace_id = '{ws}' AND status = 'queued'"
                )
            )
            .await,
            1,
            "{name}: nothing claimed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_task_for_an_agent_waits_for_the_removal_of_its_creator() {
    let app = Arc::new(edge_app().await);
    let t = team(&app).await;
    // Alice's runtime, shared; Bob's agent on it; the owner queues for Bob's agent.
    let (_, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "box").await;
    share(&app, t.ws, &t.alice.1, &runtime, "workspace").await;
    let a = agent(&app, t.ws, &t.bob.1, &runtime).await;
    let agent_id = a.body["id"].as_str().unwrap().to_owned();
    let (owner_pat, ws) = (t.owner.1.clone(), t.ws);
    let op: Op = {
        let app = app.clone();
        Box::pin(async move { queue(&app, ws, &owner_pat, &agent_id).await })
    };
    let r = during(&app, InProgress::Removal, t.ws, t.bob.0, op).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "agent not found"),
        "{}",
        r.text
    );
}
