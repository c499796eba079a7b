//! Arbitrary bytes into the OAI-PMH response readers (`oai::parse_list_records`,
//! `oai::parse_identify`): they never panic; a page's records keep their order (a broken record's
//! index is its place), every readable record has an identifier, a deleted one has no metadata and
//! a live one has some; the next token is never blank.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = oai::parse_identify(data);
    if let Ok(page) = oai::parse_list_records(data) {
        for (i, r) in page.records.iter().enumerate() {
            match r {
                Ok(rec) => {
                    assert!(!rec.header.identifier.is_empty());
                    assert_eq!(rec.metadata.is_none(), rec.header.deleted, "{rec:?}");
                }
                Err(broken) => {
                    assert_eq!(broken.index, i);
                    assert!(!broken.reason.is_empty());
                }
            }
        }
        if let Some(t) = page.next_token() {
            assert!(!t.is_empty() && t.trim() == t);
        }
    }
});
