//! Who is calling: one variant per kind of caller (docs/ARCHITECTURE.md "Actors"), each with
//! exactly its fields. The edge stamps an actor into signed headers; the origin trusts
//! it when (and only when) the signature verifies, and the resolver sends it as JSON.
//!
//! Both encodings are the same flat record of eight optional fields ([`Fields`]), so
//! an actor converts to and from headers and JSON through one checked conversion: a
//! record that does not describe exactly one kind of actor is refused, never guessed.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::headers::{
    IDENTITY_FIELDS, SIGNED_IDENTITY_HEADERS, X_ACTOR_SOURCE, X_AGENT_ID, X_DAEMON_ID, X_TASK_ID,
    X_TOKEN_ACCESS, X_USER_EMAIL, X_USER_ID, X_WORKSPACE_ID,
};
use crate::scope::{Access, Scope};
use crate::token::TokenKind;

/// What a caller authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Token(TokenKind),
    /// A session JWT.
    Session,
}

/// The value of `X-Actor-Source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorSource {
    Pat,
    Session,
    Daemon,
    TaskToken,
    CloudPat,
}

impl ActorSource {
    pub const ALL: [ActorSource; 5] = [
        ActorSource::Pat,
        ActorSource::Session,
        ActorSource::Daemon,
        ActorSource::TaskToken,
        ActorSource::CloudPat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorSource::Pat => "pat",
            ActorSource::Session => "session",
            ActorSource::Daemon => "daemon",
            ActorSource::TaskToken => "task_token",
            ActorSource::CloudPat => "cloud_pat",
        }
    }

    pub fn from_name(name: &str) -> Option<ActorSource> {
        ActorSource::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// People (with a PAT or a browser session), as opposed to machines acting for them.
    pub fn is_human(self) -> bool {
        matches!(self, ActorSource::Pat | ActorSource::Session)
    }

    /// The credential this kind of actor authenticates with.
    pub fn credential(self) -> Credential {
        match self {
            ActorSource::Pat => Credential::Token(TokenKind::Pat),
            ActorSource::Session => Credential::Session,
            ActorSource::Daemon => Credential::Token(TokenKind::Daemon),
            ActorSource::TaskToken => Credential::Token(TokenKind::Task),
            ActorSource::CloudPat => Credential::Token(TokenKind::Cloud),
        }
    }
}

impl fmt::Display for ActorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A caller, as authenticated by a token or a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Fields", try_from = "Fields")]
pub enum Actor {
    /// A personal access token (`mul_`), as far as its scope reaches.
    Pat { user_id: Uuid, scope: Scope },
    /// A session JWT, from a cookie or a bearer header.
    Session {
        user_id: Uuid,
        email: Option<String>,
    },
    /// A daemon token (`mdt_`): a machine in one workspace, acting for the member its
    /// install token was minted for (not for whoever minted it).
    Daemon {
        user_id: Uuid,
        workspace_id: Uuid,
        daemon_id: String,
    },
    /// A task token (`mat_`): an agent running one task for the member who queued it
    /// (never for the runtime's owner), in that task's workspace only.
    TaskToken {
        user_id: Uuid,
        workspace_id: Uuid,
        agent_id: Uuid,
        task_id: Uuid,
    },
    /// A cloud PAT (`mcn_`) verified by Fleet: a cloud node acting for its owner.
    CloudPat { user_id: Uuid },
}

/// Why a stamped or resolved identity could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("unknown actor source")]
    UnknownActorSource,
    #[error("{0} actor without {1}")]
    Missing(ActorSource, &'static str),
    #[error("{0} actor with an unexpected {1}")]
    Unexpected(ActorSource, &'static str),
    #[error("{0} is not a UUID")]
    NotUuid(&'static str),
    #[error("unknown token access")]
    UnknownAccess,
}

impl Actor {
    pub fn source(&self) -> ActorSource {
        match self {
            Actor::Pat { .. } => ActorSource::Pat,
            Actor::Session { .. } => ActorSource::Session,
            Actor::Daemon { .. } => ActorSource::Daemon,
            Actor::TaskToken { .. } => ActorSource::TaskToken,
            Actor::CloudPat { .. } => ActorSource::CloudPat,
        }
    }

    /// The one person the actor acts for: every credential acts for exactly one.
    pub fn user_id(&self) -> Uuid {
        match self {
            Actor::Pat { user_id, .. }
            | Actor::Session { user_id, .. }
            | Actor::Daemon { user_id, .. }
            | Actor::TaskToken { user_id, .. }
            | Actor::CloudPat { user_id } => *user_id,
        }
    }

    pub fn is_human(&self) -> bool {
        self.source().is_human()
    }

    /// How far the actor reaches by its credential's own scope: a PAT's, or unscoped.
    /// (A task token's workspace and a daemon's are bindings of their own, held by the
    /// origin's extractors.)
    pub fn scope(&self) -> Scope {
        match self {
            Actor::Pat { scope, .. } => *scope,
            _ => Scope::UNSCOPED,
        }
    }

    /// The signed header values, in signature order; absent ones are empty.
    pub fn signing_values(&self) -> [String; IDENTITY_FIELDS] {
        Fields::from(self.clone()).values()
    }

    /// The headers to stamp: name and value of each present field.
    pub fn to_headers(&self) -> Vec<(&'static str, String)> {
        stamped_headers(self.signing_values())
    }

    /// Reads an actor back from headers (`get` looks one up by lowercase name).
    /// `Ok(None)` when no actor source is stamped: a signed request without identity.
    pub fn from_headers<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Option<Actor>, IdentityError> {
        let Some(source) = get(X_ACTOR_SOURCE).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let actor_source =
            ActorSource::from_name(source).ok_or(IdentityError::UnknownActorSource)?;
        let field = |name: &str| get(name).filter(|s| !s.is_empty()).map(str::to_owned);
        let access = match field(X_TOKEN_ACCESS) {
            Some(name) => Some(Access::from_name(&name).ok_or(IdentityError::UnknownAccess)?),
            None => None,
        };
        Actor::try_from(Fields {
            actor_source,
            user_id: field(X_USER_ID),
            user_email: field(X_USER_EMAIL),
            workspace_id: field(X_WORKSPACE_ID),
            daemon_id: field(X_DAEMON_ID),
            agent_id: field(X_AGENT_ID),
            task_id: field(X_TASK_ID),
            access,
        })
        .map(Some)
    }
}

/// The headers for signing values already computed (see [`Actor::signing_values`]):
/// name and value of each present one, so a signer need not format them twice.
pub fn stamped_headers(values: [String; IDENTITY_FIELDS]) -> Vec<(&'static str, String)> {
    SIGNED_IDENTITY_HEADERS
        .into_iter()
        .zip(values)
        .filter(|(_, value)| !value.is_empty())
        .collect()
}

/// The flat record both encodings share: the resolve answer's `identity` object
/// (absent fields are `null`) and the stamped headers (absent fields are not sent).
/// In the OpenAPI document it is `Identity`, the schema of an [`Actor`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(
    feature = "utoipa",
    derive(utoipa::ToSchema),
    schema(as = Identity, description = "Who a token belongs to; absent fields are `null`.")
)]
pub(crate) struct Fields {
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    actor_source: ActorSource,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<uuid::Uuid>))]
    user_id: Option<String>,
    user_email: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<uuid::Uuid>))]
    workspace_id: Option<String>,
    daemon_id: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<uuid::Uuid>))]
    agent_id: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<uuid::Uuid>))]
    task_id: Option<String>,
    /// A PAT's access (`read` or `write`); its bound workspace, if any, is `workspace_id`.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    access: Option<Access>,
}

impl Fields {
    fn empty(actor_source: ActorSource) -> Fields {
        Fields {
            actor_source,
            user_id: None,
            user_email: None,
            workspace_id: None,
            daemon_id: None,
            agent_id: None,
            task_id: None,
            access: None,
        }
    }

    /// In [`SIGNED_IDENTITY_HEADERS`] order.
    fn values(self) -> [String; IDENTITY_FIELDS] {
        [
            self.user_id.unwrap_or_default(),
            self.user_email.unwrap_or_default(),
            self.actor_source.as_str().to_owned(),
            self.workspace_id.unwrap_or_default(),
            self.agent_id.unwrap_or_default(),
            self.task_id.unwrap_or_default(),
            self.daemon_id.unwrap_or_default(),
            self.access
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
        ]
    }
}

impl From<Actor> for Fields {
    fn from(actor: Actor) -> Fields {
        let mut f = Fields::empty(actor.source());
        let id = |u: Uuid| Some(u.to_string());
        match actor {
            Actor::Pat { user_id, scope } => {
                f.user_id = id(user_id);
                f.workspace_id = scope.workspace.map(|w| w.to_string());
                f.access = Some(scope.access);
            }
            Actor::CloudPat { user_id } => f.user_id = id(user_id),
            Actor::Session { user_id, email } => {
                f.user_id = id(user_id);
                f.user_email = email;
            }
            Actor::Daemon {
                user_id,
                workspace_id,
                daemon_id,
            } => {
                f.user_id = id(user_id);
                f.workspace_id = id(workspace_id);
                f.daemon_id = Some(daemon_id);
            }
            Actor::TaskToken {
                user_id,
                workspace_id,
                agent_id,
                task_id,
            } => {
                f.user_id = id(user_id);
                f.workspace_id = id(workspace_id);
                f.agent_id = id(agent_id);
                f.task_id = id(task_id);
            }
        }
        f
    }
}

impl TryFrom<Fields> for Actor {
    type Error = IdentityError;

    fn try_from(mut f: Fields) -> Result<Actor, IdentityError> {
        let source = f.actor_source;
        let need = |slot: Option<String>, name| slot.ok_or(IdentityError::Missing(source, name));
        let uuid = |slot: Option<String>, name| {
            let value = need(slot, name)?;
            Uuid::try_parse(&value).map_err(|_| IdentityError::NotUuid(name))
        };
        let actor = match source {
            ActorSource::Pat => Actor::Pat {
                user_id: uuid(f.user_id.take(), "user_id")?,
                scope: Scope {
                    workspace: match f.workspace_id.take() {
                        Some(w) => Some(uuid(Some(w), "workspace_id")?),
                        None => None,
                    },
                    // Required: an identity cached before scopes existed is a miss.
                    access: f
                        .access
                        .take()
                        .ok_or(IdentityError::Missing(source, "access"))?,
                },
            },
            ActorSource::CloudPat => Actor::CloudPat {
                user_id: uuid(f.user_id.take(), "user_id")?,
            },
            ActorSource::Session => Actor::Session {
                user_id: uuid(f.user_id.take(), "user_id")?,
                email: f.user_email.take(),
            },
            ActorSource::Daemon => Actor::Daemon {
                user_id: uuid(f.user_id.take(), "user_id")?,
                workspace_id: uuid(f.workspace_id.take(), "workspace_id")?,
                daemon_id: need(f.daemon_id.take(), "daemon_id")?,
            },
            ActorSource::TaskToken => Actor::TaskToken {
                user_id: uuid(f.user_id.take(), "user_id")?,
                workspace_id: uuid(f.workspace_id.take(), "workspace_id")?,
                agent_id: uuid(f.agent_id.take(), "agent_id")?,
                task_id: uuid(f.task_id.take(), "task_id")?,
            },
        };
        // Whatever the variant did not take is a field this actor must not carry.
        let leftovers = [
            ("user_id", f.user_id.is_some()),
            ("user_email", f.user_email.is_some()),
            ("workspace_id", f.workspace_id.is_some()),
            ("daemon_id", f.daemon_id.is_some()),
            ("agent_id", f.agent_id.is_some()),
            ("task_id", f.task_id.is_some()),
            ("access", f.access.is_some()),
        ];
        match leftovers.into_iter().find(|(_, present)| *present) {
            Some((name, _)) => Err(IdentityError::Unexpected(source, name)),
            None => Ok(actor),
        }
    }
}

#[cfg(test)]
mod tests;
