-- Borrowing: wxlib's bindings (openid ↔ card, never a password), the built-in library system
-- (readers, loans, holds, anonymous loan history for the hot list), reminders, and scheduled
-- jobs. Card passwords of the built-in system are argon2 hashes; wxlib itself stores none.
CREATE TABLE bindings (
    openid TEXT PRIMARY KEY,
    card TEXT NOT NULL,
    bound_at BIGINT NOT NULL
);
CREATE INDEX bindings_card ON bindings (card);
CREATE TABLE bind_failures (
    id BIGSERIAL PRIMARY KEY,
    subject TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX bind_failures_subject ON bind_failures (subject, at);
CREATE TABLE ils_readers (
    card TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    blocked TEXT,
    fines_cents BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE ils_loans (
    id BIGSERIAL PRIMARY KEY,
    card TEXT NOT NULL,
    barcode TEXT NOT NULL,
    record_id TEXT,
    loaned_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    renewals BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ils_loans_barcode ON ils_loans (barcode);
CREATE INDEX ils_loans_card ON ils_loans (card);
CREATE TABLE ils_holds (
    id BIGSERIAL PRIMARY KEY,
    card TEXT NOT NULL,
    record_id TEXT NOT NULL,
    pickup TEXT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ils_holds_record ON ils_holds (record_id, status);
CREATE INDEX ils_holds_card ON ils_holds (card, status);
CREATE TABLE ils_loan_history (
    id BIGSERIAL PRIMARY KEY,
    record_id TEXT NOT NULL,
    loaned_at BIGINT NOT NULL
);
CREATE INDEX ils_loan_history_at ON ils_loan_history (loaned_at);
CREATE TABLE reminders_sent (
    openid TEXT NOT NULL,
    barcode TEXT NOT NULL,
    due_at BIGINT NOT NULL,
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
    next_run_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    last_run_at BIGINT
);
CREATE TABLE app_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
ALTER TABLE dialog_state ADD COLUMN record_id TEXT;
