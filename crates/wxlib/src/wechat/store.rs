//! The front door's tables: followers and the event log (with the customer-service windows),
//! the outbox, and WeChat's access token shared by every node. The callback journal's own
//! tables are written by the journal ([`super::journal`]).

use serde_json::Value;

use super::followers::{Follower, LoggedEvent, WindowState};
use crate::db::{Db, DbError};
use crate::with_pool;

/// A follow; binds (openid, at, scene). Shared with the callback journal.
pub const SUBSCRIBE_SQL: &str = "INSERT INTO followers (openid, subscribed, first_subscribed_at, subscribed_at, first_scene, last_scene) \
    VALUES ($1, 1, $2, $2, $3, $3) \
    ON CONFLICT (openid) DO UPDATE SET subscribed = 1, subscribed_at = $2, unsubscribed_at = NULL, \
    last_scene = COALESCE($3, followers.last_scene), \
    first_scene = COALESCE(followers.first_scene, $3), \
    first_subscribed_at = COALESCE(followers.first_subscribed_at, $2)";

/// An unfollow; binds (openid, at).
pub const UNSUBSCRIBE_SQL: &str = "INSERT INTO followers (openid, subscribed, unsubscribed_at) VALUES ($1, 0, $2) \
    ON CONFLICT (openid) DO UPDATE SET subscribed = 0, unsubscribed_at = $2, window_expires_at = 0";

/// Opening customer-service windows, for one or many rows (`VALUES (openid, 1, expires, quota, 0), …`):
/// the window that lasts longer wins; a new, longer window resets the send count. A window that
/// would not change is not written (the `WHERE`), so its page stays clean.
pub const OPEN_WINDOW_INSERT: &str = "INSERT INTO followers (openid, subscribed, window_expires_at, window_quota, window_sent) ";
macro_rules! open_window_conflict {
    ($($extra:literal)?) => {
        concat!(
            " ON CONFLICT (openid) DO UPDATE SET \
            window_quota = CASE WHEN followers.window_expires_at > excluded.window_expires_at THEN followers.window_quota ELSE excluded.window_quota END, \
            window_sent = CASE WHEN followers.window_expires_at > excluded.window_expires_at THEN followers.window_sent ELSE 0 END, \
            window_expires_at = CASE WHEN followers.window_expires_at > excluded.window_expires_at THEN followers.window_expires_at ELSE excluded.window_expires_at END \
            WHERE followers.window_expires_at <= excluded.window_expires_at",
            $($extra)?
        )
    };
}
pub const OPEN_WINDOW_CONFLICT: &str = open_window_conflict!();

/// [`OPEN_WINDOW_CONFLICT`] for message windows (48 h): also skips a refresh that gains at most
/// [`super::followers::WINDOW_REFRESH_SLACK_SECS`] of a window with no sends counted yet and the same quota. A window
/// with sends counted is always refreshed (the new message resets the count).
pub const OPEN_MESSAGE_WINDOW_CONFLICT: &str = open_window_conflict!(
    " AND (followers.window_sent > 0 OR followers.window_quota <> excluded.window_quota \
     OR followers.window_expires_at < excluded.window_expires_at - 120)"
);

/// How long a node owns the outbox rows it claimed.
const CLAIM_SECS: i64 = 30;

/// Queues an outbox row: `($1 openid, $2 payload, $3 fallback, $4 dedupe_key, $5 now)`; nothing
/// when a row with the key exists. A domain that queues a message together with its own writes
/// (the due-date digest and the marks of what it reminds) binds it in its own transaction, so
/// that a node dying between the two can neither lose the message nor send it twice.
pub const ENQUEUE_OUTBOX_SQL: &str = "INSERT INTO outbox (openid, payload, fallback, dedupe_key, status, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT (dedupe_key) DO NOTHING";

/// The payload of a row that carries only a template message (its `fallback`), sent as one
/// whatever the reader's customer-service window.
pub const TEMPLATE_ONLY: &str = "";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub openid: String,
    pub payload: String,
    pub dedupe_key: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// The template message to send instead when the reader's customer-service window is closed.
    pub fallback: Option<String>,
}

impl Db {
    /// Queues a message; returns false if one with this key was already queued.
    pub async fn enqueue_outbox(&self, openid: &str, payload: &Value, dedupe_key: &str, now: i64) -> Result<bool, DbError> {
        self.enqueue_outbox_with_fallback(openid, payload, None, dedupe_key, now).await
    }

    /// Queues a message with the template message to send instead if the reader's
    /// customer-service window is closed; false if one with this key was already queued.
    pub async fn enqueue_outbox_with_fallback(
        &self,
        openid: &str,
        payload: &Value,
        fallback: Option<&Value>,
        dedupe_key: &str,
        now: i64,
    ) -> Result<bool, DbError> {
        let n = with_pool!(self, |pool| sqlx::query(ENQUEUE_OUTBOX_SQL)
            .bind(openid)
            .bind(payload.to_string())
            .bind(fallback.map(Value::to_string))
            .bind(dedupe_key)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// Claims up to `limit` due rows for this node for [`CLAIM_SECS`].
    pub(super) async fn claim_outbox(&self, now: i64, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
        let due = "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 AND claimed_until < $1 ORDER BY id LIMIT $2";
        let ids: Vec<(i64,)> = with_pool!(self, |pool| sqlx::query_as(due).bind(now).bind(limit).fetch_all(pool).await?);
        let mut claimed = Vec::new();
        for (id,) in ids {
            let sql = "UPDATE outbox SET claimed_until = $2 WHERE id = $1 AND status = 'pending' AND claimed_until < $3 \
                       RETURNING id, openid, payload, dedupe_key, status, attempts, last_error, fallback";
            let row: Option<OutboxRow> =
                with_pool!(self, |pool| sqlx::query_as(sql).bind(id).bind(now + CLAIM_SECS).bind(now).fetch_optional(pool).await?);
            claimed.extend(row);
        }
        Ok(claimed)
    }

    pub(super) async fn finish_outbox(&self, id: i64, status: &str, error: Option<&str>, now: i64) -> Result<(), DbError> {
        let sql = "UPDATE outbox SET status = $2, last_error = $3, sent_at = CASE WHEN $2 = 'sent' THEN $4 ELSE sent_at END, claimed_until = 0 WHERE id = $1";
        with_pool!(self, |pool| sqlx::query(sql).bind(id).bind(status).bind(error).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// A message went out: its row becomes `sent` and the reader's window counts it, in one
    /// transaction, so nobody reading the window (the consultation inbox shows "sends left" as
    /// the window's remaining count minus what is still pending) sees it counted twice.
    pub(super) async fn mark_outbox_sent(&self, id: i64, openid: &str, now: i64) -> Result<(), DbError> {
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

    pub(super) async fn retry_outbox(&self, id: i64, attempts: i64, error: &str, next_at: i64) -> Result<(), DbError> {
        let sql = "UPDATE outbox SET attempts = $2, last_error = $3, next_attempt_at = $4, claimed_until = 0 WHERE id = $1";
        with_pool!(self, |pool| sqlx::query(sql).bind(id).bind(attempts).bind(error).bind(next_at).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn outbox_rows(&self) -> Result<Vec<OutboxRow>, DbError> {
        let sql = "SELECT id, openid, payload, dedupe_key, status, attempts, last_error, fallback FROM outbox ORDER BY id";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?))
    }
}

impl Db {
    /// A follow: creates the follower or marks them subscribed again. The first scene is kept for
    /// attribution; the latest scene is recorded too.
    pub async fn record_subscribe(&self, openid: &str, scene: Option<&str>, at: i64) -> Result<(), DbError> {
        let sql = SUBSCRIBE_SQL;
        with_pool!(self, |pool| sqlx::query(sql).bind(openid).bind(at).bind(scene).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// An unfollow (WeChat can push it more than once; repeating is harmless).
    pub async fn record_unsubscribe(&self, openid: &str, at: i64) -> Result<(), DbError> {
        let sql = UNSUBSCRIBE_SQL;
        with_pool!(self, |pool| sqlx::query(sql).bind(openid).bind(at).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn follower(&self, openid: &str) -> Result<Option<Follower>, DbError> {
        let sql = "SELECT openid, subscribed, first_subscribed_at, subscribed_at, unsubscribed_at, first_scene, last_scene, \
                   window_expires_at, window_quota, window_sent FROM followers WHERE openid = $1";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Follower>(sql).bind(openid).fetch_optional(pool).await?))
    }

    pub async fn count_followers(&self) -> Result<i64, DbError> {
        let (n,): (i64,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM followers WHERE subscribed = 1").fetch_one(pool).await?);
        Ok(n)
    }

    pub async fn log_event(&self, e: &LoggedEvent<'_>, received_at: i64) -> Result<(), DbError> {
        let sql = "INSERT INTO event_log (openid, msg_type, event, event_key, created_at, received_at) VALUES ($1, $2, $3, $4, $5, $6)";
        with_pool!(self, |pool| sqlx::query(sql)
            .bind(e.openid)
            .bind(e.msg_type)
            .bind(e.event)
            .bind(e.event_key)
            .bind(e.created_at)
            .bind(received_at)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Events logged for one reader, oldest first: (msg_type, event, event_key).
    pub async fn events_of(&self, openid: &str) -> Result<Vec<(String, Option<String>, Option<String>)>, DbError> {
        let sql = "SELECT msg_type, event, event_key FROM event_log WHERE openid = $1 ORDER BY id";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(openid).fetch_all(pool).await?))
    }

    /// An interaction opens (or extends) the customer-service window. The follower row is created
    /// if WeChat never told us about the follow (accounts that existed before wxlib).
    pub async fn open_window(&self, openid: &str, now: i64, secs: i64, quota: i64) -> Result<(), DbError> {
        self.open_windows(&[(openid.to_owned(), now + secs, quota)]).await
    }

    /// Opens windows for many readers in one statement: (openid, expires_at, quota), each openid
    /// at most once.
    pub async fn open_windows(&self, rows: &[(String, i64, i64)]) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        with_pool!(self, |pool| {
            let mut qb = crate::db::builder(pool, OPEN_WINDOW_INSERT);
            qb.push_values(rows, |mut b, (openid, expires, quota)| {
                b.push_bind(openid.clone()).push_bind(1i64).push_bind(*expires).push_bind(*quota).push_bind(0i64);
            });
            qb.push(OPEN_WINDOW_CONFLICT);
            qb.build().execute(pool).await?.rows_affected()
        });
        Ok(())
    }

    pub async fn window_state(&self, openid: &str, now: i64) -> Result<WindowState, DbError> {
        Ok(match self.follower(openid).await? {
            None => WindowState::Closed,
            Some(f) if f.subscribed == 0 || f.window_expires_at <= now => WindowState::Closed,
            Some(f) if f.window_sent >= f.window_quota => WindowState::Exhausted,
            Some(f) => WindowState::Open { remaining: f.window_quota - f.window_sent, expires_at: f.window_expires_at },
        })
    }

    /// Counts one customer-service send against the window.
    pub async fn count_window_send(&self, openid: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE followers SET window_sent = window_sent + 1 WHERE openid = $1")
            .bind(openid)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}

impl Db {
    /// The access token every node shares, with its expiry: (token, expires_at).
    pub async fn api_token(&self, app_id: &str) -> Result<Option<(String, i64)>, DbError> {
        let sql = "SELECT access_token, expires_at FROM api_tokens WHERE app_id = $1";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(app_id).fetch_optional(pool).await?))
    }

    /// Stores a freshly fetched access token (the node holding the `access_token` lease does).
    pub async fn store_api_token(&self, app_id: &str, token: &str, expires_at: i64, now: i64) -> Result<(), DbError> {
        let sql = "INSERT INTO api_tokens (app_id, access_token, expires_at, refreshed_at) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (app_id) DO UPDATE SET access_token = $2, expires_at = $3, refreshed_at = $4";
        with_pool!(self, |pool| sqlx::query(sql).bind(app_id).bind(token).bind(expires_at).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }
}

impl Db {
    /// Followers who can receive a customer-service message now, and how many cannot.
    pub async fn followers_in_window(&self, now: i64) -> Result<(Vec<String>, i64), DbError> {
        const SQL: &str = "SELECT openid FROM followers \
            WHERE subscribed = 1 AND window_expires_at > $1 AND window_sent < window_quota ORDER BY openid";
        let open: Vec<(String,)> = with_pool!(self, |pool| sqlx::query_as(SQL).bind(now).fetch_all(pool).await?);
        let total = self.count_followers().await?;
        let n = open.len() as i64;
        Ok((open.into_iter().map(|(o,)| o).collect(), (total - n).max(0)))
    }
}

/// A late callback as the node that runs it again reads it ([`Db::take_orphaned_late`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LateCallback {
    pub dedupe_key: String,
    pub openid: String,
    /// The message's plain XML, as WeChat sent it (decrypted).
    pub message: String,
}

/// Callbacks whose handler ran past the deadline, kept until their answer is queued (the
/// `callback_late` table; `callback::rerun_orphans` runs them again when their node died).
impl Db {
    /// Keeps a late callback's message, leased by this node until `lease_until`.
    pub async fn keep_late(&self, key: &str, openid: &str, message: &str, lease_until: i64, now: i64) -> Result<(), DbError> {
        let sql = "INSERT INTO callback_late (dedupe_key, openid, message, lease_until, created_at) VALUES ($1, $2, $3, $4, $5) \
                   ON CONFLICT (dedupe_key) DO UPDATE SET lease_until = excluded.lease_until";
        with_pool!(self, |pool| sqlx::query(sql)
            .bind(key)
            .bind(openid)
            .bind(message)
            .bind(lease_until)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn renew_late(&self, key: &str, lease_until: i64) -> Result<(), DbError> {
        let sql = "UPDATE callback_late SET lease_until = $2 WHERE dedupe_key = $1";
        with_pool!(self, |pool| sqlx::query(sql).bind(key).bind(lease_until).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Takes over the oldest late callback whose lease ran out before `now` (its node died),
    /// leasing it to this node until `lease_until`. Every node asks every second, so asking is a
    /// read: only a candidate is written (on SQLite a write takes the store's one write lock).
    pub async fn take_orphaned_late(&self, now: i64, lease_until: i64) -> Result<Option<LateCallback>, DbError> {
        let find = "SELECT dedupe_key FROM callback_late WHERE lease_until < $1 ORDER BY created_at LIMIT 1";
        let Some((key,)): Option<(String,)> = with_pool!(self, |pool| sqlx::query_as(find).bind(now).fetch_optional(pool).await?) else {
            return Ok(None);
        };
        let take = "UPDATE callback_late SET lease_until = $3 WHERE dedupe_key = $1 AND lease_until < $2 \
                    RETURNING dedupe_key, openid, message";
        let taken: Vec<LateCallback> =
            with_pool!(self, |pool| sqlx::query_as(take).bind(&key).bind(now).bind(lease_until).fetch_all(pool).await?);
        Ok(taken.into_iter().next())
    }

    /// The late answer is queued: the message is not kept any longer.
    pub async fn drop_late(&self, key: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("DELETE FROM callback_late WHERE dedupe_key = $1")
            .bind(key)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// How many late callbacks are kept (the deadline tests read it).
    pub async fn late_callbacks(&self) -> Result<i64, DbError> {
        let n: (i64,) = with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM callback_late").fetch_one(pool).await?);
        Ok(n.0)
    }

    /// Whether an outbox message with this key was queued.
    pub async fn outbox_has(&self, key: &str) -> Result<bool, DbError> {
        let n: (i64,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE dedupe_key = $1").bind(key).fetch_one(pool).await?);
        Ok(n.0 > 0)
    }
}
