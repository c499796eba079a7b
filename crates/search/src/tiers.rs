//! Ranking tiers: a query whose every match scores at least a constant more than its own
//! score, so that one kind of match (exact Han or English text) always ranks before
//! another (pinyin, then initials), whatever their BM25 scores.
//!
//! The tiers are joined with tantivy's `DisjunctionMaxQuery` (a record scores its best
//! tier), and each but the last (initials, whose scores stay below [`TIER`]) is an
//! [`OffsetQuery`] adding its tier's floor. Floors are small enough for `f32` to keep
//! about three decimals of the scores above them.

use std::fmt;

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, Term};

/// Width of a tier: an inner score is capped just below it (real scores stay under a
/// thousand), so a tier never reaches the next one's floor.
pub(crate) const TIER: Score = 10_000.0;
/// Score floor of the text tier.
pub(crate) const TEXT_FLOOR: Score = 3.0 * TIER;
/// Score floor of the full-pinyin tier.
pub(crate) const PINYIN_FLOOR: Score = 2.0 * TIER;
/// Score floor of the query's words scattered over a romanised record (below pinyin).
pub(crate) const SCATTERED_FLOOR: Score = TIER;

/// The inner query's matches, each scoring `offset` more than the inner query says.
pub(crate) struct OffsetQuery {
    inner: Box<dyn Query>,
    offset: Score,
}

impl OffsetQuery {
    pub(crate) fn new(inner: Box<dyn Query>, offset: Score) -> OffsetQuery {
        OffsetQuery { inner, offset }
    }
}

impl Clone for OffsetQuery {
    fn clone(&self) -> Self {
        OffsetQuery { inner: self.inner.box_clone(), offset: self.offset }
    }
}

impl fmt::Debug for OffsetQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Offset(query={:?}, offset={})", self.inner, self.offset)
    }
}

impl Query for OffsetQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let inner = self.inner.weight(enable_scoring)?;
        Ok(if enable_scoring.is_scoring_enabled() { Box::new(OffsetWeight { inner, offset: self.offset }) } else { inner })
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.inner.query_terms(visitor)
    }
}

struct OffsetWeight {
    inner: Box<dyn Weight>,
    offset: Score,
}

impl Weight for OffsetWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inner = self.inner.scorer(reader, boost)?;
        Ok(Box::new(OffsetScorer { inner, offset: self.offset * boost }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let inner = self.inner.explain(reader, doc)?;
        let mut e = Explanation::new_with_string(format!("tier floor {} + ...", self.offset), inner.value() + self.offset);
        e.add_detail(inner);
        Ok(e)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.inner.count(reader)
    }
}

struct OffsetScorer {
    inner: Box<dyn Scorer>,
    offset: Score,
}

impl DocSet for OffsetScorer {
    fn advance(&mut self) -> DocId {
        self.inner.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.inner.seek(target)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        self.inner.seek_danger(target)
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }

    fn cost(&self) -> u64 {
        self.inner.cost()
    }
}

impl Scorer for OffsetScorer {
    fn score(&mut self) -> Score {
        self.inner.score().min(TIER * 0.999) + self.offset
    }
}
