//! The console's tables: librarians, their sessions, and the audit log (the sign-in limits are
//! `db::limits` counters).

use super::audit::AuditEntry;
use super::auth::{Librarian, LibrarianRow, Role, lang_code, sha256_hex};
use crate::db::{Db, DbError};
use crate::lang::Lang;
use crate::with_pool;

/// Librarians and sessions.
impl Db {
    /// (id, password hash, role, lang, disabled) by user name.
    pub(super) async fn librarian_by_name(&self, username: &str) -> Result<Option<(i64, String, String, String, bool)>, DbError> {
        let row: Option<(i64, String, String, String, i64)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT id, password_hash, role, lang, disabled FROM librarians WHERE username = $1")
                .bind(username)
                .fetch_optional(pool)
                .await?);
        Ok(row.map(|(id, h, r, l, d)| (id, h, r, l, d != 0)))
    }

    /// The librarian behind a session token, if the session is live and the account enabled.
    pub async fn console_session(&self, token: &str, now: i64) -> Result<Option<Librarian>, DbError> {
        let sql = "SELECT l.id, l.username, l.role, s.lang, s.csrf FROM console_sessions s JOIN librarians l ON l.id = s.librarian_id \
                   WHERE s.token_hash = $1 AND s.expires_at > $2 AND l.disabled = 0";
        let row: Option<(i64, String, String, String, String)> =
            with_pool!(self, |pool| sqlx::query_as(sql).bind(sha256_hex(token)).bind(now).fetch_optional(pool).await?);
        Ok(row.and_then(|(id, username, role, lang, csrf)| {
            Some(Librarian { id, username, role: Role::parse(&role)?, lang: Lang::from_config(&lang), csrf })
        }))
    }

    pub(super) async fn set_session_lang(&self, token: &str, librarian_id: i64, lang: Lang) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE console_sessions SET lang = $1 WHERE token_hash = $2")
            .bind(lang_code(lang))
            .bind(sha256_hex(token))
            .execute(pool)
            .await?
            .rows_affected());
        with_pool!(self, |pool| sqlx::query("UPDATE librarians SET lang = $1 WHERE id = $2")
            .bind(lang_code(lang))
            .bind(librarian_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub(super) async fn end_session(&self, token: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(sha256_hex(token))
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Signs a librarian out everywhere (password reset, account disabled).
    pub async fn end_sessions_of(&self, librarian_id: i64) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("DELETE FROM console_sessions WHERE librarian_id = $1")
            .bind(librarian_id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn librarians(&self) -> Result<Vec<LibrarianRow>, DbError> {
        let rows: Vec<(i64, String, String, i64, i64)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT id, username, role, created_at, disabled FROM librarians ORDER BY id")
                .fetch_all(pool)
                .await?);
        Ok(rows
            .into_iter()
            .map(|(id, username, role, created_at, d)| LibrarianRow {
                id,
                username,
                role: Role::parse(&role).unwrap_or(Role::Librarian),
                created_at,
                disabled: d != 0,
            })
            .collect())
    }

    pub async fn librarian(&self, id: i64) -> Result<Option<LibrarianRow>, DbError> {
        Ok(self.librarians().await?.into_iter().find(|l| l.id == id))
    }

    /// Enables or disables an account; disabling also ends its sessions.
    pub async fn set_librarian_disabled(&self, id: i64, disabled: bool) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE librarians SET disabled = $1 WHERE id = $2")
            .bind(disabled as i64)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        if disabled {
            self.end_sessions_of(id).await?;
        }
        Ok(())
    }

    pub async fn set_librarian_role(&self, id: i64, role: Role) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE librarians SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// A new librarian; `None` if the user name is taken.
    pub(super) async fn insert_librarian(&self, username: &str, password_hash: &str, role: Role, now: i64) -> Result<Option<i64>, DbError> {
        let sql = "INSERT INTO librarians (username, password_hash, role, lang, created_at, disabled) VALUES ($1, $2, $3, 'zh', $4, 0) ON CONFLICT (username) DO NOTHING RETURNING id";
        let row: Option<(i64,)> = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(username)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(now)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(id,)| id))
    }

    pub(super) async fn set_librarian_password(&self, id: i64, password_hash: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE librarians SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// A new session until `expires_at` (the token and the CSRF token as given; the token is
    /// stored hashed); sessions that ran out are dropped on the way.
    pub(super) async fn open_console_session(
        &self,
        token_hash: &str,
        librarian_id: i64,
        csrf: &str,
        lang: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        let sql =
            "INSERT INTO console_sessions (token_hash, librarian_id, csrf, lang, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
        with_pool!(self, |pool| sqlx::query(sql)
            .bind(token_hash)
            .bind(librarian_id)
            .bind(csrf)
            .bind(lang)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected());
        with_pool!(self, |pool| sqlx::query("DELETE FROM console_sessions WHERE expires_at < $1")
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}

/// The audit log.
impl Db {
    /// The newest audit entries first, optionally only those whose action starts with `prefix`.
    pub async fn audit_entries(&self, prefix: &str, limit: i64, offset: i64) -> Result<Vec<AuditEntry>, DbError> {
        let sql = "SELECT a.id, a.at, a.librarian_id, l.username, a.action, a.detail FROM audit_log a LEFT JOIN librarians l ON l.id = a.librarian_id \
                   WHERE substr(a.action, 1, length($1)) = $1 ORDER BY a.id DESC LIMIT $2 OFFSET $3";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, AuditEntry>(sql).bind(prefix).bind(limit).bind(offset).fetch_all(pool).await?))
    }

    pub(super) async fn insert_audit(&self, at: i64, librarian_id: Option<i64>, action: &str, detail: &str) -> Result<(), DbError> {
        let sql = "INSERT INTO audit_log (at, librarian_id, action, detail) VALUES ($1, $2, $3, $4)";
        with_pool!(self, |pool| sqlx::query(sql)
            .bind(at)
            .bind(librarian_id)
            .bind(action)
            .bind(detail)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}
