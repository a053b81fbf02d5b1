//! Header names the two sides agree on: the stamped identity, the edge signature and the
//! request id.

pub const X_USER_ID: &str = "x-user-id";
pub const X_USER_EMAIL: &str = "x-user-email";
pub const X_ACTOR_SOURCE: &str = "x-actor-source";
pub const X_WORKSPACE_ID: &str = "x-workspace-id";
pub const X_AGENT_ID: &str = "x-agent-id";
pub const X_TASK_ID: &str = "x-task-id";
pub const X_DAEMON_ID: &str = "x-daemon-id";
/// A PAT's access, `read` or `write` (its bound workspace is `X-Workspace-ID`).
pub const X_TOKEN_ACCESS: &str = "x-token-access";
pub const X_EDGE_TIMESTAMP: &str = "x-edge-timestamp";
pub const X_EDGE_SIGNATURE: &str = "x-edge-signature";
pub const X_REQUEST_ID: &str = "x-request-id";
/// The client's address as the edge saw it (`CF-Connecting-IP`), signed with the rest.
pub const X_CLIENT_ADDRESS: &str = "x-client-address";

/// How many identity values a signature covers.
pub const IDENTITY_FIELDS: usize = 8;

/// The identity headers in the order the signature covers them.
pub const SIGNED_IDENTITY_HEADERS: [&str; IDENTITY_FIELDS] = [
    X_USER_ID,
    X_USER_EMAIL,
    X_ACTOR_SOURCE,
    X_WORKSPACE_ID,
    X_AGENT_ID,
    X_TASK_ID,
    X_DAEMON_ID,
    X_TOKEN_ACCESS,
];

/// Every header a client must never be able to set: removed on every route. The
/// identity headers, the client address, and the two that would make them look
/// edge-signed.
pub const STRIPPED_HEADERS: [&str; IDENTITY_FIELDS + 3] = {
    let mut out = [X_EDGE_TIMESTAMP; IDENTITY_FIELDS + 3];
    let mut i = 0;
    while i < SIGNED_IDENTITY_HEADERS.len() {
        out[i] = SIGNED_IDENTITY_HEADERS[i];
        i += 1;
    }
    out[IDENTITY_FIELDS + 1] = X_EDGE_SIGNATURE;
    out[IDENTITY_FIELDS + 2] = X_CLIENT_ADDRESS;
    out
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripped_headers_cover_identity_and_signature() {
        for name in SIGNED_IDENTITY_HEADERS {
            assert!(STRIPPED_HEADERS.contains(&name), "{name}");
        }
        assert!(STRIPPED_HEADERS.contains(&X_EDGE_TIMESTAMP));
        assert!(STRIPPED_HEADERS.contains(&X_EDGE_SIGNATURE));
        assert!(STRIPPED_HEADERS.contains(&X_CLIENT_ADDRESS));
        assert_eq!(STRIPPED_HEADERS.len(), 11);
    }
}
