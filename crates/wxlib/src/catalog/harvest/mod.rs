//! Harvesting the catalog from the library system over OAI-PMH (`[catalog.harvest]`): the
//! records come in as `wxlib import` brings them (keyed by MARC 001, into the database, and from
//! there into every node's search index through [`super::sync`]), and only what changed since the
//! last harvest is fetched.
//!
//! A run: `Identify` (the provider's datestamp granularity and whether it reports deletions), then
//! `ListRecords` page by page with its resumption tokens. The first run lists everything; each
//! later one lists `from` the checkpoint — the responseDate of the last complete list's first
//! page — less the overlap the granularity needs ([`list_from`]), so a record changed while that
//! list ran is fetched again rather than missed; fetched again, it is an update, never a double.
//! A `status="deleted"` header deletes the record its identifier brought (the identifier map is
//! in the store). `noRecordsMatch` means nothing changed.
//!
//! Each page's records, the token of the next page and the run's counts are committed in one
//! transaction ([`store::Db::commit_harvest_page`]): a harvest killed anywhere and run again
//! resumes with the saved token, or, if the provider no longer takes it (`badResumptionToken`),
//! lists again from the checkpoint. A record that cannot be read (broken XML, not MARC, no 001)
//! is skipped and named with its identifier and why, in the summary, the run's record in the
//! store and the log; the rest of its page goes in. A provider that does not answer (after the
//! retries of [`fetch`]) fails the run and keeps the checkpoint; nothing in the catalog is lost.
//!
//! One harvest at a time across nodes and commands: the `catalog_harvest` lease.

pub mod console;
pub mod fetch;
pub mod job;
pub mod store;

use std::fmt;
use std::time::Duration;

use oai::{Datestamp, DeletedRecord, ErrorCode, Granularity, ListArgs, Request};

use crate::catalog::import::{dedupe_batch, row_of};
use crate::catalog::store::RecordRow;
use crate::config::HarvestConfig;
use crate::db::{Db, DbError, unix_now};
use crate::web::error::Chain;
use fetch::{FetchError, Fetcher};
pub use store::SkippedRecord;
use store::{After, PageWrite};

/// The lease that keeps harvests to one at a time.
pub const LEASE: &str = "catalog_harvest";
/// How long the lease lasts without renewal. A run keeps it by a renewal every second
/// ([`crate::jobs::HeldLease`]) however long a page takes, so a node that dies mid-harvest loses
/// it within these seconds and another node resumes from the saved resumption token.
const LEASE_SECS: i64 = 10;
/// How often one run lists again after `badResumptionToken` before it gives up.
const MAX_RESTARTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    #[error("no OAI-PMH provider is configured (catalog.harvest.url)")]
    NotConfigured,
    #[error("another harvest is running (the catalog_harvest lease is held elsewhere)")]
    Busy,
    #[error("the harvest lease was taken over by another node (this node could not renew it for {LEASE_SECS} s)")]
    LeaseLost,
    #[error("the OAI-PMH provider could not be harvested")]
    Fetch(#[from] FetchError),
    #[error("the OAI-PMH provider's {verb} answer cannot be used")]
    Response {
        verb: &'static str,
        #[source]
        source: oai::ResponseError,
    },
    #[error("the provider refused the resumption token {MAX_RESTARTS} times in a row even after listing again")]
    TokenLoop,
    #[error("the provider sent the same resumption token twice ({0:?}): its list does not advance")]
    TokenRepeated(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HarvestSummary {
    pub run_id: i64,
    pub full: bool,
    /// Resumed a list an earlier run left unfinished.
    pub resumed: bool,
    /// The `from` of the (last) list: `None` lists everything.
    pub from: Option<Datestamp>,
    pub granularity: Option<Granularity>,
    pub pages: usize,
    pub added: usize,
    pub updated: usize,
    pub deleted: usize,
    pub skipped: Vec<SkippedRecord>,
    /// Lists started again after `badResumptionToken`.
    pub restarts: u32,
    /// HTTP requests made, retries included.
    pub requests: u64,
}

impl fmt::Display for HarvestSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "harvest complete: added {}, updated {}, deleted {}, skipped {}",
            self.added,
            self.updated,
            self.deleted,
            self.skipped.len()
        )?;
        let from = match (self.from, self.granularity) {
            (Some(from), Some(g)) => format!("changes from {}", from.format(g)),
            _ => "everything".to_owned(),
        };
        write!(f, " ({from}; {} page(s), {} request(s)", self.pages, self.requests)?;
        if self.resumed {
            f.write_str("; resumed an interrupted harvest")?;
        }
        if self.restarts > 0 {
            write!(f, "; listed again {} time(s) after badResumptionToken", self.restarts)?;
        }
        f.write_str(")")?;
        for s in &self.skipped {
            write!(f, "\n  skipped {}: {}", s.identifier, s.reason)?;
        }
        Ok(())
    }
}

/// The key a source's state is kept under: another URL, format or set is another harvest.
pub fn source_key(cfg: &HarvestConfig) -> String {
    format!("{}|{}|{}", cfg.url, cfg.metadata_prefix, cfg.set)
}

/// The `from` of an incremental list after `checkpoint`: with day datestamps the checkpoint's
/// own day (a record changed later that day carries the same date, and `from` is inclusive), with
/// second datestamps the checkpoint less a minute (for clocks that disagree and datestamps
/// written a little after the record is visible). `None` (everything) before the first
/// complete harvest.
pub fn list_from(checkpoint: Option<Datestamp>, granularity: Granularity) -> Option<Datestamp> {
    let at = checkpoint?;
    Some(match granularity {
        Granularity::Day => Datestamp(at.0.div_euclid(civil::DAY_SECS) * civil::DAY_SECS),
        Granularity::Seconds => Datestamp(at.0 - Granularity::Seconds.overlap_secs()),
    })
}

/// Where a run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// The next page of the list an earlier run left unfinished.
    Resume { token: String, list_from: Option<Datestamp>, list_started: Option<i64> },
    /// A new list.
    List { from: Option<Datestamp> },
}

/// Where a run starts from the saved state: `--full` lists everything; else an unfinished list
/// is resumed; else a list from the checkpoint.
pub fn start(state: &store::HarvestState, granularity: Granularity, full: bool) -> Start {
    if full {
        return Start::List { from: None };
    }
    match &state.resume_token {
        Some(token) if !token.is_empty() => {
            Start::Resume { token: token.clone(), list_from: state.list_from.map(Datestamp), list_started: state.list_started }
        }
        _ => Start::List { from: list_from(state.checkpoint.map(Datestamp), granularity) },
    }
}

/// A harvested record as the catalog takes it.
#[derive(Debug)]
enum Incoming {
    Upsert(RecordRow),
    /// A MARC record whose leader says deleted.
    Delete(String),
}

/// Reads one record's MARCXML as `wxlib import` reads a MARCXML file.
fn incoming(metadata: &str) -> Result<Incoming, String> {
    let record = match marc::XmlReader::new(metadata.as_bytes()).next() {
        None => return Err("the metadata holds no MARCXML record (is metadata_prefix a MARCXML format?)".into()),
        Some(Err(e)) => return Err(format!("invalid MARC: {}", e.reason)),
        Some(Ok(r)) => r,
    };
    let Some(id) = record.control_number().map(str::to_owned) else {
        return Err("no control number (001) to key it by".into());
    };
    if record.leader.record_status() == 'd' {
        return Ok(Incoming::Delete(id));
    }
    let bib = marc::Bib::from_record(&record);
    row_of(id, &record, &bib).map(Incoming::Upsert)
}

/// Turns a page into its writes; `known` maps the page's identifiers to the records they brought
/// before.
fn page_write(page: &oai::ListRecordsPage, known: &std::collections::HashMap<String, String>, page_no: usize) -> PageWrite {
    let mut w = PageWrite::default();
    let mut rows = Vec::new();
    for r in &page.records {
        let r = match r {
            Ok(r) => r,
            Err(b) => {
                let identifier = b.identifier.clone().unwrap_or_else(|| format!("(record {} of page {page_no})", b.index + 1));
                w.skipped.push(SkippedRecord { identifier, reason: b.reason.clone() });
                continue;
            }
        };
        let ident = &r.header.identifier;
        let before = known.get(ident);
        if r.header.deleted {
            w.deletes.extend(before.cloned());
            w.unmap.push(ident.clone());
            continue;
        }
        match incoming(r.metadata.as_deref().unwrap_or_default()) {
            Ok(Incoming::Upsert(row)) => {
                // The record's 001 changed at the provider: the old record is gone.
                if let Some(old) = before.filter(|old| **old != row.id) {
                    w.deletes.push(old.clone());
                }
                w.map.push((ident.clone(), row.id.clone()));
                rows.push(row);
            }
            Ok(Incoming::Delete(id)) => {
                w.deletes.push(id);
                w.unmap.push(ident.clone());
            }
            Err(reason) => w.skipped.push(SkippedRecord { identifier: ident.clone(), reason }),
        }
    }
    w.rows = dedupe_batch(rows);
    let kept: std::collections::HashSet<&str> = w.rows.iter().map(|r| r.id.as_str()).collect();
    w.deletes.retain(|d| !kept.contains(d.as_str()));
    w.deletes.sort();
    w.deletes.dedup();
    // The last mapping of an identifier wins (one statement may not touch a row twice).
    let mut seen = std::collections::HashSet::new();
    w.map.reverse();
    w.map.retain(|(ident, _)| seen.insert(ident.clone()));
    w.unmap.retain(|ident| !seen.contains(ident));
    w
}

/// One harvest of the configured provider, under the lease held as `holder`: from the saved
/// checkpoint, or everything with `full`. The run is recorded (`harvest_runs`) however it ends.
pub async fn run(db: &Db, cfg: &HarvestConfig, holder: &str, full: bool) -> Result<HarvestSummary, HarvestError> {
    if cfg.url.is_empty() {
        return Err(HarvestError::NotConfigured);
    }
    if !take_lease(db, holder).await? {
        return Err(HarvestError::Busy);
    }
    run_under_lease(db, cfg, holder, full).await
}

/// Takes (or renews) the harvest lease as `holder`; `false` when another node holds it.
pub(super) async fn take_lease(db: &Db, holder: &str) -> Result<bool, DbError> {
    db.try_lease(LEASE, holder, LEASE_SECS, unix_now()).await
}

/// [`run`] for a caller that took the lease as `holder` ([`take_lease`]); gives it back at the end.
pub(super) async fn run_under_lease(db: &Db, cfg: &HarvestConfig, holder: &str, full: bool) -> Result<HarvestSummary, HarvestError> {
    let held = crate::jobs::HeldLease::keep(db, LEASE, holder, LEASE_SECS);
    let source = source_key(cfg);
    let started = std::time::Instant::now();
    let result = match db.start_harvest_run(&source, full, unix_now()).await {
        Ok(run_id) => {
            let fetcher = Fetcher::new(&cfg.url, Duration::from_secs(cfg.timeout_secs), cfg.max_attempts);
            let mut summary = HarvestSummary { run_id, full, ..Default::default() };
            let result = harvest(db, cfg, &fetcher, &source, holder, &held, &mut summary).await;
            summary.requests = fetcher.requests.load(std::sync::atomic::Ordering::Relaxed);
            let message = result.as_ref().err().map(|e| Chain(e).to_string());
            let outcome = if result.is_ok() { "complete" } else { "failed" };
            db.finish_harvest_run(run_id, outcome, message.as_deref(), unix_now()).await?;
            result.map(|()| summary)
        }
        Err(e) => Err(e.into()),
    };
    drop(held);
    if let Err(e) = db.release_lease(LEASE, holder).await {
        tracing::warn!(error = %Chain(&e), "cannot release the harvest lease; it expires by itself");
    }
    record_metrics(&result, started.elapsed());
    match &result {
        Ok(s) => {
            for skip in &s.skipped {
                tracing::warn!(identifier = %skip.identifier, reason = %skip.reason, "harvest skipped a record");
            }
            tracing::info!(
                added = s.added,
                updated = s.updated,
                deleted = s.deleted,
                skipped = s.skipped.len(),
                pages = s.pages,
                "harvest complete"
            );
        }
        Err(e) => tracing::error!(error = %Chain(e), "harvest failed; the checkpoint is kept"),
    }
    result
}

fn record_metrics(result: &Result<HarvestSummary, HarvestError>, took: Duration) {
    metrics::counter!("wxlib_harvest_runs_total", "outcome" => if result.is_ok() { "complete" } else { "failed" }).increment(1);
    metrics::histogram!("wxlib_harvest_run_seconds").record(took.as_secs_f64());
    if let Ok(s) = result {
        for (change, n) in [("added", s.added), ("updated", s.updated), ("deleted", s.deleted), ("skipped", s.skipped.len())] {
            metrics::counter!("wxlib_harvest_records_total", "change" => change).increment(n as u64);
        }
        metrics::gauge!("wxlib_harvest_last_complete_timestamp_seconds").set(unix_now() as f64);
    }
}

async fn harvest(
    db: &Db,
    cfg: &HarvestConfig,
    fetcher: &Fetcher,
    source: &str,
    holder: &str,
    held: &crate::jobs::HeldLease,
    summary: &mut HarvestSummary,
) -> Result<(), HarvestError> {
    let identify = oai::parse_identify(&fetcher.get(&Request::Identify).await?)
        .map_err(|source| HarvestError::Response { verb: "Identify", source })?;
    let g = identify.granularity;
    summary.granularity = Some(g);
    if identify.deleted_record == DeletedRecord::No {
        tracing::warn!(provider = %cfg.url, "the provider keeps no deletions: records deleted there stay here until a full harvest");
    }
    let g_name = match g {
        Granularity::Day => "YYYY-MM-DD",
        Granularity::Seconds => "YYYY-MM-DDThh:mm:ssZ",
    };
    if summary.full {
        db.reset_harvest(source, unix_now()).await?;
    }
    let state = db.harvest_state(source).await?.unwrap_or_default();
    let checkpoint = state.checkpoint;
    let list_args = |from: Option<Datestamp>| {
        Request::ListRecords(ListArgs {
            metadata_prefix: cfg.metadata_prefix.clone(),
            from,
            until: None,
            set: Some(cfg.set.clone()).filter(|s| !s.is_empty()),
            granularity: g,
        })
    };
    // The list in progress: its `from`, its first page's responseDate, whether the next page is
    // its first.
    let (mut request, mut from, mut list_started, mut first_page) = match start(&state, g, summary.full) {
        Start::Resume { token, list_from, list_started } => {
            summary.resumed = true;
            (Request::ResumeListRecords { token }, list_from, list_started, false)
        }
        Start::List { from } => {
            db.start_harvest_list(source, g_name, from.map(|d| d.0), unix_now()).await?;
            (list_args(from), from, None, true)
        }
    };
    summary.from = from;
    loop {
        if !db.try_lease(LEASE, holder, LEASE_SECS, unix_now()).await? {
            return Err(HarvestError::LeaseLost);
        }
        let body = fetcher.get(&request).await?;
        let page = match oai::parse_list_records(&body) {
            Ok(page) => page,
            Err(e) if e.has_code(&ErrorCode::NoRecordsMatch) => {
                // Nothing (more) to list: the list is complete as it stands.
                let after = After::Complete { checkpoint: list_started };
                db.commit_harvest_page(source, summary.run_id, &PageWrite::default(), &after, unix_now()).await?;
                return Ok(());
            }
            Err(e) if e.has_code(&ErrorCode::BadResumptionToken) && matches!(request, Request::ResumeListRecords { .. }) => {
                if summary.restarts >= MAX_RESTARTS {
                    return Err(HarvestError::TokenLoop);
                }
                summary.restarts += 1;
                // Expired or not this provider's any more: list again from the checkpoint.
                from = list_from(checkpoint.map(Datestamp), g);
                tracing::warn!(from = ?from.map(|d| d.format(g)), "the provider refused the resumption token; listing again from the checkpoint");
                db.start_harvest_list(source, g_name, from.map(|d| d.0), unix_now()).await?;
                summary.from = from;
                (request, list_started, first_page) = (list_args(from), None, true);
                continue;
            }
            Err(source) => return Err(HarvestError::Response { verb: "ListRecords", source }),
        };
        if first_page {
            list_started = page.response_date.map(|d| d.0);
            first_page = false;
        }
        summary.pages += 1;
        let identifiers: Vec<String> = page.records.iter().filter_map(|r| r.as_ref().ok()).map(|r| r.header.identifier.clone()).collect();
        let known = db.harvest_record_ids(&identifiers).await?;
        let write = page_write(&page, &known, summary.pages);
        let next = page.next_token().map(str::to_owned);
        if let (Some(next), Request::ResumeListRecords { token }) = (&next, &request)
            && next == token
        {
            return Err(HarvestError::TokenRepeated(next.clone()));
        }
        let after = match &next {
            Some(token) => After::Continue { token: token.clone(), list_started },
            None => After::Complete { checkpoint: list_started },
        };
        // A page fetched while another node took the harvest over is that node's to write.
        if held.lost() {
            return Err(HarvestError::LeaseLost);
        }
        let counts = db.commit_harvest_page(source, summary.run_id, &write, &after, unix_now()).await?;
        summary.added += counts.added;
        summary.updated += counts.updated;
        summary.deleted += counts.deleted;
        summary.skipped.extend(write.skipped);
        match next {
            Some(token) => request = Request::ResumeListRecords { token },
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::HarvestState;

    fn at(s: &str) -> Datestamp {
        Datestamp::parse(s).unwrap()
    }

    #[test]
    fn incremental_lists_overlap_as_the_granularity_needs() {
        // Nothing harvested yet: everything.
        assert_eq!(list_from(None, Granularity::Seconds), None);
        assert_eq!(list_from(None, Granularity::Day), None);
        // Seconds: a minute before the checkpoint.
        assert_eq!(list_from(Some(at("2026-12-07T10:00:30Z")), Granularity::Seconds), Some(at("2026-12-07T09:59:30Z")));
        // Days: the checkpoint's own day, at whatever time of it the checkpoint was.
        assert_eq!(list_from(Some(at("2026-12-07T23:59:59Z")), Granularity::Day), Some(at("2026-12-07")));
        assert_eq!(list_from(Some(at("2026-12-07T00:00:00Z")), Granularity::Day), Some(at("2026-12-07")));
        assert_eq!(list_from(Some(at("2026-12-07T00:00:00Z")), Granularity::Day).unwrap().format(Granularity::Day), "2026-12-07");
        // Before 1970 (a checkpoint is never there, but the arithmetic must not round up).
        assert_eq!(list_from(Some(Datestamp(-1)), Granularity::Day), Some(Datestamp(-civil::DAY_SECS)));
    }

    #[test]
    fn a_run_resumes_an_unfinished_list_else_lists_from_the_checkpoint() {
        let checkpoint = at("2026-12-07T10:00:00Z").0;
        let done = HarvestState { checkpoint: Some(checkpoint), ..Default::default() };
        assert_eq!(start(&done, Granularity::Seconds, false), Start::List { from: Some(Datestamp(checkpoint - 60)) });
        assert_eq!(start(&done, Granularity::Seconds, true), Start::List { from: None });
        let killed = HarvestState {
            checkpoint: Some(checkpoint),
            list_from: Some(checkpoint - 60),
            list_started: Some(checkpoint + 3600),
            resume_token: Some("tok".into()),
            ..Default::default()
        };
        assert_eq!(
            start(&killed, Granularity::Seconds, false),
            Start::Resume { token: "tok".into(), list_from: Some(Datestamp(checkpoint - 60)), list_started: Some(checkpoint + 3600) }
        );
        // --full forgets the unfinished list too.
        assert_eq!(start(&killed, Granularity::Seconds, true), Start::List { from: None });
        let never = HarvestState::default();
        assert_eq!(start(&never, Granularity::Day, false), Start::List { from: None });
    }

    const MARC: &str = r#"<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500</leader>
        <controlfield tag="001">ID</controlfield><datafield tag="245" ind1="0" ind2="0"><subfield code="a">Title ID</subfield></datafield></record>"#;

    fn page(records: Vec<Result<oai::Record, oai::BrokenRecord>>) -> oai::ListRecordsPage {
        oai::ListRecordsPage { response_date: None, records, resumption_token: None }
    }

    fn rec(ident: &str, metadata: Option<String>) -> Result<oai::Record, oai::BrokenRecord> {
        let deleted = metadata.is_none();
        Ok(oai::Record { header: oai::Header { identifier: ident.into(), datestamp: None, set_specs: vec![], deleted }, metadata })
    }

    #[test]
    fn a_page_becomes_upserts_deletions_and_named_skips() {
        let known: std::collections::HashMap<String, String> =
            [("oai:x:gone", "g1"), ("oai:x:renumbered", "old7")].into_iter().map(|(a, b)| (a.to_owned(), b.to_owned())).collect();
        let p = page(vec![
            rec("oai:x:1", Some(MARC.replace("ID", "1"))),
            rec("oai:x:gone", None),
            rec("oai:x:never-seen", None),
            rec("oai:x:renumbered", Some(MARC.replace("ID", "7"))),
            rec("oai:x:no001", Some(MARC.replace(r#"<controlfield tag="001">ID</controlfield>"#, ""))),
            rec("oai:x:dc", Some("<oai_dc:dc xmlns:oai_dc=\"x\"><title>t</title></oai_dc:dc>".into())),
            Err(oai::BrokenRecord { index: 6, identifier: Some("oai:x:bad".into()), reason: "malformed XML at byte 9".into() }),
            Err(oai::BrokenRecord { index: 7, identifier: None, reason: "the record is not closed".into() }),
            rec("oai:x:leader-d", Some(MARC.replace("ID", "9").replace("00000nam", "00000dam"))),
        ]);
        let w = page_write(&p, &known, 3);
        assert_eq!(w.rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["1", "7"]);
        assert_eq!(w.rows[0].title, "Title 1");
        assert_eq!(w.deletes, ["9", "g1", "old7"]);
        assert!(w.map.contains(&("oai:x:1".into(), "1".into())) && w.map.contains(&("oai:x:renumbered".into(), "7".into())));
        assert_eq!(w.unmap, ["oai:x:gone", "oai:x:never-seen", "oai:x:leader-d"]);
        let skipped: Vec<(&str, &str)> = w.skipped.iter().map(|s| (s.identifier.as_str(), s.reason.as_str())).collect();
        assert_eq!(skipped[0], ("oai:x:no001", "no control number (001) to key it by"));
        assert_eq!(skipped[1].0, "oai:x:dc");
        assert!(skipped[1].1.contains("no MARCXML record"), "{}", skipped[1].1);
        assert_eq!(skipped[2], ("oai:x:bad", "malformed XML at byte 9"));
        assert_eq!(skipped[3], ("(record 8 of page 3)", "the record is not closed"));
    }

    #[test]
    fn the_summary_line_names_the_counts_and_every_skipped_record() {
        let s = HarvestSummary {
            added: 3,
            updated: 2,
            deleted: 1,
            pages: 4,
            requests: 6,
            from: Some(at("2026-12-07")),
            granularity: Some(Granularity::Day),
            skipped: vec![SkippedRecord { identifier: "oai:x:9".into(), reason: "invalid MARC: no leader".into() }],
            ..Default::default()
        };
        assert_eq!(
            s.to_string(),
            "harvest complete: added 3, updated 2, deleted 1, skipped 1 (changes from 2026-12-07; 4 page(s), 6 request(s))\n  skipped oai:x:9: invalid MARC: no leader"
        );
    }
}
