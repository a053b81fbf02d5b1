//! `GET /healthz` (the process is up), `GET /readyz` (and Postgres answers),
//! `GET /metrics` (Prometheus text), `GET /api/ping` (public, no auth).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::db;
use crate::http::{AppError, AppResult};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    operation_id = "healthz",
    responses((status = 200, description = "The process is up", body = crate::openapi::schemas::Health))
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /api/ping`: a public route with a small body, so benchmarks can measure what
/// the edge costs apart from authentication.
#[utoipa::path(
    get,
    path = "/api/ping",
    tag = "health",
    operation_id = "ping",
    responses((status = 200, description = "Public: what the edge costs without authentication", body = crate::openapi::schemas::Pong))
)]
pub async fn ping() -> Json<Value> {
    Json(json!({ "pong": true, "service": "tollgate-origin" }))
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    operation_id = "readyz",
    responses((status = 200, description = "Postgres answers", body = crate::openapi::schemas::Health), (status = 503, description = "`database unavailable`", body = crate::openapi::schemas::ErrorBody, headers(("Retry-After" = String, description = "Seconds to wait"))))
)]
pub async fn readyz(State(state): State<AppState>) -> AppResult<Json<Value>> {
    db::bounded(async {
        let client = state.pool.get().await?;
        db::ping(&client).await
    })
    .await?;
    Ok(Json(json!({ "status": "ready" })))
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    operation_id = "metrics",
    responses((status = 200, description = "Prometheus text (here unless `METRICS_LISTEN_ADDR` moves it)", content_type = "text/plain", body = String))
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
