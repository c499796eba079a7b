//! Library news, the part of the account that keeps readers informed: opening hours and their
//! changes ([`hours`], console in [`hours_console`]), new resources ([`resources`]: new books from
//! catalog imports, curated e-resources) and the editable pages, freshman guide and About us,
//! with the guide sent as a series to new followers ([`pages`]). Here: the chat side.

pub mod hours;
pub mod hours_console;
pub mod pages;
pub mod resources;
pub mod store;

use std::sync::Arc;

use wechat::{Inbound, Reply};

use crate::lang::Lang;
use crate::services::Services;
use crate::wechat::router::HandlerError;

/// Words that ask for today's hours (matched whole, case-insensitive).
pub const HOURS_TODAY_WORDS: &[&str] =
    &["开放时间", "开馆时间", "今天开放吗", "今天开馆吗", "今天几点关门", "hours", "opening hours", "today"];
/// Words that ask for tomorrow's hours.
pub const HOURS_TOMORROW_WORDS: &[&str] = &["明天开放吗", "明天开馆吗", "明天开放时间", "tomorrow"];

/// "开放时间 10-01", "hours 2026-10-01": the hours of the day named after the word.
pub const HOURS_DATE_PREFIXES: &[&str] = &["开放时间", "开馆时间", "hours", "Hours"];

/// The hours of a day the reader names; if the day cannot be read, today's with a hint.
pub async fn hours_on_day(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let text = match &m.kind {
        wechat::InboundKind::Text { content } => content.trim().to_owned(),
        _ => String::new(),
    };
    let rest = HOURS_DATE_PREFIXES.iter().find_map(|p| text.strip_prefix(p)).unwrap_or_default();
    let today = crate::clock::day_of(s.clock.now());
    match hours::parse_asked_day(rest, today) {
        Some(day) => Ok(Reply::text(hours::answer_for_day(&s.db, day, s.lang, "").await?)),
        None => {
            let label = if s.lang == Lang::Zh { "今天" } else { "today" };
            let hint = if s.lang == Lang::Zh {
                "\n\n查询某一天：发送“开放时间 10-01”。"
            } else {
                "\n\nFor another day, send \"hours 10-01\"."
            };
            Ok(Reply::text(format!("{}{hint}", hours::answer_for_day(&s.db, today, s.lang, label).await?)))
        }
    }
}

/// "开放时间" / "today" / the menu: the hours for the app clock's date.
pub async fn hours_today(s: Services, _m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let today = crate::clock::day_of(s.clock.now());
    let label = if s.lang == Lang::Zh { "今天" } else { "today" };
    Ok(Reply::text(hours::answer_for_day(&s.db, today, s.lang, label).await?))
}

/// "明天开放吗" / "tomorrow".
pub async fn hours_tomorrow(s: Services, _m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let tomorrow = crate::clock::day_of(s.clock.now()) + 1;
    let label = if s.lang == Lang::Zh { "明天" } else { "tomorrow" };
    Ok(Reply::text(hours::answer_for_day(&s.db, tomorrow, s.lang, label).await?))
}

/// The menu's "新书资源": new books and e-resources.
pub async fn new_resources(s: Services, _m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    Ok(Reply::text(resources::chat_answer(&s).await?))
}

/// The menu's "关于我们": the start of the page and a link to all of it.
pub async fn about(s: Services, _m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let p = pages::get_page(&s, pages::ABOUT).await?;
    let summary: String = p.body.chars().take(300).collect();
    let more = if s.lang == Lang::Zh { "查看全文" } else { "Read more" };
    Ok(Reply::text(format!("{}\n{summary}\n<a href=\"{}/pages/about\">{more}</a>", p.title, s.config.server.public_url)))
}

/// The menu's "新生指南": the parts with links.
pub async fn guide(s: Services, _m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let p = pages::get_page(&s, pages::GUIDE).await?;
    let base = &s.config.server.public_url;
    let mut out = p.title.clone();
    for (i, part) in pages::parts(&p.body).iter().enumerate() {
        out.push_str(&format!("\n{}. <a href=\"{base}/pages/guide#part-{}\">{}</a>", i + 1, i + 1, part.title));
    }
    Ok(Reply::text(out))
}

/// The demo's library news: two places with their hours and one e-resource.
pub async fn seed_demo(db: &crate::db::Db, now: i64) -> Result<(), crate::db::DbError> {
    let weekday = hours::parse_intervals("08:00-22:00").unwrap_or_default();
    let weekend = hours::parse_intervals("09:00-17:00").unwrap_or_default();
    let main = db.add_place("总馆", "Main library", &weekday).await?;
    let week: Vec<Vec<hours::Interval>> = (1..=7).map(|d| if d >= 6 { weekend.clone() } else { weekday.clone() }).collect();
    db.set_weekly_hours(main, &week).await?;
    db.add_place("自习室", "Study rooms", &hours::parse_intervals("07:00-23:00").unwrap_or_default()).await?;
    let today = crate::clock::day_string(crate::clock::day_of(now));
    let cnki = resources::EResource {
        id: 0,
        name: "中国知网".into(),
        url: "https://www.cnki.net/".into(),
        access_note: "校园网内直接访问；校外请先连接学校 VPN。".into(),
        subject: "综合".into(),
        added_on: today,
    };
    db.add_eresource(&cnki, now).await?;
    Ok(())
}
