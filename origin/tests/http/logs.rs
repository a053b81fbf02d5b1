//! No raw token (nor its hash) ever reaches the logs, even at TRACE.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::harness::TestApp;
use axum::http::{Method, StatusCode};
use tollgate_shared::TokenHash;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged on this thread, at every level, until the guard drops.
fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn no_token_or_hash_in_logs() {
    let (captured, _guard) = capture();

    let app = TestApp::new().await;
    let (_, token) = app.user_with_token("logs@example.com").await;
    let created = app
        .call(
            Method::POST,
            "/api/tokens",
            Some(&token),
            Some(r#"{"name":"second"}"#),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let second = created.body["token"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/me", Some(&second)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/tokens", Some(&token)).await.status,
        StatusCode::OK
    );
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/tokens/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/me", Some(&second)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/me?token=x", Some(&token)).await.status,
        StatusCode::OK
    );

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("personal access token created"),
        "logging was not captured:\n{logs}"
    );
    assert!(logs.contains("personal access token revoked"));
    for secret in [&token, &second] {
        assert!(!logs.contains(secret.as_str()), "raw token in logs");
        assert!(!logs.contains(&secret[12..]), "token body in logs");
        assert!(
            !logs.contains(TokenHash::of(secret).as_str()),
            "token hash in logs"
        );
    }
    assert!(!logs.contains("token=x"), "query strings are not logged");
}

#[tokio::test]
async fn no_cloud_pat_in_logs_whatever_fleet_answers() {
    use tollgate_tests::fleet::{FakeFleet, Verify};

    let (captured, _guard) = capture();

    let fleet = FakeFleet::start(None).await;
    let (app, user) = crate::fleet::app_with(crate::fleet::settings(&fleet.url)).await;
    let token = crate::fleet::cloud_pat();
    for answer in [
        Verify::Invalid("token_revoked"),
        Verify::Garbage,
        Verify::Valid(None),
        Verify::Valid(Some(user.to_string())),
    ] {
        fleet.verify_with(answer);
        app.get("/api/me", Some(&token)).await;
    }
    let r = app.get("/api/cloud-runtime/nodes", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for said in [
        "token_revoked",
        "cloud pat verifier unavailable",
        "owner_unknown",
    ] {
        assert!(logs.contains(said), "{said} not logged:\n{logs}");
    }
    assert!(!logs.contains(&token), "cloud PAT in logs");
    assert!(!logs.contains(&token[8..]), "cloud PAT body in logs");
    assert!(
        !logs.contains(TokenHash::of(&token).as_str()),
        "its hash in logs"
    );
}
