-- A retry gets the answer its callback was given, so the journal stores every answer. Most are
-- the same few texts (help, welcome, menu and keyword answers); such an answer is now kept once,
-- named by the SHA-256 of its JSON, and a callback's row holds just that digest; one given once
-- stays in its callback's row (see the SQLite migration of the same name for the measurements).
--
-- used_at is when a callback last took the answer (refreshed at most once a minute), so the
-- purge can drop answers no callback kept for retries still names.
CREATE TABLE callback_replies (
    digest BYTEA PRIMARY KEY,
    reply TEXT NOT NULL,
    used_at BIGINT NOT NULL
);
ALTER TABLE callback_dedupe ADD COLUMN reply_digest BYTEA;
