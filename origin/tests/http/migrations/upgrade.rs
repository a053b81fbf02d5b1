//! V5 on a V4 database: it fills who acts for whom from what V4 knew, ends what a
//! contested daemon id started, keeps every other row as it was, and from then on holds
//! one live token per daemon id.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;
use tollgate_origin::db::migrate;
use tollgate_shared::{cache_key, RawToken, TokenKind};
use tollgate_tests::db::connect;
use uuid::Uuid;

use super::old::old_database;

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

    assert_eq!(migrate::run_to(&old.url, 5).await.unwrap(), vec![5]);
    assert_eq!(
        migrate::run_to(&old.url, 5).await.unwrap(),
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
async fn v6_keeps_every_existing_pat_an_unscoped_writer() {
    let old = old_database().await;
    let db = connect(&old.url).await;
    assert_eq!(migrate::run_to(&old.url, 6).await.unwrap(), vec![5, 6]);
    let rows = db
        .query(
            "SELECT workspace_id IS NULL, access FROM personal_access_tokens",
            &[],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert!(row.get::<_, bool>(0), "unbound");
        assert_eq!(row.get::<_, String>(1), "write");
    }
    let bad = db
        .execute("UPDATE personal_access_tokens SET access = 'admin'", &[])
        .await;
    assert!(bad.is_err(), "only read or write");
}
