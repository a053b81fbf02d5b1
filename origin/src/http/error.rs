//! One error type for every handler. Each variant knows its status; 5xx bodies are
//! opaque and their details go to the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tollgate_shared::errors::RETRY_AFTER_SECS;
use tollgate_shared::AuthError;

use crate::db::StoreError;
use crate::domain_error::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(&'static str),
    /// Who is calling could not be established, or may not call this: the same
    /// statuses, messages and challenges as the edge's.
    #[error("{0}")]
    Auth(AuthError),
    #[error("not found")]
    NotFound,
    /// 404 for a named thing (`workspace not found`, `runtime not found`).
    #[error("{0}")]
    Missing(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(&'static str),
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
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Auth(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED)
            }
            AppError::NotFound | AppError::Missing(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            AppError::UriTooLong => StatusCode::URI_TOO_LONG,
            AppError::DatabaseUnavailable
            | AppError::VerifierUnavailable
            | AppError::CloudRuntimeNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            AppError::CloudRuntimeUnavailable => StatusCode::BAD_GATEWAY,
            AppError::CloudRuntimeTimeout => StatusCode::GATEWAY_TIMEOUT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error".to_owned()
            }
            AppError::DatabaseUnavailable => {
                tracing::warn!("database unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let mut response = (status, Json(json!({ "error": message }))).into_response();
        let headers = response.headers_mut();
        match self {
            AppError::Auth(e) => {
                if let Some(challenge) = e.challenge() {
                    headers.insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(challenge),
                    );
                }
            }
            // Every 503 says when to retry (a Fleet that is not configured yet too).
            AppError::DatabaseUnavailable
            | AppError::VerifierUnavailable
            | AppError::CloudRuntimeNotConfigured => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECS),
                );
            }
            _ => {}
        }
        response
    }
}

/// The one place the domain's refusals get their HTTP status.
impl From<DomainError> for AppError {
    fn from(e: DomainError) -> AppError {
        match e {
            DomainError::Auth(e) => AppError::Auth(e),
            DomainError::Invalid(m) => AppError::BadRequest(m),
            DomainError::Missing(m) => AppError::Missing(m),
            DomainError::Conflict(m) => AppError::Conflict(m),
            DomainError::VerifierUnavailable => AppError::VerifierUnavailable,
            DomainError::Store(e) => AppError::from(e),
            DomainError::Internal(detail) => AppError::Internal(detail),
        }
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
