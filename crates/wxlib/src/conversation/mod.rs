//! The conversation: which feature answers which message, in one place. [`router`] maps menu
//! keys, events and message types to their handlers (the callback is handed it as a value);
//! a text goes through [`text`]'s ordered list of responders; [`scenes`] routes the parametric
//! QR codes by prefix. Features expose handlers and responders; only this module and `startup`
//! put them together.

pub mod scenes;
pub mod text;

use std::sync::Arc;

use wechat::{Inbound, InboundKind, Reply};

use crate::lang::{help, welcome};
use crate::services::Services;
use crate::wechat::router::{Handler, HandlerError, HandlerFuture, Router, handler};

pub use text::TextPattern;

/// The welcome, with part 1 of the freshman guide when the guide series is on.
async fn welcome_handler(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let mut text = welcome(s.lang).to_owned();
    if let Some(part) = crate::news::pages::on_follow(&s, &m.from_user).await? {
        text.push_str("\n\n");
        text.push_str(&part);
    }
    Ok(Reply::text(text))
}

async fn help_handler(s: Services, _m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    Ok(Reply::text(help(s.lang)))
}

/// The account's conversation.
pub fn router() -> Router<Services> {
    Conversation::default().router()
}

/// The account's conversation, with words of a caller's own answered like the fixed words
/// (tests add a slow one).
#[derive(Default)]
pub struct Conversation {
    words: Vec<Word>,
}

/// A caller's word and its handler.
type Word = (TextPattern, Handler<Services>);

impl Conversation {
    /// A text matching `pattern` is answered by `h`, after the account's fixed words and before
    /// every other responder.
    pub fn on_text(mut self, pattern: TextPattern, h: Handler<Services>) -> Self {
        self.words.push((pattern, h));
        self
    }

    /// Menu keys, events and message types, each to its handler; texts to [`text::respond`].
    pub fn router(self) -> Router<Services> {
        use crate::catalog::SearchField;
        use crate::catalog::chat as opac;
        use crate::circulation::chat as loans;
        let words: Option<Arc<[Word]>> = (!self.words.is_empty()).then(|| self.words.into());
        Router::new(handler(help_handler))
            .on_event("subscribe", handler(|s, m| scenes::on_subscribe(s, m, welcome_handler)))
            .on_event("SCAN", handler(scenes::on_scan))
            .on_menu_key(opac::MENU_SEARCH_TITLE, handler(|s, m| opac::enter_mode(s, m, SearchField::Title)))
            .on_menu_key(opac::MENU_SEARCH_AUTHOR, handler(|s, m| opac::enter_mode(s, m, SearchField::Author)))
            .on_menu_key(opac::MENU_SEARCH_SUBJECT, handler(|s, m| opac::enter_mode(s, m, SearchField::Subject)))
            .on_menu_key(opac::MENU_SEARCH_ANY, handler(|s, m| opac::enter_mode(s, m, SearchField::Any)))
            .on_menu_key(loans::MENU_BIND, handler(loans::bind_link))
            .on_menu_key(loans::MENU_UNBIND, handler(loans::unbind_ask))
            .on_menu_key(loans::MENU_LOANS, handler(loans::loans))
            .on_menu_key(loans::MENU_RENEW, handler(loans::renew_all))
            .on_menu_key(loans::MENU_HOT, handler(loans::hot))
            .on_menu_key(loans::MENU_HOLDS, handler(loans::holds))
            .on_event("unsubscribe", handler(loans::on_unsubscribe))
            .on_event("MASSSENDJOBFINISH", handler(crate::broadcasts::on_job_finish))
            .on_menu_key(crate::menu::MENU_NEW_BOOKS, handler(crate::news::new_resources))
            .on_menu_key(crate::menu::MENU_ABOUT, handler(crate::news::about))
            .on_menu_key(crate::menu::MENU_HOURS, handler(crate::news::hours_today))
            .on_menu_key(crate::menu::MENU_GUIDE, handler(crate::news::guide))
            .on_menu_key(crate::menu::MENU_ACTIVITIES, handler(crate::activities::chat::notice))
            .on_menu_key(crate::consultation::MENU_ASK, handler(crate::consultation::chat::ask))
            .on_msg_type("image", handler(crate::consultation::chat::media))
            .on_msg_type("voice", handler(crate::consultation::chat::media))
            .on_msg_type("video", handler(crate::consultation::chat::media))
            .on_msg_type("shortvideo", handler(crate::consultation::chat::media))
            .on_msg_type("location", handler(crate::consultation::chat::media))
            .on_msg_type("link", handler(crate::consultation::chat::media))
            .on_msg_type("text", Arc::new(move |s, m| answer_text(s, m, words.as_deref())))
    }
}

/// A text: a fixed word is answered by its own small handler; every other text goes down the
/// list of responders (whose future, which can search the catalog, is far bigger).
fn answer_text(s: Services, m: Arc<Inbound>, words: Option<&[Word]>) -> HandlerFuture {
    let InboundKind::Text { content } = &m.kind else { return Box::pin(async { Ok(Reply::Success) }) };
    if let Some(word) = text::fixed_word(content) {
        return Box::pin(text::answer_word(s, m, word));
    }
    if let Some((_, h)) = words.and_then(|w| w.iter().find(|(p, _)| p.matches(content))) {
        return h(s, m);
    }
    Box::pin(text::respond(s, m))
}
