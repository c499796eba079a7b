//! Typed errors and warnings.
//!
//! Reading never aborts a whole file: each damaged record becomes one
//! [`RecordError`] (byte offset + record index + [`ErrorReason`]) in the stream, and
//! recoverable oddities (lossy decoding, recovered directories) become [`Warning`]s so
//! an import job can log them without losing the record.

use thiserror::Error;

/// One record (or one stretch of junk) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("record #{index} at byte offset {offset}: {reason}")]
pub struct RecordError {
    /// Byte offset in the input where the bad record (or junk) starts.
    pub offset: usize,
    /// 0-based ordinal of the record in the stream. Junk gets the index of the
    /// record that follows it.
    pub index: usize,
    pub reason: ErrorReason,
}

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ErrorReason {
    /// Bytes between records that do not start a plausible leader (and are not
    /// mere whitespace); skipped up to the next plausible leader or end of input.
    #[error("{len} bytes of junk skipped (no plausible leader)")]
    Junk { len: usize },
    /// The record has no terminator before the end of input or the next leader.
    #[error("truncated record: {available} bytes available, leader says {declared}")]
    Truncated { declared: usize, available: usize },
    /// The directory cannot be interpreted, even by terminator scanning.
    #[error("bad directory: {0}")]
    BadDirectory(String),
    /// The leader is unusable (e.g. base address outside the record).
    #[error("bad leader: {0}")]
    BadLeader(String),
    /// MARCXML problem (malformed XML, unknown entity, missing attribute).
    #[error("XML: {0}")]
    Xml(String),
}

/// A recoverable problem noticed while reading a record that was still returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub offset: usize,
    pub index: usize,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record #{} at byte offset {}: {}", self.index, self.offset, self.message)
    }
}

/// Crate-level error for operations that are not per-record (writers, whole-file
/// XML parsing, (de)serialisation of model values).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MarcError {
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The record cannot be expressed in ISO 2709 (bad tag, delimiter in data, too long…).
    #[error("cannot write record: {0}")]
    Write(String),
    #[error("invalid leader: {0}")]
    Leader(String),
}
