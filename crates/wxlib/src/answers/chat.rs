//! The keyword answers in chat: a text a librarian's rule matches gets the rule's answer.

use crate::services::Services;
use crate::wechat::router::Responded;

/// The answer of the highest-priority rule that matches the text, if any rule does.
pub async fn on_text(s: &Services, text: &str) -> Responded {
    Ok(s.answers.answer(&s.db, text).await?.map(|rule| rule.answer.reply()))
}
