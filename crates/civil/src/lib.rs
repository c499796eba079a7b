//! Calendar arithmetic in one place, for every crate that reads or writes dates: SIP2's
//! `YYYYMMDDZZZZHHMMSS`, OAI-PMH's datestamps, the app's due dates and opening-hours days.
//!
//! Dates are proleptic Gregorian; a day number counts days since 1970-01-01 (negative before).
//! Conversions follow Howard Hinnant's `days_from_civil` / `civil_from_days`, which are exact
//! for every date in `i64` range that has a year in `i64`. No time zones here: callers add their
//! own offset (China Standard Time is UTC+8 with no daylight saving since 1991) before asking
//! for a day.

#![forbid(unsafe_code)]

use std::fmt;

/// Seconds in a day.
pub const DAY_SECS: i64 = 86_400;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// The date, if `month` and `day` exist in that year.
    pub fn new(year: i64, month: u32, day: u32) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let (year, month, day) = civil_from_days(days);
        Date { year, month, day }
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// The UTC date of a unix time (seconds).
    pub fn from_unix(unix_secs: i64) -> Date {
        Date::from_days(unix_secs.div_euclid(DAY_SECS))
    }

    /// Midnight UTC of this date, in unix seconds.
    pub fn unix_midnight(self) -> i64 {
        self.days() * DAY_SECS
    }

    /// Reads `YYYY-MM-DD` (exactly: four-digit year, two-digit month and day).
    pub fn parse_iso(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        Date::new(digits(&b[0..4])?, digits(&b[5..7])? as u32, digits(&b[8..10])? as u32)
    }

    /// Monday = 1 … Sunday = 7 (ISO 8601).
    pub fn iso_weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (4).
        ((self.days() + 3).rem_euclid(7) + 1) as u32
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A UTC date and time of day to the second, as OAI-PMH and SIP2 carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    pub date: Date,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl DateTime {
    /// The time, if the fields are in range (no leap seconds).
    pub fn new(date: Date, hour: u32, minute: u32, second: u32) -> Option<DateTime> {
        (hour < 24 && minute < 60 && second < 60).then_some(DateTime { date, hour, minute, second })
    }

    /// The UTC time of a unix time.
    pub fn from_unix(unix_secs: i64) -> DateTime {
        let secs = unix_secs.rem_euclid(DAY_SECS);
        DateTime {
            date: Date::from_unix(unix_secs),
            hour: (secs / 3600) as u32,
            minute: (secs % 3600 / 60) as u32,
            second: (secs % 60) as u32,
        }
    }

    /// Unix seconds.
    pub fn unix(self) -> i64 {
        self.date.unix_midnight() + i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second)
    }

    /// Reads `YYYY-MM-DDThh:mm:ssZ` (UTC, the only form OAI-PMH allows).
    pub fn parse_iso_utc(s: &str) -> Option<DateTime> {
        let b = s.as_bytes();
        if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
            return None;
        }
        let date = Date::parse_iso(&s[..10])?;
        DateTime::new(date, digits(&b[11..13])? as u32, digits(&b[14..16])? as u32, digits(&b[17..19])? as u32)
    }
}

impl fmt::Display for DateTime {
    /// `YYYY-MM-DDThh:mm:ssZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}T{:02}:{:02}:{:02}Z", self.date, self.hour, self.minute, self.second)
    }
}

/// Whether `year` has a 29 February.
pub fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1–12) of `year`; 0 for a month out of range.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// (year, month, day) → days since 1970-01-01. The month and day are not checked.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 → (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ASCII digits → number; `None` if any byte is not a digit.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_agree_over_four_centuries() {
        let start = days_from_civil(1900, 1, 1);
        let mut expected = Date { year: 1900, month: 1, day: 1 };
        for days in start..start + 146_097 {
            let d = Date::from_days(days);
            assert_eq!(d, expected, "day {days}");
            assert_eq!(d.days(), days);
            expected = if d.day < days_in_month(d.year, d.month) {
                Date { day: d.day + 1, ..d }
            } else if d.month < 12 {
                Date { month: d.month + 1, day: 1, ..d }
            } else {
                Date { year: d.year + 1, month: 1, day: 1 }
            };
        }
    }

    #[test]
    fn known_days() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_unix(951_782_400).to_string(), "2000-02-29");
        assert_eq!(Date::from_unix(-1).to_string(), "1969-12-31");
        assert_eq!(Date::new(2026, 12, 7).map(Date::iso_weekday), Some(1));
        assert_eq!(Date::new(1970, 1, 1).map(Date::iso_weekday), Some(4));
    }

    #[test]
    fn iso_forms_are_read_exactly() {
        assert_eq!(Date::parse_iso("2024-02-29"), Date::new(2024, 2, 29));
        for bad in ["2023-02-29", "2024-13-01", "2024-1-01", "2024-01-01Z", "２０２４-01-01", ""] {
            assert_eq!(Date::parse_iso(bad), None, "{bad}");
        }
        let t = DateTime::parse_iso_utc("2026-12-07T01:02:03Z");
        assert_eq!(t.map(|t| t.to_string()).as_deref(), Some("2026-12-07T01:02:03Z"));
        assert_eq!(t.map(DateTime::unix), Some(1_796_605_323));
        assert_eq!(DateTime::from_unix(1_796_605_323).to_string(), "2026-12-07T01:02:03Z");
        for bad in ["2026-12-07T24:00:00Z", "2026-12-07 01:02:03Z", "2026-12-07T01:02:03", "2026-12-07T01:02:03+08:00"] {
            assert_eq!(DateTime::parse_iso_utc(bad), None, "{bad}");
        }
    }
}
