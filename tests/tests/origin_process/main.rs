//! The real `tollgate-origin` binary: admin commands, `serve`, start-up errors. One test
//! binary, a module per subject.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod serve;
mod tokens;
