//! The real `tollgate-origin` binary: admin commands, `serve`, start-up errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use tollgate_tests::{cli, cli_json, free_port, fresh_database, Origin};

#[tokio::test]
async fn admin_commands_then_serve_then_a_pat_works() {
    let db = fresh_database().await;
    assert_eq!(
        cli_json(&db, &["migrate"])["applied"],
        serde_json::json!([1, 2, 3, 4])
    );
    assert_eq!(
        cli_json(&db, &["migrate"])["applied"],
        serde_json::json!([])
    );

    let user = cli_json(
        &db,
        &[
            "user",
            "create",
            "--email",
            "Ops@Example.com",
            "--name",
            "Ops",
        ],
    );
    assert_eq!(user["email"], "ops@example.com");
    assert_eq!(user["name"], "Ops");
    let dup = cli(Some(&db), &["user", "create", "--email", "ops@example.com"]);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    let ws = cli_json(
        &db,
        &[
            "workspace",
            "create",
            "--name",
            "Acme",
            "--owner-email",
            "ops@example.com",
        ],
    );
    assert_eq!(ws["name"], "Acme");
    let ws_id = ws["id"].as_str().unwrap();
    cli_json(&db, &["user", "create", "--email", "dev@example.com"]);
    let member = cli_json(
        &db,
        &[
            "member",
            "add",
            "--workspace",
            ws_id,
            "--email",
            "dev@example.com",
            "--role",
            "admin",
        ],
    );
    assert_eq!(member["role"], "admin");
    assert_eq!(member["workspace_id"], ws_id);
    let bad_role = cli(
        Some(&db),
        &[
            "member",
            "add",
            "--workspace",
            ws_id,
            "--email",
            "dev@example.com",
            "--role",
            "god",
        ],
    );
    assert!(!bad_role.status.success());
    let nobody = cli(
        Some(&db),
        &[
            "pat",
            "create",
            "--email",
            "nobody@example.com",
            "--name",
            "x",
        ],
    );
    assert!(!nobody.status.success());
    assert!(
        String::from_utf8_lossy(&nobody.stderr).contains("no user with email nobody@example.com")
    );

    let pat = cli_json(
        &db,
        &[
            "pat",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "ci",
            "--expires-in-days",
            "7",
        ],
    );
    let token = pat["token"].as_str().unwrap().to_owned();
    for field in [
        "id",
        "name",
        "token_prefix",
        "expires_at",
        "last_used_at",
        "created_at",
        "token",
    ] {
        assert!(pat.get(field).is_some(), "{field} missing from {pat}");
    }
    let too_long = cli(
        Some(&db),
        &[
            "pat",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "x",
            "--expires-in-days",
            "3651",
        ],
    );
    assert!(
        String::from_utf8_lossy(&too_long.stderr).contains("expires_in_days must be at most 3650")
    );

    let mut origin = Origin::start(&db, &[]);
    let client = reqwest::Client::new();
    let me: Value = client
        .get(format!("{}/api/me", origin.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ops@example.com");
    assert_eq!(me["user_id"], user["id"]);
    let ready = client
        .get(format!("{}/readyz", origin.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let status = origin.stop().expect("was running");
    assert!(status.success(), "SIGTERM is a clean exit: {status}");
    let logs = origin.logs();
    assert!(logs.contains("tollgate-origin listening"), "{logs}");
    assert!(!logs.contains(&token), "raw token in the origin's log");
    assert!(!logs.contains(&token[12..]));
}

#[tokio::test]
async fn start_up_errors_are_one_line_and_name_the_variable() {
    let out = cli(None, &["migrate"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DATABASE_URL"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let dead = format!("postgres://tollgate@127.0.0.1:{}/x", free_port());
    let err = Origin::start_on(&dead, free_port(), &[])
        .err()
        .expect("must not start");
    assert!(err.contains("DATABASE_URL"), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("error:"))
        .unwrap_or_default();
    assert!(line.contains("DATABASE_URL"), "{err}");

    // A database that does not exist: said so, not just "db error".
    let missing = format!("{}/no_such_database", tollgate_tests::admin_url());
    let out = cli(Some(&missing), &["migrate"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no_such_database") && err.contains("does not exist"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let out = cli(Some(&dead), &["user", "create", "--email", "a@b.c"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL"));
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let db = fresh_database().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = Origin::start_on(&db, port, &[])
        .err()
        .expect("must not start on a taken port");
    assert!(err.contains("LISTEN_ADDR"), "{err}");
}

#[tokio::test]
async fn settings_that_would_lose_revocations_or_trust_are_refused_at_start() {
    let db = fresh_database().await;
    let long = "0123456789abcdef0123456789abcdef";
    let cases: [(&[(&str, &str)], &str); 3] = [
        // An edge would cache identities that a revocation could never purge.
        (&[("EDGE_ORIGIN_SECRET", long)], "EDGE_PURGE_URL is not set"),
        (
            &[
                ("EDGE_ORIGIN_SECRET", "short"),
                ("EDGE_PURGE_URL", "http://127.0.0.1:1/__tollgate/purge"),
            ],
            "EDGE_ORIGIN_SECRET must be at least 32 bytes",
        ),
        (
            &[
                ("EDGE_ORIGIN_SECRET", long),
                ("EDGE_PURGE_URL", "http://edge.example/__tollgate/purge"),
            ],
            "EDGE_PURGE_URL must be an https:// URL",
        ),
    ];
    for (env, expected) in cases {
        let line = Origin::start_error(&db, env);
        assert!(line.contains(expected), "{expected}: {line}");
    }
}

#[tokio::test]
async fn a_workspace_keeps_an_owner_and_text_is_checked() {
    let db = fresh_database().await;
    cli_json(&db, &["migrate"]);
    cli_json(&db, &["user", "create", "--email", "own@example.com"]);
    cli_json(&db, &["user", "create", "--email", "two@example.com"]);
    let ws = cli_json(
        &db,
        &[
            "workspace",
            "create",
            "--name",
            "W",
            "--owner-email",
            "own@example.com",
        ],
    );
    let ws = ws["id"].as_str().unwrap();
    let demote = |email: &str| {
        cli(
            Some(&db),
            &[
                "member",
                "add",
                "--workspace",
                ws,
                "--email",
                email,
                "--role",
                "member",
            ],
        )
    };
    let out = demote("own@example.com");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must keep an owner"), "{err}");
    // With a second owner, the first may step down.
    cli_json(
        &db,
        &[
            "member",
            "add",
            "--workspace",
            ws,
            "--email",
            "two@example.com",
            "--role",
            "owner",
        ],
    );
    assert!(demote("own@example.com").status.success());
    assert!(!demote("two@example.com").status.success());

    let out = cli(
        Some(&db),
        &[
            "user",
            "create",
            "--email",
            "x@example.com",
            "--name",
            "a\u{1}b",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("control characters"));
    let out = cli(
        Some(&db),
        &[
            "pat",
            "create",
            "--email",
            "own@example.com",
            "--name",
            "a\u{7}",
        ],
    );
    assert!(!out.status.success());
}

#[tokio::test]
async fn slow_clients_cannot_hold_a_connection() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let db = fresh_database().await;
    cli_json(&db, &["migrate"]);
    cli_json(&db, &["user", "create", "--email", "slow@example.com"]);
    let pat = cli_json(
        &db,
        &[
            "pat",
            "create",
            "--email",
            "slow@example.com",
            "--name",
            "s",
        ],
    );
    let origin = Origin::start(&db, &[]);
    let addr = format!("127.0.0.1:{}", origin.port);

    // Headers that never finish: the connection is closed after the header timeout.
    let half_headers = async {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /api/ping HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let started = Instant::now();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf)).await;
        started.elapsed()
    };
    // A body that never finishes: 408 in JSON after the body timeout.
    let half_body = async {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /api/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"na",
            pat["token"].as_str().unwrap()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let started = Instant::now();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        (
            started.elapsed(),
            String::from_utf8_lossy(&buf[..n]).into_owned(),
        )
    };
    let (headers_closed_after, (body_answered_after, answer)) =
        tokio::join!(half_headers, half_body);
    assert!(
        headers_closed_after < Duration::from_secs(15),
        "{headers_closed_after:?}"
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains(r#"{"error":"request timeout"}"#),
        "{answer}"
    );
    assert!(
        body_answered_after < Duration::from_secs(15),
        "{body_answered_after:?}"
    );
}

#[tokio::test]
async fn admins_mint_install_tokens_from_the_command_line() {
    let db = fresh_database().await;
    cli_json(&db, &["migrate"]);
    let boss = cli_json(&db, &["user", "create", "--email", "boss@example.com"]);
    cli_json(&db, &["user", "create", "--email", "dev@example.com"]);
    let ws = cli_json(
        &db,
        &[
            "workspace",
            "create",
            "--name",
            "W",
            "--owner-email",
            "boss@example.com",
        ],
    );
    let ws = ws["id"].as_str().unwrap();
    let minted = cli_json(
        &db,
        &[
            "install-token",
            "create",
            "--workspace",
            ws,
            "--email",
            "boss@example.com",
        ],
    );
    assert!(minted["token"].as_str().unwrap().starts_with("mit_"));
    assert_eq!(minted["workspace_id"], ws);
    let out = cli(
        Some(&db),
        &[
            "install-token",
            "create",
            "--workspace",
            ws,
            "--email",
            "dev@example.com",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("workspace not found"));
    // For a member: the daemon it enrolls acts for them.
    let dev = cli_json(
        &db,
        &[
            "member",
            "add",
            "--workspace",
            ws,
            "--email",
            "dev@example.com",
            "--role",
            "member",
        ],
    );
    let minted = cli_json(
        &db,
        &[
            "install-token",
            "create",
            "--workspace",
            ws,
            "--email",
            "boss@example.com",
            "--for-email",
            "dev@example.com",
        ],
    );
    assert_eq!(minted["user_id"], dev["user_id"]);
    assert_ne!(minted["user_id"], boss["id"]);
    cli_json(&db, &["user", "create", "--email", "outsider@example.com"]);
    let out = cli(
        Some(&db),
        &[
            "install-token",
            "create",
            "--workspace",
            ws,
            "--email",
            "boss@example.com",
            "--for-email",
            "outsider@example.com",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("member not found"));
}

#[tokio::test]
async fn session_mint_signs_a_jwt_the_origin_accepts() {
    let db = fresh_database().await;
    cli_json(&db, &["migrate"]);
    cli_json(&db, &["user", "create", "--email", "jwt@example.com"]);
    let secret = "cli-jwt-secret-of-at-least-32-bytes";
    let out = std::process::Command::new(tollgate_tests::origin_bin())
        .args([
            "session",
            "mint",
            "--email",
            "jwt@example.com",
            "--ttl-secs",
            "120",
        ])
        .env("DATABASE_URL", &db)
        .env("JWT_SECRET", secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let minted: Value = serde_json::from_slice(&out.stdout).unwrap();
    let jwt = minted["token"].as_str().unwrap();
    assert!(minted["expires_at"].as_str().unwrap().ends_with('Z'));
    let origin = Origin::start(&db, &[("JWT_SECRET", secret)]);
    let me: Value = reqwest::Client::new()
        .get(format!("{}/api/me", origin.url))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (me["actor_source"].as_str(), me["email"].as_str()),
        (Some("session"), Some("jwt@example.com"))
    );
    let out = std::process::Command::new(tollgate_tests::origin_bin())
        .args(["session", "mint", "--email", "jwt@example.com"])
        .env("DATABASE_URL", &db)
        .env_remove("JWT_SECRET")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET is not set"));
}
