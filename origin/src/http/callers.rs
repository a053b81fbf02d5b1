//! Who may call a route, said by the route's signature: a handler takes a
//! [`HumanCaller`], a [`UserCaller`], a [`CloudRuntimeCaller`] or a [`DaemonCaller`], and the extractor answers
//! DESIGN.md's exact 401 or 403 before the handler runs. There is no check to forget.
//!
//! Each extractor starts from [`EdgeVerified`] (an identity the edge stamped and signed)
//! or, for a request that came straight to the origin, the bearer token resolved here,
//! and applies the shared route-class table (`tollgate_shared::access`).

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderName;
use tollgate_shared::access::{self, Presentation, Presented, RouteClass};
use tollgate_shared::session;
use tollgate_shared::{Actor, AuthError};
use uuid::Uuid;

use super::edge_trust::EdgeVerified;
use super::error::AppError;
use crate::state::AppState;

/// The caller of a request of `class`, before any rule about who may call it.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
    class: RouteClass,
) -> Result<Actor, AppError> {
    if let Some(EdgeVerified(actor)) = parts.extensions.get::<EdgeVerified>() {
        return actor.clone().ok_or(class.missing().into());
    }
    // Read as the edge reads them: repeated headers joined, non-UTF-8 bytes replaced,
    // so the shared rule gives both sides the same answer.
    let joined = |name, sep: &str| {
        let values: Vec<String> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        (!values.is_empty()).then(|| values.join(sep))
    };
    let authorization = joined(AUTHORIZATION, ", ");
    let cookie = joined(COOKIE, "; ");
    let csrf = joined(HeaderName::from_static(session::CSRF_HEADER), ", ");
    let presented = Presentation {
        authorization: authorization.as_deref(),
        cookie: cookie.as_deref(),
        method: parts.method.as_str(),
        csrf: csrf.as_deref(),
    };
    match access::credential(class, &presented)? {
        Presented::Token(token) => {
            let resolved = state.resolver.resolve_token(&token).await?;
            Ok(resolved.ok_or(AuthError::InvalidToken)?.actor)
        }
        Presented::Session(jwt) => {
            let key = state
                .session_key
                .as_deref()
                .ok_or(AuthError::InvalidToken)?;
            Ok(session::verify(key, jwt, chrono::Utc::now().timestamp())?)
        }
    }
}

/// Which actors a user route serves beyond the shared table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Serves {
    Everyone,
    Humans,
    /// People, and cloud nodes acting for their owner (the cloud-runtime proxy).
    HumansAndCloudNodes,
}

impl Serves {
    fn admits(self, actor: &Actor) -> bool {
        match self {
            Serves::Everyone => true,
            Serves::Humans => actor.is_human(),
            Serves::HumansAndCloudNodes => {
                actor.is_human() || matches!(actor, Actor::CloudPat { .. })
            }
        }
    }
}

/// The caller of a user route, with the user it acts for; machines a route does not
/// serve are turned away first, with the 403 DESIGN.md gives them.
async fn user_route_caller(
    parts: &Parts,
    state: &AppState,
    serves: Serves,
) -> Result<(Actor, Uuid), AppError> {
    let actor = authenticate(parts, state, RouteClass::User).await?;
    // A task token acts in its own workspace only, whatever the route would allow.
    if let Actor::TaskToken { workspace_id, .. } = &actor {
        if path_workspace(parts.uri.path()).is_some_and(|w| w != *workspace_id) {
            return Err(AuthError::WrongWorkspace.into());
        }
    }
    if !serves.admits(&actor) {
        return Err(AuthError::HumanOnly.into());
    }
    access::admit(RouteClass::User, actor.source().credential())?;
    // Every actor the user routes admit acts for a user.
    let user_id = actor.user_id().ok_or(AuthError::InvalidToken)?;
    Ok((actor, user_id))
}

/// The workspace of a `/api/workspaces/{id}/…` path.
fn path_workspace(path: &str) -> Option<Uuid> {
    let rest = path.strip_prefix("/api/workspaces/")?;
    Uuid::parse_str(rest.split('/').next()?).ok()
}

/// Any actor a user route admits (a PAT, a session, a task token, a cloud PAT), with
/// the user it acts for.
#[derive(Debug, Clone)]
pub struct UserCaller {
    pub actor: Actor,
    pub user_id: Uuid,
}

impl FromRequestParts<AppState> for UserCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (actor, user_id) = user_route_caller(parts, state, Serves::Everyone).await?;
        Ok(UserCaller { actor, user_id })
    }
}

/// A person — a PAT or a session — on an endpoint machines may not use: minting
/// credentials, changing membership. Machines get `403 this endpoint is only available
/// to human actors`.
#[derive(Debug, Clone)]
pub struct HumanCaller {
    pub actor: Actor,
    pub user_id: Uuid,
}

impl FromRequestParts<AppState> for HumanCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (actor, user_id) = user_route_caller(parts, state, Serves::Humans).await?;
        Ok(HumanCaller { actor, user_id })
    }
}

/// A person, or a cloud node with its cloud PAT, on the cloud-runtime proxy: the
/// runtimes are the owner's to manage from anywhere, but not an agent's (task tokens
/// get `403 this endpoint is only available to human actors`).
#[derive(Debug, Clone)]
pub struct CloudRuntimeCaller {
    pub actor: Actor,
    pub user_id: Uuid,
}

impl FromRequestParts<AppState> for CloudRuntimeCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (actor, user_id) = user_route_caller(parts, state, Serves::HumansAndCloudNodes).await?;
        Ok(CloudRuntimeCaller { actor, user_id })
    }
}

/// A caller of `/api/daemon/*`: a daemon with its token, or a person running a daemon
/// by hand with a PAT.
#[derive(Debug, Clone)]
pub struct DaemonCaller {
    pub actor: Actor,
}

impl FromRequestParts<AppState> for DaemonCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let actor = authenticate(parts, state, RouteClass::Daemon).await?;
        access::admit(RouteClass::Daemon, actor.source().credential())?;
        Ok(DaemonCaller { actor })
    }
}
