//! `tollgate-edge`: the Cloudflare Worker in front of the origin. It strips identity
//! headers, authenticates the caller (KV cache first, the origin's resolver on a miss),
//! stamps the identity into signed headers and forwards the request.
//!
//! Everything that does not touch the Workers runtime is a plain module, tested on the
//! host with `cargo test -p tollgate-edge`. A request's raw parts are an [`incoming`]
//! request; it goes: [`dispatch`] (what to do with it, from [`route`]: which class it
//! is) → [`flow`] (cache → resolve → store, behind the `Kv`, `Origin` and `Limiter`
//! traits; [`cache`], [`negative`], [`resolve`]) or [`purge`] → [`forward`] (what is
//! stamped and signed, what goes back) with [`body`] (which bodies stream, which are
//! read, where reading stops). Each call to the origin is bounded by a [`deadline`].
//! [`reply`] is an answer of the edge's own, [`errors`] its refusals, [`config`] its
//! settings. `glue` (wasm32 only) is the runtime side: it reads the request's parts,
//! implements the traits with KV, `fetch` and the Rate Limiting binding, streams bodies
//! and turns decisions into responses.

pub mod body;
pub mod cache;
pub mod config;
pub mod deadline;
pub mod dispatch;
pub mod errors;
pub mod flood;
pub mod flow;
pub mod forward;
pub mod incoming;
pub mod log_status;
pub mod negative;
pub mod purge;
pub mod reply;
pub mod resolve;
pub mod revocation_log;
pub mod revocations;
pub mod route;

#[cfg(test)]
mod properties;

#[cfg(target_arch = "wasm32")]
mod glue;
