//! Locating the MARC test files (`tests/data/marc` at the repository root).

use std::path::{Path, PathBuf};

/// (file name, number of records) for every file in tests/data/marc.
pub const FILES: [(&str, usize); 10] = [
    ("lc-books2016-zh-4000.mrc", 4000),
    ("lc-books2016-en-4000.mrc", 4000),
    ("yaz-marccol1-cjk-utf8.mrc", 19),
    ("marc-charset-cjk1-marc8.mrc", 1),
    ("marc-charset-cjk2-marc8.mrc", 1),
    ("marc-charset-cjk3-marc8.mrc", 1),
    ("marc-charset-cjk4-marc8.mrc", 1),
    ("zebra-sample-marc21-marc8.mrc", 24),
    ("marc-record-camel-marc8.mrc", 10),
    ("pymarc-testunimarc.mrc", 1),
];

/// The repository's `tests/data/marc`, or fail loudly: these tests are the point of the crate.
pub fn marc_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/marc");
    assert!(dir.is_dir(), "MARC test data not found at {} (the repository's tests/data/marc/*.mrc)", dir.display());
    dir
}

pub fn path(name: &str) -> PathBuf {
    marc_dir().join(name)
}

pub fn read(name: &str) -> Vec<u8> {
    let p = path(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}
