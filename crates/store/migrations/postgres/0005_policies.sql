-- Rego policies: one per attachment point (global, an API, or one operation of an API), the
-- history of their versions, the API owners who may manage them, and the decision log the
-- gateways write. The record itself is kept as JSON (`body`); the columns are what queries
-- filter and constrain on.

ALTER TABLE apis ADD COLUMN owners TEXT NOT NULL DEFAULT '[]';

CREATE TABLE policies (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    attachment TEXT COLLATE "C" NOT NULL UNIQUE,
    api_id     TEXT COLLATE "C" REFERENCES apis (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE policy_versions (
    policy_id TEXT COLLATE "C" NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    version   BIGINT NOT NULL,
    body      TEXT   NOT NULL,
    PRIMARY KEY (policy_id, version)
);

CREATE TABLE policy_decisions (
    seq    BIGSERIAL PRIMARY KEY,
    at     BIGINT NOT NULL,
    api_id TEXT COLLATE "C" NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    body   TEXT   NOT NULL
);
CREATE INDEX policy_decisions_api_at ON policy_decisions (api_id, at);
