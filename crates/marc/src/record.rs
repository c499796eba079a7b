//! The format-neutral MARC record model.
//!
//! Values are already decoded to Unicode `String`s: charset handling happens once,
//! in the readers, so everything downstream (mapping, indexing, writers) works on
//! text. The leader is kept byte-for-byte as read (leader/09 still tells what the
//! source encoding claimed), except that the readers guarantee 24 ASCII bytes.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::MarcError;

/// The 24-byte record leader (always ASCII).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Leader([u8; 24]);

impl Leader {
    /// A blank MARC 21 bibliographic leader for a new record (`nam a22     4500`
    /// shape; lengths are filled in by the ISO 2709 writer).
    pub const fn new_marc21() -> Leader {
        Leader(*b"00000nam a2200000   4500")
    }

    /// Build from bytes; non-ASCII or control bytes become spaces, short input is
    /// padded with spaces and long input cut, so any input gives a usable leader.
    pub fn from_bytes_lossy(bytes: &[u8]) -> Leader {
        let mut out = [b' '; 24];
        for (o, b) in out.iter_mut().zip(bytes.iter()) {
            *o = if (0x20..0x7f).contains(b) { *b } else { b' ' };
        }
        Leader(out)
    }

    /// Strict constructor: exactly 24 printable ASCII characters.
    pub fn parse(s: &str) -> Result<Leader, MarcError> {
        let b = s.as_bytes();
        if b.len() != 24 || !b.iter().all(|c| (0x20..0x7f).contains(c)) {
            return Err(MarcError::Leader(format!("need 24 printable ASCII bytes, got {s:?}")));
        }
        Ok(Leader::from_bytes_lossy(b))
    }

    pub fn as_bytes(&self) -> &[u8; 24] {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        // Invariant: all bytes are printable ASCII, so this never fails.
        std::str::from_utf8(&self.0).unwrap_or("                        ")
    }

    /// Byte at a position (0-23), `b' '` when out of range.
    pub fn get(&self, pos: usize) -> u8 {
        self.0.get(pos).copied().unwrap_or(b' ')
    }

    /// Set one position; ignored when out of range or not printable ASCII.
    pub fn set(&mut self, pos: usize, value: u8) {
        if let Some(slot) = self.0.get_mut(pos)
            && (0x20..0x7f).contains(&value)
        {
            *slot = value;
        }
    }

    /// Leader/05 record status.
    pub fn record_status(&self) -> char {
        self.get(5) as char
    }
    /// Leader/06 type of record (`a` language material, …).
    pub fn record_type(&self) -> char {
        self.get(6) as char
    }
    /// Leader/07 bibliographic level (`m` monograph, `s` serial, …).
    pub fn bibliographic_level(&self) -> char {
        self.get(7) as char
    }
    /// Leader/09 character coding scheme (MARC 21: `a` = UCS/Unicode, blank = MARC-8).
    pub fn coding_scheme(&self) -> char {
        self.get(9) as char
    }
    /// Leader/17 encoding level.
    pub fn encoding_level(&self) -> char {
        self.get(17) as char
    }

    /// Numeric value of positions `start..end` if they are all ASCII digits.
    pub fn number(&self, start: usize, end: usize) -> Option<usize> {
        parse_digits(self.0.get(start..end)?)
    }
}

impl Default for Leader {
    fn default() -> Self {
        Leader::new_marc21()
    }
}

impl std::fmt::Debug for Leader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Leader({:?})", self.as_str())
    }
}

impl std::fmt::Display for Leader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Leader {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Leader {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Leader::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Parse a run of ASCII digits (no sign, no spaces); `None` otherwise or if empty.
pub(crate) fn parse_digits(b: &[u8]) -> Option<usize> {
    if b.is_empty() || b.len() > 12 {
        return None;
    }
    let mut n: usize = 0;
    for c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(c - b'0');
    }
    Some(n)
}

/// Is this tag a control-field tag (`00X`)? MARC 21 and UNIMARC agree on this.
pub fn is_control_tag(tag: &str) -> bool {
    tag.len() == 3 && tag.starts_with("00")
}

/// Control field (`001`–`009`): a tag and an unstructured value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlField {
    pub tag: String,
    pub value: String,
}

/// One subfield of a data field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subfield {
    pub code: char,
    pub value: String,
}

/// Data field: tag, two indicators, ordered subfields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataField {
    pub tag: String,
    pub ind1: char,
    pub ind2: char,
    pub subfields: Vec<Subfield>,
}

/// `$6` linkage (`245-02/$1/r`): which field an 880 pairs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linkage {
    /// Tag of the linked field (`245` in an 880; `880` in a regular field).
    pub tag: String,
    /// Occurrence number (`02`); `00` means "no linked field".
    pub occurrence: String,
    /// Script identification code (`$1` = CJK, `(3` Arabic, …), if given.
    pub script: Option<String>,
}

impl DataField {
    pub fn new(tag: &str, ind1: char, ind2: char) -> DataField {
        DataField { tag: tag.to_string(), ind1, ind2, subfields: Vec::new() }
    }

    /// Builder-style append of a subfield.
    pub fn with(mut self, code: char, value: &str) -> DataField {
        self.subfields.push(Subfield { code, value: value.to_string() });
        self
    }

    /// First value of subfield `code`.
    pub fn subfield(&self, code: char) -> Option<&str> {
        self.subfields.iter().find(|s| s.code == code).map(|s| s.value.as_str())
    }

    /// All values of subfield `code`, in order.
    pub fn subfields_of(&self, code: char) -> impl Iterator<Item = &str> + '_ {
        self.subfields.iter().filter(move |s| s.code == code).map(|s| s.value.as_str())
    }

    /// Values of the subfields whose code is in `codes`, in field order.
    pub fn subfields_in<'a>(&'a self, codes: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.subfields.iter().filter(move |s| codes.contains(s.code)).map(|s| s.value.as_str())
    }

    /// Parsed `$6` linkage, if present and well-formed enough to name a tag.
    pub fn linkage(&self) -> Option<Linkage> {
        let v = self.subfield('6')?.trim();
        let (head, rest) = match v.split_once('/') {
            Some((h, r)) => (h, Some(r)),
            None => (v, None),
        };
        let (tag, occ) = head.split_once('-').unwrap_or((head, ""));
        if tag.len() != 3 {
            return None;
        }
        let script = rest.map(|r| r.split('/').next().unwrap_or("").to_string()).filter(|s| !s.is_empty());
        Some(Linkage { tag: tag.to_string(), occurrence: occ.to_string(), script })
    }
}

/// A field of either kind, in record order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Field {
    Control(ControlField),
    Data(DataField),
}

impl Field {
    pub fn tag(&self) -> &str {
        match self {
            Field::Control(c) => &c.tag,
            Field::Data(d) => &d.tag,
        }
    }
    pub fn as_control(&self) -> Option<&ControlField> {
        match self {
            Field::Control(c) => Some(c),
            Field::Data(_) => None,
        }
    }
    pub fn as_data(&self) -> Option<&DataField> {
        match self {
            Field::Data(d) => Some(d),
            Field::Control(_) => None,
        }
    }
}

/// MARC dialect of a bibliographic record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Flavour {
    Marc21,
    /// UNIMARC and its Chinese profile CNMARC.
    Unimarc,
}

/// A MARC record: leader plus fields in their original order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub leader: Leader,
    pub fields: Vec<Field>,
}

impl Record {
    pub fn new(leader: Leader) -> Record {
        Record { leader, fields: Vec::new() }
    }

    pub fn push_control(&mut self, tag: &str, value: &str) {
        self.fields.push(Field::Control(ControlField { tag: tag.to_string(), value: value.to_string() }));
    }

    pub fn push_data(&mut self, field: DataField) {
        self.fields.push(Field::Data(field));
    }

    /// First field with this tag.
    pub fn field(&self, tag: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.tag() == tag)
    }

    /// All fields with this tag.
    pub fn fields<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(move |f| f.tag() == tag)
    }

    /// Value of the first control field with this tag.
    pub fn control(&self, tag: &str) -> Option<&str> {
        self.fields.iter().filter_map(Field::as_control).find(|c| c.tag == tag).map(|c| c.value.as_str())
    }

    /// First data field with this tag.
    pub fn data_field(&self, tag: &str) -> Option<&DataField> {
        self.fields.iter().filter_map(Field::as_data).find(|d| d.tag == tag)
    }

    /// All data fields with this tag.
    pub fn data_fields<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a DataField> + 'a {
        self.fields.iter().filter_map(Field::as_data).filter(move |d| d.tag == tag)
    }

    /// All data fields, in order.
    pub fn all_data_fields(&self) -> impl Iterator<Item = &DataField> + '_ {
        self.fields.iter().filter_map(Field::as_data)
    }

    /// First `$code` of the first `tag` field that has one.
    pub fn subfield(&self, tag: &str, code: char) -> Option<&str> {
        self.fields.iter().filter_map(Field::as_data).filter(|d| d.tag == tag).find_map(|d| d.subfield(code))
    }

    /// Every `$code` value across all `tag` fields.
    pub fn subfields<'a>(&'a self, tag: &'a str, code: char) -> impl Iterator<Item = &'a str> + 'a {
        self.data_fields(tag).flat_map(move |d| d.subfields_of(code))
    }

    /// 001 control number, trimmed.
    pub fn control_number(&self) -> Option<&str> {
        self.control("001").map(str::trim).filter(|s| !s.is_empty())
    }

    /// The 880 field paired with `field` through `$6` (same occurrence number).
    pub fn linked_880(&self, field: &DataField) -> Option<&DataField> {
        let link = field.linkage()?;
        if link.tag != "880" || link.occurrence == "00" || link.occurrence.is_empty() {
            return None;
        }
        self.data_fields("880").find(|f| f.linkage().is_some_and(|l| l.tag == field.tag && l.occurrence == link.occurrence))
    }

    /// Guess the dialect: UNIMARC has a 200 title field and no 245.
    pub fn flavour(&self) -> Flavour {
        if self.data_field("245").is_none() && self.data_field("200").is_some() { Flavour::Unimarc } else { Flavour::Marc21 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leader_lossy_and_strict() {
        let l = Leader::from_bytes_lossy(b"01234nam\xff");
        assert_eq!(l.as_str().len(), 24);
        assert_eq!(l.get(8), b' ');
        assert_eq!(l.number(0, 5), Some(1234));
        assert!(Leader::parse("short").is_err());
        assert!(Leader::parse("00000nam a2200000   4500").is_ok());
    }

    #[test]
    fn linkage_parses() {
        let f = DataField::new("880", '1', '0').with('6', "245-02/$1").with('a', "x");
        let l = f.linkage().expect("linkage");
        assert_eq!((l.tag.as_str(), l.occurrence.as_str(), l.script.as_deref()), ("245", "02", Some("$1")));
        let mut r = Record::default();
        r.push_data(DataField::new("245", '1', '0').with('6', "880-02").with('a', "t"));
        r.push_data(f);
        let t = r.data_field("245").expect("245");
        assert_eq!(r.linked_880(t).and_then(|f| f.subfield('a')), Some("x"));
    }

    #[test]
    fn serde_roundtrip() {
        let mut r = Record::default();
        r.push_control("001", "x1");
        r.push_data(DataField::new("245", '1', '0').with('a', "T"));
        let s = serde_json::to_string(&r).expect("ser");
        let back: Record = serde_json::from_str(&s).expect("de");
        assert_eq!(back, r);
    }
}
