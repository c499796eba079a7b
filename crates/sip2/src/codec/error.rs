//! Codec errors: everything that can be wrong with bytes from a peer ([`DecodeError`]) or with a
//! value we were asked to send ([`EncodeError`]). Decoding never panics; it returns one of these.

use thiserror::Error;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Nothing but terminators / whitespace.
    #[error("empty frame")]
    Empty,
    /// The frame carries `AZxxxx` but the sum does not check out.
    #[error("bad checksum: frame says {found:04X}, bytes sum to {expected:04X}")]
    BadChecksum {
        /// The checksum the bytes call for.
        expected: u16,
        /// The checksum written in the frame.
        found: u16,
    },
    /// The first two bytes are not a command this crate knows.
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    /// The frame ends inside the fixed-length part of the message.
    #[error("truncated {command} message: fixed field `{field}` needs {needed} bytes, {available} left")]
    Truncated {
        /// Command id of the message.
        command: &'static str,
        /// Name of the fixed field that did not fit.
        field: &'static str,
        /// Width of that field.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A fixed-length field has a value its type does not allow.
    #[error("malformed fixed field `{field}` in {command} message: {found:?}")]
    MalformedFixed {
        /// Command id of the message.
        command: &'static str,
        /// Name of the fixed field.
        field: &'static str,
        /// The raw bytes, lossily shown.
        found: String,
    },
    /// A variable field's value is not valid in the configured character set.
    #[error("field {field} is not valid {charset}")]
    BadCharset {
        /// Two-letter field id (or `fixed` for the fixed part).
        field: String,
        /// Name of the character set.
        charset: &'static str,
    },
    /// Bytes that cannot be a SIP2 frame (NUL, CR inside the frame, a field id that is not two
    /// ASCII characters, …).
    #[error("garbage in frame: {0}")]
    Garbage(&'static str),
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A value contains the field delimiter `|`, a CR or a NUL.
    #[error("field {field} contains a forbidden character ('|', CR or NUL)")]
    ForbiddenCharacter {
        /// Field id or fixed-field name.
        field: String,
    },
    /// A value has a character the configured character set cannot represent.
    #[error("field {field} has a character {charset} cannot encode")]
    Unencodable {
        /// Field id or fixed-field name.
        field: String,
        /// Name of the character set.
        charset: &'static str,
    },
    /// A fixed-length field's value does not fit its width or alphabet.
    #[error("fixed field `{field}` cannot hold {value:?}")]
    BadFixed {
        /// Fixed-field name.
        field: &'static str,
        /// The offending value.
        value: String,
    },
    /// An extra field id is not two ASCII characters.
    #[error("bad field id {0:?}")]
    BadFieldId(String),
    /// Sequence numbers are one digit.
    #[error("sequence number {0} is not 0-9")]
    BadSequence(u8),
}
