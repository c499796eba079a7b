//! The reader's side of consultation and keyword answers: opening and ending a session, what is
//! said back (with the working-hours note), and the routing of texts described in the module
//! above. Everything for the inbox is stored before the reply is built.

use std::sync::Arc;

use wechat::{Inbound, InboundKind, Reply};

use crate::catalog::{Found, SearchField, Sort};
use crate::lang::Lang;
use crate::services::Services;
use crate::wechat::router::{HandlerError, Responded};
use crate::working_hours::WorkingHours;

/// Exact texts that open a consultation.
const OPEN_WORDS: &[&str] =
    &["人工", "人工服务", "人工客服", "转人工", "咨询", "咨询馆员", "馆员", "ask", "ask a librarian", "librarian", "human"];
/// "咨询 <question>": opens and asks at once.
const OPEN_PREFIXES: &[&str] = &["咨询馆员", "咨询", "人工", "ask a librarian", "ask"];
const END_WORDS: &[&str] = &["结束", "结束咨询", "end", "stop", "bye"];
/// Words that make a text a question (Chinese anywhere; English at the start).
const QUESTION_WORDS: &[&str] = &[
    "请问",
    "怎么",
    "怎样",
    "如何",
    "为什么",
    "为何",
    "能否",
    "能不能",
    "可不可以",
    "可以吗",
    "是否",
    "哪里",
    "在哪",
    "几点",
    "什么时候",
    "多久",
    "多少钱",
];
const ENGLISH_QUESTION_STARTS: &[&str] =
    &["how ", "what ", "why ", "where ", "when ", "can i ", "could ", "is there ", "are there ", "do you ", "does ", "may i "];
/// A reader is acknowledged at most once in this many seconds while a session is open.
const ACK_EVERY_SECS: i64 = 600;

/// Does this text read as a question to a person (not a catalog query)?
pub fn looks_like_question(text: &str) -> bool {
    let t = text.trim();
    let lower = t.to_lowercase();
    t.ends_with('?')
        || t.ends_with('？')
        || t.ends_with('吗')
        || t.ends_with("吗。")
        || QUESTION_WORDS.iter().any(|w| t.contains(w))
        || ENGLISH_QUESTION_STARTS.iter().any(|w| lower.starts_with(w))
}

/// `Some(question)` when the text opens a consultation (the question may be empty).
pub fn opening(text: &str) -> Option<String> {
    let t = text.trim();
    let lower = t.to_lowercase();
    if OPEN_WORDS.iter().any(|w| lower == *w) {
        return Some(String::new());
    }
    for p in OPEN_PREFIXES {
        if let Some(rest) = lower.strip_prefix(p) {
            // A separator must follow, so a title like "咨询心理学" still searches the catalog.
            let Some(rest_raw) = t.get(t.len().saturating_sub(rest.len())..) else { continue };
            if let Some(q) = rest_raw.strip_prefix([' ', '：', ':', '，', ',', '\u{3000}']) {
                let q = q.trim();
                if !q.is_empty() {
                    return Some(q.to_owned());
                }
            }
        }
    }
    None
}

fn hours(s: &Services) -> WorkingHours {
    let c = &s.config.consultation;
    WorkingHours::parse_or_always(&c.working_days, &c.working_hours)
}

fn off_hours_note(s: &Services) -> String {
    let h = hours(s).describe(s.lang);
    match s.lang {
        Lang::Zh => format!("现在是非工作时间，馆员会在工作时间（{h}）回复您，您的留言已保存。"),
        Lang::En => format!("Librarians are not at work now; one will answer in working hours ({h}). Your message is kept."),
    }
}

fn opened_text(s: &Services, asked: bool, at_work: bool) -> String {
    let minutes = s.config.consultation.session_minutes;
    let mut out = match (s.lang, asked) {
        (Lang::Zh, false) => "您好，已为您转接馆员。请直接发送您的问题（文字、图片或语音均可），馆员会通过消息回复您。".to_owned(),
        (Lang::Zh, true) => "您的问题已转给馆员，馆员会通过消息回复您。可以继续补充（文字、图片或语音均可）。".to_owned(),
        (Lang::En, false) => {
            "You are now talking to the librarians. Send your question (text, picture or voice); a librarian will answer here.".to_owned()
        }
        (Lang::En, true) => {
            "Your question went to the librarians; one will answer here. You can add more (text, picture or voice).".to_owned()
        }
    };
    out.push('\n');
    out.push_str(&if at_work { String::new() } else { off_hours_note(s) + "\n" });
    out.push_str(&match s.lang {
        Lang::Zh => format!("{minutes} 分钟内发送的消息都会转给馆员；回复“结束”结束咨询。"),
        Lang::En => format!("For {minutes} minutes everything you send goes to the librarians; reply \"end\" to finish."),
    });
    out
}

fn ack_text(s: &Services, at_work: bool) -> String {
    if at_work {
        match s.lang {
            Lang::Zh => "已收到，馆员会尽快回复您。回复“结束”结束咨询。".into(),
            Lang::En => "Received; a librarian will answer soon. Reply \"end\" to finish.".into(),
        }
    } else {
        off_hours_note(s)
    }
}

/// What a non-text message says in the inbox.
fn describe(kind: &InboundKind) -> Option<(&'static str, String, Option<String>)> {
    Some(match kind {
        InboundKind::Text { content } => ("text", content.clone(), None),
        InboundKind::Image { pic_url, media_id } => ("image", pic_url.clone(), Some(media_id.clone())),
        InboundKind::Voice { media_id, recognition, .. } => ("voice", recognition.clone().unwrap_or_default(), Some(media_id.clone())),
        InboundKind::Video { media_id, .. } | InboundKind::ShortVideo { media_id, .. } => ("video", String::new(), Some(media_id.clone())),
        InboundKind::Location { latitude, longitude, label, .. } => ("location", format!("{label} ({latitude}, {longitude})"), None),
        InboundKind::Link { title, url, .. } => ("link", format!("{title} {url}"), None),
        InboundKind::Event(_) | InboundKind::Unknown => return None,
    })
}

async fn store(s: &Services, m: &Inbound, content_override: Option<&str>) -> Result<(), HandlerError> {
    let Some((kind, content, media)) = describe(&m.kind) else { return Ok(()) };
    let content = content_override.map(str::to_owned).unwrap_or(content);
    s.db.store_inbound(&m.from_user, kind, &content, media.as_deref(), &m.dedupe_key(), s.clock.now()).await?;
    Ok(())
}

async fn open_session(s: &Services, openid: &str) -> Result<(), HandlerError> {
    let now = s.clock.now();
    s.db.open_consult_session(openid, now, now + s.config.consultation.session_minutes * 60).await?;
    Ok(())
}

/// Menu 咨询馆员: open a session.
pub async fn ask(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    open_session(&s, &m.from_user).await?;
    let now = s.clock.now();
    s.db.ack_consult_session(&m.from_user, now).await?;
    Ok(Reply::text(opened_text(&s, false, hours(&s).is_open(now))))
}

/// A message while a session is open: "结束" ends it; anything else goes to the inbox (stored
/// first), extends the session, and is acknowledged at most every ten minutes. `None` when the
/// reader is not in a session.
pub async fn in_session(s: &Services, m: &Inbound) -> Responded {
    let now = s.clock.now();
    let Some(acked_at) = s.db.consult_session(&m.from_user, now).await? else { return Ok(None) };
    if let InboundKind::Text { content } = &m.kind {
        let t = content.trim().to_lowercase();
        if END_WORDS.iter().any(|w| t == *w) {
            s.db.close_consult_session(&m.from_user).await?;
            return Ok(Some(Reply::text(match s.lang {
                Lang::Zh => "本次咨询已结束，感谢您的提问。尚未回复的问题，馆员仍会回复您。直接发送书名可检索馆藏。",
                Lang::En => {
                    "The consultation has ended, thank you. Questions not answered yet will still be answered. Send a title to search the catalog."
                }
            })));
        }
    }
    store(s, m, None).await?;
    open_session(s, &m.from_user).await?;
    if now - acked_at < ACK_EVERY_SECS {
        return Ok(Some(Reply::Success));
    }
    s.db.ack_consult_session(&m.from_user, now).await?;
    Ok(Some(Reply::text(ack_text(s, hours(s).is_open(now)))))
}

/// The consultation's words outside a session: "人工", "咨询 &lt;question&gt;"… open one (and ask at
/// once); "结束" says there is none.
pub async fn on_text(s: &Services, m: &Inbound, content: &str) -> Responded {
    let now = s.clock.now();
    if END_WORDS.iter().any(|w| content.trim().eq_ignore_ascii_case(w)) {
        return Ok(Some(Reply::text(match s.lang {
            Lang::Zh => "您目前没有进行中的咨询。回复“人工”可以咨询馆员；直接发送书名可检索馆藏。",
            Lang::En => "You are not talking to a librarian right now. Reply \"ask\" to ask one; send a title to search the catalog.",
        })));
    }
    let Some(question) = opening(content) else { return Ok(None) };
    open_session(s, &m.from_user).await?;
    s.db.ack_consult_session(&m.from_user, now).await?;
    if !question.is_empty() {
        store(s, m, Some(&question)).await?;
    }
    Ok(Some(Reply::text(opened_text(s, !question.is_empty(), hours(s).is_open(now)))))
}

/// A text no rule answers that reads as a question and finds nothing in the catalog goes to the
/// librarians' inbox. What the catalog found is left in `searched` for the catalog's answer, so
/// the text is not searched again.
pub async fn on_question(s: &Services, m: &Inbound, content: &str, searched: &mut Option<Found>) -> Responded {
    if !looks_like_question(content) {
        return Ok(None);
    }
    let found = s.catalog.find(content.trim(), SearchField::Any, Sort::Relevance, 1, s.config.catalog.chat_page_size)?;
    if found.results.total > 0 {
        *searched = Some(found);
        return Ok(None);
    }
    store(s, m, None).await?;
    let mut out = match s.lang {
        Lang::Zh => "您的问题已转给馆员，馆员会通过消息回复您。回复“人工”可以继续和馆员交流。".to_owned(),
        Lang::En => "Your question went to the librarians; one will answer here. Reply \"ask\" to keep talking to them.".to_owned(),
    };
    if !hours(s).is_open(s.clock.now()) {
        out.push('\n');
        out.push_str(&off_hours_note(s));
    }
    Ok(Some(Reply::text(out)))
}

/// Pictures, voice, video, locations and links: to the inbox in a session, else the help text.
pub async fn media(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    if let Some(reply) = in_session(&s, &m).await? {
        return Ok(reply);
    }
    Ok(Reply::text(match s.lang {
        Lang::Zh => format!("{}\n\n想请馆员看看这条消息？先回复“人工”，再发送一次。", crate::lang::help(s.lang)),
        Lang::En => format!("{}\n\nWant a librarian to see this? Reply \"ask\" first, then send it again.", crate::lang::help(s.lang)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_and_queries_are_told_apart() {
        for q in [
            "图书馆几点开门？",
            "请问研究生可以借几本书",
            "借书证丢了怎么办",
            "能否延长借期",
            "可以带电脑吗",
            "How do I renew a book?",
            "where is the printer",
        ] {
            assert!(looks_like_question(q), "{q}");
        }
        for q in ["三体", "刘慈欣", "machine learning", "红楼梦 脂评", "9787536692930"] {
            assert!(!looks_like_question(q), "{q}");
        }
    }

    #[test]
    fn opening_words_and_a_question_after_them() {
        assert_eq!(opening("人工"), Some(String::new()));
        assert_eq!(opening(" Ask a Librarian "), Some(String::new()));
        assert_eq!(opening("咨询：借书证丢了"), Some("借书证丢了".into()));
        assert_eq!(opening("ask how do I print"), Some("how do I print".into()));
        assert_eq!(opening("咨询心理学"), None, "a title, not a request");
        assert_eq!(opening("三体"), None);
    }
}
