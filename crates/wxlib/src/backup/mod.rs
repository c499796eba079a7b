//! `wxlib backup` and `wxlib restore`: a consistent copy of the store taken while the server
//! serves, and bringing one back into an empty store on a fresh machine.
//!
//! A backup is a directory: the database (`wxlib.db`, SQLite's online copy, or `wxlib.pgdump`,
//! `pg_dump`'s custom format) and `manifest.json` — wxlib's and the schema's version, when and
//! where it was taken, the file's SHA-256, and the rows of every table at that moment, which a
//! restore checks. The search index is not in it: it is rebuilt from the database, which is the
//! source of truth. The directory is written under a temporary name and renamed when complete,
//! so a backup that failed half-way never looks like one.

pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Connection;

use crate::db::{self, WXLIB_VERSION, redact_url, schema_version};
use store::Contents;

/// The manifest's file name inside a backup directory.
pub const MANIFEST: &str = "manifest.json";
/// The database file of an SQLite backup.
pub const SQLITE_FILE: &str = "wxlib.db";
/// The database file of a PostgreSQL backup (`pg_dump --format=custom`).
pub const POSTGRES_FILE: &str = "wxlib.pgdump";
/// The manifest's own format; a restore refuses formats it does not know.
const FORMAT: u32 = 1;

/// What a backup holds, written beside the database as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The wxlib that took it.
    pub wxlib_version: String,
    /// `sqlite` or `postgres`: a backup is restored into the same kind of store.
    pub dialect: String,
    /// The store's newest migration at the backup's moment.
    pub schema_version: i64,
    pub schema_description: String,
    /// Unix seconds, and the same as UTC text for people.
    pub taken_at: i64,
    pub taken_at_utc: String,
    /// The machine it was taken on.
    pub node: String,
    /// The store it was taken from (password redacted).
    pub source: String,
    /// The database file in the directory, its size and SHA-256.
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    /// Rows of every table at the backup's moment.
    pub tables: BTreeMap<String, i64>,
}

impl Manifest {
    /// Rows of one table (0 if it has none or does not exist).
    pub fn rows(&self, table: &str) -> i64 {
        self.tables.get(table).copied().unwrap_or(0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{what}: {source}")]
    Sqlite { what: String, source: rusqlite::Error },
    #[error("{what}: {source}")]
    Postgres { what: String, source: sqlx::Error },
    #[error("{0} is an in-memory database: there is nothing on disk to back up or restore")]
    InMemory(String),
    #[error("there is no database at {0}")]
    NoDatabase(String),
    #[error("{0} already exists: a backup never overwrites one; choose a new name")]
    OutputExists(String),
    #[error("{path} is not a wxlib backup (no readable {MANIFEST}): {why}")]
    NotABackup { path: String, why: String },
    #[error("{path} is a backup in manifest format {found}; this wxlib {WXLIB_VERSION} reads format {FORMAT}")]
    UnknownFormat { path: String, found: u32 },
    #[error("{path} is a {backup} backup and the configured store ({store}) is {configured}: restore into the same kind of store")]
    DialectMismatch { path: String, backup: String, store: String, configured: &'static str },
    #[error(
        "{path} is at schema version {found} (taken with wxlib {taken_with}); this is wxlib {WXLIB_VERSION}, which knows \
         schema versions up to {known}: restore it with wxlib {taken_with} or newer"
    )]
    NewerBackup { path: String, found: i64, taken_with: String, known: i64 },
    #[error(
        "the store at {store} is not empty ({tables} tables; schema version {schema_version}, {followers} followers, {records} catalog records): \
         restore replaces a store only with --force"
    )]
    NotEmpty { store: String, tables: usize, schema_version: i64, followers: i64, records: i64 },
    #[error("{0}: stop the server (every node) first, then restore")]
    InUse(String),
    #[error("{file} in {path} is damaged: {why}")]
    Damaged { path: String, file: String, why: String },
    #[error("the restored store does not match the backup's manifest: {0}")]
    Mismatch(String),
    #[error(
        "{tool} is not installed (Debian: apt install postgresql-client; its major version must be the server's or newer). \
         Without wxlib, run: {command}"
    )]
    ToolMissing { tool: &'static str, command: String },
    #[error("{tool} failed ({status}): {stderr}")]
    ToolFailed { tool: &'static str, status: String, stderr: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

fn sqlite(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Sqlite { what, source }
}

fn postgres(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Postgres { what, source }
}

/// Where a store lives, from its URL.
enum Store {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Store {
    fn of(url: &str) -> Result<Self, BackupError> {
        if db::is_postgres_url(url) {
            return Ok(Store::Postgres(url.to_owned()));
        }
        db::sqlite_path(url).map(Store::Sqlite).ok_or_else(|| BackupError::InMemory(url.to_owned()))
    }

    fn dialect(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }
}

/// Takes a backup of the store at `database_url` into the new directory `out`, while a server
/// may be serving from it. Returns the manifest written.
pub async fn backup(database_url: &str, out: &Path) -> Result<Manifest, BackupError> {
    if out.exists() {
        return Err(BackupError::OutputExists(out.display().to_string()));
    }
    let store = Store::of(database_url)?;
    let partial = partial_dir(out);
    if partial.exists() {
        // Left by a backup that was interrupted.
        std::fs::remove_dir_all(&partial).map_err(io(format!("cannot remove the unfinished {}", partial.display())))?;
    }
    if let Some(parent) = partial.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(format!("cannot create {}", parent.display())))?;
    }
    std::fs::create_dir(&partial).map_err(io(format!("cannot create {}", partial.display())))?;
    let taken_at = db::unix_now();
    let result = match &store {
        Store::Sqlite(path) => backup_sqlite(path, &partial).await,
        Store::Postgres(url) => backup_postgres(url, &partial, out).await,
    };
    let (file, contents) = match result {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    let (bytes, sha256) = digest(&partial.join(file))?;
    let manifest = Manifest {
        format: FORMAT,
        wxlib_version: WXLIB_VERSION.to_owned(),
        dialect: store.dialect().to_owned(),
        schema_version: contents.schema_version,
        schema_description: contents.schema_description,
        taken_at,
        taken_at_utc: civil::DateTime::from_unix(taken_at).to_string(),
        node: node_name(),
        source: redact_url(database_url),
        file: file.to_owned(),
        bytes,
        sha256,
        tables: contents.tables,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("a manifest is plain data and always serialises");
    write_synced(&partial.join(MANIFEST), text.as_bytes())?;
    sync_dir(&partial)?;
    std::fs::rename(&partial, out).map_err(io(format!("cannot rename {} to {}", partial.display(), out.display())))?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(manifest)
}

/// `OUT` is built as `.OUT.partial` beside it.
fn partial_dir(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "backup".into());
    out.with_file_name(format!(".{name}.partial"))
}

async fn backup_sqlite(path: &Path, dir: &Path) -> Result<(&'static str, Contents), BackupError> {
    if !path.exists() {
        return Err(BackupError::NoDatabase(path.display().to_string()));
    }
    let (source, dest) = (path.to_path_buf(), dir.join(SQLITE_FILE));
    let contents = tokio::task::spawn_blocking(move || {
        store::sqlite_copy(&source, &dest).map_err(sqlite(format!("cannot copy {}", source.display())))?;
        sync_file(&dest)?;
        store::sqlite_contents(&dest).map_err(sqlite(format!("cannot read the copy {}", dest.display())))
    })
    .await
    .expect("the copy does not panic")?;
    Ok((SQLITE_FILE, contents))
}

/// `pg_dump` in a snapshot this process exported and counts in: the dump and the manifest's
/// counts are of the same moment. pg_dump's own snapshot is consistent as well; sharing it makes
/// the counts a check of the dump.
async fn backup_postgres(url: &str, dir: &Path, out: &Path) -> Result<(&'static str, Contents), BackupError> {
    let mut conn = sqlx::PgConnection::connect(url).await.map_err(postgres(format!("cannot connect to {}", redact_url(url))))?;
    let snapshot = store::pg_export_snapshot(&mut conn).await.map_err(postgres("cannot start the backup's snapshot"))?;
    let contents = store::pg_contents(&mut conn).await.map_err(postgres("cannot count the tables"))?;
    let file = dir.join(POSTGRES_FILE);
    let target = PgTarget::of(url);
    let mut dump = tokio::process::Command::new("pg_dump");
    dump.args(["--format=custom", "--no-owner", "--no-privileges", "--quote-all-identifiers"])
        .arg(format!("--snapshot={snapshot}"))
        .arg(format!("--file={}", file.display()))
        .arg(format!("--dbname={}", target.url));
    let by_hand = format!(
        "pg_dump --format=custom --no-owner --no-privileges --file={}.pgdump '{}' (a dump without a manifest: restore it with pg_restore, README \"Back up and restore\")",
        out.display(),
        redact_url(url)
    );
    run_tool("pg_dump", dump, &target, by_hand).await?;
    store::pg_end_snapshot(&mut conn).await.map_err(postgres("cannot end the backup's snapshot"))?;
    let _ = conn.close().await;
    sync_file(&file)?;
    Ok((POSTGRES_FILE, contents))
}

/// A PostgreSQL URL for libpq's tools: the password goes in `PGPASSWORD` (an argument is visible
/// to every user in `ps`), the rest stays in the URL.
struct PgTarget {
    url: String,
    password: Option<String>,
}

impl PgTarget {
    fn of(url: &str) -> Self {
        if let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@'))
            && at > scheme_end
            && let Some(colon) = url[scheme_end + 3..at].find(':')
        {
            let colon = scheme_end + 3 + colon;
            return PgTarget { url: format!("{}{}", &url[..colon], &url[at..]), password: Some(percent_decode(&url[colon + 1..at])) };
        }
        PgTarget { url: url.to_owned(), password: None }
    }
}

/// `%XX` escapes as URLs carry them in a password (libpq decodes them the same way).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(hi), Some(lo)) = (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c)))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a PostgreSQL client tool; a missing tool is told with the command to run by hand.
async fn run_tool(tool: &'static str, mut command: tokio::process::Command, target: &PgTarget, by_hand: String) -> Result<(), BackupError> {
    if let Some(password) = &target.password {
        command.env("PGPASSWORD", password);
    }
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let out = match command.output().await {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BackupError::ToolMissing { tool, command: by_hand }),
        Err(e) => return Err(BackupError::Io { what: format!("cannot run {tool}"), source: e }),
    };
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    // libpq may echo the URL it was given; it has no password in it, but be sure.
    let stderr = target.password.as_deref().filter(|p| !p.is_empty()).map_or(stderr.clone(), |p| stderr.replace(p, "***"));
    Err(BackupError::ToolFailed { tool, status: out.status.to_string(), stderr })
}

/// Size and SHA-256 of a file, reading it in pieces.
fn digest(path: &Path) -> Result<(u64, String), BackupError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(io(format!("cannot read {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io(format!("cannot read {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    std::fs::write(path, bytes).map_err(io(format!("cannot write {}", path.display())))?;
    sync_file(path)
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(io(format!("cannot flush {} to disk", path.display())))
}

/// Makes a rename or a new file in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(io(format!("cannot flush {} to disk", dir.display())))
}

/// The machine's name, for the manifest.
fn node_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Reads and checks the manifest of the backup directory `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let not_a_backup = |why: String| BackupError::NotABackup { path: dir.display().to_string(), why };
    let text = std::fs::read_to_string(dir.join(MANIFEST)).map_err(|e| not_a_backup(e.to_string()))?;
    // The format first, so a later format is named as such rather than as a parse error.
    #[derive(Deserialize)]
    struct Format {
        format: u32,
    }
    let format: Format = serde_json::from_str(&text).map_err(|e| not_a_backup(e.to_string()))?;
    if format.format != FORMAT {
        return Err(BackupError::UnknownFormat { path: dir.display().to_string(), found: format.format });
    }
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| not_a_backup(e.to_string()))?;
    if manifest.file.contains(['/', '\\']) || manifest.file.starts_with('.') {
        return Err(not_a_backup(format!("its database file {:?} is not a plain file name", manifest.file)));
    }
    Ok(manifest)
}

/// Restores the backup in `input` into the store at `database_url`, which must hold no wxlib data
/// unless `force`, and must not be in use. Checks the file against the manifest before and the
/// restored tables after. The store is left at the backup's schema version: opening it with
/// [`db::Db::connect`] migrates it forward if the backup is older, and the caller then rebuilds
/// the search index.
pub async fn restore(database_url: &str, input: &Path, force: bool) -> Result<Manifest, BackupError> {
    let manifest = read_manifest(input)?;
    let store = Store::of(database_url)?;
    let path = input.display().to_string();
    if manifest.dialect != store.dialect() {
        return Err(BackupError::DialectMismatch {
            path,
            backup: manifest.dialect.clone(),
            store: redact_url(database_url),
            configured: store.dialect(),
        });
    }
    if manifest.schema_version > schema_version() {
        return Err(BackupError::NewerBackup {
            path,
            found: manifest.schema_version,
            taken_with: manifest.wxlib_version.clone(),
            known: schema_version(),
        });
    }
    let file = input.join(&manifest.file);
    let (bytes, sha256) = digest(&file)?;
    if (bytes, sha256.as_str()) != (manifest.bytes, manifest.sha256.as_str()) {
        return Err(BackupError::Damaged {
            path,
            file: manifest.file.clone(),
            why: format!("{bytes} bytes with SHA-256 {sha256}; the manifest says {} bytes, {}", manifest.bytes, manifest.sha256),
        });
    }
    let restored = match &store {
        Store::Sqlite(target) => restore_sqlite(&file, target, force).await?,
        Store::Postgres(url) => restore_postgres(&file, url, force).await?,
    };
    if restored.tables != manifest.tables {
        let differ: Vec<String> = manifest
            .tables
            .keys()
            .chain(restored.tables.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|t| manifest.tables.get(*t) != restored.tables.get(*t))
            .map(|t| format!("{t}: {:?} in the backup, {:?} restored", manifest.tables.get(t), restored.tables.get(t)))
            .collect();
        return Err(BackupError::Mismatch(differ.join("; ")));
    }
    Ok(manifest)
}

/// What refuses a store that holds tables without `--force`.
fn not_empty(store: String, contents: &Contents) -> BackupError {
    BackupError::NotEmpty {
        store,
        tables: contents.tables.len(),
        schema_version: contents.schema_version,
        followers: contents.tables.get("followers").copied().unwrap_or(0),
        records: contents.tables.get("catalog_records").copied().unwrap_or(0),
    }
}

/// Copies the backup's file beside the target under a temporary name, checks it, and renames
/// it into place, so the target is either the old store or the whole backup.
async fn restore_sqlite(file: &Path, target: &Path, force: bool) -> Result<Contents, BackupError> {
    let (file, target) = (file.to_path_buf(), target.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let check = store::sqlite_check(&file).map_err(sqlite(format!("cannot read {}", file.display())))?;
        check.map_err(|why| BackupError::Damaged { path: file.display().to_string(), file: SQLITE_FILE.into(), why })?;
        if target.exists() {
            let existing = store::sqlite_contents(&target).map_err(sqlite(format!("cannot read {}", target.display())))?;
            if !existing.tables.is_empty() && !force {
                return Err(not_empty(target.display().to_string(), &existing));
            }
            if !store::sqlite_take_over(&target).map_err(sqlite(format!("cannot open {}", target.display())))? {
                return Err(BackupError::InUse(format!("{} is open in another process (a running wxlib serve?)", target.display())));
            }
        }
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io(format!("cannot create {}", parent.display())))?;
        }
        let incoming = target.with_extension("db.restoring");
        std::fs::copy(&file, &incoming).map_err(io(format!("cannot copy {} to {}", file.display(), incoming.display())))?;
        sync_file(&incoming)?;
        // The old store's WAL and shared memory (none after the take-over; a crashed server's
        // could be left) belong to the old file and must not be applied to the restored one.
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", target.display()));
            match std::fs::remove_file(&side) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(format!("cannot remove {}", side.display()))(e)),
                _ => {}
            }
        }
        std::fs::rename(&incoming, &target).map_err(io(format!("cannot rename {} to {}", incoming.display(), target.display())))?;
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        store::sqlite_contents(&target).map_err(sqlite(format!("cannot read the restored {}", target.display())))
    })
    .await
    .expect("the restore does not panic")
}

/// `pg_restore` in one transaction (all or nothing) into a database with no wxlib tables, or,
/// with `force`, after dropping them; refused while other sessions (nodes) are connected.
async fn restore_postgres(file: &Path, url: &str, force: bool) -> Result<Contents, BackupError> {
    let shown = redact_url(url);
    let mut conn = sqlx::PgConnection::connect(url).await.map_err(postgres(format!("cannot connect to {shown}")))?;
    let existing = store::pg_contents(&mut conn).await.map_err(postgres("cannot read the store"))?;
    if !existing.tables.is_empty() {
        if !force {
            return Err(not_empty(shown, &existing));
        }
        let others = store::pg_other_sessions(&mut conn).await.map_err(postgres("cannot list the database's sessions"))?;
        if others > 0 {
            return Err(BackupError::InUse(format!("{others} other session(s) are connected to {shown} (running nodes?)")));
        }
        // pg_restore must be there before the old tables go.
        let mut version = tokio::process::Command::new("pg_restore");
        version.arg("--version");
        run_tool("pg_restore", version, &PgTarget { url: String::new(), password: None }, pg_restore_by_hand(&shown, file)).await?;
        store::pg_drop_tables(&mut conn).await.map_err(postgres("cannot drop the old store's tables"))?;
    }
    let target = PgTarget::of(url);
    let mut restore = tokio::process::Command::new("pg_restore");
    restore
        .args(["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"])
        .arg(format!("--dbname={}", target.url))
        .arg(file);
    run_tool("pg_restore", restore, &target, pg_restore_by_hand(&shown, file)).await?;
    let mut tx = sqlx::Acquire::begin(&mut conn).await.map_err(postgres("cannot read the restored store"))?;
    let contents = store::pg_contents(&mut tx).await.map_err(postgres("cannot read the restored store"))?;
    tx.commit().await.map_err(postgres("cannot read the restored store"))?;
    let _ = conn.close().await;
    Ok(contents)
}

fn pg_restore_by_hand(shown_url: &str, file: &Path) -> String {
    format!(
        "pg_restore --no-owner --no-privileges --single-transaction --exit-on-error --dbname='{shown_url}' {}, then wxlib reindex on every node",
        file.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url_for_the_environment() {
        let t = PgTarget::of("postgres://lib:s%40cret:x@db.example:5432/wxlib?sslmode=require");
        assert_eq!(t.url, "postgres://lib@db.example:5432/wxlib?sslmode=require");
        assert_eq!(t.password.as_deref(), Some("s@cret:x"));
        let t = PgTarget::of("postgres://lib@db/wxlib");
        assert_eq!((t.url.as_str(), t.password), ("postgres://lib@db/wxlib", None));
        assert_eq!(percent_decode("a%2"), "a%2", "an escape cut short is kept as written");
        assert_eq!(percent_decode("%e4%b8%ad"), "中");
    }

    #[test]
    fn a_manifest_is_read_back_and_a_strange_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let m = Manifest {
            format: FORMAT,
            wxlib_version: "0.1.0".into(),
            dialect: "sqlite".into(),
            schema_version: 14,
            schema_description: "shared stored replies".into(),
            taken_at: 1_700_000_000,
            taken_at_utc: civil::DateTime::from_unix(1_700_000_000).to_string(),
            node: node_name(),
            source: "sqlite://data/wxlib.db".into(),
            file: SQLITE_FILE.into(),
            bytes: 3,
            sha256: "00".into(),
            tables: BTreeMap::from([("followers".into(), 2)]),
        };
        assert_eq!(m.taken_at_utc, "2023-11-14T22:13:20Z");
        std::fs::write(dir.path().join(MANIFEST), serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(read_manifest(dir.path()).unwrap(), m);
        assert_eq!((m.rows("followers"), m.rows("bindings")), (2, 0));

        std::fs::write(dir.path().join(MANIFEST), r#"{"format": 2, "whatever": true}"#).unwrap();
        assert!(matches!(read_manifest(dir.path()), Err(BackupError::UnknownFormat { found: 2, .. })));
        let evil = Manifest { file: "../../etc/passwd".into(), ..m };
        std::fs::write(dir.path().join(MANIFEST), serde_json::to_string(&evil).unwrap()).unwrap();
        assert!(matches!(read_manifest(dir.path()), Err(BackupError::NotABackup { .. })));
        assert!(matches!(read_manifest(&dir.path().join("nothing")), Err(BackupError::NotABackup { .. })));
    }

    #[test]
    fn the_partial_directory_is_a_hidden_sibling() {
        assert_eq!(partial_dir(Path::new("/backups/2025-01-01")), PathBuf::from("/backups/.2025-01-01.partial"));
        assert_eq!(partial_dir(Path::new("b")), PathBuf::from(".b.partial"));
    }
}
