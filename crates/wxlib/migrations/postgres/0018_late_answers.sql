-- Callbacks whose handler ran past the reply deadline (issue 18 item 4). WeChat was answered
-- `success`, so no retry will come: until the late answer is queued in the outbox the message
-- (its plain XML) is kept here, leased by the node that runs it and renewed while it runs, so that
-- if that node dies another node runs it again and the reader still gets one answer. The row goes
-- once the answer is queued (or the reader is forgotten): it holds a message for seconds.
CREATE TABLE callback_late (
    dedupe_key TEXT PRIMARY KEY,
    openid TEXT NOT NULL,
    message TEXT NOT NULL,
    lease_until BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX callback_late_lease ON callback_late (lease_until);
