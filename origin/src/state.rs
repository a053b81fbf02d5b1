//! What every handler shares.

use std::sync::Arc;

use deadpool_postgres::Pool;
use tollgate_shared::session::SessionKey;
use tollgate_shared::SigningKey;

use reqwest::Url;

use crate::fleet::{Fleet, FleetSettings};
use crate::http::cookies::CookiePolicy;
use crate::mail::{MailError, MailSettings, Mailer};
use crate::metrics::Metrics;
use crate::outbox::{Outbox, OutboxSettings, Purger};
use crate::resolver::Resolver;
use crate::streams::{StreamSettings, Streams};
use crate::throttle::Throttle;

/// Cloned for every request (axum's `State`): one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub pool: Pool,
    pub metrics: Arc<Metrics>,
    /// `EDGE_ORIGIN_SECRET`: the only thing that makes stamped identity trustworthy.
    pub edge_key: Option<Arc<SigningKey>>,
    /// `ORIGIN_REQUIRE_EDGE`: credentials are taken only from the edge's signed stamps.
    pub require_edge: bool,
    /// `/metrics` is served on its own listener (`METRICS_LISTEN_ADDR`), not here.
    pub metrics_elsewhere: bool,
    /// `JWT_SECRET`: verifies session JWTs; `None` = no session is valid.
    pub session_key: Option<Arc<SessionKey>>,
    pub resolver: Resolver,
    pub outbox: Arc<Outbox>,
    /// `FLEET_URL`: cloud PATs and the cloud-runtime proxy; `None` = not configured.
    pub fleet: Option<Arc<Fleet>>,
    /// `SMTP_URL` / `MAIL_DIR`: sign-in codes; `None` = no sign-in by code.
    pub mailer: Option<Arc<Mailer>>,
    /// `SESSION_TTL_DAYS`: how long a signed-in session lives.
    pub session_ttl_days: u32,
    /// How the session cookies are written (`PUBLIC_URL`).
    pub cookies: CookiePolicy,
    /// `PUBLIC_URL`: where people reach Tollgate; the sign-in routes refuse browser
    /// requests from any other origin.
    pub public_url: Option<Url>,
    /// The sign-in routes' own limits.
    pub throttle: Throttle,
    /// `CONSOLE_DIR`: the console, served under `/console/`.
    pub console: Option<crate::console::Console>,
    /// The event streams this process holds (`serve` starts their listener).
    pub streams: Arc<Streams>,
}

/// How an origin is set up, apart from its database.
#[derive(Debug, Default)]
pub struct Wiring {
    pub edge_key: Option<SigningKey>,
    /// Sends purges to the edge; `None` when the origin runs alone.
    pub purger: Option<Purger>,
    pub outbox: OutboxSettings,
    pub require_edge: bool,
    pub metrics_elsewhere: bool,
    pub session_key: Option<SessionKey>,
    /// `SESSION_TTL_DAYS`; `None` = the default.
    pub session_ttl_days: Option<u32>,
    pub fleet: FleetSettings,
    pub mail: Option<MailSettings>,
    /// `PUBLIC_URL`: cookies are `Secure` unless it is plain http (to this machine).
    pub public_url: Option<Url>,
    pub console: Option<crate::console::Console>,
    /// The event streams' bounds.
    pub streams: StreamSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("mail: {0}")]
    Mail(#[from] MailError),
}

impl AppState {
    pub fn new(pool: Pool, options: Wiring) -> Result<AppState, SetupError> {
        let metrics = Arc::new(Metrics::new()?);
        let fleet = Fleet::new(&options.fleet)?.map(Arc::new);
        let mailer = options
            .mail
            .as_ref()
            .map(|mail| Mailer::new(mail, metrics.clone()).map(Arc::new))
            .transpose()?;
        let cookies = CookiePolicy {
            secure: options
                .public_url
                .as_ref()
                .is_none_or(|u| u.scheme() != "http"),
        };
        let outbox = Outbox::new(
            pool.clone(),
            options.purger,
            metrics.clone(),
            options.outbox,
        );
        Ok(AppState(Arc::new(Shared {
            resolver: Resolver::new(
                pool.clone(),
                metrics.clone(),
                fleet.clone(),
                options.fleet.positive_ttl_secs,
            ),
            fleet,
            outbox: Arc::new(outbox),
            pool,
            metrics,
            edge_key: options.edge_key.map(Arc::new),
            require_edge: options.require_edge,
            metrics_elsewhere: options.metrics_elsewhere,
            session_key: options.session_key.map(Arc::new),
            mailer,
            session_ttl_days: options
                .session_ttl_days
                .unwrap_or(crate::config::DEFAULT_SESSION_TTL_DAYS),
            cookies,
            public_url: options.public_url,
            throttle: Throttle::default(),
            console: options.console,
            streams: Streams::new(options.streams),
        })))
    }
}
