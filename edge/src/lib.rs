//! `tollgate-edge`: the Cloudflare Worker in front of the origin. It strips identity
//! headers, authenticates the caller (KV cache first, the origin's resolver on a miss),
//! stamps the identity into signed headers and forwards the request.
//!
//! Everything that does not touch the Workers runtime is a plain module, tested on the
//! host with `cargo test -p tollgate-edge`: [`route`] (which class a request is),
//! [`flow`] (cache → resolve → store, behind the `Kv` and `Origin` traits), [`cache`],
//! [`resolve`], [`forward`], [`purge`], [`errors`], [`config`]. `glue` (wasm32 only) implements the
//! traits for Workers and turns decisions into responses.

pub mod cache;
pub mod config;
pub mod errors;
pub mod flow;
pub mod forward;
pub mod negative;
pub mod purge;
pub mod resolve;
pub mod route;

#[cfg(test)]
mod properties;

#[cfg(target_arch = "wasm32")]
mod glue;
