//! Every route-specific refusal of the origin, each with its status and its message,
//! written once in the table below. The domain returns them (`DomainError::Refused`),
//! the HTTP layer answers them (`AppError::Refused`), and the OpenAPI annotations list
//! them by variant (`openapi::refusals!`), so a message is never typed twice. Who may
//! call at all (the 401s and 403s the edge shares) is `tollgate_shared::AuthError`.

use tollgate_shared::wire;

/// The table: variant, status, message.
macro_rules! refusal_table {
    ($($(#[$doc:meta])* $variant:ident = $status:literal, $message:expr;)+) => {
        /// A request the origin refuses for what it asks, not for who asks.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Refusal {
            $($(#[$doc])* $variant,)+
        }

        impl Refusal {
            pub const ALL: &'static [Refusal] = &[$(Refusal::$variant),+];

            /// The HTTP status it is answered with.
            pub fn status(self) -> u16 {
                match self {
                    $(Refusal::$variant => $status,)+
                }
            }

            /// The `error` text of the answer.
            pub fn message(self) -> &'static str {
                match self {
                    $(Refusal::$variant => $message,)+
                }
            }
        }
    };
}

refusal_table! {
    // 400: what was asked breaks a rule; the client's to fix.
    /// A body (or query) that is not the JSON the route takes.
    InvalidRequestBody = 400, "invalid request body";
    NameRequired = 400, "name is required";
    NameTooLong = 400, "name is too long";
    NameHasControl = 400, "name must not contain control characters";
    ExpiryTooLong = 400, "expires_in_days must be at most 3650";
    InvalidTokenId = 400, "invalid token id";
    InvalidAccess = 400, "access must be read or write";
    /// A renewal authenticated by anything but a PAT.
    PatsOnly = 400, "only personal access tokens can be renewed";
    InvalidEmail = 400, "invalid email";
    InvalidRole = 400, "role must be owner, admin or member";
    LastOwner = 400, "workspace must have at least one owner";
    InvalidUserId = 400, "invalid user_id";
    /// An exchange whose `token` is not an install token at all (the same words as the
    /// 401 of an install token that is unknown or expired).
    NotAnInstallToken = 400, "invalid_install_token";
    DaemonIdRequired = 400, "daemon_id is required";
    InvalidDaemonId = 400, "invalid daemon_id";
    InvalidVisibility = 400, "invalid visibility";
    RuntimeIdRequired = 400, "runtime_id is required";
    AgentIdRequired = 400, "agent_id is required";
    PromptHasNul = 400, "prompt must not contain NUL";
    InvalidOutcome = 400, "status must be completed or failed";
    /// Signing out with a PAT: only a session has something to end.
    NotASession = 400, "only a session can sign out";
    TokensRequired = 400, "tokens is required";
    // RFC 8628 §3.5's answers to a device's poll, word for word (its client reads them).
    AuthorizationPending = 400, "authorization_pending";
    SlowDown = 400, "slow_down";
    AccessDenied = 400, "access_denied";
    ExpiredToken = 400, "expired_token";
    /// A device code that was never issued (RFC 6749 §5.2).
    InvalidGrant = 400, "invalid_grant";
    /// A poll without a device code (RFC 6749 §5.2).
    InvalidRequest = 400, "invalid_request";

    TooManyTokens = 400, "at most 1000 tokens";
    SourceTooLong = 400, "source is too long";
    // 404: a named thing that does not exist, or not for this caller.
    WorkspaceNotFound = 404, "workspace not found";
    MemberNotFound = 404, "member not found";
    /// Also another person's session: one answer for both.
    SessionNotFound = 404, "session not found";
    RuntimeNotFound = 404, "runtime not found";
    AgentNotFound = 404, "agent not found";
    /// Also a task that is not in the state the call needs.
    TaskNotFound = 404, "task not found";
    InstallTokenNotFound = 404, "install token not found";
    /// Unknown, expired or already decided: one answer for all.
    UserCodeNotFound = 404, "user code not found";
    // 409: the state does not allow it.
    AlreadyAMember = 409, "already a member";
    /// Another member's live daemon token holds the daemon id (the client reads it).
    DaemonIdEnrolled = 409, wire::DAEMON_ID_TAKEN;
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn display_is_the_message_and_messages_are_unique_per_status() {
        let mut seen = BTreeSet::new();
        for r in Refusal::ALL {
            assert_eq!(r.to_string(), r.message());
            assert!(matches!(r.status(), 400 | 404 | 409), "{r:?}");
            assert!(seen.insert((r.status(), r.message())), "{r:?} twice");
        }
        assert_eq!(
            Refusal::DaemonIdEnrolled.message(),
            "daemon id already enrolled"
        );
        assert_eq!(Refusal::WorkspaceNotFound.status(), 404);
    }
}
