//! Live copy statuses: what the library system says about each copy now, for the catalog's result
//! lists, record pages, the JSON API and chat.
//!
//! Over SIP2 a status costs one Item Information round trip, so [`CopyStatuses`] keeps each one
//! for `circulation.status_ttl_secs` on this node, asks for the missing ones in parallel (the
//! SIP2 pool bounds how many at once; a copy already being asked for is not asked again), and
//! waits at most `circulation.status_budget_ms` for them. A copy not answered by then shows its
//! last known status — from this node's memory, else the `copy_status` table every node shares
//! and a restart keeps — marked as not fresh with the time it was read; the request it was asked
//! for goes on in the background and fills the cache for the next reader. Statuses are written to
//! the table by one writer task in batches, off the reader's path.
//!
//! The built-in library system keeps its loans in wxlib's own store: its statuses are read from
//! there, always fresh, and the catalog's one-query counts are already live.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde::Serialize;
use tokio::sync::mpsc;

use super::{CopyState, CopyStatus, Ils};
use crate::clock::Clock;
use crate::db::{Db, DbError};

/// A stored status is written again when it changed, or when the stored one is this old (so
/// "read at" on another node stays close to the truth without a write per look-up).
const REWRITE_AFTER_SECS: i64 = 300;

/// A copy's status and how it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    #[serde(flatten)]
    pub status: CopyStatus,
    /// When the library system said so (unix seconds).
    pub read_at: i64,
    /// Read within the TTL (or from the built-in system's own tables). `false`: the library
    /// system did not answer in time and this is the last known status.
    pub fresh: bool,
}

impl Seen {
    fn unknown(barcode: &str, now: i64) -> Seen {
        Seen {
            status: CopyStatus { barcode: barcode.to_owned(), state: CopyState::Unknown, due_at: None, hold_queue: None },
            read_at: now,
            fresh: false,
        }
    }
}

type Flight = Shared<BoxFuture<'static, Option<CopyStatus>>>;

struct Cached {
    status: CopyStatus,
    read_at: i64,
    at: Instant,
    /// `read_at` of what the table holds, as far as this node wrote it.
    stored_at: Option<i64>,
}

struct Inner {
    db: Db,
    ils: Ils,
    clock: Clock,
    ttl: Duration,
    budget: Duration,
    cache: Mutex<HashMap<String, Cached>>,
    in_flight: Mutex<HashMap<String, Flight>>,
    writer: mpsc::UnboundedSender<(CopyStatus, i64)>,
}

/// The copies' statuses, live from the library system. Cheap to clone.
#[derive(Clone)]
pub struct CopyStatuses {
    inner: Arc<Inner>,
}

impl CopyStatuses {
    /// Starts the table writer (needs a tokio runtime).
    pub fn new(db: Db, ils: Ils, clock: Clock, ttl: Duration, budget: Duration) -> Self {
        let (writer, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_statuses(db.clone(), rx));
        Self {
            inner: Arc::new(Inner {
                db,
                ils,
                clock,
                ttl,
                budget,
                cache: Mutex::new(HashMap::new()),
                in_flight: Mutex::new(HashMap::new()),
                writer,
            }),
        }
    }

    /// Whether statuses come from a library system outside wxlib's store (then the catalog asks
    /// here; otherwise its own counts are live).
    pub fn remote(&self) -> bool {
        self.inner.ils.remote_status()
    }

    /// The budget a look-up waits for the library system.
    pub fn budget(&self) -> Duration {
        self.inner.budget
    }

    /// The statuses of `barcodes`, within the configured budget.
    pub async fn lookup(&self, barcodes: &[String]) -> Result<HashMap<String, Seen>, DbError> {
        self.lookup_within(barcodes, self.inner.budget).await
    }

    /// The statuses of `barcodes`: fresh where the library system answered (now or within the
    /// TTL), else the last known one (not fresh), else `Unknown`. Waits at most `budget`.
    pub async fn lookup_within(&self, barcodes: &[String], budget: Duration) -> Result<HashMap<String, Seen>, DbError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        if !inner.ils.remote_status() {
            return Ok(inner
                .db
                .builtin_copy_statuses(barcodes)
                .await?
                .into_iter()
                .map(|s| (s.barcode.clone(), Seen { status: s, read_at: now, fresh: true }))
                .collect());
        }
        let mut out = HashMap::with_capacity(barcodes.len());
        let mut flights = Vec::new();
        for b in barcodes {
            if out.contains_key(b) {
                continue;
            }
            match self.fresh(b) {
                Some(seen) => {
                    out.insert(b.clone(), seen);
                }
                None => flights.push(self.flight(b)),
            }
        }
        if !flights.is_empty() {
            // Whatever did not come in time goes on in its task and lands in the cache.
            let _ = tokio::time::timeout(budget, futures::future::join_all(flights)).await;
        }
        let mut missing = Vec::new();
        for b in barcodes {
            if out.contains_key(b) {
                continue;
            }
            match self.fresh(b).or_else(|| self.last_known_here(b)) {
                Some(seen) => {
                    out.insert(b.clone(), seen);
                }
                None => missing.push(b.clone()),
            }
        }
        if !missing.is_empty() {
            for (status, read_at) in inner.db.stored_copy_statuses(&missing).await? {
                out.insert(status.barcode.clone(), Seen { status, read_at, fresh: false });
            }
            for b in missing {
                out.entry(b.clone()).or_insert_with(|| Seen::unknown(&b, now));
            }
        }
        Ok(out)
    }

    /// Asks the library system about one copy now (no cache), and remembers the answer: for
    /// the notices, which must not act on a status minutes old.
    pub async fn ask(&self, barcode: &str) -> Option<CopyStatus> {
        if !self.inner.ils.remote_status() {
            return self.inner.ils.copy_status(barcode).await.ok();
        }
        self.flight(barcode).await
    }

    fn fresh(&self, barcode: &str) -> Option<Seen> {
        let cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        let c = cache.get(barcode)?;
        (c.at.elapsed() < self.inner.ttl).then(|| Seen { status: c.status.clone(), read_at: c.read_at, fresh: true })
    }

    fn last_known_here(&self, barcode: &str) -> Option<Seen> {
        let cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(barcode).map(|c| Seen { status: c.status.clone(), read_at: c.read_at, fresh: false })
    }

    /// The request for `barcode` in flight, or a new one in its own task.
    fn flight(&self, barcode: &str) -> Flight {
        let mut in_flight = self.inner.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = in_flight.get(barcode) {
            return f.clone();
        }
        let inner = self.inner.clone();
        let b = barcode.to_owned();
        let flight: Flight = async move {
            let answer = inner.ils.copy_status(&b).await;
            let out = match answer {
                Ok(status) => {
                    inner.remember(status.clone());
                    Some(status)
                }
                Err(e) => {
                    tracing::debug!(barcode = %b, error = %e, "copy status: the library system did not answer");
                    None
                }
            };
            inner.in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&b);
            out
        }
        .boxed()
        .shared();
        in_flight.insert(barcode.to_owned(), flight.clone());
        tokio::spawn(flight.clone());
        flight
    }
}

impl Inner {
    fn remember(&self, status: CopyStatus) {
        let now = self.clock.now();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let previous = cache.get(&status.barcode);
        let unchanged = previous.is_some_and(|p| p.status == status);
        let stored_at = previous.and_then(|p| p.stored_at);
        let write = !unchanged || stored_at.is_none_or(|at| now - at >= REWRITE_AFTER_SECS);
        if write {
            // The writer task outlives every look-up; a closed channel means shutting down.
            let _ = self.writer.send((status.clone(), now));
        }
        let stored_at = if write { Some(now) } else { stored_at };
        cache.insert(status.barcode.clone(), Cached { status, read_at: now, at: Instant::now(), stored_at });
    }
}

/// Writes the statuses read to the shared table, in batches.
async fn write_statuses(db: Db, mut rx: mpsc::UnboundedReceiver<(CopyStatus, i64)>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 200).await > 0 {
        if let Err(e) = db.store_copy_statuses(&batch).await {
            tracing::warn!(error = %crate::web::error::Chain(&e), n = batch.len(), "could not store copy statuses");
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::circulation::{
        Account, Capabilities, HotTitle, IlsError, IlsFuture, LibrarySystem, Pace, Patron, ReaderCircumstances, RenewOutcome,
    };

    /// A remote library system whose Item Information takes `delay`, counting the calls.
    struct SlowSystem {
        delay: Mutex<Duration>,
        calls: AtomicUsize,
    }

    impl LibrarySystem for SlowSystem {
        fn name(&self) -> &'static str {
            "slow"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities { renew: false, renew_all: false, hold: false, cancel_hold: false, fines: false, hot_list: false }
        }
        fn authenticate<'a>(&'a self, _: &'a str, _: &'a str) -> IlsFuture<'a, Patron> {
            Box::pin(async { Err(IlsError::NotSupported) })
        }
        fn account<'a>(&'a self, _: &'a str) -> IlsFuture<'a, Account> {
            Box::pin(async { Err(IlsError::NotSupported) })
        }
        fn renew<'a>(&'a self, _: &'a str, _: &'a str) -> IlsFuture<'a, RenewOutcome> {
            Box::pin(async { Err(IlsError::NotSupported) })
        }
        fn renew_all<'a>(&'a self, _: &'a str) -> IlsFuture<'a, Vec<RenewOutcome>> {
            Box::pin(async { Err(IlsError::NotSupported) })
        }
        fn place_hold<'a>(&'a self, _: &'a str, _: &'a str, _: Option<&'a str>) -> IlsFuture<'a, crate::circulation::Hold> {
            Box::pin(async { Err(IlsError::NotSupported) })
        }
        fn cancel_hold<'a>(&'a self, _: &'a str, _: &'a str) -> IlsFuture<'a, ()> {
            Box::pin(async { Err(IlsError::NotSupported) })
        }
        fn hot_titles<'a>(&'a self, _: i64, _: i64) -> IlsFuture<'a, Vec<HotTitle>> {
            Box::pin(async { Err(IlsError::NotSupported) })
        }
        fn remote_status(&self) -> bool {
            true
        }
        fn copy_status<'a>(&'a self, barcode: &'a str) -> IlsFuture<'a, CopyStatus> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                let delay = *self.delay.lock().unwrap();
                tokio::time::sleep(delay).await;
                let state = if barcode.ends_with('L') { CopyState::OnLoan } else { CopyState::Available };
                Ok(CopyStatus {
                    barcode: barcode.to_owned(),
                    state,
                    due_at: (state == CopyState::OnLoan).then_some(1_900_000_000),
                    hold_queue: Some(0),
                })
            })
        }
        fn circumstances<'a>(&'a self, _: &'a str, _: &'a Pace) -> IlsFuture<'a, ReaderCircumstances> {
            Box::pin(async { Ok(ReaderCircumstances::default()) })
        }
    }

    async fn setup(delay: Duration) -> (tempfile::TempDir, Db, Arc<SlowSystem>, CopyStatuses) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let system = Arc::new(SlowSystem { delay: Mutex::new(delay), calls: AtomicUsize::new(0) });
        let ils: Ils = system.clone();
        let statuses = CopyStatuses::new(db.clone(), ils, Clock::default(), Duration::from_secs(60), Duration::from_millis(300));
        (dir, db, system, statuses)
    }

    fn codes(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("B{i:03}{}", if i % 2 == 0 { "" } else { "L" })).collect()
    }

    #[tokio::test]
    async fn asked_in_parallel_then_served_from_the_cache() {
        let (_dir, _db, system, statuses) = setup(Duration::from_millis(100)).await;
        let barcodes = codes(20);
        let started = Instant::now();
        let seen = statuses.lookup(&barcodes).await.unwrap();
        // 20 copies at 100 ms each, in parallel: one round trip's time, not twenty.
        assert!(started.elapsed() < Duration::from_millis(290), "{:?}", started.elapsed());
        assert!(seen.values().all(|s| s.fresh));
        assert_eq!(seen["B001L"].status.state, CopyState::OnLoan);
        assert_eq!(seen["B001L"].status.due_at, Some(1_900_000_000));
        assert_eq!(seen["B000"].status.state, CopyState::Available);
        let again = statuses.lookup(&barcodes).await.unwrap();
        assert!(again.values().all(|s| s.fresh));
        assert_eq!(system.calls.load(Ordering::SeqCst), 20, "within the TTL nothing is asked again");
    }

    #[tokio::test]
    async fn a_slow_system_gives_the_last_known_status_marked_as_such() {
        let (_dir, db, system, statuses) = setup(Duration::from_millis(1)).await;
        let barcodes = codes(4);
        statuses.lookup(&barcodes).await.unwrap();
        // The table has them (written off the reader's path).
        let deadline = Instant::now() + Duration::from_secs(5);
        while db.stored_copy_statuses(&barcodes).await.unwrap().len() < 4 {
            assert!(Instant::now() < deadline, "statuses were not stored");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Another node (or this one after a restart): nothing cached, and the system stalls.
        let ils: Ils = system.clone();
        let other = CopyStatuses::new(db.clone(), ils, Clock::default(), Duration::from_secs(60), Duration::from_millis(200));
        *system.delay.lock().unwrap() = Duration::from_millis(600);
        let mut wanted = barcodes.clone();
        wanted.push("NEVER".into());
        let started = Instant::now();
        let seen = other.lookup(&wanted).await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(450), "{:?}", started.elapsed());
        assert!(!seen["B000"].fresh && seen["B000"].status.state == CopyState::Available);
        assert!(!seen["B001L"].fresh && seen["B001L"].status.due_at == Some(1_900_000_000));
        assert_eq!(seen["NEVER"].status.state, CopyState::Unknown);
        // The requests went on: the next reader gets fresh statuses, and nothing was asked twice.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let later = other.lookup(&wanted).await.unwrap();
        assert!(later.values().all(|s| s.fresh), "{later:?}");
        assert_eq!(system.calls.load(Ordering::SeqCst), 4 + 5);
    }
}
