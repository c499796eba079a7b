-- Keyword answers and the consultation inbox. Rules carry a priority (higher first); a one-row
-- version counter tells every node when to reload its in-memory copy. Everything a reader writes
-- to the librarians is stored before any answer (the inbox), with the librarians' answers beside
-- it; an answer's delivery state is its outbox row (`outbox_key`).
CREATE TABLE answer_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    match_kind TEXT NOT NULL,
    pattern TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    answer_kind TEXT NOT NULL,
    answer_text TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    pic_url TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE answer_rules_version (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);
INSERT INTO answer_rules_version (id, version) VALUES (1, 1);
CREATE TABLE consult_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    openid TEXT NOT NULL,
    direction TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    content TEXT NOT NULL,
    media_id TEXT,
    source_key TEXT UNIQUE,
    librarian_id INTEGER,
    librarian TEXT,
    status TEXT NOT NULL,
    outbox_key TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX consult_messages_openid ON consult_messages (openid, id);
CREATE INDEX consult_messages_status ON consult_messages (direction, status);
CREATE TABLE consult_sessions (
    openid TEXT PRIMARY KEY,
    opened_at INTEGER NOT NULL,
    open_until INTEGER NOT NULL,
    acked_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE canned_answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
