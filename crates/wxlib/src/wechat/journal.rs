//! The callback journal: handle each callback once, and record it, with one transaction per
//! *batch* of callbacks rather than several per callback.
//!
//! WeChat retries an unanswered callback up to 3 times with the same body; behind a load balancer
//! the retries land on other nodes, so the state lives in the database. The first arrival claims
//! the key (`running`, with a short lease its owner renews while it works, [`Journal::renew`]) and, in the same transaction, logs the event, updates the
//! follower and opens the customer-service window — so an event is logged exactly when it is
//! claimed. Later arrivals wait for its reply and send the same one. A claimant that died (lease
//! ran out while `running`) is taken over by the next retry, so a crash loses nothing.
//!
//! Under load one writer gathers whatever claims and finishes are waiting and commits them
//! together (group commit), so a commit is shared by the whole batch. Two writers implement the batch with the same rules:
//! [`Db::journal_batch`] through the pool (PostgreSQL, in-memory SQLite) and
//! [`sqlite::SqliteJournal`] on a connection and thread of its own (SQLite on disk, the default);
//! the storage conformance tests hold both to the same story.
//!
//! Handlers' own small writes (the search dialog, the search log) can ride in a batch too
//! ([`Journal::write`], the store's unit of work [`crate::db::writes`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use wechat::Reply;

use crate::db::writes::Write;
use crate::db::{Db, DbError, builder};
use crate::wechat::followers::lazy_window;
use crate::wechat::store::{OPEN_MESSAGE_WINDOW_CONFLICT, OPEN_WINDOW_CONFLICT, OPEN_WINDOW_INSERT, SUBSCRIBE_SQL, UNSUBSCRIBE_SQL};
use crate::with_pool;

pub mod sqlite;

const MAX_BATCH: usize = 256;

/// How long handled callbacks are kept for retries (with their stored answers, which may quote a
/// reader's loans): an hour, or twice the timestamp window when that is longer. WeChat retries
/// within about 15 s, and a replay outside the window is refused before the journal is asked.
/// With the window switched off (0) a replay can come any time; then a day, as before.
pub fn callback_retention_secs(timestamp_tolerance_secs: i64) -> i64 {
    if timestamp_tolerance_secs <= 0 { 24 * 3600 } else { (2 * timestamp_tolerance_secs).max(3600) }
}

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

/// A customer-service window a batch opens for one reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenWindow<'a> {
    pub openid: &'a str,
    pub expires_at: i64,
    pub quota: i64,
    /// A message window, refreshed lazily ([`crate::wechat::store::OPEN_MESSAGE_WINDOW_CONFLICT`]).
    pub lazy: bool,
}

impl<'a> OpenWindow<'a> {
    /// The windows the newly claimed callbacks `(record, received_at)` open: one per reader, the
    /// longest-lasting one in the batch.
    pub fn longest_per_reader(fresh: impl IntoIterator<Item = (&'a Record, i64)>) -> Vec<Self> {
        let mut by_reader: HashMap<&'a str, Self> = HashMap::new();
        for (r, received_at) in fresh {
            let Some((secs, quota)) = r.window else { continue };
            let w = Self { openid: &r.openid, expires_at: received_at + secs, quota, lazy: lazy_window(secs) };
            let e = by_reader.entry(w.openid).or_insert(w);
            if w.expires_at > e.expires_at {
                *e = w;
            }
        }
        by_reader.into_values().collect()
    }
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
    pub reply: StoredReply,
    /// When the callback ended: the stored answer's `used_at` (see [`REPLY_USE_SLACK_SECS`]).
    pub now: i64,
}

/// An answer as the journal stores it for retries: its JSON, either in the callback's own row
/// or, for an answer given again and again (help, the welcome, a menu's answer), kept once in
/// `callback_replies` and named from the callbacks' rows by the SHA-256 of that JSON (migration
/// 0014). A cryptographic digest, because the text can echo what a reader typed: no one must be
/// able to make two answers share a name, and so be given another's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReply {
    pub json: Arc<str>,
    /// `Some` when the answer is kept once and shared.
    pub digest: Option<[u8; 32]>,
}

impl StoredReply {
    /// Kept in the callback's own row: an answer given once (a search's) would otherwise be a
    /// row in a second table, keyed by a random digest, and one more page in the commit.
    pub fn own(reply: &Reply) -> Self {
        let json = serde_json::to_string(reply).unwrap_or_else(|_| "{\"type\":\"success\"}".into());
        Self { json: json.into(), digest: None }
    }

    /// Kept once and named by its digest: an answer given many times, whose text in every
    /// callback's row made the rows big and the commits write more pages (BENCHMARKS.md, run J).
    pub fn shared(reply: &Reply) -> Self {
        Self::own(reply).into_shared()
    }

    fn into_shared(mut self) -> Self {
        if self.digest.is_none() {
            self.digest = Some(Sha256::digest(self.json.as_bytes()).into());
        }
        self
    }

    /// The answer back from its JSON (`Success` if it cannot be read, which only a hand-edited
    /// row could cause).
    pub fn parse(json: Option<String>) -> Reply {
        json.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or(Reply::Success)
    }
}

/// How stale a stored answer's `used_at` may be before a callback that takes it rewrites it. The
/// same few answers (help, the welcome) are taken by most callbacks; rewriting their row each
/// time would cost a page in every commit. The purge allows for this slack.
pub const REPLY_USE_SLACK_SECS: i64 = 60;

/// Keeps an answer, or marks it used (binds digest, JSON, now, and `now - REPLY_USE_SLACK_SECS`).
pub const KEEP_REPLY_SQL: &str = "INSERT INTO callback_replies (digest, reply, used_at) VALUES ($1, $2, $3) \
    ON CONFLICT (digest) DO UPDATE SET used_at = excluded.used_at WHERE callback_replies.used_at < $4";

/// What a retry reads: the callback's state, its answer (shared, or in its own row if stored
/// before migration 0014) and its lease. Binds the key.
pub const LOOKUP_SQL: &str = "SELECT d.state, COALESCE(r.reply, d.reply), d.lease_until FROM callback_dedupe d \
    LEFT JOIN callback_replies r ON r.digest = d.reply_digest WHERE d.key = $1";

/// Renews a running callback's claim (binds the key and the new `lease_until`).
const RENEW_SQL: &str = "UPDATE callback_dedupe SET lease_until = $2 WHERE key = $1 AND state = 'running' AND lease_until < $2";

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
                        sqlx::query_as(LOOKUP_SQL).bind(&b.key).fetch_optional(&mut *tx).await?;
                    claims[i] = match row {
                        Some((state, reply, _)) if state != "running" => Claim::Done(StoredReply::parse(reply)),
                        Some((_, _, lease_until)) if lease_until < b.now => {
                            let take =
                                "UPDATE callback_dedupe SET lease_until = $2 WHERE key = $1 AND state = 'running' AND lease_until < $3";
                            let n = sqlx::query(take)
                                .bind(&b.key)
                                .bind(b.now + b.lease_secs)
                                .bind(b.now)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                            if n == 1 { Claim::Owner } else { Claim::Running }
                        }
                        _ => Claim::Running,
                    };
                }
            }

            // Record what the new owners received (takeovers were recorded by their first owner).
            let fresh: Vec<(&Record, i64)> =
                firsts.iter().filter(|&&i| inserted[i]).filter_map(|&i| begins[i].record.as_ref().map(|r| (r, begins[i].now))).collect();
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
                let windows = OpenWindow::longest_per_reader(fresh.iter().copied());
                for (lazy, conflict) in [(false, OPEN_WINDOW_CONFLICT), (true, OPEN_MESSAGE_WINDOW_CONFLICT)] {
                    let rows: Vec<_> = windows.iter().filter(|w| w.lazy == lazy).collect();
                    if rows.is_empty() {
                        continue;
                    }
                    let mut qb = builder(pool, OPEN_WINDOW_INSERT);
                    qb.push_values(rows, |mut row, w| {
                        row.push_bind(w.openid.to_owned()).push_bind(1i64).push_bind(w.expires_at).push_bind(w.quota).push_bind(0i64);
                    });
                    qb.push(conflict);
                    qb.build().execute(&mut *tx).await?;
                }
            }

            if !finishes.is_empty() {
                // Each answer once per statement (PostgreSQL refuses to upsert a row twice in one),
                // with the latest time it was taken.
                let mut kept: HashMap<[u8; 32], (&str, i64)> = HashMap::new();
                for f in finishes {
                    if let Some(digest) = f.reply.digest {
                        let e = kept.entry(digest).or_insert((&f.reply.json, f.now));
                        e.1 = e.1.max(f.now);
                    }
                }
                if !kept.is_empty() {
                    let mut qb = builder(pool, "INSERT INTO callback_replies (digest, reply, used_at) ");
                    qb.push_values(&kept, |mut row, (digest, (json, now))| {
                        row.push_bind(digest.to_vec()).push_bind(json.to_string()).push_bind(*now);
                    });
                    qb.push(" ON CONFLICT (digest) DO UPDATE SET used_at = excluded.used_at WHERE callback_replies.used_at < excluded.used_at - ");
                    qb.push_bind(REPLY_USE_SLACK_SECS);
                    qb.build().execute(&mut *tx).await?;
                }
                // An upsert on existing rows: the dummy lease/created_at are ignored on conflict.
                let mut qb = builder(pool, "INSERT INTO callback_dedupe (key, state, reply, reply_digest, lease_until, created_at) ");
                qb.push_values(finishes, |mut row, f| {
                    let (own, digest) = match f.reply.digest {
                        Some(d) => (None, Some(d.to_vec())),
                        None => (Some(f.reply.json.to_string()), None),
                    };
                    row.push_bind(f.key.clone()).push_bind(f.state).push_bind(own).push_bind(digest).push_bind(0i64).push_bind(0i64);
                });
                qb.push(
                    " ON CONFLICT (key) DO UPDATE SET state = excluded.state, reply = excluded.reply, reply_digest = excluded.reply_digest",
                );
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(claims)
    }

    /// How many distinct answers are stored for retries.
    pub async fn count_stored_replies(&self) -> Result<i64, DbError> {
        let (n,): (i64,) = with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM callback_replies").fetch_one(pool).await?);
        Ok(n)
    }

    /// Forgets callbacks older than `before` (WeChat's retries end within seconds), and the
    /// stored answers no remaining callback can name: a callback's answer was taken when it
    /// finished, after it began, and marks its `used_at` at most [`REPLY_USE_SLACK_SECS`] late.
    /// Returns how many callbacks were forgotten. A scan: the table holds about
    /// [`callback_retention_secs`] of callbacks and has no index on time.
    pub async fn purge_callbacks(&self, before: i64) -> Result<u64, DbError> {
        Ok(with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("DELETE FROM callback_dedupe WHERE created_at < $1").bind(before).execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM callback_replies WHERE used_at < $1").bind(before - REPLY_USE_SLACK_SECS).execute(&mut *tx).await?;
            tx.commit().await?;
            n
        }))
    }
}

/// A batch failed; every callback in it gets this error (and WeChat will retry them).
#[derive(Debug, Clone, thiserror::Error)]
pub enum JournalError {
    #[error("callback journal: writer stopped")]
    Stopped,
    /// The store refused the batch (or a handler's writes); shared by everyone who waited on it.
    #[error("callback journal: {0}")]
    Failed(Arc<dyn std::error::Error + Send + Sync>),
}

impl JournalError {
    fn failed(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        JournalError::Failed(Arc::new(e))
    }
}

enum Op {
    Begin(Begin, oneshot::Sender<Result<Claim, JournalError>>),
    Finish(Finish, oneshot::Sender<Result<(), JournalError>>),
    /// A handler's writes, all or none.
    Writes(Vec<Write>, oneshot::Sender<Result<(), JournalError>>),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// The batching front of the journal, one per process.
#[derive(Clone)]
pub struct Journal {
    writer: Writer,
    /// The answers given last ([`Journal::stored`]).
    recent_replies: Arc<Mutex<VecDeque<(Reply, StoredReply)>>>,
}

/// How many recent answers [`Journal::stored`] remembers.
const RECENT_REPLIES: usize = 32;

#[derive(Clone)]
enum Writer {
    /// A task writing through the pool ([`Db::journal_batch`]): PostgreSQL, in-memory SQLite.
    Pool { ops: mpsc::Sender<Op>, db: Db },
    /// SQLite on disk: a thread of its own with its own connection ([`Journal::start_sqlite`]).
    /// Finishes do not wake it: they wait in `finishes` for the next batch of claims (or at
    /// most [`FINISH_LINGER`]), so they never cost a commit of their own.
    Sqlite { ops: std::sync::mpsc::Sender<Op>, finishes: Arc<Mutex<Vec<Finish>>> },
}

/// How long a finish may wait for a batch of claims to ride along with. A retry that comes in
/// the meantime finds the callback running and waits for it, as for any running callback.
const FINISH_LINGER: Duration = Duration::from_millis(20);

/// What a batch wrote: the claims, in order, and how each handler's writes went.
type Written = (Vec<Claim>, Vec<Result<(), JournalError>>);

/// A drained set of ops, split into the batch to write and whom to answer.
#[derive(Default)]
struct Batch {
    begins: Vec<Begin>,
    finishes: Vec<Finish>,
    begin_tx: Vec<oneshot::Sender<Result<Claim, JournalError>>>,
    finish_tx: Vec<oneshot::Sender<Result<(), JournalError>>>,
    writes: Vec<Vec<Write>>,
    write_tx: Vec<oneshot::Sender<Result<(), JournalError>>>,
    flush_tx: Vec<oneshot::Sender<()>>,
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
                Op::Writes(w, t) => {
                    batch.writes.push(w);
                    batch.write_tx.push(t);
                }
                Op::Flush(t) => batch.flush_tx.push(t),
            }
        }
        batch
    }

    fn is_empty(&self) -> bool {
        self.begins.is_empty() && self.finishes.is_empty() && self.writes.is_empty() && self.flush_tx.is_empty()
    }

    /// Answers every op with the batch's outcome: the claims, and each handler's writes (a
    /// failed batch fails them all; WeChat retries).
    fn answer<E: std::error::Error + Send + Sync + 'static>(self, result: Result<Written, E>) {
        for t in self.flush_tx {
            let _ = t.send(());
        }
        match result {
            Ok((claims, writes)) => {
                for (t, c) in self.begin_tx.into_iter().zip(claims) {
                    let _ = t.send(Ok(c));
                }
                for t in self.finish_tx {
                    let _ = t.send(Ok(()));
                }
                for (t, w) in self.write_tx.into_iter().zip(writes) {
                    let _ = t.send(w);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "callback journal batch failed");
                let err = JournalError::failed(e);
                for t in self.begin_tx {
                    let _ = t.send(Err(err.clone()));
                }
                for t in self.finish_tx.into_iter().chain(self.write_tx) {
                    let _ = t.send(Err(err.clone()));
                }
            }
        }
    }
}

impl Journal {
    /// Starts the writer: for SQLite on disk a thread with a connection of its own, else a task
    /// on the current runtime writing through the pool.
    pub fn start(db: Db) -> Self {
        if let Some(path) = db.sqlite_file() {
            match sqlite::SqliteJournal::open(&path) {
                Ok(writer) => {
                    let checkpointer = sqlite::Checkpointer::start(path.clone())
                        .map_err(|e| tracing::warn!(error = %e, "cannot start the WAL checkpointer thread; the WAL is checkpointed only every 100,000 pages"))
                        .ok();
                    return Self::start_sqlite(writer, checkpointer);
                }
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "callback journal: cannot open its own SQLite connection; writing through the pool")
                }
            }
        }
        Self::start_on_pool(db)
    }

    /// The writer as a task over the pool ([`Db::journal_batch`]).
    pub fn start_on_pool(db: Db) -> Self {
        let (tx, mut rx) = mpsc::channel::<Op>(4096);
        let pool = db.clone();
        tokio::spawn(async move {
            let mut ops = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut ops, MAX_BATCH).await > 0 {
                let batch = Batch::of(&mut ops);
                metrics::histogram!("wxlib_journal_batch_size").record((batch.begins.len() + batch.finishes.len()) as f64);
                // Handlers' writes never come here: on the pool they run at once (Journal::write).
                let result = db.journal_batch(&batch.begins, &batch.finishes).await.map(|claims| (claims, Vec::new()));
                batch.answer(result);
            }
        });
        Self { writer: Writer::Pool { ops: tx, db: pool }, recent_replies: Arc::default() }
    }

    /// The writer for SQLite on disk: a thread with its own connection. It blocks in SQLite
    /// (a commit, a busy wait on another process's lock) without holding up the async runtime,
    /// which the pool's own transactions need to make progress.
    pub fn start_sqlite(mut writer: sqlite::SqliteJournal, checkpointer: Option<sqlite::Checkpointer>) -> Self {
        use std::sync::mpsc::RecvTimeoutError;
        let (tx, rx) = std::sync::mpsc::channel::<Op>();
        let finishes: Arc<Mutex<Vec<Finish>>> = Arc::default();
        let pending = finishes.clone();
        let take_pending = move || std::mem::take(&mut *pending.lock().unwrap_or_else(|p| p.into_inner()));
        let spawned = std::thread::Builder::new().name("wxlib-journal".into()).spawn(move || {
            // Lives as long as the writer: the checkpointer stops when the journal does.
            let _checkpointer = checkpointer;
            let mut ops = Vec::with_capacity(MAX_BATCH);
            loop {
                // Wait for a claim, but no longer than FINISH_LINGER: finishes do not wake the
                // thread, so it looks for them this often (an idle journal wakes 50 times a
                // second and finds nothing to do).
                let first = rx.recv_timeout(FINISH_LINGER);
                let stopping = match first {
                    Ok(op) => {
                        ops.push(op);
                        false
                    }
                    Err(RecvTimeoutError::Timeout) => false,
                    Err(RecvTimeoutError::Disconnected) => true,
                };
                while ops.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(op) => ops.push(op),
                        Err(_) => break,
                    }
                }
                let mut batch = Batch::of(&mut ops);
                batch.finishes.append(&mut take_pending());
                if !batch.is_empty() {
                    metrics::histogram!("wxlib_journal_batch_size").record((batch.begins.len() + batch.finishes.len()) as f64);
                    let result = writer
                        .batch_with_writes(&batch.begins, &batch.finishes, &batch.writes)
                        .map(|(claims, writes)| (claims, writes.into_iter().map(|w| w.map_err(JournalError::failed)).collect()));
                    batch.answer(result);
                }
                if stopping {
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            // Without the thread every callback would wait for ever; fail loudly at startup.
            panic!("cannot start the callback journal thread: {e}");
        }
        Self { writer: Writer::Sqlite { ops: tx, finishes }, recent_replies: Arc::default() }
    }

    async fn submit(&self, op: Op) -> Result<(), JournalError> {
        match &self.writer {
            Writer::Pool { ops, .. } => ops.send(op).await.map_err(|_| JournalError::Stopped),
            Writer::Sqlite { ops, .. } => ops.send(op).map_err(|_| JournalError::Stopped),
        }
    }

    /// Waits until everything queued so far is written (called when the server stops, so that
    /// finishes not yet written are not lost).
    pub async fn flush(&self) {
        let (t, r) = oneshot::channel();
        if self.submit(Op::Flush(t)).await.is_ok() {
            let _ = r.await;
        }
    }

    /// Stores a handler's `writes` (all or none) and returns once they are committed: the
    /// handler answers only after what it wrote is stored, so the reader's next message reads it.
    /// On SQLite on disk they ride in the journal's next batch; on the pool (PostgreSQL, whose
    /// connections write side by side) they run at once in a transaction of their own.
    pub async fn write(&self, writes: Vec<Write>) -> Result<(), JournalError> {
        match &self.writer {
            Writer::Pool { db, .. } => db.run_writes(&writes).await.map_err(JournalError::failed),
            Writer::Sqlite { .. } => {
                let (t, r) = oneshot::channel();
                self.submit(Op::Writes(writes, t)).await?;
                r.await.map_err(|_| JournalError::Stopped)?
            }
        }
    }

    /// `reply` as the journal stores it ([`StoredReply`]). An answer among the last
    /// [`RECENT_REPLIES`] this process gave is given again and again: it is shared, and not
    /// serialised and hashed once more. Any other is kept in its callback's own row.
    pub fn stored(&self, reply: &Reply) -> StoredReply {
        let mut recent = self.recent_replies.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, stored)) = recent.iter_mut().find(|(r, _)| r == reply) {
            if stored.digest.is_none() {
                *stored = stored.clone().into_shared();
            }
            return stored.clone();
        }
        let stored = StoredReply::own(reply);
        if recent.len() == RECENT_REPLIES {
            recent.pop_back();
        }
        recent.push_front((reply.clone(), stored.clone()));
        stored
    }

    /// Renews the claim on a running callback: its lease runs to `lease_until` (never shortened;
    /// a callback already finished is left alone). A handler's write: on SQLite on disk it rides
    /// in the journal's next batch, on the pool it runs at once.
    pub async fn renew(&self, key: &str, lease_until: i64) -> Result<(), JournalError> {
        self.write(vec![Write::new(RENEW_SQL, vec![key.into(), lease_until.into()])]).await
    }

    pub async fn begin(&self, begin: Begin) -> Result<Claim, JournalError> {
        let (t, r) = oneshot::channel();
        self.submit(Op::Begin(begin, t)).await?;
        r.await.map_err(|_| JournalError::Stopped)?
    }

    /// Records how a callback ended. On SQLite the reply does not wait for it, and it does not
    /// wake the writer: it is written with the next batch of claims, or within [`FINISH_LINGER`]
    /// when none comes. (A retry only comes when WeChat missed our reply, seconds later; one that
    /// comes sooner waits for the claimant, as for any running callback.)
    pub async fn finish(&self, finish: Finish) -> Result<(), JournalError> {
        match &self.writer {
            Writer::Sqlite { finishes, .. } => {
                finishes.lock().unwrap_or_else(|p| p.into_inner()).push(finish);
                Ok(())
            }
            Writer::Pool { .. } => {
                let (t, r) = oneshot::channel();
                self.submit(Op::Finish(finish, t)).await?;
                r.await.map_err(|_| JournalError::Stopped)?
            }
        }
    }
}
