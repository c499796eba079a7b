//! Responses: `Identify` and `ListRecords` pages, protocol errors, broken records.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::datestamp::{Datestamp, Granularity};
use crate::scan;

/// Why a response cannot be used as a whole. A broken *record* is not one of these: it is a
/// [`BrokenRecord`] in an otherwise good page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The repository answered with OAI-PMH errors (`noRecordsMatch`, `badResumptionToken`…).
    #[error("the repository answered {}", describe(.0))]
    Protocol(Vec<OaiError>),
    #[error("malformed XML at byte {position}: {reason}")]
    Malformed { position: usize, reason: String },
    #[error("DOCTYPE declarations are not allowed")]
    Doctype,
    /// Not an OAI-PMH document at all (an HTML error page, another protocol).
    #[error("not an OAI-PMH response (root element {found:?})")]
    NotOaiPmh { found: String },
    /// An OAI-PMH document without the element this verb must answer with.
    #[error("the response has no <{0}> element")]
    Missing(&'static str),
    #[error("Identify: {0}")]
    BadIdentify(String),
}

impl ResponseError {
    /// Whether the repository answered with this protocol error.
    pub fn has_code(&self, code: &ErrorCode) -> bool {
        matches!(self, ResponseError::Protocol(errors) if errors.iter().any(|e| &e.code == code))
    }
}

fn describe(errors: &[OaiError]) -> String {
    errors.iter().map(|e| format!("{} ({})", e.code.as_str(), e.message)).collect::<Vec<_>>().join(", ")
}

/// The error codes of OAI-PMH 2.0 §3.6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    BadArgument,
    BadResumptionToken,
    BadVerb,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoRecordsMatch,
    NoMetadataFormats,
    NoSetHierarchy,
    /// A code the specification does not define, as sent.
    Other(String),
}

impl ErrorCode {
    pub fn parse(code: &str) -> ErrorCode {
        match code {
            "badArgument" => ErrorCode::BadArgument,
            "badResumptionToken" => ErrorCode::BadResumptionToken,
            "badVerb" => ErrorCode::BadVerb,
            "cannotDisseminateFormat" => ErrorCode::CannotDisseminateFormat,
            "idDoesNotExist" => ErrorCode::IdDoesNotExist,
            "noRecordsMatch" => ErrorCode::NoRecordsMatch,
            "noMetadataFormats" => ErrorCode::NoMetadataFormats,
            "noSetHierarchy" => ErrorCode::NoSetHierarchy,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::BadArgument => "badArgument",
            ErrorCode::BadResumptionToken => "badResumptionToken",
            ErrorCode::BadVerb => "badVerb",
            ErrorCode::CannotDisseminateFormat => "cannotDisseminateFormat",
            ErrorCode::IdDoesNotExist => "idDoesNotExist",
            ErrorCode::NoRecordsMatch => "noRecordsMatch",
            ErrorCode::NoMetadataFormats => "noMetadataFormats",
            ErrorCode::NoSetHierarchy => "noSetHierarchy",
            ErrorCode::Other(s) => s,
        }
    }
}

/// One `<error>` of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OaiError {
    pub code: ErrorCode,
    pub message: String,
}

/// Whether and how a repository keeps deletions (Identify's `<deletedRecord>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedRecord {
    /// Deletions are never reported: an incremental harvest cannot see them.
    No,
    /// Reported, but maybe not forever.
    Transient,
    Persistent,
}

/// What `Identify` says about the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identify {
    pub repository_name: String,
    pub base_url: String,
    pub protocol_version: String,
    pub earliest_datestamp: Option<Datestamp>,
    pub deleted_record: DeletedRecord,
    pub granularity: Granularity,
    pub admin_emails: Vec<String>,
}

/// A record's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub identifier: String,
    pub datestamp: Option<Datestamp>,
    pub set_specs: Vec<String>,
    /// `status="deleted"`: the record this identifier brought is gone.
    pub deleted: bool,
}

/// One record of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub header: Header,
    /// The metadata's XML (the element inside `<metadata>`, as it stands in the page: namespace
    /// declarations made on enclosing elements are not copied in). `None` for a deleted record.
    pub metadata: Option<String>,
}

/// A record the page carries but that cannot be read; the rest of the page can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenRecord {
    /// Its place among the page's records (0-based).
    pub index: usize,
    /// Its identifier, when that much could be read.
    pub identifier: Option<String>,
    pub reason: String,
}

/// The `resumptionToken` of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumptionToken {
    /// Empty on the last page.
    pub token: String,
    pub complete_list_size: Option<u64>,
    pub cursor: Option<u64>,
    pub expiration_date: Option<Datestamp>,
}

/// One page of `ListRecords`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRecordsPage {
    /// When the repository answered (`<responseDate>`): the next incremental harvest starts here,
    /// less the granularity's overlap.
    pub response_date: Option<Datestamp>,
    /// The records in page order; broken ones as `Err`.
    pub records: Vec<Result<Record, BrokenRecord>>,
    pub resumption_token: Option<ResumptionToken>,
}

impl ListRecordsPage {
    /// The token to ask for the next page with; `None` when this page ends the list.
    pub fn next_token(&self) -> Option<&str> {
        self.resumption_token.as_ref().map(|t| t.token.trim()).filter(|t| !t.is_empty())
    }
}

/// Reads an `Identify` response.
pub fn parse_identify(xml: &[u8]) -> Result<Identify, ResponseError> {
    let xml = sanitize(xml);
    let root = tree(&xml)?;
    let body = envelope(&root, "Identify")?;
    let text = |name: &str| body.child(name).map(|e| e.text.trim().to_owned());
    let granularity = match text("granularity") {
        Some(g) => Granularity::parse(&g).ok_or_else(|| ResponseError::BadIdentify(format!("unknown granularity {g:?}")))?,
        None => return Err(ResponseError::BadIdentify("no <granularity>".into())),
    };
    let deleted_record = match text("deletedRecord").as_deref() {
        Some("no") => DeletedRecord::No,
        Some("transient") => DeletedRecord::Transient,
        Some("persistent") => DeletedRecord::Persistent,
        other => return Err(ResponseError::BadIdentify(format!("unknown deletedRecord {other:?}"))),
    };
    Ok(Identify {
        repository_name: text("repositoryName").unwrap_or_default(),
        base_url: text("baseURL").unwrap_or_default(),
        protocol_version: text("protocolVersion").unwrap_or_default(),
        earliest_datestamp: text("earliestDatestamp").and_then(|d| Datestamp::parse(&d)),
        deleted_record,
        granularity,
        admin_emails: body.children.iter().filter(|c| c.name == "adminEmail").map(|c| c.text.trim().to_owned()).collect(),
    })
}

/// Reads a `ListRecords` page. A page whose XML breaks inside a record is read again record by
/// record ([`scan`]), so one bad record costs only itself.
pub fn parse_list_records(xml: &[u8]) -> Result<ListRecordsPage, ResponseError> {
    let xml = sanitize(xml);
    match strict_page(&xml) {
        Ok(page) => Ok(page),
        Err(e @ ResponseError::Malformed { .. }) => scan::lenient_page(&xml).ok_or(e),
        Err(e) => Err(e),
    }
}

/// The page read as one well-formed document.
fn strict_page(xml: &[u8]) -> Result<ListRecordsPage, ResponseError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut page = ListRecordsPage { response_date: None, records: Vec::new(), resumption_token: None };
    let mut errors = Vec::new();
    let mut saw_list = false;
    let mut text = String::new();
    let mut token_attrs: Option<ResumptionToken> = None;
    let mut error_code: Option<String> = None;
    loop {
        let before = position(&reader);
        let event = reader.read_event().map_err(|e| malformed(&reader, e))?;
        match event {
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_vec();
                if path.is_empty() && name != b"OAI-PMH" {
                    return Err(ResponseError::NotOaiPmh { found: String::from_utf8_lossy(&name).into_owned() });
                }
                if path.len() == 2 && path[1] == b"ListRecords" && name == b"record" {
                    reader.read_to_end(start.name()).map_err(|e| malformed(&reader, e))?;
                    let index = page.records.len();
                    page.records.push(record(&xml[before..position(&reader)], index, before));
                    continue;
                }
                match (path.len(), name.as_slice()) {
                    (1, b"ListRecords") => saw_list = true,
                    (1, b"error") => error_code = Some(attr(&start, b"code").unwrap_or_default()),
                    (2, b"resumptionToken") if path[1] == b"ListRecords" => token_attrs = Some(token(&start)),
                    _ => {}
                }
                text.clear();
                path.push(name);
            }
            Event::Empty(start) => {
                let name = start.local_name();
                match (path.len(), name.as_ref()) {
                    (0, n) if n != b"OAI-PMH" => {
                        return Err(ResponseError::NotOaiPmh { found: String::from_utf8_lossy(n).into_owned() });
                    }
                    (1, b"ListRecords") => saw_list = true,
                    (1, b"error") => {
                        errors.push(OaiError { code: ErrorCode::parse(&attr(&start, b"code").unwrap_or_default()), message: String::new() })
                    }
                    (2, b"resumptionToken") if path[1] == b"ListRecords" => page.resumption_token = Some(token(&start)),
                    _ => {}
                }
            }
            Event::End(_) => {
                let Some(name) = path.pop() else { return Err(malformed_at(before, "unexpected end tag")) };
                match (path.len(), name.as_slice()) {
                    (1, b"responseDate") => page.response_date = Datestamp::parse(&text),
                    (1, b"error") => {
                        let code = ErrorCode::parse(error_code.take().unwrap_or_default().as_str());
                        errors.push(OaiError { code, message: text.trim().to_owned() });
                    }
                    (2, b"resumptionToken") => {
                        if let Some(mut t) = token_attrs.take() {
                            t.token = text.trim().to_owned();
                            page.resumption_token = Some(t);
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.unescape().map_err(|e| malformed(&reader, e))?),
            Event::CData(d) => text.push_str(&String::from_utf8_lossy(&d)),
            Event::DocType(_) => return Err(ResponseError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !path.is_empty() {
        return Err(malformed_at(xml.len(), "unclosed element at end of input"));
    }
    if !errors.is_empty() {
        return Err(ResponseError::Protocol(errors));
    }
    if !saw_list {
        return Err(ResponseError::Missing("ListRecords"));
    }
    Ok(page)
}

/// One `<record>…</record>` of a page (`offset`: where it starts in the page, for messages).
pub(crate) fn record(xml: &[u8], index: usize, offset: usize) -> Result<Record, BrokenRecord> {
    let broken = |reason: String| BrokenRecord { index, identifier: scan::identifier_in(xml), reason };
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut text = String::new();
    let mut header = Header { identifier: String::new(), datestamp: None, set_specs: Vec::new(), deleted: false };
    let mut metadata: Option<String> = None;
    let mut metadata_start = 0;
    loop {
        let before = position(&reader);
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => return Err(broken(format!("malformed XML at byte {}: {e}", offset + position(&reader)))),
        };
        match event {
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_vec();
                match (path.len(), name.as_slice()) {
                    (0, b"record") => {}
                    (0, other) => return Err(broken(format!("<{}> where a <record> was expected", String::from_utf8_lossy(other)))),
                    (1, b"header") => header.deleted = attr(&start, b"status").as_deref() == Some("deleted"),
                    (1, b"metadata") => metadata_start = position(&reader),
                    _ => {}
                }
                text.clear();
                path.push(name);
            }
            Event::Empty(start) => {
                if path.len() == 1 && start.local_name().as_ref() == b"header" {
                    return Err(broken("empty <header>".into()));
                }
            }
            Event::End(_) => {
                let Some(name) = path.pop() else { return Err(broken("unexpected end tag".into())) };
                match (path.len(), name.as_slice()) {
                    (0, _) => break,
                    (1, b"metadata") => {
                        let inner = String::from_utf8_lossy(&xml[metadata_start..before]).trim().to_owned();
                        metadata = Some(inner).filter(|m| !m.is_empty());
                    }
                    (2, b"identifier") if path[1] == b"header" => header.identifier = text.trim().to_owned(),
                    (2, b"datestamp") if path[1] == b"header" => header.datestamp = Datestamp::parse(&text),
                    (2, b"setSpec") if path[1] == b"header" => header.set_specs.push(text.trim().to_owned()),
                    _ => {}
                }
                text.clear();
            }
            Event::Text(t) => match t.unescape() {
                Ok(s) => text.push_str(&s),
                Err(e) => return Err(broken(format!("malformed XML at byte {}: {e}", offset + position(&reader)))),
            },
            Event::CData(d) => text.push_str(&String::from_utf8_lossy(&d)),
            Event::DocType(_) => return Err(broken("DOCTYPE inside a record".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => return Err(broken("the record is not closed".into())),
        }
    }
    if header.identifier.is_empty() {
        return Err(broken("the header has no identifier".into()));
    }
    if !header.deleted && metadata.is_none() {
        return Err(broken("no metadata (and not marked deleted)".into()));
    }
    if header.deleted {
        metadata = None;
    }
    Ok(Record { header, metadata })
}

/// Replaces the characters XML 1.0 forbids (C0 controls but tab, LF and CR) with U+FFFD. They are
/// single bytes that never occur inside a UTF-8 sequence, so this is safe on the raw bytes.
fn sanitize(xml: &[u8]) -> Cow<'_, [u8]> {
    let bad = |b: u8| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r');
    if !xml.iter().any(|&b| bad(b)) {
        return Cow::Borrowed(xml);
    }
    let mut out = Vec::with_capacity(xml.len() + 16);
    for &b in xml {
        if bad(b) { out.extend_from_slice("\u{FFFD}".as_bytes()) } else { out.push(b) }
    }
    Cow::Owned(out)
}

fn token(start: &BytesStart<'_>) -> ResumptionToken {
    ResumptionToken {
        token: String::new(),
        complete_list_size: attr(start, b"completeListSize").and_then(|v| v.trim().parse().ok()),
        cursor: attr(start, b"cursor").and_then(|v| v.trim().parse().ok()),
        expiration_date: attr(start, b"expirationDate").and_then(|v| Datestamp::parse(&v)),
    }
}

pub(crate) fn attr(start: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    start.attributes().flatten().find(|a| a.key.local_name().as_ref() == name).and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn position(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

fn malformed(reader: &Reader<&[u8]>, e: impl std::fmt::Display) -> ResponseError {
    ResponseError::Malformed { position: position(reader), reason: e.to_string() }
}

fn malformed_at(position: usize, reason: &str) -> ResponseError {
    ResponseError::Malformed { position, reason: reason.to_owned() }
}

/// A small element tree, for the small responses (Identify).
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn tree(xml: &[u8]) -> Result<Element, ResponseError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let element = |start: &BytesStart<'_>| Element {
        name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
        attrs: start
            .attributes()
            .flatten()
            .map(|a| {
                let v = a.unescape_value().map(|v| v.into_owned()).unwrap_or_default();
                (String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(), v)
            })
            .collect(),
        ..Default::default()
    };
    loop {
        match reader.read_event().map_err(|e| malformed(&reader, e))? {
            Event::Start(start) => {
                if stack.len() > 64 {
                    return Err(malformed(&reader, "nested too deep"));
                }
                stack.push(element(&start));
            }
            Event::Empty(start) => {
                let el = element(&start);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else { return Err(malformed(&reader, "unexpected end tag")) };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&t.unescape().map_err(|e| malformed(&reader, e))?);
                }
            }
            Event::CData(d) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&String::from_utf8_lossy(&d));
                }
            }
            Event::DocType(_) => return Err(ResponseError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => return Err(malformed(&reader, "no root element, or it is not closed")),
        }
    }
}

/// The verb's element of an OAI-PMH document, or its errors.
fn envelope<'a>(root: &'a Element, verb: &'static str) -> Result<&'a Element, ResponseError> {
    if root.name != "OAI-PMH" {
        return Err(ResponseError::NotOaiPmh { found: root.name.clone() });
    }
    let errors: Vec<OaiError> = root
        .children
        .iter()
        .filter(|c| c.name == "error")
        .map(|c| OaiError {
            code: ErrorCode::parse(c.attrs.iter().find(|(k, _)| k == "code").map(|(_, v)| v.as_str()).unwrap_or_default()),
            message: c.text.trim().to_owned(),
        })
        .collect();
    if !errors.is_empty() {
        return Err(ResponseError::Protocol(errors));
    }
    root.child(verb).ok_or(ResponseError::Missing(verb))
}
