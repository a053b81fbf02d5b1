//! The origin's side of the test kit (`tollgate-tests`, which has the cluster, the
//! databases, the fixtures made through the API and the edge's signatures): the real
//! router called in process on a fresh database ([`app`]), data put there through the
//! origin's own code where the API cannot ([`seed`]), and requests as the edge forwards
//! them ([`edge`]).

pub mod app;
pub mod edge;
pub mod seed;

pub use app::{
    edge_app, mailing, mailing_app, Options, TestApp, CHALLENGE, CHALLENGE_INVALID, JWT_SECRET,
    SECRET,
};
pub use edge::{
    internal_request, pat_actor, resolve_body, resolve_request, send_stamped, stale, stamped,
};
pub use seed::{count, last_used, member, owner, team};
pub use tollgate_tests::api::TestResponse;
pub use tollgate_tests::signing::now;
