//! Pure MARC codec for the wxlib server: bytes in, typed records out.
//!
//! Nothing here touches the network, a database or the file system; callers hand in
//! byte slices and get [`Record`]s (and [`bib::Bib`] summaries) back. The pieces:
//!
//! * [`record`]: the format-neutral record model (leader, control fields, data fields).
//! * [`iso2709`]: a damage-tolerant ISO 2709 reader ([`Reader`]) and a UTF-8 writer.
//! * [`charset`] / [`marc8`]: UTF-8, MARC-8 (incl. EACC CJK) and GB18030 decoding.
//! * [`marcxml`]: MARC21-slim MARCXML reader and writer.
//! * [`bib`]: bibliographic mapping for MARC 21 and UNIMARC/CNMARC.
//! * [`isbn`]: ISBN normalisation to ISBN-13.
//!
//! Invariant: no input, however damaged, makes this crate panic. Bad records are
//! reported as [`RecordError`]s carrying a byte offset, a record index and a reason,
//! and reading continues with the next record.

pub mod bib;
pub mod charset;
pub mod error;
pub mod isbn;
pub mod iso2709;
pub mod marc8;
#[rustfmt::skip]
mod marc8_tables;
pub mod marcxml;
pub mod record;

pub use bib::Bib;
pub use charset::Charset;
pub use error::{ErrorReason, MarcError, RecordError, Warning};
pub use iso2709::{ReadRecord, Reader, to_iso2709, write_iso2709};
pub use marcxml::{XmlReader, to_marcxml_collection, to_marcxml_record};
pub use record::{ControlField, DataField, Field, Flavour, Leader, Record, Subfield};
