-- A retry gets the answer its callback was given, so the journal stores every answer. Most are
-- the same few texts (help, welcome, menu and keyword answers), and a 500-byte answer in each
-- callback's row made the rows big: 8 rows to a page instead of 45, so a journal commit wrote 7.9
-- pages instead of 5.9 (BENCHMARKS.md, run J). Now an answer given again and again is kept once,
-- named by the SHA-256 of its JSON, and a callback's row holds just that digest; an answer given
-- once (a search's) stays in its callback's row, where it costs no page of its own.
--
-- used_at is when a callback last took the answer (refreshed at most once a minute), so the
-- purge can drop answers no callback kept for retries still names. callback_dedupe.reply keeps
-- the answers given once (and those of rows stored before this migration).
CREATE TABLE callback_replies (
    digest BLOB PRIMARY KEY,
    reply TEXT NOT NULL,
    used_at INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE callback_dedupe ADD COLUMN reply_digest BLOB;
