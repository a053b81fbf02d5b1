-- Agents run tasks on a daemon's runtime; a task token lets the agent act for the
-- runtime's owner while, and only while, its task runs.
CREATE TABLE agents (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    runtime_id   uuid NOT NULL REFERENCES runtimes (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    archived_at  timestamptz,
    archived_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tasks (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    runtime_id   uuid NOT NULL REFERENCES runtimes (id) ON DELETE CASCADE,
    status       text NOT NULL CHECK (status IN ('queued', 'dispatched', 'running',
                     'waiting_local_directory', 'deferred', 'completed', 'failed', 'cancelled')),
    prompt       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_queued_by_runtime ON tasks (runtime_id, created_at) WHERE status = 'queued';

CREATE TABLE task_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    task_id      uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX task_tokens_by_task ON task_tokens (task_id);
