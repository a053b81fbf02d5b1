//! The rate limits of the public routes that have their own (sign-in, leaked-token
//! reports), in one table: both sides count a client by `client::client_key`; the edge
//! with the Rate Limiting binding a limit names (whose periods can only be 10 or 60 s),
//! the origin in process, and per email address too, which only it sees.

use crate::leaks::REVOKE_LEAKED_PATH;
use crate::sign_in::{SEND_CODE_PATH, VERIFY_CODE_PATH};

/// A rate limit: at most `count` per `period_secs`, in fixed windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// What it counts, for the counter's key (`send-code:address`, say).
    pub name: &'static str,
    pub count: u32,
    pub period_secs: u32,
    /// The edge's Rate Limiting binding that counts it (`wrangler.toml`), if the edge
    /// counts it at all.
    pub binding: Option<&'static str>,
    /// The `error` of its 429.
    pub message: &'static str,
}

/// The `error` of a sign-in route's 429, on both sides.
pub const TOO_MANY_SIGN_IN_REQUESTS: &str = "too many sign-in requests";

/// Codes sent, per client address: 5 a minute.
pub const SENDS_PER_ADDRESS: Limit = Limit {
    name: "send-code:address",
    count: 5,
    period_secs: 60,
    binding: Some("SIGN_IN_SEND_LIMITER"),
    message: TOO_MANY_SIGN_IN_REQUESTS,
};
/// Codes sent, per email address: 3 in 10 minutes (the origin's alone).
pub const SENDS_PER_EMAIL: Limit = Limit {
    name: "send-code:email",
    count: 3,
    period_secs: 600,
    binding: None,
    message: TOO_MANY_SIGN_IN_REQUESTS,
};
/// Verifications, per client address: 20 a minute.
pub const VERIFICATIONS_PER_ADDRESS: Limit = Limit {
    name: "verify-code:address",
    count: 20,
    period_secs: 60,
    binding: Some("SIGN_IN_VERIFY_LIMITER"),
    message: TOO_MANY_SIGN_IN_REQUESTS,
};
/// Leaked-token reports, per client address: 60 an hour, GitHub's figure (the origin's
/// alone: no binding counts an hour).
pub const REPORTS_PER_ADDRESS: Limit = Limit {
    name: "revoke-leaked:address",
    count: 60,
    period_secs: 3600,
    binding: None,
    message: "too many reports",
};

/// Device grants asked for, per client address: 10 a minute (the origin's alone; a
/// grant is cheap, but each holds a row for ten minutes).
pub const DEVICE_CODES_PER_ADDRESS: Limit = Limit {
    name: "device-code:address",
    count: 10,
    period_secs: 60,
    binding: None,
    message: "too many device requests",
};
/// Polls for a device grant's token, per client address: 60 a minute (a client polls
/// every 5 s; this leaves room for a dozen behind one address, and bounds a flood of
/// guessed device codes).
pub const DEVICE_POLLS_PER_ADDRESS: Limit = Limit {
    name: "device-token:address",
    count: 60,
    period_secs: 60,
    binding: None,
    message: "too many device requests",
};
/// Wrong user codes entered, per session: 5 a minute (RFC 8628 §5.1's brute-force
/// bound; the origin's alone, as only it knows a code is wrong).
pub const WRONG_USER_CODES_PER_SESSION: Limit = Limit {
    name: "device-user-code:session",
    count: 5,
    period_secs: 60,
    binding: None,
    message: "too many wrong codes",
};

/// The per-address limit of `method` on `path`, if the route has one.
pub fn address_limit(method: &str, path: &str) -> Option<Limit> {
    if !method.eq_ignore_ascii_case("POST") {
        return None;
    }
    match path {
        SEND_CODE_PATH => Some(SENDS_PER_ADDRESS),
        VERIFY_CODE_PATH => Some(VERIFICATIONS_PER_ADDRESS),
        REVOKE_LEAKED_PATH => Some(REPORTS_PER_ADDRESS),
        crate::device::CODE_PATH => Some(DEVICE_CODES_PER_ADDRESS),
        crate::device::TOKEN_PATH => Some(DEVICE_POLLS_PER_ADDRESS),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_limited_posts_are_limited() {
        assert_eq!(
            address_limit("POST", SEND_CODE_PATH),
            Some(SENDS_PER_ADDRESS)
        );
        assert_eq!(
            address_limit("post", VERIFY_CODE_PATH),
            Some(VERIFICATIONS_PER_ADDRESS)
        );
        assert_eq!(
            address_limit("POST", REVOKE_LEAKED_PATH),
            Some(REPORTS_PER_ADDRESS)
        );
        assert_eq!(address_limit("GET", SEND_CODE_PATH), None);
        assert_eq!(address_limit("POST", "/api/auth/logout"), None);
        assert_eq!(address_limit("POST", "/api/auth/send-code/"), None);
    }

    #[test]
    fn every_bound_limit_has_a_period_a_binding_can_count() {
        let all = [
            SENDS_PER_ADDRESS,
            SENDS_PER_EMAIL,
            VERIFICATIONS_PER_ADDRESS,
            REPORTS_PER_ADDRESS,
        ];
        for limit in all {
            if limit.binding.is_some() {
                assert!(matches!(limit.period_secs, 10 | 60), "{limit:?}");
            }
        }
        let names: std::collections::BTreeSet<_> = all.iter().map(|l| l.name).collect();
        assert_eq!(names.len(), all.len(), "one counter name each");
    }
}
