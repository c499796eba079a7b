//! The time wxlib acts on. Real time by default; tests move it forward (a due date three days out,
//! tomorrow's reminder run) without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::db::unix_now;

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

/// The calendar day (China Standard Time, UTC+8, no DST since 1991) of a unix time, `YYYY-MM-DD`.
pub fn local_day(unix: i64) -> String {
    let days = (unix + 8 * 3600).div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
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
}
