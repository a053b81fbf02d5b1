//! TLS to Postgres, through the real binary: `sslmode` and `sslrootcert` in
//! `DATABASE_URL` are honoured by `migrate`, the admin commands and `serve`, against the
//! throwaway cluster that `scripts/test` starts with `ssl=on` and a certificate made for
//! it. The role `tls_only` may connect only over TLS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use tollgate_tests::cluster;
use tollgate_tests::db::{self, fresh_database};
use tollgate_tests::origin::{cli, cli_json, Origin};

/// A fresh database reached as `tls_only`, with `query` appended to its URL.
async fn tls_only_url(query: &str) -> String {
    let db = fresh_database().await;
    // Several tests may race to create it; the second CREATE fails harmlessly.
    let _ = db::admin()
        .await
        .batch_execute("CREATE ROLE tls_only LOGIN SUPERUSER")
        .await;
    let url = db.replacen("postgres://tollgate@", "postgres://tls_only@", 1);
    format!("{url}?{query}")
}

fn one_line_error(out: &std::process::Output) -> String {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

#[tokio::test]
async fn verify_full_with_the_right_root_works_for_migrate_admin_and_serve() {
    let url = tls_only_url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        cluster::var("TOLLGATE_TEST_PG_CA")
    ))
    .await;
    assert_eq!(
        cli_json(&url, &["migrate"])["applied"],
        serde_json::json!(tollgate_tests::db::migration_versions())
    );
    cli_json(&url, &["user", "create", "--email", "tls@example.com"]);
    let pat = cli_json(
        &url,
        &["pat", "create", "--email", "tls@example.com", "--name", "t"],
    );
    let origin = Origin::start(&url, &[]);
    let me: Value = reqwest::Client::new()
        .get(format!("{}/api/me", origin.url))
        .bearer_auth(pat["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "tls@example.com");
}

#[tokio::test]
async fn verify_ca_and_verify_full_refuse_a_server_the_root_did_not_sign() {
    for mode in ["verify-ca", "verify-full"] {
        let url = tls_only_url(&format!(
            "sslmode={mode}&sslrootcert={}",
            cluster::var("TOLLGATE_TEST_PG_WRONG_CA")
        ))
        .await;
        let err = one_line_error(&cli(Some(&url), &["migrate"]));
        assert!(err.contains("DATABASE_URL"), "{err}");
        assert!(err.contains("certificate"), "{mode}: {err}");
        let err = one_line_error(&cli(
            Some(&url),
            &["user", "create", "--email", "x@example.com"],
        ));
        assert!(
            err.contains("DATABASE_URL") && err.contains("certificate"),
            "{mode}: {err}"
        );
        let line = Origin::start_error(&url, &[]);
        assert!(line.contains("certificate"), "{mode}: {line}");
    }
}

#[tokio::test]
async fn disable_against_a_server_that_requires_tls_fails_clearly() {
    let url = tls_only_url("sslmode=disable").await;
    let err = one_line_error(&cli(Some(&url), &["migrate"]));
    assert!(err.contains("DATABASE_URL"), "{err}");
    assert!(err.contains("no encryption"), "{err}");
}

#[tokio::test]
async fn require_and_prefer_encrypt_without_checking_the_certificate() {
    for query in ["sslmode=require", "sslmode=prefer"] {
        let url = tls_only_url(query).await;
        let out = cli(Some(&url), &["migrate"]);
        assert!(
            out.status.success(),
            "{query}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let url = tls_only_url("sslmode=verify-everything").await;
    let err = one_line_error(&cli(Some(&url), &["migrate"]));
    assert!(err.contains("sslmode"), "{err}");
}
