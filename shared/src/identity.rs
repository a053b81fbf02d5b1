//! Who is calling: the identity the edge stamps into headers and the origin trusts
//! when (and only when) the request carries a valid edge signature.

use std::fmt;

use serde::{Deserialize, Serialize};

pub const X_USER_ID: &str = "x-user-id";
pub const X_USER_EMAIL: &str = "x-user-email";
pub const X_ACTOR_SOURCE: &str = "x-actor-source";
pub const X_WORKSPACE_ID: &str = "x-workspace-id";
pub const X_AGENT_ID: &str = "x-agent-id";
pub const X_TASK_ID: &str = "x-task-id";
pub const X_DAEMON_ID: &str = "x-daemon-id";
pub const X_EDGE_TIMESTAMP: &str = "x-edge-timestamp";
pub const X_EDGE_SIGNATURE: &str = "x-edge-signature";
pub const X_REQUEST_ID: &str = "x-request-id";

/// The identity headers in the order the signature covers them.
pub const SIGNED_IDENTITY_HEADERS: [&str; 7] = [
    X_USER_ID,
    X_USER_EMAIL,
    X_ACTOR_SOURCE,
    X_WORKSPACE_ID,
    X_AGENT_ID,
    X_TASK_ID,
    X_DAEMON_ID,
];

/// Every header a client must never be able to set: removed on every route. The
/// identity headers plus the two that would make them look edge-signed.
pub const STRIPPED_HEADERS: [&str; 9] = {
    let mut out = [X_EDGE_TIMESTAMP; 9];
    let mut i = 0;
    while i < SIGNED_IDENTITY_HEADERS.len() {
        out[i] = SIGNED_IDENTITY_HEADERS[i];
        i += 1;
    }
    out[8] = X_EDGE_SIGNATURE;
    out
};

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
        [
            ActorSource::Pat,
            ActorSource::Session,
            ActorSource::Daemon,
            ActorSource::TaskToken,
            ActorSource::CloudPat,
        ]
        .into_iter()
        .find(|a| a.as_str() == name)
    }

    /// People (with a PAT or a browser session), as opposed to machines acting for them.
    pub fn is_human(self) -> bool {
        matches!(self, ActorSource::Pat | ActorSource::Session)
    }
}

impl fmt::Display for ActorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub actor_source: ActorSource,
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    pub workspace_id: Option<String>,
    pub daemon_id: Option<String>,
    pub agent_id: Option<String>,
    pub task_id: Option<String>,
    /// Unix seconds until which this identity may be relied on without asking again;
    /// `None` when it was just resolved. Never sent in headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("unknown actor source")]
    UnknownActorSource,
}

impl Identity {
    pub fn new(actor_source: ActorSource) -> Identity {
        Identity {
            actor_source,
            user_id: None,
            user_email: None,
            workspace_id: None,
            daemon_id: None,
            agent_id: None,
            task_id: None,
            valid_until: None,
        }
    }

    pub fn with_user(mut self, user_id: impl Into<String>, email: Option<String>) -> Identity {
        self.user_id = Some(user_id.into());
        self.user_email = email;
        self
    }

    /// The seven signed header values, in signature order; absent ones are empty.
    pub fn signing_values(&self) -> [&str; 7] {
        fn v(o: &Option<String>) -> &str {
            o.as_deref().unwrap_or("")
        }
        [
            v(&self.user_id),
            v(&self.user_email),
            self.actor_source.as_str(),
            v(&self.workspace_id),
            v(&self.agent_id),
            v(&self.task_id),
            v(&self.daemon_id),
        ]
    }

    /// The headers to stamp: name and value of each present field.
    pub fn to_headers(&self) -> Vec<(&'static str, &str)> {
        SIGNED_IDENTITY_HEADERS
            .into_iter()
            .zip(self.signing_values())
            .filter(|(_, value)| !value.is_empty())
            .collect()
    }

    /// Reads an identity back from headers (`get` looks one up by lowercase name).
    /// `Ok(None)` when no actor source is stamped: a signed request without identity.
    pub fn from_headers<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Option<Identity>, IdentityError> {
        let Some(source) = get(X_ACTOR_SOURCE).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let actor_source =
            ActorSource::from_name(source).ok_or(IdentityError::UnknownActorSource)?;
        let field = |name: &str| get(name).filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(Some(Identity {
            actor_source,
            user_id: field(X_USER_ID),
            user_email: field(X_USER_EMAIL),
            workspace_id: field(X_WORKSPACE_ID),
            daemon_id: field(X_DAEMON_ID),
            agent_id: field(X_AGENT_ID),
            task_id: field(X_TASK_ID),
            valid_until: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn headers_round_trip() {
        let mut id = Identity::new(ActorSource::TaskToken).with_user("u1", None);
        id.workspace_id = Some("w1".into());
        id.agent_id = Some("a1".into());
        id.task_id = Some("t1".into());
        let headers: HashMap<&str, &str> = id.to_headers().into_iter().collect();
        assert_eq!(headers.len(), 5);
        assert_eq!(headers[X_ACTOR_SOURCE], "task_token");
        let back = Identity::from_headers(|n| headers.get(n).copied()).unwrap();
        assert_eq!(back, Some(id));
    }

    #[test]
    fn stripped_headers_cover_identity_and_signature() {
        for name in SIGNED_IDENTITY_HEADERS {
            assert!(STRIPPED_HEADERS.contains(&name), "{name}");
        }
        assert!(STRIPPED_HEADERS.contains(&X_EDGE_TIMESTAMP));
        assert!(STRIPPED_HEADERS.contains(&X_EDGE_SIGNATURE));
        assert_eq!(STRIPPED_HEADERS.len(), 9);
    }

    #[test]
    fn no_actor_source_is_no_identity() {
        assert_eq!(Identity::from_headers(|_| None).unwrap(), None);
        let bad = Identity::from_headers(|n| (n == X_ACTOR_SOURCE).then_some("root"));
        assert_eq!(bad.unwrap_err(), IdentityError::UnknownActorSource);
    }

    #[test]
    fn json_shape_matches_the_resolve_contract() {
        let id = Identity::new(ActorSource::Pat).with_user("u1", None);
        let json = serde_json::to_value(&id).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"actor_source":"pat","user_id":"u1","user_email":null,
                "workspace_id":null,"daemon_id":null,"agent_id":null,"task_id":null})
        );
    }

    #[test]
    fn human_actors() {
        assert!(ActorSource::Pat.is_human());
        assert!(ActorSource::Session.is_human());
        assert!(!ActorSource::Daemon.is_human());
        assert!(!ActorSource::TaskToken.is_human());
        assert!(!ActorSource::CloudPat.is_human());
    }
}
