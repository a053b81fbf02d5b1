//! Workspace membership: adding people, changing roles, and removing a member (or a
//! member leaving), which stops exactly what acts for them in the workspace — in one
//! transaction, and at the edge through the outbox.

use std::collections::HashSet;

use deadpool_postgres::Pool;
use serde_json::json;
use tollgate_shared::{cache_key, AuthError, TokenKind};
use uuid::Uuid;

use serde::Serialize;

use crate::daemons;
use crate::db::{
    agents, daemon_tokens, ended, events, in_transaction, members, pats, removal, rolled_back,
    runtimes, tasks, users,
};
use crate::domain_error::DomainResult;
use crate::model::{Role, TaskStatus};
use crate::outbox::Outbox;
use crate::refusal::Refusal;

/// A member's role, as added or changed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    /// `owner`, `admin` or `member`.
    #[schema(value_type = String)]
    pub role: Role,
}

/// Adds the user with `email` to the workspace as `role`, if the caller's role `by` may
/// give it (owners anything, admins admin and member). An address with no account gets
/// one (the person can then sign in): the answer never tells a stranger which addresses
/// have accounts.
pub async fn add(
    pool: &Pool,
    workspace_id: Uuid,
    by: Role,
    email: &str,
    role: Role,
) -> DomainResult<Membership> {
    if !by.may_manage(None, Some(role)) {
        return Err(AuthError::InsufficientPermissions.into());
    }
    let email = email.to_owned();
    in_transaction(pool, move |tx| {
        Box::pin(async move {
            let user = users::find_or_create(tx, &email).await?;
            if !members::add(tx, workspace_id, user.id, role).await? {
                return Err(Refusal::AlreadyAMember.into());
            }
            let added = json!({ "user_id": user.id, "role": role.as_str() });
            events::record(tx, workspace_id, vec![("member:added", added)]).await?;
            Ok(Membership {
                workspace_id,
                user_id: user.id,
                role,
            })
        })
    })
    .await
}

/// Changes a member's role under the membership's lock (serialized with their removal
/// and everything that holds the membership), if the caller's role `by` may: owners
/// anything, admins not for or to owner; a workspace keeps an owner.
pub async fn change_role(
    pool: &Pool,
    workspace_id: Uuid,
    by: Role,
    user_id: Uuid,
    role: Role,
) -> DomainResult<Membership> {
    in_transaction(pool, move |tx| {
        Box::pin(async move {
            members::lock(tx, workspace_id, user_id).await?;
            let current = removal::member_role(tx, workspace_id, user_id)
                .await?
                .ok_or(Refusal::MemberNotFound)?;
            if !by.may_manage(Some(current), Some(role)) {
                return Err(AuthError::InsufficientPermissions.into());
            }
            if !members::set_role(tx, workspace_id, user_id, role).await? {
                return Err(Refusal::LastOwner.into());
            }
            Ok(Membership {
                workspace_id,
                user_id,
                role,
            })
        })
    })
    .await
}

/// What a removal stopped, or would stop (the preview).
#[derive(Debug, Default, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Stopped {
    /// The member's daemons (a daemon whose token is revoked stops).
    pub daemons: usize,
    pub daemon_tokens: usize,
    /// Their personal access tokens bound to the workspace.
    pub bound_tokens: usize,
    pub runtimes: usize,
    pub agents: usize,
    pub tasks: usize,
}

/// Removes `user_id` from the workspace. Who is removing: an owner or admin
/// (`Some(role)`), or the member leaving (`None`).
///
/// Under the membership's exclusive lock (everything that creates a credential or work
/// for the member holds it shared, so it either finished before, and is stopped here,
/// or starts after, and sees the member gone), in one transaction: the daemon tokens
/// acting for them (whoever minted their install tokens) and their PATs bound to the
/// workspace are revoked; their runtimes go
/// offline; the agents on those runtimes and the agents they created are archived;
/// every live task on those runtimes, of those agents, or queued by them anywhere in
/// the workspace is cancelled and its task token deleted; the membership is deleted;
/// events are recorded. Nothing acting for anyone else is touched.
pub async fn remove(
    outbox: &Outbox,
    workspace_id: Uuid,
    user_id: Uuid,
    by: Uuid,
    by_role: Option<Role>,
) -> DomainResult<Stopped> {
    let stopped = outbox
        .revoking(move |tx| Box::pin(stop(tx, workspace_id, user_id, by, by_role)))
        .await?;
    tracing::info!(%workspace_id, %user_id, ?stopped, "member removed");
    Ok(stopped)
}

/// What removing `user_id` by an owner or admin of role `by_role` would stop now: the
/// removal itself, with the same refusals, in a transaction that is rolled back — so
/// the preview counts exactly the sets the removal would, and changes nothing (no
/// purge is queued, no event is kept). It takes the removal's locks for those few
/// milliseconds: what acts for the member waits as long; admins only (who may remove
/// the member outright) can ask.
pub async fn preview_removal(
    pool: &Pool,
    workspace_id: Uuid,
    user_id: Uuid,
    by: Uuid,
    by_role: Role,
) -> DomainResult<Stopped> {
    rolled_back(pool, move |tx| {
        Box::pin(async move {
            let (stopped, _keys) = stop(tx, workspace_id, user_id, by, Some(by_role)).await?;
            Ok(stopped)
        })
    })
    .await
}

/// The removal's statements (see [`remove`]): what they stopped, and the cache keys
/// of the credentials they revoked. SQL only, and nothing else: the preview runs this
/// and rolls it back, so anything outside the transaction (mail, a purge, a log line
/// that says "removed") belongs in [`remove`], after the commit.
async fn stop(
    tx: &deadpool_postgres::Transaction<'_>,
    workspace_id: Uuid,
    user_id: Uuid,
    by: Uuid,
    by_role: Option<Role>,
) -> DomainResult<(Stopped, Vec<String>)> {
    members::lock(tx, workspace_id, user_id).await?;
    let Some(role) = removal::member_role(tx, workspace_id, user_id).await? else {
        // Leaving a workspace one is not in, or removing someone already gone.
        return Err(match by_role {
            None => Refusal::WorkspaceNotFound,
            Some(_) => Refusal::MemberNotFound,
        }
        .into());
    };
    if by_role.is_some_and(|by| !by.may_manage(Some(role), None)) {
        return Err(AuthError::InsufficientPermissions.into());
    }
    if role == Role::Owner && removal::other_owners(tx, workspace_id, user_id).await? == 0 {
        return Err(Refusal::LastOwner.into());
    }
    // First of everything this transaction announces (db::ended::member_key).
    ended::announce(tx, &[ended::member_key(workspace_id, user_id)]).await?;
    let revoked = daemon_tokens::revoke_for_member(tx, workspace_id, user_id).await?;
    let bound = pats::revoke_bound(tx, workspace_id, user_id).await?;
    let owned = runtimes::of_member(tx, workspace_id, user_id).await?;
    let agents = agents::archive(tx, workspace_id, &owned, user_id, by).await?;
    let cancelled = tasks::cancel(
        tx,
        workspace_id,
        &tasks::Cancel {
            runtimes: &owned,
            agents: &agents,
            queued_by: Some(user_id),
            statuses: &TaskStatus::LIVE,
        },
    )
    .await?;
    tasks::delete_tokens(tx, &cancelled).await?;
    let offline = runtimes::take_offline(tx, &owned).await?;
    removal::delete_member(tx, workspace_id, user_id).await?;

    let mut recorded = vec![("member:removed", json!({ "user_id": user_id, "by": by }))];
    recorded.extend(
        agents
            .iter()
            .map(|id| ("agent:archived", json!({ "agent_id": id }))),
    );
    recorded.extend(cancelled.iter().map(|id| daemons::cancelled_event(*id)));
    recorded.extend(offline.iter().map(runtimes::offline_event));
    recorded.extend(
        revoked
            .iter()
            .map(|r| daemons::revoked_event(r, daemons::Why::MemberRemoved)),
    );
    events::record(tx, workspace_id, recorded).await?;

    let daemons: HashSet<&str> = revoked.iter().map(|r| r.daemon_id.as_str()).collect();
    let stopped = Stopped {
        daemons: daemons.len(),
        daemon_tokens: revoked.len(),
        bound_tokens: bound.len(),
        runtimes: owned.len(),
        agents: agents.len(),
        tasks: cancelled.len(),
    };
    let mut keys = daemons::purge_keys(&revoked);
    keys.extend(
        bound
            .iter()
            .map(|hash| cache_key(TokenKind::Pat, hash).to_string()),
    );
    Ok((stopped, keys))
}
