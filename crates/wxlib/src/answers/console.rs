//! Console pages for keyword answers (`/console/answers`): the rules by priority, a form to add
//! one, editing and deleting, and trying a message against the rules as a reader would send it.
//! A rule that does not validate (a bad regular expression, an empty answer…) is shown again
//! with the reason and nothing is saved. Every change is audited.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Answer, MatchKind, Rule, RuleInput};
use crate::console::layout::{csrf_field, flash_error, flash_ok, page};
use crate::console::{ConsoleError, Librarian, audit};
use crate::db::unix_now;
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;
use crate::web::escape;

/// Nested at `/console/answers` by the console.
pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new().route("/", get(list).post(create)).route("/{id}", get(edit).post(update)).route("/{id}/delete", post(delete))
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// A message to try against the rules.
    #[serde(default)]
    test: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

fn kind_label(k: MatchKind, lang: Lang) -> &'static str {
    match k {
        MatchKind::Exact => t(lang, "完全匹配", "exact"),
        MatchKind::Contains => t(lang, "包含", "contains"),
        MatchKind::Pattern => t(lang, "正则", "pattern"),
    }
}

fn answer_summary(a: &Answer, lang: Lang) -> String {
    match a {
        Answer::Text(text) => escape(&text.chars().take(80).collect::<String>()),
        Answer::Article { title, url, .. } => {
            format!("{} <a href=\"{}\">{}</a>", t(lang, "图文：", "Article: "), escape(url), escape(title))
        }
    }
}

fn selected(cond: bool) -> &'static str {
    if cond { " selected" } else { "" }
}

/// The add/edit form, filled with `f`.
fn rule_form(lib: &Librarian, action: &str, f: &RuleInput, submit: &str) -> String {
    let lang = lib.lang;
    format!(
        "<form method=\"post\" action=\"{action}\" class=\"card\" id=\"rule-form\">{csrf}\
         <div class=\"row\"><label>{l_kind} <select name=\"match_kind\" id=\"match_kind\">\
         <option value=\"exact\"{s_exact}>{o_exact}</option><option value=\"contains\"{s_contains}>{o_contains}</option><option value=\"pattern\"{s_pattern}>{o_pattern}</option></select></label>\
         <label>{l_pattern} <input name=\"pattern\" id=\"pattern\" value=\"{pattern}\" size=\"30\" maxlength=\"200\"></label>\
         <label>{l_prio} <input name=\"priority\" id=\"priority\" value=\"{prio}\" size=\"5\"></label>\
         <label><input type=\"checkbox\" name=\"enabled\" value=\"on\"{checked}> {l_enabled}</label></div>\
         <p class=\"row\"><label>{l_answer} <select name=\"answer_kind\" id=\"answer_kind\"><option value=\"text\"{s_text}>{o_text}</option><option value=\"article\"{s_article}>{o_article}</option></select></label></p>\
         <p><label>{l_text}<br><textarea name=\"answer_text\" id=\"answer_text\" rows=\"4\">{text}</textarea></label></p>\
         <fieldset><legend>{l_article}</legend><div class=\"row\">\
         <label>{l_title} <input name=\"title\" id=\"title\" value=\"{title}\" maxlength=\"64\"></label>\
         <label>{l_desc} <input name=\"description\" id=\"description\" value=\"{desc}\" size=\"30\"></label></div><div class=\"row\">\
         <label>{l_url} <input name=\"url\" id=\"url\" value=\"{url}\" size=\"40\"></label>\
         <label>{l_pic} <input name=\"pic_url\" id=\"pic_url\" value=\"{pic}\" size=\"40\"></label></div></fieldset>\
         <p><button type=\"submit\" id=\"save-rule\">{submit}</button></p>\
         <p class=\"muted\">{hint}</p></form>",
        csrf = csrf_field(lib),
        l_kind = t(lang, "匹配方式", "Match"),
        s_exact = selected(f.match_kind == "exact" || f.match_kind.is_empty()),
        s_contains = selected(f.match_kind == "contains"),
        s_pattern = selected(f.match_kind == "pattern"),
        o_exact = t(lang, "完全匹配", "exact"),
        o_contains = t(lang, "包含", "contains"),
        o_pattern = t(lang, "正则表达式", "regular expression"),
        l_pattern = t(lang, "关键词", "Keyword"),
        pattern = escape(&f.pattern),
        l_prio = t(lang, "优先级", "Priority"),
        prio = escape(if f.priority.is_empty() { "0" } else { &f.priority }),
        checked = if f.enabled.is_some() { " checked" } else { "" },
        l_enabled = t(lang, "启用", "enabled"),
        l_answer = t(lang, "回复类型", "Answer with"),
        s_text = selected(f.answer_kind != "article"),
        s_article = selected(f.answer_kind == "article"),
        o_text = t(lang, "文本", "text"),
        o_article = t(lang, "图文（一篇）", "one article"),
        l_text = t(lang, "回复文本", "Answer text"),
        text = escape(&f.answer_text),
        l_article = t(lang, "图文回复", "Article answer"),
        l_title = t(lang, "标题", "Title"),
        title = escape(&f.title),
        l_desc = t(lang, "摘要", "Description"),
        desc = escape(&f.description),
        l_url = t(lang, "链接", "Link"),
        url = escape(&f.url),
        l_pic = t(lang, "图片链接", "Picture link"),
        pic = escape(&f.pic_url),
        hint = t(
            lang,
            "优先级高的规则先匹配；同优先级按创建先后。完全匹配与包含不区分英文大小写；正则表达式按 Rust regex 语法，可用 (?i) 忽略大小写。规则在检索馆藏之前生效。",
            "Higher priority is tried first; ties go to the older rule. Exact and contains ignore letter case; patterns use Rust regex syntax ((?i) ignores case). Rules answer before the catalog search."
        ),
    )
}

async fn list_page(
    s: &Services,
    lib: &Librarian,
    flash: &str,
    form: &RuleInput,
    test: Option<&str>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let lang = lib.lang;
    let rules = s.db.answer_rules().await?;
    let mut body = String::from(flash);
    if let Some(msg) = test.filter(|m| !m.trim().is_empty()) {
        let set = s.answers.rules(&s.db).await?;
        body.push_str(&match set.find(msg) {
            Some(r) => format!(
                "<div class=\"card\" id=\"test-result\">{} “{}” → #{} ({} “{}”)<br>{}</div>",
                t(lang, "测试消息", "Message"),
                escape(msg),
                r.id,
                kind_label(r.match_kind, lang),
                escape(&r.pattern),
                answer_summary(&r.answer, lang)
            ),
            None => format!(
                "<div class=\"card\" id=\"test-result\">{} “{}” → {}</div>",
                t(lang, "测试消息", "Message"),
                escape(msg),
                t(lang, "没有规则匹配，将检索馆藏或转给馆员。", "no rule matches: the catalog search (or the librarians) will answer.")
            ),
        });
    }
    body.push_str(&format!(
        "<form method=\"get\" action=\"/console/answers\" class=\"card row\"><label>{} <input name=\"test\" id=\"test-message\" value=\"{}\" size=\"30\"></label><button type=\"submit\" id=\"test-rules\">{}</button></form>",
        t(lang, "测试一条消息", "Try a message"),
        escape(test.unwrap_or_default()),
        t(lang, "测试", "Try")
    ));
    body.push_str(&format!("<h2>{}</h2>", t(lang, "规则", "Rules")));
    if rules.is_empty() {
        body.push_str(&format!("<p class=\"muted\" id=\"no-rules\">{}</p>", t(lang, "还没有关键词规则。", "No rules yet.")));
    } else {
        body.push_str(&format!(
            "<table id=\"rules\"><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
            t(lang, "优先级", "Priority"),
            t(lang, "匹配方式", "Match"),
            t(lang, "关键词", "Keyword"),
            t(lang, "回复", "Answer"),
            t(lang, "状态", "State")
        ));
        for r in &rules {
            body.push_str(&format!(
                "<tr id=\"rule-{id}\"><td>{id}</td><td>{prio}</td><td>{kind}</td><td>{pattern}</td><td>{answer}</td><td>{state}</td>\
                 <td><a href=\"/console/answers/{id}\">{edit}</a> <form method=\"post\" action=\"/console/answers/{id}/delete\" class=\"inline\">{csrf}<button class=\"danger\" type=\"submit\">{del}</button></form></td></tr>",
                id = r.id,
                prio = r.priority,
                kind = kind_label(r.match_kind, lang),
                pattern = escape(&r.pattern),
                answer = answer_summary(&r.answer, lang),
                state = if r.enabled { t(lang, "启用", "on") } else { t(lang, "停用", "off") },
                edit = t(lang, "编辑", "Edit"),
                csrf = csrf_field(lib),
                del = t(lang, "删除", "Delete"),
            ));
        }
        body.push_str("</table>");
    }
    body.push_str(&format!("<h2>{}</h2>", t(lang, "新增规则", "Add a rule")));
    body.push_str(&rule_form(lib, "/console/answers", form, t(lang, "保存规则", "Save rule")));
    Ok((status, page(lib, t(lang, "关键词自动回复", "Keyword answers"), &body)).into_response())
}

async fn list(State(s): State<Services>, lib: Librarian, Query(q): Query<ListQuery>) -> Result<Response, ConsoleError> {
    let flash = match q.done.as_deref() {
        Some("created") => flash_ok(t(lib.lang, "规则已保存。", "Rule saved.")),
        Some("updated") => flash_ok(t(lib.lang, "规则已更新。", "Rule updated.")),
        Some("deleted") => flash_ok(t(lib.lang, "规则已删除。", "Rule deleted.")),
        _ => String::new(),
    };
    let blank = RuleInput { enabled: Some("on".into()), ..Default::default() };
    list_page(&s, &lib, &flash, &blank, q.test.as_deref(), StatusCode::OK).await
}

fn describe_rule(r: &Rule) -> String {
    let answer = match &r.answer {
        Answer::Text(t) => format!("text={t:?}"),
        Answer::Article { title, url, .. } => format!("article={title:?} {url}"),
    };
    format!("{} {:?} priority={} enabled={} {}", r.match_kind.as_str(), r.pattern, r.priority, r.enabled, answer)
}

async fn create(State(s): State<Services>, lib: Librarian, Form(f): Form<RuleInput>) -> Result<Response, ConsoleError> {
    match f.validate() {
        Ok(rule) => {
            let id = s.db.insert_answer_rule(&rule, unix_now()).await?;
            s.answers.forget();
            audit(&s.db, &lib, "answers.create", &format!("#{id} {}", describe_rule(&rule))).await?;
            Ok(Redirect::to("/console/answers?done=created").into_response())
        }
        Err(e) => list_page(&s, &lib, &flash_error(&e.to_string()), &f, None, StatusCode::BAD_REQUEST).await,
    }
}

async fn edit_page(lib: &Librarian, id: i64, f: &RuleInput, flash: &str, status: StatusCode) -> Response {
    let lang = lib.lang;
    let body = format!(
        "{flash}{form}<p><a href=\"/console/answers\">{back}</a></p>",
        form = rule_form(lib, &format!("/console/answers/{id}"), f, t(lang, "保存修改", "Save changes")),
        back = t(lang, "返回规则列表", "Back to the rules")
    );
    (status, page(lib, &format!("{} #{id}", t(lang, "编辑规则", "Edit rule")), &body)).into_response()
}

async fn edit(State(s): State<Services>, lib: Librarian, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    let rule = s.db.answer_rule(id).await?.ok_or(ConsoleError::NotFound)?;
    Ok(edit_page(&lib, id, &RuleInput::from_rule(&rule), "", StatusCode::OK).await)
}

async fn update(
    State(s): State<Services>,
    lib: Librarian,
    Path(id): Path<i64>,
    Form(f): Form<RuleInput>,
) -> Result<Response, ConsoleError> {
    if s.db.answer_rule(id).await?.is_none() {
        return Err(ConsoleError::NotFound);
    }
    match f.validate() {
        Ok(rule) => {
            s.db.update_answer_rule(id, &rule, unix_now()).await?;
            s.answers.forget();
            audit(&s.db, &lib, "answers.update", &format!("#{id} {}", describe_rule(&rule))).await?;
            Ok(Redirect::to("/console/answers?done=updated").into_response())
        }
        Err(e) => Ok(edit_page(&lib, id, &f, &flash_error(&e.to_string()), StatusCode::BAD_REQUEST).await),
    }
}

async fn delete(State(s): State<Services>, lib: Librarian, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    let rule = s.db.answer_rule(id).await?.ok_or(ConsoleError::NotFound)?;
    s.db.delete_answer_rule(id).await?;
    s.answers.forget();
    audit(&s.db, &lib, "answers.delete", &format!("#{id} {}", describe_rule(&rule))).await?;
    Ok(Redirect::to("/console/answers?done=deleted").into_response())
}
