-- Borrowing: wxlib's bindings (openid ↔ card, never a password), the built-in library system
-- (readers, loans, holds, anonymous loan history for the hot list), reminders, and scheduled
-- jobs. Card passwords of the built-in system are argon2 hashes; wxlib itself stores none.
CREATE TABLE bindings (
    openid TEXT PRIMARY KEY,
    card TEXT NOT NULL,
    bound_at INTEGER NOT NULL
);
CREATE INDEX bindings_card ON bindings (card);
CREATE TABLE bind_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX bind_failures_subject ON bind_failures (subject, at);
CREATE TABLE ils_readers (
    card TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    blocked TEXT,
    fines_cents INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE ils_loans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    card TEXT NOT NULL,
    barcode TEXT NOT NULL,
    record_id TEXT,
    loaned_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    renewals INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ils_loans_barcode ON ils_loans (barcode);
CREATE INDEX ils_loans_card ON ils_loans (card);
CREATE TABLE ils_holds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    card TEXT NOT NULL,
    record_id TEXT NOT NULL,
    pickup TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ils_holds_record ON ils_holds (record_id, status);
CREATE INDEX ils_holds_card ON ils_holds (card, status);
CREATE TABLE ils_loan_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    loaned_at INTEGER NOT NULL
);
CREATE INDEX ils_loan_history_at ON ils_loan_history (loaned_at);
CREATE TABLE reminders_sent (
    openid TEXT NOT NULL,
    barcode TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (openid, barcode, due_at)
);
CREATE TABLE reminder_digests (
    openid TEXT NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (openid, day)
);
CREATE TABLE jobs (
    name TEXT PRIMARY KEY,
    next_run_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    last_run_at INTEGER
);
CREATE TABLE app_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
ALTER TABLE dialog_state ADD COLUMN record_id TEXT;
