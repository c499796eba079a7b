-- The callback journal writes on every message, so it writes as little as it can: analytics reads
-- events (subscribe, SCAN, CLICK…) and never text messages by index, so the event_log indexes are
-- partial (event IS NOT NULL) and a text message costs no index entries. The (msg_type, event)
-- index was never read and goes.
DROP INDEX IF EXISTS event_log_type;
DROP INDEX IF EXISTS event_log_openid;
DROP INDEX IF EXISTS event_log_event_key;
DROP INDEX IF EXISTS event_log_event_created;
CREATE INDEX event_log_openid ON event_log (openid, received_at) WHERE event IS NOT NULL;
CREATE INDEX event_log_event_key ON event_log (event, event_key) WHERE event IS NOT NULL;
CREATE INDEX event_log_event_created ON event_log (event, created_at) WHERE event IS NOT NULL;
