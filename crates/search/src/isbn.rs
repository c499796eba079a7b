//! ISBN terms: what the `isbn` field stores for a record's ISBN, and what a typed ISBN
//! looks up, so that the ISBN-10 and ISBN-13 of one book are the same term.
//!
//! * A valid ISBN-10 (mod-11 check, `X` or `x` as the check digit) or ISBN-13 (978/979,
//!   mod-10 check) becomes its 13 digits ([`marc::isbn::normalize`]); a 979 ISBN-13 has
//!   no ISBN-10, so only the 13-digit form can find it.
//! * A record's ISBN whose check digit is wrong is kept as written (its digits and `X`)
//!   **and** as the ISBN-13 its body gives with the check digit recomputed. Libraries
//!   record the number printed in the book, and Chinese publishers of the 1980s–90s
//!   misprinted ISBN-10 check digits often; the EAN-13 barcode on the same book (what a
//!   phone scan gives) and the corrected ISBN-10 both lead to that recomputed ISBN-13.
//! * A typed ISBN whose check digit is wrong is looked up only as written: a reader's
//!   typo must not turn into another book's number, but the misprinted number copied
//!   from the book still finds the record that carries it.
//! * A query may carry an `ISBN` label, hyphens, spaces and full-width digits.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// The terms the `isbn` field stores for one ISBN value of a record (most one or two).
pub fn index_terms(raw: &str) -> Vec<String> {
    if let Some(n) = marc::isbn::normalize(raw) {
        return vec![n];
    }
    let d = digits(&label_stripped(raw));
    let mut out = Vec::new();
    if let Some(r) = repaired(&d) {
        out.push(r);
    }
    if !d.is_empty() {
        out.push(d);
    }
    out
}

/// The term a typed ISBN looks up: the ISBN-13 of a valid ISBN, else the digits as typed
/// when the text is nothing but an ISBN-like number of 8 or more characters.
pub fn query_term(text: &str) -> Option<String> {
    let text = nfkc(text);
    let t = label_stripped(text.trim());
    if t.is_empty() {
        return None;
    }
    marc::isbn::normalize(&t).or_else(|| {
        let d = digits(&t);
        (d.len() >= 8 && d.len() == t.chars().filter(|c| c.is_ascii_alphanumeric()).count()).then_some(d)
    })
}

/// Does the whole text look like an ISBN (an optional `ISBN` label, then digits, `X`,
/// hyphens and spaces only, at least 10 characters)? Such a text in the any field is
/// also looked up in the `isbn` field.
pub fn looks_like_isbn(text: &str) -> bool {
    let text = nfkc(text);
    let t = label_stripped(text.trim());
    t.len() >= 10 && t.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | 'X' | 'x'))
}

/// Full-width digits and letters (`９７８７…`) as ASCII.
fn nfkc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() { Cow::Borrowed(text) } else { Cow::Owned(text.nfkc().collect()) }
}

/// The text without a leading `ISBN` label and the `:` or spaces after it.
fn label_stripped(text: &str) -> Cow<'_, str> {
    let t = text.trim_start();
    match t.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("isbn") => Cow::Owned(t.get(4..).unwrap_or("").trim_start_matches([':', ' ']).to_string()),
        _ => Cow::Borrowed(t),
    }
}

/// Digits and `X` of an ISBN-like string that failed validation (its leading run of
/// digits, `X`, hyphens and spaces; `(pbk.)` and the like end it).
pub(crate) fn digits(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, 'X' | 'x' | '-' | ' '))
        .filter(|c| c.is_ascii_digit() || matches!(c, 'X' | 'x'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The ISBN-13 of an ISBN with a wrong check digit: 978 + the nine body digits of an
/// ISBN-10, or the twelve first digits of a 978/979 ISBN-13, with the check recomputed.
fn repaired(d: &str) -> Option<String> {
    let body = match d.len() {
        10 => format!("978{}", d.get(..9)?),
        13 if d.starts_with("978") || d.starts_with("979") => d.get(..12)?.to_string(),
        _ => return None,
    };
    if !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body.bytes().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
    let check = char::from_digit((10 - sum % 10) % 10, 10)?;
    Some(format!("{body}{check}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_isbns_are_one_term() {
        assert_eq!(index_terms("7562005990"), vec!["9787562005995"]);
        assert_eq!(index_terms("9787562005995 (pbk.)"), vec!["9787562005995"]);
        assert_eq!(query_term("7-5620-0599-0").as_deref(), Some("9787562005995"));
        assert_eq!(query_term("978 7 5620 0599 5").as_deref(), Some("9787562005995"));
        assert_eq!(query_term("ISBN 7-5620-0599-0").as_deref(), Some("9787562005995"));
        assert_eq!(query_term("isbn:7562005990").as_deref(), Some("9787562005995"));
        assert_eq!(query_term("７５６２００５９９０").as_deref(), Some("9787562005995"));
        // X check digit, either case.
        assert_eq!(query_term("780579880x").as_deref(), Some("9787805798806"));
        assert_eq!(index_terms("780579880X"), vec!["9787805798806"]);
        // 979 has no ISBN-10.
        assert_eq!(query_term("9791234567896").as_deref(), Some("9791234567896"));
    }

    #[test]
    fn a_misprinted_record_isbn_is_kept_and_repaired() {
        // 7560123139 is valid; 7560123130 is the same body with a wrong check digit.
        assert_eq!(index_terms("7560123130 (pbk.)"), vec!["9787560123134", "7560123130"]);
        assert_eq!(index_terms("756012313X"), vec!["9787560123134", "756012313X"]);
        assert_eq!(index_terms("9787560123130"), vec!["9787560123134", "9787560123130"]);
        // Not an ISBN at all: its digits only.
        assert_eq!(index_terms("123 (bad)"), vec!["123"]);
        assert!(index_terms("(pbk.)").is_empty());
    }

    #[test]
    fn a_mistyped_query_is_looked_up_as_typed() {
        assert_eq!(query_term("7560123130").as_deref(), Some("7560123130"));
        assert_eq!(query_term("7560-12313"), Some("756012313".to_string()));
        assert_eq!(query_term("12345"), None);
        assert_eq!(query_term("ISBN"), None);
        assert_eq!(query_term("7560123130 abc"), None);
    }

    #[test]
    fn isbn_lookalikes() {
        assert!(looks_like_isbn("7562005990"));
        assert!(looks_like_isbn("ISBN 7-5620-0599-0"));
        assert!(looks_like_isbn("９７８７５６２００５９９５"));
        assert!(!looks_like_isbn("756200"));
        assert!(!looks_like_isbn("ISBN of 鲁迅"));
    }
}
