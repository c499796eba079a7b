//! Console pages for the consultation inbox (`/console/inbox`): conversations grouped by reader
//! with unread counts, one reader's thread with their context (bound or not, last searches, how
//! much of the customer-service window is left), the answer box with canned answers, and the
//! canned answers themselves. Pages refresh their lists by short polling (every 2 s, inline
//! script, no external JS), so a question appears while the librarian looks at the page. Every
//! answer, delivered or not, is audited.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{AnswerError, AnswerOutcome, ConsultMessage, ReaderContext};
use crate::clock::local_datetime;
use crate::console::layout::{csrf_field, flash_error, flash_ok, page};
use crate::console::{ConsoleError, Librarian, audit};
use crate::db::unix_now;
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;
use crate::web::escape;
use crate::wechat::followers::WindowState;

/// Nested at `/console/inbox` by the console.
pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new()
        .route("/", get(inbox))
        .route("/list", get(list_fragment))
        .route("/r/{openid}", get(thread))
        .route("/r/{openid}/messages", get(messages_fragment))
        .route("/r/{openid}/answer", post(answer))
        .route("/canned", get(canned).post(canned_add))
        .route("/canned/{id}/delete", post(canned_delete))
}

/// Replaces the element's content with the fragment at `url` every two seconds (done by the
/// console's script, `web::policy::SCRIPT`: the pages run no inline script).
fn poller(element_id: &str, url: &str) -> String {
    format!("<span hidden data-poll=\"{}\" data-poll-target=\"{}\"></span>", escape(url), escape(element_id))
}

/// An openid as WeChat issues them (28 characters of [A-Za-z0-9_-]); anything else is refused
/// before it reaches a query or a URL.
fn valid_openid(openid: &str) -> bool {
    !openid.is_empty() && openid.len() <= 64 && openid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn type_label(msg_type: &str, lang: Lang) -> &'static str {
    match msg_type {
        "image" => t(lang, "[图片]", "[picture]"),
        "voice" => t(lang, "[语音]", "[voice]"),
        "video" => t(lang, "[视频]", "[video]"),
        "location" => t(lang, "[位置]", "[location]"),
        "link" => t(lang, "[链接]", "[link]"),
        _ => "",
    }
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { s.chars().take(n).collect::<String>() + "…" }
}

/// How much of the customer-service window is left, in words.
pub fn window_text(ctx: &ReaderContext, now: i64, lang: Lang) -> String {
    match ctx.window {
        WindowState::Open { expires_at, .. } => {
            let left = (expires_at - now).max(0);
            let (h, m) = (left / 3600, (left % 3600) / 60);
            let sends = ctx.sends_left();
            if sends == 0 {
                return t(lang, "本窗口的客服消息条数已用完（含待发送），需等读者再次发消息。", "The window's message count is used up (counting queued messages); wait for the reader to write again.").to_owned();
            }
            match lang {
                Lang::Zh => format!("客服消息窗口还剩 {h} 小时 {m} 分，还可发送 {sends} 条。"),
                Lang::En => format!("Customer-service window: {h} h {m} min left, {sends} message(s) left."),
            }
        }
        WindowState::Exhausted => t(lang, "本窗口的客服消息条数已用完，需等读者再次发消息。", "The window's message count is used up; wait for the reader to write again.").to_owned(),
        WindowState::Closed => t(lang, "客服消息窗口已关闭（读者 48 小时内没有发消息，或已取消关注），无法送达回复。", "The customer-service window is closed (no message from the reader in 48 hours, or they unfollowed): answers cannot be delivered.").to_owned(),
    }
}

async fn conversations_html(s: &Services, lang: Lang) -> Result<String, ConsoleError> {
    let list = s.db.conversations(200).await?;
    let unread = s.db.unread_consultations().await?;
    let mut out = format!("<p id=\"unread-total\">{} <b>{unread}</b></p>", t(lang, "未读消息：", "Unread messages:"));
    if list.is_empty() {
        out.push_str(&format!(
            "<p class=\"muted\" id=\"no-conversations\">{}</p>",
            t(lang, "还没有读者咨询。", "No questions from readers yet.")
        ));
        return Ok(out);
    }
    out.push_str(&format!(
        "<table id=\"conversation-list\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "读者", "Reader"),
        t(lang, "未读", "Unread"),
        t(lang, "最近消息", "Last message"),
        t(lang, "时间", "Time"),
        t(lang, "客服窗口", "Window")
    ));
    let now = unix_now();
    for c in list {
        let window = match (c.window_open(now), lang) {
            (Some((secs, sends)), Lang::Zh) => {
                format!("<span class=\"ok\">{} 小时 {} 分 · {} 条</span>", secs / 3600, secs % 3600 / 60, sends)
            }
            (Some((secs, sends)), Lang::En) => format!("<span class=\"ok\">{} h {} min · {}</span>", secs / 3600, secs % 3600 / 60, sends),
            (None, _) => format!("<span class=\"no\">{}</span>", t(lang, "已关闭", "closed")),
        };
        let who = if c.last_direction == "out" { t(lang, "馆员：", "Librarian: ") } else { "" };
        out.push_str(&format!(
            "<tr class=\"conversation{cls}\" data-openid=\"{o}\"><td><a href=\"/console/inbox/r/{o}\">{o}</a></td><td>{unread}</td><td>{who}{label}{content}</td><td>{at}</td><td>{window}</td></tr>",
            cls = if c.unread > 0 { " unread" } else { "" },
            o = escape(&c.openid),
            unread = if c.unread > 0 { format!("<b class=\"no\">{}</b>", c.unread) } else { "0".into() },
            label = type_label(&c.last_type, lang),
            content = escape(&shorten(&c.last_content, 60)),
            at = local_datetime(c.last_at),
        ));
    }
    out.push_str("</table>");
    Ok(out)
}

async fn inbox(State(s): State<Services>, lib: Librarian) -> Result<Html<String>, ConsoleError> {
    let lang = lib.lang;
    let body = format!(
        "<p class=\"muted\">{hint} <a href=\"/console/inbox/canned\">{canned}</a></p><div class=\"card\" id=\"conversations\">{list}</div>{poll}",
        hint = t(
            lang,
            "读者的咨询按读者分组，新消息自动出现。读者发送“人工”“咨询”或点菜单“咨询馆员”后，之后的消息（文字、图片、语音）都会转到这里，回复“结束”结束；没有关键词规则能回答、馆藏也查不到的提问也会转到这里。",
            "Readers' questions, grouped by reader; new ones appear by themselves. After a reader sends \"人工\"/\"ask\" or taps 咨询馆员 in the menu, what they send (text, pictures, voice) comes here until they send \"结束\"/\"end\"; so do questions no keyword rule answers and the catalog cannot find.",
        ),
        canned = t(lang, "常用回复", "Canned answers"),
        list = conversations_html(&s, lang).await?,
        poll = poller("conversations", "/console/inbox/list"),
    );
    Ok(page(&lib, t(lang, "咨询收件箱", "Consultation inbox"), &body))
}

async fn list_fragment(State(s): State<Services>, lib: Librarian) -> Result<Html<String>, ConsoleError> {
    Ok(Html(conversations_html(&s, lib.lang).await?))
}

fn message_html(m: &ConsultMessage, lang: Lang) -> String {
    let (cls, who) = if m.direction == "in" {
        ("from-reader", t(lang, "读者", "Reader").to_owned())
    } else {
        ("from-librarian", m.librarian.clone().unwrap_or_default())
    };
    let body = match m.msg_type.as_str() {
        "image" if m.content.starts_with("http") => {
            format!("{} <a href=\"{u}\" target=\"_blank\" rel=\"noopener\">{u}</a>", type_label("image", lang), u = escape(&m.content))
        }
        other => format!("{}{}", type_label(other, lang), escape(&m.content).replace('\n', "<br>")),
    };
    let state = if m.direction == "out" {
        let (cls, text) = match (m.status.as_str(), m.delivery.as_deref()) {
            ("undeliverable", _) => ("no", t(lang, "未送达：窗口已关闭或条数用完", "not delivered: window closed or count used up")),
            (_, Some("sent")) => ("ok", t(lang, "已送达", "delivered")),
            (_, Some("expired")) => ("no", t(lang, "未送达：窗口已关闭", "not delivered: window closed")),
            (_, Some("failed")) => ("no", t(lang, "发送失败", "sending failed")),
            _ => ("muted", t(lang, "发送中", "sending")),
        };
        format!(" · <span class=\"{cls} delivery\">{text}</span>")
    } else {
        String::new()
    };
    format!(
        "<div class=\"msg {cls}\" data-id=\"{id}\"><span class=\"muted\">{who} · {at}{state}</span><div class=\"content\">{body}</div></div>",
        id = m.id,
        who = escape(&who),
        at = local_datetime(m.created_at),
    )
}

async fn messages_html(s: &Services, openid: &str, lang: Lang) -> Result<String, ConsoleError> {
    let msgs = s.db.consultation(openid, 200).await?;
    // The librarian is looking at them now.
    s.db.mark_consultation_read(openid).await?;
    Ok(msgs.iter().map(|m| message_html(m, lang)).collect())
}

async fn context_html(s: &Services, openid: &str, lang: Lang) -> Result<String, ConsoleError> {
    let now = unix_now();
    let ctx = s.db.reader_context(openid, now).await?;
    let bound = match &ctx.card {
        Some(card) => format!("<span class=\"ok\">{} {}</span>", t(lang, "已绑定一卡通", "card bound:"), escape(card)),
        None => format!("<span class=\"muted\">{}</span>", t(lang, "未绑定一卡通", "card not bound")),
    };
    let follow = if ctx.subscribed {
        format!("{} {}", t(lang, "关注于", "following since"), ctx.followed_since.map(local_datetime).unwrap_or_else(|| "-".into()))
    } else {
        t(lang, "未关注或已取消关注", "not following").to_owned()
    };
    let searches = if ctx.searches.is_empty() {
        t(lang, "无", "none").to_owned()
    } else {
        ctx.searches
            .iter()
            .map(|(_, q, hits, at)| format!("“{}” ({} {}, {})", escape(q), hits, t(lang, "条", "hits"), local_datetime(*at)))
            .collect::<Vec<_>>()
            .join("；")
    };
    let window_cls = if ctx.sends_left() > 0 { "ok" } else { "no" };
    Ok(format!(
        "<div class=\"card\" id=\"reader-context\"><b>{o}</b> · {bound} · {follow}<br>{l_searches}{searches}<br><span class=\"{window_cls}\" id=\"window-left\">{window}</span></div>",
        o = escape(openid),
        l_searches = t(lang, "最近检索：", "Last searches: "),
        window = window_text(&ctx, now, lang),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ThreadQuery {
    #[serde(default)]
    sent: Option<String>,
}

async fn thread_page(
    s: &Services,
    lib: &Librarian,
    openid: &str,
    flash: &str,
    draft: &str,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let lang = lib.lang;
    let canned = s.db.canned_answers().await?;
    let mut options = format!("<option value=\"\">{}</option>", t(lang, "— 插入常用回复 —", "— insert a canned answer —"));
    for c in &canned {
        options.push_str(&format!("<option value=\"{}\">{}</option>", escape(&c.body), escape(&c.title)));
    }
    let form_key = format!("{:016x}", rand::random::<u64>());
    let body = format!(
        "{flash}{context}<div class=\"card\" id=\"thread\">{messages}</div>\
         <form method=\"post\" action=\"/console/inbox/r/{o}/answer\" class=\"card\" id=\"answer-form\">{csrf}\
         <input type=\"hidden\" name=\"form_key\" value=\"{form_key}\">\
         <p><select id=\"canned\" data-append-to=\"answer-text\">{options}</select> \
         <a href=\"/console/inbox/canned\">{manage}</a></p>\
         <p><textarea name=\"text\" id=\"answer-text\" rows=\"4\" placeholder=\"{ph}\">{draft}</textarea></p>\
         <p><button type=\"submit\" id=\"send-answer\">{send}</button></p></form>\
         <p><a href=\"/console/inbox\">{back}</a></p>{poll}<style>.msg{{margin:6px 0;padding:6px 10px;border-radius:6px}}.from-reader{{background:#f0f2f5}}.from-librarian{{background:#e7f4ec;margin-left:40px}}</style>",
        context = context_html(s, openid, lang).await?,
        messages = messages_html(s, openid, lang).await?,
        o = escape(openid),
        csrf = csrf_field(lib),
        manage = t(lang, "管理常用回复", "Manage canned answers"),
        ph = t(lang, "输入回复，将以客服消息发送给读者", "Your answer, sent to the reader as a customer-service message"),
        draft = escape(draft),
        send = t(lang, "发送回复", "Send answer"),
        back = t(lang, "返回收件箱", "Back to the inbox"),
        poll = poller("thread", &format!("/console/inbox/r/{openid}/messages")),
    );
    Ok((status, page(lib, &format!("{} {}", t(lang, "咨询：", "Consultation:"), openid), &body)).into_response())
}

async fn thread(
    State(s): State<Services>,
    lib: Librarian,
    Path(openid): Path<String>,
    Query(q): Query<ThreadQuery>,
) -> Result<Response, ConsoleError> {
    if !valid_openid(&openid) {
        return Err(ConsoleError::NotFound);
    }
    let flash = if q.sent.is_some() {
        flash_ok(t(lib.lang, "回复已发送给读者。", "The answer is on its way to the reader."))
    } else {
        String::new()
    };
    thread_page(&s, &lib, &openid, &flash, "", StatusCode::OK).await
}

async fn messages_fragment(State(s): State<Services>, lib: Librarian, Path(openid): Path<String>) -> Result<Html<String>, ConsoleError> {
    if !valid_openid(&openid) {
        return Err(ConsoleError::NotFound);
    }
    Ok(Html(messages_html(&s, &openid, lib.lang).await?))
}

#[derive(Debug, Default, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    form_key: String,
}

async fn answer(
    State(s): State<Services>,
    lib: Librarian,
    Path(openid): Path<String>,
    Form(f): Form<AnswerForm>,
) -> Result<Response, ConsoleError> {
    if !valid_openid(&openid) {
        return Err(ConsoleError::NotFound);
    }
    let lang = lib.lang;
    let form_key = if f.form_key.is_empty() || f.form_key.len() > 64 || !f.form_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        format!("{:016x}", rand::random::<u64>())
    } else {
        f.form_key.clone()
    };
    let result = super::answer_reader(&s, &openid, &f.text, lib.id, &lib.username, &form_key).await;
    let detail = format!("openid={openid} text={:?}", shorten(f.text.trim(), 200));
    let message = match result {
        Ok(AnswerOutcome::Queued(id)) => {
            audit(&s.db, &lib, "inbox.answer", &format!("{detail} message={id}")).await?;
            return Ok(Redirect::to(&format!("/console/inbox/r/{openid}?sent=1")).into_response());
        }
        Ok(AnswerOutcome::Duplicate) => return Ok(Redirect::to(&format!("/console/inbox/r/{openid}?sent=1")).into_response()),
        Err(AnswerError::Db(e)) => return Err(e.into()),
        Err(e @ (AnswerError::WindowClosed | AnswerError::CountUsedUp)) => {
            audit(&s.db, &lib, "inbox.answer_undeliverable", &format!("{detail} reason={e}")).await?;
            let why = match e {
                AnswerError::WindowClosed => t(
                    lang,
                    "无法送达：读者的 48 小时客服消息窗口已关闭。回复已保存并标记为未送达；读者再次发消息后可重新回复。",
                    "Not delivered: the reader's 48-hour customer-service window has closed. The answer is kept, marked undeliverable; answer again once the reader writes.",
                ),
                _ => t(
                    lang,
                    "无法送达：本窗口的客服消息条数已用完。回复已保存并标记为未送达；读者再次发消息后可重新回复。",
                    "Not delivered: the window's message count is used up. The answer is kept, marked undeliverable; answer again once the reader writes.",
                ),
            };
            return thread_page(&s, &lib, &openid, &flash_error(why), "", StatusCode::CONFLICT).await;
        }
        Err(AnswerError::Empty) => t(lang, "回复不能为空。", "The answer is empty."),
        Err(AnswerError::TooLong) => {
            t(lang, "回复过长（微信客服消息最多约 2000 字节）。", "The answer is too long (WeChat allows about 2000 bytes).")
        }
        Err(AnswerError::UnknownReader) => return Err(ConsoleError::NotFound),
    };
    thread_page(&s, &lib, &openid, &flash_error(message), &f.text, StatusCode::BAD_REQUEST).await
}

#[derive(Debug, Default, Deserialize)]
pub struct CannedForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

async fn canned_page(s: &Services, lib: &Librarian, flash: &str, form: &CannedForm, status: StatusCode) -> Result<Response, ConsoleError> {
    let lang = lib.lang;
    let list = s.db.canned_answers().await?;
    let mut body = String::from(flash);
    if list.is_empty() {
        body.push_str(&format!("<p class=\"muted\">{}</p>", t(lang, "还没有常用回复。", "No canned answers yet.")));
    } else {
        body.push_str(&format!(
            "<table id=\"canned-list\"><tr><th>{}</th><th>{}</th><th></th></tr>",
            t(lang, "标题", "Title"),
            t(lang, "内容", "Text")
        ));
        for c in &list {
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/console/inbox/canned/{}/delete\" class=\"inline\">{}<button class=\"danger\" type=\"submit\">{}</button></form></td></tr>",
                escape(&c.title),
                escape(&c.body).replace('\n', "<br>"),
                c.id,
                csrf_field(lib),
                t(lang, "删除", "Delete")
            ));
        }
        body.push_str("</table>");
    }
    body.push_str(&format!(
        "<h2>{}</h2><form method=\"post\" action=\"/console/inbox/canned\" class=\"card\" id=\"canned-form\">{}\
         <p><label>{} <input name=\"title\" id=\"canned-title\" value=\"{}\" maxlength=\"40\"></label></p>\
         <p><label>{}<br><textarea name=\"body\" id=\"canned-body\" rows=\"3\">{}</textarea></label></p><p><button type=\"submit\" id=\"save-canned\">{}</button></p></form>\
         <p><a href=\"/console/inbox\">{}</a></p>",
        t(lang, "新增常用回复", "Add a canned answer"),
        csrf_field(lib),
        t(lang, "标题", "Title"),
        escape(&form.title),
        t(lang, "内容", "Text"),
        escape(&form.body),
        t(lang, "保存", "Save"),
        t(lang, "返回收件箱", "Back to the inbox"),
    ));
    Ok((status, page(lib, t(lang, "常用回复", "Canned answers"), &body)).into_response())
}

async fn canned(State(s): State<Services>, lib: Librarian) -> Result<Response, ConsoleError> {
    canned_page(&s, &lib, "", &CannedForm::default(), StatusCode::OK).await
}

async fn canned_add(State(s): State<Services>, lib: Librarian, Form(f): Form<CannedForm>) -> Result<Response, ConsoleError> {
    let lang = lib.lang;
    let (title, body) = (f.title.trim(), f.body.trim());
    let error = if title.is_empty() || title.chars().count() > 40 {
        Some(t(lang, "标题不能为空，且不超过 40 字。", "The title must be 1 to 40 characters."))
    } else if body.is_empty() || body.len() > crate::answers::MAX_TEXT_BYTES {
        Some(t(lang, "内容不能为空，且不超过约 2000 字节。", "The text must be non-empty and at most about 2000 bytes."))
    } else {
        None
    };
    if let Some(e) = error {
        return canned_page(&s, &lib, &flash_error(e), &f, StatusCode::BAD_REQUEST).await;
    }
    let id = s.db.insert_canned_answer(title, &body.replace("\r\n", "\n"), unix_now()).await?;
    audit(&s.db, &lib, "inbox.canned_create", &format!("#{id} {title:?}")).await?;
    canned_page(&s, &lib, &flash_ok(t(lang, "常用回复已保存。", "Canned answer saved.")), &CannedForm::default(), StatusCode::OK).await
}

async fn canned_delete(State(s): State<Services>, lib: Librarian, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    if !s.db.delete_canned_answer(id).await? {
        return Err(ConsoleError::NotFound);
    }
    audit(&s.db, &lib, "inbox.canned_delete", &format!("#{id}")).await?;
    Ok(Redirect::to("/console/inbox/canned").into_response())
}
