//! What the domain modules (`pats`, `daemons`, `members`, `workspaces`, `resolver`,
//! `validate`) refuse or fail with, in their own words. They know nothing of HTTP: the
//! HTTP layer gives each its status in one place (`http::error`), the admin CLI its
//! sentence in another (`cli`).

use tollgate_shared::AuthError;

use crate::db::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Who is calling could not be established or may not do this: the vocabulary the
    /// edge shares (status, message and challenge are the `AuthError`'s).
    #[error("{0}")]
    Auth(AuthError),
    /// What was asked breaks a rule (a bad name, an unknown role): the client's to fix.
    #[error("{0}")]
    Invalid(&'static str),
    /// A named thing that does not exist, or not for this caller (`member not found`).
    #[error("{0}")]
    Missing(&'static str),
    /// The state does not allow it (`already a member`, `daemon id already enrolled`).
    #[error("{0}")]
    Conflict(&'static str),
    /// Fleet could not say whether a cloud PAT is valid: fail closed, retry later.
    #[error("cloud pat verifier unavailable")]
    VerifierUnavailable,
    /// The database: unavailable (retry) or a statement that failed (a bug).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Neither the caller's nor the database's doing (no randomness from the OS).
    #[error("internal error: {0}")]
    Internal(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

impl From<AuthError> for DomainError {
    fn from(e: AuthError) -> DomainError {
        DomainError::Auth(e)
    }
}

impl From<tokio_postgres::Error> for DomainError {
    fn from(e: tokio_postgres::Error) -> DomainError {
        DomainError::Store(StoreError::from(e))
    }
}

impl From<deadpool_postgres::PoolError> for DomainError {
    fn from(e: deadpool_postgres::PoolError) -> DomainError {
        DomainError::Store(StoreError::from(e))
    }
}

impl From<tollgate_shared::token::TokenError> for DomainError {
    fn from(e: tollgate_shared::token::TokenError) -> DomainError {
        DomainError::Internal(e.to_string())
    }
}
