//! What a request presents, checked before any I/O: sessions, malformed credentials, kinds
//! a route does not take.

use super::*;

#[test]
fn sessions_are_verified_at_the_edge_with_no_resolve() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(600));
    let (memory, key) = (Memory::default(), key());
    let sessions = SessionKey::new("jwt-secret-of-at-least-32-bytes!!");
    let mut flow = flow(&kv, &origin, &memory, &Unlimited, &key);
    flow.sessions = Some(&sessions);
    let minted = session::Minted {
        user_id: USER.parse().unwrap(),
        email: Some("ada@example.com"),
        session_id: uuid::Uuid::from_u128(7),
        iat: NOW,
        exp: NOW + 60,
    };
    let jwt = session::mint(&sessions, &minted);
    let cookie = format!("tollgate_session={jwt}");
    let bearer = format!("Bearer {jwt}");
    let with = |authorization, cookie, method, csrf| Offered {
        authorization,
        cookie,
        method,
        csrf,
    };
    let expected = Actor::Session {
        user_id: USER.parse().unwrap(),
        email: Some("ada@example.com".into()),
    };
    let client = "203.0.113.7";
    for p in [
        with(Some(&bearer), None, "POST", None),
        with(None, Some(&cookie), "GET", None),
    ] {
        assert_eq!(
            run(flow.authenticate(RouteClass::User, &p, client, ms(NOW))),
            Ok(expected.clone())
        );
    }
    let csrf = session::csrf_token(&jwt, [9; 16]);
    let p = with(None, Some(&cookie), "POST", Some(&csrf));
    assert_eq!(
        run(flow.authenticate(RouteClass::User, &p, client, ms(NOW))),
        Ok(expected)
    );
    let p = with(None, Some(&cookie), "POST", None);
    assert_eq!(
        run(flow.authenticate(RouteClass::User, &p, client, ms(NOW))),
        Err(EdgeError::Auth(AuthError::CsrfFailed))
    );
    let p = with(Some(&bearer), None, "GET", None);
    assert_eq!(
        run(flow.authenticate(RouteClass::User, &p, client, ms(NOW + 60))),
        Err(EdgeError::Auth(AuthError::InvalidToken)),
        "expired"
    );
    assert_eq!((kv.reads.get(), origin.calls.get()), (0, 0));
    // Without JWT_SECRET no session is valid.
    flow.sessions = None;
    let p = with(Some(&bearer), None, "GET", None);
    assert_eq!(
        run(flow.authenticate(RouteClass::User, &p, client, ms(NOW))),
        Err(EdgeError::Auth(AuthError::InvalidToken))
    );
}

#[test]
fn malformed_credentials_cost_no_io() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(600));
    let (raw, _) = bearer(TokenKind::Pat);
    let mut broken = raw.expose().to_owned();
    broken.replace_range(43..44, if broken.ends_with('0') { "1" } else { "0" });
    let cases = [
        (None, AuthError::MissingAuthorization),
        (
            Some("Basic abc".to_owned()),
            AuthError::InvalidAuthorizationFormat,
        ),
        (Some(format!("Bearer {broken}")), AuthError::InvalidToken),
        (Some("Bearer xyz_123".to_owned()), AuthError::InvalidToken),
    ];
    for (header, expected) in cases {
        let result = auth_in(&kv, &origin, &Memory::default(), header.as_deref(), NOW);
        assert_eq!(result, Err(EdgeError::Auth(expected)), "{header:?}");
    }
    assert_eq!((kv.reads.get(), origin.calls.get()), (0, 0));
}

#[test]
fn kinds_a_route_does_not_take_are_refused_before_any_io() {
    let (kv, origin) = (MemoryKv::default(), FakeOrigin::ok(600));
    for kind in [TokenKind::Daemon, TokenKind::Install] {
        let (_, header) = bearer(kind);
        assert_eq!(
            auth(&kv, &origin, &header, NOW),
            Err(EdgeError::Auth(AuthError::InvalidToken)),
            "{kind}"
        );
    }
    assert_eq!((kv.reads.get(), origin.calls.get()), (0, 0));
}

#[test]
fn a_flow_takes_its_keys_from_the_settings() {
    let (kv, origin, memory) = (MemoryKv::default(), FakeOrigin::ok(600), Memory::default());
    let mut config = crate::config::Config {
        origin: "https://o.example".to_owned(),
        key: key(),
        origin_timeout: std::time::Duration::from_secs(30),
        sessions: None,
    };
    let flow = Flow::new(bindings(&kv, &origin, &Unlimited), &memory, &config);
    assert!(std::ptr::eq(flow.key, &config.key));
    assert!(flow.sessions.is_none(), "without JWT_SECRET");
    config.sessions = Some(SessionKey::new("jwt-secret-of-at-least-32-bytes!!"));
    let flow = Flow::new(bindings(&kv, &origin, &Unlimited), &memory, &config);
    assert!(std::ptr::eq(
        flow.sessions.unwrap(),
        config.sessions.as_ref().unwrap()
    ));
    let (_, header) = bearer(TokenKind::Pat);
    assert_eq!(
        run(flow.authenticate(
            RouteClass::User,
            &bearer_only(Some(&header)),
            "203.0.113.7",
            ms(NOW)
        )),
        Ok(pat()),
        "and resolves with its signing key"
    );
}
