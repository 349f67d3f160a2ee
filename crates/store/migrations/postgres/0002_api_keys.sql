-- API keys of applications. Only the SHA-256 digest of a key is stored (the gateway looks a key
-- up by it); `prefix` is the key's first characters, to recognise it in listings.

CREATE TABLE api_keys (
    id         TEXT COLLATE "C" NOT NULL CONSTRAINT api_keys_pkey PRIMARY KEY,
    client_id  TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    digest     BYTEA  NOT NULL CONSTRAINT api_keys_digest_key UNIQUE,
    prefix     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_client_id ON api_keys (client_id);
