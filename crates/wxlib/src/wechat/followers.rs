//! Followers and the event log: who follows the account, since when, through which QR scene
//! (for attribution), and every inbound message or event by type and key (for analytics). Also
//! the customer-service window each interaction opens (reference §5): a message allows 5 sends
//! within 48 h; a menu click, follow or scan allows 3 within a minute.

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

/// How much earlier than 48 h a message window may end, so that a reader's every message need not
/// rewrite their follower row: a message refreshes an unused window only when it gains more than
/// this. Chat comes in bursts (a search, then another), and each rewrite dirties a page of the
/// followers table in the callback journal's commit (BENCHMARKS.md, run G). The window stays on
/// the safe side: it can only end early.
pub const WINDOW_REFRESH_SLACK_SECS: i64 = 120;

/// Whether a window of this length is refreshed lazily ([`super::store::OPEN_MESSAGE_WINDOW_CONFLICT`]); the
/// short event windows always are exact.
pub fn lazy_window(secs: i64) -> bool {
    secs >= MESSAGE_WINDOW_SECS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::store::{OPEN_MESSAGE_WINDOW_CONFLICT, OPEN_WINDOW_CONFLICT};

    #[test]
    fn the_lazy_refresh_uses_the_documented_slack() {
        // concat! needs a literal, so the SQL spells the slack out; keep the two in step.
        assert!(OPEN_MESSAGE_WINDOW_CONFLICT.contains(&format!("excluded.window_expires_at - {WINDOW_REFRESH_SLACK_SECS})")));
        assert!(OPEN_MESSAGE_WINDOW_CONFLICT.starts_with(OPEN_WINDOW_CONFLICT));
        assert!(lazy_window(MESSAGE_WINDOW_SECS) && !lazy_window(EVENT_WINDOW_SECS));
    }
}
