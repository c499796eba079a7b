//! The callback journal: handle each callback once, and record it, with one transaction per
//! *batch* of callbacks rather than several per callback.
//!
//! WeChat retries an unanswered callback up to 3 times with the same body; behind a load balancer
//! the retries land on other nodes, so the state lives in the database. The first arrival claims
//! the key (`running`, with a lease) and, in the same transaction, logs the event, updates the
//! follower and opens the customer-service window — so an event is logged exactly when it is
//! claimed. Later arrivals wait for its reply and send the same one. A claimant that died (lease
//! ran out while `running`) is taken over by the next retry, so a crash loses nothing.
//!
//! Under load one writer gathers whatever claims and finishes are waiting and commits them
//! together (group commit), so a commit is shared by the whole batch. Two writers implement the batch with the same rules:
//! [`Db::journal_batch`] through the pool (PostgreSQL, in-memory SQLite) and
//! [`sqlite::SqliteJournal`] on a connection and thread of its own (SQLite on disk, the default);
//! the storage conformance tests hold both to the same story.

use std::collections::{HashMap, HashSet};

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use wechat::Reply;

use crate::db::{Db, DbError, builder};
use crate::followers::{OPEN_WINDOW_CONFLICT, OPEN_WINDOW_INSERT, SUBSCRIBE_SQL, UNSUBSCRIBE_SQL};
use crate::with_pool;

pub mod sqlite;

const MAX_BATCH: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// We own this callback: handle it.
    Owner,
    /// Already handled: answer with this reply (`Success` if it was deferred to the outbox).
    Done(Reply),
    /// Another request is handling it right now.
    Running,
}

/// How a callback changes the follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowChange {
    Unchanged,
    Subscribe { scene: Option<String> },
    Unsubscribe,
}

/// What is recorded when a callback is claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub openid: String,
    pub msg_type: String,
    pub event: Option<String>,
    pub event_key: Option<String>,
    pub created_at: i64,
    pub follow: FollowChange,
    /// The customer-service window this interaction opens: (seconds, send quota).
    pub window: Option<(i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Begin {
    pub key: String,
    pub now: i64,
    pub lease_secs: i64,
    pub record: Option<Record>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    pub key: String,
    /// `done` (answered in the callback) or `deferred` (answer goes by the outbox).
    pub state: &'static str,
    pub reply: Reply,
}

impl Db {
    /// Claims and records `begins`, and stores `finishes`, in one transaction. Returns the claim
    /// for each begin, in order. A key repeated within the batch is `Running` after its first.
    pub async fn journal_batch(&self, begins: &[Begin], finishes: &[Finish]) -> Result<Vec<Claim>, DbError> {
        let mut claims = vec![Claim::Running; begins.len()];
        let mut inserted = vec![false; begins.len()];
        let mut firsts: Vec<usize> = Vec::new();
        let mut seen = HashSet::new();
        for (i, b) in begins.iter().enumerate() {
            if seen.insert(b.key.as_str()) {
                firsts.push(i);
            }
        }
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            if !firsts.is_empty() {
                let mut qb = builder(pool, "INSERT INTO callback_dedupe (key, state, lease_until, created_at) ");
                qb.push_values(&firsts, |mut row, &i| {
                    let b = &begins[i];
                    row.push_bind(b.key.clone()).push_bind("running").push_bind(b.now + b.lease_secs).push_bind(b.now);
                });
                qb.push(" ON CONFLICT (key) DO NOTHING RETURNING key");
                let owned: Vec<(String,)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                let owned: HashSet<String> = owned.into_iter().map(|(k,)| k).collect();
                for &i in &firsts {
                    let b = &begins[i];
                    if owned.contains(&b.key) {
                        claims[i] = Claim::Owner;
                        inserted[i] = true;
                        continue;
                    }
                    // A retry: rare, so one query each.
                    let row: Option<(String, Option<String>, i64)> =
                        sqlx::query_as("SELECT state, reply, lease_until FROM callback_dedupe WHERE key = $1").bind(&b.key).fetch_optional(&mut *tx).await?;
                    claims[i] = match row {
                        Some((state, reply, _)) if state != "running" => {
                            Claim::Done(reply.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or(Reply::Success))
                        }
                        Some((_, _, lease_until)) if lease_until < b.now => {
                            let take = "UPDATE callback_dedupe SET lease_until = $2 WHERE key = $1 AND state = 'running' AND lease_until < $3";
                            let n = sqlx::query(take).bind(&b.key).bind(b.now + b.lease_secs).bind(b.now).execute(&mut *tx).await?.rows_affected();
                            if n == 1 { Claim::Owner } else { Claim::Running }
                        }
                        _ => Claim::Running,
                    };
                }
            }

            // Record what the new owners received (takeovers were recorded by their first owner).
            let fresh: Vec<(&Record, i64)> = firsts.iter().filter(|&&i| inserted[i]).filter_map(|&i| begins[i].record.as_ref().map(|r| (r, begins[i].now))).collect();
            if !fresh.is_empty() {
                let mut qb = builder(pool, "INSERT INTO event_log (openid, msg_type, event, event_key, created_at, received_at) ");
                qb.push_values(&fresh, |mut row, (r, received_at)| {
                    row.push_bind(r.openid.clone())
                        .push_bind(r.msg_type.clone())
                        .push_bind(r.event.clone())
                        .push_bind(r.event_key.clone())
                        .push_bind(r.created_at)
                        .push_bind(*received_at);
                });
                qb.build().execute(&mut *tx).await?;
                for (r, _) in &fresh {
                    match &r.follow {
                        FollowChange::Unchanged => {}
                        FollowChange::Subscribe { scene } => {
                            sqlx::query(SUBSCRIBE_SQL).bind(&r.openid).bind(r.created_at).bind(scene).execute(&mut *tx).await?;
                        }
                        FollowChange::Unsubscribe => {
                            sqlx::query(UNSUBSCRIBE_SQL).bind(&r.openid).bind(r.created_at).execute(&mut *tx).await?;
                        }
                    }
                }
                // One window row per reader: the longest-lasting one in the batch.
                let mut windows: HashMap<&str, (i64, i64)> = HashMap::new();
                for (r, received_at) in &fresh {
                    if let Some((secs, quota)) = r.window {
                        let expires = received_at + secs;
                        let e = windows.entry(r.openid.as_str()).or_insert((expires, quota));
                        if expires > e.0 {
                            *e = (expires, quota);
                        }
                    }
                }
                if !windows.is_empty() {
                    let mut qb = builder(pool, OPEN_WINDOW_INSERT);
                    qb.push_values(windows.iter(), |mut row, (openid, (expires, quota))| {
                        row.push_bind(openid.to_string()).push_bind(1i64).push_bind(*expires).push_bind(*quota).push_bind(0i64);
                    });
                    qb.push(OPEN_WINDOW_CONFLICT);
                    qb.build().execute(&mut *tx).await?;
                }
            }

            if !finishes.is_empty() {
                // An upsert on existing rows: the dummy lease/created_at are ignored on conflict.
                let mut qb = builder(pool, "INSERT INTO callback_dedupe (key, state, reply, lease_until, created_at) ");
                qb.push_values(finishes, |mut row, f| {
                    let json = serde_json::to_string(&f.reply).unwrap_or_else(|_| "{\"type\":\"success\"}".into());
                    row.push_bind(f.key.clone()).push_bind(f.state).push_bind(json).push_bind(0i64).push_bind(0i64);
                });
                qb.push(" ON CONFLICT (key) DO UPDATE SET state = excluded.state, reply = excluded.reply");
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(claims)
    }

    /// Forgets callbacks older than `before` (WeChat's retries end within seconds).
    pub async fn purge_callbacks(&self, before: i64) -> Result<u64, DbError> {
        Ok(with_pool!(self, |pool| sqlx::query("DELETE FROM callback_dedupe WHERE created_at < $1").bind(before).execute(pool).await?.rows_affected()))
    }
}

/// A batch failed; every callback in it gets this error (and WeChat will retry them).
#[derive(Debug, Clone, thiserror::Error)]
#[error("callback journal: {0}")]
pub struct JournalError(String);

enum Op {
    Begin(Begin, oneshot::Sender<Result<Claim, JournalError>>),
    Finish(Finish, oneshot::Sender<Result<(), JournalError>>),
}

/// The batching front of the journal, one per process.
#[derive(Clone)]
pub struct Journal {
    writer: Writer,
}

#[derive(Clone)]
enum Writer {
    /// A task writing through the pool ([`Db::journal_batch`]): PostgreSQL, in-memory SQLite.
    Pool(mpsc::Sender<Op>),
    /// SQLite on disk: whoever submits writes ([`Leader`]).
    Sqlite(Arc<Leader>),
}

/// Group commit without a writer thread of its own: a request queues its op and, if nobody is
/// writing, becomes the leader and writes everything queued, in batches, on its own thread; the
/// others just wait for their answer. A separate writer thread was measured first: on 2 cores
/// it competed with the request threads for CPU and every batch paid a thread wake-up.
pub struct Leader {
    queue: Mutex<Vec<Op>>,
    writer: Mutex<sqlite::SqliteJournal>,
    /// A finish does not lead (it rides with the next claims); this flush writes it when no
    /// claim comes soon.
    flush_scheduled: std::sync::atomic::AtomicBool,
}

/// How long a finish may wait for claims to ride with.
const FINISH_FLUSH: std::time::Duration = std::time::Duration::from_millis(2);

/// A leader writes at most this many batches before handing the rest to a fresh task, so that a
/// request thread never stays stuck writing under sustained load.
const LEADER_ROUNDS: usize = 4;

impl Leader {
    fn submit(self: &Arc<Self>, op: Op) {
        let claim = matches!(op, Op::Begin(..));
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push(op);
        if claim {
            // The submitter leads after letting others queue theirs (Journal::submit).
        } else if !self.flush_scheduled.swap(true, std::sync::atomic::Ordering::AcqRel) {
            let me = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(FINISH_FLUSH).await;
                me.flush_scheduled.store(false, std::sync::atomic::Ordering::Release);
                me.lead();
            });
        }
    }

    /// Writes what is queued unless someone else is writing. An op is never stranded: a
    /// submitter that finds the writer locked leaves its op to the leader, and the leader looks
    /// at the queue again each time after unlocking.
    fn lead(self: &Arc<Self>) {
        for _ in 0..LEADER_ROUNDS {
            let Ok(mut writer) = self.writer.try_lock() else { return };
            let mut ops = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
            if ops.len() > MAX_BATCH {
                let rest = ops.split_off(MAX_BATCH);
                self.queue.lock().unwrap_or_else(|p| p.into_inner()).splice(0..0, rest);
            }
            if !ops.is_empty() {
                let batch = Batch::of(&mut ops);
                let result = writer.batch(&batch.begins, &batch.finishes);
                drop(writer);
                batch.answer(result);
            } else {
                drop(writer);
            }
            if self.queue.lock().unwrap_or_else(|p| p.into_inner()).is_empty() {
                return;
            }
        }
        let me = self.clone();
        tokio::spawn(async move { me.lead() });
    }

    /// Writes everything queued, waiting for the writer if it is busy (at shutdown).
    fn flush(&self) {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let mut ops = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
            if ops.is_empty() {
                return;
            }
            let batch = Batch::of(&mut ops);
            let result = writer.batch(&batch.begins, &batch.finishes);
            batch.answer(result);
        }
    }
}

/// A drained set of ops, split into the batch to write and whom to answer.
#[derive(Default)]
struct Batch {
    begins: Vec<Begin>,
    finishes: Vec<Finish>,
    begin_tx: Vec<oneshot::Sender<Result<Claim, JournalError>>>,
    finish_tx: Vec<oneshot::Sender<Result<(), JournalError>>>,
}

impl Batch {
    fn of(ops: &mut Vec<Op>) -> Self {
        let mut batch = Batch::default();
        for op in ops.drain(..) {
            match op {
                Op::Begin(b, t) => {
                    batch.begins.push(b);
                    batch.begin_tx.push(t);
                }
                Op::Finish(f, t) => {
                    batch.finishes.push(f);
                    batch.finish_tx.push(t);
                }
            }
        }
        metrics::histogram!("wxlib_journal_batch_size").record((batch.begins.len() + batch.finishes.len()) as f64);
        batch
    }

    /// Answers every op with the batch's outcome (a failed batch fails them all; WeChat retries).
    fn answer<E: std::fmt::Display>(self, result: Result<Vec<Claim>, E>) {
        match result {
            Ok(claims) => {
                for (t, c) in self.begin_tx.into_iter().zip(claims) {
                    let _ = t.send(Ok(c));
                }
                for t in self.finish_tx {
                    let _ = t.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "callback journal batch failed");
                let err = JournalError(e.to_string());
                for t in self.begin_tx {
                    let _ = t.send(Err(err.clone()));
                }
                for t in self.finish_tx {
                    let _ = t.send(Err(err.clone()));
                }
            }
        }
    }
}

impl Journal {
    /// Starts the writer: for SQLite on disk a connection of its own written by the leading
    /// request, else a task on the current runtime writing through the pool.
    pub fn start(db: Db) -> Self {
        if let Some(path) = db.sqlite_file() {
            match sqlite::SqliteJournal::open(&path) {
                Ok(writer) => return Self::start_sqlite(writer),
                Err(e) => tracing::warn!(error = %e, path = %path.display(), "callback journal: cannot open its own SQLite connection; writing through the pool"),
            }
        }
        Self::start_on_pool(db)
    }

    /// The writer as a task over the pool ([`Db::journal_batch`]).
    pub fn start_on_pool(db: Db) -> Self {
        let (tx, mut rx) = mpsc::channel::<Op>(4096);
        tokio::spawn(async move {
            let mut ops = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut ops, MAX_BATCH).await > 0 {
                let batch = Batch::of(&mut ops);
                let result = db.journal_batch(&batch.begins, &batch.finishes).await;
                batch.answer(result);
            }
        });
        Self { writer: Writer::Pool(tx) }
    }

    /// The writer for SQLite on disk: its own connection, written by whichever request leads.
    pub fn start_sqlite(writer: sqlite::SqliteJournal) -> Self {
        let leader = Leader {
            queue: Mutex::new(Vec::with_capacity(MAX_BATCH)),
            writer: Mutex::new(writer),
            flush_scheduled: std::sync::atomic::AtomicBool::new(false),
        };
        Self { writer: Writer::Sqlite(Arc::new(leader)) }
    }

    async fn submit(&self, op: Op) -> Result<(), JournalError> {
        match &self.writer {
            Writer::Pool(tx) => tx.send(op).await.map_err(|_| JournalError("writer stopped".into())),
            Writer::Sqlite(leader) => {
                let claim = matches!(op, Op::Begin(..));
                leader.submit(op);
                if claim {
                    // Let the other requests ready on this thread queue their claims first: a
                    // commit costs about the same for 2 callbacks as for 30.
                    tokio::task::yield_now().await;
                    leader.lead();
                }
                Ok(())
            }
        }
    }

    /// Writes the finishes still waiting for a batch (called when the server stops).
    pub fn flush(&self) {
        if let Writer::Sqlite(leader) = &self.writer {
            leader.flush();
        }
    }

    pub async fn begin(&self, begin: Begin) -> Result<Claim, JournalError> {
        let (t, r) = oneshot::channel();
        self.submit(Op::Begin(begin, t)).await?;
        r.await.map_err(|_| JournalError("writer stopped".into()))?
    }

    /// Records how a callback ended. On SQLite the reply does not wait for it: it is written with
    /// the next batch of claims, within [`FINISH_FLUSH`]. (A retry only comes when WeChat missed
    /// our reply, seconds later; one that comes sooner waits for the claimant, as for any running
    /// callback.)
    pub async fn finish(&self, finish: Finish) -> Result<(), JournalError> {
        let (t, r) = oneshot::channel();
        self.submit(Op::Finish(finish, t)).await?;
        match &self.writer {
            Writer::Sqlite(_) => Ok(()),
            Writer::Pool(_) => r.await.map_err(|_| JournalError("writer stopped".into()))?,
        }
    }
}
