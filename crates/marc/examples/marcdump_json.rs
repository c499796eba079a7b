//! Dump an ISO 2709 file as JSON lines (one object per record or error), for the
//! Python cross-check against pymarc (`tests/python/test_marc_pymarc.py`).
//!
//! Usage: `cargo run -q -p marc --example marcdump_json -- FILE [--full]`
//! Record line: {"offset","index","charset","control_number","title","title_vernacular",
//! "main_author","isbn13","year","warnings"}; with `--full` the whole `Bib` is added
//! under "bib". Error line: {"error","offset","index"}.

#![allow(clippy::print_stderr, reason = "a command-line tool: its usage and read errors go to stderr")]

use marc::{Bib, Reader};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: marcdump_json FILE [--full]");
        std::process::exit(2);
    };
    let full = args.any(|a| a == "--full");
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(1);
        }
    };
    let mut reader = Reader::new(&data);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    while let Some(item) = reader.next_detailed() {
        let line = match item {
            Ok(r) => {
                let bib = Bib::from_record(&r.record);
                let mut v = json!({
                    "offset": r.offset,
                    "index": r.index,
                    "charset": format!("{:?}", r.charset),
                    "control_number": bib.id,
                    "title": bib.title,
                    "title_vernacular": bib.title_vernacular,
                    "main_author": bib.main_author,
                    "isbn13": bib.isbn13,
                    "year": bib.year,
                    "warnings": r.warnings,
                });
                if full {
                    v["bib"] = serde_json::to_value(&bib).unwrap_or_default();
                }
                v
            }
            Err(e) => json!({"error": e.reason.to_string(), "offset": e.offset, "index": e.index}),
        };
        use std::io::Write;
        if writeln!(out, "{line}").is_err() {
            return; // closed pipe
        }
    }
}
