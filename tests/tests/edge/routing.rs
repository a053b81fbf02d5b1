//! What the edge serves, strips and forwards before any authentication.

use reqwest::StatusCode;
use serde_json::Value;
use tollgate_shared::AuthError;
use tollgate_tests::api::assert_refused;
use tollgate_tests::stack::Stack;

pub async fn spoofed_identity_headers_never_reach_the_origin(stack: &Stack) {
    let (_, token) = stack.pat();
    let r = stack
        .http()
        .get(format!("{}/api/me", stack.edge.url))
        .bearer_auth(&token)
        .header("X-User-ID", "00000000-0000-4000-8000-000000000000")
        .header("X-Actor-Source", "session")
        .header("X-Workspace-ID", "spoofed")
        .header("X-Edge-Signature", "00")
        .header("X-Edge-Timestamp", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user_id"], stack.user["id"]);
    assert_eq!(body["actor_source"], "pat");
}

pub async fn unserved_routes(stack: &Stack) {
    let r = stack
        .http()
        .post(format!("{}/internal/auth/resolve", stack.edge.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "not found");
    let r = stack
        .http()
        .post(format!("{}/__tollgate/purge", stack.edge.url))
        .body(r#"{"keys":[]}"#)
        .send()
        .await
        .unwrap();
    assert_refused(r, AuthError::InvalidSignature).await;
    // An oversized purge is refused on its declared length, before it is read.
    let r = stack
        .http()
        .post(format!("{}/__tollgate/purge", stack.edge.url))
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    for path in ["/", "/metrics", "/readyz", "/favicon.ico"] {
        let r = stack
            .http()
            .get(format!("{}{path}", stack.edge.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = stack
        .http()
        .get(format!("{}/healthz", stack.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
}

pub async fn public_routes_are_forwarded_without_credentials(stack: &Stack) {
    let r = stack
        .http()
        .get(format!("{}/api/ping", stack.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["pong"], true);
}

pub async fn methods_the_edge_cannot_forward_exactly_are_405(stack: &Stack) {
    let (_, token) = stack.pat();
    for method in ["QUERY", "PROPFIND"] {
        let r = stack
            .http()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/api/me", stack.edge.url),
            )
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(
            r.headers()["allow"],
            "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
        );
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "method not allowed"
        );
    }
    // Methods the runtime itself does not know never reach the Worker (workerd answers
    // 501 on its own); what matters is that none is forwarded as another method.
    let r = stack
        .http()
        .request(
            reqwest::Method::from_bytes(b"FOO").unwrap(),
            format!("{}/api/me", stack.edge.url),
        )
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 405 | 501), "{}", r.status());
    // HEAD follows GET's class: a public GET route is public for HEAD too.
    let r = stack
        .http()
        .head(format!("{}/api/ping", stack.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

pub async fn oversized_bodies_are_413_at_the_edge(stack: &Stack) {
    let (_, token) = stack.pat();
    let post = || {
        // A fresh connection each: after an early 413 the rest of a body is unread.
        stack
            .http()
            .post(format!("{}/api/tokens", stack.edge.url))
            .bearer_auth(&token)
    };
    // Within the limit and without a length (chunked), the body arrives whole.
    let r = post()
        .body(chunked(vec![
            br#"{"name":"#.to_vec(),
            br#""chunked"}"#.to_vec(),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["name"], "chunked");
    stack
        .minted
        .lock()
        .unwrap()
        .push(created["token"].as_str().unwrap().to_owned());

    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let r = post().body(big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "request body too large"
    );
    // Without a length, the edge keeps at most the limit and answers 413.
    let r = post()
        .body(chunked((0..80).map(|_| vec![b'x'; 1024]).collect()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "request body too large"
    );
    // And goes on serving bodies after refusing one.
    let r = post()
        .body(chunked(vec![
            br#"{"name":"#.to_vec(),
            br#""after"}"#.to_vec(),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    stack
        .minted
        .lock()
        .unwrap()
        .push(created["token"].as_str().unwrap().to_owned());
}

pub async fn two_authorization_headers_are_refused_like_at_the_origin(stack: &Stack) {
    let (_, token) = stack.pat();
    let r = stack
        .http()
        .get(format!("{}/api/me", stack.edge.url))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_refused(r, AuthError::InvalidAuthorizationFormat).await;
    let r = stack
        .http()
        .get(format!("{}/api/me", stack.edge.url))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer t\xf6k\xe9n").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_refused(r, AuthError::InvalidToken).await;
}

pub async fn header_floods_are_431_in_json_at_the_edge(stack: &Stack) {
    let mut req = stack.http().get(format!("{}/api/ping", stack.edge.url));
    for i in 0..90 {
        req = req.header(format!("x-filler-{i}"), "x");
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "request header fields too large"
    );
    // 70 of them pass the edge and, with what the edge adds, the origin too.
    let (_, token) = stack.pat();
    let mut req = stack
        .http()
        .get(format!("{}/api/me", stack.edge.url))
        .bearer_auth(&token);
    for i in 0..70 {
        req = req.header(format!("x-filler-{i}"), "x");
    }
    assert_eq!(req.send().await.unwrap().status(), StatusCode::OK);
}

/// A body sent in `parts` with no `Content-Length` (chunked).
fn chunked(parts: Vec<Vec<u8>>) -> reqwest::Body {
    let parts: Vec<Result<Vec<u8>, std::io::Error>> = parts.into_iter().map(Ok).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(parts))
}
