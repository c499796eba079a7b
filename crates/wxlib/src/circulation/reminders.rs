//! Due-date reminders: once a day, each bound reader with loans due within N days or overdue gets
//! one digest (a template message), and no loan is reminded twice for the same due date — across
//! restarts and nodes, because the digest is queued in the outbox in the same transaction that
//! records what it reminds (the outbox sends it, retrying as it does), and the job runs under a
//! short, renewed lease (a node that dies mid-run leaves the rest to the next node within
//! seconds). A renewal changes the due date, so the renewed loan is reminded again before its new
//! one.
//!
//! The template's fields are the account's own: `circulation.remind_template_fields` maps the
//! digest's roles (books, due, count, note) to them, checked at start against the template's
//! definition from WeChat; each value fits its field's type (the books name as many titles as the
//! field holds, then how many are due: "《A》等3本").

use crate::clock::local_day;
use crate::db::DbError;
use crate::services::Services;
use crate::wechat::templates::{self, Carries};

pub const JOB: &str = "due_reminders";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub readers: usize,
    /// Digests queued in the outbox (it sends them).
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
        let key = format!("due-{openid}-{day}");
        let digest = |fresh: &[(String, i64)]| {
            let in_digest: Vec<_> = due.iter().filter(|l| fresh.iter().any(|(b, d)| *b == l.barcode && *d == l.due_at)).collect();
            let first_due = fresh.iter().map(|(_, d)| *d).min().unwrap_or(now);
            let fields = &s.config.circulation.remind_template_fields;
            let titles: Vec<String> = in_digest.iter().map(|l| l.title.clone()).collect();
            let books = fields.get("books").map(|key| books_value(&titles, templates::limit(key).unwrap_or(200))).unwrap_or_default();
            let values = [("books", books), ("due", local_day(first_due)), ("count", fresh.len().to_string()), ("note", NOTE.to_owned())];
            let url = format!("{}/h5/bind", s.config.server.public_url);
            templates::body(&openid, &s.config.circulation.remind_template_id, fields, &values, &url, &key)
        };
        let fresh = s.db.queue_reminder_digest(&openid, &day, &keys, &digest, &key, crate::clock::unix_now()).await?;
        if !fresh.is_empty() {
            summary.digests += 1;
            summary.loans += fresh.len();
        }
    }
    if summary.digests > 0 {
        s.outbox.wake.notify_one();
    }
    Ok(summary)
}

/// The digest's note: how to renew.
const NOTE: &str = "回复“续借全部”可一键续借";

/// The roles of the digest's template and what each carries.
pub const ROLES: &[(&str, Carries)] =
    &[("books", Carries::Text), ("due", Carries::Date), ("count", Carries::Count), ("note", Carries::Text)];

/// The due books for a field of `limit` characters: as many titles as fit (《A》《B》), then
/// "等N本" when not all do; a first title too long for the field is cut.
pub fn books_value(titles: &[String], limit: usize) -> String {
    let n = titles.len();
    for k in (1..=n).rev() {
        let named: String = titles[..k].iter().map(|t| format!("《{t}》")).collect();
        let s = if k < n { format!("{named}等{n}本") } else { named };
        if s.chars().count() <= limit {
            return s;
        }
    }
    let Some(first) = titles.first() else { return String::new() };
    let tail = if n > 1 { format!("…》等{n}本") } else { "…》".to_owned() };
    let room = limit.saturating_sub(tail.chars().count() + 1);
    format!("《{}{tail}", first.chars().take(room).collect::<String>())
}

/// Says at start whether `circulation.remind_template_fields` fits the account's template as
/// WeChat defines it (template/get_all_private_template), naming what is wrong.
pub async fn check_template(s: &Services) {
    let c = &s.config.circulation;
    match s.api.templates().await {
        Ok(list) => match templates::check(
            list.iter().find(|d| d.id == c.remind_template_id),
            &c.remind_template_id,
            &c.remind_template_fields,
            ROLES,
        ) {
            Ok(()) => tracing::info!(template = %c.remind_template_id, "due-date digest template checked against the account's template"),
            Err(reason) => {
                tracing::error!(key = "circulation.remind_template_fields", template = %c.remind_template_id, %reason, "the due-date digest does not fit the account's template")
            }
        },
        Err(e) => tracing::warn!(error = %e, "cannot list the account's templates to check the due-date digest's"),
    }
}

/// Runs the reminder job when due, forever (one node at a time, via the jobs table).
pub async fn scheduler(s: Services) {
    check_template(&s).await;
    let first = crate::clock::next_daily(s.clock.now(), s.config.circulation.remind_hour);
    let s = &s;
    crate::jobs::scheduled("reminder job", &s.db, JOB, first, move || tick(s)).await
}

/// Runs the job if due (then again at the next `circulation.remind_hour`); returns the run's
/// summary if it ran.
pub async fn tick(s: &Services) -> Result<Option<RunSummary>, DbError> {
    let now = s.clock.now();
    let next = crate::clock::next_daily(now, s.config.circulation.remind_hour);
    let ran = crate::jobs::run_if_due(&s.db, JOB, &s.clock, next, || run(s)).await?;
    if let Some(summary) = &ran {
        tracing::info!(?summary, "due-date reminders queued");
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::books_value;

    #[test]
    fn the_digest_names_what_fits_and_counts_the_rest() {
        let t = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(books_value(&t(&["明代政治制度", "算法导论"]), 20), "《明代政治制度》《算法导论》");
        assert_eq!(books_value(&t(&["明代政治制度", "Albert Einstein", "算法导论"]), 20), "《明代政治制度》等3本");
        let long = books_value(&t(&["Coping with psoriasis: a patient's guide", "算法导论"]), 20);
        assert!(long.starts_with("《Coping with") && long.ends_with("…》等2本") && long.chars().count() <= 20, "{long}");
        assert_eq!(books_value(&t(&["Coping with psoriasis: a patient's guide"]), 20).chars().count(), 20);
    }
}
