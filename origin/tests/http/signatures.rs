//! Requests the edge forwards: a valid signature is trusted as stamped, anything else is
//! refused, and the caller extractors apply the route rules to stamped actors.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tollgate_shared::Actor;

use crate::harness::{
    edge_app, last_used, now, pat_actor, resolve_body, resolve_request, send_stamped, stamped,
    TestApp, CHALLENGE_INVALID, SECRET,
};

#[tokio::test]
async fn a_valid_signature_is_trusted_as_stamped() {
    let app = edge_app().await;
    let (user, _) = app.user_with_token("a@example.com").await;
    let r = send_stamped(
        &app,
        Method::GET,
        "/api/me?x=1",
        Some(&pat_actor(user)),
        SECRET,
        now(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user_id"], user.to_string());
    assert_eq!(r.body["actor_source"], "pat");
    // A cache hit at the edge costs the database no write.
    assert_eq!(last_used(&app).await, None);
}

#[tokio::test]
async fn bad_or_stale_signatures_are_refused_never_a_fallback() {
    let app = edge_app().await;
    let (user, token) = app.user_with_token("b@example.com").await;
    let id = pat_actor(user);
    let cases = [
        (
            "wrong secret",
            stamped(Method::GET, "/api/me", Some(&id), "other", now()),
        ),
        (
            "replayed after 61 s",
            stamped(Method::GET, "/api/me", Some(&id), SECRET, now() - 61),
        ),
        (
            "from the future",
            stamped(Method::GET, "/api/me", Some(&id), SECRET, now() + 61),
        ),
        (
            "other path",
            stamped(Method::GET, "/api/tokens", Some(&id), SECRET, now()).uri("/api/me"),
        ),
        (
            "identity changed after signing",
            stamped(Method::GET, "/api/me", Some(&id), SECRET, now()).header("x-workspace-id", "w"),
        ),
        (
            "timestamp only",
            Request::get("/api/me").header("x-edge-timestamp", now().to_string()),
        ),
    ];
    for (what, req) in cases {
        // A valid bearer token does not rescue a bad signature.
        let req = req
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let r = app.send(req).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(r.error(), "invalid signature", "{what}");
        assert_eq!(
            r.header("www-authenticate"),
            Some(CHALLENGE_INVALID),
            "{what}"
        );
    }
    // Within the skew it is accepted.
    let r = send_stamped(&app, Method::GET, "/api/me", Some(&id), SECRET, now() - 55).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_secret_no_signature_is_trusted() {
    let app = TestApp::new().await;
    let (user, _) = app.user_with_token("c@example.com").await;
    let r = send_stamped(
        &app,
        Method::GET,
        "/api/me",
        Some(&pat_actor(user)),
        SECRET,
        now(),
    )
    .await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid signature")
    );
    let r = app.send(resolve_request("{}", SECRET, now())).await;
    assert_eq!((r.status, r.error()), (StatusCode::NOT_FOUND, "not found"));
}

#[tokio::test]
async fn signed_requests_without_identity_are_anonymous() {
    let app = edge_app().await;
    let r = send_stamped(&app, Method::GET, "/api/me", None, SECRET, now()).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "missing authorization")
    );
    let r = send_stamped(&app, Method::GET, "/healthz", None, SECRET, now()).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// One actor of every machine kind, acting in some workspace for `user`.
fn machines(user: uuid::Uuid) -> [Actor; 3] {
    let workspace_id = uuid::Uuid::new_v4();
    [
        Actor::Daemon {
            user_id: user,
            workspace_id,
            daemon_id: "laptop-1".into(),
        },
        Actor::TaskToken {
            user_id: user,
            workspace_id,
            agent_id: uuid::Uuid::new_v4(),
            task_id: uuid::Uuid::new_v4(),
        },
        Actor::CloudPat { user_id: user },
    ]
}

#[tokio::test]
async fn minting_tokens_is_for_humans_only() {
    let app = edge_app().await;
    let (user, _) = app.user_with_token("d@example.com").await;
    for actor in machines(user) {
        let req = stamped(Method::POST, "/api/tokens", Some(&actor), SECRET, now())
            .body(Body::from(r#"{"name":"x"}"#))
            .unwrap();
        let r = app.send(req).await;
        let source = actor.source();
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{source}");
        assert_eq!(r.error(), "this endpoint is only available to human actors");
        assert_eq!(r.header("www-authenticate"), None, "{source}");
    }
    let session = Actor::Session {
        user_id: user,
        email: None,
    };
    // A stamped session comes with the JWT the edge verified (its record is checked).
    let jwt = app.session(user, 600).await;
    for actor in [pat_actor(user), session] {
        let req = stamped(Method::POST, "/api/tokens", Some(&actor), SECRET, now())
            .header("authorization", format!("Bearer {jwt}"))
            .body(Body::from(r#"{"name":"x"}"#))
            .unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::CREATED, "{actor:?}");
    }
}

#[tokio::test]
async fn stamped_actors_follow_the_route_class_table() {
    let app = edge_app().await;
    let (user, _) = app.user_with_token("t@example.com").await;
    // The user routes take PATs, sessions, task tokens and cloud PATs; daemons are not
    // theirs.
    for actor in machines(user) {
        let r = send_stamped(&app, Method::GET, "/api/me", Some(&actor), SECRET, now()).await;
        if !matches!(actor, Actor::Daemon { .. }) {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(r.body["actor_source"], actor.source().as_str());
            continue;
        }
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "invalid token"),
            "{actor:?}"
        );
        assert_eq!(r.header("www-authenticate"), Some(CHALLENGE_INVALID));
    }
    let session = Actor::Session {
        user_id: user,
        email: None,
    };
    let jwt = app.session(user, 600).await;
    let req = stamped(Method::GET, "/api/me", Some(&session), SECRET, now())
        .header("cookie", format!("tollgate_session={jwt}"))
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["actor_source"], "session");
    // Without the JWT it was verified from, a stamped session is no identity.
    let r = send_stamped(&app, Method::GET, "/api/me", Some(&session), SECRET, now()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // A stamped record that is not exactly one kind of actor is no identity.
    let req = stamped(
        Method::GET,
        "/api/me",
        Some(&pat_actor(user)),
        SECRET,
        now(),
    );
    let r = app.send(req.body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    let req = Request::get("/api/me")
        .header("x-actor-source", "pat")
        .header("x-user-id", "not-a-uuid")
        .header("x-token-access", "write");
    let values = ["not-a-uuid", "", "pat", "", "", "", "", "write"];
    let (ts, sig) = tollgate_shared::SigningKey::new(SECRET)
        .sign(
            &tollgate_shared::signing::SignedRequest {
                method: "GET",
                path_and_query: "/api/me",
                body: tollgate_shared::signing::Body::Unsigned,
                client: "",
                identity: values,
            },
            now(),
        )
        .unwrap();
    let req = req
        .header("x-edge-timestamp", ts)
        .header("x-edge-signature", sig)
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid signature")
    );
}

#[tokio::test]
async fn last_used_at_is_written_by_the_resolver_at_most_once_a_minute() {
    let app = edge_app().await;
    let (user, token) = app.user_with_token("g@example.com").await;
    // Listing and edge-stamped requests do not touch it.
    assert_eq!(
        send_stamped(
            &app,
            Method::GET,
            "/api/tokens",
            Some(&pat_actor(user)),
            SECRET,
            now()
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(last_used(&app).await, None);

    assert_eq!(
        app.send(resolve_request(&resolve_body(&token), SECRET, now()))
            .await
            .status,
        StatusCode::OK
    );
    let first = last_used(&app).await.expect("set by resolve");
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        last_used(&app).await,
        Some(first),
        "rewritten within a minute"
    );

    app.sql("UPDATE personal_access_tokens SET last_used_at = now() - interval '2 minutes'")
        .await;
    let old = last_used(&app).await.unwrap();
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    assert!(last_used(&app).await.unwrap() > old);
}

#[tokio::test]
async fn a_stamped_user_that_no_longer_exists_is_no_identity() {
    let app = edge_app().await;
    let gone = Actor::Pat {
        user_id: uuid::Uuid::new_v4(),
        scope: tollgate_shared::Scope::UNSCOPED,
    };
    let req = stamped(Method::POST, "/api/tokens", Some(&gone), SECRET, now())
        .body(Body::from(r#"{"name":"x"}"#))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
    let r = send_stamped(&app, Method::GET, "/api/me", Some(&gone), SECRET, now()).await;
    assert_eq!(
        (r.status, r.error()),
        (StatusCode::UNAUTHORIZED, "invalid token")
    );
}
