-- Webhook workers read the change log themselves, each from its own cursor; the outbox
-- (`webhook_deliveries`) now holds only deliveries whose first attempt failed (or that an
-- admin redelivered). So the delivery log can no longer take a change's seq, event and
-- collection from the outbox: every attempt carries them.

-- The newest seq the webhook's worker has dealt with: sent, or put in the outbox to retry,
-- or found not to match. Changes the old fan-out already copied are in the outbox.
ALTER TABLE webhooks ADD COLUMN sent_seq INTEGER NOT NULL DEFAULT 0;
UPDATE webhooks SET sent_seq = MAX(after_seq, COALESCE((SELECT seq FROM webhook_cursor), 0));
DROP TABLE webhook_cursor;

CREATE TABLE webhook_attempts_new (
    id           TEXT PRIMARY KEY,
    -- Not a foreign key: a delivery that succeeded at once never has an outbox row.
    delivery_id  TEXT NOT NULL,
    webhook_id   TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    event        TEXT NOT NULL,
    collection   TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
INSERT INTO webhook_attempts_new (id, delivery_id, webhook_id, seq, event, collection, attempt,
        status_code, error, duration_ms, created_at)
    SELECT a.id, a.delivery_id, a.webhook_id, d.seq, d.event, d.collection, a.attempt,
           a.status_code, a.error, a.duration_ms, a.created_at
    FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id;
DROP TABLE webhook_attempts;
ALTER TABLE webhook_attempts_new RENAME TO webhook_attempts;
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, created_at);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
