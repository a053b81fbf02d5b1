//! Runtimes are private to their owner unless shared, and a task token acts for the
//! member who queued the task (never the runtime's owner), in its own workspace only.

use axum::http::{Method, StatusCode};
use serde_json::json;
use tollgate_tests::fixtures::{agent, claim, daemon_for, queue, refused, share};
use uuid::Uuid;

use crate::harness::{count, team, TestApp};

#[tokio::test]
async fn runtimes_are_private_to_their_owner_unless_shared() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (mdt, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "box").await;

    let r = app
        .get(
            &format!("/api/workspaces/{}/runtimes", t.ws),
            Some(&t.bob.1),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let listed = &r.body["runtimes"][0];
    let mut keys: Vec<&String> = listed.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "daemon_id",
            "id",
            "last_heartbeat_at",
            "name",
            "owner_id",
            "status",
            "visibility"
        ]
    );
    assert_eq!(
        (
            &listed["id"],
            &listed["owner_id"],
            &listed["visibility"],
            &listed["status"]
        ),
        (
            &json!(runtime),
            &json!(t.alice.0),
            &json!("private"),
            &json!("online")
        )
    );
    assert!(listed["last_heartbeat_at"].is_string());
    let (_, stranger) = app.user_with_token("stranger@example.com").await;
    refused(
        &app.get(
            &format!("/api/workspaces/{}/runtimes", t.ws),
            Some(&stranger),
        )
        .await,
        StatusCode::NOT_FOUND,
        "workspace not found",
    );

    // Nobody else puts agents on a private runtime: not a member, not the owner.
    for pat in [&t.bob.1, &t.owner.1, &t.admin.1] {
        refused(
            &agent(&app, t.ws, pat, &runtime).await,
            StatusCode::FORBIDDEN,
            "runtime belongs to another member",
        );
    }
    refused(
        &agent(&app, t.ws, &t.bob.1, &Uuid::new_v4().to_string()).await,
        StatusCode::NOT_FOUND,
        "runtime not found",
    );
    // Only its owner changes the visibility.
    for pat in [&t.bob.1, &t.owner.1] {
        refused(
            &share(&app, t.ws, pat, &runtime, "workspace").await,
            StatusCode::FORBIDDEN,
            "runtime belongs to another member",
        );
    }
    for bad in ["public", "Workspace", ""] {
        refused(
            &share(&app, t.ws, &t.alice.1, &runtime, bad).await,
            StatusCode::BAD_REQUEST,
            "invalid visibility",
        );
    }
    refused(
        &share(
            &app,
            t.ws,
            &t.alice.1,
            &Uuid::new_v4().to_string(),
            "workspace",
        )
        .await,
        StatusCode::NOT_FOUND,
        "runtime not found",
    );
    let r = share(&app, t.ws, &t.alice.1, &runtime, "workspace").await;
    assert_eq!(
        (r.status, &r.body["visibility"]),
        (StatusCode::OK, &json!("workspace"))
    );

    // Shared: Bob's agent, Bob's task.
    let r = agent(&app, t.ws, &t.bob.1, &runtime).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["created_by"], t.bob.0.to_string());
    let bobs_agent = r.body["id"].as_str().unwrap().to_owned();
    let r = queue(&app, t.ws, &t.bob.1, &bobs_agent).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["queued_by"], t.bob.0.to_string());
    // Private again: nothing new lands on it but its owner's.
    assert_eq!(
        share(&app, t.ws, &t.alice.1, &runtime, "private")
            .await
            .status,
        StatusCode::OK
    );
    refused(
        &queue(&app, t.ws, &t.bob.1, &bobs_agent).await,
        StatusCode::FORBIDDEN,
        "runtime belongs to another member",
    );
    refused(
        &agent(&app, t.ws, &t.bob.1, &runtime).await,
        StatusCode::FORBIDDEN,
        "runtime belongs to another member",
    );
    let r = agent(&app, t.ws, &t.alice.1, &runtime).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        queue(&app, t.ws, &t.alice.1, r.body["id"].as_str().unwrap())
            .await
            .status,
        StatusCode::CREATED
    );
    // The task Bob queued while it was shared still runs, for Bob.
    let c = claim(&app, &mdt, &runtime).await;
    assert_eq!(c.body["task"]["queued_by"], t.bob.0.to_string());
}

#[tokio::test]
async fn a_task_token_acts_for_the_member_who_queued_the_task() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (mdt, runtime) = daemon_for(&app, t.ws, &t.admin.1, t.alice.0, "box").await;
    share(&app, t.ws, &t.alice.1, &runtime, "workspace").await;
    let a = agent(&app, t.ws, &t.bob.1, &runtime).await;
    let task = queue(&app, t.ws, &t.bob.1, a.body["id"].as_str().unwrap()).await;
    let task_id = task.body["id"].as_str().unwrap().to_owned();
    let c = claim(&app, &mdt, &runtime).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let mat = c.body["task_token"].as_str().unwrap().to_owned();

    let r = app.get("/api/me", Some(&mat)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["user_id"], &r.body["actor_source"]),
        (&json!(t.bob.0), &json!("task_token")),
        "for Bob, who queued it — not Alice, whose machine runs it"
    );

    // Nothing of the person's own: tokens, workspaces.
    let (alice_pat_id, _) = app.mint(t.alice.0, None).await;
    let (bob_pat_id, _) = app.mint(t.bob.0, None).await;
    for (method, path, body) in [
        (Method::GET, "/api/tokens".to_owned(), None),
        (
            Method::POST,
            "/api/tokens".to_owned(),
            Some(r#"{"name":"x"}"#),
        ),
        (Method::DELETE, format!("/api/tokens/{bob_pat_id}"), None),
        (Method::DELETE, format!("/api/tokens/{alice_pat_id}"), None),
        (Method::POST, "/api/tokens/current/renew".to_owned(), None),
        (Method::GET, "/api/workspaces".to_owned(), None),
        (
            Method::POST,
            "/api/workspaces".to_owned(),
            Some(r#"{"name":"x"}"#),
        ),
    ] {
        let r = app.call(method.clone(), &path, Some(&mat), body).await;
        refused(
            &r,
            StatusCode::FORBIDDEN,
            "this endpoint is only available to human actors",
        );
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM personal_access_tokens WHERE revoked"
        )
        .await,
        0
    );

    // Its own workspace, however the id is spelled; no other, however spelled.
    let own = |ws: &str| format!("/api/workspaces/{ws}/tasks/{task_id}");
    let upper = t.ws.to_string().to_uppercase();
    let encoded: String =
        t.ws.to_string()
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
    for ws in [t.ws.to_string(), upper, encoded] {
        let r = app.get(&own(&ws), Some(&mat)).await;
        assert_eq!(r.status, StatusCode::OK, "{ws}: {}", r.text);
    }
    let other = team(&app).await.ws.to_string();
    let other_encoded: String = other.bytes().map(|b| format!("%{b:02x}")).collect();
    for ws in [other.clone(), other.to_uppercase(), other_encoded] {
        for path in [
            own(&ws),
            format!("/api/workspaces/{ws}/events"),
            format!("/api/workspaces/{ws}/runtimes"),
        ] {
            let r = app.get(&path, Some(&mat)).await;
            refused(
                &r,
                StatusCode::FORBIDDEN,
                "task token is bound to a different workspace",
            );
        }
    }
    let r = app
        .get(&format!("/api/workspaces/{}/runtimes", t.ws), Some(&mat))
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "its own workspace's routes: {}",
        r.text
    );

    // Bob leaves: what acts for him stops; Alice's machine goes on.
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{}/leave", t.ws),
            Some(&t.bob.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    refused(
        &app.get("/api/me", Some(&mat)).await,
        StatusCode::UNAUTHORIZED,
        "invalid token",
    );
    assert_eq!(
        app.get("/api/daemon/whoami", Some(&mdt)).await.status,
        StatusCode::OK
    );
}
