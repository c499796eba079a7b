//! Opening hours: a weekly schedule per place (the library, reading rooms…) and dated exceptions
//! (holidays, exam-week extensions, closures) that win over the schedule for their days. Readers
//! ask "开放时间" / "今天开放吗" / "hours" / "today" (or the menu) and get the answer for the
//! app clock's date; a change can be announced to followers.
//!
//! Hours are intervals "HH:MM-HH:MM", several per day separated by commas ("08:00-12:00,
//! 14:00-22:00"); empty means closed. Days are `YYYY-MM-DD` in China Standard Time.

use crate::clock::{day_string, days_from_civil, days_in_month, weekday};
use crate::db::{Db, DbError};
use crate::lang::Lang;

/// One opening interval in minutes after midnight, `open < close ≤ 24:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub open: u16,
    pub close: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("{0:?} is not a time range like 08:00-22:00")]
    BadInterval(String),
    #[error("{0:?}: the closing time must be after the opening time")]
    Backwards(String),
    #[error("{0:?} and {1:?} overlap")]
    Overlap(String, String),
    #[error("{0:?} is not a date like 2026-10-01")]
    BadDay(String),
    #[error("the last day {1} is before the first day {0}")]
    DaysBackwards(String, String),
    #[error("the range is longer than a year")]
    TooLong,
    #[error("a reason is required (shown to readers), at most 100 characters")]
    BadReason,
    #[error("a place name is required, at most 40 characters")]
    BadPlaceName,
    #[error("there is already a place named {0:?}")]
    PlaceTaken(String),
    #[error("{place} already has an exception from {first} to {last} ({reason}) that overlaps these days")]
    ExceptionOverlap { place: String, first: String, last: String, reason: String },
}

impl HoursError {
    /// The message for the console, in the librarian's language.
    pub fn message(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return format!("{self}.");
        }
        match self {
            HoursError::BadInterval(s) => format!("“{s}”不是有效的时间段，请写成 08:00-22:00，多段用逗号分隔。"),
            HoursError::Backwards(s) => format!("“{s}”：结束时间必须晚于开始时间。"),
            HoursError::Overlap(a, b) => format!("时间段“{a}”与“{b}”重叠。"),
            HoursError::BadDay(s) => format!("“{s}”不是有效日期，请写成 2026-10-01。"),
            HoursError::DaysBackwards(a, b) => format!("结束日期 {b} 早于开始日期 {a}。"),
            HoursError::TooLong => "日期范围不能超过一年。".into(),
            HoursError::BadReason => "请填写原因（读者可见），最多 100 个字。".into(),
            HoursError::BadPlaceName => "请填写地点名称，最多 40 个字。".into(),
            HoursError::PlaceTaken(n) => format!("已经有名为“{n}”的地点。"),
            HoursError::ExceptionOverlap { place, first, last, reason } => {
                format!("{place} 在 {first} 至 {last} 已有调整（{reason}），与这些日期重叠。请先删除或修改原有调整。")
            }
        }
    }
}

fn parse_time(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().all(|b| b.is_ascii_digit()) || !m.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// Parses "08:00-12:00, 14:00-22:00" (full-width punctuation, "–", "~" and "至" accepted);
/// "", "闭馆" or "closed" is closed. Intervals come back sorted and never overlap.
pub fn parse_intervals(input: &str) -> Result<Vec<Interval>, HoursError> {
    let normal: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '：' => ':',
            '，' | '、' | ';' | '；' => ',',
            '–' | '—' | '－' | '~' | '～' | '至' => '-',
            c => c,
        })
        .collect();
    if normal.is_empty() || normal == "闭馆" || normal.eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    let mut out: Vec<(Interval, String)> = Vec::new();
    for part in normal.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || HoursError::BadInterval(part.to_owned());
        let (a, b) = part.split_once('-').ok_or_else(bad)?;
        let (open, close) = (parse_time(a).ok_or_else(bad)?, parse_time(b).ok_or_else(bad)?);
        if open >= close || open >= 24 * 60 {
            return Err(HoursError::Backwards(part.to_owned()));
        }
        out.push((Interval { open, close }, part.to_owned()));
    }
    out.sort_by_key(|(i, _)| i.open);
    for w in out.windows(2) {
        if w[1].0.open < w[0].0.close {
            return Err(HoursError::Overlap(w[0].1.clone(), w[1].1.clone()));
        }
    }
    Ok(out.into_iter().map(|(i, _)| i).collect())
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// "08:00-12:00,14:00-22:00" (the stored form; "" is closed).
pub fn format_intervals(intervals: &[Interval]) -> String {
    intervals.iter().map(|i| format!("{}-{}", hhmm(i.open), hhmm(i.close))).collect::<Vec<_>>().join(",")
}

/// For readers: "08:00–12:00、14:00–22:00", or closed.
pub fn describe_intervals(intervals: &[Interval], lang: Lang) -> String {
    if intervals.is_empty() {
        return if lang == Lang::Zh { "闭馆".into() } else { "closed".into() };
    }
    let sep = if lang == Lang::Zh { "、" } else { ", " };
    intervals.iter().map(|i| format!("{}–{}", hhmm(i.open), hhmm(i.close))).collect::<Vec<_>>().join(sep)
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (validated, leap years included).
pub fn parse_day(s: &str) -> Result<i64, HoursError> {
    let bad = || HoursError::BadDay(s.to_owned());
    let s = s.trim();
    let mut it = s.split('-');
    let (y, m, d) = (it.next().ok_or_else(bad)?, it.next().ok_or_else(bad)?, it.next().ok_or_else(bad)?);
    if it.next().is_some() || y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
        return Err(bad());
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d))
}

pub fn weekday_name(wd: i64, lang: Lang) -> &'static str {
    let zh = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    let en = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let i = (wd.clamp(1, 7) - 1) as usize;
    if lang == Lang::Zh { zh[i] } else { en[i] }
}

/// A day a reader names after "开放时间" / "hours": `2026-10-01`, `10-01`, `10/1`, `10月1日`
/// or `10.1`. Without a year, the next such day from `today` (today included).
pub fn parse_asked_day(text: &str, today: i64) -> Option<i64> {
    let t: String = text.trim().trim_end_matches(['?', '？']).trim_end_matches("开放吗").trim_end_matches("开馆吗").trim().to_owned();
    if let Ok(d) = parse_day(&t) {
        return Some(d);
    }
    let normal = t.replace(['月', '/', '.'], "-").replace(['日', '号'], "");
    let (m, d) = normal.split_once('-')?;
    let (m, d): (u32, u32) = (m.trim().parse().ok()?, d.trim().parse().ok()?);
    let year: i64 = day_string(today)[..4].parse().ok()?;
    for y in [year, year + 1] {
        if let Ok(day) = parse_day(&format!("{y:04}-{m:02}-{d:02}"))
            && day >= today
        {
            return Some(day);
        }
    }
    None
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub id: i64,
    pub name: String,
    pub name_en: String,
}

impl Place {
    pub fn display(&self, lang: Lang) -> &str {
        if lang == Lang::En && !self.name_en.is_empty() { &self.name_en } else { &self.name }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HoursException {
    pub id: i64,
    pub place_id: i64,
    pub first_day: String,
    pub last_day: String,
    pub intervals: String,
    pub reason: String,
    pub announced_at: Option<i64>,
}

/// A place's hours on one day: the exception for that day if any, else the weekly schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayHours {
    pub place: Place,
    pub intervals: Vec<Interval>,
    /// Why the day differs from the weekly schedule.
    pub reason: Option<String>,
}

/// The answer to "开放时间" for a day: each place's hours, and what changes in the coming week.
pub async fn answer_for_day(db: &Db, days: i64, lang: Lang, label: &str) -> Result<String, DbError> {
    let hours = db.hours_on(days).await?;
    if hours.is_empty() {
        return Ok(if lang == Lang::Zh {
            "开放时间尚未公布，请咨询馆员。".into()
        } else {
            "Opening hours have not been published yet; please ask a librarian.".into()
        });
    }
    let day = day_string(days);
    let wd = weekday_name(weekday(days), lang);
    let mut out = match (lang, label.is_empty()) {
        (Lang::Zh, false) => format!("{label}（{day} {wd}）开放时间："),
        (Lang::Zh, true) => format!("{day}（{wd}）开放时间："),
        (Lang::En, false) => format!("Opening hours {label} ({wd} {day}):"),
        (Lang::En, true) => format!("Opening hours on {wd} {day}:"),
    };
    for h in &hours {
        let colon = if lang == Lang::Zh { "：" } else { ": " };
        out.push_str(&format!("\n· {}{colon}{}", h.place.display(lang), describe_intervals(&h.intervals, lang)));
        if let Some(r) = &h.reason {
            out.push_str(&if lang == Lang::Zh { format!("（{r}）") } else { format!(" ({r})") });
        }
    }
    // Changes in the next 7 days, so readers planning ahead see them.
    let places = db.places().await?;
    let upcoming: Vec<HoursException> = db
        .hours_exceptions(&day_string(days + 1))
        .await?
        .into_iter()
        .filter(|e| e.first_day.as_str() <= day_string(days + 7).as_str())
        .collect();
    if !upcoming.is_empty() {
        out.push_str(if lang == Lang::Zh { "\n\n近期调整：" } else { "\n\nComing changes:" });
        for e in upcoming {
            let place = places.iter().find(|p| p.id == e.place_id).map(|p| p.display(lang).to_owned()).unwrap_or_default();
            let iv = describe_intervals(&parse_intervals(&e.intervals).unwrap_or_default(), lang);
            let days = if e.first_day == e.last_day { e.first_day.clone() } else { format!("{}–{}", e.first_day, e.last_day) };
            out.push_str(&match lang {
                Lang::Zh => format!("\n· {days} {place}：{iv}（{}）", e.reason),
                Lang::En => format!("\n· {days} {place}: {iv} ({})", e.reason),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        let iv = parse_intervals("14:00-22:00, 08:00-12:00").unwrap();
        assert_eq!(format_intervals(&iv), "08:00-12:00,14:00-22:00");
        assert_eq!(parse_intervals("8：00～22：00").unwrap(), vec![Interval { open: 480, close: 1320 }]);
        assert_eq!(parse_intervals("闭馆").unwrap(), vec![]);
        assert_eq!(parse_intervals("").unwrap(), vec![]);
        assert_eq!(parse_intervals("00:00-24:00").unwrap(), vec![Interval { open: 0, close: 1440 }]);
        assert!(matches!(parse_intervals("22:00-08:00"), Err(HoursError::Backwards(_))));
        assert!(matches!(parse_intervals("08:00-12:00,11:00-13:00"), Err(HoursError::Overlap(..))));
        assert!(matches!(parse_intervals("8am-10pm"), Err(HoursError::BadInterval(_))));
        assert!(matches!(parse_intervals("08:60-09:00"), Err(HoursError::BadInterval(_))));
        assert!(matches!(parse_intervals("25:00-26:00"), Err(HoursError::BadInterval(_))));
    }

    #[test]
    fn asked_days() {
        let today = parse_day("2026-11-28").unwrap();
        assert_eq!(parse_asked_day("2026-12-01", today), parse_day("2026-12-01").ok());
        assert_eq!(parse_asked_day("12月1日", today), parse_day("2026-12-01").ok());
        assert_eq!(parse_asked_day("1/1", today), parse_day("2027-01-01").ok(), "a day already past this year is next year's");
        assert_eq!(parse_asked_day("11-28 开放吗？", today), Some(today));
        assert_eq!(parse_asked_day("10.1", today), parse_day("2027-10-01").ok());
        assert_eq!(parse_asked_day("明年", today), None);
        assert_eq!(parse_asked_day("2-30", today), None);
    }

    #[test]
    fn days() {
        assert_eq!(parse_day("1970-01-01").unwrap(), 0);
        assert_eq!(day_string(parse_day("2026-10-01").unwrap()), "2026-10-01");
        assert_eq!(weekday(parse_day("2026-11-28").unwrap()), 6, "a Saturday");
        assert_eq!(weekday(parse_day("2026-11-30").unwrap()), 1, "a Monday");
        assert!(parse_day("2026-02-29").is_err());
        assert!(parse_day("2028-02-29").is_ok());
        assert!(parse_day("2026-13-01").is_err());
        assert!(parse_day("2026/10/01").is_err());
        assert!(parse_day("next friday").is_err());
        assert_eq!(crate::clock::day_of(1_795_867_200), parse_day("2026-11-28").unwrap());
    }
}
