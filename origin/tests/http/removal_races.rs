//! A removal racing everything that creates a credential or work for the member — the
//! exchange of their install token, their daemon's claim, heartbeat and runtime
//! registration, their new task — many rounds over: once the removal's 204 is out, no
//! credential acting for them in that workspace works, whichever side won each race.
//! The same operations held up by a removal or revocation in progress: `removal_waits`.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;
use tollgate_shared::Actor;
use tollgate_tests::fixtures::{agent, claim, daemon_for, exchange, mint, queue, register};

use crate::harness::{count, edge_app, now, stamped, team, TestResponse, SECRET};

const ROUNDS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_acting_for_a_removed_member_survives_whatever_raced_the_removal() {
    let app = Arc::new(edge_app().await);
    let mut won = [0usize; 4];
    for round in 0..ROUNDS {
        let t = team(&app).await;
        let (member, member_pat) = t.alice.clone();
        let (mdt, runtime) =
            daemon_for(&app, t.ws, &t.admin.1, member, &format!("box-{round}")).await;
        let a = agent(&app, t.ws, &member_pat, &runtime).await;
        let agent_id = a.body["id"].as_str().unwrap().to_owned();
        for _ in 0..2 {
            queue(&app, t.ws, &member_pat, &agent_id).await;
        }
        let r = mint(
            &app,
            t.ws,
            &t.admin.1,
            Some(&json!({ "user_id": member }).to_string()),
        )
        .await;
        let mit = r.body["token"].as_str().unwrap().to_owned();

        let ws = t.ws;
        let spawn = |f: std::pin::Pin<
            Box<dyn std::future::Future<Output = TestResponse> + Send>,
        >| tokio::spawn(f);
        let removal = {
            let (app, owner_pat) = (app.clone(), t.owner.1.clone());
            spawn(Box::pin(async move {
                app.call(
                    Method::DELETE,
                    &format!("/api/workspaces/{ws}/members/{member}"),
                    Some(&owner_pat),
                    None,
                )
                .await
            }))
        };
        let exchanged = {
            let app = app.clone();
            let mit = mit.clone();
            spawn(Box::pin(async move {
                exchange(&app, &mit, &format!("new-{round}")).await
            }))
        };
        let claimed = {
            let (app, mdt, runtime) = (app.clone(), mdt.clone(), runtime.clone());
            spawn(Box::pin(async move { claim(&app, &mdt, &runtime).await }))
        };
        let queued = {
            let (app, pat, agent_id) = (app.clone(), member_pat.clone(), agent_id.clone());
            spawn(Box::pin(
                async move { queue(&app, ws, &pat, &agent_id).await },
            ))
        };
        let registered = {
            let (app, mdt) = (app.clone(), mdt.clone());
            spawn(Box::pin(async move { register(&app, &mdt, "late").await }))
        };
        let removal = removal.await.unwrap();
        assert_eq!(removal.status, StatusCode::NO_CONTENT, "{}", removal.text);
        let exchanged = exchanged.await.unwrap();
        let claimed = claimed.await.unwrap();
        let queued = queued.await.unwrap();
        let registered = registered.await.unwrap();
        // Each either won (and was stopped by the removal) or saw the member gone.
        for (i, (r, ok)) in [
            (&exchanged, StatusCode::OK),
            (&claimed, StatusCode::OK),
            (&queued, StatusCode::CREATED),
            (&registered, StatusCode::OK),
        ]
        .into_iter()
        .enumerate()
        {
            if r.status == ok {
                won[i] += 1;
            } else {
                assert!(
                    matches!(r.status.as_u16(), 401 | 403 | 404),
                    "round {round}, op {i}: {} {}",
                    r.status,
                    r.text
                );
            }
        }

        // No credential acting for the member works.
        let mut daemons = vec![mdt.clone()];
        daemons.extend(exchanged.body["token"].as_str().map(str::to_owned));
        for d in &daemons {
            let r = app.get("/api/daemon/whoami", Some(d)).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "round {round}: {}",
                r.text
            );
        }
        if let Some(mat) = claimed.body["task_token"].as_str() {
            let r = app.get("/api/me", Some(mat)).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "round {round}: {}",
                r.text
            );
        }
        let r = app
            .get(&format!("/api/workspaces/{ws}/events"), Some(&member_pat))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        // Not even through an edge that still has the daemon cached.
        let stale = Actor::Daemon {
            user_id: member,
            workspace_id: ws,
            daemon_id: format!("box-{round}"),
        };
        let req = stamped(
            Method::POST,
            "/api/daemon/tasks/claim",
            Some(&stale),
            SECRET,
            now(),
        )
        .body(axum::body::Body::from(
            json!({ "runtime_id": runtime }).to_string(),
        ))
        .unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::UNAUTHORIZED);
        // And nothing is left in a state that could act later.
        let left = [
            format!("SELECT count(*) FROM daemon_tokens WHERE workspace_id = '{ws}' AND owner_id = '{member}' AND revoked_at IS NULL"),
            format!("SELECT count(*) FROM task_tokens WHERE workspace_id = '{ws}' AND user_id = '{member}'"),
            format!("SELECT count(*) FROM task_tokens k JOIN tasks t ON t.id = k.task_id JOIN runtimes r ON r.id = t.runtime_id WHERE r.owner_id = '{member}'"),
            format!("SELECT count(*) FROM tasks WHERE workspace_id = '{ws}' AND queued_by = '{member}' AND status IN ('queued', 'dispatched', 'running', 'waiting_local_directory', 'deferred')"),
            format!("SELECT count(*) FROM runtimes WHERE workspace_id = '{ws}' AND owner_id = '{member}' AND status = 'online'"),
            format!("SELECT count(*) FROM agents WHERE workspace_id = '{ws}' AND created_by = '{member}' AND archived_at IS NULL"),
        ];
        for sql in &left {
            assert_eq!(count(&app, sql).await, 0, "round {round}: {sql}");
        }
    }
    // The races were real: each side of each one was seen (printed, not asserted —
    // who wins is the scheduler's business).
    println!("won before the removal, of {ROUNDS}: exchange, claim, queue, register = {won:?}");
}
