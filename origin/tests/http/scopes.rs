//! Scoped PATs at the origin: the matrix of `tollgate_tests::scopes` on direct requests,
//! the ceiling, what a bound token sees of the person's other tokens, a stamped
//! identity held to its scope as a resolved one is, and removal revoking bound tokens —
//! also when it races their minting.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;
use tollgate_shared::{Access, Actor, AuthError, Scope};
use tollgate_tests::fixtures::refused;
use tollgate_tests::scopes::{self, create, Subject};
use uuid::Uuid;

use crate::harness::{edge_app, now, send_stamped, team, TestApp, SECRET};

/// An admin of a team's workspace who owns a second one: `(app-side ids, their PAT)`.
async fn subject(app: &TestApp) -> (Uuid, Uuid, Uuid, String) {
    let t = team(app).await;
    let (admin, pat) = t.admin;
    let ws2 = app.workspace(admin).await;
    (admin, t.ws, ws2, pat)
}

#[tokio::test]
async fn every_route_answers_every_scope_as_the_shared_rule_says() {
    let app = TestApp::new().await;
    let (_, ws, ws2, pat) = subject(&app).await;
    let (ws, ws2) = (ws.to_string(), ws2.to_string());
    let s = Subject {
        ws: &ws,
        ws2: &ws2,
        pat: &pat,
    };
    let tokens = scopes::tokens(&app, &s).await;
    scopes::check(&app, &s, &tokens).await;
    scopes::check_whoami(&app, &s, &tokens).await;
}

#[tokio::test]
async fn a_scope_is_asked_for_exactly() {
    let app = TestApp::new().await;
    let (_, ws, _, pat) = subject(&app).await;
    let stranger = app.workspace(app.create_user("s@example.com").await).await;
    for workspace in [json!(stranger), json!(Uuid::new_v4()), json!("not-a-uuid")] {
        let r = create(&app, &pat, json!({ "workspace_id": workspace })).await;
        refused(&r, StatusCode::NOT_FOUND, "workspace not found");
    }
    for access in [json!("admin"), json!("READ"), json!("")] {
        let r = create(&app, &pat, json!({ "access": access })).await;
        refused(&r, StatusCode::BAD_REQUEST, "access must be read or write");
    }
    let r = create(&app, &pat, json!({ "workspace_id": ws, "access": "read" })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let rows = app
        .sql("SELECT access FROM personal_access_tokens WHERE workspace_id IS NOT NULL")
        .await;
    assert_eq!(rows.len(), 1, "nothing else was written");
    assert_eq!(rows[0].get::<_, String>(0), "read");
}

#[tokio::test]
async fn a_bound_token_sees_and_revokes_only_tokens_bound_to_its_workspace() {
    let app = TestApp::new().await;
    let (admin, ws, ws2, pat) = subject(&app).await;
    let mine = create(&app, &pat, json!({ "workspace_id": ws })).await;
    let sibling = create(&app, &pat, json!({ "workspace_id": ws, "access": "read" })).await;
    let elsewhere = create(&app, &pat, json!({ "workspace_id": ws2 })).await;
    let bound = mine.body["token"].as_str().unwrap();
    let listed = app.get("/api/tokens", Some(bound)).await;
    let mut ids: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = vec![
        mine.body["id"].as_str().unwrap(),
        sibling.body["id"].as_str().unwrap(),
    ];
    want.sort_unstable();
    assert_eq!(ids, want);
    // Out of reach: the person's unscoped token and the one bound elsewhere stay live.
    let unscoped: Uuid = app
        .sql(&format!(
            "SELECT id FROM personal_access_tokens WHERE workspace_id IS NULL AND user_id = '{admin}'"
        ))
        .await[0]
        .get(0);
    let revoke = |id: String| {
        let app = &app;
        async move {
            let path = format!("/api/tokens/{id}");
            let r = app.call(Method::DELETE, &path, Some(bound), None).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        }
    };
    for id in [
        unscoped.to_string(),
        elsewhere.body["id"].as_str().unwrap().to_owned(),
    ] {
        revoke(id).await;
    }
    assert_eq!(app.get("/api/me", Some(&pat)).await.status, StatusCode::OK);
    let other = elsewhere.body["token"].as_str().unwrap();
    let r = app
        .get(&format!("/api/workspaces/{ws2}/runtimes"), Some(other))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // In reach: its sibling.
    revoke(sibling.body["id"].as_str().unwrap().to_owned()).await;
    let gone = sibling.body["token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/me", Some(gone)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_stamped_scope_is_held_as_a_resolved_one_is() {
    let app = edge_app().await;
    let (admin, ws, ws2, _) = subject(&app).await;
    let bound = Actor::Pat {
        user_id: admin,
        scope: Scope {
            workspace: Some(ws),
            access: Access::Read,
        },
    };
    let at = now();
    let send = |method, path: String| {
        let (app, bound) = (&app, &bound);
        async move { send_stamped(app, method, &path, Some(bound), SECRET, at).await }
    };
    let r = send(Method::GET, format!("/api/workspaces/{ws}/runtimes")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = send(Method::GET, format!("/api/workspaces/{ws2}/runtimes")).await;
    refused(
        &r,
        StatusCode::FORBIDDEN,
        AuthError::BoundElsewhere.message(),
    );
    let r = send(Method::POST, format!("/api/workspaces/{ws}/tasks")).await;
    refused(&r, StatusCode::FORBIDDEN, AuthError::ReadOnly.message());
    // Another spelling of another workspace's id is still another workspace.
    let upper = ws2.to_string().to_uppercase();
    let r = send(Method::GET, format!("/api/workspaces/{upper}/runtimes")).await;
    refused(
        &r,
        StatusCode::FORBIDDEN,
        AuthError::BoundElsewhere.message(),
    );
}

/// `token`'s standing: live at the origin or not.
async fn live(app: &TestApp, token: &str) -> bool {
    let r = app.get("/api/me", Some(token)).await;
    match r.status {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("{other}: {}", r.text),
    }
}

#[tokio::test]
async fn removal_revokes_the_members_tokens_bound_to_that_workspace_and_nothing_else() {
    let app = TestApp::new().await;
    let t = team(&app).await;
    let (alice, pat) = t.alice.clone();
    let ws2 = app.workspace(alice).await;
    let here = create(&app, &pat, json!({ "workspace_id": t.ws })).await;
    let there = create(&app, &pat, json!({ "workspace_id": ws2 })).await;
    let (here, there) = (
        here.body["token"].as_str().unwrap().to_owned(),
        there.body["token"].as_str().unwrap().to_owned(),
    );
    let bob_here = create(&app, &t.bob.1, json!({ "workspace_id": t.ws })).await;
    let bob_here = bob_here.body["token"].as_str().unwrap().to_owned();
    let purges_before = count_purge_rows(&app).await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/workspaces/{}/members/{alice}", t.ws),
            Some(&t.owner.1),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(!live(&app, &here).await, "bound to the workspace they left");
    assert!(live(&app, &there).await, "bound to another workspace");
    assert!(live(&app, &pat).await, "unscoped");
    assert!(live(&app, &bob_here).await, "another member's");
    let revoked = app
        .sql(&format!(
            "SELECT count(*) FROM personal_access_tokens WHERE user_id = '{alice}' AND revoked"
        ))
        .await[0]
        .get::<_, i64>(0);
    assert_eq!(revoked, 1);
    // Without an edge nothing stays queued; the key went through the outbox all the same.
    assert_eq!(count_purge_rows(&app).await, purges_before);
    // Coming back does not bring it back.
    app.add_member(t.ws, alice, "member").await;
    assert!(!live(&app, &here).await, "revocation is never undone");
}

async fn count_purge_rows(app: &TestApp) -> i64 {
    app.sql("SELECT count(*) FROM cache_invalidations").await[0].get(0)
}

const ROUNDS: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_removal_racing_the_minting_of_a_bound_token_leaves_none_live() {
    let app = Arc::new(TestApp::new().await);
    let (mut minted_first, mut removed_first) = (0, 0);
    for _ in 0..ROUNDS {
        let t = team(&app).await;
        let (alice, pat) = t.alice.clone();
        let ws = t.ws;
        let removal = {
            let (app, owner) = (app.clone(), t.owner.1.clone());
            tokio::spawn(async move {
                let path = format!("/api/workspaces/{ws}/members/{alice}");
                app.call(Method::DELETE, &path, Some(&owner), None).await
            })
        };
        let minting = {
            let app = app.clone();
            tokio::spawn(async move { create(&*app, &pat, json!({ "workspace_id": ws })).await })
        };
        let (removal, minting) = (removal.await.unwrap(), minting.await.unwrap());
        assert_eq!(removal.status, StatusCode::NO_CONTENT, "{}", removal.text);
        match minting.status {
            StatusCode::CREATED => {
                minted_first += 1;
                let token = minting.body["token"].as_str().unwrap();
                assert!(
                    !live(&app, token).await,
                    "minted before the removal, revoked by it"
                );
                let id = minting.body["id"].as_str().unwrap();
                let revoked = app
                    .sql(&format!(
                        "SELECT revoked FROM personal_access_tokens WHERE id = '{id}'"
                    ))
                    .await[0]
                    .get::<_, bool>(0);
                assert!(revoked, "revoked in the removal, not only unresolvable");
            }
            StatusCode::NOT_FOUND => {
                removed_first += 1;
                refused(&minting, StatusCode::NOT_FOUND, "workspace not found");
            }
            other => panic!("{other}: {}", minting.text),
        }
    }
    assert_eq!(minted_first + removed_first, ROUNDS);
}

#[tokio::test]
async fn what_a_scoped_token_mints_never_outlives_it() {
    let app = TestApp::new().await;
    let (admin, ws, _, _) = subject(&app).await;
    let bound = Scope {
        workspace: Some(ws),
        access: Access::Write,
    };
    let (_, scoped) = app.mint_scoped(admin, Some(30), bound).await;
    let child = |days: Option<i64>| json!({ "workspace_id": ws, "expires_in_days": days });
    for days in [None, Some(0), Some(30), Some(3650)] {
        let r = create(&app, &scoped, child(days)).await;
        refused(&r, StatusCode::FORBIDDEN, AuthError::CannotGrant.message());
    }
    let r = create(&app, &scoped, child(Some(29))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A scoped token that never expires mints any lifetime; an unscoped one with an
    // expiry keeps its powers.
    let (_, forever) = app.mint_scoped(admin, None, bound).await;
    let r = create(&app, &forever, child(None)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (_, expiring) = app.mint(admin, Some(1)).await;
    let r = create(&app, &expiring, json!({ "expires_in_days": null })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}
