//! Scoped PATs through the edge: the matrix of `tollgate_tests::scopes` answered by the
//! edge for cached tokens — the refusals with no resolve and no request to the origin —
//! a removed member's bound token refused at the edge on the next request, and the
//! client's `pat create` and `pat list`.

use std::process::Command;

use axum::http::Method;
use reqwest::StatusCode;
use serde_json::json;
use tollgate_shared::AuthError;
use tollgate_tests::api::Api;
use tollgate_tests::fixtures;
use tollgate_tests::origin::client_bin;
use tollgate_tests::scopes::{self, create, Subject, Want};
use tollgate_tests::stack::Stack;

/// Requests the origin counted (`/metrics` scrapes included).
async fn origin_requests(stack: &Stack) -> f64 {
    stack.metric("tollgate_http_requests_total").await
}

pub async fn every_route_answers_every_scope_and_refusals_never_leave_the_edge(stack: &Stack) {
    let (ws, ws2) = (stack.workspace("scoped"), stack.workspace("scoped-2"));
    let (_, pat) = stack.pat();
    let s = Subject {
        ws: &ws,
        ws2: &ws2,
        pat: &pat,
    };
    let tokens = scopes::tokens(stack, &s).await;
    // Cached, each of them: from here on the edge knows their scopes.
    for token in tokens.all() {
        assert_eq!(stack.me(token).await.status(), StatusCode::OK);
    }
    stack.let_cache_writes_land().await;

    // The refusals alone first: not one reaches the origin, not even to resolve.
    let resolves = stack.resolves().await;
    let scrape = {
        let before = origin_requests(stack).await;
        origin_requests(stack).await - before
    };
    let before = origin_requests(stack).await;
    let mut refusals = 0;
    for case in scopes::cases(&s) {
        for (token, want) in tokens.all().into_iter().zip(case.want) {
            let Want::Refused(e) = want else { continue };
            let r = case.send(stack, token).await;
            fixtures::refused(&r, axum::http::StatusCode::FORBIDDEN, e.message());
            refusals += 1;
        }
    }
    assert!(refusals > 40, "{refusals}");
    let forwarded = origin_requests(stack).await - before - scrape;
    // Refusals the path cannot tell — the scope a new token asks for, the workspace a
    // daemon call names — are in the body: those are the origin's to give.
    let scopes = scopes::column_scopes(&s);
    let from_bodies = scopes::cases(&s)
        .iter()
        .flat_map(|c| {
            c.want.into_iter().zip(scopes).filter(|(want, scope)| {
                matches!(want, Want::Refused(_))
                    && scope.permits(c.method.as_str(), &c.path).is_ok()
            })
        })
        .count();
    assert_eq!(
        from_bodies, 4,
        "minting unbound or elsewhere, a heartbeat and a registration elsewhere"
    );
    assert_eq!(
        forwarded, from_bodies as f64,
        "only body-borne refusals forwarded"
    );
    assert_eq!(
        stack.resolves().await,
        resolves,
        "no resolve for cached tokens"
    );

    // Then the whole matrix, answers served and refused alike, still with no resolve.
    scopes::check(stack, &s, &tokens).await;
    scopes::check_whoami(stack, &s, &tokens).await;
    assert_eq!(stack.resolves().await, resolves);
}

pub async fn a_removed_members_bound_token_is_refused_at_the_edge_at_once(stack: &Stack) {
    let ws = stack.workspace("bound-removal");
    let (_, owner) = stack.pat();
    let member = stack.person();
    fixtures::add_member(stack, &ws, &owner, &member.email, "member").await;
    let bound = create(stack, &member.pat, json!({ "workspace_id": ws })).await;
    assert_eq!(
        bound.status,
        axum::http::StatusCode::CREATED,
        "{}",
        bound.text
    );
    let bound = bound.body["token"].as_str().unwrap().to_owned();
    let runtimes = format!("/api/workspaces/{ws}/runtimes");
    assert_eq!(stack.get(&runtimes, Some(&bound)).await.status, 200);
    stack.let_cache_writes_land().await;
    assert_eq!(
        stack.get(&runtimes, Some(&bound)).await.status,
        200,
        "a hit"
    );

    let path = format!("/api/workspaces/{ws}/members/{}", member.id);
    let r = stack.call(Method::DELETE, &path, Some(&owner), None).await;
    assert_eq!(r.status, axum::http::StatusCode::NO_CONTENT, "{}", r.text);
    let r = stack.get("/api/me", Some(&bound)).await;
    fixtures::refused(
        &r,
        axum::http::StatusCode::UNAUTHORIZED,
        AuthError::InvalidToken.message(),
    );
    // Their unscoped PAT acts on for them elsewhere.
    assert_eq!(stack.me(&member.pat).await.status(), StatusCode::OK);
}

pub async fn the_client_creates_and_lists_scoped_tokens(stack: &Stack) {
    let ws = stack.workspace("scoped-cli");
    let (_, pat) = stack.pat();
    let home =
        std::env::temp_dir().join(format!("tollgate-home-{}", uuid::Uuid::new_v4().simple()));
    let client = |args: &[&str]| {
        Command::new(client_bin())
            .args(args)
            .env("TOLLGATE_HOME", &home)
            .output()
            .unwrap()
    };
    let ok = |args: &[&str]| {
        let out = client(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let server = stack.edge.url.as_str();
    ok(&["login", "--server", server, "--token", &pat]);
    let (token, said) = ok(&[
        "pat",
        "create",
        "--name",
        "ci",
        "--workspace",
        &ws,
        "--read-only",
    ]);
    let token = token.trim().to_owned();
    stack.keep(&token);
    assert!(token.starts_with("mul_"), "{token}");
    assert!(
        said.contains(&format!("workspace {ws} only, read-only")),
        "{said}"
    );

    // Logged in with the bound token, the client takes its workspace for the daemon.
    let (said, _) = ok(&["login", "--server", server, "--token", &token]);
    assert!(
        said.contains(&format!("workspace {ws} only, read-only")),
        "{said}"
    );
    let (list, _) = ok(&["pat", "list"]);
    assert_eq!(list.lines().count(), 1, "only tokens bound to {ws}: {list}");
    assert!(
        list.contains(&token[..12]) && !list.contains(&token[12..]),
        "{list}"
    );
    // A read-only token mints nothing.
    let out = client(&["pat", "create", "--name", "wider"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(AuthError::CannotGrant.message()), "{err}");
    let other = uuid::Uuid::new_v4().to_string();
    let out = client(&[
        "login",
        "--server",
        server,
        "--token",
        &token,
        "--workspace",
        &other,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bound to workspace"), "{err}");
    let _ = std::fs::remove_dir_all(&home);
}
