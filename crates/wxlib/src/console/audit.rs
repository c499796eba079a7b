//! The audit log: who changed or sent what, and when. Every change and every send made from the
//! console writes a row through [`audit`]; commands run on the server (`create-admin`) write
//! rows with no librarian. Admins read it at `/console/audit`.

use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;

use super::auth::{Admin, Librarian};
use super::error::ConsoleError;
use super::layout::page;
use crate::clock::local_datetime;
use crate::db::{Db, DbError, unix_now};
use crate::lang::t;
use crate::services::Services;
use crate::web::escape;

/// One row of the audit log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub librarian_id: Option<i64>,
    /// The librarian's user name (`None` for commands run on the server).
    pub username: Option<String>,
    pub action: String,
    pub detail: String,
}

/// Records that `who` did `action` (a dotted name like `menu.push`) with a human-readable detail.
pub async fn audit(db: &Db, who: &Librarian, action: &str, detail: &str) -> Result<(), DbError> {
    insert(db, Some(who.id), action, detail).await
}

/// Records an action taken on the server itself (a command line), with no librarian.
pub async fn audit_system(db: &Db, action: &str, detail: &str) -> Result<(), DbError> {
    insert(db, None, action, detail).await
}

async fn insert(db: &Db, librarian_id: Option<i64>, action: &str, detail: &str) -> Result<(), DbError> {
    db.insert_audit(unix_now(), librarian_id, action, detail).await
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    page: Option<i64>,
}

const PAGE_SIZE: i64 = 50;

/// `GET /console/audit` (admins): the log, newest first, filterable by action prefix.
pub async fn audit_page(State(s): State<Services>, admin: Admin, Query(q): Query<AuditQuery>) -> Result<Html<String>, ConsoleError> {
    let lang = admin.lang;
    let page_no = q.page.unwrap_or(1).max(1);
    let prefix: String = q.action.trim().chars().take(64).collect();
    let entries = s.db.audit_entries(&prefix, PAGE_SIZE + 1, (page_no - 1) * PAGE_SIZE).await?;
    let more = entries.len() as i64 > PAGE_SIZE;
    let rows: String = entries
        .iter()
        .take(PAGE_SIZE as usize)
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                local_datetime(e.at),
                escape(e.username.as_deref().unwrap_or(t(lang, "（服务器命令）", "(server command)"))),
                escape(&e.action),
                escape(&e.detail)
            )
        })
        .collect();
    let filter = format!(
        "<form method=\"get\" class=\"row card\"><label>{}<input type=\"text\" name=\"action\" value=\"{}\" placeholder=\"menu.\"></label><button type=\"submit\">{}</button></form>",
        t(lang, "按操作筛选（前缀）", "Filter by action (prefix)"),
        escape(&prefix),
        t(lang, "筛选", "Filter")
    );
    let nav = format!(
        "<p>{}{}</p>",
        if page_no > 1 {
            format!(
                "<a href=\"?action={}&amp;page={}\">← {}</a> ",
                escape(&crate::web::urlencode(&prefix)),
                page_no - 1,
                t(lang, "上一页", "Newer")
            )
        } else {
            String::new()
        },
        if more {
            format!(
                "<a href=\"?action={}&amp;page={}\">{} →</a>",
                escape(&crate::web::urlencode(&prefix)),
                page_no + 1,
                t(lang, "下一页", "Older")
            )
        } else {
            String::new()
        }
    );
    let table = if rows.is_empty() {
        format!("<p class=\"muted\">{}</p>", t(lang, "没有记录。", "No entries."))
    } else {
        format!(
            "<table id=\"audit\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table>",
            t(lang, "时间", "Time"),
            t(lang, "馆员", "Librarian"),
            t(lang, "操作", "Action"),
            t(lang, "详情", "Detail")
        )
    };
    Ok(page(&admin, t(lang, "操作日志", "Audit log"), &format!("{filter}{table}{nav}")))
}
