-- API keys of applications. Only the SHA-256 digest of a key is stored (the gateway looks a key
-- up by it); `prefix` is the key's first characters, to recognise it in listings.

CREATE TABLE api_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    digest     BLOB    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT;
CREATE INDEX api_keys_client_id ON api_keys (client_id);
