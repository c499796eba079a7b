//! Activities in chat: the "activity notice" (menu 图书馆 → 活动通知, or `活动`) lists what is
//! coming with each activity's number and recent reports; `报名 3` / `signup 3` signs up,
//! `取消报名 3` / `cancel signup 3` cancels, `我的活动` / `my activities` lists the reader's own.
//! Scanning an activity's code checks the reader in ([`checkin_scene`]).

use std::sync::Arc;

use wechat::{Inbound, InboundKind, Reply};

use super::{Activity, ActivityError, CheckinOutcome, SignupOutcome, Status, reminders};
use crate::clock::{local_datetime, local_hm};
use crate::lang::Lang;
use crate::services::Services;
use crate::wechat::router::{HandlerError, Responded};

/// How many coming activities the notice lists.
const LIST_LIMIT: i64 = 6;
/// Bytes of activity lines in one text reply (WeChat's text messages are short; the full list is
/// on the web page).
const TEXT_BUDGET: usize = 1500;
/// Reports of activities that ended within this many days are offered in the notice.
const REPORT_DAYS: i64 = 30;

fn page_link(s: &Services, a: &Activity, text: &str) -> String {
    format!("<a href=\"{}/activities/{}\">{}</a>", s.config.server.public_url, a.id, text)
}

/// Turns a refusal into the reader's answer; a store failure is logged and apologised for.
fn refusal(s: &Services, e: ActivityError) -> Result<Reply, HandlerError> {
    match e {
        ActivityError::Db(db) => Err(HandlerError::Db(db)),
        other => Ok(Reply::text(other.reader_text(s.lang))),
    }
}

/// Places left, or the waiting list, for the notice.
async fn availability(s: &Services, a: &Activity) -> Result<String, HandlerError> {
    let c = s.db.activity_counts(a.id).await?;
    let left = (a.capacity - c.confirmed).max(0);
    Ok(match (s.lang, left) {
        (Lang::Zh, 0) => format!("名额已满，可报名候补（{} 人候补）", c.waiting),
        (Lang::Zh, n) => format!("剩余 {n} 个名额"),
        (Lang::En, 0) => format!("full; join the waiting list ({} waiting)", c.waiting),
        (Lang::En, n) => format!("{n} place(s) left"),
    })
}

/// The "activity notice": what is coming (with numbers to sign up by) and recent reports.
pub async fn notice(s: Services, _m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let now = s.clock.now();
    let coming = s.db.current_activities(now, LIST_LIMIT).await?;
    let reports = s.db.recent_reports(now, now - REPORT_DAYS * crate::clock::DAY_SECS, 3).await?;
    let zh = s.lang == Lang::Zh;
    if coming.is_empty() && reports.is_empty() {
        return Ok(Reply::text(if zh { "近期暂无活动通知。" } else { "No upcoming activities." }));
    }
    let mut out = String::new();
    if !coming.is_empty() {
        out.push_str(if zh { "近期活动：" } else { "Coming up:" });
        for a in &coming {
            let status = a.status(now);
            let detail = match status {
                Status::SignupOpen => availability(&s, a).await?,
                Status::Upcoming if zh => format!("{} 开放报名", local_datetime(a.signup_opens_at)),
                Status::Upcoming => format!("sign-up opens {}", local_datetime(a.signup_opens_at)),
                other => other.label(s.lang).to_owned(),
            };
            let entry = format!(
                "\n\n【{}】{}\n{} · {}\n{} · {}",
                a.id,
                page_link(&s, a, &a.title),
                a.when(),
                a.place,
                status.label(s.lang),
                detail
            );
            if out.len() + entry.len() > TEXT_BUDGET {
                out.push_str(&format!(
                    "\n\n<a href=\"{}/activities\">{}</a>",
                    s.config.server.public_url,
                    if zh { "更多活动" } else { "More activities" }
                ));
                break;
            }
            out.push_str(&entry);
        }
        out.push_str(if zh {
            "\n\n回复“报名 编号”报名（如“报名 "
        } else {
            "\n\nReply \"signup N\" to sign up (e.g. \"signup "
        });
        out.push_str(&coming[0].id.to_string());
        out.push_str(if zh {
            "”），“取消报名 编号”取消，“我的活动”查看已报名的活动。"
        } else {
            "\"), \"cancel signup N\" to cancel, \"my activities\" for yours."
        });
    }
    if !reports.is_empty() {
        out.push_str(if zh { "\n\n活动回顾：" } else { "\n\nReports:" });
        for a in &reports {
            let title = a.report_title.as_deref().unwrap_or(&a.title);
            out.push_str(&format!("\n· {}", page_link(&s, a, title)));
        }
    }
    Ok(Reply::text(out))
}

/// The confirmation of a sign-up.
pub fn signup_text(a: &Activity, outcome: SignupOutcome, lang: Lang) -> String {
    match (outcome, lang) {
        (SignupOutcome::Confirmed, Lang::Zh) => format!(
            "报名成功：《{}》\n时间：{}\n地点：{}\n活动前一天会提醒您；到场后用微信扫描现场的签到码签到。不能参加请回复“取消报名 {}”。",
            a.title,
            a.when(),
            a.place,
            a.id
        ),
        (SignupOutcome::Confirmed, Lang::En) => format!(
            "You are signed up for \"{}\".\nWhen: {}\nWhere: {}\nWe will remind you the day before; scan the check-in code when you arrive. If you cannot come, reply \"cancel signup {}\".",
            a.title,
            a.when(),
            a.place,
            a.id
        ),
        (SignupOutcome::Waiting { position }, Lang::Zh) => {
            format!("《{}》名额已满，您已进入候补名单，排第 {position} 位。有人取消时按顺序递补，递补成功会通知您。", a.title)
        }
        (SignupOutcome::Waiting { position }, Lang::En) => format!(
            "\"{}\" is full; you are number {position} on the waiting list. If a place comes free it goes to the next in line, and we will tell you.",
            a.title
        ),
        (SignupOutcome::AlreadyConfirmed, Lang::Zh) => {
            format!("您已报名《{}》，无需重复报名。时间：{}，地点：{}。", a.title, a.when(), a.place)
        }
        (SignupOutcome::AlreadyConfirmed, Lang::En) => {
            format!("You are already signed up for \"{}\" ({}, {}).", a.title, a.when(), a.place)
        }
        (SignupOutcome::AlreadyWaiting { position }, Lang::Zh) => format!("您已在《{}》的候补名单中，目前排第 {position} 位。", a.title),
        (SignupOutcome::AlreadyWaiting { position }, Lang::En) => {
            format!("You are already on the waiting list for \"{}\", number {position}.", a.title)
        }
    }
}

pub fn cancelled_text(a: &Activity, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("已取消《{}》的报名。", a.title),
        Lang::En => format!("Your sign-up for \"{}\" is cancelled.", a.title),
    }
}

/// Signs the reader up and answers; `via` is "chat" or "web".
pub async fn signup(s: &Services, id: i64, openid: &str, via: &str) -> Result<(Activity, SignupOutcome), ActivityError> {
    s.db.activity_signup(id, openid, via, s.clock.now(), s.config.activities.remind_hour).await
}

/// Cancels and tells the reader who got the freed place (in the background: the answer to the
/// cancelling reader does not wait for WeChat).
pub async fn cancel(s: &Services, id: i64, openid: &str) -> Result<Activity, ActivityError> {
    let (a, cancelled) = s.db.cancel_activity_signup(id, openid, s.clock.now(), s.config.activities.remind_hour).await?;
    if let Some(next) = cancelled.promoted {
        let (s2, a2) = (s.clone(), a.clone());
        tokio::spawn(async move { reminders::notify_promoted(&s2, &a2, &next).await });
    }
    Ok(a)
}

async fn signup_reply(s: Services, m: Arc<Inbound>, id: i64) -> Result<Reply, HandlerError> {
    match signup(&s, id, &m.from_user, "chat").await {
        Ok((a, outcome)) => Ok(Reply::text(signup_text(&a, outcome, s.lang))),
        Err(e) => refusal(&s, e),
    }
}

async fn cancel_reply(s: Services, m: Arc<Inbound>, id: i64) -> Result<Reply, HandlerError> {
    match cancel(&s, id, &m.from_user).await {
        Ok(a) => Ok(Reply::text(cancelled_text(&a, s.lang))),
        Err(e) => refusal(&s, e),
    }
}

/// "My activities": the reader's places and waiting places in what is not over.
pub async fn mine(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let now = s.clock.now();
    let zh = s.lang == Lang::Zh;
    let rows = s.db.reader_activities(&m.from_user, now).await?;
    if rows.is_empty() {
        return Ok(Reply::text(if zh {
            "您还没有报名活动。回复“活动”查看近期活动。"
        } else {
            "You have not signed up for anything. Reply \"activities\" to see what is coming."
        }));
    }
    let mut out = String::from(if zh { "您报名的活动：" } else { "Your activities:" });
    for (id, _) in rows {
        let Some(a) = s.db.activity(id).await? else { continue };
        let standing = match (s.db.reader_signup(id, &m.from_user).await?, zh) {
            (Some(SignupOutcome::AlreadyWaiting { position }), true) => format!("候补第 {position} 位"),
            (Some(SignupOutcome::AlreadyWaiting { position }), false) => format!("waiting list, number {position}"),
            (_, true) => "已报名".to_owned(),
            (_, false) => "signed up".to_owned(),
        };
        out.push_str(&format!("\n\n【{}】{}\n{} · {}\n{}", a.id, page_link(&s, &a, &a.title), a.when(), a.place, standing));
    }
    out.push_str(if zh { "\n\n回复“取消报名 编号”可取消。" } else { "\n\nReply \"cancel signup N\" to cancel." });
    Ok(Reply::text(out))
}

/// The number after one of `prefixes` (`报名 3`, `报名3`, `signup 3`); `Err` when the prefix is
/// there but no valid number follows.
fn numbered(lower: &str, prefixes: &[&str]) -> Option<Result<i64, ()>> {
    let rest = prefixes.iter().find_map(|p| lower.strip_prefix(p))?;
    let rest = rest.trim().trim_start_matches(['#', '＃', '№']).trim();
    Some(rest.parse::<i64>().ok().filter(|n| *n > 0).ok_or(()))
}

/// Text that is an activity command gets its answer; anything else is left to others.
pub async fn on_text(s: &Services, m: &Arc<Inbound>, text: &str) -> Responded {
    let lower = text.trim().to_lowercase();
    let usage = |s: &Services, zh: &str, en: &str| Ok(Some(Reply::text(if s.lang == Lang::Zh { zh.to_owned() } else { en.to_owned() })));
    match lower.as_str() {
        "活动" | "活动通知" | "近期活动" | "activities" | "events" => return notice(s.clone(), m.clone()).await.map(Some),
        "我的活动" | "我的报名" | "my activities" => return mine(s.clone(), m.clone()).await.map(Some),
        _ => {}
    }
    // Cancel first: "取消报名 3" must not be read as a sign-up.
    match numbered(&lower, &["取消报名", "cancel signup", "cancel sign-up", "cancel sign up"]) {
        Some(Ok(id)) => return cancel_reply(s.clone(), m.clone(), id).await.map(Some),
        Some(Err(())) => {
            return usage(
                s,
                "请在“取消报名”后写活动编号，如“取消报名 3”。回复“我的活动”查看编号。",
                "Put the activity number after it, e.g. \"cancel signup 3\". Reply \"my activities\" to see the numbers.",
            );
        }
        None => {}
    }
    match numbered(&lower, &["报名", "signup", "sign-up", "sign up"]) {
        Some(Ok(id)) => signup_reply(s.clone(), m.clone(), id).await.map(Some),
        Some(Err(())) => usage(
            s,
            "请在“报名”后写活动编号，如“报名 3”。回复“活动”查看近期活动和编号。",
            "Put the activity number after it, e.g. \"signup 3\". Reply \"activities\" for what is coming and the numbers.",
        ),
        None => Ok(None),
    }
}

/// A scan of an activity's code (`act:<id>`): checks the reader in and says so.
pub async fn checkin_scene(s: Services, m: Arc<Inbound>, rest: String) -> Result<Reply, HandlerError> {
    let zh = s.lang == Lang::Zh;
    let Ok(id) = rest.parse::<i64>() else {
        return Ok(Reply::text(if zh {
            "这个二维码不是有效的活动签到码。"
        } else {
            "This QR code is not a valid activity check-in code."
        }));
    };
    let via = match &m.kind {
        InboundKind::Event(wechat::Event::Subscribe { .. }) => "subscribe",
        _ => "scan",
    };
    let opens_before = s.config.activities.checkin_opens_minutes * 60;
    match s.db.activity_checkin(id, &m.from_user, via, s.clock.now(), opens_before).await {
        Ok((a, CheckinOutcome::CheckedIn { signed_up })) => {
            let feedback = format!("{}/h5/activities/{}", s.config.server.public_url, a.id);
            Ok(Reply::text(match (zh, signed_up) {
                (true, true) => format!("签到成功：《{}》\n欢迎参加！活动结束后欢迎<a href=\"{feedback}\">填写反馈</a>。", a.title),
                (true, false) => {
                    format!("签到成功：《{}》（现场参加）\n欢迎参加！活动结束后欢迎<a href=\"{feedback}\">填写反馈</a>。", a.title)
                }
                (false, true) => {
                    format!("Checked in: \"{}\". Welcome! Afterwards, please <a href=\"{feedback}\">tell us how it was</a>.", a.title)
                }
                (false, false) => format!(
                    "Checked in (walk-in): \"{}\". Welcome! Afterwards, please <a href=\"{feedback}\">tell us how it was</a>.",
                    a.title
                ),
            }))
        }
        Ok((a, CheckinOutcome::AlreadyCheckedIn { at })) => Ok(Reply::text(if zh {
            format!("您已于 {} 签到《{}》，无需重复签到。", local_hm(at), a.title)
        } else {
            format!("You checked in to \"{}\" at {}; no need to scan again.", a.title, local_hm(at))
        })),
        Err(e) => refusal(&s, e),
    }
}
