//! New resources: new books from the catalog imports (browsed by date added and by subject, the
//! subjects read from each record's MARC) and a curated list of e-resources and databases (name,
//! link, access note) that librarians keep in the console. Readers get both from the menu
//! ("新书资源") and on the public page `/pages/new`.

use std::collections::BTreeMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::hours::parse_day;
use crate::catalog::store::RecordSummary;
use crate::clock::{day_of, day_start, day_string};
use crate::console::layout::{csrf_field, flash_error, flash_ok, page};
use crate::console::{ConsoleError, Librarian, audit};
use crate::db::{Db, DbError};
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;
use crate::web::error::WebError;
use crate::web::escape;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EResource {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub access_note: String,
    pub subject: String,
    pub added_on: String,
}

/// A record added to the catalog, with when and its subjects.
#[derive(Debug, Clone)]
pub struct NewBook {
    pub record: RecordSummary,
    pub added_at: i64,
    pub subjects: Vec<String>,
}

/// The subjects of a stored MARC record (empty if it cannot be read).
fn subjects_of(marc_bytes: Option<&[u8]>) -> Vec<String> {
    let Some(raw) = marc_bytes else { return Vec::new() };
    match marc::Reader::with_charset(raw, marc::Charset::Utf8).next() {
        Some(Ok(record)) => marc::Bib::from_record(&record).subjects,
        _ => Vec::new(),
    }
}

/// How far back "new" reaches, and the most records a browse looks at.
pub const DEFAULT_DAYS: i64 = 30;
const BROWSE_LIMIT: i64 = 500;

/// New books added in the `days` days up to `now`, optionally only those with a subject
/// containing `subject`; with the subject counts of all of them (for browsing).
pub async fn new_books(db: &Db, now: i64, days: i64, subject: Option<&str>) -> Result<(Vec<NewBook>, BTreeMap<String, usize>), DbError> {
    let from = day_start(day_of(now) - days + 1);
    let rows = db.records_added_between(from, now + 1, BROWSE_LIMIT).await?;
    let mut counts = BTreeMap::new();
    let mut out = Vec::new();
    for (record, added_at, marc) in rows {
        let subjects = subjects_of(marc.as_deref());
        for s in &subjects {
            *counts.entry(s.clone()).or_insert(0) += 1;
        }
        let keep = match subject {
            Some(want) if !want.is_empty() => subjects.iter().any(|s| s.contains(want)),
            _ => true,
        };
        if keep {
            out.push(NewBook { record, added_at, subjects });
        }
    }
    Ok((out, counts))
}

/// The chat answer for "新书资源": the newest books and the e-resources, with links.
pub async fn chat_answer(s: &Services) -> Result<String, DbError> {
    let lang = s.lang;
    let base = &s.config.server.public_url;
    let newest = s.db.newest_records(5).await?;
    let mut out = String::from(if lang == Lang::Zh { "【新书】" } else { "[New books]" });
    if newest.is_empty() {
        out.push_str(if lang == Lang::Zh { "\n目录中还没有新书。" } else { "\nNo new books yet." });
    }
    for (i, r) in newest.iter().enumerate() {
        out.push_str(&format!(
            "\n{}. <a href=\"{base}/opac/record/{}\">{}</a>{}",
            i + 1,
            crate::web::urlencode(&r.id),
            r.title,
            r.year.map(|y| format!(" ({y})")).unwrap_or_default()
        ));
    }
    let eres = s.db.eresources().await?;
    if !eres.is_empty() {
        out.push_str(if lang == Lang::Zh { "\n\n【数据库与电子资源】" } else { "\n\n[Databases and e-resources]" });
        for r in eres.iter().take(5) {
            out.push_str(&format!("\n· <a href=\"{}\">{}</a>", r.url, r.name));
            if !r.access_note.is_empty() {
                out.push_str(&format!("：{}", r.access_note.chars().take(40).collect::<String>()));
            }
        }
    }
    out.push_str(&match lang {
        Lang::Zh => format!("\n\n<a href=\"{base}/pages/new\">按日期和主题浏览全部新资源</a>"),
        Lang::En => format!("\n\n<a href=\"{base}/pages/new\">Browse all new resources by date and subject</a>"),
    });
    Ok(out)
}

#[derive(Deserialize, Default)]
pub struct BrowseQuery {
    days: Option<i64>,
    subject: Option<String>,
}

/// `GET /pages/new?days=30&subject=…`: the public new-resources page readers open from chat.
pub async fn public_page(State(s): State<Services>, Query(q): Query<BrowseQuery>) -> Result<Response, WebError> {
    let days = q.days.unwrap_or(DEFAULT_DAYS).clamp(1, 366);
    let subject = q.subject.as_deref().map(str::trim).filter(|x| !x.is_empty());
    let (books, counts) = new_books(&s.db, s.clock.now(), days, subject).await.map_err(|e| {
        WebError::page(StatusCode::INTERNAL_SERVER_ERROR, "新资源", "<div class=\"card no\">系统出错了，请稍后再试。</div>")
            .because("new resources page", e)
    })?;
    let eres = s.db.eresources().await.unwrap_or_default();
    let mut body = String::new();
    let ranges: String = [7, 30, 90]
        .iter()
        .map(|d| if *d == days { format!("<b>近 {d} 天</b> ") } else { format!("<a href=\"/pages/new?days={d}\">近 {d} 天</a> ") })
        .collect();
    body.push_str(&format!("<div class=\"card\"><b>新书</b> {ranges}</div>"));
    let mut top: Vec<(&String, &usize)> = counts.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    if !top.is_empty() {
        let links: String = top
            .iter()
            .take(20)
            .map(|(name, n)| {
                format!(
                    "<a href=\"/pages/new?days={days}&amp;subject={}\">{}</a>({n}) ",
                    escape(&crate::web::urlencode(name)),
                    escape(name)
                )
            })
            .collect();
        body.push_str(&format!("<div class=\"card\" id=\"subjects\">按主题：<a href=\"/pages/new?days={days}\">全部</a> {links}</div>"));
    }
    if let Some(sub) = subject {
        body.push_str(&format!("<p class=\"muted\">主题含“{}”的新书：{} 种</p>", escape(sub), books.len()));
    }
    let list: String = books
        .iter()
        .map(|b| {
            format!(
                "<tr class=\"new-book\"><td><a href=\"/opac/record/{}\">{}</a><div class=\"muted\">{}{}</div></td><td>{}</td></tr>",
                escape(&crate::web::urlencode(&b.record.id)),
                escape(&b.record.title),
                escape(b.record.author.as_deref().unwrap_or_default()),
                if b.subjects.is_empty() { String::new() } else { format!(" · {}", escape(&b.subjects.join("；"))) },
                day_string(day_of(b.added_at)),
            )
        })
        .collect();
    body.push_str(&if list.is_empty() {
        "<div class=\"card\">这段时间没有新书。</div>".to_owned()
    } else {
        format!("<table id=\"new-books\"><tr><th>题名</th><th>入藏</th></tr>{list}</table>")
    });
    let eres_rows: String = eres
        .iter()
        .map(|r| {
            format!(
                "<div class=\"card eresource\"><a href=\"{}\">{}</a>{}<div class=\"muted\">{}</div></div>",
                escape(&r.url),
                escape(&r.name),
                if r.subject.is_empty() { String::new() } else { format!(" <span class=\"muted\">[{}]</span>", escape(&r.subject)) },
                escape(&r.access_note)
            )
        })
        .collect();
    body.push_str(&format!(
        "<h3>数据库与电子资源</h3>{}",
        if eres_rows.is_empty() { "<div class=\"card\">暂无。</div>".to_owned() } else { eres_rows }
    ));
    Ok(Html(crate::web::page("新书与电子资源", &body)).into_response())
}

pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new().route("/", get(show).post(add)).route("/{id}/delete", post(delete))
}

#[derive(Deserialize, Default)]
pub struct Flash {
    ok: Option<String>,
}

async fn render(
    s: &Services,
    lib: &Librarian,
    status: StatusCode,
    message: &str,
    form: &std::collections::HashMap<String, String>,
) -> Result<Response, ConsoleError> {
    let lang = lib.lang;
    let field = |k: &str| escape(form.get(k).map(String::as_str).unwrap_or_default());
    let list = s.db.eresources().await?;
    let rows: String = list
        .iter()
        .map(|r| {
            format!(
                "<tr id=\"eresource-{id}\"><td><a href=\"{url}\">{name}</a></td><td>{subject}</td><td>{note}</td><td>{on}</td><td><form method=\"post\" action=\"/console/resources/{id}/delete\" class=\"inline\">{csrf}<button type=\"submit\" class=\"danger\">{del}</button></form></td></tr>",
                id = r.id,
                url = escape(&r.url),
                name = escape(&r.name),
                subject = escape(&r.subject),
                note = escape(&r.access_note),
                on = escape(&r.added_on),
                csrf = csrf_field(lib),
                del = t(lang, "删除", "Delete")
            )
        })
        .collect();
    let (books, _) = new_books(&s.db, s.clock.now(), DEFAULT_DAYS, None).await?;
    let body = format!(
        "{message}<div class=\"card\"><h2>{eh}</h2><table id=\"eresources\"><tr><th>{n}</th><th>{sub}</th><th>{note}</th><th>{added}</th><th></th></tr>{rows}</table></div>\
         <form method=\"post\" action=\"/console/resources\" class=\"card\" id=\"add-eresource\">{csrf}<b>{add_title}</b><div class=\"row\">\
         <label>{n} <input type=\"text\" name=\"name\" value=\"{v_name}\"></label><label>{link} <input type=\"text\" name=\"url\" value=\"{v_url}\" placeholder=\"https://\"></label>\
         <label>{sub} <input type=\"text\" name=\"subject\" value=\"{v_subject}\"></label><label>{added} <input type=\"text\" name=\"added_on\" value=\"{v_added}\" placeholder=\"{today}\"></label></div>\
         <p><label>{note}<textarea name=\"access_note\" rows=\"2\">{v_note}</textarea></label></p><button type=\"submit\">{add}</button></form>\
         <div class=\"card\"><h2>{nb}</h2><p>{nb_text}</p><p><a href=\"/pages/new\">/pages/new</a></p></div>",
        eh = t(lang, "数据库与电子资源", "Databases and e-resources"),
        n = t(lang, "名称", "Name"),
        sub = t(lang, "学科/主题", "Subject"),
        note = t(lang, "访问说明（如：校园网内访问，校外用 VPN）", "Access note (e.g. on campus network; VPN off campus)"),
        added = t(lang, "上线日期", "Added on"),
        link = t(lang, "链接", "Link"),
        csrf = csrf_field(lib),
        add_title = t(lang, "添加电子资源", "Add an e-resource"),
        add = t(lang, "添加", "Add"),
        today = day_string(day_of(s.clock.now())),
        v_name = field("name"),
        v_url = field("url"),
        v_subject = field("subject"),
        v_added = field("added_on"),
        v_note = field("access_note"),
        nb = t(lang, "新书", "New books"),
        nb_text = match lang {
            Lang::Zh => format!("新书来自目录导入（wxlib import）。近 {DEFAULT_DAYS} 天入藏 {} 种；读者可按日期和主题浏览：", books.len()),
            Lang::En => format!(
                "New books come from catalog imports (wxlib import). {} added in the last {DEFAULT_DAYS} days; readers browse them by date and subject at:",
                books.len()
            ),
        },
    );
    Ok((status, page(lib, t(lang, "新资源", "New resources"), &body)).into_response())
}

async fn show(State(s): State<Services>, lib: Librarian, Query(f): Query<Flash>) -> Result<Response, ConsoleError> {
    let msg = match f.ok.as_deref() {
        Some("added") => flash_ok(t(lib.lang, "已添加。", "Added.")),
        Some("deleted") => flash_ok(t(lib.lang, "已删除。", "Deleted.")),
        _ => String::new(),
    };
    render(&s, &lib, StatusCode::OK, &msg, &Default::default()).await
}

/// Checks an e-resource form; the message says what is wrong.
fn check(f: &std::collections::HashMap<String, String>, today: &str, lang: Lang) -> Result<EResource, String> {
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (name, url, note, subject) = (get("name"), get("url"), get("access_note"), get("subject"));
    if name.is_empty() || name.chars().count() > 100 {
        return Err(t(lang, "请填写名称（最多 100 个字）。", "Enter a name (at most 100 characters).").into());
    }
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.len() < 11
        || url.len() > 1024
        || url.chars().any(char::is_whitespace)
    {
        return Err(t(
            lang,
            "链接须以 http:// 或 https:// 开头，且不含空格。",
            "The link must start with http:// or https:// and contain no spaces.",
        )
        .into());
    }
    if note.chars().count() > 500 || subject.chars().count() > 50 {
        return Err(
            t(lang, "访问说明最多 500 个字，主题最多 50 个字。", "The access note is at most 500 characters and the subject 50.").into()
        );
    }
    let added = get("added_on");
    let added_on = if added.is_empty() {
        today.to_owned()
    } else {
        parse_day(&added).map(day_string).map_err(|e| super::hours::HoursError::message(&e, lang))?
    };
    Ok(EResource { id: 0, name, url, access_note: note, subject, added_on })
}

async fn add(
    State(s): State<Services>,
    lib: Librarian,
    Form(f): Form<std::collections::HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let today = day_string(day_of(s.clock.now()));
    match check(&f, &today, lib.lang) {
        Ok(r) => {
            let id = s.db.add_eresource(&r, s.clock.now()).await?;
            audit(&s.db, &lib, "resources.add", &format!("#{id} {} {}", r.name, r.url)).await?;
            Ok(Redirect::to("/console/resources?ok=added").into_response())
        }
        Err(msg) => {
            render(&s, &lib, StatusCode::BAD_REQUEST, &flash_error(&format!("{}{msg}", t(lib.lang, "未保存：", "Not saved: "))), &f).await
        }
    }
}

async fn delete(State(s): State<Services>, lib: Librarian, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    let Some(name) = s.db.delete_eresource(id).await? else { return Err(ConsoleError::NotFound) };
    audit(&s.db, &lib, "resources.delete", &format!("#{id} {name}")).await?;
    Ok(Redirect::to("/console/resources?ok=deleted").into_response())
}
