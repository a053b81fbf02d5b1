//! The admin commands, then `serve`: users, workspaces and their owners, members, PATs.

use serde_json::Value;
use tollgate_tests::db::fresh_database;
use tollgate_tests::origin::{cli, cli_json, Origin};

#[tokio::test]
async fn admin_commands_then_serve_then_a_pat_works() {
    let db = fresh_database().await;
    assert_eq!(
        cli_json(&db, &["migrate"])["applied"],
        serde_json::json!(tollgate_tests::db::migration_versions())
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

    // A scoped one: bound to a workspace the user is in, read-only.
    let scoped = cli_json(
        &db,
        &[
            "pat",
            "create",
            "--email",
            "dev@example.com",
            "--name",
            "ci",
            "--workspace",
            ws_id,
            "--read-only",
        ],
    );
    assert_eq!(
        (&scoped["workspace_id"], &scoped["access"]),
        (&ws["id"], &serde_json::json!("read"))
    );
    let scoped_token = scoped["token"].as_str().unwrap().to_owned();
    let elsewhere = cli(
        Some(&db),
        &[
            "pat",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "x",
            "--workspace",
            &uuid::Uuid::new_v4().to_string(),
        ],
    );
    assert!(String::from_utf8_lossy(&elsewhere.stderr).contains("workspace not found"));

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
    let refused = client
        .post(format!("{}/api/workspaces/{ws_id}/tasks", origin.url))
        .bearer_auth(&scoped_token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["error"], "token is read-only");
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
