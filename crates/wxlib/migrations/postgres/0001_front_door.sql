-- Followers, the event log, callback de-duplication, the customer-service outbox, the shared
-- access token and leases. Times are unix seconds (UTC) in both dialects.
CREATE TABLE followers (
    openid TEXT PRIMARY KEY,
    subscribed BIGINT NOT NULL DEFAULT 0,
    first_subscribed_at BIGINT,
    subscribed_at BIGINT,
    unsubscribed_at BIGINT,
    first_scene TEXT,
    last_scene TEXT,
    window_expires_at BIGINT NOT NULL DEFAULT 0,
    window_quota BIGINT NOT NULL DEFAULT 0,
    window_sent BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE event_log (
    id BIGSERIAL PRIMARY KEY,
    openid TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    event TEXT,
    event_key TEXT,
    created_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX event_log_openid ON event_log (openid, received_at);
CREATE INDEX event_log_type ON event_log (msg_type, event, received_at);
CREATE TABLE callback_dedupe (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    reply TEXT,
    lease_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX callback_dedupe_created ON callback_dedupe (created_at);
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    openid TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE TABLE api_tokens (
    app_id TEXT PRIMARY KEY,
    access_token TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    refreshed_at BIGINT NOT NULL
);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
