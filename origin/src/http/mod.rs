//! The HTTP layer: errors and JSON, request ids, edge trust, the caller extractors and
//! the internal router's signature check. Nothing here knows the routes (`crate::routes`)
//! or builds SQL.

pub mod callers;
pub mod cookies;
pub mod edge_trust;
pub mod error;
pub mod internal;
pub mod json;
pub mod limits;
pub mod request_id;
pub mod same_site;

pub use callers::{CloudRuntimeCaller, DaemonCaller, HumanCaller, InWorkspace, UserCaller};
pub use error::{AppError, AppResult};
