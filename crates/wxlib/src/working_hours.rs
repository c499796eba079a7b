//! The librarians' working hours (`consultation.working_days`, `consultation.working_hours`):
//! parsed and checked once (the configuration refuses what does not parse), asked whether a
//! moment is within them, and described for readers.

use crate::clock;
use crate::lang::Lang;

/// The librarians' working hours, China Standard Time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingHours {
    /// ISO weekdays, index 1..=7.
    days: [bool; 8],
    /// Minutes after midnight, [open, close).
    open: u32,
    close: u32,
    text_days: String,
    text_hours: String,
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

impl WorkingHours {
    /// `days` like "1-5" or "1,2,3,6"; `hours` like "08:30-17:30".
    pub fn parse(days: &str, hours: &str) -> Result<Self, String> {
        let mut set = [false; 8];
        for part in days.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let (a, b): (usize, usize) = match (a.trim().parse(), b.trim().parse()) {
                (Ok(a), Ok(b)) if (1..=7).contains(&a) && (1..=7).contains(&b) && a <= b => (a, b),
                _ => return Err(format!("working_days {days:?}: use weekdays 1 (Monday) to 7 (Sunday), like \"1-5\" or \"1,2,3,6\"")),
            };
            set[a..=b].fill(true);
        }
        let bad = || format!("working_hours {hours:?}: use \"HH:MM-HH:MM\", like \"08:30-17:30\"");
        let (o, c) = hours.split_once('-').ok_or_else(bad)?;
        let (open, close) = (parse_hhmm(o).ok_or_else(bad)?, parse_hhmm(c).ok_or_else(bad)?);
        if open >= close {
            return Err(bad());
        }
        Ok(Self { days: set, open, close, text_days: days.trim().into(), text_hours: hours.trim().into() })
    }

    /// As [`WorkingHours::parse`]; what does not parse means "always" (the configuration is
    /// validated at startup, so only a configuration built in code can be wrong).
    pub fn parse_or_always(days: &str, hours: &str) -> Self {
        Self::parse(days, hours).unwrap_or(Self {
            days: [true; 8],
            open: 0,
            close: 24 * 60,
            text_days: "1-7".into(),
            text_hours: "00:00-24:00".into(),
        })
    }

    /// Whether librarians are at work at unix time `at`.
    pub fn is_open(&self, at: i64) -> bool {
        let weekday = clock::weekday(clock::day_of(at)) as usize;
        let minute = (clock::seconds_into_day(at) / 60) as u32;
        self.days[weekday] && minute >= self.open && minute < self.close
    }

    /// "周一至周五 08:30-17:30" / "Mon–Fri 08:30-17:30".
    pub fn describe(&self, lang: Lang) -> String {
        const ZH: [&str; 8] = ["", "周一", "周二", "周三", "周四", "周五", "周六", "周日"];
        const EN: [&str; 8] = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let names = if lang == Lang::Zh { ZH } else { EN };
        // Runs of consecutive days: "周一至周五", "周一、周三".
        let mut runs: Vec<String> = Vec::new();
        let mut d = 1;
        while d <= 7 {
            if self.days[d] {
                let start = d;
                while d < 7 && self.days[d + 1] {
                    d += 1;
                }
                runs.push(if d > start + 1 {
                    format!("{}{}{}", names[start], if lang == Lang::Zh { "至" } else { "–" }, names[d])
                } else if d == start + 1 {
                    format!("{}{}{}", names[start], if lang == Lang::Zh { "、" } else { ", " }, names[d])
                } else {
                    names[start].to_owned()
                });
            }
            d += 1;
        }
        let sep = if lang == Lang::Zh { "、" } else { ", " };
        format!("{} {}", runs.join(sep), self.text_hours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_hours_in_china_standard_time() {
        let w = WorkingHours::parse("1-5", "08:30-17:30").unwrap();
        // 2026-11-27 is a Friday; 00:30 UTC = 08:30 CST.
        let fri_0830 = 1_795_739_400;
        assert!(w.is_open(fri_0830));
        assert!(!w.is_open(fri_0830 - 60));
        assert!(w.is_open(fri_0830 + 9 * 3600 - 60));
        assert!(!w.is_open(fri_0830 + 9 * 3600));
        assert!(!w.is_open(fri_0830 + 86_400), "Saturday");
        assert_eq!(w.describe(Lang::Zh), "周一至周五 08:30-17:30");
        assert_eq!(WorkingHours::parse("1,3,6-7", "9:00-12:00").unwrap().describe(Lang::En), "Mon, Wed, Sat, Sun 9:00-12:00");
        assert!(WorkingHours::parse("0-5", "08:30-17:30").is_err());
        assert!(WorkingHours::parse("1-5", "17:30-08:30").is_err());
        assert!(WorkingHours::parse("1-5", "8-17").is_err());
        assert!(WorkingHours::parse("1-7", "00:00-24:00").unwrap().is_open(fri_0830 + 86_400));
    }
}
