-- Gatehouse schema, SQLite dialect. Timestamps are unix seconds; JSON is stored as TEXT exactly
-- as serialized; digests and encrypted keys are BLOBs. STRICT tables refuse mistyped values.

CREATE TABLE apis (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    audience       TEXT    NOT NULL UNIQUE,
    scopes         TEXT    NOT NULL,
    token_ttl_secs INTEGER NOT NULL CHECK (token_ttl_secs >= 0),
    alg            TEXT    NOT NULL,
    claims         TEXT    NOT NULL,
    copy_metadata  TEXT    NOT NULL,
    resource_servers TEXT  NOT NULL DEFAULT '[]',
    created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE clients (
    id                TEXT    NOT NULL PRIMARY KEY,
    name              TEXT    NOT NULL,
    auth_method       TEXT    NOT NULL,
    jwks              TEXT,
    jwks_uri          TEXT,
    metadata          TEXT    NOT NULL,
    claims            TEXT    NOT NULL,
    tokens_not_before INTEGER,
    created_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE client_secrets (
    id         TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    digest     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
) STRICT;
CREATE INDEX client_secrets_client_id ON client_secrets (client_id);

CREATE TABLE subscriptions (
    id         TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    api_id     TEXT    NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    plan       TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (client_id, api_id)
) STRICT;
CREATE INDEX subscriptions_api_id ON subscriptions (api_id);

CREATE TABLE signing_keys (
    kid             TEXT    NOT NULL PRIMARY KEY,
    alg             TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    private_key_enc BLOB    NOT NULL,
    public_jwk      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    activated_at    INTEGER,
    retired_at      INTEGER,
    publish_until   INTEGER
) STRICT;

-- No foreign key to clients: a revocation outlives the client it was issued to.
CREATE TABLE revoked_tokens (
    jti        TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

CREATE TABLE admin_tokens (
    digest     BLOB    NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL
) STRICT;

-- AUTOINCREMENT: ids are never reused, so a paging cursor stays valid.
CREATE TABLE audit_events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    detail TEXT    NOT NULL
) STRICT;
