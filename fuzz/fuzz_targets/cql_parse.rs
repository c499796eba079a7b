//! Arbitrary bytes (as UTF-8, lossily) into the CQL parser: it never panics; an error points at
//! a byte inside the query on a character boundary; a parsed query written back with `Display`
//! parses to the same tree, and writing is stable (the second writing equals the first).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match cql::parse(&text) {
        Ok(q) => {
            let written = q.to_string();
            let again = cql::parse(&written).unwrap_or_else(|e| panic!("{text:?} wrote {written:?} which does not parse: {e}"));
            assert_eq!(again, q, "{text:?} -> {written:?}");
            assert_eq!(again.to_string(), written);
            let _ = q.clauses();
        }
        Err(e) => {
            assert!(e.pos <= text.len(), "{text:?}: {e}");
            assert!(text.is_char_boundary(e.pos), "{text:?}: {e}");
            assert!(!e.to_string().is_empty());
        }
    }
});
