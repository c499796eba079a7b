//! Datestamps: UTC, at the repository's granularity (`YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ`).

use std::fmt;

use civil::{Date, DateTime};

/// The finest datestamp a repository supports (Identify's `<granularity>`); `from`/`until` must
/// be sent at this granularity or the repository answers `badArgument`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// `YYYY-MM-DD`
    Day,
    /// `YYYY-MM-DDThh:mm:ssZ`
    Seconds,
}

impl Granularity {
    pub fn parse(s: &str) -> Option<Granularity> {
        match s.trim() {
            "YYYY-MM-DD" => Some(Granularity::Day),
            "YYYY-MM-DDThh:mm:ssZ" => Some(Granularity::Seconds),
            _ => None,
        }
    }

    /// How far back an incremental harvest must start from the last harvest's response time so
    /// that nothing changed in between is missed: a whole day when datestamps are days (a record
    /// changed later the same day carries that day's date), else a minute for clocks that
    /// disagree and records whose datestamp is written a little after they are visible.
    pub fn overlap_secs(self) -> i64 {
        match self {
            Granularity::Day => civil::DAY_SECS,
            Granularity::Seconds => 60,
        }
    }
}

/// A point in time as OAI-PMH carries it, in unix seconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datestamp(pub i64);

impl Datestamp {
    /// Reads either granularity (a day means its first second).
    pub fn parse(s: &str) -> Option<Datestamp> {
        let s = s.trim();
        if s.len() == 10 {
            Date::parse_iso(s).map(|d| Datestamp(d.unix_midnight()))
        } else {
            DateTime::parse_iso_utc(s).map(|t| Datestamp(t.unix()))
        }
    }

    /// Written at `granularity` (a day drops the time of day, so it is never later than `self`).
    pub fn format(self, granularity: Granularity) -> String {
        match granularity {
            Granularity::Day => Date::from_unix(self.0).to_string(),
            Granularity::Seconds => DateTime::from_unix(self.0).to_string(),
        }
    }
}

impl fmt::Display for Datestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(Granularity::Seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_granularities_round_trip() {
        let t = Datestamp::parse("2026-12-07T01:02:03Z").unwrap();
        assert_eq!(t.format(Granularity::Seconds), "2026-12-07T01:02:03Z");
        assert_eq!(t.format(Granularity::Day), "2026-12-07");
        assert_eq!(Datestamp::parse("2026-12-07"), Some(Datestamp(t.0 - 3723)));
        assert_eq!(Datestamp::parse(" 2026-12-07 "), Datestamp::parse("2026-12-07"));
        assert_eq!(Datestamp::parse("2026-12-07T01:02:03+08:00"), None);
        assert_eq!(Granularity::parse("YYYY-MM-DDThh:mm:ssZ"), Some(Granularity::Seconds));
        assert_eq!(Granularity::parse("YYYY"), None);
    }
}
