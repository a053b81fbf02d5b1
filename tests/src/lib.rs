//! `tollgate-tests`: the test kit, and the end-to-end tests (`tests/`) that use it.
//!
//! The kit is what every test of a real server needs, for the origin's HTTP tests
//! (`origin/tests/http`, the router in process) and the end-to-end tests here (the real
//! binaries, `wrangler dev`): the throwaway Postgres cluster that `scripts/test` starts
//! ([`cluster`]) and a fresh database per test in it ([`db`]), the API as tests call it
//! ([`api`]) and the fixtures made through it ([`fixtures`]), the scoped-PAT matrix both
//! sides answer ([`scopes`]), requests signed as the edge
//! signs them ([`signing`]), the metrics scraper ([`metrics`]), a Postgres that stalls
//! ([`proxy`]), a fake Fleet ([`fleet`]), a real SMTP server ([`smtp`]), headless Chromium for the console ([`browser`]), and the processes: the origin binary
//! ([`origin`]), `wrangler dev` ([`edge`]) and the whole stack ([`stack`]); event streams as a client holds them ([`ws`]).
//!
//! Run through `scripts/test`, which builds the binaries and starts the cluster; without
//! it a test binary stops at once, with one line saying so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod api;
pub mod browser;
pub mod cluster;
pub mod db;
pub mod edge;
pub mod fixtures;
pub mod fleet;
pub mod metrics;
pub mod origin;
pub mod proxy;
pub mod scopes;
pub mod signing;
pub mod smtp;
pub mod stack;
pub mod ws;
