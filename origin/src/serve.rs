//! `tollgate-origin serve`: migrate, bind, serve until SIGINT/SIGTERM, drain.
//!
//! Connections are served by hyper directly (not `axum::serve`) so that a client cannot
//! hold one open for free: headers must arrive within [`HEADER_READ_TIMEOUT`], bodies
//! within [`BODY_READ_TIMEOUT`] (the router's layer), and idle keep-alive connections are
//! closed by the timer.

use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::{app, metrics_app};
use crate::config::Config;
use crate::db::{self, migrate};
use crate::fleet::FleetSettings;
use crate::outbox::{OutboxSettings, Purger};
use crate::state::{AppState, Wiring};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Migrate(#[from] migrate::MigrateError),
    #[error(transparent)]
    Pool(#[from] db::PoolSetupError),
    #[error("{0}: cannot listen on {1}: {2}")]
    Bind(&'static str, SocketAddr, std::io::Error),
    #[error("startup failed: {0}")]
    Other(String),
}

pub const POOL_SIZE: usize = 32;
/// A client must have sent all its headers within this time.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Headers hyper accepts before answering 431 itself (with no body); the router answers
/// JSON 431 above `http::limits::MAX_HEADERS`, well below this.
const HYPER_MAX_HEADERS: usize = 256;
/// How long in-flight requests may finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

pub async fn serve(config: Config) -> Result<(), ServeError> {
    let applied = migrate::run(&config.database_url).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    let pool = db::pool(&config.database_url, POOL_SIZE)?;
    let purger = match (&config.edge_purge_url, &config.edge_origin_secret) {
        (Some(url), Some(key)) => Some(
            Purger::new(url.clone(), key.clone()).map_err(|e| ServeError::Other(e.to_string()))?,
        ),
        _ => None,
    };
    let options = Wiring {
        edge_key: config.edge_origin_secret.clone(),
        purger,
        outbox: OutboxSettings::default(),
        require_edge: config.require_edge,
        metrics_elsewhere: config.metrics_listen_addr.is_some(),
        session_key: config.session_key.clone(),
        session_ttl_days: Some(config.session_ttl_days),
        fleet: FleetSettings {
            url: config.fleet_url.clone(),
            ..FleetSettings::default()
        },
        mail: config.mail.clone(),
        public_url: config.public_url.clone(),
        console: config.console.clone(),
        streams: config.streams,
    };
    if let Some(crate::mail::MailSettings {
        transport: crate::mail::MailTransport::Dir(dir),
        ..
    }) = &config.mail
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| ServeError::Other(format!("MAIL_DIR {}: {e}", dir.display())))?;
        tracing::info!(dir = %dir.display(), "mail goes to files (MAIL_DIR)");
    }
    let state = AppState::new(pool, options).map_err(|e| ServeError::Other(e.to_string()))?;
    let bind = |what, addr| async move {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| ServeError::Bind(what, addr, e))?;
        let local = listener
            .local_addr()
            .map_err(|e| ServeError::Bind(what, addr, e))?;
        Ok::<_, ServeError>((listener, local))
    };
    let (listener, addr) = bind("LISTEN_ADDR", config.listen_addr).await?;
    let metrics = match config.metrics_listen_addr {
        Some(at) => Some(bind("METRICS_LISTEN_ADDR", at).await?),
        None => None,
    };

    let (stop, stopped) = watch::channel(false);
    let outbox = state.outbox.clone();
    let dispatcher = tokio::spawn({
        let stopped = stopped.clone();
        async move { outbox.run_dispatcher(stopped).await }
    });
    let listener_task = tokio::spawn(crate::streams::listener::run(
        state.streams.clone(),
        state.pool.clone(),
        config.database_url.clone(),
        stopped.clone(),
    ));
    let metrics_server = metrics.map(|(listener, at)| {
        tracing::info!(addr = %at, "metrics listening");
        tokio::spawn(serve_connections(
            listener,
            metrics_app(state.clone()),
            stopped.clone(),
        ))
    });
    tracing::info!(
        %addr,
        edge = state.edge_key.is_some(),
        purge = state.outbox.delivers(),
        require_edge = state.require_edge,
        "tollgate-origin listening"
    );
    let api = tokio::spawn(serve_connections(listener, app(state), stopped));
    shutdown_signal().await;
    let _ = stop.send(true);
    let _ = api.await;
    if let Some(server) = metrics_server {
        let _ = server.await;
    }
    let _ = dispatcher.await;
    let _ = listener_task.await;
    Ok(())
}

/// Accepts connections until `stop` turns true, then lets open ones finish (≤ [`DRAIN`]).
async fn serve_connections(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_headers(HYPER_MAX_HEADERS);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // The peer, for requests that do not come through the edge (`ClientAddress`).
        let peer = axum::Extension(axum::extract::ConnectInfo(peer));
        let service = TowerToHyperService::new(tower::Layer::layer(&peer, router.clone()));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Clients that go away mid-request are not worth a log line.
            let _ = connection.await;
        });
    }
    drop(listener);
    let drained = pin!(graceful.shutdown());
    if tokio::time::timeout(DRAIN, drained).await.is_err() {
        tracing::warn!("connections still open after the drain period; closing them");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
