//! Character-set selection and decoding of field bytes to Unicode.
//!
//! MARC records say what they are in different places (MARC 21 leader/09, UNIMARC
//! 100$a/26-27), and real exports often lie, so [`Charset::Auto`] combines the label
//! with cheap evidence from the bytes. Rules, in order:
//!
//! 1. MARC 21 leader/09 = `a` → UTF-8.
//! 2. UNIMARC (200 present, 245 absent) with 100$a/26-27 = `50` (ISO 10646) → UTF-8.
//! 3. Escape bytes present → MARC-8 (MARC-8 CJK is pure 7-bit with escapes).
//! 4. Pure ASCII → as labelled (both decoders give the same text).
//! 5. Data is valid UTF-8 despite the label → UTF-8, with a warning (a very common
//!    mislabelling; MARC-8 ANSEL text is practically never valid UTF-8).
//! 6. UNIMARC: Chinese (101$a `chi` or 102$a `CN`) → GB18030, otherwise Latin-1,
//!    with a warning (ISO 5426 proper is not implemented).
//! 7. Otherwise (MARC 21, blank leader/09) → MARC-8.
//!
//! Callers who know their source (e.g. a Chinese ILS exporting GBK) pick a charset
//! explicitly with [`crate::Reader::with_charset`].

use serde::{Deserialize, Serialize};

use crate::marc8;

/// Which encoding to decode record data with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Charset {
    /// Decide per record from the label and the bytes (rules in the module docs of `charset`).
    #[default]
    Auto,
    /// UTF-8; invalid bytes are replaced by U+FFFD with a warning.
    Utf8,
    /// MARC-8 (ASCII/ANSEL default, EACC CJK and the other LC sets via escapes).
    Marc8,
    /// GB18030 (superset of GBK and GB2312), as exported by many Chinese systems.
    Gb18030,
    /// ISO 8859-1 / Windows-1252; the fallback for non-Unicode UNIMARC that is
    /// neither UTF-8 nor Chinese (ISO 5426 proper is not implemented).
    Latin1,
}

/// What the raw record tells the detector.
pub(crate) struct Evidence<'a> {
    pub leader09: u8,
    /// 100$a raw bytes when the record looks like UNIMARC (200 present, 245 absent).
    pub unimarc_100a: Option<&'a [u8]>,
    /// UNIMARC only: 101$a / 102$a suggest Chinese.
    pub unimarc_chinese: bool,
    pub has_esc: bool,
    pub all_ascii: bool,
    pub valid_utf8: bool,
}

/// Resolve [`Charset::Auto`] for one record (rules in the module docs); returns
/// the charset and, when the label was overridden by evidence, a note for the
/// warning list.
pub(crate) fn detect(e: &Evidence<'_>) -> (Charset, Option<String>) {
    if e.unimarc_100a.is_none() && e.leader09 == b'a' {
        return (Charset::Utf8, None);
    }
    if let Some(a) = e.unimarc_100a
        && a.get(26..28) == Some(b"50")
    {
        return (Charset::Utf8, None);
    }
    if e.has_esc {
        return (Charset::Marc8, None);
    }
    if e.all_ascii {
        // Both decoders give the same text; report what the label says.
        let utf8 = e.unimarc_100a.is_some() || e.leader09 == b'a';
        return (if utf8 { Charset::Utf8 } else { Charset::Marc8 }, None);
    }
    if e.valid_utf8 {
        let note = if e.unimarc_100a.is_some() {
            "UNIMARC 100$a/26-27 is not '50' but data is valid UTF-8; decoded as UTF-8"
        } else {
            "leader/09 is not 'a' but data is valid UTF-8 without MARC-8 escapes; decoded as UTF-8"
        };
        return (Charset::Utf8, Some(note.to_string()));
    }
    if e.unimarc_100a.is_some() {
        if e.unimarc_chinese {
            return (Charset::Gb18030, Some("non-Unicode Chinese UNIMARC; decoded as GB18030".into()));
        }
        return (Charset::Latin1, Some("non-Unicode UNIMARC; decoded as Latin-1 (ISO 5426 unsupported)".into()));
    }
    (Charset::Marc8, None)
}

/// Decode one value with a resolved charset (never `Auto`; `Auto` is treated as
/// UTF-8). Returns the text and whether anything had to be replaced.
pub fn decode(bytes: &[u8], cs: Charset) -> (String, bool) {
    match cs {
        Charset::Auto | Charset::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), false),
            Err(_) => (String::from_utf8_lossy(bytes).into_owned(), true),
        },
        Charset::Marc8 => {
            let d = marc8::decode(bytes);
            (d.text, d.errors > 0)
        }
        Charset::Gb18030 => {
            let (s, bad) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            (s.into_owned(), bad)
        }
        Charset::Latin1 => {
            let (s, bad) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (s.into_owned(), bad)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_decodes() {
        let (bytes, _, _) = encoding_rs::GB18030.encode("鲁迅与浙东文化");
        assert_eq!(decode(&bytes, Charset::Gb18030), ("鲁迅与浙东文化".to_string(), false));
    }

    #[test]
    fn utf8_lossy_flags() {
        let (s, bad) = decode(b"ab\xffc", Charset::Utf8);
        assert!(bad);
        assert_eq!(s, "ab\u{FFFD}c");
    }
}
