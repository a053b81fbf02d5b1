//! `tollgate login` through the browser: RFC 8628's device authorization grant. The
//! routes, the codes' rules and what is stored of them. The origin decides everything
//! (`origin/src/device.rs`); the edge only needs the two public paths.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::session::SessionKey;

/// Public: a client asks for a grant (RFC 8628 §3.1).
pub const CODE_PATH: &str = "/api/auth/device/code";
/// Public: the client polls with its device code (§3.4).
pub const TOKEN_PATH: &str = "/api/auth/device/token";
/// Where a person enters the user code: the console's page (`verification_uri`).
pub const VERIFICATION_PATH: &str = "/console/device";

/// How long a grant may wait for its person (`expires_in`).
pub const EXPIRES_IN_SECS: i64 = 600;
/// How often a client may poll (`interval`); `slow_down` adds [`SLOW_DOWN_SECS`].
pub const INTERVAL_SECS: i32 = 5;
pub const SLOW_DOWN_SECS: i32 = 5;
/// The PAT an approved grant becomes lives this long.
pub const TOKEN_DAYS: i32 = 90;

/// The user code's alphabet: RFC 8628 §6.1's example, consonants without look-alikes
/// (no vowels, so no words either). 20 letters, 8 of them: about 34.6 bits, against at
/// most five guesses a minute per session.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const USER_CODE_LEN: usize = 8;

/// A new user code, uniform over the alphabet (rejection sampling), unformatted.
pub fn new_user_code() -> Result<String, getrandom::Error> {
    let n = USER_CODE_ALPHABET.len() as u8;
    // The largest multiple of 20 that fits a byte: values above it would favour some letters.
    let zone = u8::MAX - u8::MAX % n;
    let mut code = String::with_capacity(USER_CODE_LEN);
    while code.len() < USER_CODE_LEN {
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte)?;
        if byte[0] < zone {
            code.push(char::from(USER_CODE_ALPHABET[usize::from(byte[0] % n)]));
        }
    }
    Ok(code)
}

/// `XXXX-XXXX`, as people read and type it.
pub fn display_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// What a person typed, as stored: case and dashes or spaces ignored; `None` when it
/// cannot be a user code (wrong length, or a letter outside the alphabet).
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// A new device code: 32 random bytes, hex. It is the client's secret until it polls.
pub fn new_device_code() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What is stored of a code of kind `what` ("device" or "user"): an HMAC under
/// `JWT_SECRET`, so a copy of the table gives neither code away (the user code has too
/// little entropy for a plain hash).
pub fn digest(key: &SessionKey, what: &str, code: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"tollgate device ");
    mac.update(what.as_bytes());
    mac.update(b" code\n");
    mac.update(code.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_letters_of_the_alphabet_and_read_back_however_typed() {
        for _ in 0..200 {
            let code = new_user_code().unwrap();
            assert_eq!(code.len(), USER_CODE_LEN);
            assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
            let shown = display_user_code(&code);
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert_eq!(
                normalize_user_code(&shown.to_lowercase()).as_deref(),
                Some(code.as_str())
            );
        }
        assert_eq!(
            normalize_user_code("bcdf ghjk").as_deref(),
            Some("BCDFGHJK")
        );
        for wrong in [
            "",
            "BCDFGHJ",
            "BCDFGHJKL",
            "ABCDFGHJ",
            "BCDF-GHJ0",
            "BCDFGHJ\u{e9}",
        ] {
            assert_eq!(normalize_user_code(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn every_letter_is_drawn() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100 {
            seen.extend(new_user_code().unwrap().bytes());
        }
        assert_eq!(seen.len(), USER_CODE_ALPHABET.len());
    }

    #[test]
    fn the_two_codes_are_stored_apart() {
        let key = SessionKey::new(&"k".repeat(32));
        assert_ne!(digest(&key, "device", "X"), digest(&key, "user", "X"));
        assert_eq!(new_device_code().unwrap().len(), 64);
    }
}
