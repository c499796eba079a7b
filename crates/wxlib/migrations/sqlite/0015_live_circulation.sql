-- Circulation in step with the library system (issue 20): the last status the library system
-- gave for each copy (shared by all nodes, kept across restarts, shown as "last known" when the
-- system does not answer in time), what the notice poller has seen (a hold ready, a loan another
-- reader reserved) so that each notice goes once, the readers' "tell me when it is back on the
-- shelf" requests, and the template message an outbox row falls back to when the reader's
-- customer-service window is closed.
CREATE TABLE copy_status (
    barcode TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    due_at INTEGER,
    hold_queue INTEGER,
    read_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE notice_marks (
    openid TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    since INTEGER NOT NULL,
    PRIMARY KEY (openid, kind, subject)
) WITHOUT ROWID;
CREATE TABLE shelf_watches (
    openid TEXT NOT NULL,
    record_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (openid, record_id)
) WITHOUT ROWID;
CREATE INDEX shelf_watches_record ON shelf_watches (record_id);
ALTER TABLE outbox ADD COLUMN fallback TEXT;
