//! Announcements of ended credentials, for the event streams (`crate::streams`): each
//! origin's listener closes the sockets that were opened with one.

use uuid::Uuid;

use super::{GenericClient, StoreResult};

/// The channel credentials are announced on when they end, by the key a stream
/// remembers its credential by: the edge's cache key of a token
/// (`tollgate:auth:{kind}:{hash}`), the revocation key of a session, or [`user_key`]
/// for everything acting for a person.
pub const CHANNEL: &str = "tollgate_ended";

/// What starts a person's key ([`user_key`]); no credential's key does.
pub const USER_PREFIX: &str = "user:";

/// The key that ends every credential acting for user `id` (a suspension).
pub fn user_key(id: Uuid) -> String {
    format!("{USER_PREFIX}{id}")
}

/// What starts a removed member's key ([`member_key`]).
pub const MEMBER_PREFIX: &str = "member:";

/// The key that ends user `user_id`'s streams of workspace `workspace_id` (a removal):
/// announced before anything else the removal ends, so their streams close as "no
/// longer a member" whichever of their credentials the listener hears of first.
pub fn member_key(workspace_id: Uuid, user_id: Uuid) -> String {
    format!("{MEMBER_PREFIX}{workspace_id}:{user_id}")
}

/// What an announced key names.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended<'a> {
    /// A credential's own key (a token's cache key, a session's revocation key).
    Credential(&'a str),
    /// Everything acting for this person ([`user_key`]).
    Person(Uuid),
    /// This person's streams of this workspace ([`member_key`]).
    Member { workspace_id: Uuid, user_id: Uuid },
    /// A person's or member's key that does not parse: names nothing.
    Unreadable,
}

impl<'a> Ended<'a> {
    pub fn of(key: &'a str) -> Ended<'a> {
        if let Some(user) = key.strip_prefix(USER_PREFIX) {
            return user.parse().map_or(Ended::Unreadable, Ended::Person);
        }
        if let Some(rest) = key.strip_prefix(MEMBER_PREFIX) {
            let parsed = rest
                .split_once(':')
                .and_then(|(w, u)| Some((w.parse().ok()?, u.parse().ok()?)));
            return match parsed {
                Some((workspace_id, user_id)) => Ended::Member {
                    workspace_id,
                    user_id,
                },
                None => Ended::Unreadable,
            };
        }
        Ended::Credential(key)
    }
}

/// Announces `keys` in the caller's transaction: heard if and only if it commits.
pub async fn announce(db: &impl GenericClient, keys: &[String]) -> StoreResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let stmt = db
        .prepare_cached("SELECT pg_notify($2, k) FROM unnest($1::text[]) AS k")
        .await?;
    db.execute(&stmt, &[&keys, &CHANNEL]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back() {
        let (w, u) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(Ended::of(&user_key(u)), Ended::Person(u));
        assert_eq!(
            Ended::of(&member_key(w, u)),
            Ended::Member {
                workspace_id: w,
                user_id: u
            }
        );
        assert_eq!(
            Ended::of("tollgate:auth:pat:x"),
            Ended::Credential("tollgate:auth:pat:x")
        );
        for bad in [
            "user:x",
            "member:x",
            &format!("member:{w}"),
            &format!("member:{w}:x"),
        ] {
            assert_eq!(Ended::of(bad), Ended::Unreadable, "{bad}");
        }
    }
}
