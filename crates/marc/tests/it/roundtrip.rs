//! Property tests: ISO 2709 write→read and MARCXML write→read are lossless.

use marc::{ControlField, DataField, Field, Leader, Reader, Record, Subfield, XmlReader};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    // Any printable Unicode (no control characters, which neither format carries),
    // biased towards CJK and Latin with diacritics.
    prop_oneof!["\\PC{0,30}", "[鲁迅与浙东文化中国图书馆 ]{0,12}", "[a-zA-Z0-9éüøåçÅ .,:;/=()\\[\\]&<>\"']{0,30}",]
}

fn leader() -> impl Strategy<Value = Leader> {
    // Positions 0-4, 12-16 are computed by the writer; 5 must be a letter or blank
    // and 6 a letter for the reader to accept the leader.
    ("[a-z ]", "[a-z]", "[ -~]{2}", "[ -~]{3}", "[ -~]{3}").prop_map(|(s5, s6, s78, s1719, _)| {
        let l = format!("00000{s5}{s6}{s78}a2200000{s1719}4500");
        Leader::parse(&l).expect("valid leader")
    })
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        ("00[1-9]", text()).prop_map(|(tag, value)| Field::Control(ControlField { tag, value })),
        ("[1-9][0-9]{2}|[0-9][1-9A-Z][0-9A-Z]", "[ 0-9a-z]", "[ 0-9a-z]", proptest::collection::vec(("[a-z0-9]", text()), 0..6),).prop_map(
            |(tag, i1, i2, subs)| {
                Field::Data(DataField {
                    tag,
                    ind1: i1.chars().next().unwrap_or(' '),
                    ind2: i2.chars().next().unwrap_or(' '),
                    subfields: subs.into_iter().map(|(c, value)| Subfield { code: c.chars().next().unwrap_or('a'), value }).collect(),
                })
            }
        ),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    (leader(), proptest::collection::vec(field(), 0..12)).prop_map(|(leader, fields)| Record { leader, fields })
}

/// What the ISO 2709 writer does to a leader: lengths, base address, 10-11, 20-23
/// (and 09 = 'a', which the generator already sets).
fn same_leader_ignoring_lengths(a: &Leader, b: &Leader) -> bool {
    (0..24).filter(|i| !(0..5).contains(i) && !(12..17).contains(i)).all(|i| a.get(i) == b.get(i))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn iso2709_write_read(recs in proptest::collection::vec(record(), 1..4)) {
        let mut bytes = Vec::new();
        for r in &recs {
            marc::write_iso2709(r, &mut bytes).expect("write");
        }
        let back: Vec<Record> = Reader::new(&bytes).map(|r| r.expect("read")).collect();
        prop_assert_eq!(back.len(), recs.len());
        for (a, b) in recs.iter().zip(&back) {
            prop_assert_eq!(&a.fields, &b.fields);
            prop_assert!(same_leader_ignoring_lengths(&a.leader, &b.leader), "{} vs {}", a.leader, b.leader);
            prop_assert_eq!(b.leader.number(0, 5), Some(marc::to_iso2709(a).expect("w").len()));
        }
    }

    #[test]
    fn marcxml_write_read(recs in proptest::collection::vec(record(), 0..4)) {
        let xml = marc::to_marcxml_collection(&recs);
        let back: Vec<Record> = XmlReader::new(xml.as_bytes()).map(|r| r.expect("read")).collect();
        prop_assert_eq!(&back, &recs);
        // Single-record form (as embedded in SRU responses).
        for r in &recs {
            let one = marc::to_marcxml_record(r);
            let back: Vec<Record> = XmlReader::new(one.as_bytes()).map(|r| r.expect("read")).collect();
            prop_assert_eq!(&back, std::slice::from_ref(r));
        }
    }

    #[test]
    fn serde_json_roundtrip(r in record()) {
        let s = serde_json::to_string(&r).expect("ser");
        let back: Record = serde_json::from_str(&s).expect("de");
        prop_assert_eq!(back, r);
    }
}
