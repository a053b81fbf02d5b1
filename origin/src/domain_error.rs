//! What the domain modules (`pats`, `daemons`, `members`, `workspaces`, `resolver`,
//! `validate`) refuse or fail with, in their own words. A refusal carries its status as
//! a number, like the edge's `AuthError` (both are contracts of the API); the domain
//! knows nothing else of HTTP. The HTTP layer answers each in one place (`http::error`),
//! the admin CLI says its sentence in another (`cli`).

use tollgate_shared::AuthError;

use crate::db::StoreError;
use crate::refusal::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Who is calling could not be established or may not do this: the vocabulary the
    /// edge shares (status, message and challenge are the `AuthError`'s).
    #[error("{0}")]
    Auth(AuthError),
    /// What was asked cannot be done (a bad name, a member that does not exist, a daemon
    /// id another member holds): its status and message are the `Refusal`'s.
    #[error("{0}")]
    Refused(Refusal),
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

impl From<Refusal> for DomainError {
    fn from(r: Refusal) -> DomainError {
        DomainError::Refused(r)
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
