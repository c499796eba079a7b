//! Build an index of the test MARC records in RAM and run queries against it, printing
//! the top hits with their titles (for building and checking the judged query set).
//!
//! Usage: `cargo run -p search --example query -- 'title:经济发展' 'author:Smith, John'`
//! (fields: title, author, subject, any, isbn, callno; add `@newest` to sort by year;
//! `title:?libary` prints the "did you mean" suggestions instead).
//! MARC files come from the repository's `tests/data/marc`.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line tool: hits go to stdout, the record count to stderr")]

use std::collections::HashMap;
use std::path::PathBuf;

use search::{CatalogIndex, Field, Query, SearchDoc, Sort};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/marc");
    let index = CatalogIndex::open_in_ram()?;
    let mut w = index.writer()?;
    let mut titles: HashMap<String, String> = HashMap::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    for f in files.iter().filter(|p| p.extension().is_some_and(|e| e == "mrc")) {
        let data = std::fs::read(f)?;
        for rec in marc::Reader::new(&data).flatten() {
            let bib = marc::Bib::from_record(&rec);
            if let Some(d) = SearchDoc::from_bib(&bib) {
                let t =
                    format!("{} | {} | {} | {:?}", d.title_vernacular.clone().unwrap_or_default(), d.title, d.authors.join("; "), d.year);
                titles.insert(d.id.clone(), t);
                w.upsert(&d)?;
            }
        }
    }
    w.commit()?;
    eprintln!("{} records", index.doc_count());
    for arg in std::env::args().skip(1) {
        let (spec, text) = arg.split_once(':').unwrap_or(("any", &arg));
        let (fname, newest) = match spec.strip_suffix("@newest") {
            Some(f) => (f, true),
            None => (spec, false),
        };
        let field = match fname {
            "title" => Field::Title,
            "author" => Field::Author,
            "subject" => Field::Subject,
            "isbn" => Field::Isbn,
            "callno" => Field::CallNumber,
            _ => Field::Any,
        };
        let mut q = Query::new(field, text);
        q.limit = 5;
        if newest {
            q.sort = Sort::Newest;
        }
        if let Some(text) = text.strip_prefix('?') {
            q.text = text.to_string();
            let t = std::time::Instant::now();
            let s = index.suggest(&q)?;
            println!("== did you mean {arg}  ({:.2} ms)", t.elapsed().as_secs_f64() * 1e3);
            for s in s {
                println!("  {} ({} hits)", s.text, s.hits);
            }
            continue;
        }
        let t = std::time::Instant::now();
        let r = index.search(&q)?;
        println!("== {arg}  total {}  ({:.2} ms)", r.total, t.elapsed().as_secs_f64() * 1e3);
        for h in &r.hits {
            let t = titles.get(&h.id).map(String::as_str).unwrap_or("?");
            println!("  {:>8.2} {:<14} {}", h.score, h.id, t.chars().take(150).collect::<String>());
        }
    }
    Ok(())
}
