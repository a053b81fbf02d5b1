//! A V4 database with rows in it, written the way the V4 code wrote them.

use std::collections::BTreeMap;

use tokio_postgres::Client;
use tollgate_origin::db::migrate;
use tollgate_shared::{RawToken, TokenKind};
use tollgate_tests::db::{connect, fresh_database};
use uuid::Uuid;

/// A V4 database with rows in it, and what the test needs to know about them.
pub(super) struct Old {
    pub(super) url: String,
    pub(super) owner: Uuid,
    pub(super) admin: Uuid,
    pub(super) member: Uuid,
    pub(super) ws: Uuid,
    pub(super) other_ws: Uuid,
    /// Enrolled by the admin: it acted for them.
    pub(super) laptop: RawToken,
    /// Another workspace's daemon of the same id, the owner's.
    pub(super) other_laptop: RawToken,
    /// One daemon id, live tokens acting for the admin, then for the owner.
    pub(super) shared: [RawToken; 2],
    /// One daemon id enrolled twice by the admin: older, newer.
    pub(super) same: [RawToken; 2],
    /// The owner's token, revoked before the admin's was issued.
    pub(super) handed: [RawToken; 2],
    /// Unused, minted by the admin.
    pub(super) mit: RawToken,
    /// A running task's token on the admin's laptop, and on the member's runtime.
    pub(super) mat_admin: (RawToken, Uuid, Uuid),
    pub(super) mat_member: (RawToken, Uuid, Uuid),
    /// Agent → its runtime's owner; task → its runtime's owner.
    pub(super) agent_owner: BTreeMap<Uuid, Uuid>,
    pub(super) task_owner: BTreeMap<Uuid, Uuid>,
    /// A purge the V4 code queued and the edge had not confirmed yet.
    pub(super) pending_purge: String,
    /// The runtime of "shared-id", and its tasks: claimed (dispatched) and finished.
    pub(super) shared_runtime: Uuid,
    pub(super) shared_claimed: Uuid,
    pub(super) shared_finished: Uuid,
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

/// A database migrated to V4 and filled as the V4 code filled it.
pub(super) async fn old_database() -> Old {
    let url = fresh_database().await;
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
