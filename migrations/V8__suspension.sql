-- Accounts can be suspended: while suspended_at is set, nothing acts for the user.
ALTER TABLE users
    ADD COLUMN suspended_at timestamptz,
    ADD COLUMN suspended_reason text CHECK (char_length(suspended_reason) <= 500);
