-- What happened in a workspace, for operators and UIs (member removal writes here in
-- the same transaction as everything it revokes).
CREATE TABLE events (
    id           bigserial PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_by_workspace ON events (workspace_id, id);
