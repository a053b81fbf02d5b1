use super::*;

const SECRET: &str = "jwt-secret-of-at-least-32-bytes!!";
const USER: &str = "7d4f9c2e-0000-4000-8000-000000000001";
// Computed independently with Python (hmac, base64, json).
const SID: &str = "7d4f9c2e-0000-4000-8000-0000000000f0";
const FIXED_JWT: &str = concat!(
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
    ".eyJzdWIiOiI3ZDRmOWMyZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJlbWFpbCI6ImFkYUBleGFt",
    "cGxlLmNvbSIsInNpZCI6IjdkNGY5YzJlLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDBmMCIsImlhdCI6MTcw",
    "MDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ",
    ".vvkpgiGEZWVKrDLu8jZQzE_KnnWjp2Sxt2lOM2nHoxk",
);
/// The same claims without a `sid`, as JWTs were before sessions were records.
const FIXED_JWT_WITHOUT_SID: &str = concat!(
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
    ".eyJzdWIiOiI3ZDRmOWMyZS0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDEiLCJlbWFpbCI6ImFkYUBleGFt",
    "cGxlLmNvbSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwfQ",
    ".pFcWQbTJZuJh8CrMU1UM66JsjWoZWRVUAPzKQkOYzqY",
);
const FIXED_CSRF: &str = concat!(
    "00112233445566778899aabbccddeeff",
    ".19bccce893dcb62a4b4d9fa3785b844fed354e7369767d9d6ec3e250dd85856c",
);

fn key() -> SessionKey {
    SessionKey::new(SECRET)
}

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

/// A JWT with any header and payload, signed with `secret`.
fn forge(header: &str, payload: &str, secret: &str) -> String {
    let signed = format!("{}.{}", b64(header), b64(payload));
    let mut mac = SessionKey::new(secret).mac();
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn fixed_vector() {
    let session = verify(&key(), FIXED_JWT, 1_700_000_100).unwrap();
    assert_eq!(
        session.actor,
        Actor::Session {
            user_id: USER.parse().unwrap(),
            email: Some("ada@example.com".into())
        }
    );
    assert_eq!(session.id, SID.parse::<Uuid>().unwrap());
    assert_eq!(
        verify(&key(), FIXED_JWT, 1_700_003_600),
        Err(AuthError::InvalidToken)
    );
    assert_eq!(
        verify(&key(), FIXED_JWT_WITHOUT_SID, 1_700_000_100),
        Err(AuthError::InvalidToken),
        "a JWT without a sid is no session"
    );
}

#[test]
fn minted_tokens_verify() {
    let minted = Minted {
        user_id: USER.parse().unwrap(),
        email: None,
        session_id: SID.parse().unwrap(),
        iat: 100,
        exp: 200,
    };
    let jwt = mint(&key(), &minted);
    assert!(looks_like_jwt(&jwt));
    assert_eq!(
        verify(&key(), &jwt, 150).unwrap(),
        Session {
            actor: Actor::Session {
                user_id: USER.parse().unwrap(),
                email: None
            },
            id: SID.parse().unwrap(),
        }
    );
}

#[test]
fn refusals() {
    let good_claims = format!(r#"{{"sub":"{USER}","sid":"{SID}","exp":2000}}"#);
    let cases = [
        (
            forge(r#"{"alg":"none"}"#, &good_claims, SECRET),
            AuthError::InvalidToken,
        ),
        (
            format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&good_claims)),
            AuthError::InvalidToken,
        ),
        (
            forge(r#"{"alg":"RS256"}"#, &good_claims, SECRET),
            AuthError::InvalidToken,
        ),
        (
            forge(r#"{"alg":"hs256"}"#, &good_claims, SECRET),
            AuthError::InvalidToken,
        ),
        (
            forge(
                r#"{"alg":"HS256"}"#,
                &good_claims,
                "another-secret-of-32-bytes-or-more",
            ),
            AuthError::InvalidToken,
        ),
        (
            forge(r#"{"alg":"HS256"}"#, r#"{"sub":"x","exp":10}"#, SECRET),
            AuthError::InvalidToken,
        ),
        (
            forge(
                r#"{"alg":"HS256"}"#,
                r#"{"sub":"not-a-uuid","exp":2000}"#,
                SECRET,
            ),
            AuthError::InvalidClaims,
        ),
        (
            forge(r#"{"alg":"HS256"}"#, r#"{"sub":" ","exp":2000}"#, SECRET),
            AuthError::InvalidClaims,
        ),
        (
            forge(r#"{"alg":"HS256"}"#, r#"{"exp":2000}"#, SECRET),
            AuthError::InvalidClaims,
        ),
        (
            forge(
                r#"{"alg":"HS256"}"#,
                &format!(r#"{{"sub":"{USER}","exp":2000,"nbf":1500}}"#),
                SECRET,
            ),
            AuthError::InvalidToken,
        ),
        (
            forge(r#"{"alg":"HS256"}"#, r#"{"sub":"x"}"#, SECRET),
            AuthError::InvalidToken,
        ),
        (
            forge(
                r#"{"alg":"HS256"}"#,
                &format!(r#"{{"sub":"{USER}","sid":"nope","exp":2000}}"#),
                SECRET,
            ),
            AuthError::InvalidToken,
        ),
        ("a.b".to_owned(), AuthError::InvalidToken),
        ("a.b.c.d".to_owned(), AuthError::InvalidToken),
    ];
    for (jwt, expected) in cases {
        assert_eq!(verify(&key(), &jwt, 1000), Err(expected), "{jwt}");
    }
    // A tampered payload under the original signature.
    let jwt = forge(r#"{"alg":"HS256"}"#, &good_claims, SECRET);
    let mut parts: Vec<&str> = jwt.split('.').collect();
    let other = b64(&format!(
        r#"{{"sub":"{}","sid":"{SID}","exp":2000}}"#,
        Uuid::nil()
    ));
    parts[1] = &other;
    assert_eq!(
        verify(&key(), &parts.join("."), 1000),
        Err(AuthError::InvalidToken)
    );
}

#[test]
fn csrf() {
    assert!(csrf_valid("abc.def.ghi", Some(FIXED_CSRF)));
    let nonce = [7u8; 16];
    let token = csrf_token("cookie-value", nonce);
    assert!(csrf_valid("cookie-value", Some(&token)));
    assert!(!csrf_valid("another-cookie", Some(&token)));
    assert!(!csrf_valid("cookie-value", None));
    assert!(!csrf_valid("cookie-value", Some("garbage")));
    assert!(!csrf_valid("cookie-value", Some(&token.to_uppercase())));
    assert!(
        needs_csrf("POST") && needs_csrf("delete") && !needs_csrf("GET") && !needs_csrf("HEAD")
    );
}

#[test]
fn cookies() {
    assert_eq!(
        cookie("theme=dark; tollgate_session=abc", COOKIE),
        Some("abc")
    );
    assert_eq!(cookie("tollgate_session=", COOKIE), None);
    assert_eq!(cookie("xtollgate_session=abc", COOKIE), None);
    assert_eq!(cookie("", COOKIE), None);
}

#[test]
fn cookie_names_and_values_lose_only_wsp() {
    for header in [
        "tollgate_session =abc",
        "tollgate_session= abc",
        "\ttollgate_session=abc ",
        "a=b;\ttollgate_session\t=\tabc\t",
        "a=b;tollgate_session=abc",
        "  tollgate_session  =  abc  ; theme=dark",
    ] {
        assert_eq!(cookie(header, COOKIE), Some("abc"), "{header:?}");
    }
    // Only the first `=` splits: the rest belongs to the value.
    assert_eq!(cookie("tollgate_session=a=b", COOKIE), Some("a=b"));
    for header in [
        "xtollgate_session=abc",
        "tollgate_sessionx=abc",
        "tollgate_session",
        "tollgate_session =",
        "\u{a0}tollgate_session=abc",
        "tollgate_session\u{a0}=abc",
        "\u{2003}tollgate_session=abc",
        "\ntollgate_session=abc",
        "\rtollgate_session=abc",
        "\u{b}tollgate_session=abc",
        "tollgate session=abc",
    ] {
        assert_eq!(cookie(header, COOKIE), None, "{header:?}");
    }
    // Other whitespace in a value is the value's: the JWT check refuses it.
    assert_eq!(
        cookie("tollgate_session=abc\u{a0}", COOKIE),
        Some("abc\u{a0}")
    );
}

#[test]
fn key_redacts_itself() {
    assert_eq!(format!("{:?}", key()), "SessionKey(…)");
}
