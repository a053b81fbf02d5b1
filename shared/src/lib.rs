//! `tollgate-shared`: the pure half of Tollgate, compiled natively for the origin and
//! to `wasm32-unknown-unknown` for the edge worker. Nothing here does I/O.
//!
//! - [`token`]: token kinds, generation, parsing with checksum, hashing, secret newtypes.
//! - [`actor`]: who is calling, one enum variant per kind of caller, and its encodings.
//! - [`routes`]: which class a (method, path) is: public, user, daemon, internal, not served.
//! - [`access`]: which credentials each route class accepts, and bearer extraction.
//! - [`scope`]: how far a PAT reaches (one workspace or all, read or write), and its ceiling.
//! - [`errors`]: the authentication failures, with their messages and challenges.
//! - [`session`]: session JWTs (HS256) and CSRF tokens.
//! - [`sign_in`]: sign-in codes; [`leaks`]: leaked-token reports; [`limits`]: the rate
//!   limits of the public routes that have their own.
//! - [`wire`]: the bodies of the calls between the edge and the origin.
//! - [`cache`]: KV cache keys, entries and TTL rules.
//! - [`signing`]: the edge↔origin HMAC request signature (`tollgate-v2`) and signed answers.
//! - [`client`]: the key a client is counted by (its address, an IPv6 /64).
//! - [`expiring`]: a bounded in-memory map whose entries expire (the in-process caches).
//! - [`settings`]: the rules both sides apply to their secrets and URLs at start-up.
//! - [`headers`], [`bearer`], [`request_id`]: the small print of HTTP.
//!
//! With the `utoipa` feature (the origin's, never the Worker's) the wire types also
//! describe themselves for the OpenAPI document (`schema.rs` for the hand-written ones).

pub mod access;
pub mod actor;
pub mod bearer;
pub mod cache;
pub mod client;
pub mod device;
pub mod errors;
pub mod expiring;
pub mod headers;
mod hex;
pub mod leaks;
pub mod limits;
pub mod request_id;
pub mod routes;
#[cfg(feature = "utoipa")]
mod schema;
pub mod scope;
pub mod session;
pub mod settings;
pub mod sign_in;
pub mod signing;
pub mod streams;
pub mod token;
pub mod wire;

#[cfg(test)]
mod properties;

pub use access::{Credential, RouteClass};
pub use actor::{Actor, ActorSource};
pub use cache::{cache_key, ttl_for_expiry, CacheEntry};
pub use errors::AuthError;
pub use scope::{Access, Scope};
pub use signing::{SignatureError, SigningKey};
pub use token::{RawToken, Token, TokenError, TokenHash, TokenKind};
