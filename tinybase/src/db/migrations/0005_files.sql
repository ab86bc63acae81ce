-- Stored objects to delete: written in the same transaction as the record write that
-- stops referring to them (replaced or removed files, deleted records and collections),
-- and, for an upload in progress, before its first byte is stored. A row goes once the
-- object is gone, or once the upload's record commits. So a crash at any point leaves a
-- row, and the next sweep deletes what it names: no stored file is orphaned forever.
-- `key` is a file's key or a prefix (a record's or a collection's) in the file store.
CREATE TABLE file_deletions (
    key         TEXT PRIMARY KEY,
    due_at      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX file_deletions_due ON file_deletions (due_at);

-- Short-lived tokens that let a client fetch files with `?token=` (an <img> cannot send
-- an Authorization header). Only the SHA-256 of a token is stored.
CREATE TABLE file_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  TEXT NOT NULL
);
CREATE INDEX file_tokens_expires_at ON file_tokens (expires_at);
