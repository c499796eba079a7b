//! Due-date reminders: once a day, each bound reader with loans due within N days or overdue gets
//! one digest (a template message), and no loan is reminded twice for the same due date — across
//! restarts and nodes, because what was sent is recorded before sending and the job runs under a
//! lease. A renewal changes the due date, so the renewed loan is reminded again before its new one.

use serde_json::json;

use crate::clock::local_day;
use crate::db::DbError;
use crate::services::Services;

pub const JOB: &str = "due_reminders";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub readers: usize,
    pub digests: usize,
    pub loans: usize,
    pub unavailable: usize,
}

/// One run over every bound reader.
pub async fn run(s: &Services) -> Result<RunSummary, DbError> {
    let now = s.clock.now();
    let day = local_day(now);
    let horizon = now + s.config.circulation.remind_days_before * crate::clock::DAY_SECS;
    let mut summary = RunSummary::default();
    for (openid, card) in s.db.all_bindings().await? {
        summary.readers += 1;
        let account = match s.ils.account(&card).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "reminders: library system did not answer for one reader; will retry next run");
                summary.unavailable += 1;
                continue;
            }
        };
        let due: Vec<_> = account.loans.iter().filter(|l| l.due_at <= horizon).collect();
        if due.is_empty() {
            continue;
        }
        let keys: Vec<(String, i64)> = due.iter().map(|l| (l.barcode.clone(), l.due_at)).collect();
        let fresh = s.db.mark_reminders(&openid, &day, &keys).await?;
        if fresh.is_empty() {
            continue;
        }
        let lines: Vec<String> = due
            .iter()
            .filter(|l| fresh.iter().any(|(b, d)| *b == l.barcode && *d == l.due_at))
            .map(|l| format!("《{}》{}到期{}", l.title, local_day(l.due_at), if l.due_at < now { "（已超期）" } else { "" }))
            .collect();
        let first_due = fresh.iter().map(|(_, d)| *d).min().unwrap_or(now);
        let body = json!({
            "touser": openid,
            "template_id": s.config.circulation.remind_template_id,
            "url": format!("{}/h5/bind", s.config.server.public_url),
            "client_msg_id": format!("due-{}-{}", openid, day),
            "data": {
                "thing1": {"value": truncate(&lines.join("；"), 20)},
                "time2": {"value": local_day(first_due)},
                "number3": {"value": fresh.len().to_string()},
                "thing4": {"value": "回复“续借全部”可一键续借"},
            }
        });
        match s.api.send_template(&body).await {
            Ok(_) => {
                summary.digests += 1;
                summary.loans += fresh.len();
            }
            Err(e) => {
                tracing::warn!(error = %e, "reminders: template send failed; will retry next run");
                s.db.unmark_reminders(&openid, &day, &fresh).await?;
            }
        }
    }
    Ok(summary)
}

/// Template fields of type `thing` hold at most 20 characters.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_owned() } else { s.chars().take(max - 1).collect::<String>() + "…" }
}

/// Runs the reminder job when due, forever (one node at a time, via the jobs table).
pub async fn scheduler(s: Services) {
    let first = crate::clock::next_daily(s.clock.now(), s.config.circulation.remind_hour);
    let s = &s;
    crate::jobs::scheduled("reminder job", &s.db, JOB, first, move || tick(s)).await
}

/// Runs the job if due (then again at the next `circulation.remind_hour`); returns the run's
/// summary if it ran.
pub async fn tick(s: &Services) -> Result<Option<RunSummary>, DbError> {
    let now = s.clock.now();
    let next = crate::clock::next_daily(now, s.config.circulation.remind_hour);
    let ran = crate::jobs::run_if_due(&s.db, JOB, now, next, || run(s)).await?;
    if let Some(summary) = &ran {
        tracing::info!(?summary, "due-date reminders sent");
    }
    Ok(ran)
}
