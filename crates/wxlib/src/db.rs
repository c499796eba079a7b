//! The relational store: SQLite (embedded default) or PostgreSQL (several stateless nodes), chosen
//! by URL. One `Db` value wraps either pool; queries are written once in the portable subset
//! (`$1` placeholders, `ON CONFLICT`, `RETURNING`, integers for times and flags) and run on
//! whichever pool is live via [`with_pool!`](crate::with_pool). Each dialect has its own migration folder; the
//! conformance tests run the same story against both.

use std::str::FromStr;
use std::time::Duration;

pub use crate::clock::unix_now;
pub use limits::{Limit, Verdict};
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
pub mod limits;
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
    /// The store was migrated by a newer wxlib: this binary would run on tables it does not
    /// know, so it refuses to start (README, "Upgrade").
    #[error(
        "the database at {url} is at schema version {found} ({found_description}), written by {by}; \
         this is wxlib {this_version}, which knows schema versions up to {known}. \
         Run {by} or a later version, or restore a backup taken before the upgrade",
        by = written_by.as_deref().map_or_else(|| "a newer wxlib".to_owned(), |v| format!("wxlib {v}"))
    )]
    NewerSchema { url: String, found: i64, found_description: String, written_by: Option<String>, known: i64, this_version: &'static str },
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
    (16, "attempt limits", include_str!("../migrations/sqlite/0016_attempt_limits.sql")),
    (17, "catalog harvest", include_str!("../migrations/sqlite/0017_catalog_harvest.sql")),
    (18, "late answers", include_str!("../migrations/sqlite/0018_late_answers.sql")),
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
    (16, "attempt limits", include_str!("../migrations/postgres/0016_attempt_limits.sql")),
    (17, "catalog harvest", include_str!("../migrations/postgres/0017_catalog_harvest.sql")),
    (18, "late answers", include_str!("../migrations/postgres/0018_late_answers.sql")),
];

/// The newest schema version this binary knows (its last migration).
pub fn schema_version() -> i64 {
    let last = |m: &[(i64, &str, &str)]| m.last().map_or(0, |&(v, _, _)| v);
    debug_assert_eq!(last(SQLITE_MIGRATIONS), last(POSTGRES_MIGRATIONS), "both dialects have the same migrations");
    last(SQLITE_MIGRATIONS)
}

/// This binary's version, as recorded in the store by the migrations it applies.
pub const WXLIB_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `app_settings` row naming the wxlib version that applied the store's newest migration, so
/// an older binary can say which version it would need.
const SCHEMA_WRITTEN_BY: &str = "schema.written_by";

/// Redacts the password in a database URL for logs.
pub use crate::config::redact_url;

/// Whether a store URL names PostgreSQL (anything else is SQLite).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The file of an SQLite URL (`sqlite://path?options` or `sqlite:path`); `None` for an
/// in-memory database.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    let path = rest.split('?').next().unwrap_or(rest);
    (!(path.is_empty() || path == ":memory:" || path.starts_with("file:"))).then(|| std::path::PathBuf::from(path))
}

impl Db {
    /// Opens (creating the SQLite file if needed) and migrates.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let connect_err = |source| DbError::Connect { url: redact_url(url), source };
        let db = if is_postgres_url(url) {
            let pool =
                PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(5)).connect(url).await.map_err(connect_err)?;
            Db::Postgres(pool)
        } else {
            if let Some(path) = sqlite_path(url)
                && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|source| DbError::DataDir { path: parent.display().to_string(), source })?;
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
        db.migrate(url).await?;
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

    /// The newest migration applied to the store (0 for none), for `/readyz`.
    pub async fn applied_schema_version(&self) -> Result<i64, DbError> {
        let (v,): (Option<i64>,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT MAX(version) FROM schema_migrations").fetch_one(pool).await?);
        Ok(v.unwrap_or(0))
    }

    pub fn dialect(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Applies pending migrations, each in its own transaction, after checking that the store is
    /// not from a newer wxlib (a migration this binary does not know). On PostgreSQL an advisory
    /// lock keeps two nodes starting together from migrating twice.
    async fn migrate(&self, url: &str) -> Result<(), DbError> {
        /// Refuses a store whose newest migration is past this binary's, then applies the
        /// migrations not yet applied on `$conn`, each in its own transaction; says whether any
        /// were.
        macro_rules! apply {
            ($conn:expr, $migrations:expr) => {{
                sqlx::query(CREATE_MIGRATIONS).execute(&mut *$conn).await?;
                let newest: Option<(i64, String)> =
                    sqlx::query_as("SELECT version, description FROM schema_migrations ORDER BY version DESC LIMIT 1")
                        .fetch_optional(&mut *$conn)
                        .await?;
                let known = schema_version();
                if let Some((found, found_description)) = newest.filter(|&(found, _)| found > known) {
                    // The newer binary recorded itself; a store without the row (or the table)
                    // still gets a precise refusal.
                    let written_by: Option<(String,)> = sqlx::query_as("SELECT value FROM app_settings WHERE name = $1")
                        .bind(SCHEMA_WRITTEN_BY)
                        .fetch_optional(&mut *$conn)
                        .await
                        .ok()
                        .flatten();
                    return Err(DbError::NewerSchema {
                        url: redact_url(url),
                        found,
                        found_description,
                        written_by: written_by.map(|(v,)| v),
                        known,
                        this_version: WXLIB_VERSION,
                    });
                }
                let mut applied = false;
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
                        applied = true;
                    }
                    tx.commit().await?;
                }
                if applied {
                    sqlx::query(
                        "INSERT INTO app_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    )
                    .bind(SCHEMA_WRITTEN_BY)
                    .bind(WXLIB_VERSION)
                    .execute(&mut *$conn)
                    .await?;
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
        assert_eq!(redact_url("postgres://u:p@ss@host/db"), "postgres://u:***@host/db");
        assert_eq!(redact_url("postgres://host/db?user=u&password=secret&x=1"), "postgres://host/db?user=u&password=***&x=1");
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://data/wxlib.db?mode=rwc"), Some("data/wxlib.db".into()));
        assert_eq!(sqlite_path("sqlite:/var/lib/wxlib/wxlib.db"), Some("/var/lib/wxlib/wxlib.db".into()));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://"), None);
        assert!(is_postgres_url("postgresql://db/wxlib") && !is_postgres_url("sqlite://x"));
    }
}
