//! `/api/cloud-runtime/*`: the owner's cloud runtimes, managed through Fleet. Tollgate
//! decides who is asking (a person or a cloud PAT) and passes the call on; Fleet
//! decides what that user may do with which node.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tollgate_shared::headers::X_REQUEST_ID;
use tollgate_shared::request_id;
use tollgate_shared::wire::CLOUD_RUNTIME_PREFIX;

use crate::fleet::proxy::{Call, FleetAnswer, ProxyError};
use crate::http::json::{read_body, Passthrough};
use crate::http::request_id::{fresh_id, RequestId};
use crate::http::{AppError, AppResult, CloudRuntimeCaller};
use crate::openapi::refusals;
use crate::openapi::schemas::ErrorBody;
use crate::state::AppState;

refusals! {
    /// Fleet unreachable (or answering with more than we pass on), not configured, or
    /// not answering within `CLOUD_RUNTIME_TIMEOUT_SECS`.
    ProxyRefusals = [
        AppError::CloudRuntimeUnavailable,
        AppError::CloudRuntimeNotConfigured,
        AppError::CloudRuntimeTimeout => "35 s",
    ]
}

/// One annotated handler per route, each passing the call to the same path below
/// Fleet's `/api/v1`: an operation of its own in the OpenAPI document.
macro_rules! proxied {
    ($($name:ident: $method:ident $path:literal, $summary:literal;)*) => {
        $(
            #[doc = $summary]
            #[utoipa::path(
                $method,
                path = $path,
                tag = "cloud-runtime",
                summary = $summary,
                responses(
                    (
                        status = "default",
                        description = "Fleet's answer: its status, its JSON as it is, an empty \
                                       body empty, anything else as `{\"error\": \"<body>\"}`; \
                                       its `X-Request-ID`",
                        body = serde_json::Value
                    ),
                    ProxyRefusals,
                ),
                security(
                    ("pat" = []),
                    ("session" = []),
                    ("session_cookie" = [], "csrf" = []),
                    ("cloud_pat" = [])
                )
            )]
            pub async fn $name(
                state: State<AppState>,
                caller: CloudRuntimeCaller,
                req: Request,
            ) -> AppResult<Response> {
                forward(state, caller, req).await
            }
        )*
    };
}

proxied! {
    runtime_healthz: get "/api/cloud-runtime/healthz", "Fleet's health";
    runtime_readyz: get "/api/cloud-runtime/readyz", "Fleet's readiness";
    list_nodes: get "/api/cloud-runtime/nodes", "The caller's cloud nodes";
    create_node: post "/api/cloud-runtime/nodes", "Create a cloud node";
    delete_nodes: delete "/api/cloud-runtime/nodes", "Delete cloud nodes";
    start_node: post "/api/cloud-runtime/nodes/start", "Start a node";
    stop_node: post "/api/cloud-runtime/nodes/stop", "Stop a node";
    reboot_node: post "/api/cloud-runtime/nodes/reboot", "Reboot a node";
    node_status: post "/api/cloud-runtime/nodes/status", "A node's status";
    exec_on_node: post "/api/cloud-runtime/nodes/exec", "Run a command on a node";
}

async fn forward(
    State(state): State<AppState>,
    caller: CloudRuntimeCaller,
    req: Request,
) -> AppResult<Response> {
    let fleet = state
        .fleet
        .clone()
        .ok_or(AppError::CloudRuntimeNotConfigured)?;
    let method = req.method().clone();
    let uri = req.uri().clone();
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map_or_else(fresh_id, |r| r.0.clone());
    // The route limit (1 MiB) applies here, not the default one.
    let body = read_body(req, &state).await?;
    // The router only sends paths under the prefix here.
    let path = uri
        .path()
        .strip_prefix(CLOUD_RUNTIME_PREFIX.trim_end_matches('/'))
        .unwrap_or_default();
    let answer = fleet
        .forward(Call {
            method,
            path,
            query: uri.query(),
            content_type,
            user_id: caller.user_id,
            request_id: &request_id,
            body: body.to_vec(),
        })
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "cloud runtime call failed");
            match e {
                ProxyError::Timeout => AppError::CloudRuntimeTimeout,
                ProxyError::Unreachable(_) | ProxyError::TooLarge => {
                    AppError::CloudRuntimeUnavailable
                }
            }
        })?;
    Ok(relay(answer))
}

/// Fleet's answer for our client: its status, its JSON as it is, an empty body still
/// empty, anything else wrapped as `{"error": "<body>"}`, and its request id if it is
/// one we would accept. Only these pass: no cookie or header of Fleet's reaches the
/// client.
fn relay(answer: FleetAnswer) -> Response {
    let mut response = if answer.body.is_empty() {
        Response::new(Body::empty())
    } else if serde_json::from_slice::<serde::de::IgnoredAny>(&answer.body).is_ok() {
        let mut response = Response::new(Body::from(answer.body));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    } else {
        let error = String::from_utf8_lossy(&answer.body).into_owned();
        Json(ErrorBody { error }).into_response()
    };
    *response.status_mut() = answer.status;
    if let Some(id) = answer
        .request_id
        .filter(|v| v.to_str().is_ok_and(request_id::is_acceptable))
    {
        response.headers_mut().insert(X_REQUEST_ID, id);
    }
    // Fleet's status and body are the answer, whatever they are: not ours to rewrite.
    response.extensions_mut().insert(Passthrough);
    response
}
