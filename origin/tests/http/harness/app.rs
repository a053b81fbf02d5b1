//! A [`TestApp`]: the real router on a fresh database of its own, copied from a migrated
//! template in the throwaway cluster, with the settings a test asks for ([`Options`]),
//! called in process with `oneshot`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use deadpool_postgres::Pool;
use http_body_util::BodyExt;
use tollgate_origin::db::{self, migrate};
use tollgate_origin::fleet::FleetSettings;
use tollgate_origin::outbox::{OutboxSettings, Purger};
use tollgate_origin::{app, AppState};
use tollgate_shared::SigningKey;
use tollgate_tests::api::{Api, TestResponse};
use tollgate_tests::db::Template;
use tower::ServiceExt;

pub const SECRET: &str = "test-edge-origin-secret-of-32-bytes";
/// `JWT_SECRET` of every test app.
pub const JWT_SECRET: &str = "test-jwt-secret-of-at-least-32-bytes";
/// `WWW-Authenticate` when no usable credential came (RFC 6750 §3).
pub const CHALLENGE: &str = "Bearer";
/// `WWW-Authenticate` when a credential came and was refused.
pub const CHALLENGE_INVALID: &str = "Bearer error=\"invalid_token\"";

static TEMPLATE: Template = Template::new("tollgate_template");

/// A new, migrated, empty database; returns its URL.
pub async fn fresh_database() -> String {
    TEMPLATE
        .copy(|url| async move {
            migrate::run(&url).await.unwrap();
        })
        .await
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
    /// [`tollgate_tests::proxy::StallingProxy`] in front of it, say).
    pub database_url: Option<String>,
    /// `FLEET_URL` and the timeouts and TTL that go with it.
    pub fleet: FleetSettings,
    /// `SMTP_URL` or `MAIL_DIR`, and `MAIL_FROM`.
    pub mail: Option<tollgate_origin::mail::MailSettings>,
    /// `PUBLIC_URL`.
    pub public_url: Option<reqwest::Url>,
    /// `CONSOLE_DIR`.
    pub console: Option<tollgate_origin::console::Console>,
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub pool: Pool,
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
            tollgate_origin::state::Wiring {
                edge_key: key,
                purger,
                outbox,
                require_edge: options.require_edge,
                metrics_elsewhere: false,
                session_key: Some(tollgate_shared::session::SessionKey::new(JWT_SECRET)),
                session_ttl_days: None,
                fleet: options.fleet,
                mail: options.mail,
                public_url: options.public_url,
                console: options.console,
                streams: Default::default(),
            },
        )
        .unwrap();
        TestApp {
            router: app(state.clone()),
            state,
            pool,
        }
    }

    /// Every 401 and 403 of every test is one of the shared authentication errors and
    /// carries exactly its RFC 6750 challenge (none on a 403).
    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let response = TestResponse::new(status, headers, &bytes);
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

    /// A counter or gauge value from `/metrics` (sum over series matching `selector`).
    pub async fn metric(&self, selector: &str) -> f64 {
        tollgate_tests::metrics::sum(&self.get("/metrics", None).await.text, selector)
    }
}

/// The fixtures of `tollgate_tests::fixtures`, through the router.
impl Api for TestApp {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> TestResponse {
        TestApp::call(self, method, path, token, body).await
    }
}

/// An app that mails through `smtp` (and trusts edge signatures made with [`SECRET`]),
/// its settings read from the variables the server gives, as `serve` reads them.
pub async fn mailing_app(smtp: &tollgate_tests::smtp::SmtpServer) -> TestApp {
    TestApp::with(mailing(smtp)).await
}

/// The options of [`mailing_app`], for a test that sets more.
pub fn mailing(smtp: &tollgate_tests::smtp::SmtpServer) -> Options {
    let env = smtp.env();
    let get = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
    Options {
        secret: Some(SECRET),
        mail: tollgate_origin::config::mail(get).unwrap(),
        ..Options::default()
    }
}

/// An app that trusts edge signatures made with [`SECRET`].
pub async fn edge_app() -> TestApp {
    TestApp::with(Options {
        secret: Some(SECRET),
        ..Options::default()
    })
    .await
}
