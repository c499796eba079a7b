//! "Did you mean": corrections of a query from the index's own terms (no dictionary),
//! each checked by running it.
//!
//! Three kinds, for the text fields (title, author, subject, any):
//!
//! * **A misspelt word** (Latin script: `libary`, `histroy`): a query word that no record
//!   of the field has (or, when the query finds nothing, at most three records have) is
//!   replaced by the nearest indexed words at least ten times as frequent: Levenshtein
//!   distance 1, else 2 for words of six letters or more, a transposition counting 1,
//!   the first letter kept, over the term dictionaries of the field's unstemmed `*_s`
//!   fields; nearest first, then the most frequent.
//! * **A mistyped Han character** (`鲁讯` for `鲁迅`): where two neighbouring characters of
//!   the query stand together in no record, one of them is replaced by a homophone (a
//!   character sharing a reading, [`crate::pinyin`]: input-method typos are homophones)
//!   such that the pair is indexed, the most frequent pairs first. The correction
//!   is written in the reader's script: the characters they typed stay as typed, and the
//!   replacement is traditional when the query is ([`crate::t2s::unfold_char`]), so
//!   `臺灣經齊` gets `臺灣經濟`, and `台湾经齐` gets `台湾经济`.
//! * **Pinyin** (`luxun`, `zhongguo jingji`): the Han text the syllables spell that the
//!   titles or names of the index contain (`鲁迅`, `中国经济`), found by a beam search
//!   over the Han character pairs of the field, so a reader can switch to the exact
//!   matches. Offered whatever the query's own hit count.
//!
//! Every candidate is run as a query of the same field; only those with hits (and, for
//! the first two kinds, more hits than the query itself) are returned, in the order they
//! were found: pinyin spellings, then corrections (nearest, then most frequent).
//! Call it for zero or few hits (pinyin queries: any time): see the crate docs for its
//! cost.

use std::collections::HashMap;

use std::sync::Arc;

use tantivy::InvertedIndexReader;
use tantivy::query::FuzzyTermQuery;
use tantivy::schema::Field as TField;
use tantivy::{Searcher, Term};

use crate::analysis::is_han;
use crate::error::Result;
use crate::index::{CatalogIndex, Fields};
use crate::query::{Field, Query, SearchOptions, Unit, analyse, cut_text};

/// A corrected query and how many records it finds (in the same field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub text: String,
    pub hits: usize,
}

/// A word this rare in the field is corrected when the query finds nothing.
const RARE_WORD: u64 = 3;
/// Suggestions returned at most.
pub const MAX_SUGGESTIONS: usize = 3;
/// Candidates checked by running them, at most.
const MAX_CHECKED: usize = 8;
/// Corrections kept per word or Han position.
const PER_WORD: usize = 3;
/// Characters tried per syllable in the pinyin beam (the most frequent in the field).
const CHARS_PER_SYLLABLE: usize = 24;
/// Partial spellings kept per step of the pinyin beam.
const BEAM: usize = 8;
/// Longest pinyin query spelt out (syllables).
const MAX_SPELT: usize = 8;
/// Longest Han word corrected (characters).
const MAX_HAN_WORD: usize = 12;

impl CatalogIndex {
    /// Suggestions for `q` (its text and field; sort and paging are ignored), best first,
    /// at most [`MAX_SUGGESTIONS`]. Empty for the ISBN and call-number fields and when
    /// nothing better is found.
    pub fn suggest(&self, q: &Query) -> Result<Vec<Suggestion>> {
        let fields = self.fields();
        let seq = seq_fields(fields, q.field);
        if seq.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader().searcher();
        let text = marc::bib::collapse_han_spaces(cut_text(&q.text));
        let mut stats = TermStats::new(&searcher);

        // (candidate, is a spelling of pinyin)
        let mut candidates: Vec<(String, bool)> = Vec::new();
        let spelling_fields = spelling_fields(fields, q.field);
        if let Some(ways) = crate::pinyin::segment(&text) {
            for way in ways.iter().filter(|w| (2..=MAX_SPELT).contains(&w.len())) {
                for han in spell(&mut stats, &spelling_fields, way)? {
                    candidates.push((han, true));
                }
            }
        }
        let own = self.count(q.field, &text)?;
        for c in corrections(&mut stats, &seq, &text, cut_text(&q.text), own)? {
            candidates.push((c, false));
        }

        let mut out: Vec<Suggestion> = Vec::new();
        let mut seen: Vec<String> = vec![text.clone()];
        for (cand, spelt) in candidates {
            if seen.len() > MAX_CHECKED {
                break;
            }
            if seen.contains(&cand) {
                continue;
            }
            seen.push(cand.clone());
            let hits = self.count(q.field, &cand)?;
            if hits > 0 && (spelt || hits > own) {
                out.push(Suggestion { text: cand, hits });
            }
        }
        out.truncate(MAX_SUGGESTIONS);
        Ok(out)
    }

    fn count(&self, field: Field, text: &str) -> Result<usize> {
        let mut q = Query::new(field, text);
        q.limit = 0;
        Ok(self.search_with(&q, &SearchOptions::default())?.total)
    }
}

/// The unstemmed `*_s` fields a field's words are matched in.
fn seq_fields(f: &Fields, field: Field) -> Vec<TField> {
    match field {
        Field::Title => vec![f.title.seq],
        Field::Author => vec![f.author.seq],
        Field::Subject => vec![f.subject.seq],
        Field::Any => vec![f.title.seq, f.author.seq, f.subject.seq, f.any.seq],
        Field::Isbn | Field::CallNumber => Vec::new(),
    }
}

/// The fields whose Han text pinyin is matched against (titles and names).
fn spelling_fields(f: &Fields, field: Field) -> Vec<TField> {
    match field {
        Field::Title => vec![f.title.seq],
        Field::Author => vec![f.author.seq],
        Field::Any => vec![f.title.seq, f.author.seq],
        _ => Vec::new(),
    }
}

/// Document frequencies of terms over the searcher's segments, summed over some fields,
/// with the term dictionaries opened once.
struct TermStats<'a> {
    searcher: &'a Searcher,
    readers: HashMap<TField, Vec<Arc<InvertedIndexReader>>>,
    cache: HashMap<(Vec<TField>, String), u64>,
}

impl<'a> TermStats<'a> {
    fn new(searcher: &'a Searcher) -> TermStats<'a> {
        TermStats { searcher, readers: HashMap::new(), cache: HashMap::new() }
    }

    fn readers(&mut self, field: TField) -> Result<&[Arc<InvertedIndexReader>]> {
        if !self.readers.contains_key(&field) {
            let mut v = Vec::new();
            for seg in self.searcher.segment_readers() {
                v.push(seg.inverted_index(field)?);
            }
            self.readers.insert(field, v);
        }
        Ok(self.readers.get(&field).map(Vec::as_slice).unwrap_or(&[]))
    }

    fn df(&mut self, fields: &[TField], text: &str) -> Result<u64> {
        let key = (fields.to_vec(), text.to_string());
        if let Some(&n) = self.cache.get(&key) {
            return Ok(n);
        }
        let mut n = 0u64;
        for &field in fields {
            for inverted in self.readers(field)? {
                n += inverted.terms().get(text.as_bytes())?.map_or(0, |info| u64::from(info.doc_freq));
            }
        }
        self.cache.insert(key, n);
        Ok(n)
    }
}

/// Corrected texts for misspelt words and mistyped Han characters of `text` (the query
/// as searched), written into `typed` (the query as typed), best first: first every
/// correction's best choice at once, then each second choice.
fn corrections(stats: &mut TermStats<'_>, seq: &[TField], text: &str, typed: &str, own: usize) -> Result<Vec<String>> {
    let a = analyse(text);
    // (what to replace, its replacements best first)
    let mut fixes: Vec<(Replace, Vec<String>)> = Vec::new();
    for (unit, _) in &a.units {
        // Words of three letters or more that no record of the field has, or, when the
        // query finds nothing, that very few have: a large catalogue has its own typos
        // (`histroy` is in some title of the 250,000 LC records).
        let Unit::Word { plain, .. } = unit else { continue };
        if plain.chars().count() < 3 || plain.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        let df = stats.df(seq, plain)?;
        if df > 0 && (own > 0 || df > RARE_WORD) {
            continue;
        }
        let near = nearest_words(stats.searcher, seq, plain, df)?;
        if !near.is_empty() {
            fixes.push((Replace::Word(plain.clone()), near));
        }
    }
    // Han text by runs, not by jieba's words: a typo often makes jieba cut the word
    // apart (贾平娃 → 贾平 / 娃).
    for run in crate::analysis::plain_tokens(text).into_iter().filter(|t| crate::analysis::is_han_token(t)) {
        if (2..=MAX_HAN_WORD).contains(&run.chars().count()) {
            let fixed = homophone_fixes(stats, seq, &run)?;
            if !fixed.is_empty() {
                fixes.push((Replace::Han(run), fixed));
            }
        }
    }
    if fixes.is_empty() {
        return Ok(Vec::new());
    }
    let apply = |choice: &[usize]| -> String {
        let mut out = typed.to_string();
        for ((what, with), &i) in fixes.iter().zip(choice) {
            if let Some(w) = with.get(i) {
                out = what.apply(&out, w);
            }
        }
        out
    };
    let best = vec![0usize; fixes.len()];
    let mut out = vec![apply(&best)];
    for k in 0..fixes.len() {
        for alt in 1..fixes.get(k).map_or(0, |f| f.1.len()) {
            let mut choice = best.clone();
            if let Some(c) = choice.get_mut(k) {
                *c = alt;
            }
            out.push(apply(&choice));
        }
    }
    Ok(out)
}

/// One part of the query to replace.
enum Replace {
    /// A word (folded form): the whitespace-separated chunk of the text that is it.
    Word(String),
    /// A Han word (normalised form) and its corrected form (normalised).
    Han(String),
}

impl Replace {
    fn apply(&self, text: &str, with: &str) -> String {
        match self {
            Replace::Word(word) => replace_word(text, word, with),
            Replace::Han(han) => replace_han(text, han, with),
        }
    }
}

/// The text with the chunk spelling `word` replaced, capitalised as it was.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut done = false;
    for chunk in text.split(' ') {
        let matches = !done && crate::analysis::plain_tokens(chunk).first().is_some_and(|t| t == word);
        if matches {
            done = true;
            let capital = chunk.chars().next().is_some_and(char::is_uppercase);
            let mut w = with.to_string();
            if capital && let Some(first) = w.get(..1).map(str::to_uppercase) {
                w.replace_range(..1, &first);
            }
            // Keep punctuation around the word (`libary,` → `library,`).
            let start = chunk.find(|c: char| c.is_alphanumeric()).unwrap_or(0);
            let end =
                chunk.rfind(|c: char| c.is_alphanumeric()).map_or(chunk.len(), |i| i + chunk[i..].chars().next().map_or(1, char::len_utf8));
            out.push(format!("{}{w}{}", chunk.get(..start).unwrap_or(""), chunk.get(end..).unwrap_or("")));
        } else {
            out.push(chunk.to_string());
        }
    }
    if done { out.join(" ") } else { text.replacen(word, with, 1) }
}

/// The text with the Han word `han` (normalised) replaced by `with`, in the reader's
/// script: characters that did not change are kept as typed (spaces between them too,
/// `鲁 讯` → `鲁 迅`); a changed one is written traditional when the query is.
fn replace_han(text: &str, han: &str, with: &str) -> String {
    let mut typed: Vec<char> = text.chars().collect();
    // (index in `typed`, folded character) of everything but spaces.
    let folded: Vec<(usize, char)> =
        typed.iter().enumerate().filter(|(_, c)| !c.is_whitespace()).map(|(i, &c)| (i, crate::t2s::fold_char(c))).collect();
    let target: Vec<char> = han.chars().collect();
    let fixed: Vec<char> = with.chars().collect();
    let traditional = typed.iter().any(|&c| crate::t2s::folds(c));
    let start =
        (0..folded.len()).find(|&i| folded.get(i..i + target.len()).is_some_and(|w| w.iter().map(|&(_, c)| c).eq(target.iter().copied())));
    let Some(start) = start.filter(|_| fixed.len() == target.len()) else {
        return text.replacen(han, with, 1);
    };
    for (k, (&t, &f)) in target.iter().zip(&fixed).enumerate() {
        if t != f
            && let Some(&(at, _)) = folded.get(start + k)
            && let Some(slot) = typed.get_mut(at)
        {
            *slot = if traditional { crate::t2s::unfold_char(f) } else { f };
        }
    }
    typed.into_iter().collect()
}

/// The indexed words nearest to `word` in these fields, nearest first, then most frequent:
/// those at distance 1, else (for words of six letters or more) at distance 2. Building
/// a distance-2 automaton costs a few milliseconds, so it is only built when needed.
fn nearest_words(searcher: &Searcher, fields: &[TField], word: &str, word_df: u64) -> Result<Vec<String>> {
    // A rare word is only replaced by a much more frequent one.
    let better = |found: &mut HashMap<String, u64>| found.retain(|t, df| t != word && *df > word_df * 10);
    let mut found = words_within(searcher, fields, word, 1)?;
    better(&mut found);
    if found.is_empty() && word.chars().count() >= 6 {
        found = words_within(searcher, fields, word, 2)?;
        better(&mut found);
    }
    let mut ranked: Vec<(usize, u64, String)> = found.into_iter().map(|(t, df)| (edit_distance(word, &t), df, t)).collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then_with(|| a.2.cmp(&b.2)));
    Ok(ranked.into_iter().take(PER_WORD).map(|(_, _, t)| t).collect())
}

/// The Latin-script terms of the fields within `distance` of `word` that begin with its
/// first letter, with their document frequencies. Misspellings rarely touch the first
/// letter, and keeping it confines the automaton to one branch of each dictionary (an
/// unconfined distance-2 search walks most of it).
fn words_within(searcher: &Searcher, fields: &[TField], word: &str, distance: u8) -> Result<HashMap<String, u64>> {
    let mut found: HashMap<String, u64> = HashMap::new();
    let (Some(&first_field), Some(first)) = (fields.first(), word.chars().next()) else { return Ok(found) };
    let from = first.to_string();
    let Some(to) = char::from_u32(first as u32 + 1).map(String::from) else { return Ok(found) };
    // One automaton for every field: it reads the term's bytes, whatever the field.
    let automaton = FuzzyTermQuery::new(Term::from_field_text(first_field, word), distance, true).automaton()?;
    for &field in fields {
        for seg in searcher.segment_readers() {
            let inverted = seg.inverted_index(field)?;
            let mut stream = inverted.terms().search(&automaton).ge(from.as_bytes()).lt(to.as_bytes()).into_stream()?;
            while stream.advance() {
                let Ok(term) = std::str::from_utf8(stream.key()) else { continue };
                // Han unigrams and bigrams are no spelling of a Latin word.
                if term.chars().any(is_han) {
                    continue;
                }
                *found.entry(term.to_string()).or_default() += u64::from(stream.value().doc_freq);
            }
        }
    }
    Ok(found)
}

/// Optimal string alignment distance (a transposition counts 1), by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    let at = |i: usize, j: usize| i * w + j;
    for i in 0..=a.len() {
        d[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        d[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[at(i - 1, j)] + 1).min(d[at(i, j - 1)] + 1).min(d[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[at(i - 2, j - 2)] + 1);
            }
            d[at(i, j)] = v;
        }
    }
    d[at(a.len(), b.len())]
}

/// The Han run with one character replaced by a homophone, where a pair of characters
/// is indexed nowhere: the replacement must make a missing pair of its own indexed and
/// keep its indexed pairs indexed (a pair across two words, 凹我 in 贾平凹我是农民, may
/// stay missing). The most frequent weakest pair first; nothing when every pair is indexed.
fn homophone_fixes(stats: &mut TermStats<'_>, fields: &[TField], han: &str) -> Result<Vec<String>> {
    let chars: Vec<char> = han.chars().collect();
    let pair_df = |stats: &mut TermStats<'_>, a: char, b: char| stats.df(fields, &format!("{a}{b}"));
    let mut present: Vec<bool> = Vec::with_capacity(chars.len().saturating_sub(1));
    for w in chars.windows(2) {
        present.push(pair_df(stats, w[0], w[1])? > 0);
    }
    if present.iter().all(|&p| p) {
        return Ok(Vec::new());
    }
    let mut found: Vec<(u64, String)> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        // The pairs this character is in: (index in `present`, left char, right char).
        let left = i.checked_sub(1).and_then(|p| chars.get(p).map(|&l| (p, Some(l), None)));
        let right = chars.get(i + 1).map(|&r| (i, None, Some(r)));
        let pairs: Vec<(usize, Option<char>, Option<char>)> = left.into_iter().chain(right).collect();
        if !pairs.iter().any(|&(p, _, _)| present.get(p) == Some(&false)) {
            continue;
        }
        let mut homophones: Vec<char> = Vec::new();
        for r in crate::pinyin::readings(c) {
            for &h in crate::pinyin::characters_read(r) {
                // The rare characters of Extension A are no one's intended character.
                if h != c && ('\u{4E00}'..='\u{9FFF}').contains(&h) && !homophones.contains(&h) {
                    homophones.push(h);
                }
            }
        }
        'candidates: for h in homophones {
            let mut weakest = u64::MAX;
            let mut fixes_one = false;
            for &(p, l, r) in &pairs {
                let df = pair_df(stats, l.unwrap_or(h), r.unwrap_or(h))?;
                let was = present.get(p) == Some(&true);
                if was && df == 0 {
                    continue 'candidates;
                }
                if df > 0 {
                    fixes_one |= !was;
                    weakest = weakest.min(df);
                }
            }
            if fixes_one {
                let mut fixed = chars.clone();
                if let Some(slot) = fixed.get_mut(i) {
                    *slot = h;
                }
                found.push((weakest, fixed.into_iter().collect()));
            }
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    Ok(found.into_iter().take(PER_WORD).map(|(_, s)| s).collect())
}

/// Han texts the syllables spell, as pairs indexed in the fields: a beam over the most
/// frequent characters of each syllable, keeping the spellings whose weakest pair is the
/// most frequent.
fn spell(stats: &mut TermStats<'_>, fields: &[TField], syllables: &[&str]) -> Result<Vec<String>> {
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let mut columns: Vec<Vec<char>> = Vec::new();
    for s in syllables {
        let mut chars: Vec<(u64, char)> = Vec::new();
        for &c in crate::pinyin::characters_read(s) {
            let df = stats.df(fields, &c.to_string())?;
            if df > 0 {
                chars.push((df, c));
            }
        }
        chars.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        columns.push(chars.into_iter().take(CHARS_PER_SYLLABLE).map(|(_, c)| c).collect());
    }
    let mut beam: Vec<(u64, String)> =
        columns.first().map(|col| col.iter().map(|&c| (u64::MAX, c.to_string())).collect()).unwrap_or_default();
    for col in columns.iter().skip(1) {
        let mut next: Vec<(u64, String)> = Vec::new();
        for (weakest, text) in &beam {
            let Some(last) = text.chars().last() else { continue };
            for &c in col {
                let df = stats.df(fields, &format!("{last}{c}"))?;
                if df > 0 {
                    next.push(((*weakest).min(df), format!("{text}{c}")));
                }
            }
        }
        next.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        next.truncate(BEAM);
        beam = next;
    }
    Ok(beam.into_iter().take(PER_WORD).map(|(_, s)| s).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("libary", "library"), 1);
        assert_eq!(edit_distance("histroy", "history"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn words_are_replaced_where_they_stand() {
        assert_eq!(replace_word("Libary of Congress", "libary", "library"), "Library of Congress");
        assert_eq!(replace_word("the libary, old", "libary", "library"), "the library, old");
    }

    #[test]
    fn han_corrections_keep_the_readers_script() {
        assert_eq!(replace_han("鲁讯研究", "鲁讯", "鲁迅"), "鲁迅研究");
        assert_eq!(replace_han("臺灣經齊", "台湾经齐", "台湾经济"), "臺灣經濟");
        assert_eq!(replace_han("台湾经齐", "台湾经齐", "台湾经济"), "台湾经济");
        assert_eq!(replace_han("贾平娃 我是农民", "贾平娃我是农民", "贾平凹我是农民"), "贾平凹 我是农民");
    }
}
