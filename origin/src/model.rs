//! The words stored in text columns — roles, task statuses, runtime visibility — as
//! enums, so that code compares variants, never strings. Each converts to and from its
//! column (`ToSql`/`FromSql`), JSON (its snake_case name) and its OpenAPI schema.

use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

/// An enum stored as text: `as_str`, `parse`, `ALL`, and the Postgres conversions.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(
                &self,
                ty: &Type,
                out: &mut bytes::BytesMut,
            ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.as_str().to_sql(ty, out)
            }

            fn accepts(ty: &Type) -> bool {
                <&str as ToSql>::accepts(ty)
            }

            to_sql_checked!();
        }

        impl<'a> FromSql<'a> for $name {
            fn from_sql(
                ty: &Type,
                raw: &'a [u8],
            ) -> Result<$name, Box<dyn std::error::Error + Sync + Send>> {
                let text = <&str as FromSql>::from_sql(ty, raw)?;
                $name::parse(text)
                    .ok_or_else(|| format!(concat!("unknown ", stringify!($name), " {:?}"), text).into())
            }

            fn accepts(ty: &Type) -> bool {
                <&str as FromSql>::accepts(ty)
            }
        }
    };
}

text_enum! {
    /// A member's role in a workspace, and what it may do (below).
    Role {
        Owner = "owner",
        Admin = "admin",
        Member = "member",
    }
}

impl Role {
    /// Owners and admins run the workspace: members, install tokens, daemon tokens.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Whether this role may give `granted` to someone, or change or remove someone
    /// who has `current`: owners anything; admins anything but owners.
    pub fn may_manage(self, current: Option<Role>, granted: Option<Role>) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => current != Some(Role::Owner) && granted != Some(Role::Owner),
            Role::Member => false,
        }
    }
}

text_enum! {
    /// Where a task is in its life.
    TaskStatus {
        Queued = "queued",
        Dispatched = "dispatched",
        Running = "running",
        WaitingLocalDirectory = "waiting_local_directory",
        Deferred = "deferred",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl TaskStatus {
    /// Not finished: what a removal cancels.
    pub const LIVE: [TaskStatus; 5] = [
        TaskStatus::Queued,
        TaskStatus::Dispatched,
        TaskStatus::Running,
        TaskStatus::WaitingLocalDirectory,
        TaskStatus::Deferred,
    ];

    /// Claimed by a daemon and not finished: what revoking that daemon cancels (queued
    /// tasks wait for the machine to be enrolled again).
    pub const CLAIMED: [TaskStatus; 4] = [
        TaskStatus::Dispatched,
        TaskStatus::Running,
        TaskStatus::WaitingLocalDirectory,
        TaskStatus::Deferred,
    ];

    /// How a daemon may end a task.
    pub const OUTCOMES: [TaskStatus; 2] = [TaskStatus::Completed, TaskStatus::Failed];

    pub fn is_live(self) -> bool {
        TaskStatus::LIVE.contains(&self)
    }
}

text_enum! {
    /// Who may put agents on a runtime: its owner only, or every member.
    Visibility {
        Private = "private",
        Workspace = "workspace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(*role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(*status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        for v in Visibility::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        assert_eq!(Role::parse("Owner"), None);
        assert_eq!(TaskStatus::parse("done"), None);
    }

    #[test]
    fn what_each_role_may_do() {
        use Role::{Admin, Member, Owner};
        assert!(Owner.may_manage(Some(Owner), Some(Member)));
        assert!(Admin.may_manage(Some(Member), Some(Admin)));
        assert!(
            !Admin.may_manage(Some(Owner), Some(Member)),
            "an admin over an owner"
        );
        assert!(
            !Admin.may_manage(Some(Member), Some(Owner)),
            "an admin making owners"
        );
        assert!(!Admin.may_manage(None, Some(Owner)));
        assert!(Admin.may_manage(None, Some(Member)));
        assert!(!Member.may_manage(Some(Member), None));
        assert!(Owner.is_admin() && Admin.is_admin() && !Member.is_admin());
    }

    #[test]
    fn live_and_claimed() {
        assert!(TaskStatus::CLAIMED.iter().all(|s| s.is_live()));
        assert!(!TaskStatus::CLAIMED.contains(&TaskStatus::Queued));
        assert_eq!(
            TaskStatus::ALL.iter().filter(|s| !s.is_live()).count(),
            3,
            "completed, failed, cancelled"
        );
    }
}
