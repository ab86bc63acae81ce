-- Webhooks: admins point them at URLs; a background task copies each matching committed
-- change from the change log into `webhook_deliveries` (the outbox) and POSTs it, logging
-- every attempt in `webhook_attempts`.
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    -- JSON arrays of collection names and of events (`create`, `update`, `delete`).
    collections TEXT NOT NULL CHECK (json_valid(collections)),
    events      TEXT NOT NULL CHECK (json_valid(events)),
    secret      TEXT NOT NULL,
    is_active   INTEGER NOT NULL DEFAULT 1,
    -- Changes up to this seq committed before the webhook was created or re-activated:
    -- it never gets them.
    after_seq   INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- One row per (webhook, change) to deliver. `body` is the exact JSON sent, so every
-- attempt (and a redelivery) sends the same bytes under the same delivery id.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    event           TEXT NOT NULL,
    collection      TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- Pending only: when the next attempt is due, and the last time one may start.
    next_attempt_at TEXT,
    retry_until     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due
    ON webhook_deliveries (webhook_id, next_attempt_at, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (updated_at)
    WHERE state <> 'pending';

-- Every HTTP attempt: its answer's status (NULL when none came) or error, and its time.
CREATE TABLE webhook_attempts (
    id           TEXT PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    webhook_id   TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, created_at);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);

-- How far the outbox has read the change log (one row).
CREATE TABLE webhook_cursor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
