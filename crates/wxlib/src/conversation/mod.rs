//! The conversation: which feature answers which message. [`router`] is the account's whole
//! conversation in one place — menu keys, events, message types, and the texts — and the
//! callback is handed it as a value. [`scenes`] routes the parametric QR codes by prefix.
//! Features expose handlers; only this module and `startup` put them together.

pub mod scenes;

use std::sync::Arc;

use wechat::{Inbound, Reply};

use crate::lang::{help, welcome};
use crate::news;
use crate::services::Services;
use crate::wechat::router::{HandlerError, Router, TextPattern, handler};

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

/// The account's router: menu keys, fixed words, and text that is not a command searches the
/// catalog (any word, or the field the reader chose from the menu).
pub fn router() -> Router<Services> {
    use crate::catalog::SearchField;
    use crate::catalog::chat as opac;
    use crate::circulation::chat as loans;
    on_hours_words(Router::new(handler(help_handler)))
        .on_event("subscribe", handler(|s, m| scenes::on_subscribe(s, m, welcome_handler)))
        .on_event("SCAN", handler(scenes::on_scan))
        .on_text(TextPattern::Exact("帮助".into()), handler(help_handler))
        .on_text(TextPattern::Exact("help".into()), handler(help_handler))
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
        .on_msg_type("text", handler(text))
}

/// The hours words ([`news::HOURS_TODAY_WORDS`], [`news::HOURS_TOMORROW_WORDS`], and a day after
/// [`news::HOURS_DATE_PREFIXES`]).
fn on_hours_words(router: Router<Services>) -> Router<Services> {
    let router = news::HOURS_TODAY_WORDS.iter().fold(router, |r, w| r.on_text(TextPattern::Exact((*w).into()), handler(news::hours_today)));
    let router =
        news::HOURS_TOMORROW_WORDS.iter().fold(router, |r, w| r.on_text(TextPattern::Exact((*w).into()), handler(news::hours_tomorrow)));
    news::HOURS_DATE_PREFIXES.iter().fold(router, |r, w| r.on_text(TextPattern::Prefix((*w).into()), handler(news::hours_on_day)))
}

/// Text in a consultation goes to the librarians; then borrowing commands, activity sign-ups
/// ("报名 3"), "推荐码" (referral codes), "其他馆" (partner libraries), the keyword answers and questions for the librarians
/// (see [`crate::consultation`]); anything else searches the catalog.
async fn text(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    if let Some(reply) = crate::consultation::chat::in_session(&s, &m).await? {
        return Ok(reply);
    }
    if let Some(reply) = crate::circulation::chat::on_text(&s, &m).await {
        return reply;
    }
    if let Some(reply) = crate::activities::chat::on_text(&s, &m).await {
        return reply;
    }
    if let Some(reply) = crate::reach::on_text(&s, &m).await {
        return reply;
    }
    if let wechat::InboundKind::Text { content } = &m.kind
        && crate::partners::chat::is_other_libraries(content)
    {
        return crate::partners::chat::other_libraries(s, m).await;
    }
    if let Some(reply) = crate::consultation::chat::route_text(&s, &m).await? {
        return Ok(reply);
    }
    crate::catalog::chat::on_text(s, m).await
}
