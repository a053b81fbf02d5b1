//! The sign-in routes' own limits: each binding counts the client, by the shared key;
//! over it, 429 before the origin is asked. And `wrangler.toml` binds exactly the
//! shared limits.

use tollgate_shared::limits::{Limit, SENDS_PER_ADDRESS, VERIFICATIONS_PER_ADDRESS};

use super::*;

#[test]
fn a_client_over_a_sign_in_limit_is_refused_with_429() {
    let limiter = CountingLimiter::with_budget(2);
    assert_eq!(run(admit_public(&limiter, CLIENT)), Ok(()));
    assert_eq!(run(admit_public(&limiter, CLIENT)), Ok(()));
    let refused = run(admit_public(&limiter, CLIENT));
    assert_eq!(refused, Err(EdgeError::TooManySignInRequests));
    let e = EdgeError::TooManySignInRequests;
    assert_eq!(
        (e.status(), e.message()),
        (429, "too many sign-in requests")
    );
    assert_eq!(e.headers(), vec![("retry-after", "60")]);
    assert_eq!(limiter.asked.get(), 3);
}

/// The `simple = { limit, period }` of the `[[ratelimits]]` entry called `name`.
fn bound(config: &str, name: &str) -> Option<(u32, u32)> {
    let start = config.find(&format!("name = \"{name}\""))?;
    let simple = config[start..].lines().find(|l| l.starts_with("simple"))?;
    let number = |key: &str| {
        let at = simple.find(key)? + key.len();
        let digits: String = simple[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    Some((number("limit = ")?, number("period = ")?))
}

#[test]
fn wrangler_toml_binds_the_shared_limits() {
    let config = include_str!("../../../../wrangler.toml");
    for limit in [SENDS_PER_ADDRESS, VERIFICATIONS_PER_ADDRESS] {
        let Limit {
            count,
            period_secs,
            binding,
            ..
        } = limit;
        let binding = binding.unwrap();
        assert_eq!(
            bound(config, binding),
            Some((count, period_secs)),
            "{binding}"
        );
    }
}
