//! The catalog (OPAC): MARC import, the relevance-ranked search index, result pages for chat and
//! the web, record details with holdings and availability.
//!
//! The database holds the records (raw MARC is the source of truth); each node keeps its own
//! search index under `catalog.index_dir` and follows the database's change sequence
//! ([`sync`]), so an import on any node reaches every node's index within seconds and
//! `wxlib reindex` can always rebuild it.

pub mod chat;
pub mod http;
pub mod import;
pub mod store;
pub mod sync;

use std::sync::Arc;
use std::time::Instant;

use marc::Bib;
use serde::Serialize;

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
    pub items: Vec<ItemRow>,
    pub availability: Availability,
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

    /// The page of a search: its records' summaries and availability (one read of the store).
    pub async fn page(&self, found: Found) -> Result<SearchPage, CatalogError> {
        let ids: Vec<String> = found.results.hits.iter().map(|h| h.id.clone()).collect();
        let hits = self.db.record_summaries_with_availability(&ids).await?.into_iter().map(|(s, a)| hit_of(s, a)).collect();
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
        let availability = self.db.availability(&[id.to_owned()]).await?.remove(id).unwrap_or_default();
        Ok(Some(RecordView { id: id.to_owned(), bib, items, availability }))
    }
}

fn hit_of(s: RecordSummary, availability: Availability) -> Hit {
    Hit { availability, authors: s.author.into_iter().collect(), id: s.id, title: s.title, year: s.year, call_number: s.call_number }
}
