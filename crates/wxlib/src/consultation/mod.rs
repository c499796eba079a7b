//! The consultation inbox: readers' questions to the librarians, and their answers.
//!
//! How a reader's message reaches a librarian without breaking catalog search (the routing):
//! 1. "人工", "咨询", "咨询馆员", "ask a librarian"… (exact words) or the menu item 咨询馆员 (key
//!    [`MENU_ASK`]) opens a consultation session; "咨询 <question>" opens it and asks at once.
//!    For `consultation.session_minutes` after the reader's last message, everything they send
//!    (text, image, voice…) goes to the inbox; "结束" ends the session.
//! 2. Outside a session, borrowing commands come first, then the librarians' keyword rules
//!    ([`crate::answers`]).
//! 3. A text no rule answers that looks like a question (ends with ？/?, or has 请问, 怎么, 如何,
//!    为什么, 能否, 吗…) and finds nothing in the catalog goes to the inbox too.
//! 4. Anything else searches the catalog as before.
//!
//! Every message for the inbox is stored before the reader gets an answer, keyed by WeChat's
//! callback key so a retry never stores it twice: nothing is lost when no librarian is online.
//! A librarian's answer goes out as a customer-service message through the outbox (at most once,
//! and only inside the reader's 48-hour window and send count, which the console shows), and
//! reopens the reader's session so that their reply reaches the librarian too.

pub mod chat;
pub mod console;

use crate::db::{Db, DbError};
use crate::wechat::followers::WindowState;
use crate::with_pool;

/// The menu item "咨询馆员" (the console's menu editor offers it as a built-in action).
pub use crate::menu::MENU_ASK;

/// Message directions in the inbox.
pub const INBOUND: &str = "in";
pub const OUTBOUND: &str = "out";

/// One message of a consultation, either way.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConsultMessage {
    pub id: i64,
    pub openid: String,
    pub direction: String,
    pub msg_type: String,
    pub content: String,
    pub media_id: Option<String>,
    pub librarian: Option<String>,
    /// Inbound: `unread` / `read`. Outbound: `queued` (handed to the outbox) or `undeliverable`.
    pub status: String,
    pub created_at: i64,
    /// Outbound: the outbox row's state (`pending`, `sent`, `expired`, `failed`) and its error.
    pub delivery: Option<String>,
    pub delivery_error: Option<String>,
}

/// A reader's conversation in the inbox list.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Conversation {
    pub openid: String,
    pub unread: i64,
    pub last_at: i64,
    pub last_direction: String,
    pub last_type: String,
    pub last_content: String,
    /// The reader's customer-service window, as the follower row has it (ignores queued sends).
    pub window_expires_at: Option<i64>,
    pub window_left: Option<i64>,
    pub subscribed: Option<i64>,
}

impl Conversation {
    /// Seconds and sends left in the window at `now`, if it is open.
    pub fn window_open(&self, now: i64) -> Option<(i64, i64)> {
        match (self.window_expires_at, self.window_left, self.subscribed) {
            (Some(exp), Some(left), Some(1)) if exp > now && left > 0 => Some((exp - now, left)),
            _ => None,
        }
    }
}

/// What the librarian sees beside a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderContext {
    pub card: Option<String>,
    pub subscribed: bool,
    pub followed_since: Option<i64>,
    /// (field, query, hits, at), newest first.
    pub searches: Vec<(String, String, i64, i64)>,
    pub window: WindowState,
    /// Customer-service messages already queued for this reader and not yet sent.
    pub pending: i64,
}

impl ReaderContext {
    /// Sends still possible now: the window's remaining count minus what is queued.
    pub fn sends_left(&self) -> i64 {
        match self.window {
            WindowState::Open { remaining, .. } => (remaining - self.pending).max(0),
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CannedAnswer {
    pub id: i64,
    pub title: String,
    pub body: String,
}

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
}

/// A librarian's answer to a reader.
#[derive(Debug, Clone, Copy)]
pub struct OutboundAnswer<'a> {
    pub openid: &'a str,
    pub text: &'a str,
    pub librarian_id: i64,
    pub librarian: &'a str,
}

/// The demo's keyword rules and canned answers, so the console has something to show.
pub async fn seed_demo(db: &Db, now: i64) -> Result<(), DbError> {
    use crate::answers::RuleInput;
    let text_rule = |kind: &str, pattern: &str, priority: &str, answer: &str| RuleInput {
        match_kind: kind.into(),
        pattern: pattern.into(),
        priority: priority.into(),
        answer_kind: "text".into(),
        answer_text: answer.into(),
        enabled: Some("on".into()),
        ..Default::default()
    };
    for input in [
        text_rule("pattern", "(打印|复印|扫描)", "5", "自助打印复印机在一楼大厅和三楼东侧，刷校园卡付费：黑白 0.1 元/页，彩色 1 元/页。"),
        text_rule("contains", "wifi", "0", "馆内无线网络 SSID 为 CAMPUS，用统一身份认证账号登录。"),
        text_rule("contains", "借书证丢", "10", "借书证（校园卡）丢失请先在校园卡中心挂失，再带身份证到一楼总服务台补办。"),
    ] {
        if let Ok(rule) = input.validate() {
            db.insert_answer_rule(&rule, now).await?;
        }
    }
    for (title, body) in [
        ("补办借书证", "请带身份证到一楼总服务台补办，工本费 10 元。"),
        ("馆际互借", "馆际互借请登录图书馆主页“馆际互借”栏目提交申请，一般 3–5 个工作日到馆，到馆后会短信通知您。"),
    ] {
        db.insert_canned_answer(title, body, now).await?;
    }
    Ok(())
}

/// Why a librarian's answer was not sent.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("the answer is empty")]
    Empty,
    #[error("the answer is longer than WeChat allows (2000 bytes)")]
    TooLong,
    #[error("unknown reader")]
    UnknownReader,
    #[error("the reader's 48-hour customer-service window has closed")]
    WindowClosed,
    #[error("the customer-service send count of this window is used up")]
    CountUsedUp,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What became of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// Handed to the outbox (message id).
    Queued(i64),
    /// The same form was submitted before; nothing new was sent.
    Duplicate,
}

/// A librarian answers a reader: stored, then queued as a customer-service message if the window
/// allows. If it does not, the answer is stored as undeliverable and the error says why.
pub async fn answer_reader(
    s: &crate::services::Services,
    openid: &str,
    text: &str,
    librarian_id: i64,
    librarian: &str,
    form_key: &str,
) -> Result<AnswerOutcome, AnswerError> {
    let text = text.trim().replace("\r\n", "\n");
    if text.is_empty() {
        return Err(AnswerError::Empty);
    }
    if text.len() > crate::answers::MAX_TEXT_BYTES {
        return Err(AnswerError::TooLong);
    }
    let now = crate::db::unix_now();
    let known: Option<(i64,)> = with_pool!(&s.db, |pool| sqlx::query_as("SELECT id FROM consult_messages WHERE openid = $1 LIMIT 1")
        .bind(openid)
        .fetch_optional(pool)
        .await
        .map_err(DbError::from)?);
    if known.is_none() && s.db.follower(openid).await?.is_none() {
        return Err(AnswerError::UnknownReader);
    }
    let key = format!("consult-answer:{openid}:{form_key}");
    let ctx = s.db.reader_context(openid, now).await?;
    let refusal = match ctx.window {
        WindowState::Open { .. } if ctx.sends_left() > 0 => None,
        WindowState::Open { .. } | WindowState::Exhausted => Some(AnswerError::CountUsedUp),
        WindowState::Closed => Some(AnswerError::WindowClosed),
    };
    let answer = OutboundAnswer { openid, text: &text, librarian_id, librarian };
    if let Some(why) = refusal {
        s.db.store_outbound(&answer, "undeliverable", &key, now).await?;
        return Err(why);
    }
    let Some(id) = s.db.store_outbound(&answer, "queued", &key, now).await? else { return Ok(AnswerOutcome::Duplicate) };
    // The reader's reply to an answer is part of the conversation: (re)open their session, and
    // tell them how it works.
    let at = s.clock.now();
    s.db.open_consult_session(openid, at, at + s.config.consultation.session_minutes * 60).await?;
    s.db.ack_consult_session(openid, at).await?;
    let footer = match s.lang {
        crate::lang::Lang::Zh => "\n\n（直接回复可继续咨询馆员；回复“结束”结束咨询）",
        crate::lang::Lang::En => "\n\n(Reply to keep talking to the librarians; \"end\" to finish.)",
    };
    s.push(openid, &wechat::Reply::text(format!("{text}{footer}")), &key).await?;
    Ok(AnswerOutcome::Queued(id))
}
