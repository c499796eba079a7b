//! Small reads answered on the calling thread, for SQLite on disk: what nearly every text reads
//! (the reader's search dialog, an open consultation, a result page's summaries).
//!
//! Why: through the pool each statement on SQLite is a hand-off to a connection's own thread and
//! back (two thread wake-ups), which costs far more CPU than an indexed read of one row; catalog
//! texts spent most of their time in those wake-ups (BENCHMARKS.md). In WAL mode a reader never
//! waits for the writer, so a one-row read by primary key can run right on the async worker
//! thread, on a connection kept per thread. Each read sees everything committed before it
//! starts, as a pool read does. PostgreSQL and in-memory SQLite get `None` and use the pool.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::writes::{Param, bind_params};
use super::{Db, DbError};

/// Connections kept per thread, one per database file (tests run several apps in one process).
const KEEP: usize = 4;

thread_local! {
    static CONNECTIONS: RefCell<Vec<(PathBuf, Connection)>> = const { RefCell::new(Vec::new()) };
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    // Never wait for a lock here: that would hold up every task on this worker thread. A read
    // that finds the database busy goes to the pool instead, which waits on its own thread.
    conn.busy_timeout(Duration::ZERO)?;
    // Only reads go through here.
    conn.pragma_update(None, "query_only", true)?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

fn query_row<T>(
    conn: &Connection,
    sql: &str,
    params: &[Param],
    map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind_params(&mut stmt, params)?;
    stmt.raw_query().next()?.map(map).transpose()
}

impl Db {
    /// The first row of `sql` (portable SQL, `$N` parameters) mapped by `map`, read on this
    /// thread's own connection when the store is SQLite on disk. `None` when it is not, or when
    /// the file is busy: then the caller asks the pool. Only for small reads by key: it runs on
    /// the async worker thread.
    pub fn read_row_here<T>(
        &self,
        sql: &str,
        params: &[Param],
        map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Result<Option<T>, DbError>> {
        let path = self.sqlite_file()?;
        let result = CONNECTIONS.with(|cell| {
            let mut conns = cell.borrow_mut();
            let at = match conns.iter().position(|(p, _)| *p == path) {
                Some(i) => i,
                None => {
                    let conn = open(&path).map_err(|e| Some(DbError::Local(e)))?;
                    if conns.len() >= KEEP {
                        conns.remove(0);
                    }
                    conns.push((path, conn));
                    conns.len() - 1
                }
            };
            query_row(&conns[at].1, sql, params, map).map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => None,
                e => Some(DbError::Local(e)),
            })
        });
        match result {
            Ok(row) => {
                metrics::counter!("wxlib_local_reads_total", "outcome" => "read").increment(1);
                Some(Ok(row))
            }
            Err(Some(e)) => Some(Err(e)),
            Err(None) => {
                metrics::counter!("wxlib_local_reads_total", "outcome" => "busy").increment(1);
                None
            }
        }
    }
}
