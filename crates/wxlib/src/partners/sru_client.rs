//! Asking a partner library over SRU 1.2: one searchRetrieve, its answer read defensively.
//!
//! Whatever comes back — an SRU response (1.x or 2.0 namespaces, records packed as XML or as
//! escaped strings, MARCXML or Dublin Core), diagnostics, an HTML error page, broken XML, an
//! endless body — ends as [`RemoteResults`] or a typed [`SruError`], never as a panic. Bodies
//! are capped at [`MAX_BODY_BYTES`]; the caller bounds the time.

use std::sync::OnceLock;
use std::time::Duration;

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Serialize;

use super::Partner;

/// The largest response read from a partner.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SruError {
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("cannot reach it: {0}")]
    Unreachable(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("its answer is not a valid SRU response: {0}")]
    BadResponse(String),
    #[error("it answered with SRU diagnostic {code} ({message}{details})")]
    Diagnostic { code: String, message: String, details: String },
    #[error("its answer is larger than {} bytes", MAX_BODY_BYTES)]
    TooLarge,
}

/// A record a partner holds, as a result list shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RemoteHit {
    pub title: String,
    pub author: Option<String>,
    pub year: Option<u16>,
    pub publisher: Option<String>,
    pub isbn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RemoteResults {
    pub total: usize,
    pub hits: Vec<RemoteHit>,
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .user_agent(concat!("wxlib/", env!("CARGO_PKG_VERSION"), " (SRU federated search)"))
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default()
    })
}

/// One searchRetrieve at `partner` for the CQL `query`, first `max` records.
pub async fn search(partner: &Partner, query: &str, max: usize) -> Result<RemoteResults, SruError> {
    let max = max.to_string();
    let params = [
        ("version", "1.2"),
        ("operation", "searchRetrieve"),
        ("query", query),
        ("startRecord", "1"),
        ("maximumRecords", max.as_str()),
        ("recordSchema", partner.record_schema.as_str()),
        ("recordPacking", "xml"),
    ];
    let timeout = Duration::from_millis(partner.timeout_ms);
    let request = async {
        let mut resp = http().get(partner.endpoint()).query(&params).send().await.map_err(|e| SruError::Unreachable(short_error(&e)))?;
        if !resp.status().is_success() {
            return Err(SruError::Status(resp.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| SruError::Unreachable(short_error(&e)))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(SruError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    let body = tokio::time::timeout(timeout, request).await.map_err(|_| SruError::Timeout(partner.timeout_ms))??;
    let text = std::str::from_utf8(&body).map_err(|_| SruError::BadResponse("not UTF-8".into()))?;
    parse_response(text)
}

fn short_error(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused or no route".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        e.to_string().chars().take(120).collect()
    }
}

fn bad(e: impl std::fmt::Display) -> SruError {
    SruError::BadResponse(e.to_string().chars().take(160).collect())
}

/// Reads a searchRetrieveResponse (any SRU version): the count, the records, or the first
/// fatal diagnostic.
pub fn parse_response(xml: &str) -> Result<RemoteResults, SruError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut saw_root = false;
    let mut total: Option<usize> = None;
    let mut packing_string = false;
    let mut hits = Vec::new();
    let mut diag: Option<(String, String, String)> = None;
    let mut depth_path: Vec<Vec<u8>> = Vec::new();
    loop {
        match reader.read_event().map_err(bad)? {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_vec();
                if !saw_root {
                    if name != b"searchRetrieveResponse" {
                        return Err(bad(format!("root element <{}>", String::from_utf8_lossy(&name))));
                    }
                    saw_root = true;
                }
                match name.as_slice() {
                    b"numberOfRecords" => {
                        let t = reader.read_text(e.name()).map_err(bad)?;
                        total = Some(t.trim().parse().map_err(|_| bad(format!("numberOfRecords {t:?}")))?);
                        continue;
                    }
                    b"recordPacking" | b"recordXMLEscaping" if depth_path.last().map(Vec::as_slice) == Some(b"record") => {
                        let t = reader.read_text(e.name()).map_err(bad)?;
                        packing_string = t.trim() == "string";
                        continue;
                    }
                    b"recordData" => {
                        let inner = reader.read_text(e.name()).map_err(bad)?;
                        let data = if packing_string {
                            quick_xml::escape::unescape(&inner).map_err(bad)?.into_owned()
                        } else {
                            inner.into_owned()
                        };
                        hits.push(hit_of_record(&data)?);
                        continue;
                    }
                    b"diagnostic" if diag.is_none() => {
                        diag = Some(read_diagnostic(&mut reader, e.name())?);
                        continue;
                    }
                    _ => {}
                }
                depth_path.push(name);
            }
            Event::End(_) => {
                depth_path.pop();
            }
            Event::Empty(e) if !saw_root => {
                return Err(bad(format!("root element <{}/>", String::from_utf8_lossy(e.local_name().as_ref()))));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(bad("empty document"));
    }
    if !depth_path.is_empty() {
        return Err(bad("the document ends inside an element"));
    }
    // A diagnostic with no records is fatal; with records it is about one of them.
    if let (Some((code, message, details)), true) = (diag, hits.is_empty()) {
        return Err(SruError::Diagnostic { code, message, details: if details.is_empty() { details } else { format!(": {details}") } });
    }
    Ok(RemoteResults { total: total.ok_or_else(|| bad("no numberOfRecords"))?, hits })
}

fn read_diagnostic(reader: &mut Reader<&[u8]>, end: quick_xml::name::QName) -> Result<(String, String, String), SruError> {
    let end = end.as_ref().to_vec();
    let (mut uri, mut message, mut details) = (String::new(), String::new(), String::new());
    loop {
        match reader.read_event().map_err(bad)? {
            Event::Start(e) => {
                let t = reader.read_text(e.name()).map_err(bad)?;
                let t = quick_xml::escape::unescape(&t).map(|c| c.into_owned()).unwrap_or_else(|_| t.into_owned());
                match e.local_name().as_ref() {
                    b"uri" => uri = t,
                    b"message" => message = t,
                    b"details" => details = t,
                    _ => {}
                }
            }
            Event::End(e) if e.name().as_ref() == end.as_slice() => break,
            Event::Eof => return Err(bad("the document ends inside a diagnostic")),
            _ => {}
        }
    }
    let code = uri.rsplit('/').next().unwrap_or_default().to_owned();
    Ok((code, message, details))
}

/// A record's data (MARCXML or Dublin Core) as a result line.
pub fn hit_of_record(data: &str) -> Result<RemoteHit, SruError> {
    if let Some(Ok(rec)) = marc::XmlReader::new(data.as_bytes()).next() {
        let b = marc::Bib::from_record(&rec);
        let title = b.title_vernacular.clone().or_else(|| b.title.clone()).unwrap_or_default();
        if !title.is_empty() {
            return Ok(RemoteHit {
                title,
                author: b.main_author_vernacular.clone().or_else(|| b.main_author.clone()).or_else(|| b.authors.first().cloned()),
                year: b.year,
                publisher: b.publisher_vernacular.clone().or_else(|| b.publisher.clone()),
                isbn: b.isbn13.first().cloned(),
            });
        }
    }
    // Dublin Core (or anything with dc-like elements): first title, creator, date, publisher, ISBN.
    let mut reader = Reader::from_str(data);
    reader.config_mut().trim_text(true);
    let mut hit = RemoteHit::default();
    loop {
        match reader.read_event().map_err(bad)? {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_vec();
                if matches!(name.as_slice(), b"title" | b"creator" | b"date" | b"publisher" | b"identifier") {
                    let t = reader.read_text(e.name()).map_err(bad)?;
                    let t = quick_xml::escape::unescape(&t).map_err(bad)?.trim().to_owned();
                    match name.as_slice() {
                        b"title" if hit.title.is_empty() => hit.title = t,
                        b"creator" if hit.author.is_none() => hit.author = Some(t),
                        b"date" if hit.year.is_none() => hit.year = marc::bib::first_year(&t),
                        b"publisher" if hit.publisher.is_none() => hit.publisher = Some(t),
                        b"identifier" if hit.isbn.is_none() => {
                            let i = t.trim_start_matches("URN:ISBN:").trim_start_matches("urn:ISBN:");
                            if i.chars().filter(char::is_ascii_digit).count() >= 10 && i.len() <= 20 {
                                hit.isbn = Some(i.to_owned());
                            }
                        }
                        _ => {}
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if hit.title.is_empty() {
        hit.title = "(无题名 untitled)".into();
    }
    Ok(hit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_diagnostics_and_refuses_garbage() {
        let ok = r#"<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:version>1.2</zs:version><zs:numberOfRecords>7</zs:numberOfRecords>
            <zs:records><zs:record><zs:recordSchema>dc</zs:recordSchema><zs:recordPacking>xml</zs:recordPacking><zs:recordData>
            <srw_dc:dc xmlns:srw_dc="info:srw/schema/1/dc-schema" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>三体 &amp; more</dc:title><dc:creator>刘慈欣</dc:creator><dc:date>2008</dc:date></srw_dc:dc>
            </zs:recordData><zs:recordPosition>1</zs:recordPosition></zs:record></zs:records></zs:searchRetrieveResponse>"#;
        let r = parse_response(ok).unwrap();
        assert_eq!(r.total, 7);
        assert_eq!(
            r.hits[0],
            RemoteHit { title: "三体 & more".into(), author: Some("刘慈欣".into()), year: Some(2008), ..Default::default() }
        );
        let string_packed = r#"<searchRetrieveResponse xmlns="http://docs.oasis-open.org/ns/search-ws/sruResponse"><numberOfRecords>1</numberOfRecords><records><record><recordSchema>dc</recordSchema><recordXMLEscaping>string</recordXMLEscaping><recordData>&lt;dc&gt;&lt;title&gt;A &amp;amp; B&lt;/title&gt;&lt;/dc&gt;</recordData></record></records></searchRetrieveResponse>"#;
        assert_eq!(parse_response(string_packed).unwrap().hits[0].title, "A & B");
        let diag = r#"<zs:searchRetrieveResponse xmlns:zs="http://www.loc.gov/zing/srw/"><zs:numberOfRecords>0</zs:numberOfRecords><zs:diagnostics><diag:diagnostic xmlns:diag="http://www.loc.gov/zing/srw/diagnostic/"><diag:uri>info:srw/diagnostic/1/16</diag:uri><diag:details>dc.foo</diag:details><diag:message>Unsupported index</diag:message></diag:diagnostic></zs:diagnostics></zs:searchRetrieveResponse>"#;
        assert!(matches!(parse_response(diag), Err(SruError::Diagnostic { code, .. }) if code == "16"));
        for garbage in [
            "",
            "<html><body>404</body></html>",
            "<zs:searchRetrieveResponse xmlns:zs=\"x\"><zs:numberOfRecords>3",
            "<<<>>>",
            "<zs:searchRetrieveResponse xmlns:zs=\"x\"><zs:numberOfRecords>many</zs:numberOfRecords></zs:searchRetrieveResponse>",
        ] {
            assert!(matches!(parse_response(garbage), Err(SruError::BadResponse(_))), "{garbage}");
        }
    }
}
