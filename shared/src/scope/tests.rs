use super::*;

const W: Uuid = Uuid::from_bytes([7; 16]);
const OTHER: Uuid = Uuid::from_bytes([8; 16]);

const BOUND: Scope = Scope {
    workspace: Some(W),
    access: Access::Write,
};
const READ: Scope = Scope {
    workspace: None,
    access: Access::Read,
};
const BOUND_READ: Scope = Scope {
    workspace: Some(W),
    access: Access::Read,
};

fn ws(id: Uuid, rest: &str) -> String {
    format!("/api/workspaces/{id}{rest}")
}

/// What each scope gets, route by route: `None` is allowed.
#[test]
fn the_matrix() {
    use AuthError::{BoundElsewhere as Elsewhere, CannotGrant as Grant, ReadOnly as Ro};
    let mine = |rest: &str| ws(W, rest);
    let theirs = |rest: &str| ws(OTHER, rest);
    #[rustfmt::skip]
    let cases: Vec<(&str, String, [Option<AuthError>; 3])> = vec![
        //                                             bound           read          bound+read
        ("GET", "/api/me".into(),                      [None,          None,         None]),
        ("HEAD", "/api/me".into(),                     [None,          None,         None]),
        ("POST", "/api/tokens/current/renew".into(),   [None,          None,         None]),
        ("POST", "/api/tokens".into(),                 [None,          Some(Grant),  Some(Grant)]),
        ("GET", "/api/tokens".into(),                  [None,          None,         None]),
        ("DELETE", "/api/tokens/x".into(),             [None,          Some(Ro),     Some(Ro)]),
        ("GET", "/api/workspaces".into(),              [Some(Elsewhere), None,       Some(Elsewhere)]),
        ("POST", "/api/workspaces".into(),             [Some(Elsewhere), Some(Ro),   Some(Elsewhere)]),
        ("GET", "/api/workspaces/".into(),             [Some(Elsewhere), None,       Some(Elsewhere)]),
        ("GET", mine("/runtimes"),                     [None,          None,         None]),
        ("GET", mine("/events"),                       [None,          None,         None]),
        ("POST", mine("/tasks"),                       [None,          Some(Ro),     Some(Ro)]),
        ("PATCH", mine("/runtimes/r"),                 [None,          Some(Ro),     Some(Ro)]),
        ("GET", mine("/members"),                      [None,          None,         None]),
        ("POST", mine("/members"),                     [Some(Grant),   Some(Grant),  Some(Grant)]),
        ("PATCH", mine("/members/u"),                  [Some(Grant),   Some(Grant),  Some(Grant)]),
        ("DELETE", mine("/members/u"),                 [Some(Grant),   Some(Grant),  Some(Grant)]),
        ("POST", mine("/leave"),                       [Some(Grant),   Some(Grant),  Some(Grant)]),
        ("POST", mine("/install-tokens"),              [Some(Grant),   Some(Grant),  Some(Grant)]),
        ("GET", mine("/daemon-tokens"),                [None,          None,         None]),
        ("DELETE", mine("/daemon-tokens/t"),           [Some(Grant),   Some(Grant),  Some(Grant)]),
        ("GET", theirs("/runtimes"),                   [Some(Elsewhere), None,       Some(Elsewhere)]),
        ("POST", theirs("/tasks"),                     [Some(Elsewhere), Some(Ro),   Some(Elsewhere)]),
        ("POST", theirs("/install-tokens"),            [Some(Elsewhere), Some(Grant), Some(Elsewhere)]),
        ("GET", "/api/workspaces/not-a-uuid/runtimes".into(), [Some(Elsewhere), None, Some(Elsewhere)]),
        ("GET", "/api/daemon/whoami".into(),           [None,          None,         None]),
        ("POST", "/api/daemon/heartbeat".into(),       [None,          Some(Ro),     Some(Ro)]),
        ("POST", "/api/cloud-runtime/nodes".into(),    [Some(Elsewhere), Some(Ro),   Some(Elsewhere)]),
        ("GET", "/api/cloud-runtime/nodes".into(),     [Some(Elsewhere), None,       Some(Elsewhere)]),
    ];
    for (method, path, expected) in cases {
        for (scope, want) in [BOUND, READ, BOUND_READ].into_iter().zip(expected) {
            assert_eq!(
                scope.permits(method, &path).err(),
                want,
                "{method} {path} with {scope:?}"
            );
        }
        assert_eq!(
            Scope::UNSCOPED.permits(method, &path),
            Ok(()),
            "{method} {path}"
        );
    }
}

#[test]
fn the_workspace_is_read_as_the_router_reads_it() {
    let upper = W.to_string().to_uppercase();
    let simple = W.simple().to_string();
    let encoded: String = W.to_string().bytes().map(|b| format!("%{b:02x}")).collect();
    for spelling in [upper, simple, encoded] {
        let path = format!("/api/workspaces/{spelling}/runtimes");
        assert_eq!(BOUND.permits("GET", &path), Ok(()), "{path}");
    }
    for bad in ["%zz", "%4", "%ff%fe", "%+7", ""] {
        let path = format!("/api/workspaces/{bad}/runtimes");
        assert_eq!(
            BOUND.permits("GET", &path),
            Err(AuthError::BoundElsewhere),
            "{path}"
        );
    }
    // A lookalike prefix is no workspace route.
    let path = format!("/api/workspacesx/{W}/runtimes");
    assert_eq!(BOUND.permits("GET", &path), Err(AuthError::BoundElsewhere));
}

#[test]
fn methods_other_than_get_and_head_write() {
    for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        assert_eq!(
            READ.permits(method, &ws(W, "/runtimes")),
            Err(AuthError::ReadOnly),
            "{method}"
        );
    }
    // Renewal is a POST every token may make of itself, but only of itself.
    assert_eq!(READ.permits("GET", "/api/tokens/current/renew"), Ok(()));
    assert_eq!(
        READ.permits("DELETE", "/api/tokens/current/renew"),
        Err(AuthError::ReadOnly)
    );
}

#[test]
fn the_ceiling() {
    let elsewhere = Scope {
        workspace: Some(OTHER),
        access: Access::Write,
    };
    let unbound_read = READ;
    for wanted in [Scope::UNSCOPED, BOUND, READ, BOUND_READ, elsewhere] {
        assert!(Scope::UNSCOPED.may_grant(wanted), "{wanted:?}");
        assert!(!unbound_read.may_grant(wanted), "{wanted:?}");
        assert!(!BOUND_READ.may_grant(wanted), "{wanted:?}");
    }
    assert!(BOUND.may_grant(BOUND));
    assert!(BOUND.may_grant(BOUND_READ));
    assert!(!BOUND.may_grant(Scope::UNSCOPED));
    assert!(!BOUND.may_grant(READ));
    assert!(!BOUND.may_grant(elsewhere));
}

#[test]
fn access_names() {
    for access in Access::ALL {
        assert_eq!(Access::from_name(access.as_str()), Some(access));
        let json = serde_json::to_value(access).unwrap();
        assert_eq!(json, access.as_str());
    }
    assert_eq!(Access::from_name("Read"), None);
    assert_eq!(Access::default(), Access::Write);
}
