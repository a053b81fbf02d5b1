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

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /api/ping`: a public route with a small body, so benchmarks can measure what
/// the edge costs apart from authentication.
pub async fn ping() -> Json<Value> {
    Json(json!({ "pong": true, "service": "tollgate-origin" }))
}

pub async fn readyz(State(state): State<AppState>) -> AppResult<Json<Value>> {
    db::bounded(async {
        let client = state.pool.get().await?;
        db::ping(&client).await
    })
    .await?;
    Ok(Json(json!({ "status": "ready" })))
}

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
