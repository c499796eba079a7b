//! The judged query set (`tests/relevance.tsv`) over the MARC records of `tests/data/marc`: every
//! query's expected record must be in the top 3. Prints success@3 and MRR, per section,
//! and the known-hard queries (field prefixed with `!`), which are reported only.
//! Passing queries whose record is not first are listed too; `WXLIB_RELEVANCE_VERBOSE=1`
//! lists every query (run with `--nocapture`).

use search::{Field, Query};

use crate::common::test_index;

struct Judged {
    line: usize,
    field: Field,
    field_name: String,
    query: String,
    expected: Vec<String>,
    note: String,
    hard: bool,
}

fn load() -> Vec<Judged> {
    let text = include_str!("../relevance.tsv");
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 3, "line {}: need field, query, expected", i + 1);
        let (hard, name) = match cols[0].strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, cols[0]),
        };
        let field = match name {
            "title" => Field::Title,
            "author" => Field::Author,
            "subject" => Field::Subject,
            "any" => Field::Any,
            "isbn" => Field::Isbn,
            "callno" => Field::CallNumber,
            other => panic!("line {}: unknown field {other}", i + 1),
        };
        out.push(Judged {
            line: i + 1,
            field,
            field_name: name.to_string(),
            query: cols[1].to_string(),
            expected: cols[2].split(',').map(|s| s.trim().to_string()).collect(),
            note: cols.get(3).unwrap_or(&"").to_string(),
            hard,
        });
    }
    out
}

#[test]
fn judged_queries_find_expected_records_in_top_3() {
    let index = test_index();
    let judged = load();
    assert!(judged.iter().filter(|j| !j.hard).count() >= 60);
    let mut failures = Vec::new();
    let mut hard_report = Vec::new();
    let (mut n, mut hits3, mut rr_sum) = (0usize, 0usize, 0f64);
    let verbose = std::env::var_os("WXLIB_RELEVANCE_VERBOSE").is_some();
    let mut by_field: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for j in &judged {
        let mut q = Query::new(j.field, j.query.clone());
        q.limit = 10;
        let r = index.search(&q).expect("search");
        let rank = r.hits.iter().position(|h| j.expected.contains(&h.id)).map(|p| p + 1);
        let top: Vec<&str> = r.hits.iter().take(3).map(|h| h.id.as_str()).collect();
        let ok = rank.is_some_and(|r| r <= 3);
        let line = format!(
            "line {:>3} {:<7} {:<32} rank {:<4} total {:<5} top3 {:?}  ({})",
            j.line,
            j.field_name,
            j.query,
            rank.map_or("-".to_string(), |r| r.to_string()),
            r.total,
            top,
            j.note
        );
        if j.hard {
            hard_report.push(line);
            continue;
        }
        n += 1;
        let e = by_field.entry(j.field_name.clone()).or_default();
        e.0 += 1;
        if ok {
            hits3 += 1;
            e.1 += 1;
            if rank != Some(1) || verbose {
                println!("  {line}");
            }
        } else {
            failures.push(line);
        }
        rr_sum += rank.map_or(0.0, |r| 1.0 / r as f64);
    }
    println!("relevance: {n} judged queries, success@3 {:.3} ({hits3}/{n}), MRR@10 {:.3}", hits3 as f64 / n as f64, rr_sum / n as f64);
    for (f, (t, ok)) in &by_field {
        println!("  {f:<8} {ok}/{t}");
    }
    if !hard_report.is_empty() {
        println!("known hard (not asserted):");
        for l in &hard_report {
            println!("  {l}");
        }
    }
    assert!(failures.is_empty(), "{} judged queries miss the top 3:\n{}", failures.len(), failures.join("\n"));
}
