//! Facets and filters: counts over the whole hit set (not just the page) by year,
//! language and location, and narrowing a search to chosen values.
//!
//! * **Year**: counted by exact year ([`Facets::years`]); [`Facets::decades`] groups them
//!   for display. A filter is a [`YearRange`] (inclusive), so a page can offer decades
//!   first and the years of a chosen decade next, with one kind of filter.
//! * **Language**: the record's code (MARC 21 008/35–37, else 041 $a; UNIMARC 101 $a),
//!   lowercased, e.g. `chi`, `eng`.
//! * **Location**: [`crate::SearchDoc::locations`], as the application names them (wxlib
//!   fills them from the record's items); a record may have several.
//!
//! Values of one facet are alternatives (`languages: ["chi", "eng"]` = Chinese or
//! English); different facets all apply. Counts are over the hits of the query *with*
//! the filters (drill-down), so a chosen language shows its own count only.
//!
//! Availability ("on the shelf now") changes by the minute and is not in the index:
//! [`crate::SearchOptions::all_ids`] returns the ids of the hits (in result order, up to a
//! cap) for the application to count or filter against its own circulation data.
//!
//! Counting reads the `year`, `language` and `location` fast fields of each hit (three
//! column reads per hit, no stored documents): see the crate docs for its cost.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query as TQuery, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, Term};

use crate::index::Fields;

/// Publication years from `from` to `to`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct YearRange {
    pub from: i32,
    pub to: i32,
}

impl YearRange {
    /// One year.
    pub fn year(y: i32) -> YearRange {
        YearRange { from: y, to: y }
    }

    /// The decade containing `y` (1990–1999 for 1994).
    pub fn decade(y: i32) -> YearRange {
        let from = y.div_euclid(10) * 10;
        YearRange { from, to: from + 9 }
    }

    /// Does the range contain `y`?
    pub fn contains(&self, y: i32) -> bool {
        self.from <= y && y <= self.to
    }
}

/// Narrowing of a search to chosen facet values (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only records published in this range (records without a year drop out).
    pub years: Option<YearRange>,
    /// Only records in one of these languages (codes as in [`Facets::languages`]).
    pub languages: Vec<String>,
    /// Only records with a copy at one of these locations.
    pub locations: Vec<String>,
}

impl Filters {
    /// No filter at all?
    pub fn is_empty(&self) -> bool {
        self.years.is_none() && self.languages.is_empty() && self.locations.is_empty()
    }
}

/// One facet value and how many hits have it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacetCount<T> {
    pub value: T,
    pub count: u64,
}

/// Counts over every hit of a search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facets {
    /// Every publication year among the hits, newest first.
    pub years: Vec<FacetCount<i32>>,
    /// Hits without a publication year.
    pub no_year: u64,
    /// Languages, most hits first (then by code).
    pub languages: Vec<FacetCount<String>>,
    /// Locations, most hits first (then by name). A record with copies at two locations
    /// counts at both.
    pub locations: Vec<FacetCount<String>>,
}

impl Facets {
    /// The years grouped by decade, newest first.
    pub fn decades(&self) -> Vec<FacetCount<YearRange>> {
        let mut out: Vec<FacetCount<YearRange>> = Vec::new();
        for y in &self.years {
            let d = YearRange::decade(y.value);
            match out.last_mut() {
                Some(last) if last.value == d => last.count += y.count,
                _ => out.push(FacetCount { value: d, count: y.count }),
            }
        }
        out
    }
}

/// The form a language code or location is indexed and filtered in.
pub(crate) fn facet_key(value: &str) -> String {
    value.trim().to_lowercase()
}

/// The filters as one query (every clause scores 0, so ranking is the text's), or `None`.
pub(crate) fn filter_query(f: &Fields, filters: &Filters) -> Option<Box<dyn TQuery>> {
    let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
    let zero = |q: Box<dyn TQuery>| -> Box<dyn TQuery> { Box::new(ConstScoreQuery::new(q, 0.0)) };
    if let Some(r) = filters.years {
        let range = RangeQuery::new(
            std::ops::Bound::Included(Term::from_field_i64(f.year, i64::from(r.from))),
            std::ops::Bound::Included(Term::from_field_i64(f.year, i64::from(r.to))),
        );
        clauses.push((Occur::Must, zero(Box::new(range))));
    }
    for (field, values) in [(f.language, &filters.languages), (f.location, &filters.locations)] {
        let alternatives: Vec<(Occur, Box<dyn TQuery>)> = values
            .iter()
            .map(|v| {
                let t = TermQuery::new(Term::from_field_text(field, &facet_key(v)), IndexRecordOption::Basic);
                (Occur::Should, Box::new(t) as Box<dyn TQuery>)
            })
            .collect();
        if !alternatives.is_empty() {
            clauses.push((Occur::Must, zero(Box::new(BooleanQuery::new(alternatives)))));
        }
    }
    if clauses.is_empty() { None } else { Some(Box::new(BooleanQuery::new(clauses))) }
}

/// Counts year, language and location over every hit.
pub(crate) struct FacetCollector;

/// Per-segment counts: years by value, languages and locations by term ordinal.
pub(crate) struct FacetSegment {
    years: Column<i64>,
    languages: Option<StrColumn>,
    locations: Option<StrColumn>,
    year_counts: HashMap<i64, u64>,
    no_year: u64,
    language_counts: Vec<u64>,
    location_counts: Vec<u64>,
}

#[derive(Default)]
pub(crate) struct FacetFruit {
    years: HashMap<i64, u64>,
    no_year: u64,
    languages: HashMap<String, u64>,
    locations: HashMap<String, u64>,
}

impl Collector for FacetCollector {
    type Fruit = Facets;
    type Child = FacetSegment;

    fn for_segment(&self, _ord: SegmentOrdinal, seg: &SegmentReader) -> tantivy::Result<FacetSegment> {
        let ff = seg.fast_fields();
        let languages = ff.str("language")?;
        let locations = ff.str("location")?;
        let language_counts = vec![0; languages.as_ref().map_or(0, |c| c.num_terms())];
        let location_counts = vec![0; locations.as_ref().map_or(0, |c| c.num_terms())];
        Ok(FacetSegment {
            years: ff.i64("year")?,
            languages,
            locations,
            year_counts: HashMap::new(),
            no_year: 0,
            language_counts,
            location_counts,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetFruit>) -> tantivy::Result<Facets> {
        let mut all = FacetFruit::default();
        for f in fruits {
            for (y, n) in f.years {
                *all.years.entry(y).or_default() += n;
            }
            all.no_year += f.no_year;
            for (l, n) in f.languages {
                *all.languages.entry(l).or_default() += n;
            }
            for (l, n) in f.locations {
                *all.locations.entry(l).or_default() += n;
            }
        }
        let mut years: Vec<FacetCount<i32>> =
            all.years.into_iter().filter_map(|(y, count)| i32::try_from(y).ok().map(|value| FacetCount { value, count })).collect();
        years.sort_by_key(|y| std::cmp::Reverse(y.value));
        Ok(Facets { years, no_year: all.no_year, languages: by_count(all.languages), locations: by_count(all.locations) })
    }
}

fn by_count(m: HashMap<String, u64>) -> Vec<FacetCount<String>> {
    let mut v: Vec<FacetCount<String>> = m.into_iter().map(|(value, count)| FacetCount { value, count }).collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    v
}

impl SegmentCollector for FacetSegment {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: DocId, _score: Score) {
        match self.years.first(doc) {
            Some(y) => *self.year_counts.entry(y).or_default() += 1,
            None => self.no_year += 1,
        }
        for (col, counts) in [(&self.languages, &mut self.language_counts), (&self.locations, &mut self.location_counts)] {
            if let Some(col) = col {
                for ord in col.term_ords(doc) {
                    if let Some(c) = usize::try_from(ord).ok().and_then(|o| counts.get_mut(o)) {
                        *c += 1;
                    }
                }
            }
        }
    }

    fn harvest(self) -> FacetFruit {
        let named = |col: &Option<StrColumn>, counts: Vec<u64>| -> HashMap<String, u64> {
            let mut out = HashMap::new();
            let Some(col) = col else { return out };
            let mut name = String::new();
            for (ord, n) in counts.into_iter().enumerate() {
                name.clear();
                if n > 0 && col.ord_to_str(ord as u64, &mut name).unwrap_or(false) {
                    *out.entry(name.clone()).or_default() += n;
                }
            }
            out
        };
        FacetFruit {
            languages: named(&self.languages, self.language_counts),
            locations: named(&self.locations, self.location_counts),
            years: self.year_counts,
            no_year: self.no_year,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_ranges() {
        assert_eq!(YearRange::decade(1994), YearRange { from: 1990, to: 1999 });
        assert_eq!(YearRange::decade(2000), YearRange { from: 2000, to: 2009 });
        assert!(YearRange::decade(1999).contains(1990));
        assert!(!YearRange::year(1999).contains(2000));
    }

    #[test]
    fn decades_group_years_newest_first() {
        let f = Facets {
            years: vec![
                FacetCount { value: 2001, count: 2 },
                FacetCount { value: 1999, count: 3 },
                FacetCount { value: 1990, count: 1 },
                FacetCount { value: 1989, count: 4 },
            ],
            ..Facets::default()
        };
        let d: Vec<(i32, u64)> = f.decades().iter().map(|c| (c.value.from, c.count)).collect();
        assert_eq!(d, vec![(2000, 2), (1990, 4), (1980, 4)]);
    }
}
