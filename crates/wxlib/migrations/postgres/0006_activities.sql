-- Activities through their life: the announcement (and the report after), sign-ups in the order
-- they came (confirmed within capacity, then the waiting list), check-ins by scanning the
-- activity's QR code (signed up or walk-in), and one feedback per attendee. Times are unix
-- seconds (UTC). `version` is bumped by every sign-up change so that changes to one activity
-- take a row lock on PostgreSQL (and the write lock on SQLite) before counting places.
CREATE TABLE activities (
    id BIGSERIAL PRIMARY KEY,
    title TEXT NOT NULL,
    place TEXT NOT NULL,
    description TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    signup_opens_at BIGINT NOT NULL,
    signup_deadline BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    qr_ticket TEXT,
    qr_url TEXT,
    report_title TEXT,
    report_body TEXT,
    report_at BIGINT,
    version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX activities_time ON activities (ends_at, starts_at);
CREATE TABLE activity_signups (
    id BIGSERIAL PRIMARY KEY,
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    openid TEXT NOT NULL,
    status TEXT NOT NULL,
    via TEXT NOT NULL,
    queued_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    reminded_at BIGINT,
    UNIQUE (activity_id, openid)
);
CREATE INDEX activity_signups_queue ON activity_signups (activity_id, status, queued_at, id);
CREATE INDEX activity_signups_openid ON activity_signups (openid, status);
CREATE TABLE activity_checkins (
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    openid TEXT NOT NULL,
    at BIGINT NOT NULL,
    signed_up BIGINT NOT NULL,
    via TEXT NOT NULL,
    PRIMARY KEY (activity_id, openid)
);
CREATE TABLE activity_feedback (
    activity_id BIGINT NOT NULL REFERENCES activities (id),
    openid TEXT NOT NULL,
    rating BIGINT NOT NULL,
    comment TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (activity_id, openid)
);
