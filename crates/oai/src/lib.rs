//! OAI-PMH 2.0 (the Open Archives Initiative Protocol for Metadata Harvesting), the harvester's
//! side, with no network inside: what to ask ([`Request`] → query string) and what the answer
//! says ([`parse_identify`], [`parse_list_records`]).
//!
//! Library systems (Koha, Evergreen, FOLIO, Alma, Aleph, Sierra and most Chinese systems) publish
//! their catalog this way; VuFind and Aspen harvest it. The protocol in brief: `Identify` tells
//! the repository's datestamp granularity (day or second) and whether it keeps deletions;
//! `ListRecords` returns a page of records (each a header — identifier, datestamp, sets,
//! `status="deleted"` — and, unless deleted, the metadata) and a `resumptionToken` for the next
//! page; an empty token ends the list. A protocol problem is an `<error code="…">` in an HTTP 200
//! answer; `noRecordsMatch` is the normal answer to an incremental harvest with nothing new.
//!
//! Reading is strict about the envelope and lenient about records: a page whose XML breaks
//! inside one record still yields the other records, and the broken one is named
//! ([`BrokenRecord`]) so the harvest can skip it and say so. Characters XML 1.0 forbids (C0
//! controls, a common fault of MARC data exported as XML) are replaced before parsing. DTDs are
//! refused, as everywhere in wxlib.

#![forbid(unsafe_code)]

mod datestamp;
mod request;
mod response;
mod scan;

pub use datestamp::{Datestamp, Granularity};
pub use request::{ListArgs, Request};
pub use response::{
    BrokenRecord, DeletedRecord, ErrorCode, Header, Identify, ListRecordsPage, OaiError, Record, ResponseError, ResumptionToken,
    parse_identify, parse_list_records,
};

/// The OAI-PMH 2.0 namespace.
pub const OAI_NS: &str = "http://www.openarchives.org/OAI/2.0/";
