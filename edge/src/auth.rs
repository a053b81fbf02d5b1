//! Credentials of a user route: `Authorization: Bearer <token>` (scheme
//! case-insensitive, RFC 6750), parsed and checksummed with zero I/O.

use tollgate_shared::bearer::bearer;
use tollgate_shared::token::{self, Token};
use tollgate_shared::TokenKind;

use crate::errors::EdgeError;

/// The token of a user-route request, or the 401 to answer. Bad checksums and unknown
/// prefixes are refused here, before any KV or origin call.
pub fn user_token(authorization: Option<&str>) -> Result<Token<'_>, EdgeError> {
    let value = authorization.ok_or(EdgeError::MISSING_AUTHORIZATION)?;
    let raw = bearer(value).ok_or(EdgeError::INVALID_AUTHORIZATION_FORMAT)?;
    let token = token::parse(raw).map_err(|_| EdgeError::INVALID_TOKEN)?;
    // User routes take user credentials; the other kinds get their own routes.
    match token.kind {
        TokenKind::Pat => Ok(token),
        _ => Err(EdgeError::INVALID_TOKEN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_shared::RawToken;

    #[test]
    fn bearer_extraction() {
        let t = RawToken::generate(TokenKind::Pat).unwrap();
        let header = format!("Bearer {}", t.expose());
        let ok = user_token(Some(&header)).unwrap();
        assert_eq!(ok.kind, TokenKind::Pat);
        assert_eq!(ok.expose(), t.expose());
        assert!(user_token(Some(&format!("bearer {}", t.expose()))).is_ok());
        assert!(user_token(Some(&format!("BEARER  {} ", t.expose()))).is_ok());
        assert_eq!(
            user_token(None).unwrap_err(),
            EdgeError::MISSING_AUTHORIZATION
        );
        assert_eq!(
            user_token(Some(&format!("Basic {}", t.expose()))).unwrap_err(),
            EdgeError::INVALID_AUTHORIZATION_FORMAT
        );
        assert_eq!(
            user_token(Some("Bearer")).unwrap_err(),
            EdgeError::INVALID_AUTHORIZATION_FORMAT
        );
    }

    #[test]
    fn garbage_and_other_kinds_are_invalid_tokens() {
        let mut raw = RawToken::generate(TokenKind::Pat)
            .unwrap()
            .expose()
            .to_owned();
        raw.replace_range(43..44, if raw.ends_with('0') { "1" } else { "0" });
        for bad in [raw.as_str(), "xyz_123", "mul_short"] {
            assert_eq!(
                user_token(Some(&format!("Bearer {bad}"))).unwrap_err(),
                EdgeError::INVALID_TOKEN
            );
        }
        let task = RawToken::generate(TokenKind::Task).unwrap();
        assert_eq!(
            user_token(Some(&format!("Bearer {}", task.expose()))).unwrap_err(),
            EdgeError::INVALID_TOKEN
        );
    }
}
