//! Leaked-token reports: whoever finds one of our tokens (a secret scanner, a person)
//! reports it, and each string that is one of our live tokens is ended as its owner would
//! end it — a PAT or a daemon token revoked and purged through the revocation log (so it
//! is refused everywhere within 2 s), a task token deleted — and its owner hears of it:
//! an event (`token:leaked`: in the workspace for daemon and task tokens, on the
//! person's own feed for PATs) and, when mail is configured, a message. Each revocation
//! is one conditional statement: a token reported twice, or in two reports at once, is
//! revoked and announced once. The answer never says which strings were tokens.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tollgate_shared::leaks::reportable;
use tollgate_shared::token::{self, TokenKind, DISPLAY_PREFIX_LEN};
use tollgate_shared::{cache_key, TokenHash};

use crate::daemons::{self, Why};
use crate::db::{
    account_events, daemon_tokens, events, in_transaction, members, pats, tasks, users,
};
use crate::domain_error::{DomainError, DomainResult};
use crate::mail::Mail;
use crate::outbox::Outbox;

/// The event every ended token records.
pub const LEAKED_EVENT: &str = "token:leaked";

/// A live token a report ended: what its owner is told (never the token).
#[derive(Debug, Clone)]
pub struct Leaked {
    pub kind: TokenKind,
    /// The PAT's name; the daemon's id; `task <id>` for a task token.
    pub name: String,
    /// Its first 12 characters.
    pub prefix: String,
    pub owner_email: String,
    pub revoked_at: DateTime<Utc>,
}

/// The reported strings that parse as our tokens of a kind a report ends (prefix and
/// checksum, no I/O), each once: `(kind, hash, prefix)`.
fn reported(tokens: &[String]) -> Vec<(TokenKind, TokenHash, String)> {
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for raw in tokens {
        let Ok(token) = token::parse(raw) else {
            continue;
        };
        if !reportable(token.kind) {
            continue;
        }
        let hash = token.hash();
        if seen.insert(hash.as_str().to_owned()) {
            let prefix: String = raw.chars().take(DISPLAY_PREFIX_LEN).collect();
            found.push((token.kind, hash, prefix));
        }
    }
    found
}

fn event(
    kind: TokenKind,
    id: impl serde::Serialize,
    name: &str,
    prefix: &str,
    source: Option<&str>,
) -> Value {
    json!({
        "kind": kind.as_str(),
        "token_id": id,
        "name": name,
        "prefix": prefix,
        "source": source,
    })
}

/// Ends every live token among `tokens` that a report may end, as described above;
/// what was ended.
pub async fn revoke(
    outbox: &Outbox,
    tokens: &[String],
    source: Option<&str>,
) -> DomainResult<Vec<Leaked>> {
    let found = reported(tokens);
    let of = |kind: TokenKind| -> Vec<(TokenHash, String)> {
        let matching = found.iter().filter(|(k, _, _)| *k == kind);
        matching.map(|(_, h, p)| (*h, p.clone())).collect()
    };
    let source = source.map(str::to_owned);
    let mut leaked = revoke_pats(outbox, of(TokenKind::Pat), source.clone()).await?;
    // Task tokens before daemon tokens: ending a daemon deletes the task tokens of what
    // it claimed, and a reported one must be announced as the leak it was.
    leaked.extend(delete_task_tokens(outbox, of(TokenKind::Task), source.clone()).await?);
    for (hash, prefix) in of(TokenKind::Daemon) {
        leaked.extend(revoke_daemon_token(outbox, hash, prefix, source.clone()).await?);
    }
    for l in &leaked {
        tracing::warn!(kind = %l.kind, prefix = %l.prefix, "token reported leaked: ended");
    }
    Ok(leaked)
}

async fn revoke_pats(
    outbox: &Outbox,
    found: Vec<(TokenHash, String)>,
    source: Option<String>,
) -> DomainResult<Vec<Leaked>> {
    if found.is_empty() {
        return Ok(Vec::new());
    }
    outbox
        .revoking(move |tx| {
            Box::pin(async move {
                let hashes: Vec<&str> = found.iter().map(|(h, _)| h.as_str()).collect();
                let revoked = pats::revoke_leaked(tx, &hashes).await?;
                let mut leaked = Vec::new();
                for pat in &revoked {
                    let payload = event(
                        TokenKind::Pat,
                        pat.id,
                        &pat.name,
                        &pat.token_prefix,
                        source.as_deref(),
                    );
                    account_events::record(tx, pat.user_id, LEAKED_EVENT, &payload).await?;
                    leaked.push(Leaked {
                        kind: TokenKind::Pat,
                        name: pat.name.clone(),
                        prefix: pat.token_prefix.clone(),
                        owner_email: pat.email.clone(),
                        revoked_at: Utc::now(),
                    });
                }
                let keys = revoked
                    .iter()
                    .map(|p| cache_key(TokenKind::Pat, &p.hash).to_string())
                    .collect();
                Ok::<_, DomainError>((leaked, keys))
            })
        })
        .await
}

/// As an admin's revocation does: the member held (a removal of them waits, or came
/// first), the token revoked, what it started ended, then the leak recorded.
async fn revoke_daemon_token(
    outbox: &Outbox,
    hash: TokenHash,
    prefix: String,
    source: Option<String>,
) -> DomainResult<Option<Leaked>> {
    outbox
        .revoking(move |tx| {
            Box::pin(async move {
                let none = Ok((None, Vec::new()));
                let Some((id, workspace_id, owner)) =
                    daemon_tokens::live_by_hash(tx, &hash).await?
                else {
                    return none;
                };
                members::hold(tx, workspace_id, &[owner]).await?;
                let Some(revoked) = daemon_tokens::revoke(tx, id, workspace_id).await? else {
                    return none;
                };
                let keys = daemons::end(
                    tx,
                    workspace_id,
                    std::slice::from_ref(&revoked),
                    Why::Leaked,
                )
                .await?;
                let payload = event(
                    TokenKind::Daemon,
                    id,
                    &revoked.daemon_id,
                    &prefix,
                    source.as_deref(),
                );
                events::record(tx, workspace_id, vec![(LEAKED_EVENT, payload)]).await?;
                let owner_email = users::find_by_id(tx, owner).await?.map(|u| u.email);
                let leaked = owner_email.map(|owner_email| Leaked {
                    kind: TokenKind::Daemon,
                    name: revoked.daemon_id.clone(),
                    prefix,
                    owner_email,
                    revoked_at: Utc::now(),
                });
                Ok::<_, DomainError>((leaked, keys))
            })
        })
        .await
}

/// Task tokens are never cached at the edge: deleted, each is refused from the next
/// request on.
async fn delete_task_tokens(
    outbox: &Outbox,
    found: Vec<(TokenHash, String)>,
    source: Option<String>,
) -> DomainResult<Vec<Leaked>> {
    if found.is_empty() {
        return Ok(Vec::new());
    }
    in_transaction(outbox.pool(), move |tx| {
        Box::pin(async move {
            let hashes: Vec<&str> = found.iter().map(|(h, _)| h.as_str()).collect();
            let gone = tasks::delete_leaked_tokens(tx, &hashes).await?;
            let mut leaked = Vec::new();
            let mut recorded = Vec::new();
            for token in &gone {
                // Which reported string it was: the one whose hash the row had.
                let prefix = found
                    .iter()
                    .find(|(h, _)| h.as_str() == token.hash.as_str())
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default();
                let name = format!("task {}", token.task_id);
                let payload = event(
                    TokenKind::Task,
                    token.task_id,
                    &name,
                    &prefix,
                    source.as_deref(),
                );
                recorded.push((token.workspace_id, LEAKED_EVENT, payload));
                leaked.push(Leaked {
                    kind: TokenKind::Task,
                    name,
                    prefix,
                    owner_email: token.email.clone(),
                    revoked_at: Utc::now(),
                });
            }
            // Last, and in workspace order: see `events::record`.
            events::record_each(tx, recorded).await?;
            Ok::<_, DomainError>(leaked)
        })
    })
    .await
}

/// What `leaked`'s owner is sent: which token, when, where it was reported — never the
/// token.
pub fn notice(leaked: &Leaked, source: Option<&str>) -> Mail {
    let what = match leaked.kind {
        TokenKind::Pat => format!("personal access token \"{}\"", leaked.name),
        TokenKind::Daemon => format!("daemon token of the machine \"{}\"", leaked.name),
        _ => format!("task token of {}", leaked.name),
    };
    let at = leaked.revoked_at.format("%Y-%m-%d %H:%M:%S UTC");
    let source = source.map_or_else(
        || "No source was given.".to_owned(),
        |s| format!("It was reported found at:\n\n    {s}"),
    );
    Mail {
        to: leaked.owner_email.clone(),
        subject: "A Tollgate token of yours was reported leaked and revoked".to_owned(),
        text: format!(
            "Your {what} ({prefix}…) was revoked at {at}, because someone reported\n\
             finding it where others can see it. {source}\n\n\
             Anything still using it is refused from now on. If you still need one, create a\n\
             new token, and keep it out of code, logs and chat. Then check what the old one\n\
             could reach while it was exposed.\n",
            prefix = leaked.prefix,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_shared::RawToken;

    #[test]
    fn only_our_reportable_tokens_count_each_once() {
        let pat = RawToken::generate(TokenKind::Pat).unwrap();
        let install = RawToken::generate(TokenKind::Install).unwrap();
        let mut bad_checksum = pat.expose().to_owned();
        bad_checksum.replace_range(
            43..,
            if bad_checksum.ends_with('0') {
                "1"
            } else {
                "0"
            },
        );
        let tokens = [
            pat.expose(),
            pat.expose(),
            install.expose(),
            "mcn_cloud-token",
            &bad_checksum,
            "garbage",
        ]
        .map(str::to_owned);
        let found = reported(&tokens);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, TokenKind::Pat);
        assert_eq!(found[0].2, pat.display_prefix());
    }

    #[test]
    fn the_notice_names_the_token_and_the_source_and_never_holds_it() {
        let leaked = Leaked {
            kind: TokenKind::Pat,
            name: "ci".to_owned(),
            prefix: "mul_0123abcd".to_owned(),
            owner_email: "ada@example.com".to_owned(),
            revoked_at: Utc::now(),
        };
        let mail = notice(&leaked, Some("https://github.com/ada/app/blob/main/.env"));
        assert_eq!(mail.to, "ada@example.com");
        for part in [
            "\"ci\"",
            "mul_0123abcd…",
            "https://github.com/ada/app/blob/main/.env",
        ] {
            assert!(mail.text.contains(part), "{part}: {}", mail.text);
        }
        assert!(notice(&leaked, None).text.contains("No source was given."));
    }
}
