-- Activities through their life: the announcement (and the report after), sign-ups in the order
-- they came (confirmed within capacity, then the waiting list), check-ins by scanning the
-- activity's QR code (signed up or walk-in), and one feedback per attendee. Times are unix
-- seconds (UTC). `version` is bumped by every sign-up change so that changes to one activity
-- take a row lock on PostgreSQL (and the write lock on SQLite) before counting places.
CREATE TABLE activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    place TEXT NOT NULL,
    description TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    signup_opens_at INTEGER NOT NULL,
    signup_deadline INTEGER NOT NULL,
    capacity INTEGER NOT NULL,
    qr_ticket TEXT,
    qr_url TEXT,
    report_title TEXT,
    report_body TEXT,
    report_at INTEGER,
    version INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX activities_time ON activities (ends_at, starts_at);
CREATE TABLE activity_signups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id INTEGER NOT NULL REFERENCES activities (id),
    openid TEXT NOT NULL,
    status TEXT NOT NULL,
    via TEXT NOT NULL,
    queued_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    reminded_at INTEGER,
    UNIQUE (activity_id, openid)
);
CREATE INDEX activity_signups_queue ON activity_signups (activity_id, status, queued_at, id);
CREATE INDEX activity_signups_openid ON activity_signups (openid, status);
CREATE TABLE activity_checkins (
    activity_id INTEGER NOT NULL REFERENCES activities (id),
    openid TEXT NOT NULL,
    at INTEGER NOT NULL,
    signed_up INTEGER NOT NULL,
    via TEXT NOT NULL,
    PRIMARY KEY (activity_id, openid)
);
CREATE TABLE activity_feedback (
    activity_id INTEGER NOT NULL REFERENCES activities (id),
    openid TEXT NOT NULL,
    rating INTEGER NOT NULL,
    comment TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (activity_id, openid)
);
