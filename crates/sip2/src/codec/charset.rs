//! Character sets for variable-field values.
//!
//! The SIP2 spec says ASCII; Koha and Evergreen use UTF-8; Chinese library systems often use GBK
//! (or GB18030); old Western ones Windows-1252. The checksum is over the encoded bytes, so the
//! codec works on bytes and converts values with the partner's character set.
//!
//! Delimiter scanning is character-aware: in GBK/GB18030 the byte `0x7C` (`|`) can be the second
//! byte of a two-byte character (亅, 億, 墊 …), so a naive split on `|` would cut such a value.

use std::borrow::Cow;

use super::error::{DecodeError, EncodeError};

/// The character set of a SIP2 partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Charset {
    /// UTF-8 (Koha, Evergreen, FOLIO, pysip2 when told so).
    #[default]
    Utf8,
    /// GBK (WHATWG: decodes all of GB18030, encodes only two-byte GBK).
    Gbk,
    /// GB18030 (all of Unicode).
    Gb18030,
    /// Windows-1252 (a superset of Latin-1 and of ASCII).
    Windows1252,
}

impl Charset {
    /// A name for messages and configuration.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Gbk => "GBK",
            Charset::Gb18030 => "GB18030",
            Charset::Windows1252 => "windows-1252",
        }
    }

    /// Parse a configuration label (`utf-8`, `utf8`, `gbk`, `cp936`, `gb2312`, `gb18030`,
    /// `windows-1252`, `latin1`, … as the WHATWG Encoding Standard maps them).
    pub fn from_label(label: &str) -> Option<Charset> {
        let enc = encoding_rs::Encoding::for_label(label.trim().as_bytes())?;
        if enc == encoding_rs::UTF_8 {
            Some(Charset::Utf8)
        } else if enc == encoding_rs::GBK {
            Some(Charset::Gbk)
        } else if enc == encoding_rs::GB18030 {
            Some(Charset::Gb18030)
        } else if enc == encoding_rs::WINDOWS_1252 {
            Some(Charset::Windows1252)
        } else {
            None
        }
    }

    fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            Charset::Utf8 => encoding_rs::UTF_8,
            Charset::Gbk => encoding_rs::GBK,
            Charset::Gb18030 => encoding_rs::GB18030,
            Charset::Windows1252 => encoding_rs::WINDOWS_1252,
        }
    }

    /// Encode a value. Fails if a character cannot be represented (encoding_rs would otherwise
    /// silently write an HTML numeric character reference).
    pub fn encode<'a>(self, field: &str, value: &'a str) -> Result<Cow<'a, [u8]>, EncodeError> {
        if self == Charset::Utf8 {
            return Ok(Cow::Borrowed(value.as_bytes()));
        }
        let (bytes, _, unmappable) = self.encoding().encode(value);
        if unmappable {
            return Err(EncodeError::Unencodable { field: field.to_owned(), charset: self.name() });
        }
        Ok(bytes)
    }

    /// Decode a value strictly: malformed bytes are an error, not U+FFFD.
    pub fn decode(self, field: &str, bytes: &[u8]) -> Result<String, DecodeError> {
        let bad = || DecodeError::BadCharset { field: field.to_owned(), charset: self.name() };
        if self == Charset::Utf8 {
            return std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| bad());
        }
        self.encoding().decode_without_bom_handling_and_without_replacement(bytes).map(Cow::into_owned).ok_or_else(bad)
    }

    /// Index of the first `delim` byte in `bytes` that is a character of its own (not the
    /// second byte of a GBK/GB18030 character).
    pub(crate) fn find_delimiter(self, bytes: &[u8], delim: u8) -> Option<usize> {
        match self {
            Charset::Utf8 | Charset::Windows1252 => bytes.iter().position(|&b| b == delim),
            Charset::Gbk | Charset::Gb18030 => {
                let mut i = 0;
                while let Some(&b) = bytes.get(i) {
                    if b == delim {
                        return Some(i);
                    }
                    if (0x81..=0xFE).contains(&b) {
                        // Lead byte: four-byte GB18030 if the next byte is a digit, else two-byte.
                        let next = bytes.get(i + 1).copied().unwrap_or(0);
                        i += if next.is_ascii_digit() { 4 } else { 2 };
                    } else {
                        i += 1;
                    }
                }
                None
            }
        }
    }
}

impl std::fmt::Display for Charset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Charset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Charset::from_label(s).ok_or_else(|| format!("unknown or unsupported character set {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_trail_byte_pipe_is_not_a_delimiter() {
        let bytes = Charset::Gbk.encode("AJ", "亅x").unwrap();
        assert_eq!(bytes.get(1), Some(&b'|'));
        let mut v = bytes.to_vec();
        v.push(b'|');
        assert_eq!(Charset::Gbk.find_delimiter(&v, b'|'), Some(3));
        assert_eq!(Charset::Gbk.decode("AJ", &v[..3]).unwrap(), "亅x");
    }

    #[test]
    fn gbk_refuses_what_it_cannot_encode_gb18030_takes_it() {
        assert!(matches!(Charset::Gbk.encode("AE", "😀"), Err(EncodeError::Unencodable { .. })));
        let b = Charset::Gb18030.encode("AE", "😀").unwrap();
        assert_eq!(b.len(), 4);
        assert_eq!(Charset::Gb18030.decode("AE", &b).unwrap(), "😀");
    }

    #[test]
    fn labels() {
        assert_eq!(Charset::from_label("GBK"), Some(Charset::Gbk));
        assert_eq!(Charset::from_label("gb2312"), Some(Charset::Gbk));
        assert_eq!(Charset::from_label("utf8"), Some(Charset::Utf8));
        assert_eq!(Charset::from_label("gb18030"), Some(Charset::Gb18030));
        assert_eq!(Charset::from_label("latin1"), Some(Charset::Windows1252));
        assert_eq!(Charset::from_label("koi8-r"), None);
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert!(Charset::Utf8.decode("AE", b"\xff").is_err());
        assert!(Charset::Gbk.decode("AE", b"\x81").is_err());
    }
}
