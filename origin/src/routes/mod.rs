//! The HTTP endpoints, one module per resource. Each handler's signature says who may
//! call it (`crate::http::callers`).

pub mod account;
pub mod auth;
pub mod cloud_runtime;
pub mod daemon;
pub mod daemon_tokens;
pub mod device;
pub mod docs;
pub mod health;
pub mod install_tokens;
pub mod internal;
pub mod leaks;
pub mod me;
pub mod members;
pub mod pats;
pub mod runtimes;
pub mod sessions;
pub mod streams;
pub mod task_runs;
pub mod tasks;
pub mod workspaces;
