//! The relational store: SQLite (embedded default) or PostgreSQL (several stateless nodes), chosen
//! by URL. One `Db` value wraps either pool; queries are written once in the portable subset
//! (`$1` placeholders, `ON CONFLICT`, `RETURNING`, integers for times and flags) and run on
//! whichever pool is live via [`with_pool!`](crate::with_pool). Each dialect has its own migration folder; the
//! conformance tests run the same story against both.

use std::str::FromStr;
use std::time::Duration;

pub use crate::clock::unix_now;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

/// Runs `$body` with `$pool` bound to the live pool (either type); the body is compiled once per
/// dialect, so it must use SQL both understand.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// A query builder for the pool's dialect (names the database type for inference in
/// [`with_pool!`](crate::with_pool) bodies).
pub fn builder<DB: sqlx::Database>(_pool: &sqlx::Pool<DB>, init: &str) -> sqlx::QueryBuilder<DB> {
    sqlx::QueryBuilder::new(init.to_owned())
}

mod here;
mod jobs;
mod settings;
pub mod writes;

#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("migration {version} failed: {source}")]
    Migrate { version: i64, source: sqlx::Error },
    #[error(transparent)]
    Query(#[from] sqlx::Error),
    /// A read on the thread's own SQLite connection ([`Db::read_row_here`]).
    #[error("reading the database: {0}")]
    Local(#[source] rusqlite::Error),
}

/// (version, description, SQL) for each dialect, embedded in the binary.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "front door", include_str!("../migrations/sqlite/0001_front_door.sql")),
    (2, "catalog", include_str!("../migrations/sqlite/0002_catalog.sql")),
    (3, "circulation", include_str!("../migrations/sqlite/0003_circulation.sql")),
    (4, "console", include_str!("../migrations/sqlite/0004_console.sql")),
    (5, "partners", include_str!("../migrations/sqlite/0005_partners.sql")),
    (6, "activities", include_str!("../migrations/sqlite/0006_activities.sql")),
    (7, "answers and consultation", include_str!("../migrations/sqlite/0007_answers.sql")),
    (8, "news", include_str!("../migrations/sqlite/0008_news.sql")),
    (9, "broadcasts", include_str!("../migrations/sqlite/0009_broadcasts.sql")),
    (10, "reach", include_str!("../migrations/sqlite/0010_reach.sql")),
    (11, "broadcast_wechat_figures", include_str!("../migrations/sqlite/0011_broadcast_wechat_figures.sql")),
    (12, "lean callback journal", include_str!("../migrations/sqlite/0012_lean_journal.sql")),
    (13, "dedupe without time index", include_str!("../migrations/sqlite/0013_dedupe_without_time_index.sql")),
    (14, "shared stored replies", include_str!("../migrations/sqlite/0014_shared_stored_replies.sql")),
    (15, "live circulation", include_str!("../migrations/sqlite/0015_live_circulation.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "front door", include_str!("../migrations/postgres/0001_front_door.sql")),
    (2, "catalog", include_str!("../migrations/postgres/0002_catalog.sql")),
    (3, "circulation", include_str!("../migrations/postgres/0003_circulation.sql")),
    (4, "console", include_str!("../migrations/postgres/0004_console.sql")),
    (5, "partners", include_str!("../migrations/postgres/0005_partners.sql")),
    (6, "activities", include_str!("../migrations/postgres/0006_activities.sql")),
    (7, "answers and consultation", include_str!("../migrations/postgres/0007_answers.sql")),
    (8, "news", include_str!("../migrations/postgres/0008_news.sql")),
    (9, "broadcasts", include_str!("../migrations/postgres/0009_broadcasts.sql")),
    (10, "reach", include_str!("../migrations/postgres/0010_reach.sql")),
    (11, "broadcast_wechat_figures", include_str!("../migrations/postgres/0011_broadcast_wechat_figures.sql")),
    (12, "lean callback journal", include_str!("../migrations/postgres/0012_lean_journal.sql")),
    (13, "dedupe without time index", include_str!("../migrations/postgres/0013_dedupe_without_time_index.sql")),
    (14, "shared stored replies", include_str!("../migrations/postgres/0014_shared_stored_replies.sql")),
    (15, "live circulation", include_str!("../migrations/postgres/0015_live_circulation.sql")),
];

/// Redacts the password in a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Db {
    /// Opens (creating the SQLite file if needed) and migrates.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let connect_err = |source| DbError::Connect { url: redact_url(url), source };
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool =
                PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(5)).connect(url).await.map_err(connect_err)?;
            Db::Postgres(pool)
        } else {
            if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
                let path = path.split('?').next().unwrap_or(path);
                if let Some(parent) = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| DbError::DataDir { path: parent.display().to_string(), source })?;
                }
            }
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(connect_err)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                // As the callback journal's own connection: the WAL checkpointer thread
                // (`wechat::journal::sqlite::Checkpointer`) copies the WAL back, off every commit
                // path; a commit checkpoints only past 100,000 pages, when it cannot keep up.
                .pragma("wal_autocheckpoint", "100000")
                .foreign_keys(true);
            // Few connections: each one is a thread, and on 2 cores thread switches cost more
            // than they buy (measured on the catalog benchmark).
            let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await.map_err(connect_err)?;
            Db::Sqlite(pool)
        };
        db.migrate().await?;
        Ok(db)
    }

    /// The SQLite database file, when this is SQLite on disk (not in memory): writers that keep
    /// a connection of their own (the callback journal) open it.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match self {
            Db::Sqlite(pool) => {
                let opts = pool.connect_options();
                let path = opts.get_filename();
                let name = path.to_string_lossy();
                (!(name.is_empty() || name == ":memory:" || name.starts_with("file:"))).then(|| path.to_path_buf())
            }
            Db::Postgres(_) => None,
        }
    }

    pub fn dialect(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Applies pending migrations, each in its own transaction. On PostgreSQL an advisory lock
    /// keeps two nodes starting together from migrating twice.
    async fn migrate(&self) -> Result<(), DbError> {
        /// Applies the migrations not yet applied on `$conn`, each in its own transaction.
        macro_rules! apply {
            ($conn:expr, $migrations:expr) => {{
                sqlx::query(CREATE_MIGRATIONS).execute(&mut *$conn).await?;
                for &(version, description, sql) in $migrations {
                    let mut tx = sqlx::Acquire::begin(&mut *$conn).await?;
                    let done: Option<(i64,)> = sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                        .bind(version)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if done.is_none() {
                        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(|source| DbError::Migrate { version, source })?;
                        sqlx::query("INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)")
                            .bind(version)
                            .bind(description)
                            .bind(unix_now())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                }
                Ok::<(), DbError>(())
            }};
        }
        const CREATE_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)";
        match self {
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                apply!(conn, SQLITE_MIGRATIONS)?;
            }
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                // Two nodes starting together must not migrate twice.
                sqlx::query("SELECT pg_advisory_lock(7486001)").execute(&mut *conn).await?;
                let result = async { apply!(conn, POSTGRES_MIGRATIONS) }.await;
                sqlx::query("SELECT pg_advisory_unlock(7486001)").execute(&mut *conn).await?;
                result?;
            }
        }
        Ok(())
    }

    /// Takes or renews a named lease for `holder` until `now + ttl`. Returns whether we hold it.
    /// Used so that one node at a time refreshes the access token or runs a job.
    pub async fn try_lease(&self, name: &str, holder: &str, ttl_secs: i64, now: i64) -> Result<bool, DbError> {
        let sql = "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                   WHERE leases.expires_at < $4 OR leases.holder = $2";
        let done = with_pool!(self, |pool| sqlx::query(sql)
            .bind(name)
            .bind(holder)
            .bind(now + ttl_secs)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(done == 1)
    }

    /// Gives a lease back early.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://user:secret@host/db"), "postgres://user:***@host/db");
        assert_eq!(redact_url("postgres://user@host/db"), "postgres://user@host/db");
        assert_eq!(redact_url("sqlite://data/wxlib.db"), "sqlite://data/wxlib.db");
    }
}
