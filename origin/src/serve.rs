//! `tollgate-origin serve`: migrate, bind, serve until SIGINT/SIGTERM, drain.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app;
use crate::config::Config;
use crate::db::{self, migrate};
use crate::outbox::{OutboxSettings, Purger};
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Migrate(#[from] migrate::MigrateError),
    #[error(transparent)]
    Pool(#[from] db::PoolSetupError),
    #[error("LISTEN_ADDR: cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("startup failed: {0}")]
    Other(String),
}

pub const POOL_SIZE: usize = 32;

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
    let state = AppState::new(
        pool,
        config.edge_origin_secret.clone(),
        purger,
        OutboxSettings::default(),
    )
    .map_err(|e| ServeError::Other(e.to_string()))?;
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .map_err(|e| ServeError::Bind(config.listen_addr, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Bind(config.listen_addr, e))?;

    let (stop, stopped) = watch::channel(false);
    let outbox = state.outbox.clone();
    let dispatcher = tokio::spawn(async move { outbox.run_dispatcher(stopped).await });
    tracing::info!(
        %addr,
        edge = state.edge_key.is_some(),
        purge = state.outbox.delivers(),
        "tollgate-origin listening"
    );
    let result = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    let _ = stop.send(true);
    let _ = dispatcher.await;
    result.map_err(|e| ServeError::Other(e.to_string()))
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
