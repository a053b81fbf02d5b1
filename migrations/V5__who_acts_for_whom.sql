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
-- id could be taken over by exchanging for it): all of them are revoked, and purged
-- from the edge through the outbox. Where they act for one member, the newest stays.
WITH live AS (
    SELECT id, token_hash,
           min(owner_id::text) OVER daemon <> max(owner_id::text) OVER daemon AS shared,
           row_number() OVER (daemon ORDER BY created_at DESC, id DESC) AS newest
    FROM daemon_tokens WHERE revoked_at IS NULL
    WINDOW daemon AS (PARTITION BY workspace_id, daemon_id)
), revoked AS (
    UPDATE daemon_tokens d SET revoked_at = now()
    FROM live
    WHERE d.id = live.id AND (live.shared OR live.newest > 1)
    RETURNING d.token_hash
)
INSERT INTO cache_invalidations (cache_key)
SELECT 'tollgate:auth:mdt:' || token_hash FROM revoked;

CREATE UNIQUE INDEX daemon_tokens_one_live_per_daemon
    ON daemon_tokens (workspace_id, daemon_id) WHERE revoked_at IS NULL;
CREATE INDEX daemon_tokens_by_owner ON daemon_tokens (workspace_id, owner_id)
    WHERE revoked_at IS NULL;

-- A member's runtimes are private to them unless they share them with the workspace.
ALTER TABLE runtimes ADD COLUMN visibility text NOT NULL DEFAULT 'private'
    CHECK (visibility IN ('private', 'workspace'));
CREATE INDEX runtimes_by_daemon ON runtimes (workspace_id, daemon_id);

-- Who created an agent, and who queued a task: the member a task token acts for.
-- Before this, a task token acted for the runtime's owner; existing rows keep that.
ALTER TABLE agents ADD COLUMN created_by uuid REFERENCES users (id) ON DELETE SET NULL;
UPDATE agents a SET created_by = r.owner_id FROM runtimes r WHERE r.id = a.runtime_id;

ALTER TABLE tasks ADD COLUMN queued_by uuid REFERENCES users (id) ON DELETE CASCADE;
UPDATE tasks t SET queued_by = r.owner_id FROM runtimes r WHERE r.id = t.runtime_id;
ALTER TABLE tasks ALTER COLUMN queued_by SET NOT NULL;
CREATE INDEX tasks_by_queuer ON tasks (workspace_id, queued_by);
