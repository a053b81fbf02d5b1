//! How far a personal access token reaches: bound to one workspace or not, allowed to
//! write or only to read. Written once and read by the edge (for a cached identity,
//! before anything is forwarded) and by the origin (for stamped identities and direct
//! requests alike), like the route-class table.
//!
//! What is decided here needs only the method and the path. The two rules that need a
//! request's body stay with the origin's handlers: which scope a new token may have
//! ([`Scope::may_grant`]) and which workspace a daemon route acts in.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::errors::AuthError;
use crate::routes::{API_PREFIX, DAEMON_PREFIX};

/// What a token may do: `write` (anything its user may) or `read` (`GET` and `HEAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Access {
    Read,
    #[default]
    Write,
}

impl Access {
    pub const ALL: [Access; 2] = [Access::Read, Access::Write];

    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }

    pub fn from_name(name: &str) -> Option<Access> {
        Access::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// A PAT's scope. The default is unscoped: every workspace of its user, every method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scope {
    /// The one workspace the token works in, if it is bound to one.
    pub workspace: Option<Uuid>,
    pub access: Access,
}

/// Where a path leads, as far as a scope is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach<'a> {
    /// `/api/me`: who the caller is.
    Me,
    /// `POST /api/tokens/current/renew`: the token itself.
    OwnRenewal,
    /// `POST /api/tokens`: a new token, whose scope the origin checks against the
    /// caller's ([`Scope::may_grant`]).
    Minting,
    /// The rest of `/api/tokens…`: the caller's tokens, which the origin narrows to the
    /// ones a bound token's workspace holds.
    Tokens,
    /// `/api/workspaces/{id}/{rest}`, `id` as sent.
    Workspace { id: &'a str, rest: &'a str },
    /// `/api/daemon/*`: the workspace is named in the body; the origin holds a bound
    /// token to its own.
    Daemon,
    /// Anything else: the workspace list and creation, the cloud-runtime proxy.
    Account,
}

fn reach<'a>(method: &str, path: &'a str) -> Reach<'a> {
    if path.starts_with(DAEMON_PREFIX) {
        return Reach::Daemon;
    }
    let Some(rest) = path.strip_prefix(API_PREFIX) else {
        return Reach::Account;
    };
    match rest {
        "me" => Reach::Me,
        "tokens/current/renew" if method == "POST" => Reach::OwnRenewal,
        "tokens" if method == "POST" => Reach::Minting,
        _ if rest == "tokens" || rest.starts_with("tokens/") => Reach::Tokens,
        _ => match rest.strip_prefix("workspaces/") {
            Some(tail) if !tail.is_empty() => {
                let (id, rest) = tail.split_once('/').unwrap_or((tail, ""));
                Reach::Workspace { id, rest }
            }
            _ => Reach::Account,
        },
    }
}

/// Inside a workspace, what changes who holds power there: minting install tokens
/// (a daemon acting for a member for years), membership, and revoking daemon tokens.
/// Only unscoped tokens and sessions do these.
fn grants(method: &str, rest: &str) -> bool {
    let first = rest.split('/').next().unwrap_or_default();
    match first {
        "install-tokens" | "members" | "leave" => !is_safe(method),
        "daemon-tokens" => method == "DELETE",
        _ => false,
    }
}

fn is_safe(method: &str) -> bool {
    method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD")
}

/// The workspace id of a path segment as the origin's router reads it: percent-decoded,
/// then parsed as a UUID in any of its spellings.
pub fn workspace_id(segment: &str) -> Option<Uuid> {
    let decoded = percent_decode(segment)?;
    Uuid::parse_str(&decoded).ok()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // Two hex digits, as the router's decoder takes them (`from_str_radix`
            // alone would take a sign too).
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl Scope {
    /// Every workspace, every method: what a PAT was before scopes, and a session is.
    pub const UNSCOPED: Scope = Scope {
        workspace: None,
        access: Access::Write,
    };

    pub fn is_unscoped(self) -> bool {
        self == Scope::UNSCOPED
    }

    /// The ceiling: whether a token of this scope may mint a token of `wanted`. A read
    /// token mints nothing; a bound one only tokens bound to its own workspace.
    pub fn may_grant(self, wanted: Scope) -> bool {
        self.access == Access::Write
            && self
                .workspace
                .is_none_or(|own| wanted.workspace == Some(own))
    }

    /// Whether a request of `method` (as sent) on `path` (without its query) is within
    /// this scope, or the 403 that says why not. Checked in this order: the workspace,
    /// then powers only an unscoped token has, then read-only.
    pub fn permits(self, method: &str, path: &str) -> Result<(), AuthError> {
        if self.is_unscoped() {
            return Ok(());
        }
        let read_only = self.access == Access::Read;
        let writes = !is_safe(method);
        match reach(method, path) {
            Reach::OwnRenewal => return Ok(()),
            Reach::Minting if read_only => return Err(AuthError::CannotGrant),
            Reach::Workspace { id, rest } => {
                if self
                    .workspace
                    .is_some_and(|own| workspace_id(id) != Some(own))
                {
                    return Err(AuthError::BoundElsewhere);
                }
                if grants(method, rest) {
                    return Err(AuthError::CannotGrant);
                }
            }
            Reach::Account if self.workspace.is_some() => {
                return Err(AuthError::BoundElsewhere);
            }
            Reach::Me | Reach::Minting | Reach::Tokens | Reach::Daemon | Reach::Account => {}
        }
        if read_only && writes {
            return Err(AuthError::ReadOnly);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
