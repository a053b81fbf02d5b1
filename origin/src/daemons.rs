//! Daemons: install tokens minted by workspace admins for a member, exchanged exactly
//! once for a daemon token that acts for that member in one workspace under one daemon
//! id, and revoked (by an admin, a re-enrollment or a removal) together with what they
//! started.

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{json, Value};
use tollgate_shared::wire::ExchangeAnswer;
use tollgate_shared::{cache_key, AuthError, RawToken, TokenHash, TokenKind};
use uuid::Uuid;

use crate::db::daemon_tokens::{self, NewDaemonToken};
use crate::db::install_tokens::{self, InstallTokenView, NotConsumed};
use crate::db::members as db_members;
use crate::db::runtimes::{Acting, Runtime};
use crate::db::{events, members, runtimes, tasks, GenericClient, StoreResult};
use crate::domain_error::{DomainError, DomainResult};
use crate::model::{Role, TaskStatus};
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::workspaces;

/// The one response that carries a new install token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MintedInstallToken {
    #[serde(flatten)]
    pub view: InstallTokenView,
    #[schema(value_type = String)]
    pub token: RawToken,
}

/// An install token minted by `issuer`, whose role in the workspace is `issuer_role`,
/// for the member `for_user`, whom the daemon it enrolls will act for. Owners and
/// admins mint; for someone else only whom their role may manage (an admin not for an
/// owner: a daemon acting for someone is as much as their credentials).
pub async fn mint_install_token(
    db: &impl GenericClient,
    workspace_id: Uuid,
    (issuer, issuer_role): (Uuid, Role),
    for_user: Uuid,
) -> DomainResult<MintedInstallToken> {
    workspaces::admin(issuer_role)?;
    if for_user != issuer {
        let role = db_members::role_of(db, workspace_id, for_user)
            .await?
            .ok_or(Refusal::MemberNotFound)?;
        if !issuer_role.may_manage(Some(role), None) {
            return Err(AuthError::InsufficientPermissions.into());
        }
    }
    let raw = RawToken::generate(TokenKind::Install)?;
    let view = install_tokens::insert(db, &raw.hash(), workspace_id, issuer, for_user)
        .await?
        .ok_or(Refusal::MemberNotFound)?;
    tracing::info!(install_token_id = %view.id, %workspace_id, user_id = %for_user, "install token minted");
    Ok(MintedInstallToken { view, token: raw })
}

/// Exchanges an install token for a daemon token acting for the token's member, in one
/// transaction that holds the membership (a removal waits for it, or it sees the
/// removal): one conditional `UPDATE` decides (unused, unexpired, member still in the
/// workspace, issuer still owner or admin), so of any number of concurrent exchanges
/// exactly one succeeds. A daemon id is the member's: another member's live token under
/// it is a 409; the member's own live token is replaced (revoked, what it started ended,
/// purged before the answer). Nothing half-done survives a failure.
pub async fn exchange(outbox: &Outbox, raw: &str, daemon_id: &str) -> DomainResult<ExchangeAnswer> {
    let hash = TokenHash::of(raw);
    let daemon_id = daemon_id.to_owned();
    outbox
        .revoking(move |tx| {
            Box::pin(async move {
                let daemon_id = daemon_id.as_str();
                // The member's and the issuer's memberships (a removal or demotion of either
                // waits, or has happened), then the daemon id (whoever else decides who holds it
                // waits).
                if let Some((workspace_id, parties)) = install_tokens::parties(tx, &hash).await? {
                    members::hold(tx, workspace_id, &parties).await?;
                    daemon_tokens::lock_daemon_id(tx, workspace_id, daemon_id).await?;
                }
                let Some(consumed) = install_tokens::consume(tx, &hash, daemon_id).await? else {
                    // Only to choose the message: the decision above is final.
                    let why = install_tokens::why_not_consumed(tx, &hash).await?;
                    return Err(DomainError::Auth(match why {
                        NotConsumed::UnknownOrExpired => AuthError::InvalidInstallToken,
                        NotConsumed::AlreadyUsed => AuthError::InstallTokenAlreadyUsed,
                        NotConsumed::MemberGone => AuthError::MemberGone,
                        NotConsumed::IssuerNotAuthorized => AuthError::IssuerNotAuthorized,
                    }));
                };
                let install_tokens::Consumed {
                    workspace_id,
                    issuer,
                    user_id,
                } = consumed;
                let mut replaced = Vec::new();
                match daemon_tokens::live_for_daemon(tx, workspace_id, daemon_id).await? {
                    Some((_, owner)) if owner != user_id => {
                        return Err(Refusal::DaemonIdEnrolled.into())
                    }
                    Some((old, _)) => {
                        replaced.extend(daemon_tokens::revoke(tx, old, workspace_id).await?)
                    }
                    None => {}
                }
                let keys = end(tx, workspace_id, &replaced, Why::Replaced).await?;
                let token = RawToken::generate(TokenKind::Daemon)?;
                let view = daemon_tokens::insert(
                    tx,
                    &NewDaemonToken {
                        hash: &token.hash(),
                        prefix: token.display_prefix(),
                        workspace_id,
                        daemon_id,
                        owner_id: user_id,
                        issued_by: issuer,
                    },
                )
                .await
                .map_err(|e| {
                    // Another exchange for this daemon id committed first.
                    if e.is_unique_violation() {
                        Refusal::DaemonIdEnrolled.into()
                    } else {
                        DomainError::from(e)
                    }
                })?;
                tracing::info!(
                    daemon_token_id = %view.id, %workspace_id, daemon_id, %user_id,
                    replaced = replaced.len(), "daemon enrolled"
                );
                let answer = ExchangeAnswer {
                    token,
                    workspace_id,
                    daemon_id: view.daemon_id,
                    user_id,
                    expires_at: view.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                };
                Ok::<_, DomainError>((answer, keys))
            })
        })
        .await
}

/// Registers (or re-registers) runtime `name` for `acting`, online, recording
/// `runtime:online` — preceded by `daemon:registered` when it is the daemon's first
/// runtime in the workspace (decided under the daemon id's lock, so once). `None` when
/// the token is no longer live.
pub async fn register_runtime(
    tx: &impl GenericClient,
    acting: &Acting,
    name: &str,
) -> StoreResult<Option<Runtime>> {
    daemon_tokens::lock_daemon_id(tx, acting.workspace_id, &acting.daemon_id).await?;
    let first = !runtimes::daemon_has_any(tx, acting.workspace_id, &acting.daemon_id).await?;
    let Some(runtime) = runtimes::upsert(tx, acting, name).await? else {
        return Ok(None);
    };
    let about = json!({
        "runtime_id": runtime.id,
        "name": runtime.name,
        "daemon_id": runtime.daemon_id,
        "owner_id": runtime.owner_id,
    });
    let mut recorded = Vec::new();
    if first {
        recorded.push(("daemon:registered", about.clone()));
    }
    recorded.push(("runtime:online", about));
    events::record(tx, acting.workspace_id, recorded).await?;
    Ok(Some(runtime))
}

/// Ends what revoked daemon tokens started, inside the revoking transaction: the tasks
/// claimed on their runtimes are cancelled and their task tokens deleted (each refused
/// from the next request on), the runtimes go offline, and `daemon:revoked` and
/// `task:cancelled` are recorded. Returns the cache keys to purge.
pub async fn end(
    tx: &impl GenericClient,
    workspace_id: Uuid,
    revoked: &[daemon_tokens::Revoked],
    why: Why,
) -> StoreResult<Vec<String>> {
    if revoked.is_empty() {
        return Ok(Vec::new());
    }
    let runtimes = runtimes::of_daemons(tx, workspace_id, revoked).await?;
    let cancelled = tasks::cancel(
        tx,
        workspace_id,
        &tasks::Cancel {
            runtimes: &runtimes,
            statuses: &TaskStatus::CLAIMED,
            ..tasks::Cancel::default()
        },
    )
    .await?;
    tasks::delete_tokens(tx, &cancelled).await?;
    let offline = runtimes::take_offline(tx, &runtimes).await?;
    let mut recorded: Vec<(&'static str, Value)> =
        revoked.iter().map(|r| revoked_event(r, why)).collect();
    recorded.extend(cancelled.iter().map(|id| cancelled_event(*id)));
    recorded.extend(offline.iter().map(runtimes::offline_event));
    events::record(tx, workspace_id, recorded).await?;
    Ok(purge_keys(revoked))
}

/// The edge's cache keys of revoked daemon tokens.
pub fn purge_keys(revoked: &[daemon_tokens::Revoked]) -> Vec<String> {
    revoked
        .iter()
        .map(|r| cache_key(TokenKind::Daemon, &r.hash).to_string())
        .collect()
}

/// Why a daemon token was revoked, as its `daemon:revoked` event says.
#[derive(Debug, Clone, Copy)]
pub enum Why {
    /// By an owner or admin.
    Revoked,
    /// By a new enrollment of the same machine for the same member.
    Replaced,
    /// With its member, who left or was removed.
    MemberRemoved,
    /// Reported leaked (`leaks`).
    Leaked,
}

impl Why {
    fn as_str(self) -> &'static str {
        match self {
            Why::Revoked => "revoked",
            Why::Replaced => "replaced",
            Why::MemberRemoved => "member removed",
            Why::Leaked => "leaked",
        }
    }
}

pub fn revoked_event(r: &daemon_tokens::Revoked, why: Why) -> (&'static str, Value) {
    (
        "daemon:revoked",
        json!({
            "daemon_token_id": r.id,
            "daemon_id": r.daemon_id,
            "user_id": r.owner_id,
            "reason": why.as_str(),
        }),
    )
}

pub fn cancelled_event(task_id: Uuid) -> (&'static str, Value) {
    ("task:cancelled", json!({ "task_id": task_id }))
}

/// Revokes a daemon token of the workspace, ends what it started and purges it from
/// the edge before returning. Idempotent.
pub async fn revoke_daemon_token(
    outbox: &Outbox,
    workspace_id: Uuid,
    token_id: Uuid,
) -> DomainResult<()> {
    outbox
        .revoking(move |tx| {
            Box::pin(async move {
                // Serialized with the member's removal, which revokes the same tokens:
                // the membership first, the token's row after, in the order a removal
                // takes them.
                let Some(owner) = daemon_tokens::owner(tx, token_id, workspace_id).await? else {
                    return Ok(((), Vec::new()));
                };
                members::hold(tx, workspace_id, &[owner]).await?;
                let Some(revoked) = daemon_tokens::revoke(tx, token_id, workspace_id).await? else {
                    return Ok(((), Vec::new()));
                };
                tracing::info!(%token_id, %workspace_id, "daemon token revoked");
                let keys = end(
                    tx,
                    workspace_id,
                    std::slice::from_ref(&revoked),
                    Why::Revoked,
                )
                .await?;
                Ok::<_, DomainError>(((), keys))
            })
        })
        .await
}
