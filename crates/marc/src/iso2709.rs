//! ISO 2709 ("MARC communications format") reading and writing.
//!
//! The reader is built for real exports, which are routinely damaged: files are
//! concatenated with newlines, FTP'd in text mode, cut short, or written by systems
//! that count the record length in characters instead of bytes. So:
//!
//! * between records, whitespace is skipped silently and any other junk is reported
//!   once ([`ErrorReason::Junk`]) while scanning to the next *plausible leader*;
//! * a wrong record length falls back to the first record terminator (0x1D);
//! * a bad base address falls back to the first field terminator (0x1E);
//! * a damaged directory falls back to splitting the data area on 0x1E when the
//!   field count still matches;
//! * a truncated record is reported and the reader resynchronises.
//!
//! A record that cannot be recovered becomes one `Err` item; iteration always goes
//! on. No input makes the reader panic: all slicing is checked.
//!
//! The writer always emits UTF-8 with computed lengths.

use crate::charset::{self, Charset, Evidence};
use crate::error::{ErrorReason, MarcError, RecordError, Warning};
use crate::record::{ControlField, DataField, Field, Flavour, Leader, Record, Subfield, is_control_tag, parse_digits};

const RT: u8 = 0x1D; // record terminator
const FT: u8 = 0x1E; // field terminator
const SD: u8 = 0x1F; // subfield delimiter

/// A record plus where it came from and what was noticed while reading it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRecord {
    pub record: Record,
    /// Byte offset of the leader in the input.
    pub offset: usize,
    /// 0-based ordinal of the record in the stream (bad records count too).
    pub index: usize,
    /// Bytes the record occupied (leader to terminator inclusive).
    pub length: usize,
    /// The charset actually used to decode it (never `Auto`).
    pub charset: Charset,
    /// Recoverable problems (lossy decoding, recovered directory, wrong length…).
    pub warnings: Vec<String>,
}

/// Iterator over the records in an ISO 2709 byte slice.
///
/// ```
/// let bytes = marc::to_iso2709(&marc::Record::default()).unwrap();
/// for item in marc::Reader::new(&bytes) {
///     match item {
///         Ok(record) => assert!(record.fields.is_empty()),
///         Err(e) => eprintln!("skipped: {e}"),
///     }
/// }
/// ```
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    index: usize,
    charset: Charset,
    warnings: Vec<Warning>,
}

impl<'a> Reader<'a> {
    /// Reader with [`Charset::Auto`].
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader::with_charset(data, Charset::Auto)
    }

    /// Reader that decodes every record with `charset` (unless `Auto`).
    pub fn with_charset(data: &'a [u8], charset: Charset) -> Reader<'a> {
        // A UTF-8 byte order mark at the start is an export artefact, not junk.
        let pos = if data.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        Reader { data, pos, index: 0, charset, warnings: Vec::new() }
    }

    /// Warnings collected by the plain `Iterator` interface so far.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Take (and clear) the collected warnings.
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// Current byte position (start of the next thing to read).
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Like `next()`, but returns offset, index, charset and warnings with the record.
    pub fn next_detailed(&mut self) -> Option<Result<ReadRecord, RecordError>> {
        let data = self.data;
        // Whitespace, NULs, ^Z and doubled record terminators between records are
        // everyday quirks that carry no data: skip them silently.
        while let Some(&b) = data.get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x00 | 0x1A | RT) {
                self.pos += 1;
            } else {
                break;
            }
        }
        let start = self.pos;
        if start >= data.len() {
            return None;
        }
        if !plausible_leader(data, start) {
            let rest = data.get(start..).unwrap_or(&[]);
            // A record cut off inside its leader at the end of input.
            if rest.len() < 24 && rest.len() >= 5 && parse_digits(rest.get(..5).unwrap_or(&[])).is_some() {
                self.pos = data.len();
                let declared = parse_digits(rest.get(..5).unwrap_or(&[])).unwrap_or(0);
                return Some(Err(self.error(start, ErrorReason::Truncated { declared, available: rest.len() })));
            }
            let next = find_leader(data, start + 1).unwrap_or(data.len());
            self.pos = next;
            // Junk does not consume a record index: it belongs to no record.
            return Some(Err(RecordError { offset: start, index: self.index, reason: ErrorReason::Junk { len: next - start } }));
        }
        let mut warnings = Vec::new();
        let declared = parse_digits(data.get(start..start + 5).unwrap_or(&[])).unwrap_or(0);
        // Fast path: the declared length ends exactly on a record terminator.
        let end = if declared > 24 && data.get(start + declared - 1) == Some(&RT) {
            start + declared
        } else {
            // Fallback: first terminator, unless a new leader starts before it
            // (this record was cut short and the next one follows directly).
            let term = data.get(start + 24..).and_then(|s| s.iter().position(|&b| b == RT)).map(|i| start + 24 + i);
            let limit = term.unwrap_or(data.len());
            let cut = (start + 24..limit).find(|&q| plausible_leader(data, q));
            match (term, cut) {
                (_, Some(c)) => {
                    self.pos = c;
                    return Some(Err(self.error(start, ErrorReason::Truncated { declared, available: c - start })));
                }
                (Some(t), None) => {
                    warnings
                        .push(format!("leader record length {declared} is wrong; record terminator found after {} bytes", t + 1 - start));
                    t + 1
                }
                (None, None) => {
                    self.pos = data.len();
                    let available = data.len() - start;
                    return Some(Err(self.error(start, ErrorReason::Truncated { declared, available })));
                }
            }
        };
        self.pos = end;
        let bytes = data.get(start..end).unwrap_or(&[]);
        let index = self.index;
        self.index += 1;
        match parse_record(bytes, self.charset, &mut warnings) {
            Ok((record, charset)) => Some(Ok(ReadRecord { record, offset: start, index, length: end - start, charset, warnings })),
            Err(reason) => Some(Err(RecordError { offset: start, index, reason })),
        }
    }

    fn error(&mut self, offset: usize, reason: ErrorReason) -> RecordError {
        let index = self.index;
        self.index += 1;
        RecordError { offset, index, reason }
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.next_detailed()?;
        Some(item.map(|r| {
            let (offset, index) = (r.offset, r.index);
            self.warnings.extend(r.warnings.into_iter().map(|message| Warning { offset, index, message }));
            r.record
        }))
    }
}

/// Could a record leader start at `p`? Checks the positions that are fixed in both
/// MARC 21 and UNIMARC: 0-4 and 12-16 digits, 6 a letter, 5 a letter or blank,
/// everything printable. Strict enough not to match a directory (all digits) or
/// ordinary field text.
fn plausible_leader(data: &[u8], p: usize) -> bool {
    let Some(l) = data.get(p..p + 24) else {
        return false;
    };
    let digits = |r: std::ops::Range<usize>| l.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let at = |i: usize| l.get(i).copied().unwrap_or(0);
    digits(0..5)
        && digits(12..17)
        && at(6).is_ascii_alphabetic()
        && (at(5).is_ascii_alphabetic() || at(5) == b' ')
        && l.iter().all(|b| (0x20..0x7f).contains(b))
}

fn find_leader(data: &[u8], from: usize) -> Option<usize> {
    (from..data.len()).find(|&q| plausible_leader(data, q))
}

/// A field as laid out in the record, before decoding.
enum RawField<'a> {
    Control { tag: String, value: &'a [u8] },
    Data { tag: String, ind1: u8, ind2: u8, body: &'a [u8] },
}

/// Parse one record (`bytes` = leader .. terminator) and decode it.
fn parse_record(bytes: &[u8], cs: Charset, warnings: &mut Vec<String>) -> Result<(Record, Charset), ErrorReason> {
    let leader = Leader::from_bytes_lossy(bytes.get(..24).unwrap_or(&[]));
    // Data area ends before the record terminator.
    let body_end = if bytes.last() == Some(&RT) { bytes.len() - 1 } else { bytes.len() };
    let base = match leader.number(12, 17) {
        Some(b) if b > 24 && b <= body_end && bytes.get(b - 1) == Some(&FT) => b,
        other => {
            let found = bytes.get(24..body_end).and_then(|s| s.iter().position(|&b| b == FT)).map(|i| 24 + i + 1);
            match found {
                Some(b) => {
                    warnings.push(format!("base address {other:?} is wrong; directory ends at byte {b}"));
                    b
                }
                None => {
                    return Err(ErrorReason::BadLeader("no field terminator after the directory".into()));
                }
            }
        }
    };
    let dir = bytes.get(24..base - 1).unwrap_or(&[]);
    let area = bytes.get(base..body_end).unwrap_or(&[]);
    let fields = parse_directory(&leader, dir, area, warnings)?;

    let charset = resolve_charset(cs, &leader, &fields, area, warnings);
    let mut record = Record::new(leader);
    for raw in fields {
        match raw {
            RawField::Control { tag, value } => {
                let (value, bad) = charset::decode(value, charset);
                if bad {
                    warnings.push(format!("{tag}: undecodable {charset:?} bytes replaced"));
                }
                record.fields.push(Field::Control(ControlField { tag, value }));
            }
            RawField::Data { tag, ind1, ind2, body } => {
                let df = decode_data_field(tag, ind1, ind2, body, charset, warnings);
                record.fields.push(Field::Data(df));
            }
        }
    }
    Ok((record, charset))
}

fn ascii_graphic_tag(t: &[u8]) -> bool {
    t.len() == 3 && t.iter().all(u8::is_ascii_alphanumeric)
}

/// Read the directory; fall back to terminator splitting when entries are damaged.
fn parse_directory<'a>(leader: &Leader, dir: &[u8], area: &'a [u8], warnings: &mut Vec<String>) -> Result<Vec<RawField<'a>>, ErrorReason> {
    // Entry map from leader/20-21 (always 4 and 5 in practice).
    let width = |pos: usize, default: usize| match leader.get(pos) {
        d @ b'1'..=b'9' => usize::from(d - b'0'),
        _ => default,
    };
    let (mut ll, mut sl) = (width(20, 4), width(21, 5));
    if !dir.len().is_multiple_of(3 + ll + sl) && dir.len().is_multiple_of(12) {
        (ll, sl) = (4, 5);
    }
    let esize = 3 + ll + sl;
    if !dir.len().is_multiple_of(esize) {
        warnings.push(format!("directory length {} is not a multiple of {esize}; trailing bytes ignored", dir.len()));
    }
    let entries: Vec<&[u8]> = dir.chunks_exact(esize).collect();

    let mut fields = Vec::with_capacity(entries.len());
    let mut problem: Option<String> = None;
    for (n, e) in entries.iter().enumerate() {
        let tag = e.get(..3).unwrap_or(&[]);
        let len = parse_digits(e.get(3..3 + ll).unwrap_or(&[]));
        let st = parse_digits(e.get(3 + ll..esize).unwrap_or(&[]));
        let slice = match (len, st) {
            (Some(len), Some(st)) if len > 0 => area.get(st..st + len),
            _ => None,
        };
        match slice {
            Some(s) if ascii_graphic_tag(tag) && s.last() == Some(&FT) => {
                fields.push(make_raw(tag, s.get(..s.len() - 1).unwrap_or(&[])));
            }
            _ => {
                problem = Some(format!("entry {n} {:?} does not point at a field", String::from_utf8_lossy(e)));
                break;
            }
        }
    }
    let Some(problem) = problem else {
        return Ok(fields);
    };

    // Fallback: fields are stored in directory order, each ending in 0x1E.
    let mut pieces: Vec<&[u8]> = area.split(|&b| b == FT).collect();
    if pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    if pieces.len() != entries.len() {
        return Err(ErrorReason::BadDirectory(format!(
            "{problem}; {} entries but {} fields in the data area",
            entries.len(),
            pieces.len()
        )));
    }
    let mut fields = Vec::with_capacity(entries.len());
    for (n, (e, piece)) in entries.iter().zip(pieces).enumerate() {
        let tag = e.get(..3).unwrap_or(&[]);
        if !ascii_graphic_tag(tag) {
            return Err(ErrorReason::BadDirectory(format!("{problem}; entry {n} has an invalid tag")));
        }
        fields.push(make_raw(tag, piece));
    }
    warnings.push(format!("{problem}; fields recovered by splitting on field terminators"));
    Ok(fields)
}

fn make_raw<'a>(tag: &[u8], content: &'a [u8]) -> RawField<'a> {
    let tag = String::from_utf8_lossy(tag).into_owned();
    // danMARC2 (and some other national formats) give 00X fields indicators and
    // subfields; like YAZ, treat a 00X field as a data field when a subfield
    // delimiter follows the two indicator positions.
    if is_control_tag(&tag) && content.get(2) != Some(&SD) {
        return RawField::Control { tag, value: content };
    }
    // Tolerate missing indicators: a delimiter where an indicator should be.
    let (ind1, ind2, body) = match content {
        [SD, ..] => (b' ', b' ', content),
        [a, SD, ..] => (*a, b' ', content.get(1..).unwrap_or(&[])),
        [a, b, rest @ ..] => (*a, *b, rest),
        [a] => (*a, b' ', &[][..]),
        [] => (b' ', b' ', &[][..]),
    };
    RawField::Data { tag, ind1, ind2, body }
}

fn indicator(b: u8, tag: &str, warnings: &mut Vec<String>) -> char {
    if (0x20..0x7f).contains(&b) {
        char::from(b)
    } else {
        warnings.push(format!("{tag}: invalid indicator byte 0x{b:02X} replaced by blank"));
        ' '
    }
}

fn decode_data_field(tag: String, ind1: u8, ind2: u8, body: &[u8], cs: Charset, warnings: &mut Vec<String>) -> DataField {
    let ind1 = indicator(ind1, &tag, warnings);
    let ind2 = indicator(ind2, &tag, warnings);
    let mut subfields = Vec::new();
    let mut parts = body.split(|&b| b == SD);
    if let Some(lead) = parts.next()
        && !lead.is_empty()
    {
        warnings.push(format!("{tag}: {} bytes before the first subfield delimiter ignored", lead.len()));
    }
    for part in parts {
        let Some((&code, value)) = part.split_first() else {
            continue; // doubled or trailing delimiter
        };
        let code = if code.is_ascii_graphic() {
            char::from(code)
        } else {
            warnings.push(format!("{tag}: invalid subfield code 0x{code:02X} replaced by '?'"));
            '?'
        };
        let (value, bad) = charset::decode(value, cs);
        if bad {
            warnings.push(format!("{tag}${code}: undecodable {cs:?} bytes replaced"));
        }
        subfields.push(Subfield { code, value });
    }
    DataField { tag, ind1, ind2, subfields }
}

/// Subfield `$code` of the first raw data field `tag`.
fn raw_subfield<'a>(fields: &[RawField<'a>], tag: &str, code: u8) -> Option<&'a [u8]> {
    fields.iter().find_map(|f| match f {
        RawField::Data { tag: t, body, .. } if t == tag => {
            body.split(|&b| b == SD).find(|p| p.first() == Some(&code)).and_then(|p| p.get(1..))
        }
        _ => None,
    })
}

fn resolve_charset(cs: Charset, leader: &Leader, fields: &[RawField<'_>], area: &[u8], warnings: &mut Vec<String>) -> Charset {
    if cs != Charset::Auto {
        return cs;
    }
    let has = |tag: &str| fields.iter().any(|f| matches!(f, RawField::Data { tag: t, .. } if t == tag));
    let unimarc = has("200") && !has("245");
    let chinese = raw_subfield(fields, "101", b'a').is_some_and(|a| a.windows(3).any(|w| w == b"chi"))
        || raw_subfield(fields, "102", b'a').is_some_and(|a| a.trim_ascii() == b"CN");
    let ev = Evidence {
        leader09: leader.get(9),
        unimarc_100a: if unimarc { Some(raw_subfield(fields, "100", b'a').unwrap_or(&[])) } else { None },
        unimarc_chinese: chinese,
        has_esc: area.contains(&0x1B),
        all_ascii: area.is_ascii(),
        valid_utf8: std::str::from_utf8(area).is_ok(),
    };
    let (cs, note) = charset::detect(&ev);
    if let Some(n) = note {
        warnings.push(n);
    }
    cs
}

// ---------------------------------------------------------------------------
// Writer

fn check_value(v: &str, what: &str) -> Result<(), MarcError> {
    if v.bytes().any(|b| b == RT || b == FT || b == SD) {
        return Err(MarcError::Write(format!("{what} contains a MARC delimiter byte")));
    }
    Ok(())
}

/// Append `rec` as one UTF-8 ISO 2709 record to `out`.
///
/// The leader is copied with lengths, base address, indicator/subfield counts and
/// entry map recomputed; leader/09 is set to `a` (UTF-8) for MARC 21 records
/// (UNIMARC has no such position; its 100$a/26-27 is left to the caller).
pub fn write_iso2709(rec: &Record, out: &mut Vec<u8>) -> Result<(), MarcError> {
    let mut dir: Vec<u8> = Vec::with_capacity(rec.fields.len() * 12 + 1);
    let mut area: Vec<u8> = Vec::new();
    for f in &rec.fields {
        let tag = f.tag();
        if !(tag.len() == 3 && tag.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(MarcError::Write(format!("invalid tag {tag:?}")));
        }
        let start = area.len();
        match f {
            Field::Control(c) => {
                if !is_control_tag(tag) {
                    return Err(MarcError::Write(format!("control field with data-field tag {tag}")));
                }
                check_value(&c.value, tag)?;
                area.extend_from_slice(c.value.as_bytes());
            }
            Field::Data(d) => {
                // A 00X data field (danMARC2) reads back as data only if a subfield
                // delimiter follows the indicators.
                if is_control_tag(tag) && d.subfields.is_empty() {
                    return Err(MarcError::Write(format!("data field with control-field tag {tag} and no subfields")));
                }
                for ind in [d.ind1, d.ind2] {
                    if !(' '..='~').contains(&ind) {
                        return Err(MarcError::Write(format!("{tag}: indicator {ind:?} is not printable ASCII")));
                    }
                    area.push(ind as u8);
                }
                for s in &d.subfields {
                    if !s.code.is_ascii_graphic() {
                        return Err(MarcError::Write(format!("{tag}: subfield code {:?} is not ASCII", s.code)));
                    }
                    check_value(&s.value, tag)?;
                    area.push(SD);
                    area.push(s.code as u8);
                    area.extend_from_slice(s.value.as_bytes());
                }
            }
        }
        area.push(FT);
        let len = area.len() - start;
        if len > 9999 || start > 99999 {
            return Err(MarcError::Write(format!("{tag}: field too long for ISO 2709 ({len} bytes)")));
        }
        dir.extend_from_slice(format!("{tag}{len:04}{start:05}").as_bytes());
    }
    dir.push(FT);
    area.push(RT);
    let base = 24 + dir.len();
    let total = base + area.len();
    if total > 99999 {
        return Err(MarcError::Write(format!("record too long for ISO 2709 ({total} bytes)")));
    }
    let mut leader = rec.leader;
    let set_num = |l: &mut Leader, start: usize, width: usize, n: usize| {
        for (i, b) in format!("{n:0width$}").bytes().enumerate() {
            l.set(start + i, b);
        }
    };
    set_num(&mut leader, 0, 5, total);
    set_num(&mut leader, 12, 5, base);
    if rec.flavour() == Flavour::Marc21 {
        leader.set(9, b'a');
    }
    leader.set(10, b'2');
    leader.set(11, b'2');
    for (i, b) in b"4500".iter().enumerate() {
        leader.set(20 + i, *b);
    }
    out.reserve(total);
    out.extend_from_slice(leader.as_bytes());
    out.extend_from_slice(&dir);
    out.extend_from_slice(&area);
    Ok(())
}

/// One record as UTF-8 ISO 2709 bytes.
pub fn to_iso2709(rec: &Record) -> Result<Vec<u8>, MarcError> {
    let mut out = Vec::new();
    write_iso2709(rec, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut r = Record::new(Leader::new_marc21());
        r.push_control("001", "42");
        r.push_data(DataField::new("245", '1', '0').with('a', "鲁迅与浙东文化 /").with('c', "陈方竞著."));
        r
    }

    #[test]
    fn write_then_read() {
        let r = sample();
        let bytes = to_iso2709(&r).expect("write");
        let got: Vec<_> = Reader::new(&bytes).collect();
        assert_eq!(got.len(), 1);
        let back = got.into_iter().next().and_then(Result::ok).expect("record");
        assert_eq!(back.fields, r.fields);
        assert_eq!(back.leader.coding_scheme(), 'a');
    }

    #[test]
    fn empty_and_garbage_inputs() {
        assert_eq!(Reader::new(b"").count(), 0);
        assert_eq!(Reader::new(b"\n\r\n  ").count(), 0);
        for junk in [&b"hello"[..], b"00024", b"99999nam a2200000   4500", b"00030nam a2200025   4500\x1e\x1d"] {
            for item in Reader::new(junk) {
                let _ = item;
            }
        }
    }

    #[test]
    fn writer_rejects_delimiters_and_bad_tags() {
        let mut r = Record::default();
        r.push_control("001", "a\x1eb");
        assert!(to_iso2709(&r).is_err());
        let mut r = Record::default();
        r.push_data(DataField::new("24", ' ', ' '));
        assert!(to_iso2709(&r).is_err());
        let mut r = Record::default();
        r.push_data(DataField::new("001", ' ', ' '));
        assert!(to_iso2709(&r).is_err());
        // …but a danMARC2-style 001 with subfields round-trips as a data field.
        let mut r = Record::default();
        r.push_data(DataField::new("001", '0', '0').with('a', "D000015937"));
        let back = Reader::new(&to_iso2709(&r).expect("write")).next().and_then(Result::ok).expect("read");
        assert_eq!(back.fields, r.fields);
    }

    #[test]
    fn length_in_characters_is_recovered() {
        let mut bytes = to_iso2709(&sample()).expect("write");
        // Pretend the exporter counted characters, not bytes.
        bytes.splice(0..5, b"00090".iter().copied());
        let mut rd = Reader::new(&bytes);
        let r = rd.next_detailed().expect("item").expect("ok");
        assert!(r.warnings.iter().any(|w| w.contains("record length")));
        assert_eq!(r.record.subfield("245", 'a'), Some("鲁迅与浙东文化 /"));
    }
}
