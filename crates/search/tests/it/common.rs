//! Helpers for every test module: where the test MARC records are, and building an index of them.

use std::path::PathBuf;
use std::sync::OnceLock;

use search::{CatalogIndex, SearchDoc};

/// The repository's `tests/data/marc` (8,058 real records; origin and licence in its README).
pub fn marc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/marc")
}

/// Every record of every `.mrc` file in `tests/data/marc`, as SearchDocs.
pub fn test_docs() -> Vec<SearchDoc> {
    let dir = marc_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {} ({e})", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mrc"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "no MARC files in {}", dir.display());
    let mut docs = Vec::new();
    for f in files {
        let data = std::fs::read(&f).expect("read MARC file");
        for rec in marc::Reader::new(&data).flatten() {
            if let Some(d) = SearchDoc::from_bib(&marc::Bib::from_record(&rec)) {
                docs.push(d);
            }
        }
    }
    docs
}

/// One index of all test records, built once per test binary.
pub fn test_index() -> &'static CatalogIndex {
    static INDEX: OnceLock<CatalogIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let index = CatalogIndex::open_in_ram().expect("index");
        let mut w = index.writer().expect("writer");
        for d in test_docs() {
            w.upsert(&d).expect("upsert");
        }
        w.commit().expect("commit");
        index
    })
}
