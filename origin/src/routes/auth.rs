//! Signing in by emailed code: `POST /api/auth/send-code` and
//! `POST /api/auth/verify-code`, public and rate limited per client address (here and
//! at the edge) and, for sends, per email address. Signing out is in `sessions`.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tollgate_shared::client::client_key;
use tollgate_shared::limits::{
    SENDS_PER_ADDRESS, SENDS_PER_EMAIL, TOO_MANY_SIGN_IN_REQUESTS, VERIFICATIONS_PER_ADDRESS,
};
use tollgate_shared::session::SessionKey;
use tollgate_shared::AuthError;
use uuid::Uuid;

use crate::http::edge_trust::ClientAddress;
use crate::http::json::JsonBody;
use crate::http::same_site::refuse_cross_site;
use crate::http::{AppError, AppResult};
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::sessions::Opening;
use crate::sign_in;
use crate::state::AppState;
use crate::validate;

/// A sign-in route's 429, as the document lists it.
const TOO_MANY: AppError = AppError::TooManyRequests {
    message: TOO_MANY_SIGN_IN_REQUESTS,
    retry_after: 60,
};

/// `JWT_SECRET`: no session can be opened without it (nor a device grant's codes
/// keyed: `routes::device` asks here too).
pub(crate) fn session_key(state: &AppState) -> AppResult<&SessionKey> {
    let key = state.session_key.as_deref();
    key.ok_or(AppError::SessionsNotConfigured)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SendCode {
    email: Option<String>,
}

refusals! {
    SendCodeRefusals = [
        Refusal::InvalidEmail,
        AuthError::CrossSite => "a browser request from another site",
        TOO_MANY => "Retry-After says when",
        AppError::MailNotConfigured,
        AppError::SessionsNotConfigured,
    ]
}

#[utoipa::path(
    post,
    path = "/api/auth/send-code",
    tag = "sign-in",
    operation_id = "send_code",
    request_body = SendCode,
    responses(
        (status = 204, description = "A 6-digit code, valid 10 minutes, is on its way if the address has an account; the same answer if it has none (nothing is sent then). A new code replaces the last one"),
        SendCodeRefusals
    )
)]
pub async fn send_code(
    State(state): State<AppState>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Result<JsonBody<SendCode>, AppError>,
) -> AppResult<StatusCode> {
    let key = session_key(&state)?;
    let mailer = state.mailer.as_ref().ok_or(AppError::MailNotConfigured)?;
    refuse_cross_site(&headers, state.public_url.as_ref())?;
    // Counted before the body is looked at: a malformed request costs its sender too.
    state
        .throttle
        .count(&SENDS_PER_ADDRESS, &client_key(&client.0))?;
    let JsonBody(body) = body?;
    let email = body
        .email
        .as_deref()
        .and_then(validate::email)
        .ok_or(Refusal::InvalidEmail)?;
    // Counted for every address alike, so a 429 says nothing about an account.
    state.throttle.count(&SENDS_PER_EMAIL, &email)?;
    if let Some(mail) = sign_in::issue(&state.pool, key, &email).await? {
        mailer.send_later(mail, "sign-in code");
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VerifyCode {
    email: Option<String>,
    /// The 6 digits from the message.
    code: Option<String>,
}

impl std::fmt::Debug for VerifyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCode")
            .field("email", &self.email)
            .field("code", &"…")
            .finish()
    }
}

/// Who signed in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignedInUser {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
}

/// A signed-in session: its person, and when it ends (the cookies carry it).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    pub user: SignedInUser,
    pub expires_at: DateTime<Utc>,
}

refusals! {
    VerifyCodeRefusals = [
        AuthError::InvalidCode => "unknown address, or a wrong, expired, used or burned code",
        AuthError::AccountSuspended,
        AuthError::CrossSite => "a browser request from another site",
        TOO_MANY => "Retry-After says when",
        AppError::SessionsNotConfigured,
    ]
}

#[utoipa::path(
    post,
    path = "/api/auth/verify-code",
    tag = "sign-in",
    operation_id = "verify_code",
    request_body = VerifyCode,
    responses(
        (
            status = 200,
            description = "Signed in: `Set-Cookie` carries `tollgate_session` (HttpOnly) and `tollgate_csrf` (its value goes in `X-CSRF-Token` on unsafe requests). The code is used up; five wrong tries burn it",
            body = SignedIn
        ),
        VerifyCodeRefusals
    )
)]
pub async fn verify_code(
    State(state): State<AppState>,
    client: ClientAddress,
    headers: HeaderMap,
    body: Result<JsonBody<VerifyCode>, AppError>,
) -> AppResult<Response> {
    let key = session_key(&state)?;
    // Another site's page must not sign its visitor in to an account of its choosing.
    refuse_cross_site(&headers, state.public_url.as_ref())?;
    state
        .throttle
        .count(&VERIFICATIONS_PER_ADDRESS, &client_key(&client.0))?;
    let JsonBody(body) = body?;
    let email = body.email.as_deref().and_then(validate::email);
    let user_agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
    let ttl_secs = i64::from(state.session_ttl_days) * 86_400;
    let opening = Opening::new(ttl_secs, user_agent, client.known());
    let code = body.code.unwrap_or_default();
    let signed_in = sign_in::verify(&state.pool, key, email, &code, opening).await?;
    let session = &signed_in.session;
    let mut headers = state.cookies.signed_in(&session.jwt, session.ttl_secs)?;
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let user = signed_in.user;
    let body = SignedIn {
        user: SignedInUser {
            id: user.id,
            email: user.email,
            name: user.name,
        },
        expires_at: session.expires_at,
    };
    Ok((headers, Json(body)).into_response())
}
