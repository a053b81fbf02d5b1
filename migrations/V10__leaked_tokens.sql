-- What happened to a person's own credentials outside any workspace (a PAT reported
-- leaked, and revoked for it): the person's feed, `GET /api/events`. Written in the
-- same transaction as what it records.
CREATE TABLE account_events (
    id         bigserial PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    payload    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_events_by_user ON account_events (user_id, id);
