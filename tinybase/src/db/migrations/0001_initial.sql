-- Every table of the data model. IDs are UUIDv7 text; timestamps are RFC 3339 UTC text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- Only the SHA-256 of a bearer token is stored: a copy of the database logs nobody in.
CREATE TABLE auth_tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX auth_tokens_user_id ON auth_tokens (user_id);
CREATE INDEX auth_tokens_expires_at ON auth_tokens (expires_at);

CREATE TABLE collections (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    label       TEXT,
    schema      TEXT NOT NULL CHECK (json_valid(schema)),
    options     TEXT NOT NULL CHECK (json_valid(options)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- All records of all collections: a schema change never needs an ALTER TABLE.
CREATE TABLE records (
    id             TEXT PRIMARY KEY,
    collection_id  TEXT NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    owner_id       TEXT REFERENCES users (id) ON DELETE SET NULL,
    data           TEXT NOT NULL CHECK (json_valid(data)),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX records_collection_created ON records (collection_id, created_at);
CREATE INDEX records_owner ON records (owner_id);

CREATE TABLE function_calls (
    id                    TEXT PRIMARY KEY,
    function_name         TEXT NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    trigger_type          TEXT NOT NULL CHECK (trigger_type IN ('manual', 'schedule')),
    trigger_id            TEXT,
    requested_by_user_id  TEXT REFERENCES users (id) ON DELETE SET NULL,
    started_at            TEXT NOT NULL,
    finished_at           TEXT,
    duration_ms           INTEGER,
    error_type            TEXT,
    error_message         TEXT,
    created_at            TEXT NOT NULL
);
CREATE INDEX function_calls_created ON function_calls (created_at);
CREATE INDEX function_calls_function_created ON function_calls (function_name, created_at);
CREATE INDEX function_calls_status ON function_calls (status);

CREATE TABLE function_schedules (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    function_name       TEXT NOT NULL,
    schedule            TEXT NOT NULL CHECK (json_valid(schedule)),
    input               TEXT CHECK (input IS NULL OR json_valid(input)),
    is_active           INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    last_run_at         TEXT,
    next_run_at         TEXT,
    created_by_user_id  TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX function_schedules_due ON function_schedules (is_active, next_run_at);
