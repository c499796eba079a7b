-- Race-free attempt limits (issue 18): one counter per key (`login:<name>|<address>`,
-- `login-addr:<address>`, `bind-card:<card>`, …) in a window that starts at its first attempt.
-- An attempt is reserved by one upsert that returns the count, before the password is checked,
-- so parallel requests cannot all pass a count read before any of them is written. The
-- failure logs it replaces go.
CREATE TABLE attempt_counters (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
CREATE INDEX attempt_counters_window ON attempt_counters (window_start);
DROP TABLE console_login_failures;
DROP TABLE bind_failures;
