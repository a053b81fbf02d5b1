//! The HTTP endpoints, one module per resource.

pub mod health;
pub mod internal;
pub mod me;
pub mod tokens;
