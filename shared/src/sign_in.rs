//! Sign-in by emailed code: the two public routes, the code's rules, and the rate limits
//! both sides apply to them. The edge counts each client address with a Rate Limiting
//! binding (its periods can only be 10 or 60 s); the origin counts the same per address,
//! and per email address, which only it sees (the edge streams bodies unread).

use crate::session::SessionKey;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SEND_CODE_PATH: &str = "/api/auth/send-code";
pub const VERIFY_CODE_PATH: &str = "/api/auth/verify-code";

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// How long a code is valid.
pub const CODE_TTL_SECS: i64 = 600;
/// Wrong tries that burn a code: after them, even the right one is refused.
pub const MAX_WRONG_TRIES: i32 = 5;

/// The `error` of a 429 from either side.
pub const TOO_MANY_REQUESTS: &str = "too many sign-in requests";

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
}

/// Codes sent, per client address: 5 a minute.
pub const SENDS_PER_ADDRESS: Limit = Limit {
    name: "send-code:address",
    count: 5,
    period_secs: 60,
    binding: Some("SIGN_IN_SEND_LIMITER"),
};
/// Codes sent, per email address: 3 in 10 minutes (the origin's alone).
pub const SENDS_PER_EMAIL: Limit = Limit {
    name: "send-code:email",
    count: 3,
    period_secs: 600,
    binding: None,
};
/// Verifications, per client address: 20 a minute.
pub const VERIFICATIONS_PER_ADDRESS: Limit = Limit {
    name: "verify-code:address",
    count: 20,
    period_secs: 60,
    binding: Some("SIGN_IN_VERIFY_LIMITER"),
};

/// The per-address limit of `method` on `path`, if it is a sign-in route.
pub fn address_limit(method: &str, path: &str) -> Option<Limit> {
    if !method.eq_ignore_ascii_case("POST") {
        return None;
    }
    match path {
        SEND_CODE_PATH => Some(SENDS_PER_ADDRESS),
        VERIFY_CODE_PATH => Some(VERIFICATIONS_PER_ADDRESS),
        _ => None,
    }
}

/// A new code: `CODE_DIGITS` decimal digits, uniform (rejection sampling), from the OS.
pub fn new_code() -> Result<String, getrandom::Error> {
    const SPACE: u32 = 1_000_000;
    // The largest multiple of SPACE below 2^32: values above it would favour low codes.
    const ZONE: u32 = u32::MAX - u32::MAX % SPACE;
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes)?;
        let n = u32::from_le_bytes(bytes);
        if n < ZONE {
            return Ok(format!("{:06}", n % SPACE));
        }
    }
}

/// Whether `code` has the shape of a code (six ASCII digits): anything else is wrong
/// without a lookup.
pub fn is_code_shaped(code: &str) -> bool {
    code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// What a code is stored under: an HMAC under `JWT_SECRET` of the (normalized) email
/// address, so the table holds no address.
pub fn address_digest(key: &SessionKey, email: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"tollgate sign-in address\n");
    mac.update(email.as_bytes());
    mac.finalize().into_bytes().into()
}

/// What is stored of a code: an HMAC under `JWT_SECRET` of the (normalized) email
/// address and the code, so a copy of the table alone does not give the codes away (a
/// plain hash would fall to a million guesses).
pub fn code_digest(key: &SessionKey, email: &str, code: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"tollgate sign-in code\n");
    mac.update(email.as_bytes());
    mac.update(b"\n");
    mac.update(code.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let code = new_code().unwrap();
            assert!(is_code_shaped(&code), "{code}");
        }
        for bad in ["", "12345", "1234567", "12345a", " 123456", "１２３４５６"] {
            assert!(!is_code_shaped(bad), "{bad:?}");
        }
    }

    #[test]
    fn digests_depend_on_key_address_and_code() {
        let (a, b) = (
            SessionKey::new("a".repeat(32).as_str()),
            SessionKey::new("b".repeat(32).as_str()),
        );
        let (u, v) = ("ada@example.com", "bob@example.com");
        let d = code_digest(&a, u, "123456");
        assert_eq!(d, code_digest(&a, u, "123456"));
        assert_ne!(d, code_digest(&b, u, "123456"));
        assert_ne!(d, code_digest(&a, v, "123456"));
        assert_ne!(d, code_digest(&a, u, "123457"));
        assert_ne!(address_digest(&a, u), address_digest(&a, v));
        assert_ne!(address_digest(&a, u), address_digest(&b, u));
        assert_ne!(address_digest(&a, u), d, "another label");
    }

    #[test]
    fn only_the_two_posts_are_limited() {
        assert_eq!(
            address_limit("POST", SEND_CODE_PATH),
            Some(SENDS_PER_ADDRESS)
        );
        assert_eq!(
            address_limit("post", VERIFY_CODE_PATH),
            Some(VERIFICATIONS_PER_ADDRESS)
        );
        assert_eq!(address_limit("GET", SEND_CODE_PATH), None);
        assert_eq!(address_limit("POST", "/api/auth/logout"), None);
        assert_eq!(address_limit("POST", "/api/auth/send-code/"), None);
        // The edge's binding periods can only be 10 or 60 s.
        for limit in [SENDS_PER_ADDRESS, VERIFICATIONS_PER_ADDRESS] {
            assert!(limit.binding.is_some() && matches!(limit.period_secs, 10 | 60));
        }
    }
}
