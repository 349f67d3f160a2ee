-- Rego policies: one per attachment point (global, an API, or one operation of an API), the
-- history of their versions, the API owners who may manage them, and the decision log the
-- gateways write. The record itself is kept as JSON (`body`); the columns are what queries
-- filter and constrain on.

ALTER TABLE apis ADD COLUMN owners TEXT NOT NULL DEFAULT '[]';

CREATE TABLE policies (
    id         TEXT    NOT NULL PRIMARY KEY,
    attachment TEXT    NOT NULL UNIQUE,
    api_id     TEXT    REFERENCES apis (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE policy_versions (
    policy_id TEXT    NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    version   INTEGER NOT NULL,
    body      TEXT    NOT NULL,
    PRIMARY KEY (policy_id, version)
) STRICT;

CREATE TABLE policy_decisions (
    seq    INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    api_id TEXT    NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    body   TEXT    NOT NULL
) STRICT;
CREATE INDEX policy_decisions_api_at ON policy_decisions (api_id, at);
