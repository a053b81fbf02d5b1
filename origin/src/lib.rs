//! `tollgate-origin`: the origin service behind the edge worker, an axum app over
//! Postgres. It resolves tokens the edge has not cached, owns every decision that must
//! happen exactly once, and delivers cache purges to the edge.
//!
//! The layout follows the request: [`app`] (the router and its layers) → [`http`]
//! (errors, JSON, request ids, edge trust, and the caller extractors that say who may
//! call a route) → [`routes`] (one module per resource) → domain modules ([`resolver`],
//! [`pats`]) → [`db`] (every SQL statement), [`fleet`] (cloud PATs and runtimes) and [`outbox`] (purges to the edge).
//! [`cli`] holds the admin commands; `main.rs` dispatches them.

pub mod accounts;
pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub mod daemons;
pub mod db;
pub mod device;
pub mod domain_error;
pub mod fleet;
pub mod http;
pub mod leaks;
pub mod mail;
pub mod members;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod outbox;
pub mod pats;
pub mod refusal;
pub mod resolver;
pub mod routes;
pub mod serve;
pub mod sessions;
pub mod sign_in;
pub mod state;
pub mod streams;
pub mod telemetry;
pub mod throttle;
pub mod validate;
pub mod workspaces;

pub use app::app;
pub use config::Config;
pub use state::AppState;
