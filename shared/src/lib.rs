//! `tollgate-shared`: the pure half of Tollgate, compiled natively for the origin and
//! to `wasm32-unknown-unknown` for the edge worker. Nothing here does I/O.
//!
//! - [`token`]: token kinds, generation, parsing with checksum, hashing, secret newtypes.
//! - [`cache`]: KV cache keys and TTL rules.
//! - [`identity`]: the caller identity and its stamped headers.
//! - [`signing`]: the edge↔origin HMAC request signature (`tollgate-v1`).

pub mod bearer;
pub mod cache;
mod hex;
pub mod identity;
pub mod request_id;
pub mod signing;
pub mod token;

pub use cache::{cache_key, ttl_for_expiry, CacheEntry};
pub use identity::{ActorSource, Identity};
pub use signing::{SignatureError, SigningKey};
pub use token::{RawToken, Token, TokenError, TokenHash, TokenKind};
