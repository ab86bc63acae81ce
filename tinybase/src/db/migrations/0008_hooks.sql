-- Where each `after_*` record hook stands in the change log, and its last failure.
-- A hook runs for every change after `seq`; `seq` moves on once it ran, so a restart
-- resumes where the previous process stopped (a change may run twice, never zero times
-- while it is still in the change log). Auth hooks (`after_register`, `after_login`) have
-- a row too, for their failures; their `seq` stays 0.
CREATE TABLE hook_state (
    name            TEXT PRIMARY KEY,
    seq             INTEGER NOT NULL,
    runs            INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_error_at   TEXT,
    last_run_at     TEXT
);
