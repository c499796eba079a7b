//! Loading the built-in library system from CSV: readers (`card,name,password`), items
//! (`barcode,record_id,location,call_number`) and loans (`card,barcode,loaned_on,due_on`, dates
//! as `YYYY-MM-DD` or unix seconds; `due_on` may be empty for the loan rule's default). A header
//! row is expected. Bad rows are reported with their line and do not stop the rest.

use super::builtin::BuiltinIls;
use crate::clock::{day_start, days_from_civil};
use crate::db::DbError;

#[derive(Debug, Default)]
pub struct LoadSummary {
    pub loaded: usize,
    pub errors: Vec<String>,
}

/// `YYYY-MM-DD` (noon China Standard Time) or unix seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let mut parts = s.split('-');
    let (y, m, d): (i64, i64, i64) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // 12:00 China Standard Time of that day.
    Some(day_start(days_from_civil(y, m as u32, d as u32)) + 12 * 3600)
}

fn records(data: &str) -> csv::StringRecordsIntoIter<&[u8]> {
    csv::ReaderBuilder::new().has_headers(true).flexible(true).trim(csv::Trim::All).from_reader(data.as_bytes()).into_records()
}

pub async fn readers(ils: &BuiltinIls, data: &str) -> LoadSummary {
    let mut out = LoadSummary::default();
    for (i, row) in records(data).enumerate() {
        let line = i + 2;
        match row {
            Ok(r) if r.len() >= 3 && !r[0].is_empty() && !r[2].is_empty() => match ils.add_reader(&r[0], &r[1], &r[2]).await {
                Ok(()) => out.loaded += 1,
                Err(e) => out.errors.push(format!("line {line}: {e}")),
            },
            Ok(_) => out.errors.push(format!("line {line}: expected card,name,password")),
            Err(e) => out.errors.push(format!("line {line}: {e}")),
        }
    }
    out
}

pub async fn items(ils: &BuiltinIls, data: &str) -> Result<LoadSummary, DbError> {
    let mut out = LoadSummary::default();
    for (i, row) in records(data).enumerate() {
        let line = i + 2;
        let r = match row {
            Ok(r) if r.len() >= 2 && !r[0].is_empty() && !r[1].is_empty() => r,
            Ok(_) => {
                out.errors.push(format!("line {line}: expected barcode,record_id,location,call_number"));
                continue;
            }
            Err(e) => {
                out.errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        if !ils.db.record_exists(&r[1]).await? {
            out.errors.push(format!("line {line}: no catalog record {}", &r[1]));
            continue;
        }
        let (loc, call) = (r.get(2).filter(|s| !s.is_empty()), r.get(3).filter(|s| !s.is_empty()));
        ils.db.put_item(&r[0], &r[1], loc, call).await?;
        out.loaded += 1;
    }
    Ok(out)
}

pub async fn loans(ils: &BuiltinIls, data: &str) -> LoadSummary {
    let mut out = LoadSummary::default();
    for (i, row) in records(data).enumerate() {
        let line = i + 2;
        let r = match row {
            Ok(r) if r.len() >= 3 => r,
            Ok(_) => {
                out.errors.push(format!("line {line}: expected card,barcode,loaned_on,due_on"));
                continue;
            }
            Err(e) => {
                out.errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let Some(loaned) = parse_time(&r[2]) else {
            out.errors.push(format!("line {line}: loaned_on {:?} is not a date", &r[2]));
            continue;
        };
        let due = match r.get(3).filter(|s| !s.is_empty()) {
            None => None,
            Some(d) => match parse_time(d) {
                Some(t) => Some(t),
                None => {
                    out.errors.push(format!("line {line}: due_on {d:?} is not a date"));
                    continue;
                }
            },
        };
        match ils.checkout(&r[0], &r[1], loaned, due).await {
            Ok(()) => out.loaded += 1,
            Err(e) => out.errors.push(format!("line {line}: {e}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_with_local_day() {
        for d in ["2026-11-28", "2000-02-29", "1999-12-31", "2026-01-01"] {
            assert_eq!(crate::clock::local_day(parse_time(d).unwrap()), d);
        }
        assert_eq!(parse_time("1795824000"), Some(1_795_824_000));
        assert_eq!(parse_time("2026-13-01"), None);
        assert_eq!(parse_time("yesterday"), None);
    }
}
