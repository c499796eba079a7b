//! MARC-8 → Unicode decoding (LC "MARC-8" ISO 2022-style character sets).
//!
//! Handles the graphic sets LC defines for MARC 21: Basic Latin (ASCII), Extended
//! Latin (ANSEL), Greek, Greek symbols, sub/superscripts, Basic and Extended Cyrillic,
//! Hebrew, Basic and Extended Arabic, and the 3-byte EACC set for Chinese, Japanese
//! and Korean. Tables come from pymarc's `marc8_mapping.py` (see
//! `tools/gen_marc8_tables.py`).
//!
//! Two MARC-8 rules need code rather than tables:
//! * combining diacritics *precede* their base character in MARC-8 but follow it in
//!   Unicode, so they are held back until the next spacing character, and the result
//!   is NFC-normalised (so `é` comes out as U+00E9, which is what search expects);
//! * escape sequences switch the working G0/G1 sets; every call starts in the default
//!   state (G0 = ASCII, G1 = ANSEL), as MARC 21 requires at the start of each field.
//!   The readers decode subfield by subfield, like pymarc, which matches real data.

use unicode_normalization::UnicodeNormalization;

use crate::marc8_tables as t;

/// A graphic character set that can be designated into G0 or G1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Set {
    Ascii,
    Single(&'static [u32; 94]),
    Eacc,
    Unknown,
}

fn set_for_final(f: u8, multibyte: bool) -> Set {
    if multibyte {
        return if f == 0x31 { Set::Eacc } else { Set::Unknown };
    }
    match f {
        0x42 => Set::Ascii,
        0x45 => Set::Single(&t::ANSEL),
        0x32 => Set::Single(&t::BASIC_HEBREW),
        0x33 => Set::Single(&t::BASIC_ARABIC),
        0x34 => Set::Single(&t::EXTENDED_ARABIC),
        0x4E => Set::Single(&t::BASIC_CYRILLIC),
        0x51 => Set::Single(&t::EXTENDED_CYRILLIC),
        0x53 => Set::Single(&t::BASIC_GREEK),
        // "ESC $ 1" written without '$' by some systems
        0x31 => Set::Eacc,
        _ => Set::Unknown,
    }
}

/// Result of decoding one MARC-8 string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    /// Number of unmappable characters / malformed sequences (replaced by U+FFFD or dropped).
    pub errors: usize,
}

/// Decode MARC-8 bytes to an NFC-normalised `String`. Never fails: unknown codes
/// become U+FFFD and are counted in [`Decoded::errors`].
pub fn decode(bytes: &[u8]) -> Decoded {
    let mut g0 = Set::Ascii;
    let mut g1 = Set::Single(&t::ANSEL);
    let mut out = String::with_capacity(bytes.len());
    let mut pending: Vec<char> = Vec::new();
    let mut errors = 0usize;
    let mut i = 0usize;

    // Emit a character, moving held-back combining marks after a spacing one.
    fn emit(out: &mut String, pending: &mut Vec<char>, c: char, combining: bool) {
        if combining {
            pending.push(c);
        } else {
            out.push(c);
            out.extend(pending.drain(..));
        }
    }

    while let Some(&b) = bytes.get(i) {
        if b == 0x1B {
            match parse_escape(bytes, i) {
                Some((target_g1, set, next)) => {
                    if set == Set::Unknown {
                        errors += 1;
                    }
                    if target_g1 {
                        g1 = set;
                    } else {
                        g0 = set;
                    }
                    i = next;
                }
                None => {
                    errors += 1;
                    i += 1;
                }
            }
            continue;
        }
        match b {
            // Controls other than ESC carry no text in MARC-8 data.
            0x00..=0x1F | 0x7F => i += 1,
            0x20 => {
                // Space is single-byte in every set, EACC included.
                emit(&mut out, &mut pending, ' ', false);
                i += 1;
            }
            0x21..=0x7E => {
                let (c, comb, used) = lookup(g0, bytes, i, 0, &mut errors);
                if let Some(c) = c {
                    emit(&mut out, &mut pending, c, comb);
                }
                i += used;
            }
            0x80..=0x9F => {
                // ANSEL C1: joiner / non-joiner survive; non-sort markers (0x88/0x89)
                // are dropped because they are not text and break display.
                match b {
                    0x8D => emit(&mut out, &mut pending, '\u{200D}', false),
                    0x8E => emit(&mut out, &mut pending, '\u{200C}', false),
                    _ => {}
                }
                i += 1;
            }
            _ => {
                let (c, comb, used) = lookup(g1, bytes, i, 0x80, &mut errors);
                if let Some(c) = c {
                    emit(&mut out, &mut pending, c, comb);
                }
                i += used;
            }
        }
    }
    // Dangling combining marks (diacritic at end of string) are kept, not lost.
    out.extend(pending.drain(..));
    let text = if out.is_ascii() { out } else { out.nfc().collect() };
    Decoded { text, errors }
}

/// Look up the character at `bytes[i]` in `set`; `high` is 0x80 for G1 bytes.
/// Returns (char, is_combining, bytes consumed).
fn lookup(set: Set, bytes: &[u8], i: usize, _high: u8, errors: &mut usize) -> (Option<char>, bool, usize) {
    let b = bytes.get(i).copied().unwrap_or(0) & 0x7F;
    match set {
        // ASCII designated as G1 (ESC ) B): high bytes are ASCII + 0x80.
        Set::Ascii => (Some(char::from(b)), false, 1),
        Set::Single(table) => {
            let v = usize::from(b).checked_sub(0x21).and_then(|idx| table.get(idx)).copied().unwrap_or(0);
            if v == 0 {
                *errors += 1;
                return (Some('\u{FFFD}'), false, 1);
            }
            let comb = v & t::COMBINING != 0;
            match char::from_u32(v & !t::COMBINING) {
                Some(c) => (Some(c), comb, 1),
                None => {
                    *errors += 1;
                    (Some('\u{FFFD}'), false, 1)
                }
            }
        }
        Set::Eacc => {
            let (Some(b1), Some(b2)) = (bytes.get(i + 1), bytes.get(i + 2)) else {
                *errors += 1;
                return (Some('\u{FFFD}'), false, bytes.len().saturating_sub(i).max(1));
            };
            let (b1, b2) = (b1 & 0x7F, b2 & 0x7F);
            if !(0x21..=0x7E).contains(&b1) || !(0x21..=0x7E).contains(&b2) {
                // Not a full EACC triple (e.g. the set was left active by mistake):
                // consume one byte only so the rest can resynchronise.
                *errors += 1;
                return (Some('\u{FFFD}'), false, 1);
            }
            let code = (u32::from(b) << 16) | (u32::from(b1) << 8) | u32::from(b2);
            match eacc(code) {
                Some(c) => (Some(c), false, 3),
                None => {
                    *errors += 1;
                    (Some('\u{FFFD}'), false, 3)
                }
            }
        }
        Set::Unknown => {
            *errors += 1;
            (Some('\u{FFFD}'), false, 1)
        }
    }
}

/// Map one EACC code (3 bytes, 0x21–0x7E each) to Unicode.
pub fn eacc(code: u32) -> Option<char> {
    let v = match t::EACC.binary_search_by_key(&code, |&(k, _)| k) {
        Ok(idx) => t::EACC.get(idx).map(|&(_, v)| v),
        Err(_) => t::EACC_ODD.iter().find(|&&(k, _)| k == code).map(|&(_, v)| v),
    }?;
    char::from_u32(u32::from(v))
}

/// Parse an escape sequence at `bytes[i]` (== ESC). Returns (designates G1?, set,
/// index after the sequence), or `None` if it is not a recognisable sequence.
fn parse_escape(bytes: &[u8], i: usize) -> Option<(bool, Set, usize)> {
    let next = *bytes.get(i + 1)?;
    match next {
        // Technique 1 (G0 only): Greek symbols, subscripts, superscripts, back to ASCII.
        b'g' => Some((false, Set::Single(&t::GREEK_SYMBOLS), i + 2)),
        b'b' => Some((false, Set::Single(&t::SUBSCRIPTS), i + 2)),
        b'p' => Some((false, Set::Single(&t::SUPERSCRIPTS), i + 2)),
        b's' => Some((false, Set::Ascii, i + 2)),
        b'(' | b',' | b')' | b'-' => {
            let g1 = matches!(next, b')' | b'-');
            let mut j = i + 2;
            if bytes.get(j) == Some(&b'!') {
                j += 1; // ANSEL is designated as "ESC ) ! E"
            }
            let f = *bytes.get(j)?;
            Some((g1, set_for_final(f, false), j + 1))
        }
        b'$' => {
            let mut j = i + 2;
            let mut g1 = false;
            match bytes.get(j) {
                Some(b'(') | Some(b',') => j += 1,
                Some(b')') | Some(b'-') => {
                    g1 = true;
                    j += 1;
                }
                _ => {}
            }
            let f = *bytes.get(j)?;
            Some((g1, set_for_final(f, true), j + 1))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_passthrough() {
        assert_eq!(decode(b"Programming Perl /").text, "Programming Perl /");
    }

    #[test]
    fn ansel_diacritic_moves_and_composes() {
        // 0xE2 = combining acute, precedes 'e' in MARC-8
        let d = decode(b"Caf\xe2e");
        assert_eq!(d.text, "Caf\u{e9}");
        assert_eq!(d.errors, 0);
        // spacing ANSEL letters
        assert_eq!(decode(b"\xb1\xa2").text, "\u{142}\u{d8}");
    }

    #[test]
    fn eacc_chinese() {
        // from marc-charset-cjk3: ESC $ 1 'av ESC ( B → 鲁
        let d = decode(b"\x1b$1'av\x1b(B  \x1b$1![g\x1b(B");
        assert_eq!(d.text, "鲁  迅");
        assert_eq!(d.errors, 0);
    }

    #[test]
    fn greek_and_cyrillic() {
        // ESC ( S: basic Greek as G0; ESC ( N: basic Cyrillic
        assert_eq!(decode(b"\x1b(SA\x1b(B").text.chars().count(), 1);
        let d = decode(b"\x1b(Nabv\x1bs!");
        assert_eq!(d.errors, 0, "{d:?}");
        assert!(d.text.ends_with('!'));
    }

    #[test]
    fn garbage_never_panics() {
        for input in [&b"\x1b"[..], b"\x1b$", b"\x1b$1!", b"\x1b$1!!", b"\xe2", b"\x1b(", b"\xff\xfe\x80"] {
            let _ = decode(input);
        }
    }
}
