-- Who acts for whom: every daemon and task token acts for one named member.

-- An install token is minted by an owner or admin (created_by) *for* a member
-- (user_id), the one the daemon it enrolls will act for.
ALTER TABLE install_tokens ADD COLUMN user_id uuid REFERENCES users (id) ON DELETE CASCADE;
UPDATE install_tokens SET user_id = created_by;
ALTER TABLE install_tokens ALTER COLUMN user_id SET NOT NULL;

-- daemon_tokens.owner_id is the member the daemon acts for (existing rows keep their
-- current owner); issued_by is who minted the install token, for the audit trail.
ALTER TABLE daemon_tokens ADD COLUMN issued_by uuid REFERENCES users (id) ON DELETE SET NULL;
UPDATE daemon_tokens SET issued_by = owner_id;

-- One live daemon token per daemon id in a workspace. Where several are live today
-- and act for different members, nobody can tell which is the machine's own (a daemon
-- id could be taken over by exchanging for it): all of them are revoked, purged from the
-- edge through the outbox, and what their daemon started ends with them, as a
-- revocation ends it now (claimed tasks cancelled and their task tokens deleted,
-- runtimes offline, events recorded). Where they act for one member, the newest stays
-- and drives the machine on; the older ones are revoked and purged.
WITH live AS (
    SELECT id,
           min(owner_id::text) OVER daemon <> max(owner_id::text) OVER daemon AS shared,
           row_number() OVER (daemon ORDER BY created_at DESC, id DESC) AS newest
    FROM daemon_tokens WHERE revoked_at IS NULL
    WINDOW daemon AS (PARTITION BY workspace_id, daemon_id)
), revoked AS (
    UPDATE daemon_tokens d SET revoked_at = now()
    FROM live
    WHERE d.id = live.id AND (live.shared OR live.newest > 1)
    RETURNING d.id, d.token_hash, d.workspace_id, d.daemon_id, d.owner_id, live.shared
), purged AS (
    INSERT INTO cache_invalidations (cache_key)
    SELECT 'tollgate:auth:mdt:' || token_hash FROM revoked
), offline AS (
    UPDATE runtimes r SET status = 'offline'
    FROM (SELECT DISTINCT workspace_id, daemon_id FROM revoked WHERE shared) v
    WHERE r.workspace_id = v.workspace_id AND r.daemon_id = v.daemon_id
    RETURNING r.id
), cancelled AS (
    UPDATE tasks t SET status = 'cancelled', updated_at = now()
    WHERE t.runtime_id IN (SELECT id FROM offline)
      AND t.status IN ('dispatched', 'running', 'waiting_local_directory', 'deferred')
    RETURNING t.id, t.workspace_id
), tokens_deleted AS (
    DELETE FROM task_tokens WHERE task_id IN (SELECT id FROM cancelled)
)
INSERT INTO events (workspace_id, kind, payload)
SELECT workspace_id, 'daemon:revoked',
       jsonb_build_object('daemon_token_id', id, 'daemon_id', daemon_id, 'user_id', owner_id)
FROM revoked
UNION ALL
SELECT workspace_id, 'task:cancelled', jsonb_build_object('task_id', id) FROM cancelled;

CREATE UNIQUE INDEX daemon_tokens_one_live_per_daemon
    ON daemon_tokens (workspace_id, daemon_id) WHERE revoked_at IS NULL;
CREATE INDEX daemon_tokens_by_owner ON daemon_tokens (workspace_id, owner_id)
    WHERE revoked_at IS NULL;

-- A runtime is its member's for good: the owner is part of its key, so another member's
-- daemon under the same daemon id (an old admin-owned row, a runtime registered by hand)
-- never blocks or takes over anyone's runtime of the same name.
ALTER TABLE runtimes DROP CONSTRAINT runtimes_workspace_id_daemon_id_name_key,
    ADD CONSTRAINT runtimes_one_per_member_and_name UNIQUE (workspace_id, daemon_id, owner_id, name);

-- A member's runtimes are private to them unless they share them with the workspace.
ALTER TABLE runtimes ADD COLUMN visibility text NOT NULL DEFAULT 'private'
    CHECK (visibility IN ('private', 'workspace'));
CREATE INDEX runtimes_by_daemon ON runtimes (workspace_id, daemon_id);

-- Who created an agent, and who queued a task: the member a task token acts for.
-- Before this, a task token acted for the runtime's owner; existing rows keep that.
ALTER TABLE agents ADD COLUMN created_by uuid REFERENCES users (id) ON DELETE SET NULL;
UPDATE agents a SET created_by = r.owner_id FROM runtimes r WHERE r.id = a.runtime_id;

-- A task with a task token keeps acting for whom its token acts (the runtime's owner
-- when it was claimed, who may since have changed).
ALTER TABLE tasks ADD COLUMN queued_by uuid REFERENCES users (id) ON DELETE CASCADE;
UPDATE tasks t
SET queued_by = coalesce((SELECT k.user_id FROM task_tokens k WHERE k.task_id = t.id
                          ORDER BY k.expires_at DESC LIMIT 1), r.owner_id)
FROM runtimes r WHERE r.id = t.runtime_id;
ALTER TABLE tasks ALTER COLUMN queued_by SET NOT NULL;
CREATE INDEX tasks_by_queuer ON tasks (workspace_id, queued_by);
