//! Who may call a route, said by the route's signature: a handler takes a
//! [`HumanCaller`], a [`UserCaller`], a [`CloudRuntimeCaller`] or a [`DaemonCaller`] —
//! and on `/api/workspaces/{id}/…` an [`InWorkspace`] of one of them — and the
//! extractor answers the exact 401, 403 or 404 (docs/ARCHITECTURE.md "Caller
//! extractors") before the handler runs. There is no check to forget.
//!
//! Each extractor starts from [`EdgeVerified`] (an identity the edge stamped and signed)
//! or, for a request that came straight to the origin, the bearer token resolved here,
//! and applies the shared route-class table (`tollgate_shared::access`).

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use tollgate_shared::access::{self, Extracted, Offered, RouteClass};
use tollgate_shared::{routes, session};
use tollgate_shared::{Actor, AuthError};
use uuid::Uuid;

use super::edge_trust::EdgeVerified;
use super::error::AppError;
use crate::db::{sessions, with_client};
use crate::model::Role;
use crate::refusal::Refusal;
use crate::state::AppState;
use crate::workspaces;

/// The caller of a request of `class`, held to its own scope (a scoped PAT: the shared
/// rule the edge applied before forwarding, applied again to what the edge stamped and
/// to direct requests), before any rule about who may call the route.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
    class: RouteClass,
) -> Result<Identified, AppError> {
    let identified = identify(parts, state, class).await?;
    identified
        .actor
        .scope()
        .permits(parts.method.as_str(), parts.uri.path())?;
    Ok(identified)
}

/// The request's credential headers, read as the edge reads them: repeated headers
/// joined, non-UTF-8 bytes replaced, so the shared rule gives both sides the same answer.
pub struct Presented {
    authorization: Option<String>,
    cookie: Option<String>,
    csrf: Option<String>,
}

impl Presented {
    pub fn of(headers: &HeaderMap) -> Presented {
        let joined = |name, sep: &str| {
            let values: Vec<String> = headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            (!values.is_empty()).then(|| values.join(sep))
        };
        Presented {
            authorization: joined(AUTHORIZATION, ", "),
            cookie: joined(COOKIE, "; "),
            csrf: joined(HeaderName::from_static(session::CSRF_HEADER), ", "),
        }
    }

    pub fn offered<'a>(&'a self, method: &'a str) -> Offered<'a> {
        Offered {
            authorization: self.authorization.as_deref(),
            cookie: self.cookie.as_deref(),
            method,
            csrf: self.csrf.as_deref(),
        }
    }
}

/// Who is calling, and for a session, which record it is.
struct Identified {
    actor: Actor,
    session_id: Option<Uuid>,
}

/// Who presented the request's credential: the identity the edge stamped, or the
/// credential resolved here. A session is also held to its record on every request,
/// stamped or not: one signed out or revoked is refused at once.
async fn identify(
    parts: &Parts,
    state: &AppState,
    class: RouteClass,
) -> Result<Identified, AppError> {
    // The class is the path's, decided once where the edge decides it: an extractor of
    // another class on this path is a bug in the router, never the caller's doing.
    let path_class = routes::classify(parts.method.as_str(), parts.uri.path()).route_class();
    if path_class != Some(class) {
        return Err(AppError::Internal(format!(
            "{class:?} extractor on a {path_class:?} path"
        )));
    }
    let headers = Presented::of(&parts.headers);
    let presented = headers.offered(parts.method.as_str());
    if let Some(EdgeVerified(stamped)) = parts.extensions.get::<EdgeVerified>() {
        let actor = stamped.clone().ok_or(class.missing())?;
        let mut session_id = None;
        if let Actor::Session { .. } = actor {
            // The edge verified the JWT it forwarded; its record is checked here.
            let Extracted::Session(jwt) = access::extract(class, &presented)? else {
                return Err(AuthError::InvalidToken.into());
            };
            let session = live_session(state, jwt).await?;
            if session.actor != actor {
                return Err(AuthError::InvalidToken.into());
            }
            session_id = Some(session.id);
        }
        return Ok(Identified { actor, session_id });
    }
    match access::extract(class, &presented)? {
        Extracted::Token(token) => {
            let resolved = state.resolver.resolve_token(&token).await?;
            let actor = resolved.ok_or(AuthError::InvalidToken)?.actor;
            Ok(Identified {
                actor,
                session_id: None,
            })
        }
        Extracted::Session(jwt) => {
            let session = live_session(state, jwt).await?;
            Ok(Identified {
                actor: session.actor,
                session_id: Some(session.id),
            })
        }
    }
}

/// The session `jwt` stands for, if its signature holds (`JWT_SECRET`) and its record
/// is live; the record is marked seen.
async fn live_session(state: &AppState, jwt: &str) -> Result<session::Session, AppError> {
    let key = state
        .session_key
        .as_deref()
        .ok_or(AuthError::InvalidToken)?;
    let verified = session::verify(key, jwt, chrono::Utc::now().timestamp())?;
    let (id, user) = (verified.id, verified.actor.user_id());
    let live = with_client(&state.pool, move |db| {
        Box::pin(async move { sessions::seen_if_live(db, id, user).await })
    })
    .await?;
    if live.is_none() {
        return Err(AuthError::InvalidToken.into());
    }
    Ok(verified)
}

/// Which actors a user route serves beyond the shared table: the "may call" column of
/// the README's "Who acts for whom". Task tokens reach only `/api/me` and routes of
/// their own workspace (every route that serves them is one of those, and
/// [`InWorkspace`] holds them to theirs); everything about a person's own credentials
/// and workspaces is for people.
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
/// serve are turned away first, with the 403 docs/ARCHITECTURE.md "Human-only routes" gives them.
async fn user_route_caller(
    parts: &Parts,
    state: &AppState,
    serves: Serves,
) -> Result<(Actor, Uuid, Option<Uuid>), AppError> {
    let Identified { actor, session_id } = authenticate(parts, state, RouteClass::User).await?;
    if !serves.admits(&actor) {
        return Err(AuthError::HumanOnly.into());
    }
    access::admit(RouteClass::User, actor.source().credential())?;
    let user_id = actor.user_id();
    Ok((actor, user_id, session_id))
}

/// Any actor a user route admits (a PAT, a session, a task token, a cloud PAT), with
/// the user it acts for.
#[derive(Debug, Clone)]
pub struct UserCaller {
    pub actor: Actor,
    pub user_id: Uuid,
    /// The session's record, when a session is calling.
    pub session_id: Option<Uuid>,
}

impl FromRequestParts<AppState> for UserCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (actor, user_id, session_id) =
            user_route_caller(parts, state, Serves::Everyone).await?;
        Ok(UserCaller {
            actor,
            user_id,
            session_id,
        })
    }
}

/// A person — a PAT or a session — on an endpoint machines may not use: minting
/// credentials, changing membership. Machines get `403 this endpoint is only available
/// to human actors`.
#[derive(Debug, Clone)]
pub struct HumanCaller {
    pub actor: Actor,
    pub user_id: Uuid,
    /// The session's record, when a session is calling.
    pub session_id: Option<Uuid>,
}

impl FromRequestParts<AppState> for HumanCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let (actor, user_id, session_id) = user_route_caller(parts, state, Serves::Humans).await?;
        Ok(HumanCaller {
            actor,
            user_id,
            session_id,
        })
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
        let (actor, user_id, _) =
            user_route_caller(parts, state, Serves::HumansAndCloudNodes).await?;
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
        let actor = authenticate(parts, state, RouteClass::Daemon).await?.actor;
        access::admit(RouteClass::Daemon, actor.source().credential())?;
        Ok(DaemonCaller { actor })
    }
}

/// What a handler needs of any user-route caller.
pub trait Caller: FromRequestParts<AppState, Rejection = AppError> + Send + Sync {
    fn actor(&self) -> &Actor;
    fn user_id(&self) -> Uuid;
}

macro_rules! caller {
    ($($t:ty),+) => {$(
        impl Caller for $t {
            fn actor(&self) -> &Actor {
                &self.actor
            }
            fn user_id(&self) -> Uuid {
                self.user_id
            }
        }
    )+};
}
caller!(UserCaller, HumanCaller, CloudRuntimeCaller);

/// The caller of a `/api/workspaces/{id}/…` route as a member of that workspace: the
/// id parsed once from the matched route's `{id}` (percent-decoded, any case — the
/// value the handler uses, so no spelling of it escapes the checks), a task token held
/// to its own workspace, and the caller's role. A workspace that does not exist and one
/// the caller is not in are the same `404 workspace not found`.
#[derive(Debug, Clone)]
pub struct InWorkspace<C> {
    pub id: Uuid,
    pub role: Role,
    pub caller: C,
}

impl<C: Caller> InWorkspace<C> {
    pub fn user_id(&self) -> Uuid {
        self.caller.user_id()
    }

    /// Owners and admins only; other members get 403.
    pub fn require_admin(&self) -> Result<(), AppError> {
        Ok(workspaces::admin(self.role)?)
    }
}

impl<C: Caller> FromRequestParts<AppState> for InWorkspace<C> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = C::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Refusal::WorkspaceNotFound)?;
        let raw = params
            .iter()
            .find_map(|(name, value)| (name == "id").then_some(value))
            .ok_or_else(|| AppError::Internal("a workspace route without {id}".to_owned()))?;
        let id = workspaces::parse_id(raw)?;
        if let Actor::TaskToken { workspace_id, .. } = caller.actor() {
            if *workspace_id != id {
                return Err(AuthError::WrongWorkspace.into());
            }
        }
        // The shared path rule held it to its workspace already; this holds it to the
        // very id the handler uses, however the path spelled it.
        if caller
            .actor()
            .scope()
            .workspace
            .is_some_and(|own| own != id)
        {
            return Err(AuthError::BoundElsewhere.into());
        }
        let user = caller.user_id();
        let role = with_client(&state.pool, move |db| {
            Box::pin(async move { workspaces::role(db, id, user).await })
        })
        .await?;
        Ok(InWorkspace { id, role, caller })
    }
}
