//! Searching the catalog in chat. The "Books query" menu items put the reader in a search mode
//! (title, author, subject, any word); the next text is the query. Plain text outside any mode
//! searches any word. Results come as a numbered list; `下一页`/`n` pages, a number opens a record,
//! `退出` leaves. The dialog lives in the store with an expiry, so it works across nodes.

use std::sync::Arc;

use wechat::{Inbound, Reply};

use super::store::{Dialog, dialog_write, search_log_write};
use super::{Catalog, Found, RecordView, SearchField, SearchPage, Sort, field_name, parse_field};
use crate::db::unix_now;
use crate::lang::Lang;
use crate::services::Services;
use crate::web::urlencode;
use crate::wechat::router::HandlerError;

pub const MENU_SEARCH_TITLE: &str = "SEARCH_TITLE";
pub const MENU_SEARCH_AUTHOR: &str = "SEARCH_AUTHOR";
pub const MENU_SEARCH_SUBJECT: &str = "SEARCH_SUBJECT";
pub const MENU_SEARCH_ANY: &str = "SEARCH_ANY";

const EXIT_WORDS: &[&str] = &["退出", "exit", "quit", "q"];
const NEXT_WORDS: &[&str] = &["下一页", "n", "next", "更多"];
const PREV_WORDS: &[&str] = &["上一页", "p", "prev"];

fn field_label(f: SearchField, lang: Lang) -> &'static str {
    match (lang, f) {
        (Lang::Zh, SearchField::Title) => "题名",
        (Lang::Zh, SearchField::Author) => "责任者",
        (Lang::Zh, SearchField::Subject) => "主题词",
        (Lang::Zh, SearchField::Isbn) => "ISBN",
        (Lang::Zh, SearchField::CallNumber) => "索书号",
        (Lang::Zh, SearchField::Any) => "任意词",
        (Lang::En, SearchField::Title) => "title",
        (Lang::En, SearchField::Author) => "author",
        (Lang::En, SearchField::Subject) => "subject",
        (Lang::En, SearchField::Isbn) => "ISBN",
        (Lang::En, SearchField::CallNumber) => "call number",
        (Lang::En, SearchField::Any) => "any word",
    }
}

fn shorten(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars { s.to_owned() } else { s.chars().take(max_chars).collect::<String>() + "…" }
}

/// The numbered result list.
pub fn render_page(p: &SearchPage, field: SearchField, lang: Lang) -> String {
    let label = field_label(field, lang);
    let mut out = match lang {
        Lang::Zh => format!("“{}”的{}检索结果：共 {} 条（第 {}/{} 页）\n", p.query, label, p.total, p.page, p.pages()),
        Lang::En => format!("{} result(s) for \"{}\" by {} (page {}/{})\n", p.total, p.query, label, p.page, p.pages()),
    };
    for (i, h) in p.hits.iter().enumerate() {
        let author = h.authors.first().map(|a| format!(" / {}", shorten(a, 20))).unwrap_or_default();
        let year = h.year.map(|y| format!(" ({y})")).unwrap_or_default();
        out.push_str(&format!("\n{}. {}{}{}", i + 1, shorten(&h.title, 40), author, year));
        let call = h.call_number.clone().unwrap_or_else(|| "-".into());
        let availability = super::availability_text(&h.availability, lang);
        out.push_str(&match lang {
            Lang::Zh => format!("\n   索书号 {call} · {availability}"),
            Lang::En => format!("\n   Call no. {call} · {availability}"),
        });
    }
    let more = p.page < p.pages();
    out.push_str(match (lang, more) {
        (Lang::Zh, true) => "\n\n回复序号查看详情；回复“下一页”看更多；回复“退出”结束检索。",
        (Lang::Zh, false) => "\n\n回复序号查看详情；回复“退出”结束检索。",
        (Lang::En, true) => "\n\nReply a number for details, \"n\" for more, \"exit\" to stop.",
        (Lang::En, false) => "\n\nReply a number for details, \"exit\" to stop.",
    });
    out
}

/// What a zero-hit search says: that nothing was found, a broader search, and a purchase suggestion.
pub fn render_zero(query: &str, field: SearchField, lang: Lang, public_url: &str) -> String {
    let suggest = format!("{}/opac/suggest?title={}", public_url, urlencode(query));
    let label = field_label(field, lang);
    match lang {
        Lang::Zh => {
            let broader = if field == SearchField::Any {
                "换个说法或减少检索词再试试。".to_owned()
            } else {
                "可回复“任意词”，用任意词重新检索。".to_owned()
            };
            format!("没有找到{label}包含“{query}”的图书。\n{broader}\n想让图书馆购买这本书？<a href=\"{suggest}\">荐购</a>")
        }
        Lang::En => {
            let broader = if field == SearchField::Any {
                "Try other or fewer words.".to_owned()
            } else {
                "Reply \"any\" to search any word instead.".to_owned()
            };
            format!(
                "No book found with {label} \"{query}\".\n{broader}\nWant the library to buy it? <a href=\"{suggest}\">Suggest a purchase</a>"
            )
        }
    }
}

/// A record's detail in chat, with a link to the full record page.
pub fn render_detail(v: &RecordView, lang: Lang, public_url: &str) -> String {
    let b = &v.bib;
    let title = b.title_vernacular.clone().or_else(|| b.title.clone()).unwrap_or_default();
    let mut lines = vec![format!("《{}》", title)];
    if let (Some(v), Some(r)) = (&b.title_vernacular, &b.title)
        && v != r
    {
        lines.push(r.clone());
    }
    let zh = lang == Lang::Zh;
    let author = b.responsibility_vernacular.clone().or_else(|| b.responsibility.clone()).or_else(|| b.main_author.clone());
    if let Some(a) = author {
        lines.push(format!("{}{}", if zh { "责任者：" } else { "By: " }, a));
    }
    let publisher = b.publisher_vernacular.clone().or_else(|| b.publisher.clone());
    let pubinfo = [publisher, b.year.map(|y| y.to_string())].into_iter().flatten().collect::<Vec<_>>().join(", ");
    if !pubinfo.is_empty() {
        lines.push(format!("{}{}", if zh { "出版：" } else { "Published: " }, pubinfo));
    }
    if let Some(isbn) = b.isbn13.first() {
        lines.push(format!("ISBN：{isbn}"));
    }
    if let Some(c) = super::import::display_call_number(b) {
        lines.push(format!("{}{}", if zh { "索书号：" } else { "Call no.: " }, c));
    }
    if !b.subjects.is_empty() {
        lines.push(format!(
            "{}{}",
            if zh { "主题：" } else { "Subjects: " },
            b.subjects.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        ));
    }
    lines.push(super::holdings_text(&v.availability, lang));
    for it in v.items.iter().take(5) {
        let place = [it.location.clone(), it.call_number.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        lines.push(format!("· {place} {}", super::copy_text(it, lang)));
    }
    lines.push(format!(
        "<a href=\"{}/opac/record/{}\">{}</a>",
        public_url,
        urlencode(&v.id),
        if zh { "查看完整记录" } else { "Full record" }
    ));
    lines.join("\n")
}

fn prompt(field: SearchField, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("请输入{}，例如书名、作者或关键词（中英文均可）。回复“退出”结束检索。", field_label(field, lang)),
        Lang::En => format!("Send the {} to search for. Reply \"exit\" to stop.", field_label(field, lang)),
    }
}

fn dialog_expiry(s: &Services, now: i64) -> i64 {
    now + s.config.catalog.dialog_timeout_secs
}

/// Menu click: enter a search mode.
pub async fn enter_mode(s: Services, m: Arc<Inbound>, field: SearchField) -> Result<Reply, HandlerError> {
    let now = unix_now();
    let d = Dialog { mode: Some(field_name(field).to_owned()), ..Default::default() };
    s.journal.write(vec![dialog_write(&m.from_user, &d, dialog_expiry(&s, now))]).await?;
    Ok(Reply::text(prompt(field, s.lang)))
}

/// What the catalog answers to a text, before the partner libraries add theirs
/// (`partners::chat::with_partner_libraries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchAnswer {
    /// The whole answer: a record's detail, the exit, a page turn.
    Done(Reply),
    /// Nothing found for `query` in `field`; `text` says so.
    NothingFound { text: String, query: String, field: SearchField },
    /// The first page of results.
    FirstPage(String),
}

/// Text from a reader: a query, a page turn, a number, or the exit word. `searched` is what the
/// index found for this text already (the question check's search, in any word, first page):
/// when that is the search to run, it is not run again.
pub async fn on_text(s: &Services, m: &Inbound, content: &str, searched: Option<Found>) -> Result<SearchAnswer, HandlerError> {
    let text = content.trim();
    let lang = s.lang;
    let now = unix_now();
    let openid = m.from_user.as_str();
    if EXIT_WORDS.iter().any(|w| text.eq_ignore_ascii_case(w)) {
        s.db.clear_dialog(openid).await?;
        return Ok(SearchAnswer::Done(Reply::text(if lang == Lang::Zh {
            "已退出检索。直接发送书名或作者可随时检索。"
        } else {
            "Search ended. Send a title or author any time to search again."
        })));
    }
    let d = s.db.dialog(openid, now).await?;
    let catalog: &Catalog = &s.catalog;
    let size = s.config.catalog.chat_page_size;
    let field = d.mode.as_deref().and_then(parse_field).unwrap_or(SearchField::Any);

    if let Ok(n) = text.parse::<usize>()
        && n >= 1
        && n <= d.hits.len()
    {
        let id = d.hits[n - 1].clone();
        let viewed = Dialog { record_id: Some(id.clone()), ..d.clone() };
        s.journal.write(vec![dialog_write(openid, &viewed, dialog_expiry(s, now))]).await?;
        return Ok(SearchAnswer::Done(match catalog.record(&id).await? {
            Some(v) => {
                let mut text = render_detail(&v, lang, &s.config.server.public_url);
                if s.ils.capabilities().hold && v.availability.total > 0 {
                    text.push_str(if lang == Lang::Zh {
                        "\n回复“预约”预约此书。"
                    } else {
                        "\nReply \"hold\" to place a hold."
                    });
                }
                if v.availability.total > 0 && v.availability.available == 0 && s.config.circulation.notices.enabled {
                    text.push_str(if lang == Lang::Zh {
                        "\n回复“到书提醒”，有可借的复本时通知您。"
                    } else {
                        "\nReply \"notify me\" to be told when a copy is back."
                    });
                }
                Reply::text(text)
            }
            None => {
                Reply::text(if lang == Lang::Zh { "这条记录已不在目录中。" } else { "That record is no longer in the catalog." })
            }
        }));
    }
    let paging = if NEXT_WORDS.iter().any(|w| text.eq_ignore_ascii_case(w)) {
        Some(d.page + 1)
    } else if PREV_WORDS.iter().any(|w| text.eq_ignore_ascii_case(w)) {
        Some((d.page - 1).max(1))
    } else {
        None
    };
    let (query, page, field) = match (paging, &d.query) {
        (Some(p), Some(q)) => (q.clone(), p, field),
        (Some(_), None) => {
            return Ok(SearchAnswer::Done(Reply::text(if lang == Lang::Zh {
                "请先发送检索词。"
            } else {
                "Send something to search for first."
            })));
        }
        // "任意词" after a search: run the same query on any word.
        (None, Some(q)) if text == "任意词" || text.eq_ignore_ascii_case("any") => (q.clone(), 1, SearchField::Any),
        (None, _) => (text.to_owned(), 1, field),
    };
    let page = page as usize;
    let already =
        searched.filter(|f| f.query == query && f.field == field && f.sort == Sort::Relevance && f.page == page && f.page_size == size);
    let page_result = match already {
        Some(found) => catalog.page(found).await?,
        None => catalog.search(&query, field, Sort::Relevance, page, size).await?,
    };
    let logged = search_log_write(Some(openid), field_name(field), &query, page_result.total as i64, now);
    if page_result.total == 0 {
        let d = Dialog { mode: Some(field_name(field).to_owned()), query: Some(query.clone()), page: 1, hits: vec![], record_id: None };
        s.journal.write(vec![logged, dialog_write(openid, &d, dialog_expiry(s, now))]).await?;
        let text = render_zero(&query, field, lang, &s.config.server.public_url);
        return Ok(SearchAnswer::NothingFound { text, query, field });
    }
    if page_result.hits.is_empty() {
        s.journal.write(vec![logged]).await?;
        return Ok(SearchAnswer::Done(Reply::text(if lang == Lang::Zh {
            "已经是最后一页了。"
        } else {
            "That was the last page."
        })));
    }
    let d = Dialog {
        mode: Some(field_name(field).to_owned()),
        query: Some(query),
        page: page_result.page as i64,
        hits: page_result.hits.iter().map(|h| h.id.clone()).collect(),
        record_id: d.record_id.clone(),
    };
    s.journal.write(vec![logged, dialog_write(openid, &d, dialog_expiry(s, now))]).await?;
    let text = render_page(&page_result, field, lang);
    Ok(if page_result.page == 1 { SearchAnswer::FirstPage(text) } else { SearchAnswer::Done(Reply::text(text)) })
}
