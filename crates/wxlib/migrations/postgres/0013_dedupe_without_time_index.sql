-- callback_dedupe loses its created_at index. Keys arrive in order, but the index's entries
-- (created_at, key) split a page of their own about every third commit and were a third of the
-- pages each journal commit wrote (BENCHMARKS.md, run G). The purge now keeps one hour of callbacks
-- (WeChat's retries end within seconds; replays outside the timestamp window are refused anyway)
-- and scans that hour once a minute instead.
DROP INDEX IF EXISTS callback_dedupe_created;
