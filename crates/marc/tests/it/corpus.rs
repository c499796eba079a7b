//! Every real record parses, maps, and survives re-encoding.

use marc::bib::Bib;
use marc::{Charset, Reader, XmlReader, to_iso2709, to_marcxml_collection};

use crate::common::{FILES, read};

#[test]
fn all_8058_records_parse_without_errors_or_warnings() {
    let mut total = 0;
    for (name, expected) in FILES {
        let data = read(name);
        let mut reader = Reader::new(&data);
        let mut ok = 0;
        let mut errors = Vec::new();
        for item in reader.by_ref() {
            match item {
                Ok(_) => ok += 1,
                Err(e) => errors.push(e.to_string()),
            }
        }
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(ok, expected, "{name}");
        assert!(reader.warnings().is_empty(), "{name}: {:?}", reader.warnings());
        total += ok;
    }
    assert_eq!(total, 8058);
}

#[test]
fn charset_detection_per_file() {
    for (name, _) in FILES {
        let data = read(name);
        let mut reader = Reader::new(&data);
        while let Some(item) = reader.next_detailed() {
            let r = item.expect("record");
            let want = if name.contains("marc8") { Charset::Marc8 } else { Charset::Utf8 };
            assert_eq!(r.charset, want, "{name} record {}", r.index);
        }
    }
}

#[test]
fn real_records_roundtrip_through_iso2709_and_marcxml() {
    for (name, _) in FILES {
        let data = read(name);
        let records: Vec<_> = Reader::new(&data).map(|r| r.expect("record")).collect();
        for r in &records {
            let bytes = to_iso2709(r).unwrap_or_else(|e| panic!("{name} {:?}: {e}", r.control_number()));
            let back: Vec<_> = Reader::new(&bytes).collect();
            assert_eq!(back.len(), 1);
            let back = back.into_iter().next().and_then(Result::ok).expect("re-read");
            assert_eq!(back.fields, r.fields, "{name} {:?}", r.control_number());
        }
        let xml = to_marcxml_collection(&records);
        let back: Vec<_> = XmlReader::new(xml.as_bytes()).map(|r| r.expect("xml record")).collect();
        assert_eq!(back, records, "{name} via MARCXML");
    }
}

fn bibs(name: &str) -> Vec<Bib> {
    let data = read(name);
    Reader::new(&data).map(|r| Bib::from_record(&r.expect("record"))).collect()
}

#[test]
fn chinese_lc_records_map() {
    let bibs = bibs("lc-books2016-zh-4000.mrc");
    let n = |f: &dyn Fn(&Bib) -> bool| bibs.iter().filter(|b| f(b)).count();
    assert_eq!(n(&|b| b.title.is_some()), 4000);
    let vern = n(&|b| b.title_vernacular.as_deref().is_some_and(|t| t.chars().any(marc::bib::is_han)));
    let isbn = n(&|b| !b.isbn13.is_empty());
    let year = n(&|b| b.year.is_some());
    let lc = n(&|b| !b.call_numbers.lc.is_empty());
    let chi = n(&|b| b.language.as_deref() == Some("chi"));
    let subj = n(&|b| !b.subjects.is_empty());
    eprintln!("zh: vernacular title {vern}, isbn13 {isbn}, year {year}, LC call no. {lc}, subjects {subj}");
    assert!(vern >= 3990, "vernacular titles: {vern}");
    assert!(isbn >= 3900, "isbn: {isbn}");
    assert_eq!(year, 4000);
    assert_eq!(lc, 3995); // README: 050 in 3,995
    assert_eq!(chi, 4000);
    assert!(subj >= 2809);
    // RLIN spaces are gone from vernacular titles.
    let spaced = n(&|b| {
        b.title_vernacular.as_deref().is_some_and(|t| {
            let c: Vec<char> = t.chars().collect();
            c.windows(3).any(|w| marc::bib::is_han(w[0]) && w[1].is_whitespace() && marc::bib::is_han(w[2]))
        })
    });
    assert_eq!(spaced, 0);
}

#[test]
fn english_lc_records_map() {
    let bibs = bibs("lc-books2016-en-4000.mrc");
    let n = |f: &dyn Fn(&Bib) -> bool| bibs.iter().filter(|b| f(b)).count();
    assert_eq!(n(&|b| b.title.is_some()), 4000);
    assert_eq!(n(&|b| !b.subjects.is_empty()), 4000); // README: every record has 650
    assert_eq!(n(&|b| !b.call_numbers.dewey.is_empty()), 3481); // README: 082 in 3,481
    assert_eq!(n(&|b| b.language.as_deref() == Some("eng")), 4000);
    let isbn = n(&|b| !b.isbn13.is_empty());
    eprintln!("en: isbn13 {isbn}/4000");
    assert!(isbn >= 3900);
}

#[test]
fn marc8_cjk_record_maps() {
    let b = &bibs("marc-charset-cjk3-marc8.mrc")[0];
    assert_eq!(b.title.as_deref(), Some("Lu Xun yu Zhe dong wen hua"));
    assert_eq!(b.title_vernacular.as_deref(), Some("鲁迅与浙东文化"));
    assert_eq!(b.main_author_vernacular.as_deref(), Some("陈方竞"));
    assert_eq!(b.publisher_vernacular.as_deref(), Some("吉林大学出版社"));
    assert_eq!(b.isbn13, ["9787560123134"]);
    assert_eq!(b.year, Some(1999));
    assert_eq!(b.call_numbers.lc, ["PL2754.S5 Z58627 1999"]);
    assert!(b.titles_all.iter().any(|t| t == "Lu Xun"));
    assert!(b.subjects.iter().any(|s| s == "鲁迅 1881-1936 -- Criticism and interpretation"), "{:?}", b.subjects);
    let k = &bibs("marc-charset-cjk4-marc8.mrc")[0];
    assert_eq!(k.title_vernacular.as_deref(), Some("四分律"));
    let j = &bibs("marc-charset-cjk1-marc8.mrc")[0];
    assert_eq!(j.title.as_deref(), Some("Kindaichi Kyōsuke to Ainugo"));
    assert_eq!(j.title_vernacular.as_deref(), Some("金田一京助とアイヌ語"));
}

#[test]
fn unimarc_record_maps() {
    let b = &bibs("pymarc-testunimarc.mrc")[0];
    assert_eq!(b.flavour, marc::Flavour::Unimarc);
    assert_eq!(b.id.as_deref(), Some("IT\\ICCU\\ANA\\0019370"));
    assert_eq!(b.title.as_deref(), Some("L'altra faccia della spirale"));
    assert_eq!(b.responsibility.as_deref(), Some("Isaac Asimov ; traduzione di Cesare Scaglia ; introduzione di Fruttero & Lucentini"));
    assert_eq!(b.main_author.as_deref(), Some("Asimov, Isaac"));
    assert_eq!(b.authors.len(), 4);
    assert_eq!(b.isbn13, ["9788804406822"]);
    assert_eq!(b.year, Some(1996));
    assert_eq!(b.language.as_deref(), Some("ita"));
    assert_eq!(b.publisher.as_deref(), Some("A. Mondadori"));
    assert_eq!(b.items.len(), 40);
    assert_eq!(b.items[0].institution.as_deref(), Some("AL0073"));
    assert_eq!(b.items[0].location.as_deref(), Some("TO0 Q9"));
}

#[test]
fn bib_serde_roundtrip() {
    for b in bibs("marc-record-camel-marc8.mrc") {
        let s = serde_json::to_string(&b).expect("ser");
        let back: Bib = serde_json::from_str(&s).expect("de");
        assert_eq!(back, b);
    }
}
