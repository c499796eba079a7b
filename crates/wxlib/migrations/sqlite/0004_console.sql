-- The librarians' console: accounts (argon2 hashes only), sessions (token stored hashed, so a
-- database leak does not hand out sessions; in the database so several nodes share them),
-- failed sign-ins (rate limit against password guessing) and the audit log.
CREATE TABLE librarians (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    lang TEXT NOT NULL DEFAULT 'zh',
    created_at INTEGER NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    librarian_id INTEGER NOT NULL REFERENCES librarians (id),
    csrf TEXT NOT NULL,
    lang TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_librarian ON console_sessions (librarian_id);
CREATE TABLE console_login_failures (
    username TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX console_login_failures_user ON console_login_failures (username, at);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    librarian_id INTEGER REFERENCES librarians (id),
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
