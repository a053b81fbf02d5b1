//! `GET /api/workspaces/{id}/events/stream` and `GET /api/daemon/events/stream`: a
//! workspace's events over WebSocket (docs/ARCHITECTURE.md "Event streams").
//!
//! An upgrade is authenticated like any request of its route, then held to the rule of
//! streams: its credential is one whose end this origin hears of (not a cloud PAT), a
//! cookie comes from our own page, and the stream is registered — so that the end of
//! its credential, or of its membership, closes it from then on — before the credential
//! and the membership are checked once more and the 101 is answered.

use std::time::Duration;

use axum::extract::ws::{rejection::WebSocketUpgradeRejection, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::header::ORIGIN;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use tollgate_shared::access::{self, Extracted, RouteClass};
use tollgate_shared::streams::{check_origin, Ending};
use tollgate_shared::{cache_key, session, Actor, AuthError, TokenHash, TokenKind};
use uuid::Uuid;

use super::members::After;
use crate::db::{members, sessions, with_client};
use crate::http::callers::Presented;
use crate::http::{AppError, AppResult, DaemonCaller, InWorkspace, UserCaller};
use crate::openapi::refusals;
use crate::refusal::Refusal;
use crate::state::AppState;
use crate::streams::socket::{Check, Checked, Pump};
use crate::streams::{Opened, Refused};

/// A client has nothing to say on a stream but pongs and its close: a message or frame
/// larger than this ends the connection instead of being buffered.
const MAX_CLIENT_MESSAGE: usize = 4096;
/// When a client over a limit may try again.
const RETRY_AFTER_SECS: u64 = 5;
/// A credential is checked again at least this long after the last check said when it
/// expires (a token with less than a second left is not re-read in a loop).
const MIN_RECHECK: Duration = Duration::from_secs(1);

impl From<Refused> for AppError {
    fn from(refused: Refused) -> AppError {
        match refused {
            Refused::Unavailable => AppError::StreamsUnavailable,
            Refused::TooManyForCredential => AppError::TooManyRequests {
                message: "too many streams for this credential",
                retry_after: RETRY_AFTER_SECS,
            },
            Refused::TooManyForPerson => AppError::TooManyRequests {
                message: "too many streams for this person",
                retry_after: RETRY_AFTER_SECS,
            },
            Refused::TooMany => AppError::TooManyRequests {
                message: "too many streams",
                retry_after: RETRY_AFTER_SECS,
            },
        }
    }
}

refusals! {
    StreamRefusals = [
        Refusal::InvalidRequestBody => "a bad after",
        Refusal::WorkspaceNotFound,
        AuthError::NotForStreams => "a cloud PAT",
        AuthError::CrossSite => "the session cookie from a page of another origin, or without Origin",
        AppError::UpgradeRequired => "not a WebSocket handshake",
        AppError::from(Refused::TooManyForCredential) => "16 streams are open with this credential",
        AppError::from(Refused::TooManyForPerson) => "STREAMS_PER_PERSON streams act for this person at this origin",
        AppError::from(Refused::TooMany) => "STREAMS_MAX streams are open at this origin",
        AppError::StreamsUnavailable => "the origin is reconnecting to the database",
    ]
    DaemonStreamRefusals = [
        Refusal::InvalidRequestBody => "a bad after",
        AuthError::NotForStreams => "a PAT: only a daemon token has a workspace of its own",
        AppError::UpgradeRequired => "not a WebSocket handshake",
        AppError::from(Refused::TooManyForCredential) => "16 streams are open with this token",
        AppError::from(Refused::TooManyForPerson) => "STREAMS_PER_PERSON streams act for the daemon's person at this origin",
        AppError::from(Refused::TooMany) => "STREAMS_MAX streams are open at this origin",
        AppError::StreamsUnavailable => "the origin is reconnecting to the database",
    ]
}

#[utoipa::path(
    get,
    path = "/api/workspaces/{id}/events/stream",
    tag = "workspaces",
    operation_id = "stream_events",
    params(
        ("id" = Uuid, Path, description = "Workspace id"),
        ("after" = Option<i64>, Query, description = "Replay the events after this id first, then go live")
    ),
    responses(
        (
            status = 101,
            description = "A WebSocket: each text message one event `{id, kind, payload, created_at}`, in id order, none twice. Closed with 4401 when its credential is revoked (or its session signed out, or its person suspended), 4403 when its person leaves the workspace, 1013 when the client does not keep up, 1001 after 90 s with nothing heard, 1012 when the origin cannot promise every event (reconnect with ?after=)."
        ),
        StreamRefusals
    ),
    security(("pat" = []), ("session" = []), ("session_cookie" = []), ("task_token" = []))
)]
pub async fn workspace(
    State(state): State<AppState>,
    member: InWorkspace<UserCaller>,
    Query(after): Query<After>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> AppResult<Response> {
    let caller = member.caller;
    let presented = Presented::of(&headers);
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    let ours = state
        .public_url
        .as_ref()
        .map(|url| url.origin().ascii_serialization());
    check_origin(&presented.offered("GET"), origin, ours.as_deref())?;
    let held = Held::of(
        &caller.actor,
        caller.session_id,
        &presented,
        RouteClass::User,
    )?;
    open(state, member.id, caller.actor, held, after.after, upgrade).await
}

#[utoipa::path(
    get,
    path = "/api/daemon/events/stream",
    tag = "daemon",
    operation_id = "stream_daemon_events",
    params(("after" = Option<i64>, Query, description = "Replay the events after this id first, then go live")),
    responses(
        (
            status = 101,
            description = "A WebSocket of the daemon's workspace's events, as /api/workspaces/{id}/events/stream. Closed with 4401 when the daemon token is revoked (its member removed, say)."
        ),
        DaemonStreamRefusals
    ),
    security(("daemon_token" = []))
)]
pub async fn daemon(
    State(state): State<AppState>,
    caller: DaemonCaller,
    Query(after): Query<After>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> AppResult<Response> {
    let Actor::Daemon { workspace_id, .. } = caller.actor else {
        return Err(AuthError::NotForStreams.into());
    };
    let presented = Presented::of(&headers);
    let held = Held::of(&caller.actor, None, &presented, RouteClass::Daemon)?;
    open(
        state,
        workspace_id,
        caller.actor,
        held,
        after.after,
        upgrade,
    )
    .await
}

/// The credential a stream was opened with, as it is checked again and as its end is
/// announced (`db::ended`).
#[derive(Clone, Copy)]
enum Held {
    Token { kind: TokenKind, hash: TokenHash },
    Session { id: Uuid },
}

impl Held {
    /// The credential `actor` was authenticated by: its session's record, or the token
    /// the request carries (the edge forwards `Authorization` as it came).
    fn of(
        actor: &Actor,
        session_id: Option<Uuid>,
        presented: &Presented,
        class: RouteClass,
    ) -> AppResult<Held> {
        if let Actor::Session { .. } = actor {
            let id = session_id.ok_or(AuthError::InvalidToken)?;
            return Ok(Held::Session { id });
        }
        let Extracted::Token(token) = access::extract(class, &presented.offered("GET"))? else {
            return Err(AuthError::InvalidToken.into());
        };
        // Fleet ends cloud PATs, and nobody tells this origin when.
        if token.kind == TokenKind::Cloud {
            return Err(AuthError::NotForStreams.into());
        }
        if actor.source().credential() != access::Credential::Token(token.kind) {
            return Err(AuthError::InvalidToken.into());
        }
        Ok(Held::Token {
            kind: token.kind,
            hash: token.hash(),
        })
    }

    /// The key its end is announced by.
    fn key(&self) -> String {
        match self {
            Held::Token { kind, hash } => cache_key(*kind, hash).as_str().to_owned(),
            Held::Session { id } => session::revocation_key(*id),
        }
    }
}

async fn open(
    state: AppState,
    workspace_id: Uuid,
    actor: Actor,
    held: Held,
    after: Option<i64>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> AppResult<Response> {
    let upgrade = upgrade.map_err(|_| AppError::UpgradeRequired)?;
    let registration = state.streams.register(Opened {
        workspace_id,
        user_id: actor.user_id(),
        credential: held.key(),
    })?;
    // Registered first: an end committed from here on is heard by the registry, and one
    // committed before is seen by this check (the edge may have answered from its cache).
    let expires_in = match check(&state, held, &actor, workspace_id).await {
        Checked::Live(expires_in) => expires_in,
        Checked::Ended(Ending::NotAMember) => return Err(Refusal::WorkspaceNotFound.into()),
        Checked::Ended(_) => return Err(AuthError::InvalidToken.into()),
        Checked::Unknown => return Err(AppError::DatabaseUnavailable),
    };
    let checker = state.clone();
    let again: Check = Box::new(move || {
        let (state, actor) = (checker.clone(), actor.clone());
        Box::pin(async move { check(&state, held, &actor, workspace_id).await })
    });
    let pump = Pump {
        pool: state.pool.clone(),
        registration,
        after,
        settings: state.streams.settings(),
        check: again,
        expires_in,
    };
    Ok(upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| pump.run(socket))
        .into_response())
}

/// Whether the stream's credential is still live and its person still a member.
async fn check(state: &AppState, held: Held, actor: &Actor, workspace_id: Uuid) -> Checked {
    let user_id = actor.user_id();
    let expires_in = match held {
        Held::Token { kind, hash } => match state.resolver.resolve(kind, &hash).await {
            // A task's token is never kept by the edge (its TTL says 0) and its end is
            // announced: the ping's check is enough. Any other is checked again when
            // the edge's copy would lapse (it ends within it, or is found still good).
            Ok(Some(resolved)) if resolved.actor == *actor => match actor {
                Actor::TaskToken { .. } => None,
                _ => Some(Duration::from_secs(resolved.ttl_secs).max(MIN_RECHECK)),
            },
            Ok(_) => return Checked::Ended(Ending::Revoked),
            Err(_) => return Checked::Unknown,
        },
        Held::Session { id } => {
            let live = with_client(&state.pool, move |db| {
                Box::pin(async move { sessions::seen_if_live(db, id, user_id).await })
            });
            match live.await {
                // Checked again when it expires (found ended then).
                Ok(Some(left)) => Some(left.max(MIN_RECHECK)),
                Ok(None) => return Checked::Ended(Ending::Revoked),
                Err(_) => return Checked::Unknown,
            }
        }
    };
    let role = with_client(&state.pool, move |db| {
        Box::pin(async move { members::role_of(db, workspace_id, user_id).await })
    });
    match role.await {
        Ok(Some(_)) => Checked::Live(expires_in),
        Ok(None) => Checked::Ended(Ending::NotAMember),
        Err(_) => Checked::Unknown,
    }
}
