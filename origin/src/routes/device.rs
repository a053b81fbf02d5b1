//! `tollgate login` through the browser (RFC 8628, `crate::device`): the client's two
//! public routes — `POST /api/auth/device/code` and `POST /api/auth/device/token` — and
//! the three a signed-in person uses from the console's page to look a grant up and
//! approve or deny it. Those take a session only: a PAT cannot approve itself a new PAT.

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use tollgate_shared::client::client_key;
use tollgate_shared::limits::{
    DEVICE_CODES_PER_ADDRESS, DEVICE_POLLS_PER_ADDRESS, WRONG_USER_CODES_PER_SESSION,
};
use tollgate_shared::AuthError;
use uuid::Uuid;

use crate::db::device_grants::Pending;
use crate::device::{self, Started};
use crate::domain_error::DomainError;
use crate::http::edge_trust::ClientAddress;
use crate::http::json::JsonBody;
use crate::http::{AppError, AppResult, HumanCaller};
use crate::openapi::refusals;
use crate::pats::CreatedPat;
use crate::refusal::Refusal;
use crate::routes::auth::session_key;
use crate::state::AppState;
use crate::{validate, workspaces};

/// The answers carry secrets: never kept by a cache.
fn no_store() -> [(axum::http::HeaderName, HeaderValue); 1] {
    [(CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DeviceCodeRequest {
    /// What the person will be shown, e.g. `tollgate CLI on build-7` (at most 100
    /// characters; the PAT is named after it).
    client_name: Option<String>,
    /// Bind the PAT to this workspace: only a member of it can approve.
    workspace_id: Option<String>,
}

refusals! {
    DeviceCodeRefusals = [
        Refusal::NameTooLong,
        Refusal::NameHasControl,
        Refusal::WorkspaceNotFound => "a workspace_id that is no UUID",
        Refusal::InvalidRequestBody,
        AppError::TooManyRequests { message: DEVICE_CODES_PER_ADDRESS.message, retry_after: 60 } => "10 a minute per client address; Retry-After says when",
        AppError::SessionsNotConfigured,
        AppError::DeviceLoginNotConfigured => "without PUBLIC_URL",
    ]
}

#[utoipa::path(
    post,
    path = "/api/auth/device/code",
    tag = "sign-in",
    operation_id = "device_code",
    request_body = DeviceCodeRequest,
    responses(
        (status = 200, description = "A grant for a person to approve within `expires_in` seconds (RFC 8628 §3.2): show them `user_code` and `verification_uri` (or open `verification_uri_complete`), then poll the token route every `interval` seconds with `device_code`", body = Started),
        DeviceCodeRefusals
    )
)]
pub async fn code(
    State(state): State<AppState>,
    client: ClientAddress,
    body: Result<JsonBody<DeviceCodeRequest>, AppError>,
) -> AppResult<impl IntoResponse> {
    let key = session_key(&state)?;
    let public_url = state
        .public_url
        .as_ref()
        .ok_or(AppError::DeviceLoginNotConfigured)?;
    state
        .throttle
        .count(&DEVICE_CODES_PER_ADDRESS, &client_key(&client.0))?;
    let JsonBody(body) = body?;
    let name = match body.client_name.as_deref().map(str::trim) {
        None | Some("") => "a device".to_owned(),
        named => validate::name(named)?,
    };
    let workspace = body
        .workspace_id
        .as_deref()
        .map(workspaces::parse_id)
        .transpose()?;
    let client = (name, client.known().map(str::to_owned));
    let started = device::start(&state.pool, key, public_url, client, workspace).await?;
    Ok((no_store(), Json(started)))
}

/// A device code. No `Debug`: it is the client's secret.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeviceTokenRequest {
    device_code: Option<String>,
}

refusals! {
    DeviceTokenRefusals = [
        Refusal::AuthorizationPending => "not decided yet: poll again after `interval`",
        Refusal::SlowDown => "polled before `interval` had passed: it grows by 5 s",
        Refusal::AccessDenied => "the person denied it",
        Refusal::ExpiredToken => "expired, or its token was already given out",
        Refusal::InvalidGrant => "no such device code",
        Refusal::InvalidRequest => "no device_code",
        Refusal::InvalidRequestBody,
        AppError::TooManyRequests { message: DEVICE_POLLS_PER_ADDRESS.message, retry_after: 60 } => "60 a minute per client address; Retry-After says when",
        AppError::SessionsNotConfigured,
    ]
}

#[utoipa::path(
    post,
    path = "/api/auth/device/token",
    tag = "sign-in",
    operation_id = "device_token",
    request_body = DeviceTokenRequest,
    responses(
        (status = 200, description = "Approved: a new PAT (the `token`, shown once) named after the client, valid 90 days, bound to the workspace asked for. Given out once: a later poll is `expired_token`", body = CreatedPat),
        DeviceTokenRefusals
    )
)]
pub async fn token(
    State(state): State<AppState>,
    client: ClientAddress,
    body: Result<JsonBody<DeviceTokenRequest>, AppError>,
) -> AppResult<impl IntoResponse> {
    let key = session_key(&state)?;
    state
        .throttle
        .count(&DEVICE_POLLS_PER_ADDRESS, &client_key(&client.0))?;
    let JsonBody(body) = body?;
    let device_code = body.device_code.ok_or(Refusal::InvalidRequest)?;
    let pat = device::poll(&state.pool, key, &device_code).await?;
    Ok((StatusCode::OK, no_store(), Json(pat)))
}

/// A user code, as the person typed it (`XXXX-XXXX`; case and the dash do not matter).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UserCode {
    user_code: Option<String>,
}

/// The session a person decides with: a PAT is refused, and a person who has typed five
/// wrong codes this minute waits. Each attempt takes one of the five first (so parallel
/// attempts cannot all pass), and [`counted`] gives it back unless the code was wrong.
fn deciding_session(state: &AppState, caller: &HumanCaller) -> AppResult<Uuid> {
    let session = caller.session_id.ok_or(AuthError::SessionRequired)?;
    state
        .throttle
        .count(&WRONG_USER_CODES_PER_SESSION, &session.to_string())?;
    Ok(session)
}

/// `result`, its slot of the wrong-code limit kept only if the code was wrong.
fn counted<T>(state: &AppState, session: Uuid, result: Result<T, DomainError>) -> AppResult<T> {
    if !matches!(result, Err(DomainError::Refused(Refusal::UserCodeNotFound))) {
        state
            .throttle
            .refund(&WRONG_USER_CODES_PER_SESSION, &session.to_string());
    }
    Ok(result?)
}

refusals! {
    UserCodeRefusals = [
        Refusal::UserCodeNotFound => "unknown, expired or already decided",
        AuthError::SessionRequired => "a PAT",
        Refusal::InvalidRequestBody,
        AppError::TooManyRequests { message: WRONG_USER_CODES_PER_SESSION.message, retry_after: 60 } => "five wrong codes this minute; Retry-After says when",
        AppError::SessionsNotConfigured,
    ]
}

refusals! {
    ApproveRefusals = [
        Refusal::UserCodeNotFound => "unknown, expired or already decided",
        Refusal::WorkspaceNotFound => "the grant asks for a workspace the person is not a member of",
        AuthError::SessionRequired => "a PAT",
        Refusal::InvalidRequestBody,
        AppError::TooManyRequests { message: WRONG_USER_CODES_PER_SESSION.message, retry_after: 60 } => "five wrong codes this minute; Retry-After says when",
        AppError::SessionsNotConfigured,
    ]
}

#[utoipa::path(
    post,
    path = "/api/auth/device/lookup",
    tag = "sign-in",
    operation_id = "device_lookup",
    request_body = UserCode,
    responses(
        (status = 200, description = "The pending grant of that code: who asks, for which workspace, until when", body = Pending),
        UserCodeRefusals
    ),
    security(("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn lookup(
    State(state): State<AppState>,
    caller: HumanCaller,
    body: Result<JsonBody<UserCode>, AppError>,
) -> AppResult<Json<Pending>> {
    let key = session_key(&state)?;
    let session = deciding_session(&state, &caller)?;
    let JsonBody(body) = body?;
    let typed = body.user_code.unwrap_or_default();
    let pending = device::pending(&state.pool, key, &typed, caller.user_id).await;
    Ok(Json(counted(&state, session, pending)?))
}

async fn decide(
    state: &AppState,
    caller: &HumanCaller,
    body: Result<JsonBody<UserCode>, AppError>,
    approve: bool,
) -> AppResult<StatusCode> {
    let key = session_key(state)?;
    let session = deciding_session(state, caller)?;
    let JsonBody(body) = body?;
    let typed = body.user_code.unwrap_or_default();
    let by = (caller.user_id, session);
    let decided = device::decide(&state.pool, key, &typed, by, approve).await;
    counted(state, session, decided)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/auth/device/approve",
    tag = "sign-in",
    operation_id = "device_approve",
    request_body = UserCode,
    responses(
        (status = 204, description = "Approved, once: the client's next poll gets a new PAT of the person's"),
        ApproveRefusals
    ),
    security(("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn approve(
    State(state): State<AppState>,
    caller: HumanCaller,
    body: Result<JsonBody<UserCode>, AppError>,
) -> AppResult<StatusCode> {
    decide(&state, &caller, body, true).await
}

#[utoipa::path(
    post,
    path = "/api/auth/device/deny",
    tag = "sign-in",
    operation_id = "device_deny",
    request_body = UserCode,
    responses(
        (status = 204, description = "Denied: the client's next poll is `access_denied`"),
        UserCodeRefusals
    ),
    security(("session" = []), ("session_cookie" = [], "csrf" = []))
)]
pub async fn deny(
    State(state): State<AppState>,
    caller: HumanCaller,
    body: Result<JsonBody<UserCode>, AppError>,
) -> AppResult<StatusCode> {
    decide(&state, &caller, body, false).await
}
