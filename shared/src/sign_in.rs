//! Sign-in by emailed code: the two public routes and the code's rules. Their rate
//! limits are in `crate::limits`.

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
}
