//! Text analysis shared by indexing and querying: one normaliser, one run splitter,
//! four token streams.
//!
//! Every text goes through [`normalize`] first: Unicode NFKC (the LC records store accents
//! decomposed, and full-width forms and CJK compatibility ideographs fold too), then
//! traditional → simplified Chinese, one character at a time ([`crate::t2s`]). The text is
//! then cut into *runs*:
//!
//! * a **Han run** (ideographs and `〇`),
//! * a **word run**: letters, digits, combining marks and the romanisation modifier letters
//!   `ʹ ʺ ʻ ʼ ʽ ʾ ʿ` (which are dropped from the token: `Qurʼān` → `quran`); combining marks
//!   are stripped too (`eriḳah` → `erikah`, `lógica` → `logica`),
//! * everything else (spaces, punctuation, the apostrophe in `d'Oujon`) only separates.
//!
//! The three `Mode`s turn runs into tokens:
//!
//! * `Mode::Words` (fields `*_w`): Han runs go to jieba in search mode with HMM off
//!   (`图书馆学导论` → `图书 书馆 图书馆 图书馆学 导论`); a word run is one token,
//!   plural-folded ([`plural_stem`]: `libraries` → `library`), then lowercased and
//!   ASCII-folded; two
//!   words joined by one hyphen or apostrophe also give the compound (`e-commerce` →
//!   `e`, `commerce`, `ecommerce`), so `ecommerce` and `doujon` find them. Only plurals
//!   fold: a full (Porter) stemmer made `informal` find every `information` and
//!   `universities` every `universal` — poorer answers and more scoring work.
//! * `Mode::Seq` (fields `*_s`, with positions): every Han character as a unigram *and*
//!   every adjacent pair as a bigram at the same position (`国际关系` → `国`,`国际` @0,
//!   `际`,`际关` @1, …); word runs as in `Words` but not stemmed. A query word is then a
//!   phrase of bigrams, i.e. a substring match, whatever jieba made of the record's title
//!   or of the query. Unstemmed words also let exact word forms and phrases rank first.
//! * `Mode::Plain`: a Han run is one token, a word run one folded token; used to build
//!   exact-match keys ([`plain_key`]) and to analyse queries.
//! * `Mode::Pinyin` (fields `title_py`, `author_py`, with positions): each Han character
//!   as every toneless reading it has ([`crate::pinyin`]), all at its position (`银行` →
//!   `yin` @0, `xing` `hang` `heng` @1); anything else only leaves a gap. A pinyin query
//!   is then a phrase of syllables.
//!
//! Tokens of 64 bytes or more are dropped (`RemoveLongFilter`).

use std::borrow::Cow;
use std::sync::OnceLock;

use jieba_rs::Jieba;
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use crate::t2s;

/// Tokenizer name of the jieba + plural-folded-words analyzer.
pub(crate) const WORDS: &str = "wx_words";
/// Tokenizer name of the Han unigram/bigram + unstemmed-words analyzer.
pub(crate) const SEQ: &str = "wx_seq";
/// Tokenizer name of the pinyin analyzer.
pub(crate) const PINYIN: &str = "wx_pinyin";
/// Tokens this long (bytes) or longer are dropped.
pub(crate) const MAX_TOKEN_BYTES: usize = 64;

/// The shared jieba instance (default dictionary; loading takes about 0.3 s, once).
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Han ideograph, or the ideographic zero `〇` used in Chinese numerals (`二〇〇一`).
pub fn is_han(c: char) -> bool {
    marc::bib::is_han(c) || c == '\u{3007}'
}

/// Modifier letters used by romanisation schemes as letters (ALA-LC soft sign `ʹ`, ayn
/// `ʻ`/`ʿ`, alif `ʼ`/`ʾ`): part of a word, dropped from its token.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{2B9}'..='\u{2BF}')
}

/// Variation selectors carry no searchable meaning.
fn is_ignorable(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' | '\u{200B}'..='\u{200D}' | '\u{FEFF}')
}

/// NFKC, traditional → simplified, variation selectors and zero-width characters removed.
pub fn normalize(text: &str) -> Cow<'_, str> {
    let nfkc: Cow<'_, str> = if text.is_ascii() || is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfkc().collect())
    };
    if nfkc.chars().any(|c| t2s::folds(c) || is_ignorable(c)) {
        Cow::Owned(nfkc.chars().filter(|&c| !is_ignorable(c)).map(t2s::fold_char).collect())
    } else {
        nfkc
    }
}

/// What kind of run a character belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunKind {
    Han,
    Word,
}

fn run_kind(c: char) -> Option<RunKind> {
    if is_han(c) {
        Some(RunKind::Han)
    } else if c.is_alphanumeric() || is_combining_mark(c) || is_joiner(c) {
        Some(RunKind::Word)
    } else {
        None
    }
}

/// A maximal run of one kind in a normalised text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run<'a> {
    pub kind: RunKind,
    pub text: &'a str,
    /// Byte offset in the normalised text.
    pub start: usize,
}

/// Split a normalised text into runs.
pub(crate) fn runs(s: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let mut cur: Option<(RunKind, usize)> = None;
    for (i, c) in s.char_indices() {
        let k = run_kind(c);
        match (cur, k) {
            (Some((ck, _)), Some(k)) if ck == k => {}
            (Some((ck, st)), _) => {
                if let Some(text) = s.get(st..i) {
                    out.push(Run { kind: ck, text, start: st });
                }
                cur = k.map(|k| (k, i));
            }
            (None, _) => cur = k.map(|k| (k, i)),
        }
    }
    if let Some((ck, st)) = cur
        && let Some(text) = s.get(st..)
    {
        out.push(Run { kind: ck, text, start: st });
    }
    out
}

/// A word run without combining marks and romanisation modifier letters (not yet
/// lowercased or ASCII-folded: the token filters do that).
pub(crate) fn clean_word(run: &str) -> Cow<'_, str> {
    if run.is_ascii() {
        return Cow::Borrowed(run);
    }
    Cow::Owned(run.nfd().filter(|&c| !is_combining_mark(c) && !is_joiner(c)).nfc().collect())
}

/// A single hyphen or apostrophe between two word runs.
fn is_word_joiner(sep: &str) -> bool {
    matches!(sep, "-" | "'" | "\u{2019}" | "\u{2010}" | "\u{2011}")
}

/// How runs become tokens (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Words,
    Seq,
    Plain,
    /// Han characters as their pinyin syllables ([`crate::pinyin`]), every reading at the
    /// character's position; other runs only break adjacency.
    Pinyin,
}

fn push(out: &mut Vec<Token>, text: &str, from: usize, to: usize, position: usize) {
    out.push(Token { offset_from: from, offset_to: to, position, text: text.to_string(), position_length: 1 });
}

/// Tokenize `text` (normalising it first) in the given mode. Offsets refer to the
/// normalised text.
pub(crate) fn tokenize_into(mode: Mode, text: &str, out: &mut Vec<Token>) {
    let norm = normalize(text);
    if mode == Mode::Pinyin {
        return pinyin_tokens(&norm, out);
    }
    let mut pos = 0usize;
    // Previous word run (cleaned), its start and end, for compounds in `Words` mode.
    let mut prev_word: Option<(String, usize, usize)> = None;
    for run in runs(&norm) {
        let base = run.start;
        let end = base + run.text.len();
        if mode == Mode::Words && run.kind == RunKind::Word {
            // "e-commerce" and "d'Oujon" are also indexed joined ("ecommerce", "doujon"),
            // so a query that writes them as one word finds them.
            let word = clean_word(run.text);
            if let Some((prev, prev_start, prev_end)) = prev_word.take()
                && norm.get(prev_end..base).is_some_and(is_word_joiner)
            {
                push(out, &plural_stem(&format!("{prev}{word}")), prev_start, end, pos);
                pos += 1;
            }
            prev_word = Some((word.into_owned(), base, end));
        } else {
            prev_word = None;
        }
        match (run.kind, mode) {
            (RunKind::Han, Mode::Words) => {
                for t in jieba().cut_for_search(run.text, false) {
                    push(out, t.word, base + t.byte_start, base + t.byte_end, pos);
                    pos += 1;
                }
            }
            (RunKind::Han, Mode::Seq) => {
                let chars: Vec<(usize, char)> = run.text.char_indices().collect();
                for (i, &(b, c)) in chars.iter().enumerate() {
                    let e = b + c.len_utf8();
                    if let Some(u) = run.text.get(b..e) {
                        push(out, u, base + b, base + e, pos + i);
                    }
                    if let Some(&(b2, c2)) = chars.get(i + 1) {
                        let e2 = b2 + c2.len_utf8();
                        if let Some(bi) = run.text.get(b..e2) {
                            push(out, bi, base + b, base + e2, pos + i);
                        }
                    }
                }
                pos += chars.len();
            }
            (RunKind::Han, Mode::Plain) => {
                push(out, run.text, base, base + run.text.len(), pos);
                pos += 1;
            }
            (RunKind::Han, Mode::Pinyin) => {}
            (RunKind::Word, _) => {
                let w = clean_word(run.text);
                let w = if mode == Mode::Words { Cow::Owned(plural_stem(&w).into_owned()) } else { w };
                if !w.is_empty() {
                    push(out, &w, base, base + run.text.len(), pos);
                    pos += 1;
                }
            }
        }
    }
}

/// `Mode::Pinyin`: each Han character's readings at its position; a run of anything
/// else between two Han runs leaves a gap, so a phrase does not run across it.
fn pinyin_tokens(norm: &str, out: &mut Vec<Token>) {
    let mut pos = 0usize;
    for run in runs(norm) {
        if run.kind != RunKind::Han {
            pos += 1;
            continue;
        }
        for (i, c) in run.text.char_indices() {
            let from = run.start + i;
            let to = from + c.len_utf8();
            for r in crate::pinyin::readings(c) {
                for s in crate::pinyin::spellings(r).into_iter().flatten() {
                    push(out, s, from, to, pos);
                }
            }
            pos += 1;
        }
        pos += 1;
    }
}

/// The tantivy tokenizer wrapping [`tokenize_into`].
#[derive(Clone)]
pub(crate) struct CatalogTokenizer {
    mode: Mode,
    tokens: Vec<Token>,
}

impl CatalogTokenizer {
    pub(crate) fn new(mode: Mode) -> CatalogTokenizer {
        CatalogTokenizer { mode, tokens: Vec::new() }
    }
}

/// Token stream over a pre-computed token vector.
pub(crate) struct CatalogTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    /// Index of the current token plus one (0 before the first `advance`).
    next: usize,
}

impl Tokenizer for CatalogTokenizer {
    type TokenStream<'a> = CatalogTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CatalogTokenStream<'a> {
        self.tokens.clear();
        tokenize_into(self.mode, text, &mut self.tokens);
        CatalogTokenStream { tokens: &mut self.tokens, next: 0 }
    }
}

impl TokenStream for CatalogTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        // tantivy only asks for the token after `advance` returned true.
        &self.tokens[self.next.saturating_sub(1)]
    }

    fn token_mut(&mut self) -> &mut Token {
        let i = self.next.saturating_sub(1);
        &mut self.tokens[i]
    }
}

/// Analyzer of the `*_w` fields.
pub(crate) fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(CatalogTokenizer::new(Mode::Words))
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Analyzer of the `*_s` fields.
pub(crate) fn seq_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(CatalogTokenizer::new(Mode::Seq))
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Analyzer of the `*_py` fields.
pub(crate) fn pinyin_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(CatalogTokenizer::new(Mode::Pinyin)).build()
}

/// The tokens the index stores for `text` in a `*_py` field (for tests and debugging).
pub fn pinyin_tokens_of(text: &str) -> Vec<String> {
    token_texts(&mut pinyin_analyzer(), text)
}

/// Han runs whole, word runs folded (lowercase, ASCII), not stemmed.
fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(CatalogTokenizer::new(Mode::Plain)).filter(LowerCaser).filter(AsciiFoldingFilter).build()
}

thread_local! {
    static PLAIN: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(plain_analyzer());
}

/// Run an analyzer and collect the token texts.
pub fn token_texts(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// Tokens of the plain analysis: Han runs whole, word runs folded.
pub(crate) fn plain_tokens(text: &str) -> Vec<String> {
    PLAIN.with(|a| token_texts(&mut a.borrow_mut(), text))
}

/// The `Words` form of an already folded query word.
pub(crate) fn stem(word: &str) -> String {
    plural_stem(word).into_owned()
}

/// English plurals folded to the singular (Harman's "S" stemmer), for words of four or
/// more characters: `-ies` → `-y` (not `-eies`, `-aies`), `-es` → `-e` (not `-aes`,
/// `-ees`, `-oes`), `-s` → `` (not `-us`, `-ss`). The suffix is matched ignoring ASCII
/// case (the analyzer lowercases after this step).
pub fn plural_stem(word: &str) -> Cow<'_, str> {
    let ends =
        |suffix: &str| word.len() >= suffix.len() && word.get(word.len() - suffix.len()..).is_some_and(|t| t.eq_ignore_ascii_case(suffix));
    let head = |n: usize| word.get(..word.len() - n).unwrap_or(word);
    if word.chars().nth(3).is_none() {
        Cow::Borrowed(word)
    } else if ends("ies") && !ends("eies") && !ends("aies") {
        Cow::Owned(format!("{}y", head(3)))
    } else if ends("s") && !ends("us") && !ends("ss") {
        // `-es` → `-e` and `-s` → `` both drop the final `s` (and `-aes`, `-ees`, `-oes`
        // fall through to the `-s` rule in Harman's list, which does the same).
        Cow::Borrowed(head(1))
    } else {
        Cow::Borrowed(word)
    }
}

/// Exact-match key of a text: its plain tokens joined by single spaces
/// (`"Gone with the Wind."` → `gone with the wind`, `"臺灣 經濟"` → `台湾 经济`).
pub fn plain_key(text: &str) -> String {
    plain_tokens(text).join(" ")
}

/// Does this (plain) token start with a Han character?
pub(crate) fn is_han_token(t: &str) -> bool {
    t.chars().next().is_some_and(is_han)
}

/// The tokens the index stores for `text` in a `*_w` field (for tests and debugging).
pub fn words_tokens(text: &str) -> Vec<String> {
    token_texts(&mut words_analyzer(), text)
}

/// The tokens the index stores for `text` in a `*_s` field (for tests and debugging).
pub fn seq_tokens(text: &str) -> Vec<String> {
    token_texts(&mut seq_analyzer(), text)
}

/// Normalised call number for the prefix-matching call-number field: uppercase
/// letters and digits only, and a `.` kept only between two digits (a decimal point);
/// spaces and the cutter's `.` go, so `PL2303 .L8 2001`, `pl2303.l8` and `PL 2303 L8`
/// all become prefixes of `PL2303L82001`, and `495.1` a prefix of `495.13`. A letter whose
/// uppercase is longer and brings a combining mark (`ǰ` → `J̌`, `ΐ` → `Ϊ́`) keeps only its
/// letters: the key never holds anything but letters, digits and the decimal point.
pub fn callno_key(s: &str) -> String {
    let norm = normalize(s);
    let chars: Vec<char> = norm.chars().collect();
    let mut out = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        if c.is_alphanumeric() {
            out.extend(c.to_uppercase().filter(|u| u.is_alphanumeric()));
        } else if c == '.' {
            let before = out.chars().last().is_some_and(|p| p.is_ascii_digit());
            let after = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
            if before && after {
                out.push('.');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_scripts() {
        let r: Vec<(RunKind, &str)> = runs("C语言程序设计 2版").iter().map(|r| (r.kind, r.text)).collect();
        assert_eq!(r, vec![(RunKind::Word, "C"), (RunKind::Han, "语言程序设计"), (RunKind::Word, "2"), (RunKind::Han, "版")]);
    }

    #[test]
    fn clean_word_strips_marks_and_modifiers() {
        assert_eq!(clean_word("lo\u{301}gica"), "logica");
        assert_eq!(clean_word("Qurʼān"), "Quran");
        assert_eq!(clean_word("ABC"), "ABC");
    }

    #[test]
    fn plurals_fold_and_nothing_else() {
        assert_eq!(plural_stem("libraries"), "library");
        assert_eq!(plural_stem("LIBRARIES"), "LIBRARy");
        assert_eq!(plural_stem("markets"), "market");
        assert_eq!(plural_stem("churches"), "churche");
        assert_eq!(plural_stem("church"), "church");
        assert_eq!(plural_stem("informal"), "informal");
        assert_eq!(plural_stem("computing"), "computing");
        assert_eq!(plural_stem("class"), "class");
        assert_eq!(plural_stem("corpus"), "corpus");
        assert_eq!(plural_stem("heroes"), "heroe");
        assert_eq!(plural_stem("gas"), "gas");
        assert_eq!(plural_stem("cafés"), "café");
    }

    #[test]
    fn callno_keys() {
        assert_eq!(callno_key("PL2303 .L8 2001"), "PL2303L82001");
        assert_eq!(callno_key("pl2303.l8"), "PL2303L8");
        assert_eq!(callno_key("PL 2303"), "PL2303");
        assert_eq!(callno_key("495.1"), "495.1");
        assert_eq!(callno_key("QA76.73.P98 W35 2000"), "QA76.73P98W352000");
        assert_eq!(callno_key("I247.5"), "I247.5");
        assert_eq!(callno_key("ǰ"), "J");
        assert_eq!(callno_key("ΐ1"), "Ι1");
        assert_eq!(callno_key("straße"), "STRASSE");
    }
}
