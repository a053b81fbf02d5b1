//! Tokens minted from the command line: install tokens (for oneself or a member) and
//! sessions the origin accepts.

use serde_json::Value;
use tollgate_tests::db::fresh_database;
use tollgate_tests::origin::{cli, cli_json, origin_bin, Origin};

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
    // `session mint` for jwt@example.com, with `ttl_secs` if given, signed with `secret`
    // if given (else without JWT_SECRET at all).
    let mint = |ttl_secs: Option<String>, secret: Option<&str>| {
        let mut cmd = std::process::Command::new(origin_bin());
        cmd.args(["session", "mint", "--email", "jwt@example.com"])
            .env("DATABASE_URL", &db);
        if let Some(ttl) = ttl_secs {
            cmd.args(["--ttl-secs", &ttl]);
        }
        match secret {
            Some(secret) => cmd.env("JWT_SECRET", secret),
            None => cmd.env_remove("JWT_SECRET"),
        };
        cmd.output().unwrap()
    };
    let out = mint(Some("120".into()), Some(secret));
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
    let sessions: i64 = tollgate_tests::db::connect(&db)
        .await
        .query_one(
            "SELECT count(*) FROM sessions WHERE revoked_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 1, "a minted session is a record");
    // Capped by SESSION_TTL_DAYS (30 by default).
    let out = mint(Some((30 * 86_400 + 1).to_string()), Some(secret));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--ttl-secs must be from 1 to 2592000"),
        "{err}"
    );
    let out = mint(None, None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET is not set"));
}
