//! `/sru`: our catalog for partner libraries and any SRU client, as the SRU standard says.
//!
//! * Versions 1.1 and 1.2 (namespace `http://www.loc.gov/zing/srw/`, `operation` parameter) and
//!   2.0 (OASIS namespaces, operation inferred: a `query` means searchRetrieve). Without
//!   `version`, a request with `operation` is 1.2 and one without is 2.0; a bare URL is explain.
//! * searchRetrieve: CQL ([`cql`]) mapped onto our own ranked search ([`super::cql_map`]);
//!   `startRecord` (1-based), `maximumRecords` (default `partners.sru_default_records`, at most
//!   `partners.sru_max_records`, 0 = count only), `nextRecordPosition` while more remain;
//!   records as MARCXML (`marcxml`, `info:srw/schema/1/marcxml-v1.1`) or Dublin Core (`dc`,
//!   `info:srw/schema/1/dc-v1.1`), packed as XML or as an escaped string.
//! * Diagnostics (`info:srw/diagnostic/1/N`) instead of HTTP errors: 4 unsupported operation,
//!   5 version, 6 parameter value, 7 missing parameter, 8 unsupported parameter, 10 query
//!   syntax (with the byte position), 15/16/19/20/27/36/37/80 from the CQL mapping, 61 first
//!   record out of range, 66 unknown schema, 71 record packing, 72 XPath.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::cql_map::{self, BATH_SET, CQL_SET, DC_SET};
use crate::services::Services;
use crate::web::escape;

const SRW_NS: &str = "http://www.loc.gov/zing/srw/";
const SRW_DIAG_NS: &str = "http://www.loc.gov/zing/srw/diagnostic/";
const SRU2_NS: &str = "http://docs.oasis-open.org/ns/search-ws/sruResponse";
const SRU2_DIAG_NS: &str = "http://docs.oasis-open.org/ns/search-ws/diagnostic";
const EXPLAIN_NS: &str = "http://explain.z3950.org/dtd/2.0/";
pub const MARCXML_SCHEMA: &str = "info:srw/schema/1/marcxml-v1.1";
pub const DC_SCHEMA: &str = "info:srw/schema/1/dc-v1.1";

/// Parameters a request may carry (anything else, except `x-` extensions, is diagnostic 8).
const KNOWN_PARAMS: &[&str] = &[
    "operation",
    "version",
    "query",
    "queryType",
    "startRecord",
    "maximumRecords",
    "recordSchema",
    "recordPacking",
    "recordXMLEscaping",
    "resultSetTTL",
    "stylesheet",
    "sortKeys",
    "recordXPath",
    "extraRequestData",
    "scanClause",
    "responsePosition",
    "maximumTerms",
    "httpAccept",
    "renderedBy",
];

pub fn routes(services: Services) -> axum::Router {
    axum::Router::new().route("/sru", get(sru_get).post(sru_post)).with_state(services)
}

async fn sru_get(State(s): State<Services>, RawQuery(q): RawQuery) -> Response {
    answer(&s, q.as_deref().unwrap_or("")).await
}

/// SRU over POST: the same parameters as a form body (`application/x-www-form-urlencoded`).
async fn sru_post(State(s): State<Services>, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let body = String::from_utf8_lossy(&body);
    let all = match q.as_deref() {
        Some(q) if !q.is_empty() => format!("{q}&{body}"),
        _ => body.into_owned(),
    };
    answer(&s, &all).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V11,
    V12,
    V20,
}

impl Version {
    fn as_str(self) -> &'static str {
        match self {
            Version::V11 => "1.1",
            Version::V12 => "1.2",
            Version::V20 => "2.0",
        }
    }
}

/// One SRU diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    pub code: u32,
    pub details: String,
}

fn diag(code: u32, details: impl Into<String>) -> Diag {
    Diag { code, details: details.into() }
}

/// The standard's message for each diagnostic we send.
fn diag_message(code: u32) -> &'static str {
    match code {
        1 => "General system error",
        4 => "Unsupported operation",
        5 => "Unsupported version",
        6 => "Unsupported parameter value",
        7 => "Mandatory parameter not supplied",
        8 => "Unsupported parameter",
        10 => "Query syntax error",
        15 => "Unsupported context set",
        16 => "Unsupported index",
        19 => "Unsupported relation",
        20 => "Unsupported relation modifier",
        27 => "Empty term unsupported",
        36 => "Term in invalid format for index or relation",
        37 => "Unsupported boolean operator",
        61 => "First record position out of range",
        66 => "Unknown schema for retrieval",
        71 => "Unsupported record packing",
        72 => "XPath retrieval unsupported",
        80 => "Sort not supported",
        _ => "Unsupported",
    }
}

struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn xml_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}")).into_response()
}

async fn answer(s: &Services, raw_query: &str) -> Response {
    let params = match serde_urlencoded::from_str::<Vec<(String, String)>>(raw_query) {
        Ok(p) => Params(p),
        Err(e) => {
            return xml_response(search_response(
                Version::V12,
                &SearchEcho::default(),
                0,
                &[],
                None,
                &[diag(6, format!("request parameters: {e}"))],
            ));
        }
    };
    let version = match params.get("version") {
        Some("1.1") => Version::V11,
        Some("1.2") => Version::V12,
        Some("2.0") => Version::V20,
        Some(other) => {
            return xml_response(search_response(
                Version::V12,
                &SearchEcho::default(),
                0,
                &[],
                None,
                &[diag(5, format!("{other}; supported: 1.1, 1.2, 2.0"))],
            ));
        }
        None if params.get("operation").is_some() => Version::V12,
        None => Version::V20,
    };
    let operation = match (params.get("operation"), version) {
        (Some(op), _) => op.to_owned(),
        (None, _) if params.0.is_empty() => "explain".to_owned(),
        (None, Version::V20) if params.get("query").is_some() => "searchRetrieve".to_owned(),
        (None, Version::V20) if params.get("scanClause").is_some() => "scan".to_owned(),
        (None, Version::V20) => "explain".to_owned(),
        (None, _) if params.get("query").is_none() => "explain".to_owned(),
        (None, _) => return xml_response(search_response(version, &SearchEcho::default(), 0, &[], None, &[diag(7, "operation")])),
    };
    if let Some((name, _)) = params.0.iter().find(|(k, _)| !k.starts_with("x-") && !KNOWN_PARAMS.contains(&k.as_str())) {
        let d = diag(8, name.clone());
        return xml_response(if operation == "explain" {
            explain_response(s, version, &[d])
        } else {
            search_response(version, &SearchEcho::default(), 0, &[], None, &[d])
        });
    }
    metrics::counter!("wxlib_sru_requests_total", "operation" => if matches!(operation.as_str(), "explain" | "searchRetrieve") { operation.clone() } else { "other".to_owned() }, "version" => version.as_str()).increment(1);
    match operation.as_str() {
        "explain" => xml_response(explain_response(s, version, &[])),
        "searchRetrieve" => xml_response(search_retrieve(s, version, &params).await),
        other => xml_response(search_response(version, &SearchEcho::default(), 0, &[], None, &[diag(4, other)])),
    }
}

/// What the request asked, echoed back (1.x `echoedSearchRetrieveRequest`).
#[derive(Debug, Default)]
struct SearchEcho {
    query: String,
    start: usize,
    maximum: Option<usize>,
    schema: String,
    packing: String,
}

enum Schema {
    MarcXml,
    Dc,
}

async fn search_retrieve(s: &Services, version: Version, params: &Params) -> String {
    let cfg = &s.config.partners;
    let mut echo = SearchEcho { query: params.get("query").unwrap_or_default().to_owned(), start: 1, ..Default::default() };
    let fail = |echo: &SearchEcho, d: Diag| search_response(version, echo, 0, &[], None, &[d]);
    let Some(query) = params.get("query") else { return fail(&echo, diag(7, "query")) };
    if let Some(t) = params.get("queryType").filter(|t| *t != "cql") {
        return fail(&echo, diag(6, format!("queryType={t}; supported: cql")));
    }
    let number = |name: &'static str| -> Result<Option<usize>, Diag> {
        match params.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v.trim().parse::<usize>().map(Some).map_err(|_| diag(6, format!("{name}={v}"))),
        }
    };
    let start = match number("startRecord") {
        Ok(Some(0)) => return fail(&echo, diag(6, "startRecord=0; records are numbered from 1")),
        Ok(v) => v.unwrap_or(1),
        Err(d) => return fail(&echo, d),
    };
    echo.start = start;
    let maximum = match number("maximumRecords") {
        Ok(v) => v,
        Err(d) => return fail(&echo, d),
    };
    echo.maximum = maximum;
    let limit = maximum.unwrap_or(cfg.sru_default_records).min(cfg.sru_max_records);
    let schema_name = params.get("recordSchema").unwrap_or("marcxml");
    echo.schema = schema_name.to_owned();
    let schema = match schema_name {
        "marcxml" | "MARC21-xml" | "marc21" | MARCXML_SCHEMA => Schema::MarcXml,
        "dc" | DC_SCHEMA => Schema::Dc,
        other => return fail(&echo, diag(66, other)),
    };
    let escaped = if version == Version::V20 {
        if let Some(p) = params.get("recordPacking").filter(|p| *p != "packed") {
            return fail(&echo, diag(71, format!("recordPacking={p}; supported: packed")));
        }
        match params.get("recordXMLEscaping").unwrap_or("xml") {
            "xml" => false,
            "string" => true,
            other => return fail(&echo, diag(71, format!("recordXMLEscaping={other}"))),
        }
    } else {
        match params.get("recordPacking").unwrap_or("xml") {
            "xml" => false,
            "string" => true,
            other => return fail(&echo, diag(71, other)),
        }
    };
    echo.packing = if escaped { "string".into() } else { "xml".into() };
    if let Some(x) = params.get("recordXPath") {
        return fail(&echo, diag(72, x));
    }
    if let Some(k) = params.get("sortKeys").filter(|k| !k.is_empty()) {
        return fail(&echo, diag(80, k));
    }
    if query.chars().count() > 1000 {
        return fail(&echo, diag(10, "query longer than 1000 characters"));
    }
    let parsed = match cql::parse(query) {
        Ok(q) => q,
        Err(e) => return fail(&echo, diag(10, e.to_string())),
    };
    let plan = match cql_map::plan(&parsed) {
        Ok(p) => p,
        Err(u) => return fail(&echo, diag(u.code, u.details)),
    };
    let ranked = match cql_map::run(&s.catalog, &plan, start - 1, limit).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "SRU search failed");
            return fail(&echo, diag(1, "the search failed; try again"));
        }
    };
    if start > ranked.total.max(1) {
        return search_response(
            version,
            &echo,
            ranked.total,
            &[],
            None,
            &[diag(61, format!("startRecord={start}; {} record(s)", ranked.total))],
        );
    }
    let mut records = Vec::with_capacity(ranked.ids.len());
    for (i, id) in ranked.ids.iter().enumerate() {
        let data = match s.db.record_marc(id).await {
            Ok(Some(raw)) => record_data(&raw, &schema, id, &s.config.server.public_url),
            Ok(None) => None, // deleted since the index answered
            Err(e) => {
                tracing::error!(error = %e, "SRU record load failed");
                return fail(&echo, diag(1, "the records could not be loaded; try again"));
            }
        };
        if let Some(data) = data {
            records.push(RecordOut { data: if escaped { escape(&data) } else { data }, position: start + i });
        }
    }
    let schema_id = match schema {
        Schema::MarcXml => MARCXML_SCHEMA,
        Schema::Dc => DC_SCHEMA,
    };
    let shown = ranked.ids.len();
    let next = (start + shown <= ranked.total && shown > 0).then_some(start + shown);
    let records: Vec<(String, usize)> = records.into_iter().map(|r| (r.data, r.position)).collect();
    search_response_with(version, &echo, ranked.total, &records, schema_id, escaped, next, &[])
}

struct RecordOut {
    data: String,
    position: usize,
}

/// One stored record as MARCXML or Dublin Core (`None` if the stored MARC cannot be read).
fn record_data(raw: &[u8], schema: &Schema, id: &str, public_url: &str) -> Option<String> {
    let record = marc::Reader::with_charset(raw, marc::Charset::Utf8).next()?.ok()?;
    Some(match schema {
        Schema::MarcXml => marc::to_marcxml_record(&record),
        Schema::Dc => dublin_core(&marc::Bib::from_record(&record), id, public_url),
    })
}

/// The SRU Dublin Core record (`info:srw/schema/1/dc-v1.1`).
pub fn dublin_core(b: &marc::Bib, id: &str, public_url: &str) -> String {
    let mut out = String::from("<srw_dc:dc xmlns:srw_dc=\"info:srw/schema/1/dc-schema\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">");
    let mut el = |name: &str, value: &str| {
        if !value.trim().is_empty() {
            out.push_str(&format!("<dc:{name}>{}</dc:{name}>", escape(value.trim())));
        }
    };
    for t in [&b.title_vernacular, &b.title].into_iter().flatten() {
        el("title", t);
    }
    for a in &b.authors {
        el("creator", a);
    }
    for sub in &b.subjects {
        el("subject", sub);
    }
    if let Some(p) = b.publisher_vernacular.as_ref().or(b.publisher.as_ref()) {
        el("publisher", p);
    }
    if let Some(y) = b.year {
        el("date", &y.to_string());
    }
    for isbn in &b.isbn13 {
        el("identifier", &format!("URN:ISBN:{isbn}"));
    }
    el("identifier", &format!("{public_url}/opac/record/{}", crate::web::urlencode(id)));
    if let Some(l) = &b.language {
        el("language", l);
    }
    el("type", "Text");
    out.push_str("</srw_dc:dc>");
    out
}

fn search_response(
    version: Version,
    echo: &SearchEcho,
    total: usize,
    records: &[(String, usize)],
    next: Option<usize>,
    diags: &[Diag],
) -> String {
    search_response_with(version, echo, total, records, MARCXML_SCHEMA, false, next, diags)
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one SRU response, given by the two callers that differ only in schema and packing"
)]
fn search_response_with(
    version: Version,
    echo: &SearchEcho,
    total: usize,
    records: &[(String, usize)],
    schema_id: &str,
    escaped: bool,
    next: Option<usize>,
    diags: &[Diag],
) -> String {
    let v2 = version == Version::V20;
    let (p, ns) = if v2 { ("sru", SRU2_NS) } else { ("zs", SRW_NS) };
    let mut out = format!("<{p}:searchRetrieveResponse xmlns:{p}=\"{ns}\">");
    if !v2 {
        out.push_str(&format!("<{p}:version>{}</{p}:version>", version.as_str()));
    }
    out.push_str(&format!("<{p}:numberOfRecords>{total}</{p}:numberOfRecords>"));
    if !records.is_empty() {
        out.push_str(&format!("<{p}:records>"));
        for (data, position) in records {
            out.push_str(&format!("<{p}:record><{p}:recordSchema>{schema_id}</{p}:recordSchema>"));
            if v2 {
                out.push_str(&format!("<{p}:recordXMLEscaping>{}</{p}:recordXMLEscaping>", if escaped { "string" } else { "xml" }));
            } else {
                out.push_str(&format!("<{p}:recordPacking>{}</{p}:recordPacking>", if escaped { "string" } else { "xml" }));
            }
            out.push_str(&format!(
                "<{p}:recordData>{data}</{p}:recordData><{p}:recordPosition>{position}</{p}:recordPosition></{p}:record>"
            ));
        }
        out.push_str(&format!("</{p}:records>"));
    }
    if let Some(n) = next {
        out.push_str(&format!("<{p}:nextRecordPosition>{n}</{p}:nextRecordPosition>"));
    }
    if !v2 && !echo.query.is_empty() {
        out.push_str(&format!(
            "<{p}:echoedSearchRetrieveRequest><{p}:version>{}</{p}:version><{p}:query>{}</{p}:query><{p}:startRecord>{}</{p}:startRecord>",
            version.as_str(),
            escape(&echo.query),
            echo.start
        ));
        if let Some(m) = echo.maximum {
            out.push_str(&format!("<{p}:maximumRecords>{m}</{p}:maximumRecords>"));
        }
        if !echo.packing.is_empty() {
            out.push_str(&format!("<{p}:recordPacking>{}</{p}:recordPacking>", escape(&echo.packing)));
        }
        if !echo.schema.is_empty() {
            out.push_str(&format!("<{p}:recordSchema>{}</{p}:recordSchema>", escape(&echo.schema)));
        }
        out.push_str(&format!("</{p}:echoedSearchRetrieveRequest>"));
    }
    push_diagnostics(&mut out, version, diags);
    if v2 {
        out.push_str(&format!("<{p}:resultCountPrecision>info:srw/vocabulary/resultCountPrecision/1/exact</{p}:resultCountPrecision>"));
    }
    out.push_str(&format!("</{p}:searchRetrieveResponse>"));
    out
}

fn push_diagnostics(out: &mut String, version: Version, diags: &[Diag]) {
    if diags.is_empty() {
        return;
    }
    let (p, dns) = if version == Version::V20 { ("sru", SRU2_DIAG_NS) } else { ("zs", SRW_DIAG_NS) };
    out.push_str(&format!("<{p}:diagnostics>"));
    for d in diags {
        out.push_str(&format!(
            "<diag:diagnostic xmlns:diag=\"{dns}\"><diag:uri>info:srw/diagnostic/1/{}</diag:uri><diag:details>{}</diag:details><diag:message>{}</diag:message></diag:diagnostic>",
            d.code,
            escape(&d.details),
            diag_message(d.code)
        ));
    }
    out.push_str(&format!("</{p}:diagnostics>"));
}

/// The explain record: who we are, the indexes and relations we support, the schemas we return.
fn explain_record(s: &Services, version: Version) -> String {
    let url = reqwest::Url::parse(&s.config.server.public_url).ok();
    let host = url.as_ref().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "localhost".into());
    let port = url.as_ref().and_then(|u| u.port_or_known_default()).unwrap_or(80);
    let path = url
        .as_ref()
        .map(|u| u.path().trim_matches('/').to_owned())
        .filter(|p| !p.is_empty())
        .map(|p| format!("{p}/sru"))
        .unwrap_or_else(|| "sru".into());
    let lib = &s.config.library;
    let p = &s.config.partners;
    let index = |set: &str, name: &str, title: &str| {
        format!(
            "<index search=\"true\" scan=\"false\" sort=\"false\"><title>{title}</title><map><name set=\"{set}\">{name}</name></map></index>"
        )
    };
    format!(
        "<explain xmlns=\"{EXPLAIN_NS}\"><serverInfo protocol=\"SRU\" version=\"{v}\" transport=\"{scheme}\" method=\"GET POST\"><host>{host}</host><port>{port}</port><database>{db}</database></serverInfo>\
         <databaseInfo><title lang=\"zh\" primary=\"true\">{name}</title><description lang=\"zh\">{about}</description></databaseInfo>\
         <indexInfo><set identifier=\"{DC_SET}\" name=\"dc\"/><set identifier=\"{CQL_SET}\" name=\"cql\"/><set identifier=\"{BATH_SET}\" name=\"bath\"/>{i1}{i2}{i3}{i4}{i5}{i6}{i7}</indexInfo>\
         <schemaInfo><schema identifier=\"{MARCXML_SCHEMA}\" name=\"marcxml\" sort=\"false\" retrieve=\"true\"><title>MARCXML</title></schema>\
         <schema identifier=\"{DC_SCHEMA}\" name=\"dc\" sort=\"false\" retrieve=\"true\"><title>Dublin Core</title></schema></schemaInfo>\
         <configInfo><default type=\"numberOfRecords\">{dflt}</default><default type=\"retrieveSchema\">marcxml</default><default type=\"contextSet\">dc</default><default type=\"relation\">=</default>\
         <setting type=\"maximumRecords\">{max}</setting><supports type=\"relation\">=</supports><supports type=\"relation\">==</supports><supports type=\"relation\">all</supports>\
         <supports type=\"relation\">any</supports><supports type=\"relation\">adj</supports><supports type=\"booleanOperator\">and</supports><supports type=\"booleanOperator\">or</supports>\
         <supports type=\"booleanOperator\">not</supports><supports type=\"relationModifier\">relevant</supports></configInfo></explain>",
        v = version.as_str(),
        scheme = url.as_ref().map(|u| u.scheme().to_owned()).unwrap_or_else(|| "http".into()),
        host = escape(&host),
        db = escape(&path),
        name = escape(&lib.name),
        about = escape(&lib.about),
        i1 = index("dc", "title", "题名 title"),
        i2 = index("dc", "creator", "责任者 creator"),
        i3 = index("dc", "subject", "主题词 subject"),
        i4 = index("dc", "date", "出版年 date"),
        i5 = index("cql", "anywhere", "任意词 anywhere"),
        i6 = index("cql", "serverChoice", "任意词 server choice"),
        i7 = index("bath", "isbn", "ISBN"),
        dflt = p.sru_default_records,
        max = p.sru_max_records,
    )
}

fn explain_response(s: &Services, version: Version, diags: &[Diag]) -> String {
    let v2 = version == Version::V20;
    let (p, ns) = if v2 { ("sru", SRU2_NS) } else { ("zs", SRW_NS) };
    let mut out = format!("<{p}:explainResponse xmlns:{p}=\"{ns}\">");
    if !v2 {
        out.push_str(&format!("<{p}:version>{}</{p}:version>", version.as_str()));
    }
    out.push_str(&format!("<{p}:record><{p}:recordSchema>{EXPLAIN_NS}</{p}:recordSchema>"));
    out.push_str(&if v2 {
        format!("<{p}:recordXMLEscaping>xml</{p}:recordXMLEscaping>")
    } else {
        format!("<{p}:recordPacking>xml</{p}:recordPacking>")
    });
    out.push_str(&format!("<{p}:recordData>{}</{p}:recordData></{p}:record>", explain_record(s, version)));
    push_diagnostics(&mut out, version, diags);
    out.push_str(&format!("</{p}:explainResponse>"));
    out
}
