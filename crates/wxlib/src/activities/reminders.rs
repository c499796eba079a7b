//! Messages wxlib sends about activities on its own: the reminder the day before (at
//! `activities.remind_hour`, China Standard Time) to every reader with a place, and the notice to
//! a waiting reader who got a place. The reminder is a template message, because the reader's
//! customer-service window has usually closed by then; it is claimed in the store and queued in
//! the outbox in one transaction, so a restart, a second node or a node that dies mid-run never
//! sends it twice or loses it (the outbox retries a failed send).
//! The place notice goes as a customer-service message while the reader's window is open, else
//! as a template message.

use serde_json::json;

use super::Activity;
use super::store::reminder_moment;
use crate::clock::local_datetime;
use crate::db::DbError;
use crate::lang::Lang;
use crate::services::Services;
use crate::wechat::followers::WindowState;

pub const JOB: &str = "activity_reminders";
/// How often the reminder job looks for due reminders.
const EVERY_SECS: i64 = 60;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    /// Reminders queued in the outbox (it sends them).
    pub queued: usize,
}

/// Template fields of type `thing` hold at most 20 characters.
fn thing(s: &str) -> String {
    if s.chars().count() <= 20 { s.to_owned() } else { s.chars().take(19).collect::<String>() + "…" }
}

fn page_url(s: &Services, a: &Activity) -> String {
    format!("{}/activities/{}", s.config.server.public_url, a.id)
}

/// One pass: queues every reminder that is due.
pub async fn run(s: &Services) -> Result<RunSummary, DbError> {
    let now = s.clock.now();
    let hour = s.config.activities.remind_hour;
    let mut summary = RunSummary::default();
    // Reminders go out from `hour` on the day before, so no activity more than 2 days away.
    for c in s.db.reminder_candidates(now, 2 * crate::clock::DAY_SECS).await? {
        let Some(a) = s.db.activity(c.activity_id).await? else { continue };
        if now < reminder_moment(&a, hour) {
            continue;
        }
        // One message per sign-up and start time: a moved activity is reminded again.
        let key = format!("act-remind-{}-{}", c.signup_id, a.starts_at);
        let body = json!({
            "touser": c.openid,
            "template_id": s.config.activities.remind_template_id,
            "url": page_url(s, &a),
            "client_msg_id": key,
            "data": {
                "thing1": {"value": thing(&a.title)},
                "time2": {"value": local_datetime(a.starts_at)},
                "thing3": {"value": thing(&a.place)},
            }
        });
        if s.db.queue_activity_reminder(c.signup_id, now, &c.openid, &body, &key, crate::clock::unix_now()).await? {
            summary.queued += 1;
        }
    }
    if summary.queued > 0 {
        s.outbox.wake.notify_one();
    }
    Ok(summary)
}

/// Runs the reminder job every minute, on one node at a time (the jobs table's lease).
pub async fn scheduler(s: Services) {
    let s = &s;
    crate::jobs::scheduled("activity reminder job", &s.db, JOB, s.clock.now(), move || tick(s)).await
}

/// Runs the job if due (then again a minute later); returns the run's summary if it ran.
pub async fn tick(s: &Services) -> Result<Option<RunSummary>, DbError> {
    let now = s.clock.now();
    let ran = crate::jobs::run_if_due(&s.db, JOB, &s.clock, now + EVERY_SECS, || run(s)).await?;
    if let Some(summary) = ran.filter(|r| r.queued > 0) {
        tracing::info!(?summary, "activity reminders");
    }
    Ok(ran)
}

/// The text telling a waiting reader they got a place.
pub fn promoted_text(a: &Activity, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!(
            "候补成功！有读者取消了报名，您已获得《{}》的名额。\n时间：{}\n地点：{}\n如不能参加，请回复“取消报名 {}”把名额让给其他读者。",
            a.title,
            a.when(),
            a.place,
            a.id
        ),
        Lang::En => format!(
            "Good news: a place in \"{}\" came free and it is yours.\nWhen: {}\nWhere: {}\nIf you cannot come, reply \"cancel signup {}\" to give it to someone else.",
            a.title,
            a.when(),
            a.place,
            a.id
        ),
    }
}

/// Tells a reader from the waiting list that they have a place: by customer-service message
/// while their window is open, else by template message. Failures are logged, never raised: the
/// place is theirs either way and shows in chat and on the page.
pub async fn notify_promoted(s: &Services, a: &Activity, openid: &str) {
    let now = s.clock.now();
    let key = format!("act-promoted:{}:{}", a.id, openid);
    match s.db.window_state(openid, now).await {
        Ok(WindowState::Open { .. }) => {
            if let Err(e) = s.push(openid, &wechat::Reply::text(promoted_text(a, s.lang)), &format!("{key}:{now}")).await {
                tracing::warn!(error = %e, "could not queue the waiting-list notice");
            }
        }
        Ok(_) => {
            let body = json!({
                "touser": openid,
                "template_id": s.config.activities.promoted_template_id,
                "url": page_url(s, a),
                "client_msg_id": format!("{key}:{now}"),
                "data": {
                    "thing1": {"value": thing(&a.title)},
                    "time2": {"value": local_datetime(a.starts_at)},
                    "thing3": {"value": thing(&a.place)},
                    "thing4": {"value": if s.lang == Lang::Zh { "候补成功，已为您保留名额" } else { "You have a place" }},
                }
            });
            if let Err(e) = s.api.send_template(&body).await {
                tracing::warn!(error = %e, "could not send the waiting-list notice");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read the reader's window for the waiting-list notice"),
    }
}
