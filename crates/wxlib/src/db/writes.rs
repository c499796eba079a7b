//! The unit of work: small writes a handler needs stored, all or none, before it answers (the
//! reader's search dialog, the search log). A handler hands them to the callback journal
//! ([`crate::wechat::journal::Journal::write`]), which runs them in its next batch.
//!
//! Why: through the pool, each such statement on SQLite is a hand-off to a connection's thread
//! and back, and then a wait for the write lock, which the journal holds for most of the time
//! under load; catalog texts spent most of their CPU in those hand-offs and waits (BENCHMARKS.md).
//! In the journal's batch they share its transaction and commit. A write that fails is rolled
//! back alone (a savepoint) and fails only its handler, never the callbacks it rode with.
//!
//! A write is one statement in the portable SQL subset (`$1` placeholders), with its parameters
//! as values, so the same write runs on the journal's own SQLite connection and on the pool.

use super::{Db, DbError};

/// A parameter: the app's writes need integers and (nullable) text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Int(i64),
    Text(Option<String>),
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(Some(v.to_owned()))
    }
}

impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(Some(v))
    }
}

impl From<Option<&str>> for Param {
    fn from(v: Option<&str>) -> Self {
        Param::Text(v.map(str::to_owned))
    }
}

impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        Param::Text(v)
    }
}

/// One statement and its parameters (`$1` is `params[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub sql: &'static str,
    pub params: Vec<Param>,
}

impl Write {
    pub fn new(sql: &'static str, params: Vec<Param>) -> Self {
        Self { sql, params }
    }
}

impl Db {
    /// Runs `writes` through the pool, all or none.
    pub async fn run_writes(&self, writes: &[Write]) -> Result<(), DbError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for w in writes {
                let mut q = sqlx::query(w.sql);
                for p in &w.params {
                    q = match p {
                        Param::Int(v) => q.bind(*v),
                        Param::Text(v) => q.bind(v.as_deref()),
                    };
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

/// The 1-based index into a write's parameters for SQLite's parameter `name` (`$3` → 3), as
/// sqlx reads it: SQLite numbers a `$N` parameter by where it first appears, not by `N`.
fn param_number(name: &str) -> Option<usize> {
    name.strip_prefix('$').or_else(|| name.strip_prefix('?')).and_then(|n| n.parse().ok())
}

/// Runs one handler's writes on a rusqlite connection (the journal's own, inside its batch's
/// transaction), binding `$N` to the write's N-th parameter.
pub fn run_on(conn: &rusqlite::Connection, group: &[Write]) -> rusqlite::Result<()> {
    for w in group {
        let mut stmt = conn.prepare_cached(w.sql)?;
        bind_params(&mut stmt, &w.params)?;
        stmt.raw_execute()?;
    }
    Ok(())
}

/// Binds `$N` in a rusqlite statement to `params[N - 1]`.
pub fn bind_params(stmt: &mut rusqlite::Statement<'_>, params: &[Param]) -> rusqlite::Result<()> {
    for i in 1..=stmt.parameter_count() {
        match stmt.parameter_name(i).and_then(param_number).and_then(|n| n.checked_sub(1)).and_then(|n| params.get(n)) {
            Some(Param::Int(v)) => stmt.raw_bind_parameter(i, v)?,
            Some(Param::Text(v)) => stmt.raw_bind_parameter(i, v)?,
            None => return Err(rusqlite::Error::InvalidParameterCount(i, params.len())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_by_their_name() {
        assert_eq!(param_number("$1"), Some(1));
        assert_eq!(param_number("?12"), Some(12));
        assert_eq!(param_number(":name"), None);
    }
}
