//! [`SearchDoc`]: what the index needs to know about one catalogue record, and how a
//! [`marc::bib::Bib`] becomes one.
//!
//! The index keeps only ids (and the year, for newest-first sorting); the full record
//! lives in the application's database. Which text lands in which search field:
//!
//! | field   | text |
//! |---------|------|
//! | title   | `title`, `title_vernacular`, `titles_all` (245, 880, 246, 240, 130, 730, 740); their Han text also as pinyin |
//! | author  | `authors` (1xx/7xx and their 880s, responsibility statement 245 $c); their Han text also as pinyin |
//! | subject | `subjects` (6xx and their 880s) |
//! | any     | the three above (searched with boosts) plus `publisher`, `isbns` (as the isbn field has them), `call_numbers`, `any_extra` |
//! | isbn    | `isbns` as ISBN-13; a misprinted one as written and as the ISBN-13 of its body ([`crate::isbn`]) |
//! | call no.| `call_numbers`, prefix-matched |
//! | language, location | `language`, `locations`: facets and filters ([`crate::facets`]) |

use marc::bib::Bib;

/// One record as the index sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchDoc {
    /// Record control number (001); the key for upsert and delete, returned in hits.
    pub id: String,
    /// Main title (romanised for CJK records).
    pub title: String,
    /// Vernacular (e.g. Han script) main title.
    pub title_vernacular: Option<String>,
    /// Every title form (may repeat `title`; duplicates are skipped).
    pub titles_all: Vec<String>,
    /// Names (incl. vernacular forms) and the statement of responsibility.
    pub authors: Vec<String>,
    /// Subject headings.
    pub subjects: Vec<String>,
    /// ISBNs, any form (normalised to ISBN-13 when indexed).
    pub isbns: Vec<String>,
    /// Call numbers / classification numbers of any scheme.
    pub call_numbers: Vec<String>,
    pub publisher: Option<String>,
    /// Publication year (sort key for [`crate::Sort::Newest`]).
    pub year: Option<i32>,
    /// Language code (MARC 21 008/35–37 or 041 $a, UNIMARC 101 $a): the language facet.
    pub language: Option<String>,
    /// Where the record's copies are (the location facet): the application fills these
    /// from its items; [`SearchDoc::from_bib`] takes the items' locations in the record.
    pub locations: Vec<String>,
    /// Other text searchable through the "any" field (place, edition, notes…).
    pub any_extra: Vec<String>,
}

fn push_unique(list: &mut Vec<String>, v: Option<&String>) {
    if let Some(v) = v
        && !v.trim().is_empty()
        && !list.contains(v)
    {
        list.push(v.clone());
    }
}

impl SearchDoc {
    /// Map a [`Bib`]; `None` when the record has no control number.
    pub fn from_bib(bib: &Bib) -> Option<SearchDoc> {
        let id = bib.id.as_deref()?.trim();
        if id.is_empty() {
            return None;
        }
        Some(SearchDoc::from_bib_with_id(bib, id))
    }

    /// Map a [`Bib`] under an id the caller chooses (e.g. a database key).
    pub fn from_bib_with_id(bib: &Bib, id: impl Into<String>) -> SearchDoc {
        let mut authors = Vec::new();
        push_unique(&mut authors, bib.main_author.as_ref());
        push_unique(&mut authors, bib.main_author_vernacular.as_ref());
        for a in &bib.authors {
            push_unique(&mut authors, Some(a));
        }
        push_unique(&mut authors, bib.responsibility.as_ref());
        push_unique(&mut authors, bib.responsibility_vernacular.as_ref());

        let mut isbns = bib.isbn13.clone();
        for raw in &bib.isbn_invalid {
            push_unique(&mut isbns, Some(raw));
        }

        let cn = &bib.call_numbers;
        let mut call_numbers = Vec::new();
        for c in cn.lc.iter().chain(&cn.dewey).chain(&cn.clc).chain(&cn.local) {
            push_unique(&mut call_numbers, Some(c));
        }
        let mut locations = Vec::new();
        for item in &bib.items {
            push_unique(&mut call_numbers, item.call_number.as_ref());
            push_unique(&mut locations, item.location.as_ref());
        }

        let mut any_extra = Vec::new();
        push_unique(&mut any_extra, bib.publisher_vernacular.as_ref());
        push_unique(&mut any_extra, bib.place.as_ref());
        push_unique(&mut any_extra, bib.edition.as_ref());

        SearchDoc {
            id: id.into(),
            title: bib.title.clone().or_else(|| bib.title_vernacular.clone()).unwrap_or_default(),
            title_vernacular: bib.title_vernacular.clone(),
            titles_all: bib.titles_all.clone(),
            authors,
            subjects: bib.subjects.clone(),
            isbns,
            call_numbers,
            publisher: bib.publisher.clone(),
            year: bib.year.map(i32::from),
            language: bib.language.clone(),
            locations,
            any_extra,
        }
    }

    /// Distinct title strings (title, vernacular title, titles_all).
    pub(crate) fn title_values(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let all =
            std::iter::once(self.title.as_str()).chain(self.title_vernacular.as_deref()).chain(self.titles_all.iter().map(String::as_str));
        for t in all {
            if !t.trim().is_empty() && !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }
}

/// The title proper: the part before the first ISBD separator (` : ` other title
/// information, ` = ` parallel title, ` / ` responsibility, ` ; `), if any.
pub(crate) fn title_proper(t: &str) -> Option<&str> {
    const SEPS: [&str; 8] = [" : ", " = ", " / ", " ; ", "：", "＝", "／", "；"];
    let cut = SEPS.iter().filter_map(|s| t.find(s)).min()?;
    let p = t.get(..cut)?.trim();
    if p.is_empty() { None } else { Some(p) }
}

/// The name part of a heading for exact author matching: "Smith, John, 1950-" gives
/// "Smith John" (dates, qualifiers like "(John Paul)" and later parts dropped); a name
/// without a comma ("鲁迅", "Mayo Clinic") is returned as is. `None` when nothing is left.
pub(crate) fn name_key_text(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in name.split([',', '，']) {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        if p.chars().any(|c| c.is_ascii_digit()) || p.starts_with('(') || parts.len() == 2 {
            break;
        }
        parts.push(p);
    }
    if parts.is_empty() { None } else { Some(parts.join(" ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_proper_cuts_at_isbd() {
        assert_eq!(title_proper("明代政治制度 / 張治安著"), Some("明代政治制度"));
        assert_eq!(title_proper("Logic : an introduction / by X"), Some("Logic"));
        assert_eq!(title_proper("Just a title"), None);
    }

    #[test]
    fn name_key_texts() {
        assert_eq!(name_key_text("Smith, John, 1950-").as_deref(), Some("Smith John"));
        assert_eq!(name_key_text("Smith, John, Sir, 1950-").as_deref(), Some("Smith John"));
        assert_eq!(name_key_text("鲁迅, 1881-1936").as_deref(), Some("鲁迅"));
        assert_eq!(name_key_text("吳正德").as_deref(), Some("吳正德"));
        assert_eq!(name_key_text("1950-"), None);
    }
}
