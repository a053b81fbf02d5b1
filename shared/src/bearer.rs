//! `Authorization: Bearer <token>` (RFC 6750), read the same way at the edge and the
//! origin.

/// The token of a `Bearer` authorization value (scheme case-insensitive, surrounding
/// spaces ignored), or `None` for any other shape.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn shapes() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bEaReR abc"), Some("abc"));
        assert_eq!(bearer(" BEARER  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer   "), None);
        assert_eq!(bearer("abc"), None);
    }
}
