//! The command line: `serve`, `migrate` and the admin commands. Each admin command
//! prints one JSON object on stdout; errors go to stderr with a non-zero exit.

pub mod install_token;
pub mod member;
pub mod pat;
pub mod session;
pub mod user;
pub mod workspace;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::Value;

use crate::db::{self, StoreError};
use crate::domain_error::DomainError;
pub use crate::model::Role;

#[derive(Debug, Parser)]
#[command(
    name = "tollgate-origin",
    version,
    about = "Tollgate origin: token resolution, revocation and admin over Postgres"
)]
pub struct Cli {
    /// Postgres URL (else DATABASE_URL, read by `config::database_url`).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, then serve HTTP on LISTEN_ADDR until SIGINT/SIGTERM.
    Serve,
    /// Apply pending migrations; prints {"applied":[versions]}.
    Migrate,
    /// Print the OpenAPI document (no database needed), for generating clients.
    Openapi {
        /// The edge's signed calls to the origin instead of the public API.
        #[arg(long)]
        internal: bool,
    },
    /// Users.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Workspaces.
    Workspace {
        #[command(subcommand)]
        command: workspace::WorkspaceCommand,
    },
    /// Workspace membership.
    Member {
        #[command(subcommand)]
        command: member::MemberCommand,
    },
    /// Install tokens, for enrolling daemons.
    InstallToken {
        #[command(subcommand)]
        command: install_token::InstallTokenCommand,
    },
    /// Session JWTs (needs JWT_SECRET).
    Session {
        #[command(subcommand)]
        command: session::SessionCommand,
    },
    /// Personal access tokens.
    Pat {
        #[command(subcommand)]
        command: pat::PatCommand,
    },
}

/// `--role owner|admin|member`: the stored roles, by their stored names.
impl ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Role] {
        Role::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// An admin command's failure, said in words for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

/// The one place the domain's refusals become the operator's sentence.
impl From<DomainError> for CliError {
    fn from(e: DomainError) -> CliError {
        match e {
            DomainError::Store(e) => CliError::from(e),
            other => CliError(other.to_string()),
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> CliError {
        match e {
            StoreError::Unavailable(detail) => CliError(format!(
                "DATABASE_URL: cannot connect to the database: {detail}"
            )),
            other => CliError(format!("internal error: {other}")),
        }
    }
}

impl From<tokio_postgres::Error> for CliError {
    fn from(e: tokio_postgres::Error) -> CliError {
        CliError::from(StoreError::from(e))
    }
}

impl From<deadpool_postgres::PoolError> for CliError {
    fn from(e: deadpool_postgres::PoolError) -> CliError {
        CliError::from(StoreError::from(e))
    }
}

pub type CliResult = Result<Value, CliError>;

/// A small pool for one admin command.
pub fn connect(database_url: &str) -> Result<deadpool_postgres::Pool, CliError> {
    db::pool(database_url, 2).map_err(|e| CliError(e.to_string()))
}

/// The user with this email, or an error naming it.
pub async fn user_by_email(
    client: &impl db::GenericClient,
    email: &str,
) -> Result<db::users::User, CliError> {
    let normalized = crate::validate::email(email)
        .ok_or_else(|| CliError(format!("invalid email: {email:?}")))?;
    db::users::find_by_email(client, &normalized)
        .await?
        .ok_or_else(|| CliError(format!("no user with email {normalized}")))
}
