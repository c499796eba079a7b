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
//! # For the application: a search page, its facets, "did you mean", pinyin
//!
//! ```
//! use search::{CatalogIndex, Field, Filters, Matched, Query, SearchDoc, SearchOptions, YearRange};
//!
//! let index = CatalogIndex::open_in_ram()?;
//! let mut w = index.writer()?;
//! for (id, title, year, lang, at) in [
//!     ("b1", "鲁迅全集", 2005, "chi", "三楼社科书库"),
//!     ("b2", "Lu Xun and his legacy", 1985, "eng", "Reserve"),
//! ] {
//!     w.upsert(&SearchDoc {
//!         id: id.into(),
//!         title: title.into(),
//!         year: Some(year),
//!         language: Some(lang.into()),
//!         locations: vec![at.into()], // wxlib: the locations of the record's items
//!         ..SearchDoc::default()
//!     })?;
//! }
//! w.commit()?;
//!
//! // One pass: the page, facet counts over every hit, the first 1,000 hit ids.
//! let q = Query::new(Field::Any, "lu xun");
//! let opts = SearchOptions { facets: true, all_ids: 1000, ..SearchOptions::default() };
//! let page = index.search_with(&q, &opts)?;
//! assert_eq!(page.total, 2);
//! // The romanised title matches the words exactly; 鲁迅全集 only through pinyin, after it.
//! assert_eq!((page.hits[0].id.as_str(), page.hits[0].matched), ("b2", Matched::Text));
//! assert_eq!((page.hits[1].id.as_str(), page.hits[1].matched), ("b1", Matched::Pinyin));
//! let facets = page.facets.expect("asked for");
//! assert_eq!(facets.decades()[0].value, YearRange::decade(2005));
//! assert_eq!(facets.languages.len(), 2);
//! assert!(page.all_ids_complete && page.all_ids.len() == 2);
//!
//! // A facet value chosen: only the Chinese books.
//! let chosen = SearchOptions { filters: Filters { languages: vec!["chi".into()], ..Filters::default() }, ..opts };
//! assert_eq!(index.search_with(&q, &chosen)?.all_ids, vec!["b1"]);
//!
//! // Did you mean: from the index's own terms, each checked by running it.
//! let s = index.suggest(&Query::new(Field::Any, "legasy"))?;
//! assert_eq!(s[0].text, "legacy");
//! assert_eq!(s[0].hits, 1);
//! let s = index.suggest(&Query::new(Field::Title, "luxun quanji"))?;
//! assert_eq!(s[0].text, "鲁迅全集");
//! # Ok::<(), search::Error>(())
//! ```
//!
//! * [`CatalogIndex::search`] is unchanged; [`CatalogIndex::search_with`] takes
//!   [`SearchOptions`] (`filters`, `facets`, `all_ids`) and returns a [`SearchPage`]
//!   (`total`, `hits`, `facets`, `all_ids`, `all_ids_complete`). [`Query`] is unchanged, so
//!   every caller that builds one compiles as before.
//! * **Facets** ([`facets`]): [`Facets`] counts every hit by exact year (newest first,
//!   [`Facets::decades`] groups them; `no_year`), language code and location, most hits
//!   first. [`Filters`] narrow to a [`YearRange`] (a decade or a year), languages and
//!   locations (alternatives within a facet; all facets apply); counts are drill-down
//!   (over the filtered hits). Fill [`SearchDoc::locations`] from the record's items
//!   (`from_bib` takes the locations in the record's holdings fields) and reindex a record
//!   when its items move.
//! * **Available now** is not in the index: ask for `all_ids` (the first N hit ids in
//!   result order, at most [`MAX_WINDOW`]) and count or filter them against the
//!   circulation data; `all_ids_complete` says whether that was every hit, or the count
//!   is "at least".
//! * **Pinyin** ([`pinyin`]) needs nothing from the caller: a query that reads as pinyin
//!   (`luxun`, `lu xun`) or initials (`lx`) also finds Han titles and names, ranked after
//!   the exact matches; [`Hit::matched`] says which kind a hit is ([`Matched::Pinyin`],
//!   [`Matched::Initials`]), e.g. to label it, and [`Hit::score`] then carries tier
//!   floors (compare scores, do not show them).
//! * **Did you mean** ([`suggest`]): [`CatalogIndex::suggest`] gives up to three
//!   [`Suggestion`]s (`text`, `hits` in the same field). Ask when a search found nothing
//!   or a few records (a misspelt word or a mistyped Han character is only corrected where
//!   the index lacks it, and only to something that finds more), or when the hits are
//!   pinyin matches (it then spells the query in Han: `luxun` → `鲁迅`). A chat reply
//!   can offer the first one.
//! * **ISBN** ([`isbn`]): ISBN-10 and ISBN-13 of a book are one term in the isbn and any
//!   fields, hyphens, spaces, an `ISBN` label and full-width digits allowed.
//!
//! **Costs** (`examples/bench_index.rs`, release build, one thread, medians of 20 runs per
//! query, on a 2-core machine shared with other builds; before = the crate without these
//! powers, on the same records):
//!
//! | | 8,057 test records | 250,000 LC records |
//! |---|---|---|
//! | search, the 205-query set, p50 / p99 | 0.007 / 0.055 ms before, 0.009 / 0.059 ms now | 0.014 / 0.23–0.27 ms before, 0.019 / 0.32–0.36 ms now |
//! | same with facets and 1,000 hit ids | 0.018 / 0.16 ms | 0.066 / 4.8 ms (counting ~10⁴ hits) |
//! | pinyin queries (search) | 0.057 ms p50 | 0.04–0.5 ms each |
//! | suggest, the 205-query set | 0.02 / 0.6 ms | 0.015 / 1.0 ms |
//! | suggest, misspelt word / Han typo / pinyin spelt | 0.1–0.4 / 0.15–0.5 / 0.3–1.6 ms | 0.1–0.6 / 0.15–0.4 / 0.3–1.6 ms each |
//! | index size | 6.6 → 7.1 MB | 117.2 → 120.7 MB (+3 %: `title_py`, `author_py`, `initials` 0.8 MB each) |
//! | indexing | unchanged within noise | 5,154 → 5,145 records/s |
//!
//! Single-word queries of 2–6 letters pay ~5 µs for the initials lookup. The first
//! suggestion in a process builds the syllable → characters table (~10 ms, once).
//!
//! Modules: [`analysis`] (normalisation and tokenizers), [`t2s`] (traditional →
//! simplified), [`pinyin`] (readings, syllables), [`isbn`] (ISBN-10 = ISBN-13), [`doc`]
//! ([`SearchDoc`]), [`index`] ([`CatalogIndex`], [`CatalogWriter`], the schema),
//! [`query`] ([`Query`] → [`SearchResults`], [`SearchPage`]), [`facets`], [`suggest`].
//!
//! An index written by another analysis/schema version ([`ANALYSIS_VERSION`]) is refused
//! with [`Error::Incompatible`]: delete the directory and rebuild it from the database.
//! Tests: `tests/it` (analyzer, index behaviour, ISBN, facets, pinyin, suggestions, and the
//! judged query set `tests/relevance.tsv` over the shared MARC records);
//! `examples/bench_index.rs` measures indexing, query, facet and suggestion latency.

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
