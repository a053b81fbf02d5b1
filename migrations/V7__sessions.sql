-- Sessions are records: a session JWT carries its row's id (`sid`), and the row is what
-- signing out, revoking and suspension end before the JWT's `exp`.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    user_agent   text CHECK (char_length(user_agent) <= 512),
    ip           text CHECK (char_length(ip) <= 64)
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at DESC);
