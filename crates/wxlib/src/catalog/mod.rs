//! The catalog (OPAC): MARC import, the relevance-ranked search index, result pages for chat and
//! the web, record details with holdings and availability.
//!
//! The database holds the records (raw MARC is the source of truth); each node keeps its own
//! search index under `catalog.index_dir` and follows the database's change sequence
//! ([`sync`]), so an import on any node reaches every node's index within seconds and
//! `wxlib reindex` can always rebuild it.
//!
//! Availability is the library system's: the copies' statuses come from
//! [`crate::circulation::status::CopyStatuses`] (live over SIP2, within a time budget, the last
//! known status marked as such when the system does not answer in time); on the built-in system
//! the store's counts are its own and a result page stays one read of the store.

pub mod chat;
pub mod console;
pub mod harvest;
pub mod http;
pub mod import;
pub mod store;
pub mod sync;

use std::sync::Arc;
use std::time::Instant;

use marc::Bib;
use serde::Serialize;

use crate::circulation::status::{CopyStatuses, Seen};
use crate::circulation::{CopyState, CopyStatus};
use crate::db::{Db, DbError};
use crate::wechat::router::HandlerError;
use store::{Availability, ItemRow, RecordSummary};

pub use search::{Field as SearchField, Sort};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("search index: {0}")]
    Index(#[from] search::Error),
    #[error("search index: {what}: {source}")]
    IndexFile { what: String, source: std::io::Error },
    #[error("search index: the indexing task failed: {0}")]
    IndexTask(#[from] tokio::task::JoinError),
}

impl From<CatalogError> for HandlerError {
    fn from(e: CatalogError) -> Self {
        HandlerError::Feature(Box::new(e))
    }
}

/// One result in a list: what a reader needs to decide whether to look closer.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub authors: Vec<String>,
    pub year: Option<i64>,
    pub call_number: Option<String>,
    pub availability: Availability,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub query: String,
    pub field: &'static str,
    pub total: usize,
    pub page: usize,
    pub page_size: usize,
    pub hits: Vec<Hit>,
    pub took_ms: f64,
}

impl SearchPage {
    pub fn pages(&self) -> usize {
        self.total.div_ceil(self.page_size.max(1))
    }
}

/// A record's full view: its bibliographic description and copies.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub id: String,
    pub bib: Bib,
    pub items: Vec<CopyView>,
    pub availability: Availability,
}

/// One copy of a record, with its status as the library system gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyView {
    pub barcode: String,
    pub record_id: String,
    pub location: Option<String>,
    pub call_number: Option<String>,
    /// `available`, `on_loan`, `on_hold_shelf`, … ([`CopyState`]); `unknown` when the library
    /// system has never answered about it.
    pub status: CopyState,
    /// When a copy on loan is due back, `YYYY-MM-DD` (China Standard Time).
    pub due_date: Option<String>,
    /// Readers waiting for it, if the library system says.
    pub hold_queue: Option<u32>,
    /// Read from the library system just now (within the TTL); `false`: the last known status.
    pub fresh: bool,
    /// When the status was read, `YYYY-MM-DDTHH:MM:SS+08:00`.
    #[serde(serialize_with = "serialize_local_time")]
    pub read_at: Option<i64>,
}

impl CopyView {
    fn of(item: ItemRow, seen: Option<&Seen>) -> CopyView {
        let status = seen.map(|s| s.status.clone()).unwrap_or(CopyStatus {
            barcode: item.barcode.clone(),
            state: CopyState::Unknown,
            due_at: None,
            hold_queue: None,
        });
        CopyView {
            due_date: status.due_at.filter(|_| status.state == CopyState::OnLoan).map(crate::clock::local_day),
            hold_queue: status.hold_queue,
            status: status.state,
            fresh: seen.is_some_and(|s| s.fresh),
            read_at: seen.filter(|s| s.status.state != CopyState::Unknown).map(|s| s.read_at),
            barcode: item.barcode,
            record_id: item.record_id,
            location: item.location,
            call_number: item.call_number,
        }
    }
}

/// A time for the API: ISO 8601 in China Standard Time, or null.
pub fn serialize_local_time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => {
            let secs = crate::clock::seconds_into_day(*t) % 60;
            s.serialize_str(&format!("{}T{}:{secs:02}+08:00", crate::clock::local_day(*t), crate::clock::local_hm(*t)))
        }
        None => s.serialize_none(),
    }
}

/// "可借 1/2", and how it is known when it is not fresh: the time the last known statuses were
/// read, or that the library system has not answered.
pub fn availability_text(a: &Availability, lang: crate::lang::Lang) -> String {
    use crate::lang::Lang::{En, Zh};
    if a.total > 0 && a.unknown == a.total {
        return match lang {
            Zh => format!("馆藏 {} 册（图书馆系统暂未答复，状态未知）", a.total),
            En => format!("{} cop(ies) (the library system has not answered: status unknown)", a.total),
        };
    }
    let counts = match lang {
        Zh => format!("可借 {}/{}", a.available, a.total),
        En => format!("{}/{} available", a.available, a.total),
    };
    match (a.read_at, a.unknown > 0, lang) {
        (Some(t), _, Zh) => format!("{counts}（状态更新于 {}）", crate::clock::local_datetime(t)),
        (Some(t), _, En) => format!("{counts} (as of {})", crate::clock::local_datetime(t)),
        (None, true, Zh) => format!("{counts}（部分状态未知）"),
        (None, true, En) => format!("{counts} (some unknown)"),
        (None, false, _) => counts,
    }
}

/// "馆藏 2 册，可借 1 册" (a record's detail), with how it is known as in [`availability_text`].
pub fn holdings_text(a: &Availability, lang: crate::lang::Lang) -> String {
    use crate::lang::Lang::{En, Zh};
    let full = availability_text(a, lang);
    let note = full.find(['（', '(']).map(|i| &full[i..]).unwrap_or("");
    if a.total > 0 && a.unknown == a.total {
        return full;
    }
    match lang {
        Zh => format!("馆藏 {} 册，可借 {} 册{note}", a.total, a.available),
        En => format!("{} cop(ies), {} available{}{note}", a.total, a.available, if note.is_empty() { "" } else { " " }),
    }
}

/// How a copy's status is known, for a reader: "已借出 · 应还 2026-12-10", and "（状态更新于 …）"
/// when it is the last known one.
pub fn copy_text(c: &CopyView, lang: crate::lang::Lang) -> String {
    use crate::lang::Lang::{En, Zh};
    let mut out = c.status.label(lang).to_owned();
    if let Some(due) = &c.due_date {
        out.push_str(&match lang {
            Zh => format!(" · 应还 {due}"),
            En => format!(" · due {due}"),
        });
    }
    if let (false, Some(t)) = (c.fresh, c.read_at) {
        out.push_str(&match lang {
            Zh => format!("（状态更新于 {}）", crate::clock::local_datetime(t)),
            En => format!(" (as of {})", crate::clock::local_datetime(t)),
        });
    }
    out
}

/// A record's availability from its copies' statuses.
fn availability_of<'a>(copies: impl Iterator<Item = (&'a str, Option<&'a Seen>)>) -> Availability {
    let mut a = Availability { fresh: true, ..Availability::default() };
    for (_, seen) in copies {
        a.total += 1;
        match seen {
            Some(s) if s.status.state == CopyState::Unknown => {
                a.unknown += 1;
                a.fresh = false;
            }
            Some(s) => {
                if s.status.state == CopyState::Available {
                    a.available += 1;
                }
                if !s.fresh {
                    a.fresh = false;
                    a.read_at = Some(a.read_at.map_or(s.read_at, |t: i64| t.min(s.read_at)));
                }
            }
            None => {
                a.unknown += 1;
                a.fresh = false;
            }
        }
    }
    a
}

pub fn field_name(f: SearchField) -> &'static str {
    match f {
        SearchField::Title => "title",
        SearchField::Author => "author",
        SearchField::Subject => "subject",
        SearchField::Any => "any",
        SearchField::Isbn => "isbn",
        SearchField::CallNumber => "callno",
    }
}

pub fn parse_field(s: &str) -> Option<SearchField> {
    Some(match s {
        "title" => SearchField::Title,
        "author" => SearchField::Author,
        "subject" => SearchField::Subject,
        "any" | "" => SearchField::Any,
        "isbn" => SearchField::Isbn,
        "callno" | "call_number" => SearchField::CallNumber,
        _ => return None,
    })
}

#[derive(Clone)]
pub struct Catalog {
    pub db: Db,
    pub index: Arc<search::CatalogIndex>,
    /// The copies' statuses, from the library system.
    pub copies: CopyStatuses,
}

/// One search run against the index, before its page's records are read: enough to know how many
/// records a text finds, and to show them ([`Catalog::page`]).
#[derive(Debug, Clone)]
pub struct Found {
    pub query: String,
    pub field: SearchField,
    pub sort: Sort,
    pub page: usize,
    pub page_size: usize,
    pub results: search::SearchResults,
    started: Instant,
}

impl Catalog {
    /// Searches and loads one page of results (1-based `page`).
    pub async fn search(
        &self,
        text: &str,
        field: SearchField,
        sort: Sort,
        page: usize,
        page_size: usize,
    ) -> Result<SearchPage, CatalogError> {
        let found = self.find(text, field, sort, page, page_size)?;
        self.page(found).await
    }

    /// Runs the search on the index only (1-based `page`): how many records match, and the ids
    /// of the page's.
    pub fn find(&self, text: &str, field: SearchField, sort: Sort, page: usize, page_size: usize) -> Result<Found, CatalogError> {
        let started = Instant::now();
        let page = page.max(1);
        let query = search::Query { text: text.to_owned(), field, sort, offset: (page - 1) * page_size, limit: page_size };
        // A search takes a fraction of a millisecond: run it here rather than pay two thread
        // hand-offs to the blocking pool (measured: ~20% of a search's CPU went to switching).
        let results = self.index.search(&query)?;
        Ok(Found { query: query.text, field, sort, page, page_size, results, started })
    }

    /// The page of a search: its records' summaries and availability. On the built-in system
    /// one read of the store; over SIP2 the copies' live statuses too, asked in parallel within
    /// the status budget.
    pub async fn page(&self, found: Found) -> Result<SearchPage, CatalogError> {
        let ids: Vec<String> = found.results.hits.iter().map(|h| h.id.clone()).collect();
        let hits = if self.copies.remote() {
            let (summaries, items) = futures::try_join!(self.db.record_summaries(&ids), self.db.items_of_records(&ids))?;
            let barcodes: Vec<String> = items.iter().map(|i| i.barcode.clone()).collect();
            let seen = self.copies.lookup(&barcodes).await?;
            summaries
                .into_iter()
                .map(|s| {
                    let copies = items.iter().filter(|i| i.record_id == s.id).map(|i| (i.barcode.as_str(), seen.get(&i.barcode)));
                    let a = availability_of(copies);
                    hit_of(s, a)
                })
                .collect()
        } else {
            self.db.record_summaries_with_availability(&ids).await?.into_iter().map(|(s, a)| hit_of(s, a)).collect()
        };
        Ok(SearchPage {
            query: found.query,
            field: field_name(found.field),
            total: found.results.total,
            page: found.page,
            page_size: found.page_size,
            hits,
            took_ms: found.started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    pub async fn record(&self, id: &str) -> Result<Option<RecordView>, CatalogError> {
        let Some(raw) = self.db.record_marc(id).await? else { return Ok(None) };
        let Some(Ok(record)) = marc::Reader::with_charset(&raw, marc::Charset::Utf8).next() else { return Ok(None) };
        let bib = Bib::from_record(&record);
        let items = self.db.items_of(id).await?;
        let barcodes: Vec<String> = items.iter().map(|i| i.barcode.clone()).collect();
        let seen = self.copies.lookup(&barcodes).await?;
        let availability = availability_of(items.iter().map(|i| (i.barcode.as_str(), seen.get(&i.barcode))));
        let items = items
            .into_iter()
            .map(|i| {
                let status = seen.get(&i.barcode);
                CopyView::of(i, status)
            })
            .collect();
        Ok(Some(RecordView { id: id.to_owned(), bib, items, availability }))
    }
}

fn hit_of(s: RecordSummary, availability: Availability) -> Hit {
    Hit { availability, authors: s.author.into_iter().collect(), id: s.id, title: s.title, year: s.year, call_number: s.call_number }
}
