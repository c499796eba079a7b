//! ISBN-10 = ISBN-13 (issue 20 item 4) on the real records: every valid ISBN in a record's
//! 020 $a finds that record first, typed as its ISBN-10 or its ISBN-13, with or without
//! hyphens, in the isbn and the any field; and what happens to misprinted numbers.

use search::{CatalogIndex, Field, Query, SearchDoc};

use crate::common::{marc_dir, test_index};

/// ISBN-10 of a 978 ISBN-13 (mod-11 check), `None` for 979.
fn to_isbn10(isbn13: &str) -> Option<String> {
    let body = isbn13.strip_prefix("978")?.get(..9)?;
    let sum: u32 = body.chars().enumerate().map(|(i, c)| c.to_digit(10).unwrap_or(0) * (10 - i as u32)).sum();
    let check = match (11 - sum % 11) % 11 {
        10 => 'X',
        d => char::from_digit(d, 10)?,
    };
    Some(format!("{body}{check}"))
}

/// `7562005990` → `7-5620-0599-0` (any grouping will do: hyphens are not checked).
fn hyphenated(isbn: &str) -> String {
    let (a, rest) = isbn.split_at(1);
    let (b, rest) = rest.split_at(4);
    let (c, d) = rest.split_at(rest.len() - 1);
    format!("{a}-{b}-{c}-{d}")
}

/// (record id, raw 020 $a) of every record in the two LC files.
fn record_isbns() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in ["lc-books2016-zh-4000.mrc", "lc-books2016-en-4000.mrc"] {
        let data = std::fs::read(marc_dir().join(f)).expect("read MARC file");
        for rec in marc::Reader::new(&data).flatten() {
            let Some(id) = rec.control_number().map(|s| s.trim().to_string()) else { continue };
            for a in rec.subfields("020", 'a') {
                out.push((id.clone(), a.to_string()));
            }
        }
    }
    out
}

/// Is `id` among the hits with the top score (records sharing an ISBN tie)?
fn first(index: &CatalogIndex, field: Field, text: &str, id: &str) -> bool {
    let mut q = Query::new(field, text);
    q.limit = 20;
    let r = index.search(&q).expect("search");
    let Some(top) = r.hits.first().map(|h| h.score) else { return false };
    r.hits.iter().any(|h| h.id == id && (h.score - top).abs() < 1e-3)
}

#[test]
fn every_isbn_of_the_real_records_finds_its_record_first_in_both_forms() {
    let index = test_index();
    let pairs = record_isbns();
    let (mut checked, mut with_x, mut typed_13) = (0, 0, 0);
    let mut misses = Vec::new();
    for (id, raw) in &pairs {
        let Some(isbn13) = marc::isbn::normalize(raw) else { continue };
        let typed: String = raw.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        typed_13 += usize::from(typed.replace('-', "").len() == 13);
        let mut forms = vec![isbn13.clone(), hyphenated(&isbn13)];
        if let Some(ten) = to_isbn10(&isbn13) {
            with_x += usize::from(ten.ends_with('X'));
            forms.push(hyphenated(&ten));
            forms.push(ten.to_lowercase());
            forms.push(ten);
        }
        for form in &forms {
            for field in [Field::Isbn, Field::Any] {
                if !first(index, field, form, id) {
                    misses.push(format!("{id} {field:?} {form} (020 {raw})"));
                }
            }
        }
        checked += 1;
    }
    assert!(checked > 7000, "only {checked} valid ISBNs");
    assert!(with_x > 500, "{with_x} ISBN-10s with X");
    assert!(typed_13 > 20, "{typed_13} stored as ISBN-13");
    assert!(misses.is_empty(), "{} misses, e.g. {:?}", misses.len(), &misses[..misses.len().min(10)]);
}

#[test]
fn the_issue_example() {
    let index = test_index();
    // 00692374 and 00692383 both carry 020 $a 7562005990 (a series' shared number).
    for q in ["7562005990", "7-5620-0599-0", "9787562005995", "978-7-5620-0599-5", "ISBN 7-5620-0599-0"] {
        for field in [Field::Isbn, Field::Any] {
            let mut ids: Vec<String> = index.search(&Query::new(field, q)).unwrap().hits.into_iter().map(|h| h.id).collect();
            ids.sort();
            assert_eq!(ids, vec!["00692374", "00692383"], "{field:?} {q}");
        }
    }
}

#[test]
fn misprinted_isbn_in_a_record() {
    let index = CatalogIndex::open_in_ram().unwrap();
    let mut w = index.writer().unwrap();
    // A Chinese book whose printed ISBN-10 has a wrong check digit (…139 is right).
    w.upsert(&SearchDoc { id: "bad".into(), title: "misprint".into(), isbns: vec!["7560123130 (pbk.)".into()], ..SearchDoc::default() })
        .unwrap();
    w.upsert(&SearchDoc { id: "979".into(), title: "new".into(), isbns: vec!["9791234567896".into()], ..SearchDoc::default() }).unwrap();
    w.commit().unwrap();
    let ids = |f: Field, q: &str| -> Vec<String> { index.search(&Query::new(f, q)).unwrap().hits.into_iter().map(|h| h.id).collect() };
    // As printed, as corrected, and the barcode's ISBN-13.
    for q in ["7560123130", "7-5601-2313-0", "7560123139", "9787560123134"] {
        assert_eq!(ids(Field::Isbn, q), vec!["bad"], "{q}");
        assert_eq!(ids(Field::Any, q), vec!["bad"], "any {q}");
    }
    // Another wrong check digit is a different number.
    assert!(ids(Field::Isbn, "7560123131").is_empty());
    // A 979 ISBN-13 has no ISBN-10: only its 13 digits find it.
    assert_eq!(ids(Field::Isbn, "979-12-345-6789-6"), vec!["979"]);
    assert!(ids(Field::Isbn, "1234567896").is_empty());
}

#[test]
fn isbn_to_isbn10_helper() {
    assert_eq!(to_isbn10("9787562005995").as_deref(), Some("7562005990"));
    assert_eq!(to_isbn10("9787805798806").as_deref(), Some("780579880X"));
    assert_eq!(to_isbn10("9791234567896"), None);
}
