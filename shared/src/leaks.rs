//! Leaked-token reports: `POST /api/tokens/revoke-leaked` (public, like `/api/ping`)
//! takes the strings a secret scanner or a person found, and revokes those that are our
//! live tokens. Only the kinds a report can end are looked up; install tokens (15
//! minutes, single use) and cloud PATs (Fleet's, not ours) are ignored.

use crate::token::TokenKind;

pub const REVOKE_LEAKED_PATH: &str = "/api/tokens/revoke-leaked";
/// Strings in one report, at most.
pub const MAX_TOKENS: usize = 1000;
/// A report's body, at most (both sides).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The `source` (where the tokens were found), at most.
pub const MAX_SOURCE_BYTES: usize = 2048;

/// Whether a report revokes tokens of `kind`.
pub fn reportable(kind: TokenKind) -> bool {
    matches!(kind, TokenKind::Pat | TokenKind::Daemon | TokenKind::Task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_end_our_long_lived_kinds_only() {
        let reported: Vec<TokenKind> = TokenKind::ALL
            .into_iter()
            .filter(|k| reportable(*k))
            .collect();
        assert_eq!(
            reported,
            [TokenKind::Pat, TokenKind::Daemon, TokenKind::Task]
        );
    }
}
