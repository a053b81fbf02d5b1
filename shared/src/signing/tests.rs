use super::*;
use crate::actor::Actor;
use crate::headers::IDENTITY_FIELDS;
use crate::scope::{Access, Scope};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;

/// A bound, read-only PAT: every value a PAT has is set.
fn pat_identity() -> [String; IDENTITY_FIELDS] {
    let user_id = "7d4f9c2e-0000-4000-8000-000000000001".parse().unwrap();
    let workspace = "7d4f9c2e-0000-4000-8000-0000000000aa".parse().unwrap();
    let scope = Scope {
        workspace: Some(workspace),
        access: Access::Read,
    };
    Actor::Pat { user_id, scope }.signing_values()
}

#[test]
fn fixed_vector() {
    // Computed independently with Python's hmac module from the same lines.
    let id = pat_identity();
    let req = SignedRequest {
        method: "get",
        path_and_query: "/api/me?x=1",
        body: Body::Unsigned,
        client: "203.0.113.7",
        identity: id.each_ref().map(String::as_str),
    };
    let key = SigningKey::new("test-secret");
    assert_eq!(
        canonical_message(&req, "1700000000").unwrap(),
        "tollgate-v3\nGET\n/api/me?x=1\n1700000000\nUNSIGNED-PAYLOAD\n203.0.113.7\n\
         7d4f9c2e-0000-4000-8000-000000000001\n\npat\n\
         7d4f9c2e-0000-4000-8000-0000000000aa\n\n\n\nread"
    );
    let (ts, sig) = key.sign(&req, NOW).unwrap();
    assert_eq!(ts, "1700000000");
    assert_eq!(sig, FIXED_SIGNATURE);
}

#[test]
fn fixed_vector_with_body_digest() {
    let req = SignedRequest::internal(
        "POST",
        "/internal/auth/resolve",
        br#"{"kind":"mul","hash":"00"}"#,
    );
    let (_, sig) = SigningKey::new("test-secret").sign(&req, NOW).unwrap();
    assert_eq!(sig, FIXED_BODY_SIGNATURE);
}

#[test]
fn verify_accepts_within_skew_and_rejects_outside() {
    let id = pat_identity();
    let req = SignedRequest {
        method: "GET",
        path_and_query: "/api/me",
        body: Body::Unsigned,
        client: "203.0.113.7",
        identity: id.each_ref().map(String::as_str),
    };
    let key = SigningKey::new("s");
    let (ts, sig) = key.sign(&req, NOW).unwrap();
    assert_eq!(key.verify(&req, &ts, &sig, NOW), Ok(()));
    assert_eq!(key.verify(&req, &ts, &sig, NOW + 60), Ok(()));
    assert_eq!(key.verify(&req, &ts, &sig, NOW - 60), Ok(()));
    assert_eq!(
        key.verify(&req, &ts, &sig, NOW + 61),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        key.verify(&req, &ts, &sig, NOW - 61),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        SigningKey::new("other").verify(&req, &ts, &sig, NOW),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        key.verify(&req, "+1700000000", &sig, NOW),
        Err(SignatureError::BadTimestamp)
    );
    assert_eq!(
        key.verify(&req, &ts, &sig.to_uppercase(), NOW),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        key.verify(&req, &ts, "", NOW),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn every_covered_field_matters() {
    let key = SigningKey::new("s");
    let id = pat_identity();
    let base = SignedRequest {
        method: "GET",
        path_and_query: "/api/me",
        body: Body::Unsigned,
        client: "203.0.113.7",
        identity: id.each_ref().map(String::as_str),
    };
    let (ts, sig) = key.sign(&base, NOW).unwrap();
    let mut changed = vec![
        SignedRequest {
            method: "POST",
            ..base
        },
        SignedRequest {
            path_and_query: "/api/me?x",
            ..base
        },
        SignedRequest {
            body: Body::Digest(b""),
            ..base
        },
        SignedRequest {
            client: "203.0.113.8",
            ..base
        },
    ];
    for i in 0..IDENTITY_FIELDS {
        let mut identity = base.identity;
        identity[i] = if identity[i] == "x" { "y" } else { "x" };
        changed.push(SignedRequest { identity, ..base });
    }
    for req in changed {
        assert_eq!(
            key.verify(&req, &ts, &sig, NOW),
            Err(SignatureError::Mismatch),
            "{req:?}"
        );
    }
}

#[test]
fn control_characters_are_never_signed_nor_believed() {
    let key = SigningKey::new("s");
    let id = pat_identity();
    let mut identity = id.each_ref().map(String::as_str);
    identity[1] = "ada@example.com\nx-user-id: someone-else";
    let req = SignedRequest {
        method: "GET",
        path_and_query: "/api/me",
        body: Body::Unsigned,
        client: "203.0.113.7",
        identity,
    };
    assert_eq!(key.sign(&req, NOW), Err(SignatureError::ControlCharacter));
    for bad in ["/api/me\r", "/api/\u{0}me", "/api/\u{7f}"] {
        let req = SignedRequest::internal("GET", bad, b"");
        assert_eq!(key.sign(&req, NOW), Err(SignatureError::ControlCharacter));
    }
    let (ts, sig) = key
        .sign(&SignedRequest::internal("GET", "/x", b""), NOW)
        .unwrap();
    let tampered = SignedRequest::internal("GET", "/x\n", b"");
    assert_eq!(
        key.verify(&tampered, &ts, &sig, NOW),
        Err(SignatureError::ControlCharacter)
    );
}

#[test]
fn answers_fixed_vectors() {
    // Computed independently with Python's hmac module from the same lines.
    let key = SigningKey::new("test-secret");
    let answer = SignedAnswer {
        request_signature: FIXED_BODY_SIGNATURE,
        status: 200,
        body: br#"{"ok":true}"#,
    };
    let (ts, sig) = key.sign_answer(&answer, NOW).unwrap();
    assert_eq!(
        (ts.as_str(), sig.as_str()),
        ("1700000000", FIXED_ANSWER_SIGNATURE)
    );
    let unsigned_request = SignedAnswer {
        request_signature: "",
        status: 404,
        body: b"",
    };
    let (_, sig) = key.sign_answer(&unsigned_request, NOW).unwrap();
    assert_eq!(sig, FIXED_EMPTY_ANSWER_SIGNATURE);
}

#[test]
fn answers_are_bound_to_request_status_and_body() {
    let key = SigningKey::new("s");
    let answer = SignedAnswer {
        request_signature: "ab",
        status: 200,
        body: b"{}",
    };
    let (ts, sig) = key.sign_answer(&answer, NOW).unwrap();
    assert_eq!(key.verify_answer(&answer, &ts, &sig, NOW + 60), Ok(()));
    assert_eq!(
        key.verify_answer(&answer, &ts, &sig, NOW + 61),
        Err(SignatureError::Stale)
    );
    for changed in [
        SignedAnswer {
            request_signature: "ac",
            ..answer
        },
        SignedAnswer {
            status: 201,
            ..answer
        },
        SignedAnswer {
            body: b"{ }",
            ..answer
        },
    ] {
        assert_eq!(
            key.verify_answer(&changed, &ts, &sig, NOW),
            Err(SignatureError::Mismatch)
        );
    }
    // A request signature and an answer signature never stand in for each other.
    let req = SignedRequest::internal("POST", "/x", b"{}");
    let (ts, sig) = key.sign(&req, NOW).unwrap();
    assert!(key.verify_answer(&answer, &ts, &sig, NOW).is_err());
}

#[test]
fn key_redacts_itself() {
    assert_eq!(format!("{:?}", SigningKey::new("hunter2")), "SigningKey(…)");
}

proptest! {
    #[test]
    fn sign_verify_round_trip(
        method in "[A-Z]{3,7}",
        path in "/[ -~]{0,40}",
        body in prop::collection::vec(any::<u8>(), 0..64),
        secret in "[ -~]{1,40}",
        skew in -60i64..=60,
    ) {
        let key = SigningKey::new(&secret);
        let req = SignedRequest::internal(&method, &path, &body);
        let (ts, sig) = key.sign(&req, NOW).unwrap();
        prop_assert_eq!(key.verify(&req, &ts, &sig, NOW + skew), Ok(()));
    }
}

const FIXED_SIGNATURE: &str = "dec09fcc026aeb3b1d5fdabea42463a49e6bf3562fe9575d9da771503276299d";
const FIXED_ANSWER_SIGNATURE: &str =
    "cc0759a6102b842243969c779a77bd5d6e338a2ee8c05c16e200632f46812109";
const FIXED_EMPTY_ANSWER_SIGNATURE: &str =
    "85215d46bf612775814538c706f03812de9ca4caa97e35ecef50885799a88d89";
const FIXED_BODY_SIGNATURE: &str =
    "6649f3ada5890115acaedf82d37cb09c44b20e19eb98dcd392044ce5535a2d3c";
