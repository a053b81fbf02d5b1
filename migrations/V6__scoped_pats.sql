-- Scoped personal access tokens: bound to one workspace (or none) and read or write.
-- Existing tokens are unscoped writers, as they were.
ALTER TABLE personal_access_tokens
    ADD COLUMN workspace_id uuid REFERENCES workspaces (id) ON DELETE CASCADE,
    ADD COLUMN access text NOT NULL DEFAULT 'write' CHECK (access IN ('read', 'write'));

-- A member's removal revokes their tokens bound to that workspace.
CREATE INDEX personal_access_tokens_bound
    ON personal_access_tokens (workspace_id, user_id) WHERE workspace_id IS NOT NULL AND NOT revoked;
