//! `tollgate-origin`: the origin service behind the edge worker, an axum app over
//! Postgres. It resolves tokens the edge has not cached, owns every decision that must
//! happen exactly once, and delivers cache purges to the edge.
//!
//! Start at [`app::app`] (the router), [`auth`] (who is calling), [`routes`] (what each
//! endpoint does) and [`db`] (every SQL statement). `main.rs` is the CLI.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod json;
pub mod metrics;
pub mod migrate;
pub mod pats;
pub mod purge;
pub mod request_id;
pub mod resolver;
pub mod routes;
pub mod serve;
pub mod state;
pub mod telemetry;

pub use app::app;
pub use config::Config;
pub use state::AppState;
