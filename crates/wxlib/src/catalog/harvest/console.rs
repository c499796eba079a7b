//! `/console/harvest`: the catalog harvest as librarians follow it — the provider, the
//! checkpoint, the last runs (start, end, outcome, counts, why a run failed), the records the
//! last run skipped and why, when the next run is due — and, for admins, "harvest now" (a
//! request in the store that the next node to look runs; CSRF-checked and audited like every
//! console POST).

use axum::extract::State;
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use oai::Datestamp;

use super::job::next_run_at;
use super::source_key;
use crate::clock::local_datetime;
use crate::console::layout::{csrf_field, page};
use crate::console::{Admin, ConsoleError, Librarian, audit};
use crate::lang::{Lang, t};
use crate::services::Services;
use crate::web::escape;

pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new().route("/", get(status)).route("/now", post(harvest_now))
}

fn outcome_text(lang: Lang, outcome: &str) -> &'static str {
    match outcome {
        "complete" => t(lang, "完成", "complete"),
        "failed" => t(lang, "失败", "failed"),
        "running" => t(lang, "进行中", "running"),
        "interrupted" => t(lang, "中断（下次接着收割）", "interrupted (the next run goes on)"),
        _ => t(lang, "未知", "unknown"),
    }
}

async fn status(State(s): State<Services>, lib: Librarian) -> Result<Html<String>, ConsoleError> {
    let lang = lib.lang;
    let cfg = &s.config.catalog.harvest;
    let title = t(lang, "目录收割（OAI-PMH）", "Catalog harvest (OAI-PMH)");
    if cfg.url.is_empty() {
        let body = format!(
            "<p id=\"harvest-off\">{}</p>",
            t(
                lang,
                "未配置 OAI-PMH 收割（catalog.harvest.url）：书目由 wxlib import 导入。",
                "No OAI-PMH provider is configured (catalog.harvest.url): records come from `wxlib import`."
            )
        );
        return Ok(page(&lib, title, &body));
    }
    let source = source_key(cfg);
    let state = s.db.harvest_state(&source).await?.unwrap_or_default();
    let runs: Vec<_> = s.db.harvest_runs(10).await?.into_iter().filter(|r| r.source == source).collect();
    let mut body = String::new();
    let every = if cfg.interval_secs == 0 {
        t(lang, "仅手动（“立即收割”或 wxlib harvest）", "on demand only (\"harvest now\" or `wxlib harvest`)").to_owned()
    } else {
        format!("{} {} {}", t(lang, "每", "every"), cfg.interval_secs.div_ceil(60), t(lang, "分钟", "minutes"))
    };
    body.push_str(&format!(
        "<table id=\"harvest-source\"><tr><th>{}</th><td>{}</td></tr><tr><th>metadataPrefix / set</th><td>{} / {}</td></tr><tr><th>{}</th><td>{}</td></tr>",
        t(lang, "数据源", "Provider"),
        escape(&cfg.url),
        escape(&cfg.metadata_prefix),
        if cfg.set.is_empty() { "—".to_owned() } else { escape(&cfg.set) },
        t(lang, "频率", "Schedule"),
        escape(&every),
    ));
    let checkpoint = match state.checkpoint {
        Some(c) => format!("{} UTC", Datestamp(c)),
        None => t(lang, "尚无完整收割（下次收割全部记录）", "no complete harvest yet (the next run lists everything)").to_owned(),
    };
    body.push_str(&format!("<tr><th>{}</th><td id=\"harvest-checkpoint\">{checkpoint}", t(lang, "检查点", "Checkpoint")));
    if state.resume_token.is_some() {
        body.push_str(&format!(
            " <span class=\"muted\">({})</span>",
            t(lang, "上次收割中途停止，下次从停止处继续", "a run stopped mid-list; the next one goes on from there")
        ));
    }
    body.push_str("</td></tr>");
    let last = runs.first();
    let next = if last.is_some_and(|r| r.outcome == "running") {
        t(lang, "正在收割", "running now").to_owned()
    } else {
        match next_run_at(cfg.interval_secs, last, state.requested_at) {
            Some(at) if state.requested_at.is_some() => {
                format!("{} ({})", t(lang, "已请求，数秒内开始", "asked for; starts within seconds"), local_datetime(at))
            }
            Some(at) => local_datetime(at.max(crate::db::unix_now())),
            None => t(lang, "仅手动", "on demand only").to_owned(),
        }
    };
    body.push_str(&format!("<tr><th>{}</th><td id=\"harvest-next\">{}</td></tr></table>", t(lang, "下次收割", "Next run"), escape(&next)));
    if lib.is_admin() {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/console/harvest/now\" class=\"inline\" id=\"harvest-now\">{}<button type=\"submit\">{}</button></form>",
            csrf_field(&lib),
            t(lang, "立即收割", "Harvest now")
        ));
    }
    body.push_str(&format!("<h2>{}</h2>", t(lang, "最近的收割", "Recent runs")));
    if runs.is_empty() {
        body.push_str(&format!("<p>{}</p>", t(lang, "还没有收割过。", "No runs yet.")));
    } else {
        body.push_str(&format!(
            "<table id=\"harvest-runs\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            t(lang, "开始", "Started"),
            t(lang, "结束", "Ended"),
            t(lang, "结果", "Outcome"),
            t(lang, "新增", "Added"),
            t(lang, "更新", "Updated"),
            t(lang, "删除", "Deleted"),
            t(lang, "跳过", "Skipped"),
            t(lang, "页数", "Pages"),
        ));
        for r in &runs {
            let message = r.message.as_deref().map(|m| format!("<br><span class=\"error\">{}</span>", escape(m))).unwrap_or_default();
            body.push_str(&format!(
                "<tr data-run=\"{id}\" data-outcome=\"{outcome}\"><td>{start}{full}</td><td>{end}</td><td>{outcome_text}{message}</td><td>{a}</td><td>{u}</td><td>{d}</td><td>{sk}</td><td>{p}</td></tr>",
                id = r.id,
                outcome = escape(&r.outcome),
                start = local_datetime(r.started_at),
                full = if r.full_harvest != 0 { format!(" ({})", t(lang, "全部", "full")) } else { String::new() },
                end = r.finished_at.map(local_datetime).unwrap_or_default(),
                outcome_text = outcome_text(lang, &r.outcome),
                a = r.added,
                u = r.updated,
                d = r.deleted,
                sk = r.skipped,
                p = r.pages,
            ));
        }
        body.push_str("</table>");
    }
    if let Some(r) = runs.iter().find(|r| r.skipped > 0) {
        let skipped = s.db.harvest_skipped(r.id, 200).await?;
        body.push_str(&format!(
            "<h2>{} ({})</h2><table id=\"harvest-skipped\"><tr><th>{}</th><th>{}</th></tr>",
            t(lang, "跳过的记录", "Skipped records"),
            local_datetime(r.started_at),
            t(lang, "OAI 标识符", "OAI identifier"),
            t(lang, "原因", "Why")
        ));
        for sk in &skipped {
            body.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>", escape(&sk.identifier), escape(&sk.reason)));
        }
        body.push_str("</table>");
        if r.skipped > skipped.len() as i64 {
            body.push_str(&format!(
                "<p class=\"muted\">… {} {}</p>",
                r.skipped - skipped.len() as i64,
                t(lang, "条未列出（见日志）", "more (see the log)")
            ));
        }
    }
    Ok(page(&lib, title, &body))
}

async fn harvest_now(State(s): State<Services>, admin: Admin) -> Result<Redirect, ConsoleError> {
    let cfg = &s.config.catalog.harvest;
    if cfg.url.is_empty() {
        return Err(ConsoleError::NotFound);
    }
    s.db.request_harvest(&source_key(cfg), crate::db::unix_now()).await?;
    audit(&s.db, &admin, "catalog.harvest_now", &cfg.url).await?;
    Ok(Redirect::to("/console/harvest"))
}
