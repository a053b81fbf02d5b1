//! `GET /healthz` (the process is up), `GET /readyz` (and Postgres answers),
//! `GET /metrics` (Prometheus text), `GET /api/ping` (public, no auth).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

use crate::db;
use crate::http::{AppError, AppResult};
use crate::openapi::refusals;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    operation_id = "healthz",
    responses((status = 200, description = "The process is up", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    #[schema(value_type = String)]
    pub status: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Pong {
    pub pong: bool,
    #[schema(value_type = String)]
    pub service: &'static str,
}

/// `GET /api/ping`: a public route with a small body, so benchmarks can measure what
/// the edge costs apart from authentication.
#[utoipa::path(
    get,
    path = "/api/ping",
    tag = "health",
    operation_id = "ping",
    responses((status = 200, description = "Public: what the edge costs without authentication", body = Pong))
)]
pub async fn ping() -> Json<Pong> {
    Json(Pong {
        pong: true,
        service: "tollgate-origin",
    })
}

refusals! {
    ReadyzRefusals = [AppError::DatabaseUnavailable]
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    operation_id = "readyz",
    responses(
        (status = 200, description = "Postgres answers", body = Health),
        ReadyzRefusals
    )
)]
pub async fn readyz(State(state): State<AppState>) -> AppResult<Json<Health>> {
    db::with_client(&state.pool, |db| Box::pin(db::ping(db)))
        .await
        .map_err(AppError::from)?;
    Ok(Json(Health { status: "ready" }))
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    operation_id = "metrics",
    responses((
        status = 200,
        description = "Prometheus text (here unless `METRICS_LISTEN_ADDR` moves it)",
        content_type = "text/plain",
        body = String
    ))
)]
pub async fn metrics(State(state): State<AppState>) -> AppResult<impl IntoResponse> {
    state.metrics.set_pool(state.pool.status());
    let text = state
        .metrics
        .render()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}
