//! The consultation inbox: readers' questions to the librarians, and their answers.
//!
//! How a reader's message reaches a librarian without breaking catalog search (the routing):
//! 1. "人工", "咨询", "咨询馆员", "ask a librarian"… (exact words) or the menu item 咨询馆员 (key
//!    [`MENU_ASK`]) opens a consultation session; "咨询 &lt;question&gt;" opens it and asks at once.
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
pub mod store;

use crate::db::{Db, DbError};
use crate::wechat::followers::WindowState;

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
    if !s.db.has_consultation(openid).await? && s.db.follower(openid).await?.is_none() {
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
