//! Data put straight into a test app's database through the origin's own code, where the
//! API cannot make it (users, their PATs, a workspace's first owner) or a test needs to
//! skip it; and reading it back. What the API makes is in `tollgate_tests::fixtures`.

use tollgate_origin::db;
use tollgate_origin::model::Role;
use tollgate_origin::{pats, workspaces};
use tollgate_shared::Scope;
use tollgate_tests::fixtures::add_member;
use uuid::Uuid;

use super::app::TestApp;

impl TestApp {
    pub async fn create_user(&self, email: &str) -> Uuid {
        let db = self.pool.get().await.unwrap();
        db::users::insert(&db, email, Some("Test User"))
            .await
            .unwrap()
            .id
    }

    /// A PAT for `user`, straight through the same code the API uses.
    pub async fn mint(&self, user: Uuid, days: Option<i32>) -> (Uuid, String) {
        self.mint_scoped(user, days, Scope::UNSCOPED).await
    }

    /// A PAT of `scope` for `user` (who must be a member of a bound scope's workspace).
    pub async fn mint_scoped(&self, user: Uuid, days: Option<i32>, scope: Scope) -> (Uuid, String) {
        let by = pats::Granter::UNSCOPED;
        let created = pats::mint(&self.pool, user, by, "test", days, scope)
            .await
            .unwrap();
        (created.view.id, created.token.expose().to_owned())
    }

    /// A session JWT for `user` living `ttl` seconds (negative: expired), with its
    /// record, as `session mint` makes them.
    pub async fn session(&self, user: Uuid, ttl: i64) -> String {
        let db = self.pool.get().await.unwrap();
        let new = db::sessions::NewSession {
            user_id: user,
            ttl_secs: ttl,
            user_agent: Some("test"),
            ip: None,
        };
        let created = db::sessions::insert(&db, &new).await.unwrap();
        let minted = tollgate_shared::session::Minted {
            user_id: user,
            email: None,
            session_id: created.id,
            iat: created.created_at.timestamp(),
            exp: created.created_at.timestamp() + ttl,
        };
        let key = tollgate_shared::session::SessionKey::new(super::JWT_SECRET);
        tollgate_shared::session::mint(&key, &minted)
    }

    /// A workspace owned by `owner`, made where the API and the CLI make them.
    pub async fn workspace(&self, owner: Uuid) -> Uuid {
        workspaces::create(&self.pool, Some("W"), owner)
            .await
            .unwrap()
            .id
    }

    pub async fn add_member(&self, workspace: Uuid, user: Uuid, role: &str) {
        let db = self.pool.get().await.unwrap();
        let role = Role::parse(role).expect("owner, admin or member");
        db::members::upsert(&db, workspace, user, role)
            .await
            .unwrap();
    }

    /// A user with one PAT.
    pub async fn user_with_token(&self, email: &str) -> (Uuid, String) {
        let user = self.create_user(email).await;
        let (_, token) = self.mint(user, None).await;
        (user, token)
    }

    pub async fn sql(&self, query: &str) -> Vec<tokio_postgres::Row> {
        let db = self.pool.get().await.unwrap();
        db.query(query, &[]).await.unwrap()
    }
}

/// A new user with a PAT, and a workspace they own: `(owner, PAT, workspace)`.
pub async fn owner(app: &TestApp) -> (Uuid, String, Uuid) {
    let (owner, pat) = app
        .user_with_token(&format!("{}@example.com", Uuid::new_v4()))
        .await;
    let ws = app.workspace(owner).await;
    (owner, pat, ws)
}

/// A new user with a PAT, whom `owner_pat` adds to `ws` through the API as `role`.
pub async fn member(app: &TestApp, ws: Uuid, owner_pat: &str, role: &str) -> (Uuid, String) {
    let email = format!("{}@example.com", Uuid::new_v4());
    let (user, pat) = app.user_with_token(&email).await;
    add_member(app, ws, owner_pat, &email, role).await;
    (user, pat)
}

/// A workspace with an owner, an admin and two plain members, each with a PAT.
pub struct Team {
    pub ws: Uuid,
    pub owner: (Uuid, String),
    pub admin: (Uuid, String),
    pub alice: (Uuid, String),
    pub bob: (Uuid, String),
}

pub async fn team(app: &TestApp) -> Team {
    let person = |role: &'static str| async move {
        let (id, pat) = app
            .user_with_token(&format!("{role}-{}@example.com", Uuid::new_v4()))
            .await;
        (id, pat)
    };
    let owner = person("owner").await;
    let ws = app.workspace(owner.0).await;
    let admin = person("admin").await;
    app.add_member(ws, admin.0, "admin").await;
    let alice = person("alice").await;
    app.add_member(ws, alice.0, "member").await;
    let bob = person("bob").await;
    app.add_member(ws, bob.0, "member").await;
    Team {
        ws,
        owner,
        admin,
        alice,
        bob,
    }
}

/// The first column of the first row of `sql`, a count.
pub async fn count(app: &TestApp, sql: &str) -> i64 {
    app.sql(sql).await[0].get(0)
}

pub async fn last_used(app: &TestApp) -> Option<chrono::DateTime<chrono::Utc>> {
    app.sql("SELECT last_used_at FROM personal_access_tokens")
        .await[0]
        .get(0)
}
