-- Circulation in step with the library system (issue 20): the last status the library system
-- gave for each copy (shared by all nodes, kept across restarts, shown as "last known" when the
-- system does not answer in time), what the notice poller has seen (a hold ready, a loan another
-- reader reserved) so that each notice goes once, the readers' "tell me when it is back on the
-- shelf" requests, and the template message an outbox row falls back to when the reader's
-- customer-service window is closed.
CREATE TABLE copy_status (
    barcode TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    due_at BIGINT,
    hold_queue BIGINT,
    read_at BIGINT NOT NULL
);
CREATE TABLE notice_marks (
    openid TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (openid, kind, subject)
);
CREATE TABLE shelf_watches (
    openid TEXT NOT NULL,
    record_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (openid, record_id)
);
CREATE INDEX shelf_watches_record ON shelf_watches (record_id);
ALTER TABLE outbox ADD COLUMN fallback TEXT;
