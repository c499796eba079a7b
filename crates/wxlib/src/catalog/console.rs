//! `/console/suggestions`: the readers' purchase suggestions (荐购, posted at `/opac/suggest`)
//! as the acquisitions librarians read them — newest first, with the title, author, ISBN, the
//! reader's note, the date, and how many suggestions name the same book (by ISBN, else by
//! title) — and as a CSV export through [`Sheet`] (what a reader typed stays text in a
//! spreadsheet). Any signed-in librarian; the export is audited.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{Html, Response};
use axum::routing::get;

use super::store::SuggestionRow;
use crate::clock::local_datetime;
use crate::console::csv::Sheet;
use crate::console::layout::page;
use crate::console::{ConsoleError, Librarian, audit};
use crate::lang::t;
use crate::services::Services;
use crate::web::escape;

/// The most suggestions the page and the export show.
const SHOWN: i64 = 2000;

pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new().route("/", get(list)).route("/suggestions.csv", get(export))
}

/// What makes two suggestions the same book: the ISBN's digits, else the title folded.
fn book_key(r: &SuggestionRow) -> String {
    let isbn: String = r.isbn.as_deref().unwrap_or_default().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if isbn.is_empty() { format!("t:{}", r.title.trim().to_lowercase()) } else { format!("i:{}", isbn.to_uppercase()) }
}

/// How many of `rows` name each one's book.
fn same_book_counts(rows: &[SuggestionRow]) -> Vec<usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in rows {
        *counts.entry(book_key(r)).or_default() += 1;
    }
    rows.iter().map(|r| counts[&book_key(r)]).collect()
}

async fn list(State(s): State<Services>, lib: Librarian) -> Result<Html<String>, ConsoleError> {
    let lang = lib.lang;
    let rows = s.db.purchase_suggestions(SHOWN).await?;
    let counts = same_book_counts(&rows);
    let mut body =
        format!("<p><a id=\"suggestions-csv\" href=\"/console/suggestions/suggestions.csv\">{}</a></p>", t(lang, "导出 CSV", "Export CSV"));
    if rows.is_empty() {
        body.push_str(&format!("<p id=\"no-suggestions\">{}</p>", t(lang, "还没有读者荐购。", "No purchase suggestions yet.")));
        return Ok(page(&lib, t(lang, "读者荐购", "Purchase suggestions"), &body));
    }
    body.push_str(&format!(
        "<table id=\"suggestions\"><tr><th>{}</th><th>{}</th><th>{}</th><th>ISBN</th><th>{}</th><th>{}</th></tr>",
        t(lang, "日期", "Date"),
        t(lang, "书名", "Title"),
        t(lang, "作者", "Author"),
        t(lang, "读者说明", "Reader's note"),
        t(lang, "同一本书的荐购", "Suggestions of this book")
    ));
    for (r, n) in rows.iter().zip(&counts) {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{n}</td></tr>",
            local_datetime(r.created_at),
            escape(&r.title),
            escape(r.author.as_deref().unwrap_or_default()),
            escape(r.isbn.as_deref().unwrap_or_default()),
            escape(r.note.as_deref().unwrap_or_default()),
        ));
    }
    body.push_str("</table>");
    Ok(page(&lib, t(lang, "读者荐购", "Purchase suggestions"), &body))
}

async fn export(State(s): State<Services>, lib: Librarian) -> Result<Response, ConsoleError> {
    let rows = s.db.purchase_suggestions(SHOWN).await?;
    let counts = same_book_counts(&rows);
    let mut w = Sheet::with_bom();
    w.row(["date", "title", "author", "isbn", "note", "same_book"])?;
    for (r, n) in rows.iter().zip(&counts) {
        w.row([
            local_datetime(r.created_at).as_str(),
            &r.title,
            r.author.as_deref().unwrap_or_default(),
            r.isbn.as_deref().unwrap_or_default(),
            r.note.as_deref().unwrap_or_default(),
            &n.to_string(),
        ])?;
    }
    audit(&s.db, &lib, "suggestions.export", &format!("{} rows", rows.len())).await?;
    w.into_response(Some("purchase-suggestions.csv"))
}
