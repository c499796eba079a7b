-- Reach: channels (one permanent QR code per poster location or medium), readers' personal
-- referral codes, and auditable lucky draws (commitment, frozen entries, winners). Scans, follows
-- and unfollows themselves are already in event_log; attribution reads them by scene.
CREATE TABLE reach_channels (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    caption TEXT NOT NULL,
    scene TEXT NOT NULL UNIQUE,
    ticket TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE reach_referrals (
    openid TEXT PRIMARY KEY,
    scene TEXT NOT NULL UNIQUE,
    ticket TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE reach_draws (
    id BIGSERIAL PRIMARY KEY,
    title TEXT NOT NULL,
    seed TEXT NOT NULL,
    commitment TEXT NOT NULL,
    committed_at BIGINT NOT NULL,
    freeze_at BIGINT NOT NULL,
    winners BIGINT NOT NULL,
    drawn_at BIGINT
);
CREATE TABLE reach_draw_entries (
    draw_id BIGINT NOT NULL,
    entry TEXT NOT NULL,
    openid TEXT NOT NULL,
    PRIMARY KEY (draw_id, entry)
);
CREATE TABLE reach_draw_winners (
    draw_id BIGINT NOT NULL,
    rank BIGINT NOT NULL,
    entry TEXT NOT NULL,
    openid TEXT NOT NULL,
    PRIMARY KEY (draw_id, rank)
);
-- The funnel looks events up by scene, the follower chart by day.
CREATE INDEX event_log_event_key ON event_log (event, event_key);
CREATE INDEX event_log_event_created ON event_log (event, created_at);
