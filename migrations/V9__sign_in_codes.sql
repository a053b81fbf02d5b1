-- Sign-in by emailed code: at most one live code per email address (a new one replaces
-- it). Neither the address nor the code is stored: `address` is an HMAC of the address
-- and `digest` an HMAC of the address and the code, both under JWT_SECRET. A code is
-- stored for an address with no account too (and never sent), so that asking for one
-- costs the same either way. A code is consumed, or counted wrong, by one conditional
-- UPDATE; rows long expired are swept by later sends.
CREATE TABLE sign_in_codes (
    address     bytea PRIMARY KEY,
    digest      bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    wrong_tries integer NOT NULL DEFAULT 0 CHECK (wrong_tries >= 0),
    used_at     timestamptz
);
CREATE INDEX sign_in_codes_by_expiry ON sign_in_codes (expires_at);
