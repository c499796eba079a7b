-- Reach: channels (one permanent QR code per poster location or medium), readers' personal
-- referral codes, and auditable lucky draws (commitment, frozen entries, winners). Scans, follows
-- and unfollows themselves are already in event_log; attribution reads them by scene.
CREATE TABLE reach_channels (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    caption TEXT NOT NULL,
    scene TEXT NOT NULL UNIQUE,
    ticket TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE reach_referrals (
    openid TEXT PRIMARY KEY,
    scene TEXT NOT NULL UNIQUE,
    ticket TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE reach_draws (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    seed TEXT NOT NULL,
    commitment TEXT NOT NULL,
    committed_at INTEGER NOT NULL,
    freeze_at INTEGER NOT NULL,
    winners INTEGER NOT NULL,
    drawn_at INTEGER
);
CREATE TABLE reach_draw_entries (
    draw_id INTEGER NOT NULL,
    entry TEXT NOT NULL,
    openid TEXT NOT NULL,
    PRIMARY KEY (draw_id, entry)
);
CREATE TABLE reach_draw_winners (
    draw_id INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    entry TEXT NOT NULL,
    openid TEXT NOT NULL,
    PRIMARY KEY (draw_id, rank)
);
-- The funnel looks events up by scene, the follower chart by day.
CREATE INDEX event_log_event_key ON event_log (event, event_key);
CREATE INDEX event_log_event_created ON event_log (event, created_at);
