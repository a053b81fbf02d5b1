//! The registry's rules: limits, delivery, endings.

use super::*;
use serde_json::json;

fn settings(max_total: usize, buffer: usize) -> StreamSettings {
    StreamSettings {
        max_total,
        buffer,
        ..StreamSettings::default()
    }
}

#[test]
fn one_person_holds_at_most_their_share_whatever_their_credentials() {
    let streams = Streams::new(StreamSettings {
        max_per_person: 3,
        ..settings(100, 4)
    });
    streams.set_listening(true);
    let (w, alice) = (Uuid::new_v4(), Uuid::new_v4());
    let held: Vec<_> = ["a1", "a2", "a3"]
        .iter()
        .map(|key| streams.register(opened(w, alice, key)).unwrap())
        .collect();
    assert_eq!(
        streams.register(opened(w, alice, "a4")).err(),
        Some(Refused::TooManyForPerson)
    );
    let bob = streams.register(opened(w, Uuid::new_v4(), "b1"));
    assert!(bob.is_ok(), "someone else still gets a place");
    drop(held);
    assert!(streams.register(opened(w, alice, "a4")).is_ok());
}

fn opened(workspace_id: Uuid, user_id: Uuid, credential: &str) -> Opened {
    Opened {
        workspace_id,
        user_id,
        credential: credential.to_owned(),
    }
}

fn event(id: i64, kind: &str, payload: serde_json::Value) -> Event {
    Event {
        id,
        kind: kind.to_owned(),
        payload,
        created_at: chrono::Utc::now(),
    }
}

#[test]
fn nothing_is_registered_without_a_listener_and_limits_hold() {
    let streams = Streams::new(settings(PER_CREDENTIAL + 1, 4));
    let (w, u) = (Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(
        streams.register(opened(w, u, "k")).err(),
        Some(Refused::Unavailable)
    );
    streams.set_listening(true);
    let held: Vec<_> = (0..PER_CREDENTIAL)
        .map(|_| streams.register(opened(w, u, "k")).unwrap())
        .collect();
    assert_eq!(
        streams.register(opened(w, u, "k")).err(),
        Some(Refused::TooManyForCredential)
    );
    let other = streams.register(opened(w, u, "other")).unwrap();
    assert_eq!(
        streams.register(opened(w, u, "third")).err(),
        Some(Refused::TooMany)
    );
    drop(other);
    drop(held);
    assert_eq!(streams.open(), 0);
    assert!(!streams.follows(w));
}

#[test]
fn events_reach_the_workspace_and_endings_reach_their_streams() {
    let streams = Streams::new(settings(100, 2));
    streams.set_listening(true);
    let (w, elsewhere) = (Uuid::new_v4(), Uuid::new_v4());
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let mut a = streams.register(opened(w, alice, "a")).unwrap();
    let mut b = streams.register(opened(w, bob, "b")).unwrap();
    let mut far = streams.register(opened(elsewhere, bob, "b2")).unwrap();
    streams.deliver(w, &[event(7, "runtime:online", json!({}))]);
    assert_eq!(a.frames.try_recv().unwrap().id, 7);
    assert_eq!(b.frames.try_recv().unwrap().id, 7);
    assert!(far.frames.try_recv().is_err());
    // Bob removed: his stream of w ends 4403 and is given nothing more.
    let removed = event(8, "member:removed", json!({ "user_id": bob.to_string() }));
    streams.deliver(w, &[removed]);
    assert_eq!(b.end.get(), Some(Ending::NotAMember));
    assert!(b.frames.try_recv().is_err());
    assert_eq!(a.frames.try_recv().unwrap().id, 8);
    assert_eq!(far.end.get(), None);
    // A credential's key ends its streams; a person's key all of theirs.
    assert_eq!(streams.end_credential("a"), 1);
    assert_eq!(a.end.get(), Some(Ending::Revoked));
    assert_eq!(streams.end_credential(&ended::user_key(bob)), 2);
    assert_eq!(streams.end_credential("user:not-a-uuid"), 0);
    assert_eq!(far.end.get(), Some(Ending::Revoked));
    // The first reason stands.
    assert_eq!(b.end.get(), Some(Ending::NotAMember));
}

#[test]
fn a_members_key_ends_their_streams_of_that_workspace_only() {
    let streams = Streams::new(settings(10, 2));
    streams.set_listening(true);
    let (w, elsewhere, bob) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let here = streams.register(opened(w, bob, "b")).unwrap();
    let daemon = streams.register(opened(w, bob, "d")).unwrap();
    let far = streams.register(opened(elsewhere, bob, "b")).unwrap();
    let other = streams.register(opened(w, Uuid::new_v4(), "o")).unwrap();
    assert_eq!(streams.end_credential(&ended::member_key(w, bob)), 2);
    assert_eq!(here.end.get(), Some(Ending::NotAMember));
    assert_eq!(daemon.end.get(), Some(Ending::NotAMember));
    assert_eq!(far.end.get(), None);
    assert_eq!(other.end.get(), None);
}

#[test]
fn a_full_queue_closes_the_stream() {
    let streams = Streams::new(settings(10, 2));
    streams.set_listening(true);
    let w = Uuid::new_v4();
    let slow = streams.register(opened(w, Uuid::new_v4(), "s")).unwrap();
    let batch: Vec<Event> = (1..=3).map(|id| event(id, "x", json!({}))).collect();
    streams.deliver(w, &batch);
    assert_eq!(slow.end.get(), Some(Ending::SlowConsumer));
}

#[test]
fn losing_the_listener_closes_every_stream() {
    let streams = Streams::new(settings(10, 2));
    streams.set_listening(true);
    let s = streams
        .register(opened(Uuid::new_v4(), Uuid::new_v4(), "s"))
        .unwrap();
    streams.set_listening(false);
    assert_eq!(s.end.get(), Some(Ending::Restarting));
    assert_eq!(
        streams
            .register(opened(Uuid::new_v4(), Uuid::new_v4(), "t"))
            .err(),
        Some(Refused::Unavailable)
    );
}
