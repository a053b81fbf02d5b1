//! `X-Request-ID`: a client's value of at most 128 characters of `[A-Za-z0-9._-]` is
//! kept so traces join up across hops; anything else is replaced by a new UUID.

pub fn is_acceptable(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A random (version 4) UUID, formatted the usual way. Falls back to a fixed marker
/// if the system RNG is unavailable: a request id is not a secret.
pub fn new_request_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        return "00000000-0000-4000-8000-000000000000".to_owned();
    }
    from_random_bytes(b)
}

/// A version-4 UUID made of 16 random bytes, for a caller with its own generator.
pub fn from_random_bytes(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = ::hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The id to use for a request that came with `client` (or none).
pub fn choose(client: Option<&str>) -> String {
    choose_or(client, new_request_id)
}

/// [`choose`], with `fresh` making the new id.
pub fn choose_or(client: Option<&str>, fresh: impl FnOnce() -> String) -> String {
    match client {
        Some(v) if is_acceptable(v) => v.to_owned(),
        _ => fresh(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptable_ids() {
        assert!(is_acceptable("abc-123_x.y"));
        assert!(is_acceptable(&"a".repeat(128)));
        assert!(!is_acceptable(&"a".repeat(129)));
        assert!(!is_acceptable(""));
        assert!(!is_acceptable("a b"));
        assert!(!is_acceptable("a\u{e9}"));
    }

    #[test]
    fn choose_keeps_or_replaces() {
        assert_eq!(choose(Some("req-1")), "req-1");
        let fresh = choose(Some("bad id"));
        assert_eq!(fresh.len(), 36);
        assert_eq!(&fresh[14..15], "4");
        assert!(is_acceptable(&fresh));
        assert_ne!(choose(None), choose(None));
    }
}
