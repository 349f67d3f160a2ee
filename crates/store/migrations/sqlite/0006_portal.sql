-- The developer portal: users and their sessions, plans per API, each API's catalog listing
-- and each application's owner. Records are kept as JSON (`body`); the columns beside it are
-- what queries filter and constrain on.

CREATE TABLE users (
    id         TEXT    NOT NULL PRIMARY KEY,
    email      TEXT    NOT NULL UNIQUE,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    digest     BLOB    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE plans (
    id     TEXT NOT NULL PRIMARY KEY,
    api_id TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    body   TEXT NOT NULL,
    UNIQUE (api_id, name)
) STRICT;

CREATE TABLE api_listings (
    api_id TEXT NOT NULL PRIMARY KEY REFERENCES apis (id) ON DELETE CASCADE,
    body   TEXT NOT NULL
) STRICT;

CREATE TABLE app_profiles (
    client_id TEXT NOT NULL PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    owner_id  TEXT,
    body      TEXT NOT NULL
) STRICT;
CREATE INDEX app_profiles_owner_id ON app_profiles (owner_id);
