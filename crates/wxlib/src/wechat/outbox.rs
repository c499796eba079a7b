//! The customer-service outbox: answers that could not go back in the callback (the handler was
//! past the deadline) or that wxlib sends later (pushes). Rows persist, so a restart loses nothing;
//! each row has a unique key, so the same answer is never queued twice; a claim with a lease keeps
//! two nodes from sending the same row. Sends respect the reader's customer-service window:
//! outside it WeChat answers 45015/45047, so we do not try and record why instead — unless the
//! row carries a template message to fall back to (notices), which goes out instead. A row may
//! also carry only a template message ([`TEMPLATE_ONLY`], the due-date digest).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::api::{ApiError, WeChatApi};
use super::store::{OutboxRow, TEMPLATE_ONLY};
use crate::db::{Db, DbError, unix_now};
use crate::jobs::{Next, Pause, forever};
use crate::wechat::followers::WindowState;
use wechat::Reply;

const MAX_ATTEMPTS: i64 = 6;
/// How a template fallback was sent, as recorded with its row.
const WINDOW_CLOSED: &str = "as a template message (customer-service window closed)";

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

/// Where answers and pushes are queued: the outbox table, and the worker's wake-up. Cheap to
/// clone.
#[derive(Clone)]
pub struct Outbox {
    pub db: Db,
    pub wake: std::sync::Arc<Notify>,
}

impl Outbox {
    /// Queues a customer-service message and wakes the worker. `false` when the reply has no
    /// customer-service form or a message with this key was queued before.
    pub async fn push(&self, openid: &str, reply: &Reply, dedupe_key: &str) -> Result<bool, DbError> {
        self.push_or_template(openid, reply, None, dedupe_key).await
    }

    /// Queues a customer-service message, and the template message (a `message/template/send`
    /// body) that goes instead if the reader's window is closed when it is sent.
    pub async fn push_or_template(&self, openid: &str, reply: &Reply, template: Option<&Value>, dedupe_key: &str) -> Result<bool, DbError> {
        let Some(body) = custom_message(openid, reply) else { return Ok(false) };
        let queued = self.db.enqueue_outbox_with_fallback(openid, &body, template, dedupe_key, unix_now()).await?;
        self.wake.notify_one();
        Ok(queued)
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
        let pause = Pause::every(Duration::from_secs(1)).or_when(&self.wake);
        let worker = &self;
        forever("outbox delivery", pause, move || async move {
            Ok::<_, DbError>(if worker.deliver_due().await? == 0 { Next::Pause } else { Next::RightAway })
        })
        .await
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
        if row.payload == TEMPLATE_ONLY && row.fallback.is_some() {
            return self.deliver_template(&row, now, "as a template message").await;
        }
        match self.db.window_state(&row.openid, now).await? {
            WindowState::Open { .. } => {}
            _ if row.fallback.is_some() => return self.deliver_template(&row, now, WINDOW_CLOSED).await,
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
            // WeChat's own word that the window is closed: the template, if there is one.
            Err(ApiError::WeChat { errcode: 45015 | 45047, .. }) if row.fallback.is_some() => {
                self.deliver_template(&row, now, WINDOW_CLOSED).await
            }
            Err(e @ ApiError::WeChat { errcode: 45015 | 45047 | 43004 | 40003, .. }) => {
                metrics::counter!("wxlib_outbox_total", "outcome" => "expired").increment(1);
                self.db.finish_outbox(row.id, "expired", Some(&e.to_string()), now).await
            }
            Err(ApiError::Db(e)) => Err(e),
            Err(e) => self.failed(&row, &e, now).await,
        }
    }

    /// The row's template message: instead of the customer-service one (the window is closed), or
    /// the row's only message; `how` is recorded with the row.
    async fn deliver_template(&self, row: &OutboxRow, now: i64, how: &str) -> Result<(), DbError> {
        let body: Value = match row.fallback.as_deref().map(serde_json::from_str) {
            Some(Ok(v)) => v,
            _ => return self.db.finish_outbox(row.id, "failed", Some("unreadable template fallback"), now).await,
        };
        match self.api.send_template(&body).await {
            Ok(_) => {
                metrics::counter!("wxlib_outbox_total", "outcome" => "sent_template").increment(1);
                self.db.finish_outbox(row.id, "sent", Some(how), now).await
            }
            Err(e @ ApiError::WeChat { errcode: 43004 | 40003 | 40037 | 47003, .. }) => {
                tracing::warn!(id = row.id, error = %e, "outbox: template message refused");
                metrics::counter!("wxlib_outbox_total", "outcome" => "failed").increment(1);
                self.db.finish_outbox(row.id, "failed", Some(&e.to_string()), now).await
            }
            Err(ApiError::Db(e)) => Err(e),
            Err(e) => self.failed(row, &e, now).await,
        }
    }

    /// A send that may work later: retried with backoff, up to [`MAX_ATTEMPTS`].
    async fn failed(&self, row: &OutboxRow, e: &ApiError, now: i64) -> Result<(), DbError> {
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
