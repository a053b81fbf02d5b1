//! The real router on a database migrated from V4: the old tokens act for whom they
//! acted for, and an old install token enrolls a daemon for its issuer.

use axum::http::StatusCode;
use serde_json::json;
use tollgate_origin::db::migrate;
use tollgate_tests::fixtures::exchange;
use uuid::Uuid;

use super::old::old_database;
use crate::harness::{Options, TestApp};

#[tokio::test]
async fn migrated_tokens_act_for_whom_they_acted_for() {
    let old = old_database().await;
    migrate::run(&old.url).await.unwrap();
    let app = TestApp::with(Options {
        database_url: Some(old.url.clone()),
        ..Options::default()
    })
    .await;

    for (token, ws, user) in [
        (&old.laptop, old.ws, old.admin),
        (&old.other_laptop, old.other_ws, old.owner),
        (&old.same[1], old.ws, old.admin),
        (&old.handed[1], old.ws, old.admin),
    ] {
        let r = app.get("/api/daemon/whoami", Some(token.expose())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["actor_source"], "daemon");
        assert_eq!(
            (&r.body["workspace_id"], &r.body["user_id"]),
            (&json!(ws), &json!(user)),
            "{}",
            token.display_prefix()
        );
    }
    assert_eq!(
        app.get("/api/daemon/whoami", Some(old.laptop.expose()))
            .await
            .body["daemon_id"],
        "laptop"
    );
    for token in old.shared.iter().chain([&old.same[0], &old.handed[0]]) {
        let r = app.get("/api/daemon/whoami", Some(token.expose())).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "invalid token"),
            "{}",
            token.display_prefix()
        );
    }

    // A running task's token acts for its runtime's owner, as it did.
    for ((mat, task, agent), user) in [(&old.mat_admin, old.admin), (&old.mat_member, old.member)] {
        let email = if user == old.admin {
            "admin@example.com"
        } else {
            "member@example.com"
        };
        let r = app.get("/api/me", Some(mat.expose())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            r.body,
            json!({
                "user_id": user,
                "email": email,
                "name": "Old",
                "actor_source": "task_token",
                "workspace_id": old.ws,
                "agent_id": agent,
                "task_id": task,
            })
        );
    }

    // The admin's unused install token enrolls a daemon that acts for the admin.
    let r = exchange(&app, old.mit.expose(), "fresh").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["user_id"], &r.body["workspace_id"]),
        (&json!(old.admin), &json!(old.ws))
    );
    let mdt = r.body["token"].as_str().unwrap();
    let r = app.get("/api/daemon/whoami", Some(mdt)).await;
    assert_eq!(r.body["user_id"], json!(old.admin), "{}", r.text);
    let row = &app
        .sql("SELECT owner_id, issued_by FROM daemon_tokens WHERE daemon_id = 'fresh'")
        .await[0];
    assert_eq!(
        (row.get::<_, Uuid>(0), row.get::<_, Option<Uuid>>(1)),
        (old.admin, Some(old.admin))
    );
}
