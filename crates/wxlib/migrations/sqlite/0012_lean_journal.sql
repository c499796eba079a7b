-- The callback journal writes on every message, so it writes as little as it can.
--
-- event_log: analytics reads events (subscribe, SCAN, CLICK…) and never text messages by index, so
-- its indexes are partial (event IS NOT NULL): a text message, most of the traffic, costs one row
-- and no index entries. The (msg_type, event) index was never read and goes. AUTOINCREMENT goes
-- too (it rewrites sqlite_sequence on every insert); the log is append-only, so ids stay unique.
CREATE TABLE event_log_lean (
    id INTEGER PRIMARY KEY,
    openid TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    event TEXT,
    event_key TEXT,
    created_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);
INSERT INTO event_log_lean (id, openid, msg_type, event, event_key, created_at, received_at)
    SELECT id, openid, msg_type, event, event_key, created_at, received_at FROM event_log;
DROP TABLE event_log;
ALTER TABLE event_log_lean RENAME TO event_log;
CREATE INDEX event_log_openid ON event_log (openid, received_at) WHERE event IS NOT NULL;
CREATE INDEX event_log_event_key ON event_log (event, event_key) WHERE event IS NOT NULL;
CREATE INDEX event_log_event_created ON event_log (event, created_at) WHERE event IS NOT NULL;

-- callback_dedupe: stored by its key (WITHOUT ROWID), one b-tree instead of a table plus the
-- key's index.
CREATE TABLE callback_dedupe_lean (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    reply TEXT,
    lease_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO callback_dedupe_lean (key, state, reply, lease_until, created_at)
    SELECT key, state, reply, lease_until, created_at FROM callback_dedupe;
DROP TABLE callback_dedupe;
ALTER TABLE callback_dedupe_lean RENAME TO callback_dedupe;
CREATE INDEX callback_dedupe_created ON callback_dedupe (created_at);
