-- The change log: one row per committed record write, appended in the same transaction
-- as the write, so a rolled-back write leaves none and a committed one always has one.
-- Realtime delivery (and later webhooks and replicas) read it by sequence number.
-- `record` is the record's JSON as the API prints it: after the write for create and
-- update, as it was for delete.
CREATE TABLE changes (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    action         TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    collection_id  TEXT NOT NULL,
    collection     TEXT NOT NULL,
    record_id      TEXT NOT NULL,
    record         TEXT NOT NULL CHECK (json_valid(record)),
    created_at     TEXT NOT NULL
);
CREATE INDEX changes_created ON changes (created_at);
