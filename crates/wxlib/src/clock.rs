//! The time wxlib acts on, and all of its date arithmetic. Real time by default; tests move it
//! forward (a due date three days out, tomorrow's reminder run) without waiting.
//!
//! Every date a reader or librarian sees is China Standard Time (UTC+8, no daylight saving since
//! 1991), so a local time is the unix time plus [`CST_OFFSET_SECS`], and a day is a day number
//! (days since 1970-01-01, proleptic Gregorian: the `civil` crate's).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds in a day.
pub const DAY_SECS: i64 = 86_400;
/// China Standard Time's offset from UTC.
pub const CST_OFFSET_SECS: i64 = 8 * 3600;

/// Current unix time in seconds (the system's, without the [`Clock`]'s offset).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[derive(Clone, Default, Debug)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// Unix seconds.
    pub fn now(&self) -> i64 {
        unix_now() + self.offset.load(Ordering::Relaxed)
    }

    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::Relaxed);
    }
}

/// The day number (China Standard Time) a unix time falls on.
pub fn day_of(unix: i64) -> i64 {
    (unix + CST_OFFSET_SECS).div_euclid(DAY_SECS)
}

/// 00:00 China Standard Time of a day number, as unix time.
pub fn day_start(day: i64) -> i64 {
    day * DAY_SECS - CST_OFFSET_SECS
}

/// Midnight (China Standard Time) of the day a time falls on.
pub fn local_midnight(unix: i64) -> i64 {
    unix - seconds_into_day(unix)
}

/// Seconds since local midnight (China Standard Time).
pub fn seconds_into_day(unix: i64) -> i64 {
    (unix + CST_OFFSET_SECS).rem_euclid(DAY_SECS)
}

/// `YYYY-MM-DD` of a day number.
pub fn day_string(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The calendar day (China Standard Time) of a unix time, `YYYY-MM-DD`.
pub fn local_day(unix: i64) -> String {
    day_string(day_of(unix))
}

/// `HH:MM` in China Standard Time.
pub fn local_hm(unix: i64) -> String {
    let secs = seconds_into_day(unix);
    format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

/// `YYYY-MM-DD HH:MM` in China Standard Time.
pub fn local_datetime(unix: i64) -> String {
    format!("{} {}", local_day(unix), local_hm(unix))
}

/// The value of an `<input type="datetime-local">` for a time: `YYYY-MM-DDTHH:MM` (CST).
pub fn datetime_input_value(unix: i64) -> String {
    format!("{}T{}", local_day(unix), local_hm(unix))
}

/// Parses `YYYY-MM-DDTHH:MM` (what browsers send for `datetime-local`) or `YYYY-MM-DD HH:MM`,
/// optionally with `:SS`, as China Standard Time.
pub fn parse_local(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once('T').or_else(|| s.split_once(' '))?;
    let mut d = date.split('-');
    let (y, m, day): (i64, u32, u32) = (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    if d.next().is_some() || !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || day < 1 || day > days_in_month(y, m) {
        return None;
    }
    let mut t = time.split(':');
    let (hh, mm): (i64, i64) = (t.next()?.parse().ok()?, t.next()?.parse().ok()?);
    let ss: i64 = match t.next() {
        Some(v) => v.parse().ok()?,
        None => 0,
    };
    if t.next().is_some() || !(0..24).contains(&hh) || !(0..60).contains(&mm) || !(0..60).contains(&ss) {
        return None;
    }
    Some(day_start(days_from_civil(y, m, day)) + hh * 3600 + mm * 60 + ss)
}

/// 1 = Monday … 7 = Sunday of a day number (1970-01-01 was a Thursday).
pub fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7) + 1
}

/// The first moment (00:00 China Standard Time) of the month `now` falls in.
pub fn month_start(now: i64) -> i64 {
    let day = day_of(now);
    let (_, _, d) = civil_from_days(day);
    day_start(day - (i64::from(d) - 1))
}

/// The next time it is `hour`:00 China Standard Time, strictly after `now`.
pub fn next_daily(now: i64, hour: u32) -> i64 {
    let local = now + CST_OFFSET_SECS;
    let today_at = local - local.rem_euclid(DAY_SECS) + hour as i64 * 3600;
    let next_local = if today_at > local { today_at } else { today_at + DAY_SECS };
    next_local - CST_OFFSET_SECS
}

// The calendar itself (Howard Hinnant's day-number algorithms, leap years) is the workspace's
// `civil` crate; this module adds China Standard Time and the formats wxlib shows.
pub use civil::{civil_from_days, days_from_civil, days_in_month};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_in_china_standard_time() {
        assert_eq!(local_day(0), "1970-01-01");
        assert_eq!(local_day(16 * 3600 - 1), "1970-01-01");
        assert_eq!(local_day(16 * 3600), "1970-01-02");
        assert_eq!(local_day(1_795_867_200), "2026-11-28"); // 2026-11-28 08:00 CST
        assert_eq!(local_day(951_782_400), "2000-02-29");
    }

    #[test]
    fn next_daily_run() {
        // 2026-11-28 08:00 CST = 00:00 UTC.
        let t = 1_795_824_000;
        assert_eq!(next_daily(t, 9), t + 3600);
        assert_eq!(next_daily(t + 3600, 9), t + 3600 + 86_400);
        assert_eq!(next_daily(t, 8), t + 86_400);
    }

    #[test]
    fn local_times_round_trip() {
        // 2026-11-28 08:00 CST = 00:00 UTC.
        assert_eq!(parse_local("2026-11-28T08:00"), Some(1_795_824_000));
        assert_eq!(parse_local("2026-11-28 08:00:30"), Some(1_795_824_030));
        assert_eq!(local_datetime(1_795_824_000), "2026-11-28 08:00");
        assert_eq!(datetime_input_value(1_795_824_000), "2026-11-28T08:00");
        assert_eq!(parse_local("2024-02-29T23:59").map(local_datetime).as_deref(), Some("2024-02-29 23:59"));
        assert_eq!(local_midnight(1_795_824_000), 1_795_824_000 - 8 * 3600);
        for bad in [
            "",
            "2026-11-28",
            "2026-13-01T10:00",
            "2025-02-29T10:00",
            "2026-11-28T24:00",
            "2026-11-28T10:60",
            "x-1-1T1:1",
            "2026-11-28T10:00:00:00",
        ] {
            assert_eq!(parse_local(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_start_on_their_first_day() {
        // 2026-11-28 20:00 CST → 2026-11-01 00:00 CST = 2026-10-31 16:00 UTC.
        assert_eq!(month_start(1_795_867_200), 1_793_462_400);
        let t = parse_local("2026-12-17T09:30").unwrap();
        assert_eq!(local_datetime(month_start(t)), "2026-12-01 00:00");
        let first = parse_local("2026-03-01T00:00").unwrap();
        assert_eq!(month_start(first), first);
        assert_eq!(month_start(first - 1), parse_local("2026-02-01T00:00").unwrap());
    }

    #[test]
    fn civil_dates_round_trip() {
        for day in [-719_468, -1, 0, 59, 10_956, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            assert!(d <= days_in_month(y, m));
        }
        assert_eq!(weekday(0), 4, "1970-01-01 was a Thursday");
    }
}
