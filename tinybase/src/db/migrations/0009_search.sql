-- Full-text search over the `searchable` fields of each collection (SQLite FTS5).
--
-- `search_fields` lists, per collection, the JSON paths of its searchable fields; the
-- collection service rewrites it (and rebuilds that collection's part of the index) when
-- a schema change adds or removes one. The triggers below keep the index in step with
-- every write to `records`, whatever path made it (HTTP, batch, functions, cascades,
-- collection deletes), inside the writing transaction.
CREATE TABLE search_fields (
    collection_id  TEXT NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    path           TEXT NOT NULL,
    PRIMARY KEY (collection_id, position)
);

-- One row per indexed record. Its INTEGER PRIMARY KEY is the FTS rowid: the rowids of
-- `records` (a TEXT primary key) may change on VACUUM, these may not.
CREATE TABLE search_rows (
    id             INTEGER PRIMARY KEY,
    record_id      TEXT NOT NULL UNIQUE,
    collection_id  TEXT NOT NULL
);
CREATE INDEX search_rows_collection ON search_rows (collection_id);

-- The searchable text of a record: its searchable fields' values, one per line.
CREATE VIRTUAL TABLE search_index USING fts5 (
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER records_search_insert AFTER INSERT ON records
WHEN EXISTS (SELECT 1 FROM search_fields WHERE collection_id = new.collection_id)
BEGIN
    INSERT INTO search_rows (record_id, collection_id) VALUES (new.id, new.collection_id);
    INSERT INTO search_index (rowid, body)
    SELECT s.id, (SELECT group_concat(json_extract(new.data, f.path), char(10))
                  FROM search_fields AS f WHERE f.collection_id = new.collection_id)
    FROM search_rows AS s WHERE s.record_id = new.id;
END;

CREATE TRIGGER records_search_update AFTER UPDATE OF data ON records
WHEN EXISTS (SELECT 1 FROM search_fields WHERE collection_id = new.collection_id)
BEGIN
    INSERT OR IGNORE INTO search_rows (record_id, collection_id)
    VALUES (new.id, new.collection_id);
    DELETE FROM search_index
    WHERE rowid = (SELECT id FROM search_rows WHERE record_id = new.id);
    INSERT INTO search_index (rowid, body)
    SELECT s.id, (SELECT group_concat(json_extract(new.data, f.path), char(10))
                  FROM search_fields AS f WHERE f.collection_id = new.collection_id)
    FROM search_rows AS s WHERE s.record_id = new.id;
END;

CREATE TRIGGER records_search_delete AFTER DELETE ON records
WHEN EXISTS (SELECT 1 FROM search_rows WHERE record_id = old.id)
BEGIN
    DELETE FROM search_index
    WHERE rowid = (SELECT id FROM search_rows WHERE record_id = old.id);
    DELETE FROM search_rows WHERE record_id = old.id;
END;
