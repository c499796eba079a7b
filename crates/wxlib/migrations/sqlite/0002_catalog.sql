-- The catalog: records as imported (raw MARC is the source of truth; the search index is rebuilt
-- from it), their items, the readers' search dialogs and purchase suggestions.
CREATE TABLE catalog_records (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    marc BLOB,
    title TEXT NOT NULL DEFAULT '',
    author TEXT,
    year INTEGER,
    call_number TEXT,
    added_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX catalog_records_seq ON catalog_records (seq);
CREATE INDEX catalog_records_added ON catalog_records (added_at);
CREATE TABLE catalog_items (
    barcode TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    location TEXT,
    call_number TEXT,
    status TEXT NOT NULL DEFAULT 'available'
);
CREATE INDEX catalog_items_record ON catalog_items (record_id);
CREATE TABLE dialog_state (
    openid TEXT PRIMARY KEY,
    mode TEXT,
    query TEXT,
    page INTEGER NOT NULL DEFAULT 0,
    hits TEXT,
    expires_at INTEGER NOT NULL
);
CREATE TABLE purchase_suggestions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    openid TEXT,
    title TEXT NOT NULL,
    author TEXT,
    isbn TEXT,
    note TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE search_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    openid TEXT,
    field TEXT NOT NULL,
    query TEXT NOT NULL,
    hits INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX search_log_created ON search_log (created_at);
