//! Bibliographic mapping: a [`Record`] in MARC 21 or UNIMARC/CNMARC becomes a flat
//! [`Bib`] that search, display and the WeChat replies can use without knowing MARC.
//!
//! Choices worth knowing:
//!
//! * Text is cleaned of trailing ISBD punctuation (" /", " :", " ;", " =", ",", ".",
//!   and the full-width forms) and of non-sorting markers by [`clean_isbd`]; a final
//!   "." after a single capital (an initial, "Smith, J.") or in "..." is kept.
//! * `title` is the 245 (romanised for CJK records); `title_vernacular` is the 880
//!   paired with it (Han script). Old RLIN-style spaces between Han/kana characters
//!   ("鲁  迅", or U+3000) are removed in vernacular values ([`collapse_han_spaces`]),
//!   because Chinese and Japanese have no word spaces and they break search and
//!   display (Korean Hangul keeps its spaces).
//! * `year`: MARC 21 008/07-10 if four digits, else the first four-digit run in
//!   260/264 $c; UNIMARC 100$a/09-12, else 210/214 $d.
//! * Holdings (`items`) come from the local fields different systems use:
//!   852 (MARC 21 standard: $a institution, $b/$c location, $h+$i call number,
//!   $p barcode); 952 (Koha MARC 21: $a home branch, $b holding branch, $c location,
//!   $o call number, $p barcode, $y item type); 905 and 906 (Chinese CNMARC systems:
//!   $a institution, $b barcode/accession no., $c location, $d class number + $e book
//!   number → call number "d/e", $f volume; vendors vary, this is the common layout);
//!   995 (Koha UNIMARC: $b home branch, $c holding branch, $e location, $f barcode,
//!   $k call number, $r item type); 899 (Italian SBN: $1 library code → institution,
//!   $2 SBN library code → location).
//! * Call numbers: LC 050 $a $b (UNIMARC 680); Dewey 082 $a without "/" and "'"
//!   segmentation marks (UNIMARC 676); CLC 中图法 from 093 $a, 084 $a with $2 "clc"
//!   (MARC 21 as used in China) and UNIMARC 690 $a; `local` = 090 $a $b and 099.

use serde::{Deserialize, Serialize};

use crate::isbn;
use crate::record::{DataField, Flavour, Record};

/// Classification / call numbers by scheme.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallNumbers {
    pub lc: Vec<String>,
    pub dewey: Vec<String>,
    /// 中国图书馆分类法 (Chinese Library Classification).
    pub clc: Vec<String>,
    /// Local call numbers (090, 099).
    pub local: Vec<String>,
}

/// One holding / item from a local holdings field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The field it came from (852, 952, 905, 906, 995, 899).
    pub source: String,
    pub institution: Option<String>,
    pub home_branch: Option<String>,
    pub holding_branch: Option<String>,
    pub location: Option<String>,
    pub call_number: Option<String>,
    pub barcode: Option<String>,
    pub item_type: Option<String>,
    pub volume: Option<String>,
}

/// Flat bibliographic description for search and display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bib {
    pub flavour: Flavour,
    /// Control number (001).
    pub id: Option<String>,
    /// Title proper + remainder (MARC 21 245 $a $b $n $p; UNIMARC 200 $a $e).
    pub title: Option<String>,
    /// Vernacular (e.g. Han script) title from the 880 linked to 245.
    pub title_vernacular: Option<String>,
    /// Every title form for search: title, vernacular, 246, 240, 130, 730, 740 and
    /// their 880s; UNIMARC 200 (incl. $d parallel, CNMARC $9 pinyin), 500, 510, 517,
    /// 540, 541.
    pub titles_all: Vec<String>,
    /// Statement of responsibility (245 $c / 200 $f $g).
    pub responsibility: Option<String>,
    pub responsibility_vernacular: Option<String>,
    /// Main entry (100 $a, else 110/111 $a; UNIMARC 700 $a+$b, else 701, 710, 711).
    pub main_author: Option<String>,
    pub main_author_vernacular: Option<String>,
    /// All name access points incl. vernacular forms, de-duplicated.
    pub authors: Vec<String>,
    /// Subject headings, subdivisions joined with " -- ".
    pub subjects: Vec<String>,
    /// Valid ISBNs as 13 digits (020 $a / 010 $a).
    pub isbn13: Vec<String>,
    /// ISBN subfields that are not valid ISBNs, raw.
    pub isbn_invalid: Vec<String>,
    pub edition: Option<String>,
    pub place: Option<String>,
    pub publisher: Option<String>,
    pub publisher_vernacular: Option<String>,
    pub year: Option<u16>,
    /// Language code (008/35-37, else 041 $a; UNIMARC 101 $a).
    pub language: Option<String>,
    pub call_numbers: CallNumbers,
    pub items: Vec<Item>,
}

impl Bib {
    /// Map a record, detecting the flavour ([`Record::flavour`]).
    pub fn from_record(rec: &Record) -> Bib {
        Bib::from_record_as(rec, rec.flavour())
    }

    /// Map a record whose flavour the caller knows.
    pub fn from_record_as(rec: &Record, flavour: Flavour) -> Bib {
        let mut bib = Bib {
            flavour,
            id: rec.control_number().map(str::to_string),
            title: None,
            title_vernacular: None,
            titles_all: Vec::new(),
            responsibility: None,
            responsibility_vernacular: None,
            main_author: None,
            main_author_vernacular: None,
            authors: Vec::new(),
            subjects: Vec::new(),
            isbn13: Vec::new(),
            isbn_invalid: Vec::new(),
            edition: None,
            place: None,
            publisher: None,
            publisher_vernacular: None,
            year: None,
            language: None,
            call_numbers: CallNumbers::default(),
            items: Vec::new(),
        };
        match flavour {
            Flavour::Marc21 => map_marc21(rec, &mut bib),
            Flavour::Unimarc => map_unimarc(rec, &mut bib),
        }
        bib.items = items(rec);
        bib
    }
}

// ---------------------------------------------------------------------------
// Text helpers (public so indexers and the cross-check tests share one definition)

/// Non-sorting markers: MARC 21 NSB/NSE (U+0098/U+009C) and UNIMARC (U+0088/U+0089)
/// bracket leading articles ("\u{88}L'\u{89}altra…"); they are not text.
const NON_SORT: [char; 4] = ['\u{88}', '\u{89}', '\u{98}', '\u{9C}'];

/// Strip non-sorting markers, trailing ISBD punctuation and surrounding whitespace.
pub fn clean_isbd(s: &str) -> String {
    let owned;
    let mut t = if s.contains(NON_SORT) {
        owned = s.replace(NON_SORT, "");
        owned.trim()
    } else {
        s.trim()
    };
    loop {
        t = t.trim_end();
        if let Some(x) = t.strip_suffix(['/', ':', ';', '=', ',', '／', '：', '；', '＝', '，']) {
            t = x;
            continue;
        }
        if let Some(x) = t.strip_suffix('.')
            && !t.ends_with("...")
            && !ends_with_initial(x)
        {
            t = x;
            continue;
        }
        break;
    }
    t.trim().to_string()
}

/// Does `s` end with a single capital letter standing alone ("Smith, J", "U.S")?
fn ends_with_initial(s: &str) -> bool {
    let mut it = s.chars().rev();
    match it.next() {
        Some(c) if c.is_uppercase() => match it.next() {
            None => true,
            Some(p) => !p.is_alphanumeric(),
        },
        _ => false,
    }
}

/// Han ideograph (CJK unified, extensions, compatibility)?
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// Characters of scripts written without word spaces: Han, kana, CJK punctuation
/// and full-width forms. Hangul is deliberately excluded (Korean uses spaces).
pub fn is_spaceless_cjk(c: char) -> bool {
    is_han(c) || matches!(c as u32, 0x3001..=0x303F | 0x3040..=0x30FF | 0xFF01..=0xFF60)
}

/// Remove whitespace (incl. U+3000) between two characters of spaceless CJK
/// scripts ([`is_spaceless_cjk`]): "鲁  迅" → "鲁迅", "京助 と アイヌ語" → "京助とアイヌ語".
pub fn collapse_han_spaces(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            let mut j = i;
            while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                j += 1;
            }
            let before = out.chars().last().is_some_and(is_spaceless_cjk);
            let after = chars.get(j).copied().is_some_and(is_spaceless_cjk);
            if !(before && after) {
                out.extend(chars.get(i..j).unwrap_or(&[]).iter());
            }
            i = j;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

/// Join the given subfields (field order), trimmed, with single spaces; then clean.
fn join_clean(f: &DataField, codes: &str) -> Option<String> {
    let parts: Vec<&str> = f.subfields_in(codes).map(str::trim).filter(|s| !s.is_empty()).collect();
    non_empty(clean_isbd(&parts.join(" ")))
}

fn vernacular(s: Option<String>) -> Option<String> {
    s.map(|v| collapse_han_spaces(&v)).and_then(non_empty)
}

fn push_unique(list: &mut Vec<String>, v: Option<String>) {
    if let Some(v) = v
        && !v.is_empty()
        && !list.contains(&v)
    {
        list.push(v);
    }
}

/// The 880 paired with `field`, or failing a usable `$6` occurrence, the first 880
/// whose `$6` names the field's tag.
fn find_880<'a>(rec: &'a Record, field: &DataField) -> Option<&'a DataField> {
    rec.linked_880(field).or_else(|| {
        field.subfield('6')?;
        rec.data_fields("880").find(|f| f.linkage().is_some_and(|l| l.tag == field.tag))
    })
}

/// First four consecutive ASCII digits in `s`.
pub fn first_year(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    b.windows(4).find(|w| w.iter().all(u8::is_ascii_digit)).and_then(|w| std::str::from_utf8(w).ok()?.parse().ok())
}

fn year_at(s: &str, start: usize) -> Option<u16> {
    let w = s.get(start..start + 4)?;
    if w.bytes().all(|b| b.is_ascii_digit()) { w.parse().ok() } else { None }
}

/// Subject heading: main part (non-subdivision subfields) + " -- " subdivisions.
fn subject(f: &DataField, subdivisions: &str) -> Option<String> {
    let mut main: Vec<String> = Vec::new();
    let mut subs: Vec<String> = Vec::new();
    for s in &f.subfields {
        if s.code.is_ascii_digit() || s.code == 'e' {
            continue; // control subfields ($2 source, $6 linkage, $0 authority…) and relators
        }
        let v = clean_isbd(&s.value);
        if v.is_empty() {
            continue;
        }
        if subdivisions.contains(s.code) { subs.push(v) } else { main.push(v) }
    }
    let mut out = main.join(" ");
    for s in subs {
        if !out.is_empty() {
            out.push_str(" -- ");
        }
        out.push_str(&s);
    }
    non_empty(out)
}

// ---------------------------------------------------------------------------
// MARC 21

fn marc21_name(f: &DataField) -> Option<String> {
    let codes = match f.tag.get(1..) {
        Some("00") => "abcqd",
        Some("10") => "abcdn",
        Some("11") => "andce",
        _ => "a",
    };
    join_clean(f, codes)
}

fn map_marc21(rec: &Record, bib: &mut Bib) {
    // Title and responsibility.
    if let Some(f) = rec.data_field("245") {
        bib.title = join_clean(f, "abnp");
        bib.responsibility = join_clean(f, "c");
        if let Some(v) = find_880(rec, f) {
            bib.title_vernacular = vernacular(join_clean(v, "abnp"));
            bib.responsibility_vernacular = vernacular(join_clean(v, "c"));
        }
    }
    push_unique(&mut bib.titles_all, bib.title.clone());
    push_unique(&mut bib.titles_all, bib.title_vernacular.clone());
    for f in rec.all_data_fields() {
        let (tag, is880) = match f.tag.as_str() {
            "880" => match f.linkage() {
                Some(l) => (l.tag, true),
                None => continue,
            },
            t => (t.to_string(), false),
        };
        let value = match tag.as_str() {
            "246" => join_clean(f, "abnp"),
            "240" | "130" | "730" | "740" => join_clean(f, "anp"),
            _ => continue,
        };
        push_unique(&mut bib.titles_all, if is880 { vernacular(value) } else { value });
    }

    // Names.
    let main = ["100", "110", "111"].iter().find_map(|t| rec.data_field(t));
    if let Some(f) = main {
        bib.main_author = join_clean(f, "a");
        bib.main_author_vernacular = find_880(rec, f).and_then(|v| vernacular(join_clean(v, "a")));
    }
    const NAME_TAGS: [&str; 6] = ["100", "110", "111", "700", "710", "711"];
    for f in rec.all_data_fields() {
        if NAME_TAGS.contains(&f.tag.as_str()) {
            push_unique(&mut bib.authors, marc21_name(f));
        } else if f.tag == "880"
            && let Some(l) = f.linkage().filter(|l| NAME_TAGS.contains(&l.tag.as_str()))
        {
            let mut g = f.clone();
            g.tag = l.tag;
            push_unique(&mut bib.authors, vernacular(marc21_name(&g)));
        }
    }

    // Subjects (6xx and their 880s).
    for f in rec.all_data_fields() {
        let tag = if f.tag == "880" { f.linkage().map(|l| l.tag) } else { Some(f.tag.clone()) };
        if tag.is_some_and(|t| t.starts_with('6')) {
            let s = subject(f, "vxyz");
            push_unique(&mut bib.subjects, if f.tag == "880" { vernacular(s) } else { s });
        }
    }

    isbns(rec.subfields("020", 'a'), bib);

    bib.edition = rec.data_field("250").and_then(|f| join_clean(f, "ab"));

    // Publication: 260, else 264 with ind2 = 1 (publication), else any 264.
    let pubf = rec.data_field("260").or_else(|| rec.data_fields("264").find(|f| f.ind2 == '1')).or_else(|| rec.data_field("264"));
    if let Some(f) = pubf {
        bib.place = f.subfield('a').map(clean_isbd).and_then(non_empty);
        bib.publisher = f.subfield('b').map(clean_isbd).and_then(non_empty);
        bib.publisher_vernacular = find_880(rec, f).and_then(|v| vernacular(v.subfield('b').map(clean_isbd)));
    }
    let f008 = rec.control("008").unwrap_or("");
    bib.year = year_at(f008, 7).or_else(|| pubf.and_then(|f| f.subfield('c')).and_then(first_year));

    bib.language = f008
        .get(35..38)
        .filter(|l| l.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_string)
        .or_else(|| rec.subfield("041", 'a').and_then(|a| a.get(..3)).map(str::to_string));

    // Classification.
    let cn = &mut bib.call_numbers;
    for f in rec.data_fields("050") {
        let v = [f.subfield('a'), f.subfield('b')].into_iter().flatten().map(str::trim).collect::<Vec<_>>().join(" ");
        push_unique(&mut cn.lc, non_empty(v));
    }
    for a in rec.subfields("082", 'a') {
        push_unique(&mut cn.dewey, non_empty(a.replace(['/', '\''], "").trim().to_string()));
    }
    for a in rec.subfields("093", 'a') {
        push_unique(&mut cn.clc, non_empty(a.trim().to_string()));
    }
    for f in rec.data_fields("084") {
        if f.subfield('2').is_some_and(|s| s.to_ascii_lowercase().contains("clc")) {
            for a in f.subfields_of('a') {
                push_unique(&mut cn.clc, non_empty(a.trim().to_string()));
            }
        }
    }
    for f in rec.data_fields("090").chain(rec.data_fields("099")) {
        let v = f.subfields_in("ab").map(str::trim).collect::<Vec<_>>().join(" ");
        push_unique(&mut cn.local, non_empty(v));
    }
}

// ---------------------------------------------------------------------------
// UNIMARC / CNMARC

/// "$a Asimov $b , Isaac" (SBN) and "$a Asimov $b Isaac" both → "Asimov, Isaac".
fn unimarc_name(f: &DataField) -> Option<String> {
    let a = f.subfield('a').map(str::trim).unwrap_or("");
    let b = f.subfield('b').map(str::trim).unwrap_or("");
    let s = match (a.is_empty(), b.is_empty()) {
        (_, true) => a.to_string(),
        (true, false) => b.trim_start_matches([',', ' ']).to_string(),
        (false, false) if b.starts_with(',') => format!("{a}{b}"),
        (false, false) => format!("{a}, {b}"),
    };
    non_empty(clean_isbd(&s))
}

fn map_unimarc(rec: &Record, bib: &mut Bib) {
    if let Some(f) = rec.data_field("200") {
        let a: Vec<String> = f.subfields_of('a').map(clean_isbd).filter(|s| !s.is_empty()).collect();
        let mut t = a.join(" ; ");
        for e in f.subfields_of('e').map(clean_isbd).filter(|s| !s.is_empty()) {
            t.push_str(" : ");
            t.push_str(&e);
        }
        bib.title = non_empty(t);
        let resp: Vec<String> = f.subfields_in("fg").map(clean_isbd).filter(|s| !s.is_empty()).collect();
        bib.responsibility = non_empty(resp.join(" ; "));
        push_unique(&mut bib.titles_all, bib.title.clone());
        for v in f.subfields_in("d9") {
            push_unique(&mut bib.titles_all, non_empty(clean_isbd(v.trim_start_matches('='))));
        }
    }
    for tag in ["500", "510", "517", "540", "541"] {
        for f in rec.data_fields(tag) {
            push_unique(&mut bib.titles_all, join_clean(f, "aehi"));
        }
    }

    let main = ["700", "701", "710", "711"].iter().find_map(|t| rec.data_field(t));
    bib.main_author = main.and_then(unimarc_name);
    const NAME_TAGS: [&str; 9] = ["700", "701", "702", "710", "711", "712", "720", "721", "722"];
    for f in rec.all_data_fields().filter(|f| NAME_TAGS.contains(&f.tag.as_str())) {
        push_unique(&mut bib.authors, unimarc_name(f));
    }

    for f in rec.all_data_fields() {
        let is_subject = f.tag.starts_with("60") || f.tag.starts_with("61");
        if is_subject {
            push_unique(&mut bib.subjects, subject(f, "xyzj"));
        }
    }

    isbns(rec.subfields("010", 'a'), bib);
    bib.edition = rec.data_field("205").and_then(|f| join_clean(f, "a"));

    let pubf = rec.data_field("210").or_else(|| rec.data_field("214"));
    if let Some(f) = pubf {
        bib.place = f.subfield('a').map(clean_isbd).and_then(non_empty);
        bib.publisher = f.subfield('c').map(clean_isbd).and_then(non_empty);
    }
    bib.year = rec.subfield("100", 'a').and_then(|a| year_at(a, 9)).or_else(|| pubf.and_then(|f| f.subfield('d')).and_then(first_year));
    bib.language = rec.subfield("101", 'a').map(|s| s.trim().to_string()).and_then(non_empty);

    let cn = &mut bib.call_numbers;
    for a in rec.subfields("690", 'a') {
        push_unique(&mut cn.clc, non_empty(a.trim().to_string()));
    }
    for a in rec.subfields("676", 'a') {
        push_unique(&mut cn.dewey, non_empty(a.replace(['/', '\''], "").trim().to_string()));
    }
    for f in rec.data_fields("680") {
        push_unique(&mut cn.lc, non_empty(f.subfields_in("ab").map(str::trim).collect::<Vec<_>>().join(" ")));
    }
}

// ---------------------------------------------------------------------------
// Shared

fn isbns<'a>(values: impl Iterator<Item = &'a str>, bib: &mut Bib) {
    for raw in values {
        match isbn::normalize(raw) {
            Some(n) => push_unique(&mut bib.isbn13, Some(n)),
            None => push_unique(&mut bib.isbn_invalid, non_empty(raw.trim().to_string())),
        }
    }
}

fn items(rec: &Record) -> Vec<Item> {
    let sub = |f: &DataField, c: char| f.subfield(c).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let joined = |f: &DataField, codes: &str, sep: &str| {
        non_empty(f.subfields_in(codes).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(sep))
    };
    let mut out = Vec::new();
    for f in rec.all_data_fields() {
        let mut it = Item { source: f.tag.clone(), ..Item::default() };
        match f.tag.as_str() {
            "852" => {
                it.institution = sub(f, 'a');
                it.location = joined(f, "bc", " ");
                it.call_number = joined(f, "hi", " ");
                it.barcode = sub(f, 'p');
            }
            "952" => {
                it.home_branch = sub(f, 'a');
                it.holding_branch = sub(f, 'b');
                it.location = sub(f, 'c');
                it.call_number = sub(f, 'o');
                it.barcode = sub(f, 'p');
                it.item_type = sub(f, 'y');
            }
            "905" | "906" => {
                it.institution = sub(f, 'a');
                it.barcode = sub(f, 'b');
                it.location = sub(f, 'c');
                it.call_number = joined(f, "de", "/");
                it.volume = sub(f, 'f');
            }
            "995" => {
                it.home_branch = sub(f, 'b');
                it.holding_branch = sub(f, 'c');
                it.location = sub(f, 'e');
                it.barcode = sub(f, 'f');
                it.call_number = sub(f, 'k');
                it.item_type = sub(f, 'r');
            }
            "899" => {
                it.institution = sub(f, '1');
                it.location = sub(f, '2');
            }
            _ => continue,
        }
        out.push(it);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Leader, Record};

    #[test]
    fn isbd_cleaning() {
        assert_eq!(clean_isbd("Programming Perl /"), "Programming Perl");
        assert_eq!(clean_isbd("History : the story."), "History : the story");
        assert_eq!(clean_isbd("Smith, J."), "Smith, J.");
        assert_eq!(clean_isbd("Chen, Fangjing."), "Chen, Fangjing");
        assert_eq!(clean_isbd("Wait..."), "Wait...");
        assert_eq!(clean_isbd("\u{88}L'\u{89}altra faccia."), "L'altra faccia");
        assert_eq!(clean_isbd(" Title ; "), "Title");
        assert_eq!(clean_isbd("陈  方竞  著."), "陈  方竞  著");
    }

    #[test]
    fn han_spaces() {
        assert_eq!(collapse_han_spaces("鲁  迅  与  浙东  文化"), "鲁迅与浙东文化");
        assert_eq!(collapse_han_spaces("敎育部\u{3000}人文 (China) x"), "敎育部人文 (China) x");
        assert_eq!(collapse_han_spaces("Lu Xun"), "Lu Xun");
        assert_eq!(collapse_han_spaces("金田一京助 と アイヌ語"), "金田一京助とアイヌ語");
        assert_eq!(collapse_han_spaces("한글\u{3000}대장경"), "한글\u{3000}대장경");
        assert_eq!(clean_isbd("四分律／"), "四分律");
    }

    #[test]
    fn marc21_mapping() {
        let mut r = Record::new(Leader::new_marc21());
        r.push_control("001", "DCLP02-B5315");
        r.push_control("008", "020503s1999    cc       b   f000 0 chi d");
        r.push_data(DataField::new("020", ' ', ' ').with('a', "7560123139"));
        r.push_data(DataField::new("020", ' ', ' ').with('a', "123 (bad)"));
        r.push_data(DataField::new("050", '0', '0').with('a', "PL2754.S5").with('b', "Z58627 1999"));
        r.push_data(DataField::new("100", '1', ' ').with('6', "880-01").with('a', "Chen, Fangjing."));
        r.push_data(
            DataField::new("245", '1', '0').with('6', "880-02").with('a', "Lu Xun yu Zhe dong wen hua /").with('c', "Chen Fangjing zhu."),
        );
        r.push_data(
            DataField::new("260", ' ', ' ')
                .with('6', "880-04")
                .with('a', "Changchun Shi :")
                .with('b', "Jilin da xue chu ban she,")
                .with('c', "1999."),
        );
        r.push_data(DataField::new("651", ' ', '0').with('a', "Zhejiang Sheng (China)").with('x', "Civilization."));
        r.push_data(DataField::new("880", '1', ' ').with('6', "100-01/$1").with('a', "陈  方竞."));
        r.push_data(
            DataField::new("880", '1', '0').with('6', "245-02/$1").with('a', "鲁  迅  与  浙东  文化 /").with('c', "陈  方竞  著."),
        );
        r.push_data(
            DataField::new("880", ' ', ' ')
                .with('6', "260-04/$1")
                .with('a', "长春市 :")
                .with('b', "吉林  大学  出版社,")
                .with('c', "1999."),
        );
        r.push_data(DataField::new("952", ' ', ' ').with('a', "MAIN").with('o', "I210.96/C5").with('p', "0001234").with('y', "BK"));
        let b = Bib::from_record(&r);
        assert_eq!(b.flavour, Flavour::Marc21);
        assert_eq!(b.id.as_deref(), Some("DCLP02-B5315"));
        assert_eq!(b.title.as_deref(), Some("Lu Xun yu Zhe dong wen hua"));
        assert_eq!(b.title_vernacular.as_deref(), Some("鲁迅与浙东文化"));
        assert_eq!(b.responsibility_vernacular.as_deref(), Some("陈方竞著"));
        assert_eq!(b.main_author.as_deref(), Some("Chen, Fangjing"));
        assert_eq!(b.main_author_vernacular.as_deref(), Some("陈方竞"));
        assert!(b.authors.contains(&"陈方竞".to_string()));
        assert_eq!(b.isbn13, vec!["9787560123134".to_string()]);
        assert_eq!(b.isbn_invalid, vec!["123 (bad)".to_string()]);
        assert_eq!(b.year, Some(1999));
        assert_eq!(b.language.as_deref(), Some("chi"));
        assert_eq!(b.publisher.as_deref(), Some("Jilin da xue chu ban she"));
        assert_eq!(b.publisher_vernacular.as_deref(), Some("吉林大学出版社"));
        assert_eq!(b.subjects, vec!["Zhejiang Sheng (China) -- Civilization".to_string()]);
        assert_eq!(b.call_numbers.lc, vec!["PL2754.S5 Z58627 1999".to_string()]);
        assert_eq!(b.items.len(), 1);
        assert_eq!(b.items[0].call_number.as_deref(), Some("I210.96/C5"));
    }

    #[test]
    fn cnmarc_mapping() {
        let mut r = Record::new(Leader::from_bytes_lossy(b"00000nam0 2200000   450 "));
        r.push_control("001", "012004002367");
        r.push_data(DataField::new("010", ' ', ' ').with('a', "978-7-02-000220-7").with('d', "CNY79.00"));
        r.push_data(DataField::new("100", ' ', ' ').with('a', "20040506d2004    em y0chiy50      ea"));
        r.push_data(DataField::new("101", '0', ' ').with('a', "chi"));
        r.push_data(DataField::new("200", '1', ' ').with('a', "红楼梦").with('9', "hong lou meng").with('f', "曹雪芹著"));
        r.push_data(DataField::new("210", ' ', ' ').with('a', "北京").with('c', "人民文学出版社").with('d', "2004"));
        r.push_data(DataField::new("606", '0', ' ').with('a', "章回小说").with('y', "中国").with('z', "清代"));
        r.push_data(DataField::new("690", ' ', ' ').with('a', "I242.47").with('v', "4"));
        r.push_data(DataField::new("701", ' ', '0').with('a', "曹雪芹").with('4', "著"));
        r.push_data(
            DataField::new("905", ' ', ' ').with('a', "SZU").with('b', "C0012345").with('d', "I242.47").with('e', "123").with('f', "1"),
        );
        let b = Bib::from_record(&r);
        assert_eq!(b.flavour, Flavour::Unimarc);
        assert_eq!(b.title.as_deref(), Some("红楼梦"));
        assert!(b.titles_all.contains(&"hong lou meng".to_string()));
        assert_eq!(b.main_author.as_deref(), Some("曹雪芹"));
        assert_eq!(b.isbn13, vec!["9787020002207".to_string()]);
        assert_eq!(b.year, Some(2004));
        assert_eq!(b.language.as_deref(), Some("chi"));
        assert_eq!(b.publisher.as_deref(), Some("人民文学出版社"));
        assert_eq!(b.call_numbers.clc, vec!["I242.47".to_string()]);
        assert_eq!(b.subjects, vec!["章回小说 -- 中国 -- 清代".to_string()]);
        assert_eq!(b.items[0].call_number.as_deref(), Some("I242.47/123"));
        assert_eq!(b.items[0].barcode.as_deref(), Some("C0012345"));
    }
}
