-- The developer portal: users and their sessions, plans per API, each API's catalog listing
-- and each application's owner. Records are kept as JSON (`body`); the columns beside it are
-- what queries filter and constrain on.

CREATE TABLE users (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    email      TEXT COLLATE "C" NOT NULL CONSTRAINT users_email_key UNIQUE,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    digest     BYTEA  NOT NULL PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE plans (
    id     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    api_id TEXT COLLATE "C" NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    name   TEXT COLLATE "C" NOT NULL,
    body   TEXT NOT NULL,
    CONSTRAINT plans_api_id_name_key UNIQUE (api_id, name)
);

CREATE TABLE api_listings (
    api_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES apis (id) ON DELETE CASCADE,
    body   TEXT NOT NULL
);

CREATE TABLE app_profiles (
    client_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    owner_id  TEXT COLLATE "C",
    body      TEXT NOT NULL
);
CREATE INDEX app_profiles_owner_id ON app_profiles (owner_id);
