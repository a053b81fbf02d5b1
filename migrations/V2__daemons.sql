-- Daemons: single-use install tokens, the daemon tokens they are exchanged for, and the
-- runtimes daemons report. Only hashes of tokens are stored.
CREATE TABLE install_tokens (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash        text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    created_by        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at        timestamptz NOT NULL,
    used_at           timestamptz,
    used_by_daemon_id text,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE daemon_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    token_prefix text NOT NULL,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    daemon_id    text NOT NULL CHECK (daemon_id ~ '^[A-Za-z0-9._-]{1,128}$'),
    owner_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX daemon_tokens_by_workspace ON daemon_tokens (workspace_id, created_at DESC);

CREATE TABLE runtimes (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    daemon_id    text NOT NULL,
    owner_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    status       text NOT NULL CHECK (status IN ('online', 'offline')),
    last_seen_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, daemon_id, name)
);
