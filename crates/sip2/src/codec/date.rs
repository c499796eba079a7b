//! SIP2 dates.
//!
//! Fixed date fields are 18 characters `YYYYMMDDZZZZHHMMSS`: `ZZZZ` is four spaces for local time
//! or `   Z` for UTC (the spec allows other zone letters). [`SipDate`] holds such a field exactly as
//! it was on the wire (so decoding and encoding give back the same bytes) and offers accessors.
//!
//! Due dates (`AH`) are variable fields and many systems put free text there (`2026-12-28`,
//! `12/28/2026 11:59 PM`, `28.12.2026`, `2026年12月28日` …): [`parse_due_date`] reads them
//! leniently into a [`Timestamp`].

use std::fmt;

/// An 18-character SIP2 date field, kept verbatim.
///
/// Positions 0–7 and 12–17 hold digits or spaces, 8–11 upper-case letters or spaces.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SipDate([u8; 18]);

impl SipDate {
    /// Eighteen spaces (what self-check clients send for "no date").
    pub const BLANK: SipDate = SipDate([b' '; 18]);

    /// A local-time date (zone = four spaces). `None` if a part is out of range.
    pub fn local(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<SipDate> {
        Self::with_zone(year, month, day, *b"    ", hour, minute, second)
    }

    /// A UTC date (zone = `   Z`). `None` if a part is out of range.
    pub fn utc(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<SipDate> {
        Self::with_zone(year, month, day, *b"   Z", hour, minute, second)
    }

    fn with_zone(year: u16, month: u8, day: u8, zone: [u8; 4], hour: u8, minute: u8, second: u8) -> Option<SipDate> {
        if year > 9999 || !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let s = format!("{year:04}{month:02}{day:02}{}{hour:02}{minute:02}{second:02}", String::from_utf8_lossy(&zone));
        Self::from_bytes(s.as_bytes())
    }

    /// The current time: UTC (`   Z`) when `utc_offset_secs` is `None`, otherwise local time at
    /// that fixed offset from UTC with a blank zone (what most ILSs expect).
    pub fn now(utc_offset_secs: Option<i32>) -> SipDate {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
            .unwrap_or(0);
        Self::from_unix(secs, utc_offset_secs)
    }

    /// The date for a Unix time, like [`SipDate::now`].
    pub fn from_unix(unix_secs: i64, utc_offset_secs: Option<i32>) -> SipDate {
        let t = unix_secs + i64::from(utc_offset_secs.unwrap_or(0));
        let days = t.div_euclid(86_400);
        let sod = t.rem_euclid(86_400);
        let (y, m, d) = civil::civil_from_days(days);
        // Month 1–12 and day 1–31 always fit.
        let (m, d) = (m as u8, d as u8);
        let (hh, mm, ss) = ((sod / 3600) as u8, ((sod % 3600) / 60) as u8, (sod % 60) as u8);
        let year = u16::try_from(y.clamp(0, 9999)).unwrap_or(0);
        let made = if utc_offset_secs.is_some() { Self::local(year, m, d, hh, mm, ss) } else { Self::utc(year, m, d, hh, mm, ss) };
        made.unwrap_or(Self::BLANK)
    }

    /// Validate 18 bytes as a SIP2 date.
    pub fn from_bytes(bytes: &[u8]) -> Option<SipDate> {
        let arr: [u8; 18] = bytes.try_into().ok()?;
        let ok = arr
            .iter()
            .enumerate()
            .all(|(i, &b)| if (8..12).contains(&i) { b == b' ' || b.is_ascii_uppercase() } else { b == b' ' || b.is_ascii_digit() });
        ok.then_some(SipDate(arr))
    }

    /// The 18 bytes.
    pub fn as_bytes(&self) -> &[u8; 18] {
        &self.0
    }

    /// The 18 characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// All spaces.
    pub fn is_blank(&self) -> bool {
        self.0.iter().all(|&b| b == b' ')
    }

    /// The zone part (`"    "` local, `"   Z"` UTC).
    pub fn zone(&self) -> &str {
        self.as_str().get(8..12).unwrap_or("")
    }

    /// Date and time, if the field holds digits in the date and time positions and they are in
    /// range.
    pub fn timestamp(&self) -> Option<Timestamp> {
        let s = self.as_str();
        let n = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
        let ts = Timestamp {
            year: u16::try_from(n(0..4)?).ok()?,
            month: u8::try_from(n(4..6)?).ok()?,
            day: u8::try_from(n(6..8)?).ok()?,
            time: match (n(12..14), n(14..16), n(16..18)) {
                (Some(h), Some(m), Some(sec)) => Some((u8::try_from(h).ok()?, u8::try_from(m).ok()?, u8::try_from(sec).ok()?)),
                _ => None,
            },
        };
        ts.valid().then_some(ts)
    }
}

impl Default for SipDate {
    fn default() -> Self {
        Self::BLANK
    }
}

impl fmt::Debug for SipDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SipDate({:?})", self.as_str())
    }
}

impl fmt::Display for SipDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SipDate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SipDate::from_bytes(s.as_bytes()).ok_or_else(|| format!("not a SIP2 date: {s:?}"))
    }
}

/// A calendar date with an optional time of day, as read from a SIP2 field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Four-digit year.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// Hour (0–23), minute, second, when the source had a time.
    pub time: Option<(u8, u8, u8)>,
}

impl Timestamp {
    fn valid(&self) -> bool {
        let days_in_month = civil::days_in_month(i64::from(self.year), u32::from(self.month));
        (1000..=9999).contains(&self.year)
            && (1..=days_in_month).contains(&u32::from(self.day))
            && self.time.is_none_or(|(h, m, s)| h <= 23 && m <= 59 && s <= 60)
    }

    /// `YYYY-MM-DD`, plus ` HH:MM:SS` when there is a time.
    pub fn to_iso(&self) -> String {
        let date = format!("{:04}-{:02}-{:02}", self.year, self.month, self.day);
        match self.time {
            Some((h, m, s)) => format!("{date} {h:02}:{m:02}:{s:02}"),
            None => date,
        }
    }

    /// Days since 1970-01-01 of the date part (handy to compare with today).
    pub fn days_since_epoch(&self) -> i64 {
        civil::days_from_civil(i64::from(self.year), u32::from(self.month), u32::from(self.day))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_iso())
    }
}

/// Read a due date in whatever form an ILS wrote it. Understands the SIP2 form
/// (`20261228    235900`), bare `YYYYMMDD[HHMMSS]`, ISO (`2026-12-28`, `2026-12-28T23:59:00`,
/// `2026/12/28 23:59`), `MM/DD/YYYY [HH:MM[:SS]] [AM|PM]` (day first when the first number is
/// over 12), `DD.MM.YYYY`, and `2026年12月28日`. Returns `None` for anything else.
pub fn parse_due_date(text: &str) -> Option<Timestamp> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    // Runs of ASCII digits with what separates them.
    let mut runs: Vec<&str> = Vec::new();
    let mut seps: Vec<String> = Vec::new();
    let mut start = None;
    let mut sep = String::new();
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() {
            if start.is_none() {
                start = Some(i);
                seps.push(std::mem::take(&mut sep));
            }
        } else {
            if let Some(st) = start.take() {
                runs.push(s.get(st..i)?);
            }
            sep.push(c);
        }
    }
    if let Some(st) = start {
        runs.push(s.get(st..)?);
    }
    let first = *runs.first()?;
    let num = |x: &str| x.parse::<u32>().ok();
    let u8n = |x: &str| num(x).and_then(|v| u8::try_from(v).ok());

    let pm = {
        let up = s.to_ascii_uppercase();
        if up.contains("PM") || s.contains("下午") {
            Some(true)
        } else if up.contains("AM") || s.contains("上午") {
            Some(false)
        } else {
            None
        }
    };
    let time_from = |rest: &[&str]| -> Option<(u8, u8, u8)> {
        let mut h = u8n(rest.first()?)?;
        let m = rest.get(1).and_then(|x| u8n(x)).unwrap_or(0);
        let sec = rest.get(2).and_then(|x| u8n(x)).unwrap_or(0);
        match pm {
            Some(true) if h < 12 => h += 12,
            Some(false) if h == 12 => h = 0,
            _ => {}
        }
        Some((h, m, sec))
    };

    let ts = if first.len() >= 8 {
        // YYYYMMDD, maybe glued to HHMMSS, maybe followed by a zone and HHMMSS.
        let y = u16::try_from(num(first.get(0..4)?)?).ok()?;
        let mo = u8n(first.get(4..6)?)?;
        let d = u8n(first.get(6..8)?)?;
        let time = if first.len() >= 12 {
            let t = first.get(8..)?;
            Some((u8n(t.get(0..2)?)?, u8n(t.get(2..4)?)?, t.get(4..6).and_then(u8n).unwrap_or(0)))
        } else if let Some(t) = runs.get(1) {
            if t.len() >= 4 {
                Some((u8n(t.get(0..2)?)?, u8n(t.get(2..4)?)?, t.get(4..6).and_then(u8n).unwrap_or(0)))
            } else {
                time_from(runs.get(1..)?)
            }
        } else {
            None
        };
        Timestamp { year: y, month: mo, day: d, time }
    } else if first.len() == 4 && runs.len() >= 3 {
        // Y M D [h m s]
        Timestamp {
            year: u16::try_from(num(first)?).ok()?,
            month: u8n(runs.get(1)?)?,
            day: u8n(runs.get(2)?)?,
            time: runs.get(3..).and_then(time_from),
        }
    } else if runs.len() >= 3 && runs.get(2).is_some_and(|r| r.len() == 4) && first.len() <= 2 {
        // A B YYYY: D.M.Y with dots, D/M/Y when A > 12, else M/D/Y.
        let a = u8n(first)?;
        let b = u8n(runs.get(1)?)?;
        let dotted = seps.get(1).is_some_and(|x| x.contains('.'));
        let (month, day) = if dotted || a > 12 { (b, a) } else { (a, b) };
        Timestamp { year: u16::try_from(num(runs.get(2)?)?).ok()?, month, day, time: runs.get(3..).and_then(time_from) }
    } else {
        return None;
    };
    ts.valid().then_some(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(y: u16, m: u8, d: u8, t: Option<(u8, u8, u8)>) -> Timestamp {
        Timestamp { year: y, month: m, day: d, time: t }
    }

    #[test]
    fn due_dates() {
        let cases: &[(&str, Option<Timestamp>)] = &[
            ("20261228    235900", Some(ts(2026, 12, 28, Some((23, 59, 0))))),
            ("20261228   Z235900", Some(ts(2026, 12, 28, Some((23, 59, 0))))),
            ("20261228", Some(ts(2026, 12, 28, None))),
            ("20261228235901", Some(ts(2026, 12, 28, Some((23, 59, 1))))),
            ("2026-12-28", Some(ts(2026, 12, 28, None))),
            ("2026-12-28T23:59:00", Some(ts(2026, 12, 28, Some((23, 59, 0))))),
            ("2026/12/28 23:59", Some(ts(2026, 12, 28, Some((23, 59, 0))))),
            ("12/28/2026", Some(ts(2026, 12, 28, None))),
            ("12/28/2026 11:59 PM", Some(ts(2026, 12, 28, Some((23, 59, 0))))),
            ("28/12/2026", Some(ts(2026, 12, 28, None))),
            ("28.12.2026", Some(ts(2026, 12, 28, None))),
            ("03.04.2026", Some(ts(2026, 4, 3, None))),
            ("2026年12月28日", Some(ts(2026, 12, 28, None))),
            ("Due: 2026-02-29", None),
            ("2028-02-29", Some(ts(2028, 2, 29, None))),
            ("soon", None),
            ("", None),
            ("                  ", None),
            ("20261328", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_due_date(text), *want, "{text:?}");
        }
    }

    #[test]
    fn sip_date_accessors() {
        let d = SipDate::from_bytes(b"20261128    125723").unwrap();
        assert_eq!(d.timestamp(), Some(ts(2026, 11, 28, Some((12, 57, 23)))));
        assert_eq!(d.zone(), "    ");
        assert!(SipDate::BLANK.timestamp().is_none());
        assert!(SipDate::from_bytes(b"2026112x    125723").is_none());
        assert!(SipDate::from_bytes(b"20261128    12572").is_none());
        assert_eq!(SipDate::utc(2026, 11, 28, 4, 57, 23).unwrap().as_str(), "20261128   Z045723");
    }

    #[test]
    fn unix_conversion() {
        // 2026-11-28 04:57:23 UTC
        let t = 1_795_841_843;
        assert_eq!(SipDate::from_unix(t, None).as_str(), "20261128   Z045723");
        assert_eq!(SipDate::from_unix(t, Some(8 * 3600)).as_str(), "20261128    125723");
        assert_eq!(SipDate::from_unix(0, None).as_str(), "19700101   Z000000");
        let back = ts(2026, 11, 28, None).days_since_epoch();
        assert_eq!(back, t / 86_400);
    }
}
