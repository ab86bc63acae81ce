-- Lists default to oldest first with ties broken by id. An index in exactly that order
-- lets a filtered page stop once it has its rows; with `created_at` alone SQLite had to
-- sort the last key and often preferred a field index, sorting every match instead.
DROP INDEX records_collection_created;
CREATE INDEX records_collection_order ON records (collection_id, created_at, id);
