//! What the account answers to a reader's text, top to bottom:
//!
//! 1. a fixed word ([`fixed_word`]: today's, tomorrow's or a day's opening hours, the help);
//! 2. the first of [`TEXT_RESPONDERS`] that takes the text — each says `Some(reply)` (its
//!    text) or `None` (the next one's), in one return shape ([`Responded`]);
//! 3. and a text nobody took searches the catalog (any word, or the field the reader chose from
//!    the menu), with the partner libraries' holdings when ours has nothing.
//!
//! A text is searched once: the question check searches the catalog to see whether it can
//! answer, and hands what it found on to the catalog's answer.

use std::sync::Arc;

use wechat::{Inbound, InboundKind, Reply};

use crate::catalog::Found;
use crate::lang::help;
use crate::news;
use crate::services::Services;
use crate::wechat::router::{HandlerError, Responded};

/// A fixed word a caller registers ([`super::Conversation::on_text`]): matched against the
/// trimmed text.
#[derive(Debug, Clone)]
pub enum TextPattern {
    /// The whole text, ignoring ASCII case.
    Exact(String),
    Prefix(String),
    Contains(String),
}

impl TextPattern {
    pub fn matches(&self, text: &str) -> bool {
        let t = text.trim();
        match self {
            TextPattern::Exact(p) => t.eq_ignore_ascii_case(p),
            TextPattern::Prefix(p) => t.starts_with(p.as_str()),
            TextPattern::Contains(p) => t.contains(p.as_str()),
        }
    }
}

/// The account's fixed words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// [`news::HOURS_TODAY_WORDS`]
    HoursToday,
    /// [`news::HOURS_TOMORROW_WORDS`]
    HoursTomorrow,
    /// A day after one of [`news::HOURS_DATE_PREFIXES`] ("开放时间 10-01").
    HoursOnDay,
    /// "帮助", "help".
    Help,
}

/// The fixed word a text is, if it is one; tried in this order (whole words ignore ASCII case;
/// prefixes start the trimmed text).
pub fn fixed_word(text: &str) -> Option<Word> {
    let t = text.trim();
    if news::HOURS_TODAY_WORDS.iter().any(|w| t.eq_ignore_ascii_case(w)) {
        Some(Word::HoursToday)
    } else if news::HOURS_TOMORROW_WORDS.iter().any(|w| t.eq_ignore_ascii_case(w)) {
        Some(Word::HoursTomorrow)
    } else if news::HOURS_DATE_PREFIXES.iter().any(|p| t.starts_with(p)) {
        Some(Word::HoursOnDay)
    } else if ["帮助", "help"].iter().any(|w| t.eq_ignore_ascii_case(w)) {
        Some(Word::Help)
    } else {
        None
    }
}

pub async fn answer_word(s: Services, m: Arc<Inbound>, word: Word) -> Result<Reply, HandlerError> {
    match word {
        Word::HoursToday => news::hours_today(s, m).await,
        Word::HoursTomorrow => news::hours_tomorrow(s, m).await,
        Word::HoursOnDay => news::hours_on_day(s, m).await,
        Word::Help => Ok(Reply::text(help(s.lang))),
    }
}

/// The responders a text is offered to, in this order, before the catalog search.
pub const TEXT_RESPONDERS: &[TextResponder] = &[
    TextResponder::Consultation,
    TextResponder::Borrowing,
    TextResponder::Activities,
    TextResponder::Referral,
    TextResponder::OtherLibraries,
    TextResponder::ConsultationWords,
    TextResponder::KeywordAnswers,
    TextResponder::Questions,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextResponder {
    /// A reader in a consultation: everything goes to the librarians ("结束" ends it).
    Consultation,
    /// 借阅, 续借 2, 续借全部, 预约, 我的预约, 取消预约 1, 热门, 绑定, 解绑… ([`crate::circulation::chat`]).
    Borrowing,
    /// 活动, 我的活动, 报名 3, 取消报名 3 ([`crate::activities::chat`]).
    Activities,
    /// 推荐码: the reader's referral code ([`crate::reach`]).
    Referral,
    /// 其他馆: the last search, asked of the partner libraries ([`crate::partners::chat`]).
    OtherLibraries,
    /// 人工, 咨询 &lt;question&gt;: opens a consultation; 结束 outside one says there is none.
    ConsultationWords,
    /// The librarians' keyword rules ([`crate::answers`]).
    KeywordAnswers,
    /// A question the catalog has nothing for goes to the librarians' inbox.
    Questions,
}

impl TextResponder {
    /// Whether this responder takes the text, and its answer. `searched` is what the catalog
    /// found for the text so far (the question check fills it).
    async fn respond(self, s: &Services, m: &Arc<Inbound>, text: &str, searched: &mut Option<Found>) -> Responded {
        match self {
            TextResponder::Consultation => crate::consultation::chat::in_session(s, m).await,
            TextResponder::Borrowing => crate::circulation::chat::on_text(s, m, text).await,
            TextResponder::Activities => crate::activities::chat::on_text(s, m, text).await,
            TextResponder::Referral => crate::reach::on_text(s, m, text).await,
            TextResponder::OtherLibraries => crate::partners::chat::on_text(s, m, text).await,
            TextResponder::ConsultationWords => crate::consultation::chat::on_text(s, m, text).await,
            TextResponder::KeywordAnswers => crate::answers::chat::on_text(s, text).await,
            TextResponder::Questions => crate::consultation::chat::on_question(s, m, text, searched).await,
        }
    }
}

/// A text that is not a fixed word: the first responder that takes it answers, else the catalog.
pub async fn respond(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let InboundKind::Text { content } = &m.kind else { return Ok(Reply::Success) };
    let mut searched = None;
    for responder in TEXT_RESPONDERS {
        if let Some(reply) = responder.respond(&s, &m, content, &mut searched).await? {
            return Ok(reply);
        }
    }
    let answer = crate::catalog::chat::on_text(&s, &m, content, searched).await?;
    Ok(crate::partners::chat::with_partner_libraries(&s, answer).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_words_in_the_order_they_are_tried() {
        assert_eq!(fixed_word(" 开放时间 "), Some(Word::HoursToday), "the whole word before the prefix");
        assert_eq!(fixed_word("开放时间 10-01"), Some(Word::HoursOnDay));
        assert_eq!(fixed_word("Hours 2026-10-01"), Some(Word::HoursOnDay));
        assert_eq!(fixed_word("TOMORROW"), Some(Word::HoursTomorrow));
        assert_eq!(fixed_word("Help"), Some(Word::Help));
        assert_eq!(fixed_word("帮助"), Some(Word::Help));
        assert_eq!(fixed_word("三体"), None);
        assert_eq!(fixed_word("helpful"), None);
    }
}
