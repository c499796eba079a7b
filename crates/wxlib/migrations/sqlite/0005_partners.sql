-- Partner libraries searched over SRU (federated search): where each answers, which CQL indexes
-- it supports, how long we wait for it. Names are unique: the seed file and the console both
-- identify a partner by its name.
CREATE TABLE partners (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    base_url TEXT NOT NULL,
    database_name TEXT NOT NULL DEFAULT '',
    indexes TEXT NOT NULL,
    record_schema TEXT NOT NULL DEFAULT 'marcxml',
    timeout_ms INTEGER NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    position INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
