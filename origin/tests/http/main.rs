//! The origin over HTTP: the real router, called in process, on a fresh database per
//! test in the throwaway cluster that `scripts/test` starts (`TOLLGATE_TEST_PG`). One
//! test binary, one module per resource; what they share is in `harness` and in the test
//! kit, `tollgate_tests` (its `fixtures` are made through the API).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod cloud_runtime;
mod console;
mod cookies;
mod daemon_ids;
mod daemons;
mod device;
mod device_races;
mod enrollment;
mod fleet;
mod hardening;
mod harness;
mod health;
mod install_tokens;
mod leaks;
mod logs;
mod members;
mod migrations;
mod openapi;
mod pats;
mod purge;
mod removal;
mod removal_races;
mod removal_waits;
mod renewal;
mod resolve;
mod revocation;
mod runtimes;
mod scopes;
mod session_ending;
mod sessions;
mod sign_in;
mod signatures;
mod suspension;
mod tasks;
