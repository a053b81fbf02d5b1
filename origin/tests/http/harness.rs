//! The test harness: each test gets its own database, created from a migrated template
//! in the throwaway cluster that `scripts/test` starts (`TOLLGATE_TEST_PG`), and the real
//! router, called in process.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use deadpool_postgres::Pool;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio_postgres::NoTls;
use tollgate_origin::db::{self, migrate};
use tollgate_origin::fleet::FleetSettings;
use tollgate_origin::model::Role;
use tollgate_origin::outbox::{OutboxSettings, Purger};
use tollgate_origin::{app, pats, AppState};
use tollgate_shared::signing::{Body as Signed, Request as SignedRequest};
use tollgate_shared::wire::RESOLVE_PATH;
use tollgate_shared::{Actor, AuthError, SigningKey, TokenHash};
use tower::ServiceExt;
use uuid::Uuid;

pub const SECRET: &str = "test-edge-origin-secret-of-32-bytes";
/// `JWT_SECRET` of every test app.
pub const JWT_SECRET: &str = "test-jwt-secret-of-at-least-32-bytes";
/// `WWW-Authenticate` when no usable credential came (RFC 6750 §3).
pub const CHALLENGE: &str = "Bearer";
/// `WWW-Authenticate` when a credential came and was refused.
pub const CHALLENGE_INVALID: &str = "Bearer error=\"invalid_token\"";
const TEMPLATE: &str = "tollgate_template";

pub fn admin_url() -> String {
    std::env::var("TOLLGATE_TEST_PG").expect(
        "TOLLGATE_TEST_PG is not set: run scripts/test, or point it at a Postgres \
         superuser URL without a database, e.g. postgres://tollgate@127.0.0.1:5432",
    )
}

async fn admin_client(database: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&format!("{}/{database}", admin_url()), NoTls)
        .await
        .expect("connect to the test cluster");
    tokio::spawn(conn);
    client
}

/// The migrated template, made ready once per test process.
static TEMPLATE_READY: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// A new, migrated, empty database; returns its URL.
pub async fn fresh_database() -> String {
    TEMPLATE_READY.get_or_init(migrate_template).await;
    let admin = admin_client("postgres").await;
    create_from_template(&admin).await
}

/// One migrated template per cluster. Always migrated once per run: a template left by
/// an older checkout gets the newer migrations. Done before any test copies it — a
/// copy fails while anyone is connected to the template.
async fn migrate_template() {
    let admin = admin_client("postgres").await;
    // Against another test process doing the same.
    admin
        .execute("SELECT pg_advisory_lock(7)", &[])
        .await
        .unwrap();
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&TEMPLATE])
        .await
        .unwrap()
        .is_some();
    if !exists {
        admin
            .execute(&format!("CREATE DATABASE {TEMPLATE}"), &[])
            .await
            .unwrap();
    }
    migrate::run(&format!("{}/{TEMPLATE}", admin_url()))
        .await
        .unwrap();
    admin
        .execute("SELECT pg_advisory_unlock(7)", &[])
        .await
        .unwrap();
}

async fn create_from_template(admin: &tokio_postgres::Client) -> String {
    let name = format!("t_{}", Uuid::new_v4().simple());
    admin
        .execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"), &[])
        .await
        .unwrap();
    format!("{}/{name}", admin_url())
}

#[derive(Default)]
pub struct Options {
    /// `EDGE_ORIGIN_SECRET`.
    pub secret: Option<&'static str>,
    /// `EDGE_PURGE_URL`.
    pub purge_url: Option<String>,
    /// Point the pool at a port where nothing listens.
    pub unreachable_db: bool,
    /// When the second purge of a revocation is due (production: 10 s).
    pub echo_delay: Option<Duration>,
    /// `ORIGIN_REQUIRE_EDGE`.
    pub require_edge: bool,
    /// Reach the database through this URL instead of a fresh database's own (a
    /// [`StallingProxy`] in front of it, say).
    pub database_url: Option<String>,
    /// `FLEET_URL` and the timeouts and TTL that go with it.
    pub fleet: FleetSettings,
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub pool: Pool,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl TestResponse {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<no error field>")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every 401 and 403 of every test is one of the shared authentication errors and
    /// carries exactly its RFC 6750 challenge (none on a 403).
    fn assert_challenge(&self) {
        if !matches!(self.status.as_u16(), 401 | 403) {
            return;
        }
        let Some(expected) = AuthError::ALL
            .into_iter()
            .find(|e| e.message() == self.error())
        else {
            panic!("{}: {} is no AuthError", self.status, self.text);
        };
        assert_eq!(self.status.as_u16(), expected.status(), "{}", self.text);
        assert_eq!(
            self.header("www-authenticate"),
            expected.challenge(),
            "{}",
            self.text
        );
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with(Options::default()).await
    }

    pub async fn with(options: Options) -> TestApp {
        let db_url = if options.unreachable_db {
            "postgres://tollgate@127.0.0.1:1/nothing".to_owned()
        } else if let Some(url) = options.database_url.clone() {
            url
        } else {
            fresh_database().await
        };
        let pool = db::pool(&db_url, 8).unwrap();
        let key = options.secret.map(SigningKey::new);
        let purger = match (&options.purge_url, &key) {
            (Some(url), Some(key)) => Some(Purger::new(url.parse().unwrap(), key.clone()).unwrap()),
            _ => None,
        };
        let mut outbox = OutboxSettings::default();
        if let Some(delay) = options.echo_delay {
            outbox.echo_delay = delay;
        }
        let state = AppState::new(
            pool.clone(),
            tollgate_origin::state::Options {
                edge_key: key,
                purger,
                outbox,
                require_edge: options.require_edge,
                metrics_elsewhere: false,
                session_key: Some(tollgate_shared::session::SessionKey::new(JWT_SECRET)),
                fleet: options.fleet,
            },
        )
        .unwrap();
        TestApp {
            router: app(state.clone()),
            state,
            pool,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let response = TestResponse {
            status,
            headers,
            text,
            body,
        };
        response.assert_challenge();
        response
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> TestResponse {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_owned()));
        self.send(req.body(body).unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn create_user(&self, email: &str) -> Uuid {
        let db = self.pool.get().await.unwrap();
        db::users::insert(&db, email, Some("Test User"))
            .await
            .unwrap()
            .id
    }

    /// A PAT for `user`, straight through the same code the API uses.
    pub async fn mint(&self, user: Uuid, days: Option<i32>) -> (Uuid, String) {
        let db = self.pool.get().await.unwrap();
        let created = pats::mint(&db, user, "test", days).await.unwrap();
        (created.view.id, created.token.expose().to_owned())
    }

    /// A workspace owned by `owner`.
    pub async fn workspace(&self, owner: Uuid) -> Uuid {
        let db = self.pool.get().await.unwrap();
        let id = db::workspaces::insert(&db, "W").await.unwrap();
        db::members::upsert(&db, id, owner, Role::Owner)
            .await
            .unwrap();
        id
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

    /// A counter or gauge value from `/metrics` (sum over series matching `selector`).
    pub async fn metric(&self, selector: &str) -> f64 {
        let text = self.get("/metrics", None).await.text;
        text.lines()
            .filter(|l| l.starts_with(selector))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A request as the edge forwards it: identity stamped, signed over UNSIGNED-PAYLOAD.
pub fn stamped(
    method: Method,
    path: &str,
    actor: Option<&Actor>,
    secret: &str,
    at: i64,
) -> axum::http::request::Builder {
    let values = actor.map(Actor::signing_values).unwrap_or_default();
    let (ts, sig) = SigningKey::new(secret)
        .sign(
            &SignedRequest {
                method: method.as_str(),
                path_and_query: path,
                body: Signed::Unsigned,
                identity: values.each_ref().map(String::as_str),
            },
            at,
        )
        .unwrap();
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("x-edge-timestamp", ts)
        .header("x-edge-signature", sig);
    for (name, value) in actor.map(Actor::to_headers).unwrap_or_default() {
        req = req.header(name, value);
    }
    req
}

/// An app that trusts edge signatures made with [`SECRET`].
pub async fn edge_app() -> TestApp {
    TestApp::with(Options {
        secret: Some(SECRET),
        ..Options::default()
    })
    .await
}

/// Sends a body-less request stamped and signed as the edge would.
pub async fn send_stamped(
    app: &TestApp,
    method: Method,
    path: &str,
    actor: Option<&Actor>,
    secret: &str,
    at: i64,
) -> TestResponse {
    app.send(
        stamped(method, path, actor, secret, at)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

pub fn pat_actor(user_id: Uuid) -> Actor {
    Actor::Pat { user_id }
}

/// A call from the edge to `path`, signed over the body digest.
pub fn internal_request(
    method: Method,
    path: &str,
    body: &str,
    secret: &str,
    at: i64,
) -> Request<Body> {
    let (ts, sig) = SigningKey::new(secret)
        .sign(
            &SignedRequest::internal(method.as_str(), path, body.as_bytes()),
            at,
        )
        .unwrap();
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("x-edge-timestamp", ts)
        .header("x-edge-signature", sig)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// The edge's resolve call.
pub fn resolve_request(body: &str, secret: &str, at: i64) -> Request<Body> {
    internal_request(Method::POST, RESOLVE_PATH, body, secret, at)
}

pub fn resolve_body(token: &str) -> String {
    json!({"kind": "mul", "hash": TokenHash::of(token).as_str()}).to_string()
}

pub async fn last_used(app: &TestApp) -> Option<chrono::DateTime<chrono::Utc>> {
    app.sql("SELECT last_used_at FROM personal_access_tokens")
        .await[0]
        .get(0)
}

/// A TCP proxy in front of the test cluster that can stop passing bytes on, as a
/// Postgres does when it stalls (`kill -STOP`) rather than stops: sockets stay open,
/// nothing answers.
pub struct StallingProxy {
    pub port: u16,
    stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl StallingProxy {
    pub async fn start(upstream_port: u16) -> StallingProxy {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stalled.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream_port)).await
                else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                for (mut from, mut to) in [(cr, sw), (sr, cw)].map(|(r, w)| (r, w)) {
                    let flag = flag.clone();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let Ok(n) = from.read(&mut buf).await else {
                                return;
                            };
                            if n == 0 {
                                return;
                            }
                            while flag.load(Ordering::SeqCst) {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            if to.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        });
        StallingProxy { port, stalled }
    }

    pub fn stall(&self, stalled: bool) {
        self.stalled
            .store(stalled, std::sync::atomic::Ordering::SeqCst);
    }
}
