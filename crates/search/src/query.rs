//! Queries: what a reader typed → a tantivy query → ranked ids.
//!
//! No `QueryParser` (it turns a multi-token word into a phrase, see rust-stack §16
//! pitfall 1). The text is analysed like the records ([`crate::analysis`]) and split into
//! *units*:
//!
//! * a Han run is cut by jieba (precise mode, HMM off); neighbouring one-character words
//!   are merged back (`钱钟书` stays whole even if jieba splits it); each piece of two or
//!   more characters is a unit matched as a **substring** (a phrase of bigrams in the
//!   `*_s` field), so it does not matter how jieba segmented the record; a lone
//!   one-character piece between words (`与`, `的`) is a weak unit;
//! * each word is a unit matched by its English stem in the `*_w` field — in author
//!   names by the word as written in `author_s` (`Roberts` is not `Robert`); single
//!   letters and a few function words (`the`, `of`, `de`…) are weak.
//!
//! Every strong unit is **required** (Must) in the field group searched: for
//! [`Field::Any`] a unit may be in any of title (boost 3), author (2), subject (1.5) or
//! the rest (1). Weak units only add score, unless the query has nothing else.
//! Ranking is BM25 plus **Should** boosts: the whole query as a phrase (×3), an exact
//! title, name ("Smith, John" = "John Smith") or subject heading (+60, see `exact` in
//! [`crate::index`]), jieba search-mode words in the `*_w` fields and unstemmed word
//! forms in `*_s`.
//!
//! **Pinyin** (title, author and any; see [`crate::pinyin`]): a query of letters that
//! spells two or more syllables (`luxun`, `lu xun`, `Lu Xun`, `zhongguo jingji`) is also
//! a phrase of syllables in `title_py`/`author_py`, plus a whole-name (whole short title)
//! key, so the books *by* 鲁迅 come before those about him; a query of 2–6 letters
//! alone (`lx`, `hlm`) is also looked up as the initials of whole names (the most
//! catalogued name first) and whole titles of 2–6 characters. Such a query is ranked in
//! tiers ([`Matched`]; an offset query per tier under a disjunction-max): the exact text matches (for a multi-word query:
//! its words standing together) first, then pinyin, then its words scattered over a
//! romanised record, then initials. A Han or other query has no pinyin tiers and ranks
//! exactly as before.
//!
//! [`Field::Isbn`] normalises ISBN-10 and ISBN-13 to ISBN-13 and looks up the term
//! ([`crate::isbn`]); [`Field::CallNumber`] is a prefix match on the normalised call
//! number, exact first. A valid ISBN typed into [`Field::Any`] is looked up as an ISBN
//! only (so every record of that book scores the same); an invalid ISBN-like number
//! there is looked up in the isbn field and as text.

use std::sync::Arc;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur, PhraseQuery, Query as TQuery, RegexQuery, TermQuery,
};
use tantivy::schema::{Field as TField, IndexRecordOption};
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader, Term};

use crate::analysis::{MAX_TOKEN_BYTES, callno_key, is_han_token, jieba, plain_tokens, stem};
use crate::error::Result;
use crate::facets::{FacetCollector, Facets, Filters, filter_query};
use crate::index::{CatalogIndex, Fields, Group, INITIALS_LEN, NAME_KEYS, TITLE_KEYS, exact_key};
use crate::isbn;
use crate::tiers::{OffsetQuery, PINYIN_FLOOR, SCATTERED_FLOOR, TEXT_FLOOR};

/// Which index a query searches (the reader's choice in the search menu).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Field {
    /// 题名: all title forms.
    Title,
    /// 责任者: names and statements of responsibility.
    Author,
    /// 主题词: subject headings.
    Subject,
    /// 任意词: everything, title > author > subject > other.
    #[default]
    Any,
    /// ISBN-10 or ISBN-13, hyphens optional.
    Isbn,
    /// Call number / class number prefix.
    CallNumber,
}

/// Result order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Sort {
    /// Best match first (default).
    #[default]
    Relevance,
    /// Newest publication year first, best match first within a year; records without
    /// a year last.
    Newest,
}

/// A search request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub text: String,
    pub field: Field,
    pub sort: Sort,
    /// Hits to skip (paging).
    pub offset: usize,
    /// Hits to return (0 = count only). `offset + limit` is capped at [`MAX_WINDOW`].
    pub limit: usize,
}

/// Largest `offset + limit` served.
pub const MAX_WINDOW: usize = 10_000;

impl Query {
    /// Relevance-ranked first page of 10.
    pub fn new(field: Field, text: impl Into<String>) -> Query {
        Query { text: text.into(), field, sort: Sort::Relevance, offset: 0, limit: 10 }
    }
}

/// One hit: the record id, its score and what it matched.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub id: String,
    /// BM25 plus boosts; when the query could also be pinyin, plus a floor per kind of
    /// match (see [`Matched`]), so only the order means anything.
    pub score: f32,
    pub matched: Matched,
}

/// What kind of match a hit is. Hits rank by kind first: exact text, then pinyin, then
/// (for a query that reads as pinyin) its words scattered over a romanised record, which
/// are [`Matched::Text`] too, then initials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Matched {
    /// The query's own words, Han or Latin script (and every search that is not pinyin).
    #[default]
    Text,
    /// Only the pinyin of the record's Han title or names (`luxun` → 鲁迅).
    Pinyin,
    /// Only the pinyin initials of a whole name or short title (`lx` → 鲁迅).
    Initials,
}

impl Matched {
    fn of(tiered: bool, score: Score) -> Matched {
        match Built::tier(tiered, score) {
            0 if tiered => Matched::Initials,
            2 => Matched::Pinyin,
            _ => Matched::Text,
        }
    }
}

/// Total matching records and the requested page of hits.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
}

const TITLE_BOOST: Score = 3.0;
const AUTHOR_BOOST: Score = 2.0;
const SUBJECT_BOOST: Score = 1.5;
const OTHER_BOOST: Score = 1.0;
const PHRASE_BOOST: Score = 3.0;
/// Score added by an exact title / name / heading match (times the field boost).
const EXACT_SCORE: Score = 60.0;
/// Boost of an ISBN match in the any field.
const ISBN_BOOST: Score = 8.0;

const WEAK_WORDS: [&str; 24] = [
    "a", "an", "the", "of", "and", "in", "on", "for", "to", "with", "by", "at", "from", "or", "de", "la", "le", "les", "et", "der", "die",
    "das", "und", "el",
];

/// One unit of a query (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Unit {
    /// Han text of two or more characters: substring match.
    Han(String),
    /// One Han character.
    HanChar(String),
    /// A word: `plain` (folded) and `stemmed` forms.
    Word { plain: String, stemmed: String },
}

#[derive(Debug, Default)]
pub(crate) struct Analysed {
    /// (unit, weak)
    pub units: Vec<(Unit, bool)>,
    /// jieba search-mode words of the Han runs (for `*_w` scoring).
    han_words: Vec<String>,
    /// The query as a `*_s` token sequence: (position, token).
    seq: Vec<(usize, String)>,
}

pub(crate) fn analyse(text: &str) -> Analysed {
    let mut a = Analysed::default();
    let mut pos = 0usize;
    for tok in plain_tokens(text) {
        if is_han_token(&tok) {
            let chars: Vec<char> = tok.chars().collect();
            if chars.len() == 1 {
                a.seq.push((pos, tok.clone()));
            } else {
                for (i, w) in chars.windows(2).enumerate() {
                    a.seq.push((pos + i, w.iter().collect()));
                }
            }
            pos += chars.len();
            let mut single = String::new();
            let flush = |single: &mut String, units: &mut Vec<(Unit, bool)>| match single.chars().count() {
                0 => {}
                1 => units.push((Unit::HanChar(std::mem::take(single)), true)),
                _ => units.push((Unit::Han(std::mem::take(single)), false)),
            };
            for w in jieba().cut(&tok, false) {
                if w.word.chars().count() == 1 {
                    single.push_str(w.word);
                } else {
                    flush(&mut single, &mut a.units);
                    a.units.push((Unit::Han(w.word.to_string()), false));
                }
            }
            flush(&mut single, &mut a.units);
            dedup_units(&mut a.units);
            for w in jieba().cut_for_search(&tok, false) {
                if w.word.chars().count() > 1 && !a.han_words.iter().any(|x| x == w.word) {
                    a.han_words.push(w.word.to_string());
                }
            }
        } else {
            if tok.len() >= MAX_TOKEN_BYTES {
                continue; // the index drops such tokens too
            }
            a.seq.push((pos, tok.clone()));
            pos += 1;
            let weak = tok.chars().count() == 1 || WEAK_WORDS.contains(&tok.as_str());
            let stemmed = stem(&tok);
            a.units.push((Unit::Word { plain: tok, stemmed }, weak));
            dedup_units(&mut a.units);
        }
    }
    if a.units.iter().all(|(_, weak)| *weak) {
        for u in &mut a.units {
            u.1 = false;
        }
    }
    a
}

/// Drop repeated units, keeping the first (and making it strong if any copy was).
fn dedup_units(units: &mut Vec<(Unit, bool)>) {
    let mut out: Vec<(Unit, bool)> = Vec::with_capacity(units.len());
    for (u, weak) in units.drain(..) {
        match out.iter_mut().find(|(v, _)| *v == u) {
            Some(existing) => existing.1 &= weak,
            None => out.push((u, weak)),
        }
    }
    *units = out;
}

fn term_q(field: TField, text: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs))
}

fn boost(q: Box<dyn TQuery>, b: Score) -> Box<dyn TQuery> {
    if (b - 1.0).abs() < f32::EPSILON { q } else { Box::new(BoostQuery::new(q, b)) }
}

/// Han text as a substring of the `*_s` field: its bigram, or a phrase of its bigrams.
pub(crate) fn substring_q(field: TField, han: &str) -> Box<dyn TQuery> {
    let chars: Vec<char> = han.chars().collect();
    if chars.len() <= 2 {
        return term_q(field, han);
    }
    let terms: Vec<(usize, Term)> =
        chars.windows(2).enumerate().map(|(i, w)| (i, Term::from_field_text(field, &w.iter().collect::<String>()))).collect();
    Box::new(PhraseQuery::new_with_offset(terms))
}

fn unit_q(unit: &Unit, g: &Group) -> Box<dyn TQuery> {
    match unit {
        Unit::Han(s) => substring_q(g.seq, s),
        Unit::HanChar(s) => term_q(g.seq, s),
        Unit::Word { plain, .. } if g.names => term_q(g.seq, plain),
        Unit::Word { stemmed, .. } => term_q(g.words, stemmed),
    }
}

pub(crate) fn any_of(mut qs: Vec<Box<dyn TQuery>>) -> Box<dyn TQuery> {
    if qs.len() == 1
        && let Some(q) = qs.pop()
    {
        return q;
    }
    Box::new(BooleanQuery::new(qs.into_iter().map(|q| (Occur::Should, q)).collect()))
}

/// The text query over some field groups with their boosts; `None` if the text has
/// nothing searchable.
fn text_query(a: &Analysed, groups: &[(Group, Score)], exact: TField, text: &str) -> Option<Box<dyn TQuery>> {
    if a.units.is_empty() {
        return None;
    }
    let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
    for (unit, weak) in &a.units {
        let per_group: Vec<Box<dyn TQuery>> = groups.iter().map(|(g, b)| boost(unit_q(unit, g), *b)).collect();
        let occur = if *weak { Occur::Should } else { Occur::Must };
        clauses.push((occur, any_of(per_group)));
    }
    for (g, b) in groups {
        // Whole-query phrase.
        if a.seq.len() >= 2 {
            let terms: Vec<(usize, Term)> = a.seq.iter().map(|(p, t)| (*p, Term::from_field_text(g.seq, t))).collect();
            clauses.push((Occur::Should, boost(Box::new(PhraseQuery::new_with_offset(terms)), b * PHRASE_BOOST)));
        }
        // jieba words (BM25 on words rather than n-grams) and unstemmed word forms.
        for w in &a.han_words {
            clauses.push((Occur::Should, boost(term_q(g.words, w), *b)));
        }
        for (unit, _) in &a.units {
            // (A names group already matched the word as written.)
            if let Unit::Word { plain, .. } = unit
                && !g.names
            {
                clauses.push((Occur::Should, boost(term_q(g.seq, plain), b * 0.5)));
            }
        }
        if let Some(kind) = g.exact
            && let Some(key) = exact_key(kind, text)
        {
            let q = TermQuery::new(Term::from_field_u64(exact, key), IndexRecordOption::Basic);
            clauses.push((Occur::Should, Box::new(ConstScoreQuery::new(Box::new(q), b * EXACT_SCORE))));
        }
    }
    Some(Box::new(BooleanQuery::new(clauses)))
}

/// `s` as a literal in tantivy's regex syntax: only its meta characters are escaped (as
/// `regex_syntax::escape` does; the syntax refuses a backslash before most other characters,
/// e.g. a combining mark).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if matches!(c, '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' | '&' | '-' | '~') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Longer query texts are cut (a reader's query is a few words; this bounds the work a
/// pasted page of text can cause).
pub const MAX_QUERY_CHARS: usize = 200;

/// The query text cut to [`MAX_QUERY_CHARS`], at a space if there is one, so no word is
/// cut in half.
pub(crate) fn cut_text(text: &str) -> &str {
    match text.char_indices().nth(MAX_QUERY_CHARS) {
        Some((cut, _)) => {
            let head = text.get(..cut).unwrap_or("");
            head.rfind(char::is_whitespace).and_then(|i| head.get(..i)).unwrap_or(head)
        }
        None => text,
    }
}

pub(crate) fn build(f: &Fields, searcher: &Searcher, q: &Query) -> Result<Option<Built>> {
    let text = cut_text(&q.text);
    let query = match q.field {
        Field::Isbn => isbn::query_term(text).map(|t| term_q(f.isbn, &t)),
        Field::CallNumber => {
            let key = callno_key(text);
            if key.is_empty() {
                None
            } else {
                let prefix = RegexQuery::from_pattern(&format!("{}.*", regex_escape(&key)), f.callno)?;
                Some(Box::new(BooleanQuery::new(vec![
                    (Occur::Should, Box::new(prefix) as Box<dyn TQuery>),
                    (Occur::Should, boost(term_q(f.callno, &key), 2.0)),
                ])) as Box<dyn TQuery>)
            }
        }
        Field::Title | Field::Author | Field::Subject | Field::Any => {
            let groups: Vec<(Group, Score)> = match q.field {
                Field::Title => vec![(f.title, 1.0)],
                Field::Author => vec![(f.author, 1.0)],
                Field::Subject => vec![(f.subject, 1.0)],
                _ => vec![(f.title, TITLE_BOOST), (f.author, AUTHOR_BOOST), (f.subject, SUBJECT_BOOST), (f.any, OTHER_BOOST)],
            };
            let isbn = if q.field == Field::Any && isbn::looks_like_isbn(text) { isbn::query_term(text) } else { None };
            if let Some(t) = &isbn
                && marc::isbn::normalize(t).is_some()
            {
                // A valid ISBN is that book and nothing else: a text match of the same
                // digits would only rank its records by the length of their other fields.
                let query = Box::new(ConstScoreQuery::new(term_q(f.isbn, t), ISBN_BOOST));
                return Ok(Some(Built { query, tiered: false }));
            }
            // "鲁 迅" typed with a space (or copied from RLIN-style data) is one name.
            let text = marc::bib::collapse_han_spaces(text);
            let a = analyse(&text);
            let tq = text_query(&a, &groups, f.exact, &text);
            let isbn = isbn.map(|t| boost(term_q(f.isbn, &t), ISBN_BOOST));
            let tq = match (tq, isbn) {
                (Some(t), Some(i)) => Some(any_of(vec![t, i])),
                (t, i) => t.or(i),
            };
            let pinyin = pinyin_query(f, &groups, &text);
            let initials = initials_query(f, searcher, q.field, &text)?;
            if pinyin.is_none() && initials.is_none() {
                return Ok(tq.map(|query| Built { query, tiered: false }));
            }
            // Exact (Han or English) matches first, then full pinyin, then initials. A
            // query that reads as pinyin matches romanised records' words too: only when
            // its words stand together as typed is that an exact match; the same words
            // scattered over a romanised title ("Gong he guo jing ji feng yun zhong")
            // rank after the pinyin matches.
            let mut tiers: Vec<Box<dyn TQuery>> = Vec::new();
            let phrase = if pinyin.is_some() { whole_phrase(&a, &groups) } else { None };
            match (tq, phrase) {
                (Some(t), Some(p)) => {
                    let together = BooleanQuery::new(vec![(Occur::Must, t.box_clone()), (Occur::Must, p)]);
                    tiers.push(Box::new(OffsetQuery::new(Box::new(together), TEXT_FLOOR)));
                    tiers.extend(pinyin.map(|p| Box::new(OffsetQuery::new(p, PINYIN_FLOOR)) as Box<dyn TQuery>));
                    tiers.push(Box::new(OffsetQuery::new(t, SCATTERED_FLOOR)));
                }
                (t, _) => {
                    tiers.extend(t.map(|t| Box::new(OffsetQuery::new(t, TEXT_FLOOR)) as Box<dyn TQuery>));
                    tiers.extend(pinyin.map(|p| Box::new(OffsetQuery::new(p, PINYIN_FLOOR)) as Box<dyn TQuery>));
                }
            }
            tiers.extend(initials);
            return Ok(Some(Built { query: Box::new(DisjunctionMaxQuery::new(tiers)), tiered: true }));
        }
    };
    Ok(query.map(|query| Built { query, tiered: false }))
}

/// A built query, and whether its scores carry tier floors ([`crate::tiers`]).
pub(crate) struct Built {
    pub query: Box<dyn TQuery>,
    pub tiered: bool,
}

impl Built {
    /// The tier of a hit's score: 3 text, 2 full pinyin, 1 scattered words, 0 initials
    /// (or untiered).
    fn tier(tiered: bool, score: Score) -> u8 {
        match () {
            _ if !tiered => 0,
            _ if score >= TEXT_FLOOR => 3,
            _ if score >= PINYIN_FLOOR => 2,
            _ if score >= SCATTERED_FLOOR => 1,
            _ => 0,
        }
    }
}

/// The whole query as a phrase in any of the groups (`None` for a one-word query).
fn whole_phrase(a: &Analysed, groups: &[(Group, Score)]) -> Option<Box<dyn TQuery>> {
    if a.seq.len() < 2 {
        return None;
    }
    let phrases = groups
        .iter()
        .map(|(g, _)| {
            let terms: Vec<(usize, Term)> = a.seq.iter().map(|(p, t)| (*p, Term::from_field_text(g.seq, t))).collect();
            Box::new(PhraseQuery::new_with_offset(terms)) as Box<dyn TQuery>
        })
        .collect();
    Some(any_of(phrases))
}

/// Pinyin queries longer than this many syllables are not tried (a pasted text).
const MAX_PINYIN_SYLLABLES: usize = 16;

/// The text as pinyin over the groups' pinyin fields: one phrase per way of cutting it
/// into syllables ([`crate::pinyin::segment`]), for queries of two or more syllables (one
/// syllable reads as hundreds of characters), plus a whole-name (whole-title) match of
/// the same syllables, so `luxun` finds the books *by* 鲁迅 before those by the 鲁迅
/// museum; `None` when the text is not pinyin.
fn pinyin_query(f: &Fields, groups: &[(Group, Score)], text: &str) -> Option<Box<dyn TQuery>> {
    let ways = crate::pinyin::segment(text)?;
    let mut clauses: Vec<Box<dyn TQuery>> = Vec::new();
    for way in ways.iter().filter(|w| (2..=MAX_PINYIN_SYLLABLES).contains(&w.len())) {
        let initials: String = way.iter().filter_map(|s| s.get(..1)).collect();
        let full: String = way.concat();
        for (g, b) in groups {
            let Some(field) = g.pinyin else { continue };
            let terms: Vec<Term> = way.iter().map(|s| Term::from_field_text(field, s)).collect();
            clauses.push(boost(Box::new(PhraseQuery::new(terms)), *b));
            let prefix = if g.names { NAME_KEYS } else { TITLE_KEYS };
            if INITIALS_LEN.contains(&way.len()) {
                let whole = term_basic(f.initials, &format!("{prefix}{initials}:{full}"));
                clauses.push(Box::new(ConstScoreQuery::new(whole, b * WHOLE_PINYIN_SCORE)));
            }
        }
    }
    if clauses.is_empty() { None } else { Some(any_of(clauses)) }
}

/// Score of a whole name or title spelt in full pinyin (times the field boost).
const WHOLE_PINYIN_SCORE: Score = 20.0;
/// Score of an initials match of a whole name, times 1 + ln(records with that name); a
/// whole title's is half of it, whatever its count.
const INITIALS_SCORE: Score = 2.0;
/// Names (titles) with the same initials looked up, the most catalogued first.
const MAX_INITIALS_KEYS: usize = 32;

/// `lx` → the records whose whole name (or whole short title) has those pinyin
/// initials: only for a query of 2–6 ASCII letters and nothing else, and only against
/// whole keys, so `lx` finds 鲁迅 and not every title with a word read l… x…. A name
/// with more records ranks first (鲁迅 before 冷夏), names before titles.
fn initials_query(f: &Fields, searcher: &Searcher, field: Field, text: &str) -> Result<Option<Box<dyn TQuery>>> {
    let t = text.trim().to_ascii_lowercase();
    if !INITIALS_LEN.contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_lowercase()) {
        return Ok(None);
    }
    let mut kinds: Vec<(&str, Score)> = Vec::new();
    if matches!(field, Field::Author | Field::Any) {
        kinds.push((NAME_KEYS, INITIALS_SCORE));
    }
    if matches!(field, Field::Title | Field::Any) {
        kinds.push((TITLE_KEYS, INITIALS_SCORE / 2.0));
    }
    let mut clauses: Vec<Box<dyn TQuery>> = Vec::new();
    for (kind, score) in kinds {
        let prefix = format!("{kind}{t}:");
        for (key, df) in terms_with_prefix(searcher, f.initials, &prefix, MAX_INITIALS_KEYS)? {
            // How many records a name has says who the reader most likely means; titles
            // with the same initials are all equally likely.
            let s = if kind == NAME_KEYS { score * (1.0 + (df as Score).ln()) } else { score };
            clauses.push(Box::new(ConstScoreQuery::new(term_basic(f.initials, &key), s)));
        }
    }
    Ok(if clauses.is_empty() { None } else { Some(any_of(clauses)) })
}

/// The terms of `field` starting with `prefix` and their document frequencies over all
/// segments, the `cap` most frequent (then in term order).
pub(crate) fn terms_with_prefix(searcher: &Searcher, field: TField, prefix: &str, cap: usize) -> Result<Vec<(String, u64)>> {
    let mut counts: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut end = prefix.as_bytes().to_vec();
    // The first key past every key with this prefix (its last byte plus one; the prefixes
    // here end in ASCII).
    if let Some(last) = end.last_mut() {
        *last = last.saturating_add(1);
    }
    for seg in searcher.segment_readers() {
        let inverted = seg.inverted_index(field)?;
        let mut stream = inverted.terms().range().ge(prefix.as_bytes()).lt(&end).into_stream()?;
        while stream.advance() {
            let key = String::from_utf8_lossy(stream.key()).into_owned();
            *counts.entry(key).or_default() += u64::from(stream.value().doc_freq);
        }
    }
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by_key(|t| std::cmp::Reverse(t.1));
    v.truncate(cap);
    Ok(v)
}

fn term_basic(field: TField, text: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic))
}

/// What a search returns besides the page: see [`CatalogIndex::search_with`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchOptions {
    /// Narrow the hits to chosen facet values.
    pub filters: Filters,
    /// Count the facets over every hit ([`SearchPage::facets`]).
    pub facets: bool,
    /// Return the ids of the first `all_ids` hits in result order (at most
    /// [`MAX_WINDOW`]; 0 = none), e.g. for the application to count or filter by
    /// availability, which the index does not know.
    pub all_ids: usize,
}

/// One page of a search with its facets and hit ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchPage {
    /// Total matching records (after the filters).
    pub total: usize,
    /// The requested page.
    pub hits: Vec<Hit>,
    /// Counts over every hit, when asked for.
    pub facets: Option<Facets>,
    /// The ids of the first [`SearchOptions::all_ids`] hits, in result order.
    pub all_ids: Vec<String>,
    /// `all_ids` holds every hit (`total <= all_ids`).
    pub all_ids_complete: bool,
}

impl CatalogIndex {
    /// Run a query. An empty or unsearchable text gives no hits (not an error).
    pub fn search(&self, q: &Query) -> Result<SearchResults> {
        let page = self.search_with(q, &SearchOptions::default())?;
        Ok(SearchResults { total: page.total, hits: page.hits })
    }

    /// Run a query with filters, and count facets and return hit ids if asked, in one
    /// pass over the hits.
    pub fn search_with(&self, q: &Query, options: &SearchOptions) -> Result<SearchPage> {
        let facets = options.facets.then_some(FacetCollector);
        let searcher = self.reader().searcher();
        let Some(Built { query: tq, tiered }) = build(self.fields(), &searcher, q)? else {
            return Ok(SearchPage { facets: facets.map(|_| Facets::default()), all_ids_complete: true, ..SearchPage::default() });
        };
        let tq: Box<dyn TQuery> = match filter_query(self.fields(), &options.filters) {
            Some(fq) => Box::new(BooleanQuery::new(vec![(Occur::Must, tq), (Occur::Must, fq)])),
            None => tq,
        };
        let offset = q.offset.min(MAX_WINDOW);
        let limit = q.limit.min(MAX_WINDOW - offset);
        let id_cap = options.all_ids.min(MAX_WINDOW);
        // One window serves the page and the id list.
        let window = if limit == 0 { id_cap } else { (offset + limit).max(id_cap) };
        if window == 0 {
            let (total, facets) = searcher.search(&tq, &(Count, facets))?;
            return Ok(SearchPage { total, facets, all_ids_complete: total == 0, ..SearchPage::default() });
        }
        let top = TopDocs::with_limit(window);
        let (total, docs, facets): (usize, Vec<(Score, DocAddress)>, Option<Facets>) = match q.sort {
            Sort::Relevance => searcher.search(&tq, &(Count, top.order_by_score(), facets))?,
            Sort::Newest => {
                // Newest first within each ranking tier: exact matches still come first.
                let c = top.tweak_score(move |seg: &SegmentReader| {
                    let years = seg.fast_fields().i64("year").ok();
                    move |doc: DocId, score: Score| {
                        let y = years.as_ref().and_then(|c| c.first(doc)).unwrap_or(i64::MIN);
                        (Built::tier(tiered, score), y, score)
                    }
                });
                let (total, docs, facets) = searcher.search(&tq, &(Count, c, facets))?;
                (total, docs.into_iter().map(|((_, _, s), d)| (s, d)).collect(), facets)
            }
        };
        let page_docs = if limit == 0 { &[][..] } else { docs.get(offset..).unwrap_or(&[]) };
        let page_docs = page_docs.get(..limit.min(page_docs.len())).unwrap_or(&[]);
        let hits = self.ids(&searcher, page_docs, tiered)?;
        let all_ids = if id_cap == 0 {
            Vec::new()
        } else {
            let n = id_cap.min(docs.len());
            self.ids(&searcher, docs.get(..n).unwrap_or(&[]), tiered)?.into_iter().map(|h| h.id).collect()
        };
        Ok(SearchPage { total, hits, facets, all_ids_complete: total <= id_cap, all_ids })
    }

    fn ids(&self, searcher: &Searcher, docs: &[(Score, DocAddress)], tiered: bool) -> Result<Vec<Hit>> {
        let mut tables: Vec<(u32, Arc<SegmentIds>)> = Vec::new();
        let mut hits = Vec::with_capacity(docs.len());
        for &(score, addr) in docs {
            let table = match tables.iter().find(|(ord, _)| *ord == addr.segment_ord) {
                Some((_, t)) => Arc::clone(t),
                None => {
                    let t = self.segment_ids(searcher, addr.segment_ord)?;
                    tables.push((addr.segment_ord, Arc::clone(&t)));
                    t
                }
            };
            if let Some(id) = table.get(addr.doc_id) {
                hits.push(Hit { id: id.to_owned(), score, matched: Matched::of(tiered, score) });
            }
        }
        Ok(hits)
    }

    /// The id table of one segment of `searcher`, built on first use and kept until the
    /// segment is merged away.
    fn segment_ids(&self, searcher: &Searcher, segment_ord: u32) -> Result<Arc<SegmentIds>> {
        let seg = searcher.segment_reader(segment_ord);
        let key = seg.segment_id();
        if let Some(t) = self.id_tables().read().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(t);
        }
        // Built under the write lock, so many first searches at once build it once.
        let mut tables = match self.id_tables().write() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(t) = tables.get(&key) {
            return Ok(Arc::clone(t));
        }
        let table = Arc::new(SegmentIds::build(seg)?);
        // Forget segments this searcher no longer has (merged or deleted).
        let live: Vec<_> = searcher.segment_readers().iter().map(|s| s.segment_id()).collect();
        tables.retain(|k, _| live.contains(k));
        tables.insert(key, Arc::clone(&table));
        Ok(table)
    }
}

/// The record ids of one segment, by document: resolving ten hits' ids through the
/// `id` fast field's term dictionary (`ord_to_str`, a block decode each) took about a
/// tenth of a search's CPU; a table read is a copy.
pub(crate) struct SegmentIds {
    /// Term ordinal of each document's id (`u32::MAX`: none).
    doc_ord: Vec<u32>,
    /// The ids in term-ordinal order.
    terms: Vec<Box<str>>,
}

impl SegmentIds {
    fn build(seg: &SegmentReader) -> Result<SegmentIds> {
        let Some(col) = seg.fast_fields().str("id")? else {
            return Ok(SegmentIds { doc_ord: Vec::new(), terms: Vec::new() });
        };
        let mut terms = Vec::with_capacity(col.num_terms());
        let mut stream = col.dictionary().stream()?;
        while stream.advance() {
            terms.push(Box::from(String::from_utf8_lossy(stream.key()).as_ref()));
        }
        let ords = col.ords();
        let doc_ord = (0..seg.max_doc()).map(|d| ords.first(d).and_then(|o| u32::try_from(o).ok()).unwrap_or(u32::MAX)).collect();
        Ok(SegmentIds { doc_ord, terms })
    }

    fn get(&self, doc: DocId) -> Option<&str> {
        let ord = *self.doc_ord.get(doc as usize)?;
        self.terms.get(ord as usize).map(|t| &**t)
    }
}
