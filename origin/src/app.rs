//! The router: every route, and the layers every request passes through.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutBody};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::edge_trust::edge_trust;
use crate::http::error::AppError;
use crate::http::internal::verify_internal;
use crate::http::json::{as_json_error, json_errors, BODY_READ_TIMEOUT, MAX_BODY_BYTES};
use crate::http::limits;
use crate::http::request_id::{request_id, RequestId};
use crate::openapi;
use crate::routes::docs::{self, Documents};
use crate::routes::{
    account, auth, cloud_runtime, daemon, daemon_tokens, device, health, install_tokens, internal,
    leaks, me, members, pats, runtimes, sessions, streams, task_runs, tasks, workspaces,
};
use crate::state::AppState;
use tollgate_shared::wire::CLOUD_RUNTIME_MAX_BODY_BYTES;

pub fn app(state: AppState) -> Router {
    let (routes, documents) = routes(&state);
    let routes = routes.layer(Extension(documents));
    let routes = match &state.console {
        Some(console) => routes.merge(console.router()),
        None => routes,
    };
    let routes = routes.fallback(|| async { AppError::NotFound });

    // Outermost first: every response, even a framework error, gets an id and JSON.
    routes
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(request_id))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
                    // The path only: query strings are the client's and may hold secrets.
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        request_id = id.as_deref().unwrap_or("-")
                    )
                }))
                .layer(middleware::from_fn_with_state(state.clone(), frame))
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

/// Every route, with the documents that describe them: the router and the documents
/// come from the same `routes!` lists, so a route cannot be served undocumented.
pub fn routes(state: &AppState) -> (Router<AppState>, Documents) {
    let (public, public_doc) = public_api(!state.metrics_elsewhere).split_for_parts();
    let (internal, internal_doc) = internal_api().split_for_parts();
    // Every internal route behind the body-digest signature check: a route added there
    // cannot be reached unverified.
    let internal = internal.route_layer(middleware::from_fn_with_state(
        state.clone(),
        verify_internal,
    ));
    (public.merge(internal), documents(public_doc, internal_doc))
}

/// The documents alone, as a server with `/metrics` on its API listener serves them
/// (`tollgate-origin openapi` prints them).
pub fn api_documents() -> Documents {
    let (_, public) = public_api(true).split_for_parts();
    let (_, internal) = internal_api().split_for_parts();
    documents(public, internal)
}

fn documents(public: utoipa::openapi::OpenApi, internal: utoipa::openapi::OpenApi) -> Documents {
    Documents {
        public: openapi::finish(public, false).to_string().into(),
        internal: openapi::finish(internal, true).to_string().into(),
    }
}

/// What clients call.
fn public_api(metrics: bool) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::with_openapi(openapi::PublicApi::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(docs::public))
        .routes(routes!(docs::internal))
        .routes(routes!(health::ping))
        .routes(routes!(me::me))
        .routes(routes!(pats::create, pats::list))
        .routes(routes!(pats::revoke))
        .routes(routes!(account::events))
        .routes(routes!(pats::renew_current))
        .routes(routes!(auth::send_code))
        .routes(routes!(auth::verify_code))
        .routes(routes!(device::code))
        .routes(routes!(device::token))
        .routes(routes!(device::lookup))
        .routes(routes!(device::approve))
        .routes(routes!(device::deny))
        .routes(routes!(sessions::logout))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::revoke))
        .routes(routes!(sessions::revoke_others))
        .routes(routes!(workspaces::create, workspaces::list))
        .routes(routes!(install_tokens::mint))
        .routes(routes!(install_tokens::status))
        .routes(routes!(install_tokens::exchange))
        .routes(routes!(daemon_tokens::list))
        .routes(routes!(daemon_tokens::revoke))
        .routes(routes!(members::list, members::add))
        .routes(routes!(members::remove, members::change_role))
        .routes(routes!(members::preview_removal))
        .routes(routes!(members::leave))
        .routes(routes!(members::events))
        .routes(routes!(streams::workspace))
        .routes(routes!(runtimes::list))
        .routes(routes!(runtimes::change_visibility))
        .routes(routes!(tasks::create_agent))
        .routes(routes!(tasks::create_task))
        .routes(routes!(tasks::get_task))
        .routes(routes!(task_runs::claim))
        .routes(routes!(task_runs::start))
        .routes(routes!(task_runs::complete))
        .routes(routes!(daemon::whoami))
        .routes(routes!(daemon::register_runtime))
        .routes(routes!(daemon::heartbeat))
        .routes(routes!(streams::daemon))
        .merge(cloud_runtime_routes())
        .merge(leak_report_routes());
    if metrics {
        api.routes(routes!(health::metrics))
    } else {
        api
    }
}

/// Leaked-token reports, with their own body limit (1,000 tokens and a source).
fn leak_report_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(leaks::revoke_leaked))
        .layer(DefaultBodyLimit::max(
            tollgate_shared::leaks::MAX_BODY_BYTES,
        ))
}

/// The cloud-runtime proxy, with its own body limit in place of the default one.
fn cloud_runtime_routes() -> OpenApiRouter<AppState> {
    use cloud_runtime as c;
    OpenApiRouter::new()
        .routes(routes!(c::runtime_healthz))
        .routes(routes!(c::runtime_readyz))
        .routes(routes!(c::list_nodes, c::create_node, c::delete_nodes))
        .routes(routes!(c::start_node))
        .routes(routes!(c::stop_node))
        .routes(routes!(c::reboot_node))
        .routes(routes!(c::node_status))
        .routes(routes!(c::exec_on_node))
        .layer(DefaultBodyLimit::max(CLOUD_RUNTIME_MAX_BODY_BYTES))
}

/// The edge's calls.
fn internal_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::InternalApi::openapi()).routes(routes!(internal::resolve))
}

/// Around every request, in one layer (each layer costs a boxed future and a service
/// clone per request): the header and URI limits, JSON for the framework's own errors,
/// and the request count and latency by route template (never the raw path: unbounded
/// labels).
async fn frame(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // A reference-counted clone, not a copy of the template.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let started = Instant::now();
    let response = match limits::check(&req) {
        Err(refused) => refused.into_response(),
        Ok(()) => as_json_error(next.run(req).await),
    };
    let metrics = &state.metrics;
    metrics
        .http_requests
        .with_label_values(&[route, response.status().as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[route])
        .observe(started.elapsed().as_secs_f64());
    response
}
