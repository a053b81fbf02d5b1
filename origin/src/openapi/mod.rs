//! The OpenAPI 3.1 descriptions, generated from the handlers' `#[utoipa::path]`
//! annotations and their types (the router and the document are built from the same
//! `routes!` lists in `app.rs`), then completed with what every route of a caller class
//! answers — the shared authentication errors, the edge's own statuses, the request
//! limits — derived from each operation's security requirements, so that no route can
//! forget them.
//!
//! `/openapi.json` describes the API clients call (through the edge or straight to the
//! origin); `/openapi.internal.json` the edge's signed calls to the origin.

pub mod responses;
pub mod schemas;

pub(crate) use responses::refusals;

use serde_json::{json, Value};
use tollgate_shared::access::{self, Credential, RouteClass};
use tollgate_shared::routes::{self, PathClass};
use tollgate_shared::{Access, AuthError, Scope, TokenKind};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::http::AppError;
use crate::refusal::Refusal;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tollgate",
        description = "An auth gateway: a Cloudflare Worker authenticates each request \
                       and forwards it to this origin with the caller's identity signed. \
                       Every error is `{\"error\": \"<message>\"}`; every response carries \
                       `X-Request-ID`."
    ),
    tags(
        (name = "health", description = "Liveness, readiness, metrics, this document"),
        (name = "tokens", description = "Personal access tokens"),
        (name = "workspaces", description = "Workspaces and their members"),
        (name = "daemons", description = "Install tokens, daemon tokens and what daemons call"),
        (name = "tasks", description = "Agents and their tasks"),
        (name = "cloud-runtime", description = "Cloud runtimes, managed through Fleet"),
    ),
    components(schemas(schemas::ErrorBody))
)]
pub struct PublicApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tollgate internal",
        description = "The edge's calls to the origin. Every request and every answer is \
                       signed (`tollgate-v2`, the repository's docs/ARCHITECTURE.md \"Signing\"); without \
                       `EDGE_ORIGIN_SECRET` every path is 404. Not served at the edge."
    ),
    components(schemas(schemas::ErrorBody))
)]
pub struct InternalApi;

/// Security scheme names, as the annotations use them.
pub mod security {
    pub const PAT: &str = "pat";
    pub const SESSION: &str = "session";
    pub const SESSION_COOKIE: &str = "session_cookie";
    pub const CSRF: &str = "csrf";
    pub const TASK_TOKEN: &str = "task_token";
    pub const CLOUD_PAT: &str = "cloud_pat";
    pub const DAEMON_TOKEN: &str = "daemon_token";
    pub const EDGE_SIGNATURE: &str = "edge_signature";
    pub const EDGE_TIMESTAMP: &str = "edge_timestamp";
}

fn bearer(prefix: &str, what: &str) -> Value {
    json!({
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": format!("{prefix}…"),
        "description": format!("{what} in `Authorization: Bearer`."),
    })
}

fn security_schemes(internal: bool) -> Value {
    if internal {
        return json!({
            security::EDGE_SIGNATURE: {
                "type": "apiKey", "in": "header", "name": "X-Edge-Signature",
                "description": "Lowercase hex HMAC-SHA256 (`EDGE_ORIGIN_SECRET`) over \
                                `tollgate-v2`, method, path and query, timestamp and the body's sha256."
            },
            security::EDGE_TIMESTAMP: {
                "type": "apiKey", "in": "header", "name": "X-Edge-Timestamp",
                "description": "Unix seconds; refused more than 60 s from the origin's clock."
            },
        });
    }
    json!({
        security::PAT: bearer("mul_", "A personal access token"),
        security::SESSION: {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "A session JWT (HS256, `JWT_SECRET`) in `Authorization: Bearer`."
        },
        security::SESSION_COOKIE: {
            "type": "apiKey", "in": "cookie", "name": "tollgate_session",
            "description": "A session JWT in the `tollgate_session` cookie; unsafe methods also \
                            need `X-CSRF-Token`."
        },
        security::CSRF: {
            "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
            "description": "The CSRF token minted with the session; required with the cookie on \
                            POST, PUT, PATCH and DELETE."
        },
        security::TASK_TOKEN: bearer("mat_", "An agent's task token, valid while its task runs"),
        security::CLOUD_PAT: bearer("mcn_", "A cloud node's PAT, verified by Fleet"),
        security::DAEMON_TOKEN: bearer("mdt_", "A daemon token"),
    })
}

/// The names of the security schemes an operation takes.
fn scheme_names(operation: &Value) -> Vec<&str> {
    operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.keys().map(String::as_str))
        .collect()
}

/// The 403s a scoped PAT can get on `method path` (a route template), asked of the
/// shared rule itself: every scoped kind, on its own workspace and on another.
fn scope_refusals(method: &str, path: &str) -> Vec<&'static str> {
    let (own, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let method = method.to_ascii_uppercase();
    let scopes = [
        (Some(own), Access::Write),
        (None, Access::Read),
        (Some(own), Access::Read),
    ]
    .map(|(workspace, access)| Scope { workspace, access });
    let mut refusals = Vec::new();
    for scope in scopes {
        for workspace in [own, other] {
            let concrete = path.replace("{id}", &workspace.to_string());
            if let Err(e) = scope.permits(&method, &concrete) {
                if !refusals.contains(&e.message()) {
                    refusals.push(e.message());
                }
            }
        }
    }
    refusals
}

/// Which callers an operation takes, read off its security requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Public,
    /// User routes; `machines` when task tokens may call it (not a human-only route).
    User {
        machines: bool,
    },
    Daemon,
    Internal,
}

/// The path's class, decided where the edge decides it (`shared::routes::classify`);
/// whether machines may call a user route, read off the operation's security.
fn class_of(method: &str, path: &str, operation: &Value) -> Class {
    let names = scheme_names(operation);
    match routes::classify(method, path) {
        PathClass::Internal => Class::Internal,
        PathClass::Authenticated(RouteClass::Daemon) => Class::Daemon,
        PathClass::Authenticated(RouteClass::User) => Class::User {
            machines: names.contains(&security::TASK_TOKEN),
        },
        PathClass::Public | PathClass::NotServed => Class::Public,
    }
}

fn header(description: &str) -> Value {
    json!({ "required": true, "schema": { "type": "string" }, "description": description })
}

/// Adds `messages` under `status`: a new response whose body is exactly one of them,
/// or, where the operation documents the status already, the ones it does not list yet
/// added to its messages and its description.
fn add(operation: &mut Value, status: u16, messages: &[&str], headers: &[(&str, &str)]) {
    if !operation["responses"].is_object() {
        operation["responses"] = json!({});
    }
    let response = &mut operation["responses"][status.to_string()];
    if response.is_null() {
        *response = json!({
            "description": "",
            "content": { "application/json": { "schema": {
                "type": "object",
                "required": ["error"],
                "properties": { "error": { "type": "string", "enum": [] } }
            }}}
        });
    }
    let mut listed = response
        .pointer_mut("/content/application~1json/schema/properties/error/enum")
        .and_then(Value::as_array_mut);
    let mut added = Vec::new();
    for m in messages {
        // A response that lists no exact messages takes any: only its description grows.
        let new = match listed.as_deref_mut() {
            Some(listed) if listed.iter().any(|l| l == m) => false,
            Some(listed) => {
                listed.push(json!(m));
                true
            }
            None => true,
        };
        if new {
            added.push(format!("`{m}`"));
        }
    }
    let description = response["description"].as_str().unwrap_or_default();
    if !added.is_empty() {
        response["description"] = Value::String(if description.is_empty() {
            added.join(", ")
        } else {
            format!("{description}; also {}", added.join(", "))
        });
    }
    for (name, description) in headers {
        response["headers"][*name] = header(description);
    }
}

/// Headers every answer of a status carries, whoever gives it (the origin's
/// `AppError::header`, the edge's answers alike): a 401's challenge, a 503's retry.
const CHALLENGE: (&str, &str) = (
    "WWW-Authenticate",
    "`Bearer` when no usable credential came, `Bearer error=\"invalid_token\"` when one \
     was refused (RFC 6750).",
);
const RETRY_AFTER: (&str, &str) = ("Retry-After", "Seconds to wait before retrying.");

/// What every route of `class` answers besides its own outcomes.
fn complete_operation(operation: &mut Value, class: Class) {
    let auth = |e: AuthError| e.message();
    if operation.get("requestBody").is_some() {
        add(
            operation,
            400,
            &[Refusal::InvalidRequestBody.message()],
            &[],
        );
        add(operation, 408, &[&AppError::RequestTimeout.message()], &[]);
        add(operation, 413, &[&AppError::PayloadTooLarge.message()], &[]);
    }
    add(operation, 414, &[&AppError::UriTooLong.message()], &[]);
    add(operation, 431, &[&AppError::HeadersTooLarge.message()], &[]);
    match class {
        Class::Public | Class::Internal => {}
        Class::User { machines } => {
            let unauthorized = [
                auth(AuthError::MissingAuthorization),
                auth(AuthError::InvalidAuthorizationFormat),
                auth(AuthError::InvalidToken),
                auth(AuthError::InvalidSignature),
                auth(AuthError::InvalidClaims),
                auth(AuthError::EdgeRequired),
            ];
            add(operation, 401, &unauthorized, &[]);
            let mut forbidden = vec![auth(AuthError::CsrfFailed), auth(AuthError::WrongWorkspace)];
            if !machines {
                forbidden.push(auth(AuthError::HumanOnly));
            }
            add(operation, 403, &forbidden, &[]);
        }
        Class::Daemon => {
            add(
                operation,
                401,
                &[
                    auth(AuthError::MissingAuthorizationHeader),
                    auth(AuthError::InvalidAuthorizationFormat),
                    auth(AuthError::InvalidToken),
                    auth(AuthError::InvalidSignature),
                    auth(AuthError::EdgeRequired),
                ],
                &[],
            );
        }
    }
    if matches!(class, Class::User { .. } | Class::Daemon) {
        add(
            operation,
            429,
            &["too many invalid tokens"],
            &[(
                "Retry-After",
                "Seconds until the client's count starts over.",
            )],
        );
        add(
            operation,
            503,
            &[
                &AppError::DatabaseUnavailable.message(),
                "auth backend unavailable",
                &AppError::VerifierUnavailable.message(),
            ],
            &[],
        );
    }
    if class != Class::Internal {
        // The edge's answers when it cannot forward.
        add(operation, 502, &["origin unavailable"], &[]);
        add(operation, 504, &["origin timeout"], &[]);
    }
    let request_id = (
        "X-Request-ID",
        "The request's id: the client's when it was at most 128 of `[A-Za-z0-9._-]`, else a new UUID.",
    );
    let signed = [
        ("X-Edge-Timestamp", "Unix seconds of the answer's signature."),
        (
            "X-Edge-Signature",
            "HMAC over `tollgate-v1-answer`, the request's signature, the status, the timestamp and the body's sha256.",
        ),
    ];
    if let Some(responses) = operation["responses"].as_object_mut() {
        for (status, response) in responses.iter_mut() {
            response["headers"]["X-Request-ID"] = header(request_id.1);
            let carried = match status.as_str() {
                "401" => Some(CHALLENGE),
                "429" | "503" => Some(RETRY_AFTER),
                _ => None,
            };
            if let Some((name, description)) = carried {
                // A route's own description of the header (the invalid-token 429's) stays.
                if response["headers"][name].is_null() {
                    response["headers"][name] = header(description);
                }
            }
            if class == Class::Internal {
                for (name, description) in signed {
                    response["headers"][name] = header(description);
                }
            }
        }
    }
}

/// The finished document: the generated one plus what every class answers.
pub fn finish(api: utoipa::openapi::OpenApi, internal: bool) -> Value {
    let mut doc = serde_json::to_value(api).unwrap_or_else(|_| json!({}));
    doc["components"]["securitySchemes"] = security_schemes(internal);
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            for method in methods {
                if let Some(operation) = item.get_mut(method) {
                    let class = class_of(method, path, operation);
                    // Wherever the route-class table lets a PAT in — even where the
                    // handler then refuses it — a scoped one can be refused for its scope.
                    let pats_reach =
                        routes::classify(method, path)
                            .route_class()
                            .is_some_and(|c| {
                                access::admit(c, Credential::Token(TokenKind::Pat)).is_ok()
                            });
                    if pats_reach {
                        add(operation, 403, &scope_refusals(method, path), &[]);
                    }
                    complete_operation(operation, class);
                }
            }
        }
    }
    doc
}
