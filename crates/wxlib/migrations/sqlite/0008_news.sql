-- Library news: places with a weekly opening schedule and dated exceptions (holidays, exam-week
-- extensions, closures), the curated e-resource list, editable pages (freshman guide, about us)
-- and the guide series sent to new followers. Hours are "HH:MM-HH:MM" intervals, comma-separated
-- ("" = closed); days are "YYYY-MM-DD" in China Standard Time.
CREATE TABLE news_places (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE news_weekly_hours (
    place_id INTEGER NOT NULL REFERENCES news_places (id) ON DELETE CASCADE,
    weekday INTEGER NOT NULL,
    intervals TEXT NOT NULL,
    PRIMARY KEY (place_id, weekday)
);
CREATE TABLE news_hours_exceptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    place_id INTEGER NOT NULL REFERENCES news_places (id) ON DELETE CASCADE,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    intervals TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    announced_at INTEGER
);
CREATE INDEX news_hours_exceptions_days ON news_hours_exceptions (place_id, first_day, last_day);
CREATE TABLE news_eresources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    access_note TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    added_on TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE news_pages (
    slug TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER
);
CREATE TABLE news_guide_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    openid TEXT NOT NULL,
    part INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    done_at INTEGER,
    UNIQUE (openid, part)
);
CREATE INDEX news_guide_deliveries_due ON news_guide_deliveries (status, due_at);
