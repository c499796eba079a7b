//! The catalogue's relevance-ranked full-text index for wxlib: tantivy with Chinese word
//! segmentation (jieba), traditional/simplified folding, Han bigrams for matching when
//! segmentation and the query disagree, and English folding and stemming.
//!
//! No network and no database: the index is a directory on disk (or lives in RAM) and
//! holds only what ranks and returns record ids; the records themselves live in the
//! application's database, which stays the source of truth (the index can always be
//! rebuilt from it).
//!
//! ```
//! use search::{CatalogIndex, Field, Query, SearchDoc};
//!
//! let index = CatalogIndex::open_in_ram()?;
//! let mut w = index.writer()?;
//! w.upsert(&SearchDoc {
//!     id: "b1".into(),
//!     title: "Lu Xun quan ji".into(),
//!     title_vernacular: Some("魯迅全集".into()),
//!     authors: vec!["Lu, Xun, 1881-1936".into(), "魯迅, 1881-1936".into()],
//!     year: Some(2005),
//!     ..SearchDoc::default()
//! })?;
//! w.commit()?;
//! let r = index.search(&Query::new(Field::Author, "鲁迅"))?;
//! assert_eq!(r.hits[0].id, "b1");
//! let r = index.search(&Query::new(Field::Title, "全集"))?;
//! assert_eq!(r.total, 1);
//! # Ok::<(), search::Error>(())
//! ```
//!
//! Modules: [`analysis`] (normalisation and tokenizers), [`t2s`] (traditional →
//! simplified), [`isbn`] (ISBN-10 = ISBN-13), [`doc`] ([`SearchDoc`]), [`index`]
//! ([`CatalogIndex`], [`CatalogWriter`], the schema), [`query`] ([`Query`] →
//! [`SearchResults`]).
//!
//! An index written by another analysis/schema version ([`ANALYSIS_VERSION`]) is refused
//! with [`Error::Incompatible`]: delete the directory and rebuild it from the database.
//! Tests: `tests/it` (analyzer, index behaviour, and the judged query set
//! `tests/relevance.tsv` over the shared MARC records); `examples/bench_index.rs` measures
//! indexing and query latency.

pub mod analysis;
pub mod doc;
pub mod error;
pub mod facets;
pub mod index;
pub mod isbn;
pub mod pinyin;
pub mod query;
pub mod suggest;
pub mod t2s;
mod tiers;

pub use doc::SearchDoc;
pub use error::{Error, Result};
pub use facets::{FacetCount, Facets, Filters, YearRange};
pub use index::{ANALYSIS_VERSION, CatalogIndex, CatalogWriter};
pub use query::{Field, Hit, MAX_QUERY_CHARS, MAX_WINDOW, Matched, Query, SearchOptions, SearchPage, SearchResults, Sort};
pub use suggest::{MAX_SUGGESTIONS, Suggestion};

#[cfg(test)]
mod send_sync {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn index_is_shareable() {
        assert_send_sync::<super::CatalogIndex>();
        fn assert_send<T: Send>() {}
        assert_send::<super::CatalogWriter>();
    }
}
