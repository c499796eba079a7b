//! The index itself: schema, opening, writing and the reader.
//!
//! Schema (nothing is stored; hits are returned by id from a fast field, read through an
//! in-memory table per segment):
//!
//! | field | kind | for |
//! |---|---|---|
//! | `id` | raw term, fast | delete/upsert by id; the hit's id |
//! | `year` | i64 fast | newest-first sort |
//! | `title_w` `author_w` `subject_w` `any_w` | `wx_words` analyzer, freqs | jieba words, English plurals folded: BM25 |
//! | `title_s` `author_s` `subject_s` `any_s` | `wx_seq` analyzer, positions | Han unigrams+bigrams, unstemmed words: substring and phrase matching; author words |
//! | `exact` | u64 terms: 64-bit hashes of exact keys | exact title / name / heading boosts |
//! | `isbn` | raw terms, ISBN-13 (see [`crate::isbn`]) | ISBN search |
//! | `callno` | raw terms, [`callno_key`] | call-number prefix search |
//! | `title_py` `author_py` | `wx_pinyin` analyzer, positions | pinyin of the Han text, every reading ([`crate::pinyin`]) |
//! | `initials` | raw terms `a:lx:luxun`, `t:hlm:hongloumeng` | pinyin keys of whole names and whole short titles |
//! | `language` | raw term, fast | language facet and filter ([`crate::facets`]) |
//! | `location` | raw terms, fast | location facet and filter |
//!
//! A commit stamps [`ANALYSIS_VERSION`] into the index's meta payload; opening an index
//! built with another version (or schema) fails with [`Error::Incompatible`] so the
//! caller can rebuild it from the database.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use tantivy::directory::MmapDirectory;
use tantivy::schema::{FAST, Field as TField, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{PINYIN, SEQ, WORDS, callno_key, is_han, pinyin_analyzer, plain_tokens, seq_analyzer, words_analyzer};
use crate::doc::{SearchDoc, name_key_text, title_proper};
use crate::error::{Error, Result};
use crate::facets::facet_key;

/// Version of the analysis chain and schema; bump when either changes.
pub const ANALYSIS_VERSION: &str = "wxlib-search/6";

/// Default indexing heap for [`CatalogIndex::writer`] (all threads together).
pub const DEFAULT_WRITER_HEAP: usize = 128 * 1024 * 1024;

/// A pair of fields searched together (jieba/plural-folded words + Han n-grams/phrases).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Group {
    pub words: TField,
    pub seq: TField,
    /// Kind of this group's keys in the `exact` field; none for `any`.
    pub exact: Option<ExactKind>,
    /// Names: a query word matches the word as written (in `seq`), not its English stem, so
    /// `Roberts` does not find every `Robert` (stemming is for prose).
    pub names: bool,
    /// The Han text's pinyin (title and author only).
    pub pinyin: Option<TField>,
}

/// Field handles.
#[derive(Clone, Debug)]
pub(crate) struct Fields {
    pub id: TField,
    pub year: TField,
    pub title: Group,
    pub author: Group,
    pub subject: Group,
    pub any: Group,
    pub exact: TField,
    pub isbn: TField,
    pub callno: TField,
    pub language: TField,
    pub location: TField,
    /// Pinyin initials of whole names (`a:lx`) and short whole titles (`t:hlm`).
    pub initials: TField,
}

fn text(tokenizer: &str, option: IndexRecordOption) -> TextOptions {
    TextOptions::default().set_indexing_options(TextFieldIndexing::default().set_tokenizer(tokenizer).set_index_option(option))
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let raw_basic = || {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer("raw").set_index_option(IndexRecordOption::Basic).set_fieldnorms(false),
        )
    };
    let id = b.add_text_field("id", raw_basic().set_fast("raw"));
    let year = b.add_i64_field("year", FAST | INDEXED);
    let mut group = |name: &str, exact| Group {
        names: name == "author",
        words: b.add_text_field(&format!("{name}_w"), text(WORDS, IndexRecordOption::WithFreqs)),
        seq: b.add_text_field(&format!("{name}_s"), text(SEQ, IndexRecordOption::WithFreqsAndPositions)),
        exact,
        pinyin: None,
    };
    let mut title = group("title", Some(ExactKind::Title));
    let mut author = group("author", Some(ExactKind::Name));
    let subject = group("subject", Some(ExactKind::Heading));
    let any = group("any", None);
    title.pinyin = Some(b.add_text_field("title_py", text(PINYIN, IndexRecordOption::WithFreqsAndPositions)));
    author.pinyin = Some(b.add_text_field("author_py", text(PINYIN, IndexRecordOption::WithFreqsAndPositions)));
    let exact = b.add_u64_field("exact", INDEXED);
    let isbn = b.add_text_field("isbn", raw_basic());
    let callno = b.add_text_field("callno", raw_basic());
    let language = b.add_text_field("language", raw_basic().set_fast("raw"));
    let location = b.add_text_field("location", raw_basic().set_fast("raw"));
    let initials = b.add_text_field("initials", raw_basic());
    (b.build(), Fields { id, year, title, author, subject, any, exact, isbn, callno, language, location, initials })
}

/// The catalogue index: open it once, share it (`Arc<CatalogIndex>`), search from any
/// thread. One [`CatalogWriter`] at a time writes to it (tantivy keeps a lock file).
pub struct CatalogIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Record ids by document, per segment (see [`crate::query`]).
    id_tables: IdTables,
}

pub(crate) type IdTables = RwLock<HashMap<tantivy::index::SegmentId, Arc<crate::query::SegmentIds>>>;

impl std::fmt::Debug for CatalogIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogIndex").field("docs", &self.doc_count()).finish()
    }
}

impl CatalogIndex {
    /// Open an existing index in `dir`.
    pub fn open(dir: &Path) -> Result<CatalogIndex> {
        let index = Index::open_in_dir(dir)?;
        CatalogIndex::wrap(index, ReloadPolicy::OnCommitWithDelay)
    }

    /// Open the index in `dir`, creating the directory and an empty index if needed.
    pub fn create_or_open(dir: &Path) -> Result<CatalogIndex> {
        std::fs::create_dir_all(dir)?;
        let mmap = MmapDirectory::open(dir).map_err(|e| Error::Directory(e.to_string()))?;
        let (schema, _) = schema();
        let index = if Index::exists(&mmap).map_err(|e| Error::Directory(e.to_string()))? {
            Index::open(mmap)?
        } else {
            Index::create(mmap, schema, tantivy::IndexSettings::default())?
        };
        CatalogIndex::wrap(index, ReloadPolicy::OnCommitWithDelay)
    }

    /// A new, empty index in memory (tests, small catalogues, benchmarks).
    pub fn open_in_ram() -> Result<CatalogIndex> {
        let (schema, _) = schema();
        CatalogIndex::wrap(Index::create_in_ram(schema), ReloadPolicy::Manual)
    }

    fn wrap(index: Index, policy: ReloadPolicy) -> Result<CatalogIndex> {
        let (schema, fields) = schema();
        if index.schema() != schema {
            return Err(Error::Incompatible("schema differs from this version's".into()));
        }
        if let Some(p) = index.load_metas()?.payload
            && p != ANALYSIS_VERSION
        {
            return Err(Error::Incompatible(format!("built by {p}, this is {ANALYSIS_VERSION}")));
        }
        index.tokenizers().register(WORDS, words_analyzer());
        index.tokenizers().register(SEQ, seq_analyzer());
        index.tokenizers().register(PINYIN, pinyin_analyzer());
        let reader = index.reader_builder().reload_policy(policy).try_into()?;
        Ok(CatalogIndex { index, reader, fields, id_tables: IdTables::default() })
    }

    /// A writer with the default heap ([`DEFAULT_WRITER_HEAP`]) and up to 2 threads.
    pub fn writer(&self) -> Result<CatalogWriter> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(2);
        self.writer_with(threads, DEFAULT_WRITER_HEAP)
    }

    /// A writer with `threads` indexing threads sharing `heap_bytes` (at least 15 MB
    /// per thread, tantivy's minimum).
    pub fn writer_with(&self, threads: usize, heap_bytes: usize) -> Result<CatalogWriter> {
        let threads = threads.max(1);
        let heap = heap_bytes.max(threads * 15_000_000 + 1_000_000);
        let writer = match self.index.writer_with_num_threads(threads, heap) {
            Ok(w) => w,
            Err(tantivy::TantivyError::LockFailure(..)) => return Err(Error::WriterBusy),
            Err(e) => return Err(e.into()),
        };
        Ok(CatalogWriter { writer, reader: self.reader.clone(), fields: self.fields.clone() })
    }

    /// Number of (live) records in the index as of the last reload.
    pub fn doc_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Reload the reader now (a [`CatalogWriter::commit`] in this process already does).
    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    pub(crate) fn reader(&self) -> &IndexReader {
        &self.reader
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.fields
    }

    pub(crate) fn id_tables(&self) -> &IdTables {
        &self.id_tables
    }
}

/// The indexing handle: `upsert`/`delete` queue changes, `commit` makes them durable
/// and visible to searches.
pub struct CatalogWriter {
    writer: IndexWriter<TantivyDocument>,
    reader: IndexReader,
    fields: Fields,
}

impl CatalogWriter {
    /// Add or replace the record with `doc.id`.
    pub fn upsert(&self, doc: &SearchDoc) -> Result<()> {
        self.writer.delete_term(Term::from_field_text(self.fields.id, &doc.id));
        self.writer.add_document(to_document(&self.fields, doc))?;
        Ok(())
    }

    /// Add a record without deleting an older one with the same id (bulk loads into
    /// an empty index).
    pub fn add(&self, doc: &SearchDoc) -> Result<()> {
        self.writer.add_document(to_document(&self.fields, doc))?;
        Ok(())
    }

    /// Remove the record with this id (if any).
    pub fn delete(&self, id: &str) {
        self.writer.delete_term(Term::from_field_text(self.fields.id, id));
    }

    /// Remove every record (e.g. before a full rebuild; takes effect on commit).
    pub fn delete_all(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        Ok(())
    }

    /// Make the queued changes durable and visible to this process's searches.
    pub fn commit(&mut self) -> Result<()> {
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(ANALYSIS_VERSION);
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Drop the changes queued since the last commit.
    pub fn rollback(&mut self) -> Result<()> {
        self.writer.rollback()?;
        Ok(())
    }

    /// Wait for background merges to finish (call after a bulk load, before exit).
    pub fn wait_merging_threads(self) -> Result<()> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}

fn to_document(f: &Fields, d: &SearchDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.id, &d.id);
    if let Some(y) = d.year {
        doc.add_i64(f.year, i64::from(y));
    }
    let mut exact: Vec<u64> = Vec::new();
    let mut add_exact = |kind: ExactKind, text: &str| {
        if let Some(k) = exact_key(kind, text)
            && !exact.contains(&k)
        {
            exact.push(k);
        }
    };

    let mut initials: Vec<String> = Vec::new();
    let mut add_initials = |prefix: &str, text: &str| {
        for key in whole_keys(prefix, text) {
            if !initials.contains(&key) {
                initials.push(key);
            }
        }
    };
    for t in d.title_values() {
        doc.add_text(f.title.words, t);
        doc.add_text(f.title.seq, t);
        add_exact(ExactKind::Title, t);
        add_initials(TITLE_KEYS, t);
        if let Some(p) = title_proper(t) {
            add_exact(ExactKind::Title, p);
            add_initials(TITLE_KEYS, p);
        }
        if let Some(py) = f.title.pinyin
            && t.chars().any(is_han)
        {
            doc.add_text(py, t);
        }
    }
    for a in &d.authors {
        doc.add_text(f.author.words, a);
        doc.add_text(f.author.seq, a);
        if let Some(name) = name_key_text(a) {
            add_exact(ExactKind::Name, &name);
            add_initials(NAME_KEYS, &name);
        }
        if let Some(py) = f.author.pinyin
            && a.chars().any(is_han)
        {
            doc.add_text(py, a);
        }
    }
    for i in initials {
        doc.add_text(f.initials, &i);
    }
    for s in &d.subjects {
        doc.add_text(f.subject.words, s);
        doc.add_text(f.subject.seq, s);
        add_exact(ExactKind::Heading, s);
        if let Some((main, _)) = s.split_once(" -- ") {
            add_exact(ExactKind::Heading, main);
        }
    }
    let mut isbns: Vec<String> = Vec::new();
    for raw in &d.isbns {
        for v in crate::isbn::index_terms(raw) {
            if !isbns.contains(&v) {
                isbns.push(v);
            }
        }
    }
    // The any field gets the ISBNs as the isbn field has them, not as catalogued: a book
    // catalogued with its ISBN-10 and one with its ISBN-13 then score the same for either.
    let other = d.publisher.iter().chain(&isbns).chain(&d.call_numbers).chain(&d.any_extra);
    for o in other {
        doc.add_text(f.any.words, o);
        doc.add_text(f.any.seq, o);
    }
    for k in exact {
        doc.add_u64(f.exact, k);
    }
    for i in isbns {
        doc.add_text(f.isbn, &i);
    }
    let mut cns: Vec<String> = Vec::new();
    for c in &d.call_numbers {
        let k = callno_key(c);
        if !k.is_empty() && !cns.contains(&k) {
            cns.push(k);
        }
    }
    for c in cns {
        doc.add_text(f.callno, &c);
    }
    if let Some(l) = d.language.as_deref().map(facet_key)
        && !l.is_empty()
    {
        doc.add_text(f.language, &l);
    }
    let mut locations: Vec<String> = Vec::new();
    for l in &d.locations {
        let k = facet_key(l);
        if !k.is_empty() && !locations.contains(&k) {
            locations.push(k);
        }
    }
    for l in locations {
        doc.add_text(f.location, &l);
    }
    doc
}

/// Prefix of a whole title's keys in the `initials` field.
pub(crate) const TITLE_KEYS: &str = "t:";
/// Prefix of a whole name's keys.
pub(crate) const NAME_KEYS: &str = "a:";
/// Initials queries and whole keys are this long (characters, letters): longer titles are
/// not looked up by initials, and shorter keys would match too much.
pub(crate) const INITIALS_LEN: std::ops::RangeInclusive<usize> = 2..=6;
/// Readings combinations kept for one key (长安 has two).
const KEYS_CAP: usize = 8;

/// The `initials` field's terms for a whole title or name: `<prefix><initials>:<full
/// pinyin>` (`a:lx:luxun`), so an initials query finds its names by prefix and ranks them
/// by how many records each has, and a full pinyin query finds the whole name first.
/// Only a text that is Han script through and through (punctuation and spaces aside) of
/// 2–6 characters has them.
fn whole_keys(prefix: &str, text: &str) -> Vec<String> {
    let norm = crate::analysis::normalize(text);
    let han: String = norm.chars().filter(|&c| is_han(c)).collect();
    let n = han.chars().count();
    if !INITIALS_LEN.contains(&n) || norm.chars().any(|c| c.is_alphanumeric() && !is_han(c)) {
        return Vec::new();
    }
    crate::pinyin::whole_keys(&han, KEYS_CAP).into_iter().map(|(ini, full)| format!("{prefix}{ini}:{full}")).collect()
}

/// What an exact key is of: the three kinds never match each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExactKind {
    /// A whole title or title proper, folded ([`crate::analysis::plain_key`]).
    Title,
    /// A name without dates, its words in sorted order, so "Smith, John" = "John Smith".
    Name,
    /// A whole subject heading, or its main part before the first " -- ".
    Heading,
}

/// The exact-match key of a text, hashed (64-bit FNV-1a, stable across builds) so the
/// index stores 8 bytes per key instead of the text; `None` for texts without tokens.
pub(crate) fn exact_key(kind: ExactKind, text: &str) -> Option<u64> {
    let mut tokens = plain_tokens(text);
    if tokens.is_empty() {
        return None;
    }
    if kind == ExactKind::Name {
        tokens.sort_unstable();
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    eat(kind as u8);
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            eat(b' ');
        }
        t.bytes().for_each(&mut eat);
    }
    Some(h)
}
