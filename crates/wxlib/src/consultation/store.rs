//! The consultation inbox's tables: messages either way, the readers' open sessions, the
//! librarians' canned answers; and what the inbox shows beside a conversation.

use super::{CannedAnswer, ConsultMessage, Conversation, OutboundAnswer, ReaderContext};
use crate::db::{Db, DbError};
use crate::with_pool;

impl Db {
    /// Stores what a reader sent to the librarians. `source_key` is the callback's key: a second
    /// store of the same message does nothing. Returns whether it was new.
    pub async fn store_inbound(
        &self,
        openid: &str,
        msg_type: &str,
        content: &str,
        media_id: Option<&str>,
        source_key: &str,
        at: i64,
    ) -> Result<bool, DbError> {
        let sql = "INSERT INTO consult_messages (openid, direction, msg_type, content, media_id, source_key, status, created_at) \
                   VALUES ($1, 'in', $2, $3, $4, $5, 'unread', $6) ON CONFLICT (source_key) DO NOTHING";
        let n = with_pool!(self, |pool| sqlx::query(sql)
            .bind(openid)
            .bind(msg_type)
            .bind(content)
            .bind(media_id)
            .bind(source_key)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Stores a librarian's answer. `key` makes a resubmitted form a no-op (returns `None`).
    pub async fn store_outbound(&self, a: &OutboundAnswer<'_>, status: &str, key: &str, at: i64) -> Result<Option<i64>, DbError> {
        let OutboundAnswer { openid, text: content, librarian_id, librarian } = *a;
        let sql = "INSERT INTO consult_messages (openid, direction, msg_type, content, source_key, librarian_id, librarian, status, outbox_key, created_at) \
                   VALUES ($1, 'out', 'text', $2, $3, $4, $5, $6, $3, $7) ON CONFLICT (source_key) DO NOTHING RETURNING id";
        let row: Option<(i64,)> = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(openid)
            .bind(content)
            .bind(key)
            .bind(librarian_id)
            .bind(librarian)
            .bind(status)
            .bind(at)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(id,)| id))
    }

    /// A reader's consultation, oldest first (the last `limit` messages).
    pub async fn consultation(&self, openid: &str, limit: i64) -> Result<Vec<ConsultMessage>, DbError> {
        let sql = "SELECT * FROM (SELECT m.id, m.openid, m.direction, m.msg_type, m.content, m.media_id, m.librarian, m.status, m.created_at, \
                   o.status AS delivery, o.last_error AS delivery_error FROM consult_messages m LEFT JOIN outbox o ON o.dedupe_key = m.outbox_key \
                   WHERE m.openid = $1 ORDER BY m.id DESC LIMIT $2) t ORDER BY id";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, ConsultMessage>(sql).bind(openid).bind(limit).fetch_all(pool).await?))
    }

    /// Conversations, the most recent first, with their unread counts.
    pub async fn conversations(&self, limit: i64) -> Result<Vec<Conversation>, DbError> {
        let sql = "SELECT g.openid, g.unread, m.created_at AS last_at, m.direction AS last_direction, m.msg_type AS last_type, m.content AS last_content, \
                   f.window_expires_at, f.window_quota - f.window_sent AS window_left, f.subscribed \
                   FROM (SELECT openid, MAX(id) AS last_id, CAST(SUM(CASE WHEN direction = 'in' AND status = 'unread' THEN 1 ELSE 0 END) AS BIGINT) AS unread \
                         FROM consult_messages GROUP BY openid) g JOIN consult_messages m ON m.id = g.last_id \
                   LEFT JOIN followers f ON f.openid = g.openid \
                   ORDER BY g.unread > 0 DESC, g.last_id DESC LIMIT $1";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Conversation>(sql).bind(limit).fetch_all(pool).await?))
    }

    /// Unread messages over all readers (the console's badge).
    pub async fn unread_consultations(&self) -> Result<i64, DbError> {
        let (n,): (i64,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM consult_messages WHERE direction = 'in' AND status = 'unread'")
                .fetch_one(pool)
                .await?);
        Ok(n)
    }

    pub async fn mark_consultation_read(&self, openid: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query(
            "UPDATE consult_messages SET status = 'read' WHERE openid = $1 AND direction = 'in' AND status = 'unread'"
        )
        .bind(openid)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Binding, follow, last searches and the customer-service window of a reader.
    pub async fn reader_context(&self, openid: &str, now: i64) -> Result<ReaderContext, DbError> {
        let card: Option<(String,)> = with_pool!(self, |pool| sqlx::query_as("SELECT card FROM bindings WHERE openid = $1")
            .bind(openid)
            .fetch_optional(pool)
            .await?);
        let follower = self.follower(openid).await?;
        let searches: Vec<(String, String, i64, i64)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT field, query, hits, created_at FROM search_log WHERE openid = $1 ORDER BY id DESC LIMIT 5")
                .bind(openid)
                .fetch_all(pool)
                .await?
        });
        let (pending,): (i64,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE openid = $1 AND status = 'pending'")
                .bind(openid)
                .fetch_one(pool)
                .await?);
        Ok(ReaderContext {
            card: card.map(|(c,)| c),
            subscribed: follower.as_ref().is_some_and(|f| f.subscribed == 1),
            followed_since: follower.as_ref().and_then(|f| f.subscribed_at),
            searches,
            window: self.window_state(openid, now).await?,
            pending,
        })
    }

    /// Opens or extends a reader's consultation session until `until`.
    pub async fn open_consult_session(&self, openid: &str, now: i64, until: i64) -> Result<(), DbError> {
        let sql = "INSERT INTO consult_sessions (openid, opened_at, open_until, acked_at) VALUES ($1, $2, $3, 0) \
                   ON CONFLICT (openid) DO UPDATE SET open_until = $3, \
                   opened_at = CASE WHEN consult_sessions.open_until > $2 THEN consult_sessions.opened_at ELSE $2 END, \
                   acked_at = CASE WHEN consult_sessions.open_until > $2 THEN consult_sessions.acked_at ELSE 0 END";
        with_pool!(self, |pool| sqlx::query(sql).bind(openid).bind(now).bind(until).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The session's last acknowledgement time, if the reader is in an open session.
    pub async fn consult_session(&self, openid: &str, now: i64) -> Result<Option<i64>, DbError> {
        const SQL: &str = "SELECT acked_at FROM consult_sessions WHERE openid = $1 AND open_until > $2";
        // Every text asks this: read on the calling thread when SQLite allows (crate::db::here).
        if let Some(row) = self.read_row_here(SQL, &[openid.into(), now.into()], |r| r.get::<_, i64>(0)) {
            return row;
        }
        let row: Option<(i64,)> = with_pool!(self, |pool| sqlx::query_as(SQL).bind(openid).bind(now).fetch_optional(pool).await?);
        Ok(row.map(|(a,)| a))
    }

    pub async fn ack_consult_session(&self, openid: &str, at: i64) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE consult_sessions SET acked_at = $2 WHERE openid = $1")
            .bind(openid)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn close_consult_session(&self, openid: &str) -> Result<bool, DbError> {
        let n = with_pool!(self, |pool| sqlx::query("DELETE FROM consult_sessions WHERE openid = $1")
            .bind(openid)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    pub async fn canned_answers(&self) -> Result<Vec<CannedAnswer>, DbError> {
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, CannedAnswer>("SELECT id, title, body FROM canned_answers ORDER BY title, id")
            .fetch_all(pool)
            .await?))
    }

    pub async fn insert_canned_answer(&self, title: &str, body: &str, now: i64) -> Result<i64, DbError> {
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(
            "INSERT INTO canned_answers (title, body, created_at) VALUES ($1, $2, $3) RETURNING id"
        )
        .bind(title)
        .bind(body)
        .bind(now)
        .fetch_one(pool)
        .await?);
        Ok(id)
    }

    pub async fn delete_canned_answer(&self, id: i64) -> Result<bool, DbError> {
        let n =
            with_pool!(self, |pool| sqlx::query("DELETE FROM canned_answers WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Whether the reader ever wrote to the librarians (or was answered).
    pub async fn has_consultation(&self, openid: &str) -> Result<bool, DbError> {
        let row: Option<(i64,)> = with_pool!(self, |pool| sqlx::query_as("SELECT id FROM consult_messages WHERE openid = $1 LIMIT 1")
            .bind(openid)
            .fetch_optional(pool)
            .await?);
        Ok(row.is_some())
    }
}
