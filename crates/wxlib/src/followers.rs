//! Followers and the event log: who follows the account, since when, through which QR scene
//! (for attribution), and every inbound message or event by type and key (for analytics). Also
//! the customer-service window each interaction opens (reference §5): a message allows 5 sends
//! within 48 h; a menu click, follow or scan allows 3 within a minute.

use crate::db::{Db, DbError};
use crate::with_pool;

pub const MESSAGE_WINDOW_SECS: i64 = 48 * 3600;
pub const MESSAGE_WINDOW_QUOTA: i64 = 5;
pub const EVENT_WINDOW_SECS: i64 = 60;
pub const EVENT_WINDOW_QUOTA: i64 = 3;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Follower {
    pub openid: String,
    pub subscribed: i64,
    pub first_subscribed_at: Option<i64>,
    pub subscribed_at: Option<i64>,
    pub unsubscribed_at: Option<i64>,
    pub first_scene: Option<String>,
    pub last_scene: Option<String>,
    pub window_expires_at: i64,
    pub window_quota: i64,
    pub window_sent: i64,
}

/// One inbound message or event as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent<'a> {
    pub openid: &'a str,
    pub msg_type: &'a str,
    pub event: Option<&'a str>,
    pub event_key: Option<&'a str>,
    pub created_at: i64,
}

/// What the customer-service window allows right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowState {
    Open { remaining: i64, expires_at: i64 },
    Closed,
    Exhausted,
}

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

/// How much earlier than 48 h a message window may end, so that a reader's every message need not
/// rewrite their follower row: a message refreshes an unused window only when it gains more than
/// this. Chat comes in bursts (a search, then another), and each rewrite dirties a page of the
/// followers table in the callback journal's commit (BENCHMARKS.md, run G). The window stays on
/// the safe side: it can only end early.
pub const WINDOW_REFRESH_SLACK_SECS: i64 = 120;

/// [`OPEN_WINDOW_CONFLICT`] for message windows (48 h): also skips a refresh that gains at most
/// [`WINDOW_REFRESH_SLACK_SECS`] of a window with no sends counted yet and the same quota. A window
/// with sends counted is always refreshed (the new message resets the count).
pub const OPEN_MESSAGE_WINDOW_CONFLICT: &str = open_window_conflict!(
    " AND (followers.window_sent > 0 OR followers.window_quota <> excluded.window_quota \
     OR followers.window_expires_at < excluded.window_expires_at - 120)"
);

/// Whether a window of this length is refreshed lazily ([`OPEN_MESSAGE_WINDOW_CONFLICT`]); the
/// short event windows always are exact.
pub fn lazy_window(secs: i64) -> bool {
    secs >= MESSAGE_WINDOW_SECS
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lazy_refresh_uses_the_documented_slack() {
        // concat! needs a literal, so the SQL spells the slack out; keep the two in step.
        assert!(OPEN_MESSAGE_WINDOW_CONFLICT.contains(&format!("excluded.window_expires_at - {WINDOW_REFRESH_SLACK_SECS})")));
        assert!(OPEN_MESSAGE_WINDOW_CONFLICT.starts_with(OPEN_WINDOW_CONFLICT));
        assert!(lazy_window(MESSAGE_WINDOW_SECS) && !lazy_window(EVENT_WINDOW_SECS));
    }
}
