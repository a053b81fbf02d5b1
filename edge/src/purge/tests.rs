//! The purge endpoint's checks, its signed answers, and the whole call with its I/O faked.

use super::*;

use tollgate_shared::wire::PURGE_PATH;

fn signed(key: &SigningKey, body: &str, now: i64) -> (String, String) {
    key.sign(
        &SignedRequest::internal("POST", PURGE_PATH, body.as_bytes()),
        now,
    )
    .unwrap()
}

#[test]
fn accepts_signed_purges_of_our_keys() {
    let key = SigningKey::new("s");
    let body = r#"{"keys":["tollgate:auth:mul:abc"]}"#;
    let (ts, sig) = signed(&key, body, 10);
    let keys = verify_and_parse(
        &key,
        "/__tollgate/purge",
        Some(&ts),
        Some(&sig),
        body.as_bytes(),
        10,
    )
    .unwrap();
    assert_eq!(keys, vec!["tollgate:auth:mul:abc"]);
}

#[test]
fn answers_are_signed_for_the_request() {
    let key = SigningKey::new("s");
    let headers = answer_headers(&key, Some("abc"), 200, b"{}", 10);
    let answer = SignedAnswer {
        request_signature: "abc",
        status: 200,
        body: b"{}",
    };
    assert_eq!(headers[0].0, X_EDGE_TIMESTAMP);
    assert!(key
        .verify_answer(&answer, &headers[0].1, &headers[1].1, 10)
        .is_ok());
    // A request whose signature did not verify: nothing is signed for it.
    let unverified_request = answer_headers(&key, None, 401, b"x", 10);
    assert!(unverified_request.is_empty());
}

#[test]
fn refuses_unsigned_stale_or_foreign() {
    let key = SigningKey::new("s");
    let body = r#"{"keys":["tollgate:auth:mul:abc"]}"#;
    let (ts, sig) = signed(&key, body, 10);
    let p = "/__tollgate/purge";
    assert_eq!(
        verify_and_parse(&key, p, None, None, body.as_bytes(), 10),
        Err(EdgeError::Auth(AuthError::InvalidSignature))
    );
    assert_eq!(
        verify_and_parse(&key, p, Some(&ts), Some(&sig), body.as_bytes(), 100),
        Err(EdgeError::Auth(AuthError::InvalidSignature))
    );
    assert_eq!(
        verify_and_parse(
            &SigningKey::new("x"),
            p,
            Some(&ts),
            Some(&sig),
            body.as_bytes(),
            10
        ),
        Err(EdgeError::Auth(AuthError::InvalidSignature))
    );
    let other = r#"{"keys":["session:123"]}"#;
    let (ts, sig) = signed(&key, other, 10);
    assert_eq!(
        verify_and_parse(&key, p, Some(&ts), Some(&sig), other.as_bytes(), 10),
        Err(EdgeError::BadRequest)
    );
}

/// The whole call, with its I/O faked.
mod call {
    use super::*;
    use crate::flow::{KvError, LogError};
    use crate::revocation_log::Page;
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::pin;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    const BODY: &str = r#"{"keys":["tollgate:auth:mul:a","tollgate:auth:mdt:b"]}"#;

    /// Deletes that all succeed, or all fail.
    struct FakeKv {
        fails: bool,
    }

    /// Appends that succeed or fail, counted (also when they fail), and each delete
    /// checked to come after a successful append.
    #[derive(Clone)]
    struct FakeLog {
        fails: bool,
        appends: Rc<Cell<usize>>,
    }

    impl FakeLog {
        fn new(fails: bool) -> FakeLog {
            FakeLog {
                fails,
                appends: Rc::default(),
            }
        }
    }

    impl Log for FakeLog {
        async fn after(&self, _: u64) -> Result<Page, LogError> {
            Err(LogError)
        }
        async fn append(&self, keys: &[String]) -> Result<(), LogError> {
            assert_eq!(keys.len(), 2);
            self.appends.set(self.appends.get() + 1);
            if self.fails {
                Err(LogError)
            } else {
                Ok(())
            }
        }
    }

    impl Kv for FakeKv {
        async fn get(&self, _: &str) -> Result<Option<String>, KvError> {
            Ok(None)
        }
        fn put_in_background(&self, _: &str, _: String, _: u64) {}
        async fn delete(&self, _: &str) -> Result<(), KvError> {
            if self.fails {
                Err(KvError)
            } else {
                Ok(())
            }
        }
    }

    /// What the call did: its reply, the cap it read the body with (if it read it),
    /// whether it bound the cache, and how often it asked the clock.
    struct Done {
        reply: Reply,
        read: Option<Cap>,
        bound: bool,
        clock: usize,
    }

    fn purge(method: &str, headers: &[(&str, &str)], kv: Result<FakeKv, EdgeError>) -> Done {
        purge_with(FakeLog::new(false), method, headers, kv)
    }

    fn purge_with(
        log: FakeLog,
        method: &str,
        headers: &[(&str, &str)],
        kv: Result<FakeKv, EdgeError>,
    ) -> Done {
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()));
        let url = "https://edge.example/__tollgate/purge".to_owned();
        let incoming = Incoming::new(url, method.to_owned(), headers.collect());
        let (read, bound, clock) = (Cell::new(None), Cell::new(false), Cell::new(0));
        let key = SigningKey::new("s");
        let read_body = async |cap: Cap| {
            read.set(Some(cap));
            Ok(BODY.as_bytes().to_vec())
        };
        let bind = || {
            bound.set(true);
            kv.map(|kv| (log, kv))
        };
        let now = || {
            clock.set(clock.get() + 1);
            10
        };
        let call = call(&key, &incoming, PURGE_PATH, read_body, bind, now);
        let Poll::Ready(reply) = pin!(call).poll(&mut Context::from_waker(Waker::noop())) else {
            panic!("the fakes never wait");
        };
        Done {
            reply,
            read: read.take(),
            bound: bound.get(),
            clock: clock.get(),
        }
    }

    /// A call's headers: signed by the origin (`x-edge-signature` last).
    fn signed_call() -> Vec<(&'static str, String)> {
        let (ts, sig) = signed(&SigningKey::new("s"), BODY, 10);
        vec![(X_EDGE_TIMESTAMP, ts), (X_EDGE_SIGNATURE, sig)]
    }

    fn as_strs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
    }

    fn is_signed_for(reply: &Reply, request_signature: &str) -> bool {
        let answer = SignedAnswer {
            request_signature,
            status: reply.status,
            body: reply.body.as_bytes(),
        };
        let header = |name: &str| {
            let found = reply.headers.iter().find(|(n, _)| *n == name);
            found.map_or("", |(_, v)| v.as_str())
        };
        let (ts, sig) = (header(X_EDGE_TIMESTAMP), header(X_EDGE_SIGNATURE));
        SigningKey::new("s")
            .verify_answer(&answer, ts, sig, 10)
            .is_ok()
    }

    #[test]
    fn a_signed_call_is_read_verified_then_deleted() {
        let headers = signed_call();
        let done = purge("POST", &as_strs(&headers), Ok(FakeKv { fails: false }));
        assert_eq!(done.reply.status, 200);
        assert_eq!(done.reply.body, r#"{"purged":2}"#);
        assert!(is_signed_for(&done.reply, &headers[1].1));
        assert_eq!(done.read, Some(Cap::new(MAX_BODY, None).unwrap()));
        assert!(done.bound);
        assert_eq!(done.clock, 2, "to verify the call, then to sign its answer");
    }

    #[test]
    fn the_method_is_checked_before_the_body_is_read() {
        let headers = signed_call();
        let done = purge("GET", &as_strs(&headers), Ok(FakeKv { fails: false }));
        assert_eq!(done.reply.status, 405);
        assert_eq!(done.reply.headers, [("allow", "POST".to_owned())]);
        assert!(
            !is_signed_for(&done.reply, &headers[1].1),
            "its signature was never verified: no answer is signed for it"
        );
        assert_eq!((done.read, done.bound), (None, false));
    }

    #[test]
    fn a_declared_length_over_the_limit_is_413_before_reading() {
        let over = (MAX_BODY + 1).to_string();
        let done = purge(
            "POST",
            &[("content-length", &over)],
            Ok(FakeKv { fails: false }),
        );
        assert_eq!(done.reply.status, 413);
        assert!(!is_signed_for(&done.reply, ""));
        assert!(done.reply.headers.is_empty());
        assert_eq!((done.read, done.bound), (None, false));
    }

    #[test]
    fn the_cache_is_bound_only_for_a_call_the_origin_signed() {
        let forged = [(X_EDGE_TIMESTAMP, "10"), (X_EDGE_SIGNATURE, "00")];
        let done = purge("POST", &forged, Ok(FakeKv { fails: false }));
        assert_eq!(done.reply.status, 401);
        assert_eq!(done.reply.body, r#"{"error":"invalid signature"}"#);
        // No signing oracle: a made-up signature gets no answer signed over it.
        assert!(!is_signed_for(&done.reply, "00"));
        assert!(!done
            .reply
            .headers
            .iter()
            .any(|(n, _)| n.starts_with("x-edge")));
        assert!(done.read.is_some());
        assert!(!done.bound);
    }

    #[test]
    fn the_log_holds_the_keys_before_kv_loses_them() {
        let headers = signed_call();
        let log = FakeLog::new(true);
        // KV deletes all go through: the log alone fails the call, so the origin retries
        // until the log holds the keys.
        let done = purge_with(
            log.clone(),
            "POST",
            &as_strs(&headers),
            Ok(FakeKv { fails: false }),
        );
        assert_eq!(done.reply.status, 503);
        assert_eq!(done.reply.body, r#"{"error":"auth backend unavailable"}"#);
        assert!(is_signed_for(&done.reply, &headers[1].1));
        assert_eq!(log.appends.get(), 1);
        let log = FakeLog::new(false);
        let done = purge_with(
            log.clone(),
            "POST",
            &as_strs(&headers),
            Ok(FakeKv { fails: false }),
        );
        assert_eq!(done.reply.status, 200);
        assert_eq!(log.appends.get(), 1, "appended once per call");
    }

    #[test]
    fn no_cache_is_500_and_a_failed_delete_503_both_signed() {
        let headers = signed_call();
        let no_cache = purge("POST", &as_strs(&headers), Err(EdgeError::Misconfigured));
        assert_eq!(no_cache.reply.status, 500);
        assert!(is_signed_for(&no_cache.reply, &headers[1].1));
        let failed = purge("POST", &as_strs(&headers), Ok(FakeKv { fails: true }));
        assert_eq!(failed.reply.status, 503);
        assert_eq!(failed.reply.body, r#"{"error":"auth backend unavailable"}"#);
        assert!(is_signed_for(&failed.reply, &headers[1].1));
    }
}

#[test]
fn only_post_purges() {
    assert_eq!(check_method("POST"), Ok(()));
    for m in ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"] {
        assert_eq!(check_method(m), Err(EdgeError::MethodNotAllowed("POST")));
    }
}

#[test]
fn every_reply_to_a_verified_call_is_signed_for_it() {
    let key = SigningKey::new("s");
    let verifies = |reply: &Reply, request_signature: &str| {
        let answer = SignedAnswer {
            request_signature,
            status: reply.status,
            body: reply.body.as_bytes(),
        };
        let header = |name: &str| {
            let found = reply.headers.iter().find(|(n, _)| *n == name);
            found.map_or("", |(_, v)| v.as_str())
        };
        key.verify_answer(
            &answer,
            header(X_EDGE_TIMESTAMP),
            header(X_EDGE_SIGNATURE),
            10,
        )
        .is_ok()
    };
    let done = reply(&key, Some("req"), Ok(2), 10);
    assert_eq!((done.status, done.body.as_str()), (200, r#"{"purged":2}"#));
    assert_eq!(done.headers.len(), 2);
    assert!(verifies(&done, "req"));
    assert!(!verifies(&done, "another call"));
    let refused = reply(
        &key,
        Some("req"),
        Err(AuthError::InvalidSignature.into()),
        10,
    );
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body, r#"{"error":"invalid signature"}"#);
    assert_eq!(
        refused.headers[0],
        (
            "www-authenticate",
            "Bearer error=\"invalid_token\"".to_owned()
        )
    );
    assert_eq!(refused.headers.len(), 3);
    assert!(verifies(&refused, "req"));
    let wrong_method = reply(&key, None, Err(EdgeError::MethodNotAllowed("POST")), 10);
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.headers, [("allow", "POST".to_owned())]);
    assert!(
        !verifies(&wrong_method, ""),
        "a call whose signature did not verify gets no signed answer"
    );
    // Unsignable (a control character in the call's signature): sent unsigned.
    let unsignable = reply(&key, Some("a\nb"), Ok(0), 10);
    assert!(unsignable.headers.is_empty());
}
