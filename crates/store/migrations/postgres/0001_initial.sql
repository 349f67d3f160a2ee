-- Gatehouse schema, PostgreSQL dialect. Timestamps are unix seconds (BIGINT); JSON is stored as
-- TEXT exactly as serialized (JSONB would reorder keys, rewrite numbers and refuse \u0000);
-- digests and encrypted keys are BYTEA. Ids collate "C" so listings sort by bytes, as in SQLite.

CREATE TABLE apis (
    id             TEXT COLLATE "C" NOT NULL CONSTRAINT apis_pkey PRIMARY KEY,
    name           TEXT   NOT NULL CONSTRAINT apis_name_key UNIQUE,
    audience       TEXT   NOT NULL CONSTRAINT apis_audience_key UNIQUE,
    scopes         TEXT   NOT NULL,
    token_ttl_secs BIGINT NOT NULL CHECK (token_ttl_secs >= 0),
    alg            TEXT   NOT NULL,
    claims         TEXT   NOT NULL,
    copy_metadata  TEXT   NOT NULL,
    resource_servers TEXT NOT NULL DEFAULT '[]',
    created_at     BIGINT NOT NULL
);

CREATE TABLE clients (
    id                TEXT COLLATE "C" NOT NULL CONSTRAINT clients_pkey PRIMARY KEY,
    name              TEXT   NOT NULL,
    auth_method       TEXT   NOT NULL,
    jwks              TEXT,
    jwks_uri          TEXT,
    metadata          TEXT   NOT NULL,
    claims            TEXT   NOT NULL,
    tokens_not_before BIGINT,
    created_at        BIGINT NOT NULL
);

CREATE TABLE client_secrets (
    id         TEXT COLLATE "C" NOT NULL CONSTRAINT client_secrets_pkey PRIMARY KEY,
    client_id  TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    digest     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX client_secrets_client_id ON client_secrets (client_id);

CREATE TABLE subscriptions (
    id         TEXT COLLATE "C" NOT NULL CONSTRAINT subscriptions_pkey PRIMARY KEY,
    client_id  TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    api_id     TEXT COLLATE "C" NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    plan       TEXT   NOT NULL,
    scopes     TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT subscriptions_client_id_api_id_key UNIQUE (client_id, api_id)
);
CREATE INDEX subscriptions_api_id ON subscriptions (api_id);

CREATE TABLE signing_keys (
    kid             TEXT COLLATE "C" NOT NULL CONSTRAINT signing_keys_pkey PRIMARY KEY,
    alg             TEXT   NOT NULL,
    state           TEXT   NOT NULL,
    private_key_enc BYTEA  NOT NULL,
    public_jwk      TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    activated_at    BIGINT,
    retired_at      BIGINT,
    publish_until   BIGINT
);

-- No foreign key to clients: a revocation outlives the client it was issued to.
CREATE TABLE revoked_tokens (
    jti        TEXT COLLATE "C" NOT NULL CONSTRAINT revoked_tokens_pkey PRIMARY KEY,
    client_id  TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

CREATE TABLE admin_tokens (
    digest     BYTEA  NOT NULL CONSTRAINT admin_tokens_pkey PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id     BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT audit_events_pkey PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT   NOT NULL,
    action TEXT   NOT NULL,
    target TEXT   NOT NULL,
    detail TEXT   NOT NULL
);
