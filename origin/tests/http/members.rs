//! Membership: add, change role, remove, leave, and their refusals. What a removal stops
//! is in `removal`.

use axum::http::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::harness::{member, owner, TestApp};

#[tokio::test]
async fn the_membership_life_cycle_and_its_refusals() {
    let app = TestApp::new().await;
    let (owner, pat, ws) = owner(&app).await;
    let (admin, admin_pat) = member(&app, ws, &pat, "admin").await;
    let (plain, plain_pat) = member(&app, ws, &pat, "member").await;
    let path = |user: Uuid| format!("/api/workspaces/{ws}/members/{user}");

    let r = app
        .get(&format!("/api/workspaces/{ws}/members"), Some(&pat))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 3);
    let r = app
        .get(&format!("/api/workspaces/{ws}/members"), Some(&plain_pat))
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "insufficient permissions")
    );
    // An address with no account gets one, and the answer is the same as for any other.
    let body = json!({"email": "Nobody@Example.com", "role": "member"}).to_string();
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{ws}/members"),
            Some(&pat),
            Some(&body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let created = app
        .sql("SELECT id FROM users WHERE email = 'nobody@example.com'")
        .await;
    assert_eq!(created.len(), 1);
    assert_eq!(
        r.body["user_id"],
        created[0].get::<_, uuid::Uuid>(0).to_string()
    );
    assert_eq!(r.body["role"], "member");

    // An admin may not touch an owner, nor make one.
    let r = app
        .call(Method::DELETE, &path(owner), Some(&admin_pat), None)
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "insufficient permissions")
    );
    let r = app
        .call(
            Method::PATCH,
            &path(plain),
            Some(&admin_pat),
            Some(r#"{"role":"owner"}"#),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "insufficient permissions")
    );
    // The last owner stays.
    let r = app
        .call(
            Method::PATCH,
            &path(owner),
            Some(&pat),
            Some(r#"{"role":"member"}"#),
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::BAD_REQUEST,
            "workspace must have at least one owner"
        )
    );
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{ws}/leave"),
            Some(&pat),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.error()),
        (
            StatusCode::BAD_REQUEST,
            "workspace must have at least one owner"
        )
    );
    let r = app
        .call(Method::DELETE, &path(Uuid::new_v4()), Some(&pat), None)
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::NOT_FOUND, "member not found")
    );
    let r = app
        .call(Method::DELETE, &path(owner), Some(&plain_pat), None)
        .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::FORBIDDEN, "insufficient permissions")
    );

    // Remove, leave; then the removed are strangers to the workspace.
    let r = app
        .call(Method::DELETE, &path(admin), Some(&pat), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .call(
            Method::POST,
            &format!("/api/workspaces/{ws}/leave"),
            Some(&plain_pat),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for p in [&admin_pat, &plain_pat] {
        let r = app
            .get(&format!("/api/workspaces/{ws}/events"), Some(p))
            .await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::NOT_FOUND, "workspace not found")
        );
        // Their PATs still work elsewhere.
        assert_eq!(app.get("/api/me", Some(p)).await.status, StatusCode::OK);
    }
    let r = app
        .get(&format!("/api/workspaces/{ws}/events"), Some(&pat))
        .await;
    let kinds: Vec<&str> = r.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "member:added",
            "member:added",
            "member:added",
            "member:removed",
            "member:removed"
        ]
    );
    let first = r.body["events"][3]["id"].as_i64().unwrap();
    let r = app
        .get(
            &format!("/api/workspaces/{ws}/events?after={first}"),
            Some(&pat),
        )
        .await;
    assert_eq!(r.body["events"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_invitations_of_a_new_address_create_one_account() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let (owner, pat) = app.user_with_token("inviter@example.com").await;
    let mut handles = Vec::new();
    for _ in 0..8 {
        let ws = app.workspace(owner).await;
        let (app, pat) = (app.clone(), pat.clone());
        handles.push(tokio::spawn(async move {
            let body = json!({"email": "new@example.com", "role": "member"}).to_string();
            let path = format!("/api/workspaces/{ws}/members");
            app.call(Method::POST, &path, Some(&pat), Some(&body)).await
        }));
    }
    let mut users = std::collections::HashSet::new();
    for handle in handles {
        let r = handle.await.unwrap();
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        users.insert(r.body["user_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(users.len(), 1, "one person, in eight workspaces");
    let rows = app
        .sql("SELECT count(*) FROM users WHERE email = 'new@example.com'")
        .await;
    assert_eq!(rows[0].get::<_, i64>(0), 1);
}
