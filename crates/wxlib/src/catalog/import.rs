//! Importing the library system's MARC export: ISO 2709 (MARC 21 or UNIMARC/CNMARC, in UTF-8,
//! MARC-8 or GB18030) or MARCXML. Re-importing is idempotent (records are keyed by their control
//! number, 001); a record whose leader says deleted (`d`) is deleted; a damaged record is skipped
//! and reported with its position and reason, and never stops the rest.

use marc::{Bib, Charset, Record, RecordError};

use super::store::{ItemRow, RecordRow};
use crate::db::{Db, DbError};

const BATCH: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// MARCXML if the file starts with `<`, else ISO 2709.
    Auto,
    Iso2709,
    Marcxml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputCharset {
    /// From each record's leader (MARC 21) or 100 $a (UNIMARC), checked against the bytes.
    Auto,
    Utf8,
    Marc8,
    Gb18030,
}

impl From<InputCharset> for Charset {
    fn from(c: InputCharset) -> Self {
        match c {
            InputCharset::Auto => Charset::Auto,
            InputCharset::Utf8 => Charset::Utf8,
            InputCharset::Marc8 => Charset::Marc8,
            InputCharset::Gb18030 => Charset::Gb18030,
        }
    }
}

/// A record that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub source: String,
    pub offset: Option<usize>,
    pub index: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub read: usize,
    pub added: usize,
    pub updated: usize,
    pub deleted: usize,
    pub skipped: Vec<Skipped>,
    pub warnings: usize,
}

impl ImportSummary {
    pub fn merge(&mut self, other: ImportSummary) {
        self.read += other.read;
        self.added += other.added;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.skipped.extend(other.skipped);
        self.warnings += other.warnings;
    }
}

/// One parsed input record or the reason it could not be read.
enum Parsed {
    Record { record: Record, offset: Option<usize>, index: usize, warnings: usize },
    Bad(RecordError),
}

/// The records of a file, read one at a time (a 250,000-record export is never held parsed whole).
fn parse_all(bytes: &[u8], format: InputFormat, charset: Charset) -> Box<dyn Iterator<Item = Parsed> + Send + '_> {
    let trimmed = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let is_xml = match format {
        InputFormat::Marcxml => true,
        InputFormat::Iso2709 => false,
        InputFormat::Auto => trimmed.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<'),
    };
    if is_xml {
        Box::new(marc::XmlReader::new(bytes).enumerate().map(|(index, r)| match r {
            Ok(record) => Parsed::Record { record, offset: None, index, warnings: 0 },
            Err(e) => Parsed::Bad(e),
        }))
    } else {
        let mut reader = marc::Reader::with_charset(bytes, charset);
        Box::new(std::iter::from_fn(move || {
            reader.next_detailed().map(|r| match r {
                Ok(rr) => Parsed::Record { record: rr.record, offset: Some(rr.offset), index: rr.index, warnings: rr.warnings.len() },
                Err(e) => Parsed::Bad(e),
            })
        }))
    }
}

/// The id a record is stored under: its control number, else its first ISBN.
pub fn record_id(record: &Record, bib: &Bib) -> Option<String> {
    record.control_number().map(str::to_owned).or_else(|| bib.isbn13.first().map(|i| format!("isbn:{i}")))
}

/// The call number shown in result lists: CLC first (Chinese libraries shelve by it), then LC,
/// Dewey, local, then the first item's.
pub fn display_call_number(bib: &Bib) -> Option<String> {
    let c = &bib.call_numbers;
    c.clc
        .first()
        .or(c.lc.first())
        .or(c.dewey.first())
        .or(c.local.first())
        .cloned()
        .or_else(|| bib.items.iter().find_map(|i| i.call_number.clone()))
}

pub(crate) fn row_of(id: String, record: &Record, bib: &Bib) -> Result<RecordRow, String> {
    let marc = marc::to_iso2709(record).map_err(|e| format!("cannot re-encode: {e}"))?;
    let title = bib.title_vernacular.clone().or_else(|| bib.title.clone()).unwrap_or_default();
    let author = bib.main_author_vernacular.clone().or_else(|| bib.main_author.clone()).or_else(|| bib.responsibility.clone());
    let items = bib
        .items
        .iter()
        .filter_map(|it| {
            let barcode = it.barcode.clone()?;
            Some(ItemRow {
                barcode,
                record_id: id.clone(),
                location: it.location.clone().or_else(|| it.holding_branch.clone()).or_else(|| it.home_branch.clone()),
                call_number: it.call_number.clone(),
                status: "available".into(),
            })
        })
        .collect();
    Ok(RecordRow { id, marc, title, author, year: bib.year.map(i64::from), call_number: display_call_number(bib), items })
}

/// Imports one file's bytes into the store. `progress` is called with the number of records
/// handled so far.
pub async fn import_bytes(
    db: &Db,
    source: &str,
    bytes: &[u8],
    format: InputFormat,
    charset: InputCharset,
    now: i64,
    progress: &dyn Fn(usize),
) -> Result<ImportSummary, DbError> {
    let parsed = parse_all(bytes, format, charset.into());
    let mut summary = ImportSummary::default();
    let mut batch: Vec<RecordRow> = Vec::with_capacity(BATCH);
    let mut deletes: Vec<String> = Vec::new();
    let mut handled = 0;
    for p in parsed {
        handled += 1;
        match p {
            Parsed::Bad(e) => {
                summary.skipped.push(Skipped {
                    source: source.into(),
                    offset: Some(e.offset),
                    index: e.index,
                    reason: e.reason.to_string(),
                });
            }
            Parsed::Record { record, offset, index, warnings } => {
                summary.read += 1;
                summary.warnings += warnings;
                let bib = Bib::from_record(&record);
                let Some(id) = record_id(&record, &bib) else {
                    summary.skipped.push(Skipped {
                        source: source.into(),
                        offset,
                        index,
                        reason: "no control number (001) and no ISBN to key it by".into(),
                    });
                    continue;
                };
                if record.leader.record_status() == 'd' {
                    deletes.push(id);
                    continue;
                }
                match row_of(id, &record, &bib) {
                    Ok(row) => batch.push(row),
                    Err(reason) => summary.skipped.push(Skipped { source: source.into(), offset, index, reason }),
                }
                if batch.len() >= BATCH {
                    let c = db.upsert_records(&dedupe_batch(std::mem::take(&mut batch)), now).await?;
                    summary.added += c.added;
                    summary.updated += c.updated;
                    progress(handled);
                }
            }
        }
    }
    if !batch.is_empty() {
        let c = db.upsert_records(&dedupe_batch(batch), now).await?;
        summary.added += c.added;
        summary.updated += c.updated;
    }
    summary.deleted += db.delete_records(&deletes, now).await?;
    progress(handled);
    Ok(summary)
}

/// The same id twice in one statement would make PostgreSQL refuse the upsert; the later copy
/// in the file wins, as it would in a sequential import.
pub(crate) fn dedupe_batch(rows: Vec<RecordRow>) -> Vec<RecordRow> {
    let mut seen = std::collections::HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        seen.insert(r.id.clone(), i);
    }
    let mut barcodes = std::collections::HashSet::new();
    rows.into_iter()
        .enumerate()
        .filter(|(i, r)| seen.get(&r.id) == Some(i))
        .map(|(_, mut r)| {
            r.items.retain(|it| barcodes.insert(it.barcode.clone()));
            r
        })
        .collect()
}
