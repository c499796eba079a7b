//! Charset selection on constructed records: GB18030/GBK CNMARC, mislabelled
//! UTF-8, explicit overrides.

use marc::bib::Bib;
use marc::{Charset, Reader};

/// Build an ISO 2709 record (leader/05-09 given) from raw field bytes (tag, content without terminator),
/// so that any encoding can be tested.
fn raw_record(leader_mid: &[u8; 5], fields: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut dir = Vec::new();
    let mut area = Vec::new();
    for (tag, content) in fields {
        let start = area.len();
        area.extend_from_slice(content);
        area.push(0x1e);
        dir.extend_from_slice(format!("{tag}{:04}{start:05}", area.len() - start).as_bytes());
    }
    dir.push(0x1e);
    area.push(0x1d);
    let base = 24 + dir.len();
    let mut out = format!("{:05}", base + area.len()).into_bytes();
    out.extend_from_slice(leader_mid);
    out.extend_from_slice(format!("22{base:05}   4500").as_bytes());
    out.extend_from_slice(&dir);
    out.extend_from_slice(&area);
    out
}

fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}

fn data(ind: &str, subs: &[(char, Vec<u8>)]) -> Vec<u8> {
    let mut v = ind.as_bytes().to_vec();
    for (c, val) in subs {
        v.push(0x1f);
        v.push(*c as u8);
        v.extend_from_slice(val);
    }
    v
}

fn cnmarc_gbk(charset_code: &str) -> Vec<u8> {
    raw_record(
        b"nam0 ",
        &[
            ("001", b"012004002367".to_vec()),
            ("010", data("  ", &[('a', b"7-02-000220-X".to_vec()), ('d', gbk("CNY79.00"))])),
            ("100", data("  ", &[('a', format!("20040506d2004    em y0chiy{charset_code}      ea").into_bytes())])),
            ("101", data("0 ", &[('a', b"chi".to_vec())])),
            ("200", data("1 ", &[('a', gbk("红楼梦")), ('9', b"hong lou meng".to_vec()), ('f', gbk("曹雪芹著"))])),
            ("210", data("  ", &[('a', gbk("北京")), ('c', gbk("人民文学出版社")), ('d', b"2004".to_vec())])),
            ("690", data("  ", &[('a', b"I242.47".to_vec())])),
            ("701", data(" 0", &[('a', gbk("曹雪芹"))])),
            ("905", data("  ", &[('a', b"SZU".to_vec()), ('b', b"C0012345".to_vec()), ('d', b"I242.47".to_vec()), ('e', b"123".to_vec())])),
        ],
    )
}

#[test]
fn gbk_cnmarc_auto_and_explicit() {
    let bytes = cnmarc_gbk("0120");
    for cs in [Charset::Auto, Charset::Gb18030] {
        let mut rd = Reader::with_charset(&bytes, cs);
        let r = rd.next_detailed().expect("item").expect("record");
        assert_eq!(r.charset, Charset::Gb18030);
        let b = Bib::from_record(&r.record);
        assert_eq!(b.flavour, marc::Flavour::Unimarc);
        assert_eq!(b.title.as_deref(), Some("红楼梦"));
        assert_eq!(b.main_author.as_deref(), Some("曹雪芹"));
        assert_eq!(b.publisher.as_deref(), Some("人民文学出版社"));
        assert_eq!(b.call_numbers.clc, ["I242.47"]);
        assert_eq!(b.items[0].call_number.as_deref(), Some("I242.47/123"));
        assert_eq!(b.isbn13, ["9787020002207"]);
    }
    // Forced UTF-8 on GBK data: lossy, with warnings, never an error.
    let mut rd = Reader::with_charset(&bytes, Charset::Utf8);
    let r = rd.next_detailed().expect("item").expect("record");
    assert!(!r.warnings.is_empty());
}

#[test]
fn unimarc_50_is_utf8_and_mislabelled_utf8_is_detected() {
    let utf8 = |s: &str| s.as_bytes().to_vec();
    let rec = raw_record(
        b"nam0 ",
        &[("100", data("  ", &[('a', b"20040506d2004    em y0chiy50      ea".to_vec())])), ("200", data("1 ", &[('a', utf8("红楼梦"))]))],
    );
    let r = Reader::new(&rec).next_detailed().expect("item").expect("record");
    assert_eq!((r.charset, r.warnings.len()), (Charset::Utf8, 0));
    assert_eq!(r.record.subfield("200", 'a'), Some("红楼梦"));

    // MARC 21 with a blank leader/09 but UTF-8 data (common export bug).
    let rec = raw_record(b"nam  ", &[("245", data("10", &[('a', utf8("Café society"))]))]);
    let r = Reader::new(&rec).next_detailed().expect("item").expect("record");
    assert_eq!(r.charset, Charset::Utf8);
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.record.subfield("245", 'a'), Some("Café society"));

    // Real MARC-8 ANSEL (acute 0xE2 before the base letter) stays MARC-8.
    let rec = raw_record(b"nam  ", &[("245", data("10", &[('a', b"Caf\xe2e society".to_vec())]))]);
    let r = Reader::new(&rec).next_detailed().expect("item").expect("record");
    assert_eq!(r.charset, Charset::Marc8);
    assert_eq!(r.record.subfield("245", 'a'), Some("Café society"));

    // The caller can override the label.
    let r = Reader::with_charset(&rec, Charset::Latin1).next_detailed().expect("item").expect("record");
    assert_eq!(r.record.subfield("245", 'a'), Some("Caf\u{e2}e society"));
}
