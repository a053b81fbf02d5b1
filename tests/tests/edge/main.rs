//! The whole request path through a real `wrangler dev` in front of the real origin:
//! named tests sharing one started stack (`tollgate_tests::stack`), which a custom
//! harness (libtest-mimic) starts on the first test that runs and stops when all are
//! done. Add a test by writing `async fn name(stack: &Stack)` in a module below and
//! listing it in `main`.
//!
//! The tests run one after another, in the order listed: they share one origin, and the
//! outage test stops it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod auth;
mod cloud;
mod console;
mod daemons;
mod device;
mod faults;
mod leaks;
mod locations;
mod members;
mod openapi;
mod outage;
mod renewal;
mod revocation;
mod routing;
mod scopes;
mod sessions;
mod shared_runtimes;
mod sign_in;
mod streams;
mod suspension;
mod tasks;
mod who_acts;

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use libtest_mimic::{Arguments, Failed, Trial};
use tokio::runtime::Runtime;
use tollgate_tests::stack::Stack;

type TestFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

struct Context {
    runtime: Runtime,
    stack: OnceLock<Stack>,
}

impl Context {
    /// Started by the first test that runs: `--list` or a filter that matches nothing
    /// starts nothing.
    fn stack(&self) -> &Stack {
        self.stack
            .get_or_init(|| self.runtime.block_on(Stack::start()))
    }

    fn run(&self, test: impl for<'a> FnOnce(&'a Stack) -> TestFuture<'a>) -> Result<(), Failed> {
        let stack = self.stack();
        self.runtime.block_on(test(stack));
        Ok(())
    }
}

macro_rules! trials {
    ($context:expr; $($module:ident :: $name:ident),* $(,)?) => {
        vec![$({
            let context = Arc::clone(&$context);
            Trial::test(concat!(stringify!($module), "::", stringify!($name)), move || {
                context.run(|stack| Box::pin($module::$name(stack)))
            })
        }),*]
    };
}

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    args.test_threads = Some(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let context = Arc::new(Context {
        runtime,
        stack: OnceLock::new(),
    });
    let mut trials = trials![context;
        auth::a_pat_works_and_the_second_request_is_a_cache_hit,
        auth::a_broken_checksum_never_leaves_the_edge,
        auth::short_lived_tokens_are_not_served_from_cache_after_expiry,
        revocation::revoke_reaches_the_edge_before_the_next_request,
        routing::spoofed_identity_headers_never_reach_the_origin,
        routing::unserved_routes,
        routing::public_routes_are_forwarded_without_credentials,
        routing::methods_the_edge_cannot_forward_exactly_are_405,
        routing::oversized_bodies_are_413_at_the_edge,
        routing::two_authorization_headers_are_refused_like_at_the_origin,
        routing::header_floods_are_431_in_json_at_the_edge,
        sessions::a_browser_session_works_with_csrf_and_costs_no_lookup,
        sessions::a_signed_out_session_is_refused_at_the_edge,
        sign_in::a_person_signs_in_works_in_the_browser_and_signs_out,
        sign_in::a_session_ended_from_another_is_refused_at_the_edge,
        sign_in::five_wrong_codes_burn_it_and_16_verifications_make_one_session,
        sign_in::the_edge_limits_sign_in_requests_per_client,
        console::the_edge_serves_the_console_with_its_security_headers,
        console::a_person_signs_in_makes_a_token_uses_it_and_revokes_it,
        console::signing_out_all_other_sessions_signs_out_the_other_browser,
        console::an_admin_adds_a_computer_and_removes_a_member_after_the_preview,
        suspension::a_suspended_persons_credentials_are_refused_at_the_edge_at_once,
        daemons::enroll_call_and_revoke_through_the_edge,
        tasks::a_task_token_works_while_its_task_runs_and_not_a_moment_longer,
        members::a_removed_member_is_refused_at_the_edge_at_once,
        scopes::every_route_answers_every_scope_and_refusals_never_leave_the_edge,
        scopes::a_removed_members_bound_token_is_refused_at_the_edge_at_once,
        scopes::the_client_creates_and_lists_scoped_tokens,
        daemons::the_client_enrolls_and_keeps_its_token_private,
        device::tollgate_login_is_approved_in_the_browser_and_whoami_works,
        renewal::parallel_renewals_through_the_edge_extend_once_and_the_token_keeps_working,
        renewal::the_daemon_loop_renews_before_its_first_heartbeat,
        renewal::the_daemon_loop_warns_once_its_pat_is_refused_and_goes_on,
        cloud::cloud_refusals_and_fleet_outages_are_asked_every_time,
        cloud::the_cloud_runtime_proxy_through_the_edge,
        cloud::a_cloud_pat_is_verified_once_a_minute_through_the_edge,
        leaks::a_reported_token_stops_working_everywhere_and_its_owner_hears_of_it,
        leaks::leak_reports_keep_to_their_limits_through_the_edge,
        abuse::a_refused_token_is_refused_again_without_a_resolve,
        abuse::a_flood_of_invalid_tokens_gets_429_and_valid_tokens_still_pass,
        who_acts::an_admin_enrolls_a_members_daemon_and_removing_the_member_stops_it_alone,
        shared_runtimes::a_task_on_a_shared_runtime_acts_for_the_member_who_queued_it,
        locations::a_revoked_pat_is_refused_at_another_location_within_2_s,
        locations::a_removed_members_daemon_is_refused_at_another_location_within_2_s,
        locations::without_the_log_every_hit_resolves_at_the_origin,
        streams::a_stream_opens_with_each_credential_and_refuses_the_rest,
        streams::replay_then_live_with_no_gap_or_duplicate_across_a_reconnect,
        streams::an_event_committed_on_another_origin_reaches_the_stream,
        streams::every_end_of_a_credential_closes_its_streams_within_2_s,
        streams::streams_keep_to_their_limits,
        openapi::schemathesis_finds_nothing_at_the_origin_or_the_edge,
    ];
    // Fault injection restarts the shared cluster and kills origins: only where the
    // cluster is ours to restart (scripts/test sets TOLLGATE_FAULTS=1).
    if std::env::var("TOLLGATE_FAULTS").as_deref() == Ok("1") {
        trials.extend(trials![context;
            faults::an_origin_killed_before_its_purge_leaves_it_to_the_outbox,
            faults::postgres_restarted_under_load_is_503_never_500_and_recovers,
            faults::revocations_under_a_mixed_load_take_effect_at_once,
            members::with_the_edge_down_the_purge_lands_once_it_is_back,
        ]);
    }
    trials.extend(trials![context;
        outage::an_origin_that_stalls_is_504_at_the_edge,
        outage::origin_down_is_503_then_recovers,
        outage::no_token_reaches_the_logs,
    ]);
    let conclusion = libtest_mimic::run(&args, trials);
    // The trials are gone: this drops the last reference, and the stack with it.
    drop(context);
    conclusion.exit_code()
}
