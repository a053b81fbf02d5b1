-- `tollgate login` through the browser (RFC 8628): a grant a client asked for, waiting
-- for a signed-in person to approve or deny it. Neither code is stored, only HMACs of
-- them under JWT_SECRET. Each change of state is one conditional UPDATE: a person
-- decides a pending grant once; an approved grant is consumed once, by the poll that
-- mints its PAT (in the same transaction). Rows long expired are swept by later grants.
CREATE TABLE device_grants (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    device_digest  bytea NOT NULL UNIQUE,
    user_digest    bytea NOT NULL UNIQUE,
    client_name    text NOT NULL,
    -- Where the client asked from, shown to the person deciding (RFC 8628 §5.4).
    client_address text CHECK (char_length(client_address) <= 64),
    -- Not a foreign key: an unauthenticated client names it, and whether it exists is
    -- for the approving member to learn, not the client.
    workspace_id   uuid,
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    interval_secs  integer NOT NULL CHECK (interval_secs > 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    last_polled_at timestamptz,
    decided_by     uuid REFERENCES users (id) ON DELETE CASCADE,
    -- The session that decided: an approval counts only while it is live (signing out
    -- everywhere, or a suspension, before the client polls, and no token is minted).
    decided_session uuid REFERENCES sessions (id) ON DELETE CASCADE,
    decided_at     timestamptz,
    pat_id         uuid REFERENCES personal_access_tokens (id) ON DELETE SET NULL,
    CHECK ((status = 'pending') = (decided_by IS NULL)),
    CHECK ((status = 'pending') = (decided_session IS NULL))
);
CREATE INDEX device_grants_by_expiry ON device_grants (expires_at);
