//! The callback journal's writer for the embedded SQLite store: one connection of its own,
//! prepared statements kept across batches, one `BEGIN IMMEDIATE` transaction per batch, on the
//! journal's own thread ([`super::Journal::start_sqlite`]).
//!
//! Why not the sqlx pool the rest of the app uses: every statement through sqlx's SQLite driver
//! is a hand-off to its worker thread and back, and a multi-row statement built per batch is a
//! new SQL text (so a fresh `prepare`) for each batch size. At callback rates those hand-offs and
//! prepares were most of the front door's cost (BENCHMARKS.md). Here a batch is a loop of
//! single-row statements already prepared, on a thread that does nothing else.
//!
//! The semantics are exactly those of [`Db::journal_batch`](crate::db::Db::journal_batch), which
//! the PostgreSQL store (and an in-memory SQLite) use; the storage conformance tests run both.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Begin, Claim, Finish, FollowChange, KEEP_REPLY_SQL, LOOKUP_SQL, OpenWindow, REPLY_USE_SLACK_SECS, Record, StoredReply};
use crate::db::writes::{self, Write};
use crate::wechat::store::{OPEN_MESSAGE_WINDOW_CONFLICT, OPEN_WINDOW_CONFLICT, OPEN_WINDOW_INSERT, SUBSCRIBE_SQL, UNSUBSCRIBE_SQL};

const CLAIM_SQL: &str =
    "INSERT INTO callback_dedupe (key, state, lease_until, created_at) VALUES (?1, 'running', ?2, ?3) ON CONFLICT (key) DO NOTHING";
const TAKEOVER_SQL: &str = "UPDATE callback_dedupe SET lease_until = ?2 WHERE key = ?1 AND state = 'running' AND lease_until < ?3";
const LOG_SQL: &str = "INSERT INTO event_log (openid, msg_type, event, event_key, created_at, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// Binds the answer's JSON when it is kept in the row, or its digest when it is shared.
const FINISH_SQL: &str = "INSERT INTO callback_dedupe (key, state, reply, reply_digest, lease_until, created_at) VALUES (?1, ?2, ?3, ?4, 0, 0) \
    ON CONFLICT (key) DO UPDATE SET state = excluded.state, reply = excluded.reply, reply_digest = excluded.reply_digest";

/// One SQLite connection that writes journal batches.
pub struct SqliteJournal {
    conn: Connection,
    /// Opening a window: exact (event windows), and lazy for message windows.
    window_sql: String,
    message_window_sql: String,
}

impl SqliteJournal {
    /// Opens the (already migrated) database file.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        // Waiting for the write lock (another process's write, or the checkpointer restarting the
        // WAL): in 100 µs steps for up to 10 s. SQLite's own busy handler sleeps 1, 2, 5, 10 …
        // ms, far longer than the lock is usually held, and every callback in the batch waits.
        conn.busy_handler(Some(|attempt: i32| {
            if attempt >= 100_000 {
                return false;
            }
            std::thread::sleep(Duration::from_micros(100));
            true
        }))?;
        // WAL is a property of the file (set by the pool when it created it); synchronous is
        // per connection: NORMAL, as the pool's, so a commit is a WAL append without fsync.
        conn.pragma_update(None, "journal_mode", "wal")?;
        conn.pragma_update(None, "synchronous", "normal")?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        // Checkpoints are the checkpointer's job ([`Checkpointer`]), on a connection and thread of
        // its own: a checkpoint ends in an fsync of the database file (tens of milliseconds on a
        // VM disk), which inside a commit would hold up every callback in the batch. This bound
        // is a backstop for when the checkpointer cannot run (it could not open the file): then
        // every 100,000 pages (~400 MB) the journal checkpoints itself once.
        conn.pragma_update(None, "wal_autocheckpoint", 100_000)?;
        conn.set_prepared_statement_cache_capacity(32);
        let window_sql = format!("{OPEN_WINDOW_INSERT} VALUES (?1, 1, ?2, ?3, 0) {OPEN_WINDOW_CONFLICT}");
        let message_window_sql = format!("{OPEN_WINDOW_INSERT} VALUES (?1, 1, ?2, ?3, 0) {OPEN_MESSAGE_WINDOW_CONFLICT}");
        Ok(Self { conn, window_sql, message_window_sql })
    }

    /// Claims and records `begins`, and stores `finishes`, in one transaction (see
    /// [`Db::journal_batch`](crate::db::Db::journal_batch) for the rules).
    pub fn batch(&mut self, begins: &[Begin], finishes: &[Finish]) -> rusqlite::Result<Vec<Claim>> {
        Ok(self.batch_with_writes(begins, finishes, &[])?.0)
    }

    /// [`SqliteJournal::batch`], and in the same transaction each group of handlers' `writes`
    /// under a savepoint of its own: a group that fails is rolled back alone, and its slot in
    /// the second list says why.
    pub fn batch_with_writes(
        &mut self,
        begins: &[Begin],
        finishes: &[Finish],
        writes: &[Vec<Write>],
    ) -> rusqlite::Result<(Vec<Claim>, Vec<rusqlite::Result<()>>)> {
        let mut tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut claims = Vec::with_capacity(begins.len());
        let mut seen: HashSet<&str> = HashSet::with_capacity(begins.len());
        // What the new owners received, for the windows they open.
        let mut fresh: Vec<(&Record, i64)> = Vec::with_capacity(begins.len());
        {
            let mut claim = tx.prepare_cached(CLAIM_SQL)?;
            let mut log = tx.prepare_cached(LOG_SQL)?;
            for b in begins {
                if !seen.insert(b.key.as_str()) {
                    claims.push(Claim::Running);
                    continue;
                }
                if claim.execute(params![b.key, b.now + b.lease_secs, b.now])? == 1 {
                    claims.push(Claim::Owner);
                    // Recorded by the first owner only; a takeover below was recorded already.
                    let Some(r) = &b.record else { continue };
                    log.execute(params![r.openid, r.msg_type, r.event, r.event_key, r.created_at, b.now])?;
                    match &r.follow {
                        FollowChange::Unchanged => {}
                        FollowChange::Subscribe { scene } => {
                            tx.prepare_cached(SUBSCRIBE_SQL)?.execute(params![r.openid, r.created_at, scene])?;
                        }
                        FollowChange::Unsubscribe => {
                            tx.prepare_cached(UNSUBSCRIBE_SQL)?.execute(params![r.openid, r.created_at])?;
                        }
                    }
                    fresh.push((r, b.now));
                    continue;
                }
                // A retry: rare, so looked up one by one.
                let row: Option<(String, Option<String>, i64)> =
                    tx.prepare_cached(LOOKUP_SQL)?.query_row(params![b.key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
                claims.push(match row {
                    Some((state, reply, _)) if state != "running" => Claim::Done(StoredReply::parse(reply)),
                    Some((_, _, lease_until)) if lease_until < b.now => {
                        let n = tx.prepare_cached(TAKEOVER_SQL)?.execute(params![b.key, b.now + b.lease_secs, b.now])?;
                        if n == 1 { Claim::Owner } else { Claim::Running }
                    }
                    _ => Claim::Running,
                });
            }
        }
        let windows = OpenWindow::longest_per_reader(fresh);
        if !windows.is_empty() {
            // Looked up once a batch, not once a window: the statement cache hashes the SQL
            // text, and these are long.
            let mut exact = tx.prepare_cached(&self.window_sql)?;
            let mut lazy = tx.prepare_cached(&self.message_window_sql)?;
            for w in windows {
                let stmt = if w.lazy { &mut lazy } else { &mut exact };
                stmt.execute(params![w.openid, w.expires_at, w.quota])?;
            }
        }
        if !finishes.is_empty() {
            let mut keep = tx.prepare_cached(KEEP_REPLY_SQL)?;
            let mut finish = tx.prepare_cached(FINISH_SQL)?;
            // Answers kept by this batch already (most callbacks in a batch share a few answers).
            let mut kept: HashSet<[u8; 32]> = HashSet::new();
            for f in finishes {
                let r = &f.reply;
                match &r.digest {
                    Some(digest) => {
                        if kept.insert(*digest) {
                            keep.execute(params![&digest[..], &*r.json, f.now, f.now - REPLY_USE_SLACK_SECS])?;
                        }
                        finish.execute(params![f.key, f.state, None::<&str>, &digest[..]])?;
                    }
                    None => {
                        finish.execute(params![f.key, f.state, &*r.json, None::<&[u8]>])?;
                    }
                }
            }
        }
        let mut outcomes = Vec::with_capacity(writes.len());
        for group in writes {
            let savepoint = tx.savepoint()?;
            match writes::run_on(&savepoint, group) {
                Ok(()) => {
                    savepoint.commit()?;
                    outcomes.push(Ok(()));
                }
                // Dropping the savepoint rolls the group back.
                Err(e) => outcomes.push(Err(e)),
            }
        }
        tx.commit()?;
        Ok((claims, outcomes))
    }
}

/// Copies the WAL back into the database file in the background, and keeps the WAL from growing
/// without end under sustained load.
///
/// Each round is a PASSIVE checkpoint, then a RESTART one once the WAL is large. PASSIVE copies what the WAL holds without blocking the
/// journal's commits (they never wait for its fsync). SQLite reuses the WAL from its start only
/// once every frame has been copied back, which a PASSIVE checkpoint racing a busy journal never
/// achieves: the WAL then grew by the whole callback stream (about 4 KB a callback), and growing a
/// file costs the kernel zero-filling every new page (a sixth of the server's CPU, BENCHMARKS.md
/// run G). So once the WAL holds [`RESTART_AFTER_FRAMES`] pages (about 16 MB), a RESTART
/// checkpoint follows: it holds off writers while it copies the few frames written during the
/// PASSIVE one and then lets the next commit start the WAL over. It waits at most
/// [`RESTART_PATIENCE`] for readers (a long console query) and otherwise gives up until the
/// next round, so a commit is held up by milliseconds at worst.
pub struct Checkpointer {
    /// Dropped when the journal stops; the checkpointer then checkpoints once more and ends.
    _stop: mpsc::Sender<()>,
}

/// The WAL size (in pages) from which a round also restarts the WAL. Below it the WAL is left to
/// grow: a RESTART holds off writers, which a quiet account need not pay every round.
const RESTART_AFTER_FRAMES: i64 = 4096;

/// How long the RESTART checkpoint waits for the write lock and for readers.
const RESTART_PATIENCE: Duration = Duration::from_millis(20);

/// How often the checkpointer looks at the WAL. At callback rates the WAL grows by a few MB in
/// this time; a checkpoint with nothing to copy costs next to nothing.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

impl Checkpointer {
    pub fn start(path: PathBuf) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new().name("wxlib-checkpoint".into()).spawn(move || {
            let conn = match Connection::open(&path) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "WAL checkpointer: cannot open the database; the WAL is checkpointed only every 100,000 pages");
                    return;
                }
            };
            let _ = conn.busy_timeout(RESTART_PATIENCE);
            // As every connection to this file: the WAL is synced before a checkpoint copies it,
            // the database file after.
            let _ = conn.pragma_update(None, "synchronous", "normal");
            loop {
                let last = matches!(stopped.recv_timeout(CHECKPOINT_EVERY), Err(mpsc::RecvTimeoutError::Disconnected));
                // (busy, frames in the WAL, frames copied back)
                let passive = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)));
                match passive {
                    Ok((_, frames, _)) if frames >= RESTART_AFTER_FRAMES => {
                        // A RESTART that runs out of patience reports busy; the next round tries again.
                        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
                            tracing::warn!(error = %e, "WAL restart checkpoint failed; will try again");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; will try again"),
                }
                if last {
                    return;
                }
            }
        })?;
        Ok(Self { _stop: stop })
    }
}
