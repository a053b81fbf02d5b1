-- Sign-in by emailed code: at most one live code per person (a new one replaces it).
-- The code itself is never stored: `digest` is an HMAC of the address and the code
-- under JWT_SECRET. A code is consumed, or counted wrong, by one conditional UPDATE.
CREATE TABLE sign_in_codes (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    digest      bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    wrong_tries integer NOT NULL DEFAULT 0 CHECK (wrong_tries >= 0),
    used_at     timestamptz
);
