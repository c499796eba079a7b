//! Performance sanity check (not a timed test): index MARC files into an on-disk index,
//! then run the benchmark query set single-threaded and report latencies.
//!
//! Usage (release build):
//!
//! ```text
//! cargo run --release -p search --example bench_index -- [--queries FILE] [--reps N]
//!     [--dir INDEX_DIR] [--threads N] [--heap-mb N] FILE.mrc...
//! ```
//!
//! Defaults: the query set is the repository's `tests/data/queries.tsv` (`field<TAB>query<TAB>CQL`;
//! field `title`, `author`, `subject`, `any` with `:zh2`/`:2w`/`:zero`… variants;
//! `title+author` queries "t / a" run as an any-field query of both words), 20 timed
//! repetitions of each query after one warm-up, a temporary index directory, 2 threads,
//! 128 MB heap. Reports parse+index time, records/s, index size, peak RSS, and p50/p99
//! latency of `CatalogIndex::search` (top 10 ids + total count) per field group and overall;
//! then, on the same query set, the same search with facets counted and the first 1,000 hit
//! ids returned (`search_with`), `suggest` for every query, and a built-in set of pinyin,
//! initials and misspelt queries (group `pinyin`, `initials`, `typo`: search, then suggest).

#![allow(clippy::print_stdout, reason = "a command-line tool: printing the report is its job")]

use std::path::{Path, PathBuf};
use std::time::Instant;

use search::{CatalogIndex, Field, Query, SearchDoc, SearchOptions};

fn rss_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| rd.filter_map(|e| e.ok()).filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

/// Bytes per field (term dictionary + postings + positions + fast + norms), merged over
/// segments, largest first.
fn space_by_field(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let index = tantivy::Index::open_in_dir(dir)?;
    let searcher = index.reader()?.searcher();
    let usage = searcher.space_usage()?;
    let mut per: std::collections::BTreeMap<String, u64> = Default::default();
    for seg in usage.segments() {
        for part in [seg.termdict(), seg.postings(), seg.positions(), seg.fast_fields(), seg.fieldnorms()] {
            for f in part.fields() {
                *per.entry(f.field_name().to_string()).or_default() += f.total().get_bytes();
            }
        }
    }
    let mut v: Vec<_> = per.into_iter().collect();
    v.sort_by_key(|b| std::cmp::Reverse(b.1));
    let parts: Vec<String> = v.iter().map(|(f, b)| format!("{f} {:.1}", *b as f64 / 1e6)).collect();
    println!("space by field (MB): {}", parts.join(", "));
    Ok(())
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut queries_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/queries.tsv");
    let mut reps = 20usize;
    let mut dir: Option<PathBuf> = None;
    let mut threads = 2usize;
    let mut heap_mb = 128usize;
    let mut search_only = false;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--queries" => queries_path = args.next().ok_or("--queries FILE")?.into(),
            "--reps" => reps = args.next().ok_or("--reps N")?.parse()?,
            "--dir" => dir = Some(args.next().ok_or("--dir DIR")?.into()),
            "--threads" => threads = args.next().ok_or("--threads N")?.parse()?,
            "--heap-mb" => heap_mb = args.next().ok_or("--heap-mb N")?.parse()?,
            "--search-only" => search_only = true,
            _ => files.push(a.into()),
        }
    }
    if files.is_empty() && !search_only {
        return Err("usage: bench_index [options] FILE.mrc...".into());
    }
    let tmp;
    let dir = match dir {
        Some(d) => d,
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };

    if !search_only {
        index_files(&dir, &files, threads, heap_mb)?;
    }
    run_queries(&dir, &queries_path, reps)
}

fn index_files(dir: &Path, files: &[PathBuf], threads: usize, heap_mb: usize) -> Result<(), Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    search::analysis::jieba(); // load the dictionary outside the timed loop's first record
    let jieba_s = t0.elapsed().as_secs_f64();
    let index = CatalogIndex::create_or_open(dir)?;
    let mut w = index.writer_with(threads, heap_mb * 1024 * 1024)?;
    let t1 = Instant::now();
    let (mut n, mut bad, mut no_id) = (0usize, 0usize, 0usize);
    let mut parse_s = 0.0;
    for f in files {
        let data = std::fs::read(f)?;
        let mut reader = marc::Reader::new(&data);
        loop {
            let tp = Instant::now();
            let Some(item) = reader.next() else { break };
            let doc = match item {
                Ok(rec) => SearchDoc::from_bib(&marc::Bib::from_record(&rec)),
                Err(_) => {
                    bad += 1;
                    continue;
                }
            };
            parse_s += tp.elapsed().as_secs_f64();
            match doc {
                Some(d) => {
                    w.add(&d)?;
                    n += 1;
                }
                None => no_id += 1,
            }
        }
    }
    let queued_s = t1.elapsed().as_secs_f64();
    w.commit()?;
    let commit_s = t1.elapsed().as_secs_f64();
    w.wait_merging_threads()?;
    let total_s = t1.elapsed().as_secs_f64();
    println!("records: {n} indexed, {bad} unreadable, {no_id} without 001");
    println!(
        "index: parse+map {parse_s:.2} s (main thread), all queued {queued_s:.2} s, committed {commit_s:.2} s, merged {total_s:.2} s => {:.0} records/s (jieba load {jieba_s:.2} s, {threads} threads, {heap_mb} MB heap)",
        n as f64 / commit_s
    );
    println!(
        "index size: {:.1} MB on disk; peak RSS while indexing {:.0} MB",
        dir_size(dir) as f64 / 1e6,
        rss_kb("VmHWM:") as f64 / 1024.0
    );
    drop(index);
    space_by_field(dir)?;
    Ok(())
}

fn run_queries(dir: &Path, queries_path: &Path, reps: usize) -> Result<(), Box<dyn std::error::Error>> {
    // A fresh reader, like a server start.
    let index = CatalogIndex::open(dir)?;
    println!("reopened: {} docs, RSS {:.0} MB", index.doc_count(), rss_kb("VmRSS:") as f64 / 1024.0);
    let text = std::fs::read_to_string(queries_path)?;
    let mut qs: Vec<(String, Query)> = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 2 || line.starts_with('#') {
            continue;
        }
        let group = cols[0].to_string();
        let base = group.split(':').next().unwrap_or("any");
        let (field, qtext) = match base {
            "title" => (Field::Title, cols[1].to_string()),
            "author" => (Field::Author, cols[1].to_string()),
            "subject" => (Field::Subject, cols[1].to_string()),
            "title+author" => (Field::Any, cols[1].replace('/', " ")),
            _ => (Field::Any, cols[1].to_string()),
        };
        qs.push((group, Query::new(field, qtext)));
    }
    let mut all: Vec<f64> = Vec::new();
    let mut by_group: std::collections::BTreeMap<String, (Vec<f64>, usize, usize)> = Default::default();
    for (group, q) in &qs {
        let r = index.search(q)?; // warm-up
        let e = by_group.entry(group.clone()).or_default();
        e.1 += 1;
        if r.total == 0 {
            e.2 += 1;
        }
        for _ in 0..reps {
            let t = Instant::now();
            let r = index.search(q)?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            std::hint::black_box(r);
            all.push(ms);
            e.0.push(ms);
        }
    }
    all.sort_by(f64::total_cmp);
    println!(
        "queries: {} x {reps} reps, single thread: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        qs.len(),
        pct(&all, 0.5),
        pct(&all, 0.99),
        all.last().copied().unwrap_or(0.0)
    );
    println!("  {:<14} {:>3} {:>5} {:>9} {:>9}", "group", "n", "zero", "p50 ms", "p99 ms");
    for (g, (mut v, cnt, zero)) in by_group {
        v.sort_by(f64::total_cmp);
        println!("  {:<14} {:>3} {:>5} {:>9.3} {:>9.3}", g, cnt, zero, pct(&v, 0.5), pct(&v, 0.99));
    }

    let faceted = SearchOptions { facets: true, all_ids: 1000, ..SearchOptions::default() };
    let plain: Vec<&Query> = qs.iter().map(|(_, q)| q).collect();
    report("same, with facets and 1,000 hit ids", &time(reps, &plain, |q| index.search_with(q, &faceted).map(|_| ()))?);
    report("suggest, every query of the set", &time(reps, &plain, |q| index.suggest(q).map(|_| ()))?);

    // Pinyin, initials and misspelt queries (their hits and suggestions on the test records
    // are checked in tests/it; here only their cost).
    let extra: [(&str, Field, &str); 18] = [
        ("pinyin", Field::Author, "luxun"),
        ("pinyin", Field::Any, "lu xun"),
        ("pinyin", Field::Any, "zhongguo jingji"),
        ("pinyin", Field::Title, "toudai zhi ying kui"),
        ("pinyin", Field::Any, "jiapingwa"),
        ("pinyin", Field::Title, "yinhang"),
        ("initials", Field::Author, "lx"),
        ("initials", Field::Any, "hlm"),
        ("initials", Field::Any, "zgjj"),
        ("initials", Field::Title, "hq"),
        ("typo", Field::Any, "libary"),
        ("typo", Field::Title, "histroy of chinese medicin"),
        ("typo", Field::Author, "鲁讯"),
        ("typo", Field::Title, "臺灣經齊"),
        ("typo", Field::Any, "贾平娃 我是农民"),
        ("typo", Field::Subject, "buterflies"),
        ("typo", Field::Any, "harapa"),
        ("typo", Field::Any, "qqqqqqq zzzzzz"),
    ];
    for group in ["pinyin", "initials", "typo"] {
        let queries: Vec<Query> = extra.iter().filter(|e| e.0 == group).map(|&(_, f, t)| Query::new(f, t)).collect();
        let refs: Vec<&Query> = queries.iter().collect();
        report(&format!("{group}: search"), &time(reps, &refs, |q| index.search(q).map(|_| ()))?);
        report(&format!("{group}: suggest"), &time(reps, &refs, |q| index.suggest(q).map(|_| ()))?);
    }
    println!("  {:<34} {:>7} {:>9} {:>9}  suggestion", "query", "hits", "search", "suggest");
    for (_, f, t) in extra {
        let q = Query::new(f, t);
        let hits = index.search(&q)?.total;
        let search_ms = pct(&time(reps, &[&q], |q| index.search(q).map(|_| ()))?, 0.5);
        let suggest_ms = pct(&time(reps, &[&q], |q| index.suggest(q).map(|_| ()))?, 0.5);
        let first = index.suggest(&q)?.into_iter().next().map(|s| format!("{} ({})", s.text, s.hits)).unwrap_or_default();
        println!("  {:<34} {:>7} {:>9.3} {:>9.3}  {first}", format!("{f:?}:{t}"), hits, search_ms, suggest_ms);
    }
    println!("peak RSS {:.0} MB", rss_kb("VmHWM:") as f64 / 1024.0);
    Ok(())
}

/// Latencies (ms, sorted) of `run` over every query, `reps` times after one warm-up.
fn time(reps: usize, queries: &[&Query], mut run: impl FnMut(&Query) -> search::Result<()>) -> search::Result<Vec<f64>> {
    let mut v = Vec::with_capacity(queries.len() * reps);
    for q in queries {
        run(q)?;
        for _ in 0..reps {
            let t = Instant::now();
            run(q)?;
            v.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    v.sort_by(f64::total_cmp);
    Ok(v)
}

fn report(what: &str, sorted: &[f64]) {
    println!(
        "{what}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        pct(sorted, 0.5),
        pct(sorted, 0.99),
        sorted.last().copied().unwrap_or(0.0)
    );
}
