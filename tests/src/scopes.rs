//! The scoped-PAT matrix, asked of any [`Api`]: the origin's router in process (direct
//! requests, resolved there) and the whole stack through the edge (cached identities,
//! refused before forwarding) answer every route for every scope the same way.
//!
//! The person is an admin of one workspace (`ws`) and the owner of another (`ws2`); their
//! four PATs are minted through the API by their unscoped one: unscoped, bound to `ws`,
//! read-only, and bound to `ws` and read-only.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use tollgate_shared::{Access, AuthError, Scope};

use crate::api::{Api, TestResponse};

/// Whom the matrix is about.
pub struct Subject<'a> {
    /// A workspace the person administers.
    pub ws: &'a str,
    /// A workspace the person owns alone.
    pub ws2: &'a str,
    /// The person's unscoped PAT.
    pub pat: &'a str,
}

/// The person's four PATs, in the matrix's column order.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub unscoped: String,
    pub bound: String,
    pub read: String,
    pub bound_read: String,
}

impl Tokens {
    pub fn all(&self) -> [&str; 4] {
        [&self.unscoped, &self.bound, &self.read, &self.bound_read]
    }
}

/// The scopes of the four columns, as the shared rule knows them.
pub fn column_scopes(s: &Subject<'_>) -> [Scope; 4] {
    let ws = s.ws.parse().ok();
    [
        (None, Access::Write),
        (ws, Access::Write),
        (None, Access::Read),
        (ws, Access::Read),
    ]
    .map(|(workspace, access)| Scope { workspace, access })
}

/// `POST /api/tokens` by `pat` with `scope` (the body's `workspace_id` and `access`).
pub async fn create(api: &impl Api, pat: &str, scope: Value) -> TestResponse {
    let mut body = json!({ "name": "scoped" });
    if let (Some(body), Some(scope)) = (body.as_object_mut(), scope.as_object()) {
        body.extend(scope.clone());
    }
    let r = api
        .call(
            Method::POST,
            "/api/tokens",
            Some(pat),
            Some(&body.to_string()),
        )
        .await;
    if let Some(token) = r.body["token"].as_str() {
        api.keep(token);
    }
    r
}

/// Mints the three scoped tokens with the person's unscoped one, checking that each
/// answer shows its scope.
pub async fn tokens(api: &impl Api, s: &Subject<'_>) -> Tokens {
    let mut minted = Vec::new();
    for (workspace, access) in [(Some(s.ws), "write"), (None, "read"), (Some(s.ws), "read")] {
        let r = create(
            api,
            s.pat,
            json!({ "workspace_id": workspace, "access": access }),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["workspace_id"], json!(workspace), "{}", r.text);
        assert_eq!(r.body["access"], access, "{}", r.text);
        minted.push(r.body["token"].as_str().unwrap().to_owned());
    }
    let [bound, read, bound_read] = <[String; 3]>::try_from(minted).unwrap();
    Tokens {
        unscoped: s.pat.to_owned(),
        bound,
        read,
        bound_read,
    }
}

/// What a cell of the matrix expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Served (by the route's own rules): this status.
    Status(u16),
    /// Refused for the token's scope, with this 403.
    Refused(AuthError),
    /// Not sent with this token: it would change what the other cells find.
    NotSent,
}

/// One row: a request and what each of the four tokens gets.
pub struct Case {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    pub want: [Want; 4],
}

impl Case {
    /// This case's request, with `token`.
    pub async fn send(&self, api: &impl Api, token: &str) -> TestResponse {
        let body = self.body.as_ref().map(Value::to_string);
        api.call(
            self.method.clone(),
            &self.path,
            Some(token),
            body.as_deref(),
        )
        .await
    }
}

/// Every route, for every scope.
pub fn cases(s: &Subject<'_>) -> Vec<Case> {
    use Want::{NotSent, Refused, Status};
    let elsewhere = Refused(AuthError::BoundElsewhere);
    let read_only = Refused(AuthError::ReadOnly);
    let grant = Refused(AuthError::CannotGrant);
    let (ws, ws2) = (s.ws, s.ws2);
    let nobody = uuid::Uuid::nil();
    let row = |method: Method, path: String, body: Option<Value>, want: [Want; 4]| Case {
        method,
        path,
        body,
        want,
    };
    let ok = [Status(200); 4];
    vec![
        row(Method::GET, "/api/me".into(), None, ok),
        row(Method::HEAD, "/api/me".into(), None, ok),
        row(Method::GET, "/api/tokens".into(), None, ok),
        row(
            Method::POST,
            "/api/tokens".into(),
            Some(json!({"name": "n"})),
            [Status(201), grant, grant, grant],
        ),
        row(
            Method::POST,
            "/api/tokens".into(),
            Some(json!({"name": "n", "workspace_id": ws, "access": "read"})),
            [Status(201), Status(201), grant, grant],
        ),
        row(
            Method::POST,
            "/api/tokens".into(),
            Some(json!({"name": "n", "workspace_id": ws2})),
            [Status(201), grant, grant, grant],
        ),
        row(
            Method::DELETE,
            format!("/api/tokens/{nobody}"),
            None,
            [Status(204), Status(204), read_only, read_only],
        ),
        row(Method::POST, "/api/tokens/current/renew".into(), None, ok),
        row(
            Method::GET,
            "/api/workspaces".into(),
            None,
            [Status(200), elsewhere, Status(200), elsewhere],
        ),
        row(
            Method::POST,
            "/api/workspaces".into(),
            Some(json!({"name": "n"})),
            [Status(201), elsewhere, read_only, elsewhere],
        ),
        row(
            Method::GET,
            format!("/api/workspaces/{ws}/runtimes"),
            None,
            ok,
        ),
        row(
            Method::GET,
            format!("/api/workspaces/{ws2}/runtimes"),
            None,
            [Status(200), elsewhere, Status(200), elsewhere],
        ),
        row(
            Method::GET,
            format!("/api/workspaces/{ws}/events"),
            None,
            ok,
        ),
        row(
            Method::POST,
            format!("/api/workspaces/{ws}/tasks"),
            Some(json!({})),
            [Status(400), Status(400), read_only, read_only],
        ),
        row(
            Method::POST,
            format!("/api/workspaces/{ws2}/tasks"),
            Some(json!({})),
            [Status(400), elsewhere, read_only, elsewhere],
        ),
        row(
            Method::PATCH,
            format!("/api/workspaces/{ws}/runtimes/{nobody}"),
            Some(json!({"visibility": "private"})),
            [Status(404), Status(404), read_only, read_only],
        ),
        row(
            Method::GET,
            format!("/api/workspaces/{ws}/members"),
            None,
            ok,
        ),
        row(
            Method::POST,
            format!("/api/workspaces/{ws}/members"),
            Some(
                json!({"email": format!("{}@example.com", uuid::Uuid::new_v4()), "role": "member"}),
            ),
            [Status(201), grant, grant, grant],
        ),
        row(
            Method::PATCH,
            format!("/api/workspaces/{ws}/members/{nobody}"),
            Some(json!({"role": "member"})),
            [Status(404), grant, grant, grant],
        ),
        row(
            Method::DELETE,
            format!("/api/workspaces/{ws}/members/{nobody}"),
            None,
            [Status(404), grant, grant, grant],
        ),
        // Leaving `ws` would end the bound tokens: the unscoped one leaves `ws2` instead,
        // which its last owner may not.
        row(
            Method::POST,
            format!("/api/workspaces/{ws}/leave"),
            None,
            [NotSent, grant, grant, grant],
        ),
        row(
            Method::POST,
            format!("/api/workspaces/{ws2}/leave"),
            None,
            [Status(400), elsewhere, grant, elsewhere],
        ),
        row(
            Method::POST,
            format!("/api/workspaces/{ws}/install-tokens"),
            None,
            [Status(201), grant, grant, grant],
        ),
        row(
            Method::POST,
            format!("/api/workspaces/{ws2}/install-tokens"),
            None,
            [Status(201), elsewhere, grant, elsewhere],
        ),
        row(
            Method::GET,
            format!("/api/workspaces/{ws}/daemon-tokens"),
            None,
            ok,
        ),
        row(
            Method::DELETE,
            format!("/api/workspaces/{ws}/daemon-tokens/{nobody}"),
            None,
            [Status(204), grant, grant, grant],
        ),
        row(Method::GET, "/api/daemon/whoami".into(), None, ok),
        row(
            Method::POST,
            "/api/daemon/runtimes".into(),
            Some(json!({"name": "r", "workspace_id": ws2, "daemon_id": "scoped-box"})),
            [Status(200), elsewhere, read_only, read_only],
        ),
        row(
            Method::POST,
            "/api/daemon/heartbeat".into(),
            Some(json!({"workspace_id": ws, "daemon_id": "scoped-box", "runtime_ids": []})),
            [Status(200), Status(200), read_only, read_only],
        ),
        row(
            Method::POST,
            "/api/daemon/heartbeat".into(),
            Some(json!({"workspace_id": ws2, "daemon_id": "scoped-box", "runtime_ids": []})),
            [Status(200), elsewhere, read_only, read_only],
        ),
    ]
}

/// Sends every case with every token (the scoped ones first: the unscoped one may
/// change what the route then finds) and asserts each answer; all mismatches are
/// reported at once.
pub async fn check(api: &impl Api, s: &Subject<'_>, tokens: &Tokens) {
    let mut wrong = Vec::new();
    for case in cases(s) {
        for column in [1, 2, 3, 0] {
            let token = tokens.all()[column];
            let want = case.want[column];
            if want == Want::NotSent {
                continue;
            }
            let r = case.send(api, token).await;
            let got = match want {
                Want::Refused(e) if r.status.as_u16() == 403 && r.error() == e.message() => want,
                _ if r.status.as_u16() == 403 => match AuthError::from_message(r.error()) {
                    Some(e) => Want::Refused(e),
                    None => Want::Status(403),
                },
                _ => Want::Status(r.status.as_u16()),
            };
            if got != want {
                let name = ["unscoped", "bound", "read", "bound+read"][column];
                wrong.push(format!(
                    "{} {} with {name}: want {want:?}, got {got:?}: {}",
                    case.method, case.path, r.text
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What `/api/me` and the daemon routes' `whoami` say of each token's scope.
pub async fn check_whoami(api: &impl Api, s: &Subject<'_>, tokens: &Tokens) {
    let shown = [
        (None, "write"),
        (Some(s.ws), "write"),
        (None, "read"),
        (Some(s.ws), "read"),
    ];
    for (token, (workspace, access)) in tokens.all().into_iter().zip(shown) {
        let me = api.get("/api/me", Some(token)).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
        assert_eq!(me.body["access"], access, "{}", me.text);
        assert_eq!(
            me.body.get("workspace_id"),
            workspace.map(|w| json!(w)).as_ref()
        );
        let whoami = api.get("/api/daemon/whoami", Some(token)).await;
        assert_eq!(
            whoami.body["workspace_id"],
            json!(workspace),
            "{}",
            whoami.text
        );
    }
}
