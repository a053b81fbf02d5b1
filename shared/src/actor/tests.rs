use super::*;
use std::collections::HashMap;

fn uuid(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn pat(workspace: Option<Uuid>, access: Access) -> Actor {
    Actor::Pat {
        user_id: uuid(1),
        scope: Scope { workspace, access },
    }
}

fn every_kind() -> Vec<Actor> {
    vec![
        pat(None, Access::Write),
        Actor::Session {
            user_id: uuid(1),
            email: Some("ada@example.com".into()),
        },
        Actor::Session {
            user_id: uuid(1),
            email: None,
        },
        Actor::Daemon {
            user_id: uuid(1),
            workspace_id: uuid(2),
            daemon_id: "laptop-1".into(),
        },
        Actor::TaskToken {
            user_id: uuid(1),
            workspace_id: uuid(2),
            agent_id: uuid(3),
            task_id: uuid(4),
        },
        Actor::CloudPat { user_id: uuid(1) },
        pat(Some(uuid(2)), Access::Write),
        pat(None, Access::Read),
        pat(Some(uuid(2)), Access::Read),
    ]
}

#[test]
fn headers_round_trip_for_every_kind() {
    for actor in every_kind() {
        let headers: HashMap<&str, String> = actor.to_headers().into_iter().collect();
        assert_eq!(headers[X_ACTOR_SOURCE], actor.source().as_str());
        let back = Actor::from_headers(|n| headers.get(n).map(String::as_str)).unwrap();
        assert_eq!(back, Some(actor));
    }
}

#[test]
fn json_round_trip_for_every_kind() {
    for actor in every_kind() {
        let json = serde_json::to_value(&actor).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 8, "{json}");
        assert_eq!(serde_json::from_value::<Actor>(json).unwrap(), actor);
    }
}

#[test]
fn task_token_stamps_its_five_headers() {
    let actor = &every_kind()[4];
    let names: Vec<&str> = actor.to_headers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            X_USER_ID,
            X_ACTOR_SOURCE,
            X_WORKSPACE_ID,
            X_AGENT_ID,
            X_TASK_ID
        ]
    );
}

#[test]
fn no_actor_source_is_no_identity() {
    assert_eq!(Actor::from_headers(|_| None).unwrap(), None);
    let bad = Actor::from_headers(|n| (n == X_ACTOR_SOURCE).then_some("root"));
    assert_eq!(bad.unwrap_err(), IdentityError::UnknownActorSource);
}

fn read(pairs: &[(&str, &str)]) -> Result<Option<Actor>, IdentityError> {
    let map: HashMap<&str, &str> = pairs.iter().copied().collect();
    Actor::from_headers(|n| map.get(n).copied())
}

#[test]
fn incomplete_or_overfull_records_are_refused() {
    let user = uuid(1).to_string();
    let user = user.as_str();
    assert_eq!(
        read(&[(X_ACTOR_SOURCE, "pat")]).unwrap_err(),
        IdentityError::Missing(ActorSource::Pat, "user_id")
    );
    // A PAT's access is part of it: one stamped or cached before scopes is no identity.
    assert_eq!(
        read(&[
            (X_ACTOR_SOURCE, "pat"),
            (X_USER_ID, user),
            (X_WORKSPACE_ID, user)
        ])
        .unwrap_err(),
        IdentityError::Missing(ActorSource::Pat, "access")
    );
    assert_eq!(
        read(&[
            (X_ACTOR_SOURCE, "pat"),
            (X_USER_ID, user),
            (X_TOKEN_ACCESS, "admin")
        ])
        .unwrap_err(),
        IdentityError::UnknownAccess
    );
    assert_eq!(
        read(&[
            (X_ACTOR_SOURCE, "pat"),
            (X_USER_ID, user),
            (X_WORKSPACE_ID, "nope"),
            (X_TOKEN_ACCESS, "read")
        ])
        .unwrap_err(),
        IdentityError::NotUuid("workspace_id")
    );
    assert_eq!(
        read(&[(X_ACTOR_SOURCE, "pat"), (X_USER_ID, "not-a-uuid")]).unwrap_err(),
        IdentityError::NotUuid("user_id")
    );
    // Only a PAT has an access.
    assert_eq!(
        read(&[
            (X_ACTOR_SOURCE, "cloud_pat"),
            (X_USER_ID, user),
            (X_TOKEN_ACCESS, "write")
        ])
        .unwrap_err(),
        IdentityError::Unexpected(ActorSource::CloudPat, "access")
    );
    assert_eq!(
        read(&[
            (X_ACTOR_SOURCE, "daemon"),
            (X_USER_ID, user),
            (X_WORKSPACE_ID, user)
        ])
        .unwrap_err(),
        IdentityError::Missing(ActorSource::Daemon, "daemon_id")
    );
    // A daemon acts for a member: one stamped without is no identity (and an
    // entry cached before daemons carried their member is no hit).
    assert_eq!(
        read(&[
            (X_ACTOR_SOURCE, "daemon"),
            (X_WORKSPACE_ID, user),
            (X_DAEMON_ID, "laptop-1")
        ])
        .unwrap_err(),
        IdentityError::Missing(ActorSource::Daemon, "user_id")
    );
    // Empty headers count as absent, as the edge never stamps empty values.
    assert_eq!(
        read(&[
            (X_ACTOR_SOURCE, "cloud_pat"),
            (X_USER_ID, user),
            (X_TASK_ID, "")
        ])
        .unwrap(),
        Some(Actor::CloudPat { user_id: uuid(1) })
    );
}

#[test]
fn json_shape_matches_the_resolve_contract() {
    let json = serde_json::to_value(pat(None, Access::Write)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"actor_source":"pat","user_id":uuid(1).to_string(),
            "user_email":null,"workspace_id":null,"daemon_id":null,"agent_id":null,
            "task_id":null,"access":"write"})
    );
    let bound = serde_json::to_value(pat(Some(uuid(2)), Access::Read)).unwrap();
    assert_eq!(bound["workspace_id"], uuid(2).to_string());
    assert_eq!(bound["access"], "read");
    let mut old = json;
    old.as_object_mut().unwrap().remove("access");
    assert!(serde_json::from_value::<Actor>(old).is_err());
}

#[test]
fn humans_and_users() {
    let kinds = every_kind();
    let humans: Vec<bool> = kinds.iter().map(Actor::is_human).collect();
    assert_eq!(
        humans,
        [true, true, true, false, false, false, true, true, true]
    );
    assert!(kinds.iter().all(|a| a.user_id() == uuid(1)));
}
