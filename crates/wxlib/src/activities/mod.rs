//! Library activities through their life (issue 6, item 4). Before: an announcement page, sign-up
//! from chat (`报名 3`) or the web page with a capacity and a waiting list (a cancellation gives
//! the place to the first waiting reader, who is told), and a reminder the day before. During:
//! check-in by scanning the activity's parametric QR code (a `SCAN` event, or a follow through the
//! code), signed-up readers and walk-ins alike. After: a report article on the page and in chat,
//! and a short feedback form for those who came. Librarians run it all from the console.
//!
//! [`store`] keeps it (both databases), [`chat`] is what readers say and see (and the check-in
//! scene, routed by `conversation::scenes`), [`web`] the reader pages, [`reminders`] the day-before job and the waiting
//! list notices, [`console`] the librarians' pages.

pub mod chat;
pub mod console;
pub mod reminders;

pub mod store;
pub mod web;

use crate::clock::{local_datetime, local_day, local_hm, local_midnight, parse_local};
use crate::db::DbError;
use crate::lang::Lang;

/// The QR scene of an activity's check-in code is `act:<id>`.
pub const SCENE_PREFIX: &str = "act:";

/// An activity as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Activity {
    pub id: i64,
    pub title: String,
    pub place: String,
    pub description: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub signup_opens_at: i64,
    pub signup_deadline: i64,
    pub capacity: i64,
    pub qr_ticket: Option<String>,
    pub qr_url: Option<String>,
    pub report_title: Option<String>,
    pub report_body: Option<String>,
    pub report_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where an activity is in its life, derived from the time (never stored, so never stale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Announced; sign-up not open yet.
    Upcoming,
    SignupOpen,
    /// Sign-up deadline passed; not started.
    SignupClosed,
    Ongoing,
    Finished,
}

impl Activity {
    pub fn status(&self, now: i64) -> Status {
        if now >= self.ends_at {
            Status::Finished
        } else if now >= self.starts_at {
            Status::Ongoing
        } else if now >= self.signup_deadline {
            Status::SignupClosed
        } else if now >= self.signup_opens_at {
            Status::SignupOpen
        } else {
            Status::Upcoming
        }
    }

    /// "2026-12-01 14:00–16:00" (or both dates when it spans days), China Standard Time.
    pub fn when(&self) -> String {
        if local_day(self.starts_at) == local_day(self.ends_at) {
            format!("{}–{}", local_datetime(self.starts_at), local_hm(self.ends_at))
        } else {
            format!("{} – {}", local_datetime(self.starts_at), local_datetime(self.ends_at))
        }
    }

    pub fn has_report(&self) -> bool {
        self.report_title.as_deref().is_some_and(|t| !t.is_empty())
    }
}

impl Status {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Status::Upcoming, Lang::Zh) => "即将开放报名",
            (Status::SignupOpen, Lang::Zh) => "报名中",
            (Status::SignupClosed, Lang::Zh) => "报名已截止",
            (Status::Ongoing, Lang::Zh) => "进行中",
            (Status::Finished, Lang::Zh) => "已结束",
            (Status::Upcoming, Lang::En) => "sign-up opens soon",
            (Status::SignupOpen, Lang::En) => "sign-up open",
            (Status::SignupClosed, Lang::En) => "sign-up closed",
            (Status::Ongoing, Lang::En) => "on now",
            (Status::Finished, Lang::En) => "finished",
        }
    }

    /// A stable name for CSS and tests.
    pub fn code(self) -> &'static str {
        match self {
            Status::Upcoming => "upcoming",
            Status::SignupOpen => "signup-open",
            Status::SignupClosed => "signup-closed",
            Status::Ongoing => "ongoing",
            Status::Finished => "finished",
        }
    }
}

/// The fields a librarian sets (validated by the console before they get here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityDraft {
    pub title: String,
    pub place: String,
    pub description: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub signup_opens_at: i64,
    pub signup_deadline: i64,
    pub capacity: i64,
}

/// What a sign-up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupOutcome {
    Confirmed,
    /// On the waiting list, at this position (1 = next to get a place).
    Waiting {
        position: i64,
    },
    AlreadyConfirmed,
    AlreadyWaiting {
        position: i64,
    },
}

/// What a cancellation did: the reader who got the place, if one was waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    pub was_confirmed: bool,
    pub promoted: Option<String>,
}

/// What a check-in did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckinOutcome {
    /// `signed_up`: the reader had a confirmed place (otherwise a walk-in).
    CheckedIn {
        signed_up: bool,
    },
    AlreadyCheckedIn {
        at: i64,
    },
}

/// Why a reader's request about an activity was refused, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    #[error("there is no activity {0}")]
    NotFound(i64),
    #[error("sign-up opens at {0}")]
    SignupNotOpen(i64),
    #[error("sign-up is closed")]
    SignupClosed,
    #[error("the activity has started")]
    Started,
    #[error("not signed up")]
    NotSignedUp,
    #[error("check-in opens at {0}")]
    CheckinNotOpen(i64),
    #[error("the activity is over")]
    Over,
    #[error("feedback is for those who came")]
    NotAttended,
    #[error("feedback already given")]
    FeedbackGiven,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ActivityError {
    /// The refusal as the reader reads it (a store failure is an apology; it is logged where it
    /// happens).
    pub fn reader_text(&self, lang: Lang) -> String {
        match (self, lang) {
            (ActivityError::NotFound(id), Lang::Zh) => format!("没有编号为 {id} 的活动。回复“活动”查看近期活动。"),
            (ActivityError::NotFound(id), Lang::En) => {
                format!("There is no activity number {id}. Reply \"activities\" to see what is coming.")
            }
            (ActivityError::SignupNotOpen(at), Lang::Zh) => format!("报名尚未开始，将于 {} 开放。", local_datetime(*at)),
            (ActivityError::SignupNotOpen(at), Lang::En) => format!("Sign-up opens at {}.", local_datetime(*at)),
            (ActivityError::SignupClosed, Lang::Zh) => "报名已截止。".into(),
            (ActivityError::SignupClosed, Lang::En) => "Sign-up is closed.".into(),
            (ActivityError::Started, Lang::Zh) => "活动已开始，不能再取消报名。".into(),
            (ActivityError::Started, Lang::En) => "The activity has started; sign-ups can no longer be cancelled.".into(),
            (ActivityError::NotSignedUp, Lang::Zh) => "您没有报名这个活动。".into(),
            (ActivityError::NotSignedUp, Lang::En) => "You are not signed up for this activity.".into(),
            (ActivityError::CheckinNotOpen(at), Lang::Zh) => format!("签到尚未开始，将于 {} 开放。", local_datetime(*at)),
            (ActivityError::CheckinNotOpen(at), Lang::En) => format!("Check-in opens at {}.", local_datetime(*at)),
            (ActivityError::Over, Lang::Zh) => "活动已结束，不能再签到。".into(),
            (ActivityError::Over, Lang::En) => "The activity is over; check-in is closed.".into(),
            (ActivityError::NotAttended, Lang::Zh) => "反馈仅限到场签到的读者填写。".into(),
            (ActivityError::NotAttended, Lang::En) => "Feedback is for readers who checked in.".into(),
            (ActivityError::FeedbackGiven, Lang::Zh) => "您已经提交过反馈，谢谢！".into(),
            (ActivityError::FeedbackGiven, Lang::En) => "You have already given feedback. Thank you!".into(),
            (ActivityError::Invalid(msg), _) => msg.clone(),
            (ActivityError::Db(_), lang) => crate::lang::sorry(lang).into(),
        }
    }
}

/// What a librarian typed into the activity form, before it is checked.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct DraftInput {
    pub title: String,
    pub place: String,
    pub description: String,
    pub starts_at: String,
    pub ends_at: String,
    pub signup_opens_at: String,
    pub signup_deadline: String,
    pub capacity: String,
}

/// Longest title and place, in characters (they appear in chat lines and template fields).
pub const TITLE_MAX: usize = 64;
pub const DESCRIPTION_MAX: usize = 10_000;
pub const CAPACITY_MAX: i64 = 100_000;

/// Checks the activity form; every problem is named, in the librarian's language. An empty
/// "sign-up opens" means now.
pub fn check_draft(input: &DraftInput, now: i64, lang: Lang) -> Result<ActivityDraft, Vec<String>> {
    let zh = lang == Lang::Zh;
    let mut errors = Vec::new();
    let text = |value: &str, zh_name: &str, en_name: &str, max: usize, errors: &mut Vec<String>| {
        let v = value.trim().to_owned();
        let n = v.chars().count();
        if n == 0 {
            errors.push(if zh { format!("请填写{zh_name}。") } else { format!("{en_name} is required.") });
        } else if n > max {
            errors.push(if zh {
                format!("{zh_name}最多 {max} 字（现在 {n} 字）。")
            } else {
                format!("{en_name} is at most {max} characters (now {n}).")
            });
        }
        v
    };
    let title = text(&input.title, "活动名称", "Title", TITLE_MAX, &mut errors);
    let place = text(&input.place, "地点", "Place", TITLE_MAX, &mut errors);
    let description = text(&input.description, "活动介绍", "Description", DESCRIPTION_MAX, &mut errors);
    let time = |value: &str, zh_name: &str, en_name: &str, errors: &mut Vec<String>| match parse_local(value) {
        Some(t) => Some(t),
        None => {
            errors.push(if zh {
                format!("{zh_name}不是有效的时间（格式 2026-12-01 14:00）。")
            } else {
                format!("{en_name} is not a valid time (like 2026-12-01 14:00).")
            });
            None
        }
    };
    let starts_at = time(&input.starts_at, "开始时间", "Start", &mut errors);
    let ends_at = time(&input.ends_at, "结束时间", "End", &mut errors);
    let signup_deadline = time(&input.signup_deadline, "报名截止时间", "Sign-up deadline", &mut errors);
    let signup_opens_at = if input.signup_opens_at.trim().is_empty() {
        Some(now)
    } else {
        time(&input.signup_opens_at, "报名开始时间", "Sign-up opening", &mut errors)
    };
    let capacity = match input.capacity.trim().parse::<i64>() {
        Ok(n) if (1..=CAPACITY_MAX).contains(&n) => Some(n),
        _ => {
            errors.push(if zh {
                format!("名额须为 1 到 {CAPACITY_MAX} 之间的整数。")
            } else {
                format!("Capacity must be a whole number from 1 to {CAPACITY_MAX}.")
            });
            None
        }
    };
    if let (Some(s), Some(e)) = (starts_at, ends_at)
        && e <= s
    {
        errors.push(if zh { "结束时间须晚于开始时间。".into() } else { "The end must be after the start.".into() });
    }
    if let (Some(s), Some(d)) = (starts_at, signup_deadline)
        && d > s
    {
        errors.push(if zh {
            "报名截止时间不能晚于开始时间。".into()
        } else {
            "The sign-up deadline cannot be after the start.".into()
        });
    }
    if let (Some(o), Some(d)) = (signup_opens_at, signup_deadline)
        && o >= d
    {
        errors.push(if zh {
            "报名开始时间须早于报名截止时间。".into()
        } else {
            "Sign-up must open before its deadline.".into()
        });
    }
    match (errors.is_empty(), starts_at, ends_at, signup_opens_at, signup_deadline, capacity) {
        (true, Some(starts_at), Some(ends_at), Some(signup_opens_at), Some(signup_deadline), Some(capacity)) => {
            Ok(ActivityDraft { title, place, description, starts_at, ends_at, signup_opens_at, signup_deadline, capacity })
        }
        _ => Err(errors),
    }
}

/// The activity's check-in code: the stored one, or a new permanent code with scene `act:<id>`
/// (WeChat's `qrcode/create`; a permanent code never expires, so posters printed weeks ahead
/// still work). Returns (ticket, url).
pub async fn ensure_checkin_code(s: &crate::services::Services, a: &Activity) -> Result<(String, String), crate::wechat::api::ApiError> {
    if let (Some(t), Some(u)) = (&a.qr_ticket, &a.qr_url) {
        return Ok((t.clone(), u.clone()));
    }
    let (ticket, url) = s.api.create_permanent_qr(&format!("{SCENE_PREFIX}{}", a.id)).await?;
    s.db.set_activity_qr(a.id, &ticket, &url).await?;
    Ok((ticket, url))
}

/// WeChat's image of a code (`showqrcode?ticket=`).
pub fn showqrcode_link(s: &crate::services::Services, ticket: &str) -> String {
    format!("{}?ticket={}", s.config.activities.showqrcode_url, crate::web::urlencode(ticket))
}

/// The code drawn here as SVG from its URL (what WeChat's image encodes), for printing offline.
pub fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(code.render::<qrcode::render::svg::Color>().min_dimensions(320, 320).build())
}

/// For `wxlib demo`: a coming activity when there is none, and check-in codes for the current
/// ones (the simulator keeps its codes in memory, so they are made again on every start).
pub async fn demo(s: &crate::services::Services) -> anyhow::Result<()> {
    let now = s.clock.now();
    if s.db.all_activities().await?.is_empty() {
        let start = local_midnight(now) + 2 * crate::clock::DAY_SECS + 14 * 3600;
        let draft = ActivityDraft {
            title: "新生入馆培训".into(),
            place: "总馆一层报告厅".into(),
            description: "介绍图书馆的空间、馆藏与检索、借还与续借、电子资源和公众号的用法。\n到场后扫描签到码签到。".into(),
            starts_at: start,
            ends_at: start + 90 * 60,
            signup_opens_at: now,
            signup_deadline: start - 3600,
            capacity: 3,
        };
        s.db.create_activity(&draft, now).await?;
    }
    for a in s.db.current_activities(now, 50).await? {
        let (ticket, url) = s.api.create_permanent_qr(&format!("{SCENE_PREFIX}{}", a.id)).await?;
        s.db.set_activity_qr(a.id, &ticket, &url).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_names_every_problem() {
        let now = 1_795_824_000;
        let good = DraftInput {
            title: "读书会".into(),
            place: "总馆 301".into(),
            description: "一起读《三体》".into(),
            starts_at: "2026-12-05T14:00".into(),
            ends_at: "2026-12-05T16:00".into(),
            signup_opens_at: "".into(),
            signup_deadline: "2026-12-04 18:00".into(),
            capacity: "30".into(),
        };
        let d = check_draft(&good, now, Lang::Zh).unwrap();
        assert_eq!((d.capacity, d.signup_opens_at, d.ends_at - d.starts_at), (30, now, 7200));
        let bad = DraftInput {
            title: " ".into(),
            capacity: "0".into(),
            ends_at: "2026-12-05T13:00".into(),
            signup_deadline: "2026-12-06T10:00".into(),
            ..good.clone()
        };
        let errors = check_draft(&bad, now, Lang::Zh).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("活动名称")));
        assert!(errors.iter().any(|e| e.contains("名额")));
        let errors = check_draft(&DraftInput { starts_at: "tomorrow".into(), ..good }, now, Lang::En).unwrap_err();
        assert!(errors[0].contains("Start is not a valid time"), "{errors:?}");
    }

    #[test]
    fn status_follows_the_clock() {
        let a = Activity {
            id: 1,
            title: "t".into(),
            place: "p".into(),
            description: "d".into(),
            signup_opens_at: 10,
            signup_deadline: 20,
            starts_at: 30,
            ends_at: 40,
            capacity: 1,
            qr_ticket: None,
            qr_url: None,
            report_title: None,
            report_body: None,
            report_at: None,
            created_at: 0,
            updated_at: 0,
        };
        let s: Vec<Status> = [5, 10, 20, 30, 40].iter().map(|t| a.status(*t)).collect();
        assert_eq!(s, [Status::Upcoming, Status::SignupOpen, Status::SignupClosed, Status::Ongoing, Status::Finished]);
    }
}
