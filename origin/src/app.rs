//! The router: every route, and the layers every request passes through.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutBody};
use tower_http::trace::TraceLayer;

use crate::http::edge_trust::edge_trust;
use crate::http::error::AppError;
use crate::http::internal::verify_internal;
use crate::http::json::{json_errors, BODY_READ_TIMEOUT, MAX_BODY_BYTES};
use crate::http::limits::limits;
use crate::http::request_id::{request_id, RequestId};
use crate::routes::{
    cloud_runtime, daemon, daemon_tokens, health, install_tokens, internal, me, members, pats,
    tasks, workspaces,
};
use crate::state::AppState;
use tollgate_shared::wire::{CLOUD_RUNTIME_MAX_BODY_BYTES, CLOUD_RUNTIME_PREFIX};

pub fn app(state: AppState) -> Router {
    let mut routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/ping", get(health::ping))
        .route("/api/me", get(me::me))
        .route("/api/tokens", post(pats::create).get(pats::list))
        .route("/api/tokens/{id}", delete(pats::revoke))
        .route("/api/tokens/current/renew", post(pats::renew_current))
        .route(
            "/api/workspaces",
            post(workspaces::create).get(workspaces::list),
        )
        .route(
            "/api/workspaces/{id}/install-tokens",
            post(install_tokens::mint),
        )
        .route(
            "/api/install-tokens/exchange",
            post(install_tokens::exchange),
        )
        .route(
            "/api/workspaces/{id}/daemon-tokens",
            get(daemon_tokens::list),
        )
        .route(
            "/api/workspaces/{id}/daemon-tokens/{token_id}",
            delete(daemon_tokens::revoke),
        )
        .route(
            "/api/workspaces/{id}/members",
            get(members::list).post(members::add),
        )
        .route(
            "/api/workspaces/{id}/members/{user_id}",
            delete(members::remove).patch(members::change_role),
        )
        .route("/api/workspaces/{id}/leave", post(members::leave))
        .route("/api/workspaces/{id}/events", get(members::events))
        .route("/api/workspaces/{id}/agents", post(tasks::create_agent))
        .route("/api/workspaces/{id}/tasks", post(tasks::create_task))
        .route("/api/workspaces/{id}/tasks/{task_id}", get(tasks::get_task))
        .route("/api/daemon/tasks/claim", post(tasks::claim))
        .route("/api/daemon/tasks/{id}/start", post(tasks::start))
        .route("/api/daemon/tasks/{id}/complete", post(tasks::complete))
        .route("/api/daemon/whoami", get(daemon::whoami))
        .route("/api/daemon/runtimes", post(daemon::register_runtime))
        .route("/api/daemon/heartbeat", post(daemon::heartbeat))
        .merge(cloud_runtime_routes())
        .nest("/internal", internal_routes(&state))
        .fallback(|| async { AppError::NotFound });
    if !state.metrics_elsewhere {
        routes = routes.route("/metrics", get(health::metrics));
    }

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
                .layer(middleware::from_fn(limits))
                .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
                // Back to axum's body type for the layers and extractors below.
                .map_request(|req: Request<TimeoutBody<Body>>| req.map(Body::new))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                .layer(middleware::from_fn_with_state(state.clone(), edge_trust)),
        )
        .with_state(state)
}

/// `/metrics` alone, for `METRICS_LISTEN_ADDR`: scrapers reach it, API clients do not.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn(json_errors))
        .with_state(state)
}

/// The cloud-runtime proxy, with its own body limit in place of the default one.
fn cloud_runtime_routes() -> Router<AppState> {
    let mut routes = Router::new();
    let prefix = CLOUD_RUNTIME_PREFIX.trim_end_matches('/');
    let route = |path: &str| format!("{prefix}{path}");
    for path in cloud_runtime::GET {
        routes = routes.route(&route(path), get(cloud_runtime::forward));
    }
    for path in cloud_runtime::POST {
        routes = routes.route(&route(path), post(cloud_runtime::forward));
    }
    for path in cloud_runtime::DELETE {
        routes = routes.route(&route(path), delete(cloud_runtime::forward));
    }
    routes.layer(DefaultBodyLimit::max(CLOUD_RUNTIME_MAX_BODY_BYTES))
}

/// The edge's calls, all behind the body-digest signature check: a route added here
/// cannot be reached unverified.
fn internal_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/auth/resolve", post(internal::resolve))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            verify_internal,
        ))
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
