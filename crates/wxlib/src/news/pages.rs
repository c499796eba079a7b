//! Editable pages — the freshman guide and "About us" — served to readers at `/pages/guide` and
//! `/pages/about`, and the guide as a series for new followers.
//!
//! The guide's text is split into parts by lines holding only `---`; each part's first line is its
//! title. When the series is on, a new follower gets part 1 with the welcome (the passive reply
//! to the follow, which needs no customer-service window) and part k (k ≥ 2) k−1 intervals later
//! by customer-service message through the outbox — but only if the reader's 48-hour window is
//! open then (WeChat refuses otherwise); a part whose window had closed is recorded as such and
//! the console shows it. A reader gets each part at most once, also across unfollow/follow.

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::clock::local_datetime;
use crate::console::layout::{csrf_field, flash_error, flash_ok, page};
use crate::console::{ConsoleError, Librarian, audit};
use crate::db::{Db, DbError};
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;
use crate::web::error::WebError;
use crate::web::escape;
use crate::wechat::followers::WindowState;

pub const GUIDE: &str = "guide";
pub const ABOUT: &str = "about";
const SERIES_SETTING: &str = "guide.series";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub slug: String,
    pub title: String,
    pub body: String,
    pub updated_at: Option<i64>,
}

/// One part of the guide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub title: String,
    pub text: String,
}

const DEFAULT_GUIDE: &str = "欢迎来到图书馆\n入校后凭校园一卡通即可进馆、借书，无需另办借书证。在公众号“借阅信息 → 绑定一卡通”绑定后，可在微信里查借阅、续借。\n---\n找书与借书\n在公众号直接发送书名或作者即可检索馆藏，结果中有索书号和在架册数。按索书号到对应书库取书，在自助借还机借出。\n---\n续借、预约与归还\n借期内可在公众号续借；到期前 3 天会收到提醒。想借的书都被借出时可以预约，书到馆后通知您。";

/// The page as saved, or its default (the guide's starter text; About us from the configuration).
pub async fn get_page(s: &Services, slug: &str) -> Result<Page, DbError> {
    Ok(match s.db.saved_page(slug).await? {
        Some((title, body, at)) => Page { slug: slug.to_owned(), title, body, updated_at: Some(at) },
        None if slug == GUIDE => Page { slug: slug.into(), title: "新生指南".into(), body: DEFAULT_GUIDE.into(), updated_at: None },
        None => Page {
            slug: slug.into(),
            title: format!("关于我们 · {}", s.config.library.name),
            body: s.config.library.about.clone(),
            updated_at: None,
        },
    })
}

/// The guide's parts (split on lines holding only `---`; empty parts dropped).
pub fn parts(body: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut flush = |lines: &mut Vec<&str>| {
        let mut it = lines.iter().map(|l| l.trim_end()).skip_while(|l| l.trim().is_empty());
        if let Some(title) = it.next() {
            let text = it.collect::<Vec<_>>().join("\n").trim().to_owned();
            out.push(Part { title: title.trim().trim_start_matches('#').trim().to_owned(), text });
        }
        lines.clear();
    };
    for line in body.lines() {
        if line.trim() == "---" {
            flush(&mut current);
        } else {
            current.push(line);
        }
    }
    flush(&mut current);
    out
}

/// Text as HTML paragraphs (blank lines separate paragraphs; everything escaped).
fn paragraphs(text: &str) -> String {
    text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>"))).collect()
}

/// The chat text announcing part `n` of `total`, with a link to it.
pub fn part_message(base: &str, part: &Part, n: usize, total: usize, lang: Lang) -> String {
    let summary: String = part.text.chars().take(120).collect();
    let more = if part.text.chars().count() > 120 { "…" } else { "" };
    match lang {
        Lang::Zh => {
            format!("【新生指南 {n}/{total}】{}\n{summary}{more}\n<a href=\"{base}/pages/guide#part-{n}\">阅读全文</a>", part.title)
        }
        Lang::En => {
            format!("[Freshman guide {n}/{total}] {}\n{summary}{more}\n<a href=\"{base}/pages/guide#part-{n}\">Read it all</a>", part.title)
        }
    }
}

/// Whether the guide goes out as a series, and how many days apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Series {
    pub enabled: bool,
    pub every_days: i64,
}

pub async fn series(db: &Db) -> Result<Series, DbError> {
    Ok(db.setting(SERIES_SETTING).await?.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or(Series { enabled: false, every_days: 1 }))
}

/// A follow: schedules the guide's parts (once per reader) and returns part 1's message for the
/// welcome reply, if the series is on and part 1 was not sent to this reader before.
pub async fn on_follow(s: &Services, openid: &str) -> Result<Option<String>, DbError> {
    let cfg = series(&s.db).await?;
    if !cfg.enabled || openid.is_empty() {
        return Ok(None);
    }
    let guide = get_page(s, GUIDE).await?;
    let parts = parts(&guide.body);
    if parts.is_empty() {
        return Ok(None);
    }
    let now = s.clock.now();
    let mut first_is_new = false;
    for k in 1..=parts.len() as i64 {
        let (status, done) = if k == 1 { ("sent", Some(now)) } else { ("pending", None) };
        let note = (k == 1).then_some("with the welcome reply");
        let due_at = now + (k - 1) * cfg.every_days * crate::clock::DAY_SECS;
        let scheduled = s.db.schedule_guide_part(openid, k, due_at, status, note, done).await?;
        if k == 1 {
            first_is_new = scheduled;
        }
    }
    Ok(first_is_new.then(|| part_message(&s.config.server.public_url, &parts[0], 1, parts.len(), s.lang)))
}

/// What one run of the series did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeriesRun {
    pub queued: usize,
    pub window_closed: usize,
}

/// Sends the parts that are due: through the outbox if the reader's window is open, else records
/// that the window had closed (WeChat would refuse the message).
pub async fn run_due(s: &Services) -> Result<SeriesRun, DbError> {
    let now = s.clock.now();
    let due = s.db.guide_parts_due(now).await?;
    if due.is_empty() {
        return Ok(SeriesRun::default());
    }
    let guide = get_page(s, GUIDE).await?;
    let parts = parts(&guide.body);
    let mut run = SeriesRun::default();
    for (id, openid, part) in due {
        let (status, note) = match (parts.get((part - 1).max(0) as usize), s.db.window_state(&openid, now).await?) {
            (None, _) => ("skipped", "the guide no longer has this part".to_owned()),
            (Some(p), WindowState::Open { .. }) => {
                let text = part_message(&s.config.server.public_url, p, part as usize, parts.len(), s.lang);
                s.push(&openid, &wechat::Reply::text(text), &format!("guide:{openid}:{part}")).await?;
                run.queued += 1;
                ("queued", "customer-service message".to_owned())
            }
            (Some(_), WindowState::Closed) => {
                run.window_closed += 1;
                ("window_closed", "the reader's 48-hour window had closed (or they unfollowed)".to_owned())
            }
            (Some(_), WindowState::Exhausted) => {
                run.window_closed += 1;
                ("window_closed", "the reader's window had no sends left".to_owned())
            }
        };
        s.db.finish_guide_part(id, status, &note, now).await?;
    }
    Ok(run)
}

/// Runs the series every [`crate::jobs::TICK`] (the first a tick after start), one node at a
/// time (a lease).
pub async fn scheduler(s: Services) {
    let holder = format!("{:016x}", rand::random::<u64>());
    let pause = crate::jobs::Pause::every(crate::jobs::TICK);
    pause.wait().await;
    let (s, holder) = (&s, holder.as_str());
    crate::jobs::forever("guide series run", pause, move || async move {
        if s.db.try_lease("guide_series", holder, 120, crate::db::unix_now()).await? {
            let r = run_due(s).await?;
            if r != SeriesRun::default() {
                tracing::info!(queued = r.queued, window_closed = r.window_closed, "guide series run");
            }
        }
        Ok::<_, DbError>(crate::jobs::Next::Pause)
    })
    .await
}

// ---- public pages ----

async fn public(s: &Services, slug: &str) -> Result<Response, WebError> {
    let p = get_page(s, slug).await.map_err(|e| {
        WebError::page(StatusCode::INTERNAL_SERVER_ERROR, "图书馆", "<div class=\"card no\">系统出错了，请稍后再试。</div>")
            .because("page", e)
    })?;
    let body = if slug == GUIDE {
        parts(&p.body)
            .iter()
            .enumerate()
            .map(|(i, part)| {
                format!("<div class=\"card\" id=\"part-{}\"><h3>{}</h3>{}</div>", i + 1, escape(&part.title), paragraphs(&part.text))
            })
            .collect()
    } else {
        format!("<div class=\"card\" id=\"page-body\">{}</div>", paragraphs(&p.body))
    };
    Ok(Html(crate::web::page(&p.title, &body)).into_response())
}

async fn guide_page(State(s): State<Services>) -> Result<Response, WebError> {
    public(&s, GUIDE).await
}

async fn about_page(State(s): State<Services>) -> Result<Response, WebError> {
    public(&s, ABOUT).await
}

/// The reader-facing pages: `/pages/guide`, `/pages/about`, `/pages/new`.
pub fn public_routes(s: Services) -> axum::Router {
    axum::Router::new()
        .route("/pages/guide", get(guide_page))
        .route("/pages/about", get(about_page))
        .route("/pages/new", get(super::resources::public_page))
        .with_state(s)
}

// ---- console ----

pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new().route("/", get(show)).route("/{slug}", post(save)).route("/guide/series", post(save_series))
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
    typed: Option<(&str, &str, &str)>,
) -> Result<Response, ConsoleError> {
    let lang = lib.lang;
    let mut body = String::from(message);
    for (slug, zh, en) in [(GUIDE, "新生指南", "Freshman guide"), (ABOUT, "关于我们", "About us")] {
        let p = get_page(s, slug).await?;
        let (title, text) = match typed {
            Some((ts, tt, tb)) if ts == slug => (tt.to_owned(), tb.to_owned()),
            _ => (p.title.clone(), p.body.clone()),
        };
        let hint = if slug == GUIDE {
            t(
                lang,
                "用单独一行 --- 分隔各部分，每部分第一行是标题。系列推送时，第 1 部分随欢迎语发送，之后每隔设定天数发送下一部分。",
                "Separate parts with a line holding only ---; each part's first line is its title. In the series, part 1 goes with the welcome and each next part after the set number of days.",
            )
        } else {
            t(lang, "空行分段。", "Blank lines separate paragraphs.")
        };
        body.push_str(&format!(
            "<form method=\"post\" action=\"/console/pages/{slug}\" class=\"card\" id=\"page-{slug}\">{csrf}<h2>{name} <a href=\"/pages/{slug}\" class=\"muted\">/pages/{slug}</a></h2>\
             <p class=\"muted\">{hint}{updated}</p><p><label>{tl}<input type=\"text\" name=\"title\" value=\"{title}\" style=\"width:100%\"></label></p>\
             <p><textarea name=\"body\" rows=\"12\">{text}</textarea></p><button type=\"submit\">{save}</button></form>",
            csrf = csrf_field(lib),
            name = t(lang, zh, en),
            updated = p.updated_at.map(|at| format!(" · {} {}", t(lang, "更新于", "updated"), local_datetime(at))).unwrap_or_default(),
            tl = t(lang, "标题", "Title"),
            title = escape(&title),
            text = escape(&text),
            save = t(lang, "保存", "Save"),
        ));
    }
    let cfg = series(&s.db).await?;
    let (counts, closed) = s.db.guide_delivery_report().await?;
    let count_text: String = counts
        .iter()
        .map(|(status, n)| {
            let label = match status.as_str() {
                "sent" => t(lang, "随欢迎语发送", "sent with the welcome"),
                "queued" => t(lang, "已通过客服消息发送", "sent by customer-service message"),
                "pending" => t(lang, "待发送", "waiting"),
                "window_closed" => t(lang, "未发送：读者的 48 小时窗口已关闭", "not sent: the reader's 48-hour window had closed"),
                _ => t(lang, "已跳过", "skipped"),
            };
            format!("<li><span class=\"series-{status}\">{label}</span>：{n}</li>")
        })
        .collect();
    let closed_rows: String = closed
        .iter()
        .map(|(o, part, at)| {
            format!("<li>{} · {} {part} · {}</li>", escape(o), t(lang, "第", "part"), at.map(local_datetime).unwrap_or_default())
        })
        .collect();
    body.push_str(&format!(
        "<form method=\"post\" action=\"/console/pages/guide/series\" class=\"card\" id=\"guide-series\">{csrf}<h2>{title}</h2>\
         <p><label><input type=\"checkbox\" name=\"enabled\" value=\"1\"{checked}> {on}</label> \
         <label>{every} <input type=\"text\" name=\"every_days\" value=\"{days}\" size=\"3\"> {unit}</label> <button type=\"submit\">{save}</button></p>\
         <p class=\"muted\">{why}</p><ul id=\"series-report\">{count_text}</ul>{closed}</form>",
        csrf = csrf_field(lib),
        title = t(lang, "新关注读者的新生指南系列", "Guide series for new followers"),
        checked = if cfg.enabled { " checked" } else { "" },
        on = t(lang, "开启", "On"),
        every = t(lang, "每隔", "every"),
        days = cfg.every_days,
        unit = t(lang, "天发送下一部分", "day(s) the next part"),
        save = t(lang, "保存", "Save"),
        why = t(lang, "微信只允许在读者 48 小时内与公众号互动过时发送客服消息；窗口关闭时该部分不会发送，并在下面列出。", "WeChat allows customer-service messages only within 48 hours of the reader's last interaction; parts due when the window had closed are not sent and are listed below."),
        closed = if closed_rows.is_empty() { String::new() } else { format!("<p>{}</p><ul id=\"series-closed\">{closed_rows}</ul>", t(lang, "窗口已关闭、未能发送：", "Not sent, window closed:")) },
    ));
    Ok((status, page(lib, t(lang, "新生指南与关于我们", "Guide & about"), &body)).into_response())
}

async fn show(State(s): State<Services>, lib: Librarian, Query(f): Query<Flash>) -> Result<Response, ConsoleError> {
    let msg = match f.ok.as_deref() {
        Some("saved") => flash_ok(t(lib.lang, "页面已保存，读者打开即可看到。", "Page saved; readers see it now.")),
        Some("series") => flash_ok(t(lib.lang, "系列设置已保存。", "Series settings saved.")),
        _ => String::new(),
    };
    render(&s, &lib, StatusCode::OK, &msg, None).await
}

#[derive(Deserialize)]
pub struct PageForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

async fn save(
    State(s): State<Services>,
    lib: Librarian,
    Path(slug): Path<String>,
    Form(f): Form<PageForm>,
) -> Result<Response, ConsoleError> {
    if slug != GUIDE && slug != ABOUT {
        return Err(ConsoleError::NotFound);
    }
    let (title, body) = (f.title.trim(), f.body.trim());
    let problem = if title.is_empty() || title.chars().count() > 64 {
        Some(t(lib.lang, "请填写标题（最多 64 个字）。", "Enter a title (at most 64 characters)."))
    } else if body.is_empty() || body.chars().count() > 20_000 {
        Some(t(lib.lang, "正文不能为空，最多 20000 个字。", "The text must not be empty and at most 20,000 characters."))
    } else if slug == GUIDE && parts(body).is_empty() {
        Some(t(lib.lang, "新生指南至少需要一个部分。", "The guide needs at least one part."))
    } else {
        None
    };
    if let Some(p) = problem {
        let msg = flash_error(&format!("{}{p}", t(lib.lang, "未保存：", "Not saved: ")));
        return render(&s, &lib, StatusCode::BAD_REQUEST, &msg, Some((&slug, &f.title, &f.body))).await;
    }
    s.db.save_page(&slug, title, body, lib.id, s.clock.now()).await?;
    audit(&s.db, &lib, "pages.save", &format!("{slug}: {title} ({} characters)", body.chars().count())).await?;
    Ok(Redirect::to("/console/pages?ok=saved").into_response())
}

async fn save_series(State(s): State<Services>, lib: Librarian, Form(f): Form<HashMap<String, String>>) -> Result<Response, ConsoleError> {
    let enabled = f.contains_key("enabled");
    let every_days = match f.get("every_days").map(|v| v.trim().parse::<i64>()) {
        Some(Ok(n)) if (1..=30).contains(&n) => n,
        _ => {
            let msg = flash_error(t(
                lib.lang,
                "未保存：间隔天数须为 1–30 的整数。",
                "Not saved: the interval must be a whole number of days from 1 to 30.",
            ));
            return render(&s, &lib, StatusCode::BAD_REQUEST, &msg, None).await;
        }
    };
    let cfg = Series { enabled, every_days };
    s.db.put_setting(SERIES_SETTING, &serde_json::to_string(&cfg).unwrap_or_default()).await?;
    audit(&s.db, &lib, "pages.guide.series", &format!("enabled={enabled} every_days={every_days}")).await?;
    Ok(Redirect::to("/console/pages?ok=series").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_parts() {
        let p = parts(DEFAULT_GUIDE);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].title, "欢迎来到图书馆");
        assert!(p[2].text.contains("预约"));
        assert_eq!(
            parts("# One\ntext\n---\n\n---\nTwo"),
            vec![Part { title: "One".into(), text: "text".into() }, Part { title: "Two".into(), text: String::new() }]
        );
        assert!(parts("  \n---\n").is_empty());
    }
}
