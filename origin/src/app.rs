//! The router: every route, and the layers every request passes through.

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, delete, get, post};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;

use crate::auth::edge_trust;
use crate::error::AppError;
use crate::json::{json_errors, MAX_BODY_BYTES};
use crate::request_id::{request_id, RequestId};
use crate::routes::{health, internal, me, tokens};
use crate::state::AppState;

pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/ping", get(health::ping))
        .route("/api/me", get(me::me))
        .route("/api/tokens", post(tokens::create).get(tokens::list))
        .route("/api/tokens/{id}", delete(tokens::revoke))
        .route("/internal/auth/resolve", any(internal::resolve))
        .fallback(|| async { AppError::NotFound });

    // Outermost first: every response, even a framework error, gets an id and JSON.
    routes
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(request_id))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
                    // The path only: query strings are the client's and may hold secrets.
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = id.as_deref().unwrap_or("-"))
                }))
                .layer(middleware::from_fn_with_state(state.clone(), track))
                .layer(middleware::from_fn(json_errors))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                .layer(middleware::from_fn_with_state(state.clone(), edge_trust)),
        )
        .with_state(state)
}

/// Request count and latency by route template (never the raw path: unbounded labels).
async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(req).await;
    let metrics = &state.metrics;
    metrics
        .http_requests
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}
