//! Migrations on rows the previous release wrote: an empty database migrated to V4 and
//! filled the way the V4 code filled it (a daemon token's `owner_id` was its issuer, a
//! runtime belonged to whoever last registered it, a task token acted for the
//! runtime's owner), then migrated to V5 and served by the real router.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use tollgate_origin::db::migrate;
use tollgate_shared::{cache_key, RawToken, TokenKind};
use uuid::Uuid;

use crate::harness::{admin_url, Options, TestApp};

/// Every table V4 has (but `cache_invalidations` and `events`, which V5 appends to), and
/// the columns V5 adds to it.
const TABLES: [(&str, &[&str]); 10] = [
    ("users", &[]),
    ("workspaces", &[]),
    ("members", &[]),
    ("personal_access_tokens", &[]),
    ("install_tokens", &["user_id"]),
    ("daemon_tokens", &["issued_by"]),
    ("runtimes", &["visibility"]),
    ("agents", &["created_by"]),
    ("tasks", &["queued_by"]),
    ("task_tokens", &[]),
];

/// A V4 database with rows in it, and what the test needs to know about them.
struct Old {
    url: String,
    owner: Uuid,
    admin: Uuid,
    member: Uuid,
    ws: Uuid,
    other_ws: Uuid,
    /// Enrolled by the admin: it acted for them.
    laptop: RawToken,
    /// Another workspace's daemon of the same id, the owner's.
    other_laptop: RawToken,
    /// One daemon id, live tokens acting for the admin, then for the owner.
    shared: [RawToken; 2],
    /// One daemon id enrolled twice by the admin: older, newer.
    same: [RawToken; 2],
    /// The owner's token, revoked before the admin's was issued.
    handed: [RawToken; 2],
    /// Unused, minted by the admin.
    mit: RawToken,
    /// A running task's token on the admin's laptop, and on the member's runtime.
    mat_admin: (RawToken, Uuid, Uuid),
    mat_member: (RawToken, Uuid, Uuid),
    /// Agent → its runtime's owner; task → its runtime's owner.
    agent_owner: BTreeMap<Uuid, Uuid>,
    task_owner: BTreeMap<Uuid, Uuid>,
    /// A purge the V4 code queued and the edge had not confirmed yet.
    pending_purge: String,
    /// The runtime of "shared-id", and its tasks: claimed (dispatched) and finished.
    shared_runtime: Uuid,
    shared_claimed: Uuid,
    shared_finished: Uuid,
}

async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to the test cluster");
    tokio::spawn(conn);
    client
}

/// A new database with nothing in it (not a copy of the migrated template).
async fn empty_database() -> String {
    let admin = connect(&format!("{}/postgres", admin_url())).await;
    let name = format!("t_{}", Uuid::new_v4().simple());
    admin
        .execute(&format!("CREATE DATABASE {name}"), &[])
        .await
        .unwrap();
    format!("{}/{name}", admin_url())
}

async fn id(db: &Client, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Uuid {
    db.query_one(sql, params).await.unwrap().get(0)
}

async fn user(db: &Client, email: &str) -> Uuid {
    id(
        db,
        "INSERT INTO users (email, name) VALUES ($1, 'Old') RETURNING id",
        &[&email],
    )
    .await
}

async fn workspace(db: &Client, members: &[(Uuid, &str)]) -> Uuid {
    let ws = id(
        db,
        "INSERT INTO workspaces (name) VALUES ('W') RETURNING id",
        &[],
    )
    .await;
    for (user, role) in members {
        db.execute(
            "INSERT INTO members (workspace_id, user_id, role) VALUES ($1, $2, $3)",
            &[&ws, user, role],
        )
        .await
        .unwrap();
    }
    ws
}

/// As the V4 exchange wrote it: `owner_id` is whoever minted the install token.
async fn daemon_token(
    db: &Client,
    ws: Uuid,
    daemon: &str,
    issuer: Uuid,
    hours_ago: i32,
    revoked_hours_ago: Option<i32>,
) -> RawToken {
    let token = RawToken::generate(TokenKind::Daemon).unwrap();
    db.execute(
        "INSERT INTO daemon_tokens
             (token_hash, token_prefix, workspace_id, daemon_id, owner_id, expires_at,
              created_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, now() + interval '100 years',
                 now() - make_interval(hours => $6),
                 now() - make_interval(hours => $7))",
        &[
            &token.hash().as_str(),
            &token.display_prefix(),
            &ws,
            &daemon,
            &issuer,
            &hours_ago,
            &revoked_hours_ago,
        ],
    )
    .await
    .unwrap();
    token
}

async fn runtime(db: &Client, ws: Uuid, daemon: &str, owner: Uuid, status: &str) -> Uuid {
    let sql = "INSERT INTO runtimes (workspace_id, daemon_id, owner_id, name, status, last_seen_at)
               VALUES ($1, $2, $3, 'claude', $4, now() - interval '5 minutes') RETURNING id";
    id(db, sql, &[&ws, &daemon, &owner, &status]).await
}

async fn agent(db: &Client, ws: Uuid, runtime: Uuid, archived_by: Option<Uuid>) -> Uuid {
    let sql = "INSERT INTO agents (workspace_id, runtime_id, name, archived_at, archived_by)
               VALUES ($1, $2, 'helper', CASE WHEN $3::uuid IS NULL THEN NULL ELSE now() END, $3)
               RETURNING id";
    id(db, sql, &[&ws, &runtime, &archived_by]).await
}

async fn task(db: &Client, ws: Uuid, agent: Uuid, status: &str) -> Uuid {
    let sql = "INSERT INTO tasks (workspace_id, agent_id, runtime_id, status, prompt, updated_at)
               SELECT $1, id, runtime_id, $3, 'do it', now() - interval '1 minute'
               FROM agents WHERE id = $2 RETURNING id";
    id(db, sql, &[&ws, &agent, &status]).await
}

/// As the V4 start wrote it: acting for the runtime's owner.
async fn task_token(db: &Client, ws: Uuid, task: Uuid) -> RawToken {
    let token = RawToken::generate(TokenKind::Task).unwrap();
    db.execute(
        "INSERT INTO task_tokens (token_hash, task_id, agent_id, workspace_id, user_id, expires_at)
         SELECT $1, t.id, t.agent_id, $3, r.owner_id, now() + interval '24 hours'
         FROM tasks t JOIN runtimes r ON r.id = t.runtime_id WHERE t.id = $2",
        &[&token.hash().as_str(), &task, &ws],
    )
    .await
    .unwrap();
    token
}

async fn install_token(db: &Client, ws: Uuid, by: Uuid, used_by: Option<&str>) -> RawToken {
    let token = RawToken::generate(TokenKind::Install).unwrap();
    db.execute(
        "INSERT INTO install_tokens (token_hash, workspace_id, created_by, expires_at, used_at,
                                     used_by_daemon_id)
         VALUES ($1, $2, $3, now() + interval '15 minutes',
                 CASE WHEN $4::text IS NULL THEN NULL ELSE now() END, $4)",
        &[&token.hash().as_str(), &ws, &by, &used_by],
    )
    .await
    .unwrap();
    token
}

async fn old_database() -> Old {
    let url = empty_database().await;
    assert_eq!(migrate::run_to(&url, 4).await.unwrap(), vec![1, 2, 3, 4]);
    let db = connect(&url).await;
    let (owner, admin, member) = (
        user(&db, "owner@example.com").await,
        user(&db, "admin@example.com").await,
        user(&db, "member@example.com").await,
    );
    let ws = workspace(
        &db,
        &[(owner, "owner"), (admin, "admin"), (member, "member")],
    )
    .await;
    let other_ws = workspace(&db, &[(owner, "owner")]).await;
    db.execute(
        "INSERT INTO personal_access_tokens (user_id, name, token_hash, token_prefix)
         VALUES ($1, 'cli', encode(sha256(random()::text::bytea), 'hex'), 'mul_01234567')",
        &[&owner],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO events (workspace_id, kind, payload) VALUES ($1, 'member:added', '{}')",
        &[&ws],
    )
    .await
    .unwrap();
    let pending_purge = format!(
        "tollgate:auth:mul:{}",
        RawToken::generate(TokenKind::Pat).unwrap().hash().as_str()
    );
    db.execute(
        "INSERT INTO cache_invalidations (cache_key) VALUES ($1)",
        &[&pending_purge],
    )
    .await
    .unwrap();

    let mit = install_token(&db, ws, admin, None).await;
    install_token(&db, ws, owner, Some("shared-id")).await;
    let laptop = daemon_token(&db, ws, "laptop", admin, 100, None).await;
    let other_laptop = daemon_token(&db, other_ws, "laptop", owner, 90, None).await;
    let shared = [
        daemon_token(&db, ws, "shared-id", admin, 80, None).await,
        daemon_token(&db, ws, "shared-id", owner, 50, None).await,
    ];
    let same = [
        daemon_token(&db, ws, "same-id", admin, 70, None).await,
        daemon_token(&db, ws, "same-id", admin, 20, None).await,
    ];
    let handed = [
        daemon_token(&db, ws, "handed-over", owner, 60, Some(40)).await,
        daemon_token(&db, ws, "handed-over", admin, 30, None).await,
    ];

    // The owner's daemon registered last under "shared-id": V4's upsert gave it the
    // runtime. The member ran a daemon by hand with a PAT (no daemon token).
    let runtimes: [(Uuid, Uuid, Uuid); 5] = [
        (runtime(&db, ws, "laptop", admin, "online").await, admin, ws),
        (
            runtime(&db, ws, "shared-id", owner, "online").await,
            owner,
            ws,
        ),
        (
            runtime(&db, ws, "same-id", admin, "offline").await,
            admin,
            ws,
        ),
        (
            runtime(&db, ws, "m-box", member, "online").await,
            member,
            ws,
        ),
        (
            runtime(&db, other_ws, "laptop", owner, "online").await,
            owner,
            other_ws,
        ),
    ];
    let mut agent_owner = BTreeMap::new();
    let mut task_owner = BTreeMap::new();
    let mut agents = Vec::new();
    let statuses: [&[&str]; 5] = [
        &["running", "queued", "completed"],
        &["dispatched", "failed"],
        &["cancelled", "deferred"],
        &["running", "waiting_local_directory"],
        &["queued"],
    ];
    let archived = runtimes[2].0;
    for ((runtime, owner_of, ws), statuses) in runtimes.iter().copied().zip(statuses) {
        let archived_by = (runtime == archived).then_some(owner);
        let agent = agent(&db, ws, runtime, archived_by).await;
        agent_owner.insert(agent, owner_of);
        let mut tasks = Vec::new();
        for status in statuses {
            let task = task(&db, ws, agent, status).await;
            task_owner.insert(task, owner_of);
            tasks.push(task);
        }
        agents.push((agent, tasks));
    }
    let shared_runtime = runtimes[1].0;
    let (shared_claimed, shared_finished) = (agents[1].1[0], agents[1].1[1]);
    let (laptop_agent, laptop_running) = (agents[0].0, agents[0].1[0]);
    let (member_agent, member_running) = (agents[3].0, agents[3].1[0]);
    let mat_admin = (
        task_token(&db, ws, laptop_running).await,
        laptop_running,
        laptop_agent,
    );
    let mat_member = (
        task_token(&db, ws, member_running).await,
        member_running,
        member_agent,
    );
    Old {
        url,
        owner,
        admin,
        member,
        ws,
        other_ws,
        laptop,
        other_laptop,
        shared,
        same,
        handed,
        mit,
        mat_admin,
        mat_member,
        agent_owner,
        task_owner,
        pending_purge,
        shared_runtime,
        shared_claimed,
        shared_finished,
    }
}

/// Every row of every table as jsonb text (jsonb orders its keys), without the columns
/// V5 adds when `migrated`, without `daemon_tokens.revoked_at`, and without the rows
/// whose id is in `skip` — both checked on their own.
async fn snapshot(
    db: &Client,
    migrated: bool,
    skip: &[Uuid],
) -> BTreeMap<&'static str, Vec<String>> {
    let skip: Vec<String> = skip.iter().map(Uuid::to_string).collect();
    let mut tables = BTreeMap::new();
    for (table, added) in TABLES {
        let mut without: Vec<&str> = if migrated { added.to_vec() } else { Vec::new() };
        if table == "daemon_tokens" {
            without.push("revoked_at");
        }
        let sql = format!(
            "SELECT (to_jsonb(t) - $1::text[])::text FROM {table} t
             WHERE coalesce(to_jsonb(t)->>'id', '') <> ALL($2) ORDER BY 1"
        );
        let rows = db.query(&sql, &[&without, &skip]).await.unwrap();
        tables.insert(table, rows.iter().map(|r| r.get(0)).collect());
    }
    tables
}

/// The events, in id order: kind and payload.
async fn events(db: &Client) -> Vec<(String, serde_json::Value)> {
    db.query("SELECT kind, payload FROM events ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn revoked_at(db: &Client) -> BTreeMap<String, Option<DateTime<Utc>>> {
    let rows = db
        .query("SELECT token_hash, revoked_at FROM daemon_tokens", &[])
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

fn hashes<'a>(tokens: impl IntoIterator<Item = &'a RawToken>) -> BTreeSet<String> {
    tokens
        .into_iter()
        .map(|t| t.hash().as_str().to_owned())
        .collect()
}

/// Inserts a live daemon token for `daemon` (acting for and issued by `user`).
async fn insert_live(
    db: &Client,
    ws: Uuid,
    daemon: &str,
    user: Uuid,
) -> Result<u64, tokio_postgres::Error> {
    let token = RawToken::generate(TokenKind::Daemon).unwrap();
    db.execute(
        "INSERT INTO daemon_tokens
             (token_hash, token_prefix, workspace_id, daemon_id, owner_id, issued_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $5, now() + interval '100 years')",
        &[
            &token.hash().as_str(),
            &token.display_prefix(),
            &ws,
            &daemon,
            &user,
        ],
    )
    .await
}

#[tokio::test]
async fn v5_fills_who_acts_for_whom_and_keeps_one_live_token_per_daemon() {
    let old = old_database().await;
    let db = connect(&old.url).await;
    // What ending the takeover of "shared-id" changes is checked on its own.
    let ended = [old.shared_runtime, old.shared_claimed];
    let before = snapshot(&db, false, &ended).await;
    let events_before = events(&db).await;
    let revoked_before = revoked_at(&db).await;
    let started: DateTime<Utc> = db.query_one("SELECT now()", &[]).await.unwrap().get(0);

    assert_eq!(migrate::run(&old.url).await.unwrap(), vec![5]);
    assert_eq!(
        migrate::run(&old.url).await.unwrap(),
        Vec::<u32>::new(),
        "up to date"
    );

    // Nothing V4 wrote changed but the revocations below: not a row more or fewer.
    assert_eq!(snapshot(&db, true, &ended).await, before);
    // The daemon id two members' tokens shared: what its daemon started ended with
    // them, as a revocation ends it — the claimed task cancelled (its finished one kept),
    // the runtime offline, the events recorded.
    let status = |sql: &'static str, id: Uuid| {
        let db = &db;
        async move { db.query_one(sql, &[&id]).await.unwrap().get::<_, String>(0) }
    };
    assert_eq!(
        status(
            "SELECT status FROM runtimes WHERE id = $1",
            old.shared_runtime
        )
        .await,
        "offline"
    );
    assert_eq!(
        status("SELECT status FROM tasks WHERE id = $1", old.shared_claimed).await,
        "cancelled"
    );
    assert_eq!(
        status(
            "SELECT status FROM tasks WHERE id = $1",
            old.shared_finished
        )
        .await,
        "failed"
    );
    let mut events_after = events(&db).await;
    let added: Vec<(String, serde_json::Value)> = events_after.split_off(events_before.len());
    assert_eq!(events_after, events_before, "kept as they were");
    let mut added: Vec<String> = added
        .into_iter()
        .map(|(kind, payload)| match kind.as_str() {
            "daemon:revoked" => format!("{kind} {}", payload["daemon_id"].as_str().unwrap()),
            _ => format!("{kind} {}", payload["task_id"].as_str().unwrap()),
        })
        .collect();
    added.sort();
    assert_eq!(
        added,
        [
            "daemon:revoked same-id".to_owned(),
            "daemon:revoked shared-id".to_owned(),
            "daemon:revoked shared-id".to_owned(),
            format!("task:cancelled {}", old.shared_claimed),
        ]
    );
    let revoked_now = hashes(old.shared.iter().chain([&old.same[0]]));
    let revoked_after = revoked_at(&db).await;
    assert_eq!(revoked_after.len(), revoked_before.len());
    for (hash, was) in &revoked_before {
        let is = revoked_after[hash];
        if revoked_now.contains(hash) {
            assert!(
                was.is_none() && is.is_some_and(|at| at >= started),
                "{is:?}"
            );
        } else {
            assert_eq!(&is, was, "untouched");
        }
    }
    let live: BTreeSet<String> = db
        .query(
            "SELECT token_hash FROM daemon_tokens WHERE revoked_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        live,
        hashes([&old.laptop, &old.other_laptop, &old.same[1], &old.handed[1]])
    );

    // What was revoked is purged from the edge, once each, under the key the edge uses;
    // the purge already pending stays.
    let mut queued: Vec<String> = db
        .query("SELECT cache_key FROM cache_invalidations", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    queued.sort();
    let mut expected: Vec<String> = old
        .shared
        .iter()
        .chain([&old.same[0]])
        .map(|t| {
            let key = format!("tollgate:auth:mdt:{}", t.hash().as_str());
            assert_eq!(key, cache_key(TokenKind::Daemon, &t.hash()).to_string());
            key
        })
        .chain([old.pending_purge.clone()])
        .collect();
    expected.sort();
    assert_eq!(queued, expected);

    // Who acts for whom, from what V4 knew.
    let count = |sql: &'static str| {
        let db = &db;
        async move {
            let row = db.query_one(sql, &[]).await.unwrap();
            (row.get::<_, i64>(0), row.get::<_, i64>(1))
        }
    };
    assert_eq!(
        count("SELECT count(*) FILTER (WHERE user_id = created_by), count(*) FROM install_tokens")
            .await,
        (2, 2)
    );
    assert_eq!(
        count("SELECT count(*) FILTER (WHERE issued_by = owner_id), count(*) FROM daemon_tokens")
            .await,
        (8, 8)
    );
    assert_eq!(
        count("SELECT count(*) FILTER (WHERE visibility = 'private'), count(*) FROM runtimes")
            .await,
        (5, 5)
    );
    let by_id = |sql: &'static str| {
        let db = &db;
        async move {
            let rows = db.query(sql, &[]).await.unwrap();
            rows.iter()
                .map(|r| (r.get::<_, Uuid>(0), r.get::<_, Uuid>(1)))
                .collect::<BTreeMap<_, _>>()
        }
    };
    assert_eq!(
        by_id("SELECT id, created_by FROM agents").await,
        old.agent_owner
    );
    assert_eq!(
        by_id("SELECT id, queued_by FROM tasks").await,
        old.task_owner
    );
    assert_eq!(
        by_id("SELECT task_id, user_id FROM task_tokens").await,
        BTreeMap::from([(old.mat_admin.1, old.admin), (old.mat_member.1, old.member)]),
        "a task token acts for whoever queued its task"
    );
    let nullable: Vec<(String, String)> = db
        .query(
            "SELECT table_name::text, is_nullable::text FROM information_schema.columns
             WHERE (table_name, column_name) IN (('install_tokens', 'user_id'),
                                                 ('tasks', 'queued_by'))
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        nullable,
        [("install_tokens", "NO"), ("tasks", "NO")].map(|(t, n)| (t.to_owned(), n.to_owned()))
    );

    // One live token per daemon id and workspace, from now on.
    let e = insert_live(&db, old.ws, "laptop", old.admin)
        .await
        .unwrap_err();
    let db_error = e.as_db_error().expect("a database error");
    assert_eq!(
        (db_error.code(), db_error.constraint()),
        (
            &SqlState::UNIQUE_VIOLATION,
            Some("daemon_tokens_one_live_per_daemon")
        )
    );
    assert_eq!(
        insert_live(&db, old.ws, "shared-id", old.owner)
            .await
            .unwrap(),
        1,
        "none is live there any more"
    );
    let e = insert_live(&db, old.ws, "shared-id", old.owner)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::UNIQUE_VIOLATION));
    let e = db
        .execute("UPDATE runtimes SET visibility = 'public'", &[])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::CHECK_VIOLATION));
}

#[tokio::test]
async fn migrated_tokens_act_for_whom_they_acted_for() {
    let old = old_database().await;
    migrate::run(&old.url).await.unwrap();
    let app = TestApp::with(Options {
        database_url: Some(old.url.clone()),
        ..Options::default()
    })
    .await;

    for (token, ws, user) in [
        (&old.laptop, old.ws, old.admin),
        (&old.other_laptop, old.other_ws, old.owner),
        (&old.same[1], old.ws, old.admin),
        (&old.handed[1], old.ws, old.admin),
    ] {
        let r = app.get("/api/daemon/whoami", Some(token.expose())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["actor_source"], "daemon");
        assert_eq!(
            (&r.body["workspace_id"], &r.body["user_id"]),
            (&json!(ws), &json!(user)),
            "{}",
            token.display_prefix()
        );
    }
    assert_eq!(
        app.get("/api/daemon/whoami", Some(old.laptop.expose()))
            .await
            .body["daemon_id"],
        "laptop"
    );
    for token in old.shared.iter().chain([&old.same[0], &old.handed[0]]) {
        let r = app.get("/api/daemon/whoami", Some(token.expose())).await;
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::UNAUTHORIZED, "invalid token"),
            "{}",
            token.display_prefix()
        );
    }

    // A running task's token acts for its runtime's owner, as it did.
    for ((mat, task, agent), user) in [(&old.mat_admin, old.admin), (&old.mat_member, old.member)] {
        let email = if user == old.admin {
            "admin@example.com"
        } else {
            "member@example.com"
        };
        let r = app.get("/api/me", Some(mat.expose())).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            r.body,
            json!({
                "user_id": user,
                "email": email,
                "name": "Old",
                "actor_source": "task_token",
                "workspace_id": old.ws,
                "agent_id": agent,
                "task_id": task,
            })
        );
    }

    // The admin's unused install token enrolls a daemon that acts for the admin.
    let body = json!({"token": old.mit.expose(), "daemon_id": "fresh"}).to_string();
    let r = app
        .call(
            Method::POST,
            "/api/install-tokens/exchange",
            None,
            Some(&body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["user_id"], &r.body["workspace_id"]),
        (&json!(old.admin), &json!(old.ws))
    );
    let mdt = r.body["token"].as_str().unwrap();
    let r = app.get("/api/daemon/whoami", Some(mdt)).await;
    assert_eq!(r.body["user_id"], json!(old.admin), "{}", r.text);
    let row = &app
        .sql("SELECT owner_id, issued_by FROM daemon_tokens WHERE daemon_id = 'fresh'")
        .await[0];
    assert_eq!(
        (row.get::<_, Uuid>(0), row.get::<_, Option<Uuid>>(1)),
        (old.admin, Some(old.admin))
    );
}
