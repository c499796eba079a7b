//! ListRecords and Identify pages as real repositories write them (Koha's `marc21` with a
//! `marc:` prefix, oai_repo/lxml with a default namespace), broken ones, and protocol errors.

use oai::{DeletedRecord, ErrorCode, Granularity, ResponseError, parse_identify, parse_list_records};

/// A Koha page: a record with a `marc:` prefix, a deletion, a resumption token.
const KOHA_PAGE: &str = include_str!("page.xml");

#[test]
fn a_koha_page_gives_records_deletions_and_the_next_token() {
    let page = parse_list_records(KOHA_PAGE.as_bytes()).unwrap();
    assert_eq!(page.response_date.map(|d| d.to_string()).as_deref(), Some("2026-12-07T01:02:03Z"));
    assert_eq!(page.records.len(), 2);
    let first = page.records[0].as_ref().unwrap();
    assert_eq!(first.header.identifier, "KOHA-OAI-TEST:1");
    assert_eq!(first.header.set_specs, ["books", "zh"]);
    assert!(!first.header.deleted);
    let metadata = first.metadata.as_deref().unwrap();
    assert!(metadata.starts_with("<marc:record") && metadata.ends_with("</marc:record>"), "{metadata}");
    // The metadata is the page's own XML, escapes and all, ready for a MARCXML reader.
    assert!(metadata.contains("鲁迅全集 &amp; 书信"));
    let second = page.records[1].as_ref().unwrap();
    assert!(second.header.deleted);
    assert_eq!(second.metadata, None);
    assert_eq!(page.next_token(), Some("marc21/2026-12-06/2"));
    let token = page.resumption_token.unwrap();
    assert_eq!((token.complete_list_size, token.cursor), (Some(5), Some(0)));
}

#[test]
fn an_empty_token_ends_the_list() {
    for tail in [r#"<resumptionToken completeListSize="5" cursor="4"/>"#, "<resumptionToken cursor=\"4\"> </resumptionToken>", ""] {
        let xml = format!(
            "<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\"><responseDate>2026-12-07T01:02:03Z</responseDate>\
             <ListRecords><record><header><identifier>x:1</identifier><datestamp>2026-12-07</datestamp></header>\
             <metadata><record xmlns=\"http://www.loc.gov/MARC21/slim\"><controlfield tag=\"001\">1</controlfield></record></metadata>\
             </record>{tail}</ListRecords></OAI-PMH>"
        );
        let page = parse_list_records(xml.as_bytes()).unwrap();
        assert_eq!(page.next_token(), None, "{tail}");
        // A MARCXML <record> with the default namespace inside an OAI <record>.
        let m = page.records[0].as_ref().unwrap().metadata.as_deref().unwrap();
        assert!(m.starts_with("<record xmlns=\"http://www.loc.gov/MARC21/slim\">") && m.ends_with("</record>"));
    }
}

#[test]
fn protocol_errors_are_answers_not_parse_failures() {
    let xml = r#"<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-12-07T01:02:03Z</responseDate>
        <request verb="ListRecords">http://h/oai</request><error code="noRecordsMatch">No records match.</error></OAI-PMH>"#;
    let err = parse_list_records(xml.as_bytes()).unwrap_err();
    assert!(err.has_code(&ErrorCode::NoRecordsMatch), "{err}");
    assert_eq!(err.to_string(), "the repository answered noRecordsMatch (No records match.)");
    let bad_token = r#"<OAI-PMH><error code="badResumptionToken">expired</error><error code="x-vendor">?</error></OAI-PMH>"#;
    let err = parse_list_records(bad_token.as_bytes()).unwrap_err();
    assert!(err.has_code(&ErrorCode::BadResumptionToken));
    assert!(err.has_code(&ErrorCode::Other("x-vendor".into())));
}

#[test]
fn what_is_not_oai_pmh_says_so() {
    let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
    assert_eq!(parse_list_records(html.as_bytes()).unwrap_err(), ResponseError::NotOaiPmh { found: "html".into() });
    assert_eq!(parse_identify(html.as_bytes()).unwrap_err(), ResponseError::NotOaiPmh { found: "html".into() });
    assert!(matches!(parse_list_records(b"").unwrap_err(), ResponseError::Malformed { .. } | ResponseError::Missing(_)));
    let doctype = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><OAI-PMH><ListRecords/></OAI-PMH>";
    assert_eq!(parse_list_records(doctype.as_bytes()).unwrap_err(), ResponseError::Doctype);
    let no_list = "<OAI-PMH><responseDate>2026-12-07T01:02:03Z</responseDate><GetRecord/></OAI-PMH>";
    assert_eq!(parse_list_records(no_list.as_bytes()).unwrap_err(), ResponseError::Missing("ListRecords"));
}

/// Three records; the middle one's XML is broken (an unescaped `&` and a tag closed wrongly).
const BROKEN_MIDDLE: &str = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-12-07T01:02:03Z</responseDate>
<ListRecords>
<record><header><identifier>oai:lib:1</identifier><datestamp>2026-12-07</datestamp></header>
<metadata><record xmlns="http://www.loc.gov/MARC21/slim"><controlfield tag="001">1</controlfield></record></metadata></record>
<record><header><identifier>oai:lib:2</identifier><datestamp>2026-12-07</datestamp></header>
<metadata><record xmlns="http://www.loc.gov/MARC21/slim"><datafield tag="245"><subfield code="a">Tom & Jerry</subfield></datafeld></record></metadata></record>
<record><header><identifier>oai:lib:3</identifier><datestamp>2026-12-07</datestamp></header>
<metadata><record xmlns="http://www.loc.gov/MARC21/slim"><controlfield tag="001">3</controlfield></record></metadata></record>
<resumptionToken cursor="0">next-3</resumptionToken>
</ListRecords></OAI-PMH>"#;

#[test]
fn a_broken_record_is_named_and_the_others_still_read() {
    let page = parse_list_records(BROKEN_MIDDLE.as_bytes()).unwrap();
    assert_eq!(page.records.len(), 3);
    assert_eq!(page.records[0].as_ref().unwrap().header.identifier, "oai:lib:1");
    let broken = page.records[1].as_ref().unwrap_err();
    assert_eq!((broken.index, broken.identifier.as_deref()), (1, Some("oai:lib:2")));
    assert!(broken.reason.contains("malformed XML"), "{}", broken.reason);
    assert_eq!(page.records[2].as_ref().unwrap().header.identifier, "oai:lib:3");
    assert_eq!(page.next_token(), Some("next-3"));
    assert_eq!(page.response_date.map(|d| d.to_string()).as_deref(), Some("2026-12-07T01:02:03Z"));
}

#[test]
fn control_characters_from_marc_data_do_not_break_the_page() {
    // A MARC subfield delimiter (0x1F) that leaked into the XML: forbidden in XML 1.0.
    let xml = BROKEN_MIDDLE.replace("Tom & Jerry</subfield></datafeld>", "Tom \u{1f}Jerry</subfield></datafield>");
    let page = parse_list_records(xml.as_bytes()).unwrap();
    assert!(page.records.iter().all(Result::is_ok), "{:?}", page.records);
    assert!(page.records[1].as_ref().unwrap().metadata.as_deref().unwrap().contains("Tom \u{FFFD}Jerry"));
}

#[test]
fn records_without_identifier_or_metadata_are_broken() {
    let xml = r#"<OAI-PMH><ListRecords>
        <record><header><datestamp>2026-12-07</datestamp></header><metadata><x/></metadata></record>
        <record><header><identifier>oai:lib:9</identifier></header></record>
        </ListRecords></OAI-PMH>"#;
    let page = parse_list_records(xml.as_bytes()).unwrap();
    let reasons: Vec<String> = page.records.iter().map(|r| r.as_ref().unwrap_err().reason.clone()).collect();
    assert_eq!(reasons, ["the header has no identifier", "no metadata (and not marked deleted)"]);
    assert_eq!(page.records[1].as_ref().unwrap_err().identifier.as_deref(), Some("oai:lib:9"));
}

#[test]
fn strict_and_lenient_reads_agree_on_good_pages() {
    // The lenient path is only taken after a strict failure; force it by breaking the page after
    // the list, where no record is touched, and compare.
    let good = parse_list_records(KOHA_PAGE.as_bytes()).unwrap();
    let broken_after = KOHA_PAGE.replace("</OAI-PMH>", "<oops></OAI-PMH>");
    let lenient = parse_list_records(broken_after.as_bytes()).unwrap();
    assert_eq!(good, lenient);
}

#[test]
fn identify_says_granularity_and_deletions() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-12-07T01:02:03Z</responseDate>
<request verb="Identify">http://127.0.0.1:9/oai</request>
<Identify><repositoryName>Test Library</repositoryName><baseURL>http://127.0.0.1:9/oai</baseURL>
<protocolVersion>2.0</protocolVersion><adminEmail>oai@lib.example.edu</adminEmail>
<earliestDatestamp>1990-01-01T00:00:00Z</earliestDatestamp><deletedRecord>persistent</deletedRecord>
<granularity>YYYY-MM-DDThh:mm:ssZ</granularity><compression>gzip</compression></Identify></OAI-PMH>"#;
    let id = parse_identify(xml.as_bytes()).unwrap();
    assert_eq!(id.repository_name, "Test Library");
    assert_eq!(id.granularity, Granularity::Seconds);
    assert_eq!(id.deleted_record, DeletedRecord::Persistent);
    assert_eq!(id.admin_emails, ["oai@lib.example.edu"]);
    assert_eq!(id.earliest_datestamp.map(|d| d.to_string()).as_deref(), Some("1990-01-01T00:00:00Z"));
    let day = xml.replace("YYYY-MM-DDThh:mm:ssZ", "YYYY-MM-DD").replace("persistent", "no");
    let id = parse_identify(day.as_bytes()).unwrap();
    assert_eq!((id.granularity, id.deleted_record), (Granularity::Day, DeletedRecord::No));
    let bad = xml.replace("persistent", "sometimes");
    assert!(matches!(parse_identify(bad.as_bytes()), Err(ResponseError::BadIdentify(_))));
}
