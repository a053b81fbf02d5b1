//! One error type for every handler. Each variant knows its status; 5xx bodies are
//! opaque and their details go to the log.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tollgate_shared::errors::RETRY_AFTER_SECS;
use tollgate_shared::AuthError;

use crate::db::StoreError;
use crate::domain_error::DomainError;
use crate::refusal::Refusal;
use crate::throttle::Limited;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// What was asked cannot be done: status and message are the `Refusal`'s.
    #[error("{0}")]
    Refused(Refusal),
    /// Who is calling could not be established, or may not call this: the same
    /// statuses, messages and challenges as the edge's.
    #[error("{0}")]
    Auth(AuthError),
    /// No route here (the router's fallback).
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("request timeout")]
    RequestTimeout,
    #[error("request header fields too large")]
    HeadersTooLarge,
    #[error("uri too long")]
    UriTooLong,
    #[error("database unavailable")]
    DatabaseUnavailable,
    /// Fleet could not say whether a cloud PAT is valid: fail closed, retry later.
    #[error("cloud pat verifier unavailable")]
    VerifierUnavailable,
    /// The cloud-runtime proxy without `FLEET_URL`.
    #[error("cloud runtime is not configured")]
    CloudRuntimeNotConfigured,
    /// Fleet could not be reached (or answered with more than we pass on).
    #[error("cloud runtime unavailable")]
    CloudRuntimeUnavailable,
    /// Fleet did not answer a proxied call in time.
    #[error("cloud runtime timeout")]
    CloudRuntimeTimeout,
    /// Sign-in needs `JWT_SECRET`: without it no session can be opened.
    #[error("sessions are not configured")]
    SessionsNotConfigured,
    /// `send-code` without `SMTP_URL` or `MAIL_DIR`.
    #[error("mail is not configured")]
    MailNotConfigured,
    /// Device login without `PUBLIC_URL`: there is no page to send the person to.
    #[error("device login is not configured")]
    DeviceLoginNotConfigured,
    /// A public route over one of its limits (`tollgate_shared::limits`): its words,
    /// and the seconds until its window ends.
    #[error("{message}")]
    TooManyRequests {
        message: &'static str,
        retry_after: u64,
    },
    /// An event stream asked for without a WebSocket upgrade.
    #[error("websocket upgrade required")]
    UpgradeRequired,
    /// This origin is not listening to the database's announcements (reconnecting, or
    /// stopping), so it could not promise a stream every event.
    #[error("event streams unavailable")]
    StreamsUnavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Refused(r) => {
                StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            AppError::Auth(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED)
            }
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            AppError::UriTooLong => StatusCode::URI_TOO_LONG,
            AppError::DatabaseUnavailable
            | AppError::VerifierUnavailable
            | AppError::CloudRuntimeNotConfigured
            | AppError::SessionsNotConfigured
            | AppError::MailNotConfigured
            | AppError::DeviceLoginNotConfigured
            | AppError::StreamsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::CloudRuntimeUnavailable => StatusCode::BAD_GATEWAY,
            AppError::CloudRuntimeTimeout => StatusCode::GATEWAY_TIMEOUT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` text of the answer: a 500's is opaque (its detail goes to the log).
    pub fn message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }

    /// The header the answer carries besides its body, if any: a 401's challenge, and
    /// when to retry on every 503 (a Fleet or a mailer that is not configured yet too)
    /// and 429.
    pub fn header(&self) -> Option<(HeaderName, HeaderValue)> {
        match self {
            AppError::Auth(e) => e
                .challenge()
                .map(|c| (header::WWW_AUTHENTICATE, HeaderValue::from_static(c))),
            AppError::DatabaseUnavailable
            | AppError::VerifierUnavailable
            | AppError::CloudRuntimeNotConfigured
            | AppError::SessionsNotConfigured
            | AppError::MailNotConfigured
            | AppError::DeviceLoginNotConfigured
            | AppError::StreamsUnavailable => Some((
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            )),
            AppError::TooManyRequests { retry_after, .. } => {
                Some((header::RETRY_AFTER, HeaderValue::from(*retry_after)))
            }
            _ => None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            AppError::DatabaseUnavailable => tracing::warn!("database unavailable"),
            _ => {}
        }
        let body = Json(json!({ "error": self.message() }));
        let mut response = (self.status(), body).into_response();
        if let Some((name, value)) = self.header() {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// The one place the domain's errors become answers.
impl From<DomainError> for AppError {
    fn from(e: DomainError) -> AppError {
        match e {
            DomainError::Auth(e) => AppError::Auth(e),
            DomainError::Refused(r) => AppError::Refused(r),
            DomainError::VerifierUnavailable => AppError::VerifierUnavailable,
            DomainError::Store(e) => AppError::from(e),
            DomainError::Internal(detail) => AppError::Internal(detail),
        }
    }
}

impl From<Limited> for AppError {
    fn from(l: Limited) -> AppError {
        AppError::TooManyRequests {
            message: l.message,
            retry_after: l.retry_after,
        }
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> AppError {
        AppError::Refused(r)
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> AppError {
        AppError::Auth(e)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                AppError::DatabaseUnavailable
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<tokio_postgres::Error> for AppError {
    fn from(e: tokio_postgres::Error) -> AppError {
        AppError::from(StoreError::from(e))
    }
}

impl From<deadpool_postgres::PoolError> for AppError {
    fn from(e: deadpool_postgres::PoolError) -> AppError {
        AppError::from(StoreError::from(e))
    }
}
