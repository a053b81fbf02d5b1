//! `serve` and its start-up: errors of one line that name the variable, settings that
//! are refused, and slow clients.

use tollgate_tests::cluster::admin_url;
use tollgate_tests::db::fresh_database;
use tollgate_tests::origin::{cli, cli_json, free_port, Origin};

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
    let missing = format!("{}/no_such_database", admin_url());
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
