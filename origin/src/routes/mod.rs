//! The HTTP endpoints, one module per resource. Each handler's signature says who may
//! call it (`crate::http::callers`).

pub mod health;
pub mod internal;
pub mod me;
pub mod pats;
