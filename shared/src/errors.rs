//! The answers to failed authentication, shared word for word by the edge and the
//! origin: each knows its status, its message and its RFC 6750 challenge, so neither
//! side decides anything by comparing message text.

/// Seconds a client should wait before retrying a 503, on both sides.
pub const RETRY_AFTER_SECS: &str = "5";

/// `WWW-Authenticate` for a request that carried no usable credential.
pub const CHALLENGE: &str = "Bearer";
/// `WWW-Authenticate` for a credential that was presented and refused.
pub const CHALLENGE_INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A user route without `Authorization` or the session cookie.
    #[error("missing authorization")]
    MissingAuthorization,
    /// A daemon route without `Authorization`: daemons authenticate by header only.
    #[error("missing authorization header")]
    MissingAuthorizationHeader,
    /// `Authorization` that is not `Bearer <token>`.
    #[error("invalid authorization format")]
    InvalidAuthorizationFormat,
    /// A token that is malformed, unknown, revoked, expired, or of a kind this route
    /// does not take.
    #[error("invalid token")]
    InvalidToken,
    /// An edge signature that is missing a part, stale, or wrong.
    #[error("invalid signature")]
    InvalidSignature,
    /// A machine (daemon, task token, cloud PAT) on an endpoint for people.
    #[error("this endpoint is only available to human actors")]
    HumanOnly,
    /// Credentials sent straight to an origin that serves only what the edge signed.
    #[error("requests must come through the edge")]
    EdgeRequired,
    /// A known caller without the role an action needs (owner or admin, say).
    #[error("insufficient permissions")]
    InsufficientPermissions,
    /// An install token that is unknown or expired.
    #[error("invalid_install_token")]
    InvalidInstallToken,
    /// An install token that was exchanged before.
    #[error("install_token_already_used")]
    InstallTokenAlreadyUsed,
    /// An install token whose issuer is no longer an owner or admin of its workspace.
    #[error("issuer no longer authorized")]
    IssuerNotAuthorized,
    /// A renewal for a token that was revoked or expired since it authenticated.
    #[error("token is no longer valid")]
    TokenNoLongerValid,
    /// A renewal presenting someone else's token.
    #[error("token does not belong to caller")]
    TokenNotCallers,
    /// A session JWT whose signature holds but whose `sub` is not a user id.
    #[error("invalid claims")]
    InvalidClaims,
    /// A cookie-authenticated unsafe request without the right `X-CSRF-Token`.
    #[error("CSRF validation failed")]
    CsrfFailed,
    /// A task token on a URL of another workspace than its task's.
    #[error("task token is bound to a different workspace")]
    WrongWorkspace,
    /// An install token whose member has left the workspace since it was minted.
    #[error("member no longer in workspace")]
    MemberGone,
    /// A person naming, on a daemon route, a daemon id another member's daemon holds.
    #[error("daemon id belongs to another member")]
    DaemonIdTaken,
    /// Someone else's private runtime: a member's machine is theirs.
    #[error("runtime belongs to another member")]
    RuntimeNotYours,
    /// A PAT bound to one workspace, on a route of another (or of none).
    #[error("token is bound to a different workspace")]
    BoundElsewhere,
    /// A read-only PAT on anything but `GET` and `HEAD` (and its own renewal).
    #[error("token is read-only")]
    ReadOnly,
    /// A scoped PAT minting a wider token, or doing what only unscoped tokens and
    /// sessions do (install tokens, membership, revoking daemon tokens).
    #[error("token cannot grant more than it has")]
    CannotGrant,
    /// A sign-in code that is wrong, expired, used or burned, or for an address with no
    /// account: one answer for all.
    #[error("invalid code")]
    InvalidCode,
    /// The right sign-in code, for an account that is suspended.
    #[error("account suspended")]
    AccountSuspended,
    /// A browser request another site made (its `Origin` or `Sec-Fetch-Site` says so)
    /// to a route only our own pages may call (sign-in).
    #[error("cross-site request refused")]
    CrossSite,
    /// A PAT approving a device login: only a signed-in person may, so no PAT mints
    /// itself a new PAT that way.
    #[error("a device is approved from a signed-in session")]
    SessionRequired,
    /// A credential an event stream does not take: a cloud PAT on a workspace's stream
    /// (its end is Fleet's, and nobody here would hear of it), anything but a daemon
    /// token on the daemon's.
    #[error("this credential cannot open an event stream")]
    NotForStreams,
}

impl AuthError {
    pub const ALL: [AuthError; 27] = [
        AuthError::MissingAuthorization,
        AuthError::MissingAuthorizationHeader,
        AuthError::InvalidAuthorizationFormat,
        AuthError::InvalidToken,
        AuthError::InvalidSignature,
        AuthError::HumanOnly,
        AuthError::EdgeRequired,
        AuthError::InsufficientPermissions,
        AuthError::InvalidInstallToken,
        AuthError::InstallTokenAlreadyUsed,
        AuthError::IssuerNotAuthorized,
        AuthError::TokenNoLongerValid,
        AuthError::TokenNotCallers,
        AuthError::InvalidClaims,
        AuthError::CsrfFailed,
        AuthError::WrongWorkspace,
        AuthError::MemberGone,
        AuthError::DaemonIdTaken,
        AuthError::RuntimeNotYours,
        AuthError::BoundElsewhere,
        AuthError::ReadOnly,
        AuthError::CannotGrant,
        AuthError::InvalidCode,
        AuthError::AccountSuspended,
        AuthError::CrossSite,
        AuthError::SessionRequired,
        AuthError::NotForStreams,
    ];

    pub fn status(self) -> u16 {
        match self {
            AuthError::HumanOnly
            | AuthError::InsufficientPermissions
            | AuthError::IssuerNotAuthorized
            | AuthError::CsrfFailed
            | AuthError::WrongWorkspace
            | AuthError::MemberGone
            | AuthError::DaemonIdTaken
            | AuthError::RuntimeNotYours
            | AuthError::BoundElsewhere
            | AuthError::ReadOnly
            | AuthError::CannotGrant
            | AuthError::AccountSuspended
            | AuthError::CrossSite
            | AuthError::SessionRequired
            | AuthError::NotForStreams => 403,
            _ => 401,
        }
    }

    /// The error whose message `message` is, if one is: how a client decides on the
    /// server's answer without comparing text of its own.
    pub fn from_message(message: &str) -> Option<AuthError> {
        AuthError::ALL.into_iter().find(|e| e.message() == message)
    }

    pub fn message(self) -> &'static str {
        match self {
            AuthError::MissingAuthorization => "missing authorization",
            AuthError::MissingAuthorizationHeader => "missing authorization header",
            AuthError::InvalidAuthorizationFormat => "invalid authorization format",
            AuthError::InvalidToken => "invalid token",
            AuthError::InvalidSignature => "invalid signature",
            AuthError::HumanOnly => "this endpoint is only available to human actors",
            AuthError::EdgeRequired => "requests must come through the edge",
            AuthError::InsufficientPermissions => "insufficient permissions",
            AuthError::InvalidInstallToken => "invalid_install_token",
            AuthError::InstallTokenAlreadyUsed => "install_token_already_used",
            AuthError::IssuerNotAuthorized => "issuer no longer authorized",
            AuthError::TokenNoLongerValid => "token is no longer valid",
            AuthError::TokenNotCallers => "token does not belong to caller",
            AuthError::InvalidClaims => "invalid claims",
            AuthError::CsrfFailed => "CSRF validation failed",
            AuthError::WrongWorkspace => "task token is bound to a different workspace",
            AuthError::MemberGone => "member no longer in workspace",
            AuthError::DaemonIdTaken => "daemon id belongs to another member",
            AuthError::RuntimeNotYours => "runtime belongs to another member",
            AuthError::BoundElsewhere => "token is bound to a different workspace",
            AuthError::ReadOnly => "token is read-only",
            AuthError::CannotGrant => "token cannot grant more than it has",
            AuthError::InvalidCode => "invalid code",
            AuthError::AccountSuspended => "account suspended",
            AuthError::CrossSite => "cross-site request refused",
            AuthError::SessionRequired => "a device is approved from a signed-in session",
            AuthError::NotForStreams => "this credential cannot open an event stream",
        }
    }

    /// The `WWW-Authenticate` value of a 401 (RFC 6750 §3): a plain `Bearer` when no
    /// usable credential came, `error="invalid_token"` when one came and was refused.
    /// `None` for a 403: the caller is known, just not allowed.
    pub fn challenge(self) -> Option<&'static str> {
        match self {
            AuthError::MissingAuthorization
            | AuthError::MissingAuthorizationHeader
            | AuthError::InvalidAuthorizationFormat
            | AuthError::EdgeRequired
            // A 401 needs a challenge (RFC 9110 §15.5.2); a code is no bearer token.
            | AuthError::InvalidCode => Some(CHALLENGE),
            AuthError::InvalidToken
            | AuthError::InvalidSignature
            | AuthError::InvalidInstallToken
            | AuthError::InstallTokenAlreadyUsed
            | AuthError::TokenNoLongerValid
            | AuthError::TokenNotCallers
            | AuthError::InvalidClaims => Some(CHALLENGE_INVALID_TOKEN),
            AuthError::HumanOnly
            | AuthError::InsufficientPermissions
            | AuthError::IssuerNotAuthorized
            | AuthError::CsrfFailed
            | AuthError::WrongWorkspace
            | AuthError::MemberGone
            | AuthError::DaemonIdTaken
            | AuthError::RuntimeNotYours
            | AuthError::BoundElsewhere
            | AuthError::ReadOnly
            | AuthError::CannotGrant
            | AuthError::AccountSuspended
            | AuthError::CrossSite
            | AuthError::SessionRequired
            | AuthError::NotForStreams => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_message() {
        for e in AuthError::ALL {
            assert_eq!(e.to_string(), e.message());
            assert_eq!(AuthError::from_message(e.message()), Some(e));
        }
        assert_eq!(AuthError::from_message("internal error"), None);
    }

    #[test]
    fn every_401_has_a_challenge_and_no_403_does() {
        for e in AuthError::ALL {
            assert_eq!(e.challenge().is_some(), e.status() == 401, "{e}");
        }
        assert_eq!(AuthError::MissingAuthorization.challenge(), Some("Bearer"));
        assert_eq!(
            AuthError::InvalidToken.challenge(),
            Some("Bearer error=\"invalid_token\"")
        );
        assert_eq!(
            AuthError::InvalidSignature.challenge(),
            AuthError::InvalidToken.challenge()
        );
        assert_eq!(AuthError::HumanOnly.status(), 403);
    }
}
