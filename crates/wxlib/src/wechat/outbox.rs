//! The customer-service outbox: answers that could not go back in the callback (the handler was
//! past the deadline) or that wxlib sends later (pushes). Rows persist, so a restart loses nothing;
//! each row has a unique key, so the same answer is never queued twice; a claim with a lease keeps
//! two nodes from sending the same row. Sends respect the reader's customer-service window:
//! outside it WeChat answers 45015/45047, so we do not try and record why instead.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::api::{ApiError, WeChatApi};
use crate::db::{Db, DbError, unix_now};
use crate::followers::WindowState;
use crate::with_pool;
use wechat::Reply;

const MAX_ATTEMPTS: i64 = 6;
const CLAIM_SECS: i64 = 30;

/// The customer-service message body for a reply, or `None` for replies that have no
/// customer-service form (`success`, transfer to customer service).
pub fn custom_message(openid: &str, reply: &Reply) -> Option<Value> {
    let v = match reply {
        Reply::Success | Reply::TransferCustomerService { .. } => return None,
        Reply::Text { content } => json!({"touser": openid, "msgtype": "text", "text": {"content": content}}),
        Reply::Image { media_id } => json!({"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}),
        Reply::Voice { media_id } => json!({"touser": openid, "msgtype": "voice", "voice": {"media_id": media_id}}),
        Reply::Video { media_id, title, description } => {
            json!({"touser": openid, "msgtype": "video", "video": {"media_id": media_id, "title": title, "description": description}})
        }
        Reply::Music { title, description, music_url, hq_music_url, thumb_media_id } => json!({
            "touser": openid, "msgtype": "music",
            "music": {"title": title, "description": description, "musicurl": music_url, "hqmusicurl": hq_music_url, "thumb_media_id": thumb_media_id}
        }),
        // Customer-service news carries one external-link article.
        Reply::News { articles } => {
            let a = articles.first()?;
            json!({"touser": openid, "msgtype": "news", "news": {"articles": [{"title": a.title, "description": a.description, "url": a.url, "picurl": a.pic_url}]}})
        }
    };
    Some(v)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub openid: String,
    pub payload: String,
    pub dedupe_key: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

impl Db {
    /// Queues a message; returns false if one with this key was already queued.
    pub async fn enqueue_outbox(&self, openid: &str, payload: &Value, dedupe_key: &str, now: i64) -> Result<bool, DbError> {
        let sql = "INSERT INTO outbox (openid, payload, dedupe_key, status, next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', $4, $4) \
                   ON CONFLICT (dedupe_key) DO NOTHING";
        let n = with_pool!(self, |pool| sqlx::query(sql)
            .bind(openid)
            .bind(payload.to_string())
            .bind(dedupe_key)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Claims up to `limit` due rows for this node for [`CLAIM_SECS`].
    async fn claim_outbox(&self, now: i64, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
        let due = "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 AND claimed_until < $1 ORDER BY id LIMIT $2";
        let ids: Vec<(i64,)> = with_pool!(self, |pool| sqlx::query_as(due).bind(now).bind(limit).fetch_all(pool).await?);
        let mut claimed = Vec::new();
        for (id,) in ids {
            let sql = "UPDATE outbox SET claimed_until = $2 WHERE id = $1 AND status = 'pending' AND claimed_until < $3 \
                       RETURNING id, openid, payload, dedupe_key, status, attempts, last_error";
            let row: Option<OutboxRow> =
                with_pool!(self, |pool| sqlx::query_as(sql).bind(id).bind(now + CLAIM_SECS).bind(now).fetch_optional(pool).await?);
            claimed.extend(row);
        }
        Ok(claimed)
    }

    async fn finish_outbox(&self, id: i64, status: &str, error: Option<&str>, now: i64) -> Result<(), DbError> {
        let sql = "UPDATE outbox SET status = $2, last_error = $3, sent_at = CASE WHEN $2 = 'sent' THEN $4 ELSE sent_at END, claimed_until = 0 WHERE id = $1";
        with_pool!(self, |pool| sqlx::query(sql).bind(id).bind(status).bind(error).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// A message went out: its row becomes `sent` and the reader's window counts it, in one
    /// transaction, so nobody reading the window (the consultation inbox shows "sends left" as
    /// the window's remaining count minus what is still pending) sees it counted twice.
    async fn mark_outbox_sent(&self, id: i64, openid: &str, now: i64) -> Result<(), DbError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE followers SET window_sent = window_sent + 1 WHERE openid = $1").bind(openid).execute(&mut *tx).await?;
            sqlx::query("UPDATE outbox SET status = 'sent', last_error = NULL, sent_at = $2, claimed_until = 0 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    async fn retry_outbox(&self, id: i64, attempts: i64, error: &str, next_at: i64) -> Result<(), DbError> {
        let sql = "UPDATE outbox SET attempts = $2, last_error = $3, next_attempt_at = $4, claimed_until = 0 WHERE id = $1";
        with_pool!(self, |pool| sqlx::query(sql).bind(id).bind(attempts).bind(error).bind(next_at).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn outbox_rows(&self) -> Result<Vec<OutboxRow>, DbError> {
        let sql = "SELECT id, openid, payload, dedupe_key, status, attempts, last_error FROM outbox ORDER BY id";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?))
    }
}

/// Delivers queued messages. Woken on every enqueue, and polls once a second for retries.
pub struct OutboxWorker {
    pub db: Db,
    pub api: WeChatApi,
    pub wake: std::sync::Arc<Notify>,
}

impl OutboxWorker {
    pub async fn run(self) {
        loop {
            match self.deliver_due().await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(e) => tracing::error!(error = %e, "outbox: database error"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// One pass; returns how many rows it handled.
    pub async fn deliver_due(&self) -> Result<usize, DbError> {
        let now = unix_now();
        let rows = self.db.claim_outbox(now, 20).await?;
        let n = rows.len();
        for row in rows {
            self.deliver(row).await?;
        }
        Ok(n)
    }

    async fn deliver(&self, row: OutboxRow) -> Result<(), DbError> {
        let now = unix_now();
        match self.db.window_state(&row.openid, now).await? {
            WindowState::Open { .. } => {}
            closed => {
                let why = match closed {
                    WindowState::Exhausted => "customer-service send count for this window is used up (45047)",
                    _ => "outside the reader's 48-hour customer-service window or unsubscribed (45015)",
                };
                tracing::warn!(id = row.id, openid = %row.openid, why, "outbox: not sent");
                metrics::counter!("wxlib_outbox_total", "outcome" => "expired").increment(1);
                return self.db.finish_outbox(row.id, "expired", Some(why), now).await;
            }
        }
        let payload: Value = match serde_json::from_str(&row.payload) {
            Ok(v) => v,
            Err(e) => return self.db.finish_outbox(row.id, "failed", Some(&format!("unreadable payload: {e}")), now).await,
        };
        match self.api.send_custom_message(&payload).await {
            Ok(()) => {
                metrics::counter!("wxlib_outbox_total", "outcome" => "sent").increment(1);
                self.db.mark_outbox_sent(row.id, &row.openid, now).await
            }
            Err(e @ ApiError::WeChat { errcode: 45015 | 45047 | 43004 | 40003, .. }) => {
                metrics::counter!("wxlib_outbox_total", "outcome" => "expired").increment(1);
                self.db.finish_outbox(row.id, "expired", Some(&e.to_string()), now).await
            }
            Err(ApiError::Db(e)) => Err(e),
            Err(e) => {
                let attempts = row.attempts + 1;
                tracing::warn!(id = row.id, attempts, error = %e, "outbox: send failed");
                if attempts >= MAX_ATTEMPTS {
                    metrics::counter!("wxlib_outbox_total", "outcome" => "failed").increment(1);
                    self.db.finish_outbox(row.id, "failed", Some(&e.to_string()), now).await
                } else {
                    let backoff = 2i64.pow(attempts as u32).min(60);
                    self.db.retry_outbox(row.id, attempts, &e.to_string(), now + backoff).await
                }
            }
        }
    }
}
