//! The backup's SQL: SQLite's online copy (`VACUUM INTO`), what a store holds (its schema version
//! and every table's rows, which the manifest records and a restore checks), whether anything
//! else has a store open, and clearing a PostgreSQL store for `restore --force`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use sqlx::PgConnection;

/// What a store holds: its newest migration and the rows of each table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// 0 for a store wxlib never migrated.
    pub schema_version: i64,
    pub schema_description: String,
    pub tables: BTreeMap<String, i64>,
}

/// An identifier as SQL spells it in double quotes (table names come from the catalog, not from
/// input, but a quote in one must not end the name).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Opens an existing SQLite file for the backup's reads (never creates one).
fn open_existing(path: &Path, busy: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(busy)?;
    Ok(conn)
}

/// Copies the live database at `source` into a new file `dest`, as one consistent snapshot.
///
/// `VACUUM INTO` reads the whole database in one read transaction and writes a compact copy;
/// in WAL mode the server's writers go on meanwhile, and the copy holds exactly the transactions
/// committed before it started (sqlite.org/lang_vacuum.html#vacuuminto). A file copy would not:
/// the WAL and the main file are two files, and both change under it.
pub fn sqlite_copy(source: &Path, dest: &Path) -> rusqlite::Result<()> {
    let conn = open_existing(source, Duration::from_secs(30))?;
    let dest = dest.to_string_lossy();
    conn.execute("VACUUM INTO ?1", [dest.as_ref()])?;
    Ok(())
}

/// What the SQLite file at `path` holds.
pub fn sqlite_contents(path: &Path) -> rusqlite::Result<Contents> {
    let conn = open_existing(path, Duration::from_secs(30))?;
    // One read transaction, so the counts are of one moment even while a server writes.
    conn.execute_batch("BEGIN")?;
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut tables = BTreeMap::new();
    for name in names {
        let rows: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {}", quoted(&name)), [], |row| row.get(0))?;
        tables.insert(name, rows);
    }
    let (schema_version, schema_description) = if tables.contains_key("schema_migrations") {
        conn.query_row("SELECT version, description FROM schema_migrations ORDER BY version DESC LIMIT 1", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok((0, String::new())),
            e => Err(e),
        })?
    } else {
        (0, String::new())
    };
    conn.execute_batch("COMMIT")?;
    Ok(Contents { schema_version, schema_description, tables })
}

/// Whether the SQLite file at `path` passes SQLite's own consistency check.
pub fn sqlite_check(path: &Path) -> rusqlite::Result<Result<(), String>> {
    let conn = open_existing(path, Duration::from_secs(30))?;
    let verdict: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    Ok(if verdict == "ok" { Ok(()) } else { Err(verdict) })
}

/// Takes the SQLite file at `path` for this process alone: it leaves WAL mode (which folds the
/// WAL back into the file and removes it), and SQLite allows that only when no other connection
/// has the file open, so a running server (whose pool and journal keep connections open) makes
/// this fail at once. `Ok(false)` says another process has it open.
pub fn sqlite_take_over(path: &Path) -> rusqlite::Result<bool> {
    let conn = open_existing(path, Duration::ZERO)?;
    match conn.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get::<_, String>(0)) {
        Ok(mode) => Ok(mode.eq_ignore_ascii_case("delete")),
        Err(rusqlite::Error::SqliteFailure(f, _)) if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Ok(false),
        Err(e) => Err(e),
    }
}

/// What the PostgreSQL database on `conn` holds, in the schema wxlib uses (the connection's
/// current schema). Run inside a transaction to count one moment.
pub async fn pg_contents(conn: &mut PgConnection) -> Result<Contents, sqlx::Error> {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
            .fetch_all(&mut *conn)
            .await?;
    let mut tables = BTreeMap::new();
    for (name,) in names {
        let (rows,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quoted(&name)))).fetch_one(&mut *conn).await?;
        tables.insert(name, rows);
    }
    let (schema_version, schema_description) = if tables.contains_key("schema_migrations") {
        sqlx::query_as::<_, (i64, String)>("SELECT version, description FROM schema_migrations ORDER BY version DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or((0, String::new()))
    } else {
        (0, String::new())
    };
    Ok(Contents { schema_version, schema_description, tables })
}

/// Starts a read-only snapshot on `conn` and exports it, so that `pg_dump --snapshot` dumps
/// exactly what [`pg_contents`] then counts on the same connection.
pub async fn pg_export_snapshot(conn: &mut PgConnection) -> Result<String, sqlx::Error> {
    sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *conn).await?;
    let (id,): (String,) = sqlx::query_as("SELECT pg_export_snapshot()").fetch_one(&mut *conn).await?;
    Ok(id)
}

/// Ends the snapshot [`pg_export_snapshot`] started.
pub async fn pg_end_snapshot(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(())
}

/// How many other sessions are connected to this database (a running node has its pool's).
pub async fn pg_other_sessions(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await?;
    Ok(n)
}

/// Drops every table in the current schema (and what depends on them), in one transaction: the
/// store a `restore --force` replaces, including tables a newer schema added that the dump lacks.
pub async fn pg_drop_tables(conn: &mut PgConnection) -> Result<usize, sqlx::Error> {
    let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
    // A notice per cascaded foreign key says nothing the caller needs.
    sqlx::query("SET LOCAL client_min_messages = warning").execute(&mut *tx).await?;
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()").fetch_all(&mut *tx).await?;
    for (name,) in &names {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {} CASCADE", quoted(name)))).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(names.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted() {
        assert_eq!(quoted("followers"), "\"followers\"");
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn a_copy_is_a_snapshot_and_a_held_file_is_not_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("live.db");
        let writer = Connection::open(&live).unwrap();
        writer.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).unwrap();
        writer.execute_batch("CREATE TABLE schema_migrations (version INTEGER, description TEXT); INSERT INTO schema_migrations VALUES (3, 'three'); CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);").unwrap();
        // Uncommitted rows of an open transaction are not in the copy.
        writer.execute_batch("BEGIN; INSERT INTO t VALUES (3);").unwrap();
        let copy = dir.path().join("copy.db");
        sqlite_copy(&live, &copy).unwrap();
        writer.execute_batch("COMMIT").unwrap();
        let contents = sqlite_contents(&copy).unwrap();
        assert_eq!((contents.schema_version, contents.schema_description.as_str()), (3, "three"));
        assert_eq!(contents.tables.get("t"), Some(&2));
        assert_eq!(sqlite_check(&copy).unwrap(), Ok(()));
        assert_eq!(sqlite_contents(&live).unwrap().tables.get("t"), Some(&3));

        assert!(!sqlite_take_over(&live).unwrap(), "the writer still has it open");
        drop(writer);
        assert!(sqlite_take_over(&live).unwrap());
        assert!(!dir.path().join("live.db-wal").exists(), "the WAL was folded back");
    }
}
