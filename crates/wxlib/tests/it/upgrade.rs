use std::path::{Path, PathBuf};

use wxlib::db::{Db, DbError, WXLIB_VERSION, schema_version};

use crate::helpers::{TestDb, all_dbs, pg_db, pg_server, sqlite_db};

/// Marks the store at `url` as migrated by a future wxlib: a migration this binary does not know,
/// and that version's name where it records itself.
async fn from_the_future(url: &str, version: i64) {
    let db = Db::connect(url).await.unwrap();
    wxlib::with_pool!(&db, |pool| {
        sqlx::query("INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, 'loans by branch', 0)")
            .bind(version)
            .execute(pool)
            .await
            .unwrap();
    });
    db.put_setting("schema.written_by", "9.4.0").await.unwrap();
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused_naming_both_versions() {
    for (backend, test_db) in all_dbs().await {
        let future = schema_version() + 1;
        from_the_future(&test_db.url, future).await;
        let err = Db::connect(&test_db.url).await.unwrap_err();
        assert!(
            matches!(err, DbError::NewerSchema { found, known, .. } if found == future && known == schema_version()),
            "{backend}: {err:?}"
        );
        let message = err.to_string();
        for part in [
            format!("schema version {future} (loans by branch)"),
            "written by wxlib 9.4.0".into(),
            format!("this is wxlib {WXLIB_VERSION}, which knows schema versions up to {}", schema_version()),
            "Run wxlib 9.4.0 or a later version".into(),
        ] {
            assert!(message.contains(&part), "{backend}: {message:?} lacks {part:?}");
        }
    }
}

#[tokio::test]
async fn the_version_that_migrates_records_itself() {
    for (backend, test_db) in all_dbs().await {
        let db = Db::connect(&test_db.url).await.unwrap();
        assert_eq!(db.setting("schema.written_by").await.unwrap().as_deref(), Some(WXLIB_VERSION), "{backend}");
    }
}

/// A little of everything a library keeps: followers, a binding, an outbox entry, a news message
/// with its cover, catalog records.
async fn write_story(db: &Db) {
    for (i, openid) in ["oBackupA", "oBackupB", "oBackupC"].iter().enumerate() {
        db.record_subscribe(openid, Some("entrance"), 1_000 + i as i64).await.unwrap();
    }
    db.record_unsubscribe("oBackupC", 2_000).await.unwrap();
    db.bind("oBackupA", "2021001", 1_100).await.unwrap();
    let body = serde_json::json!({"touser": "oBackupA", "msgtype": "text", "text": {"content": "已绑定一卡通"}});
    assert!(db.enqueue_outbox("oBackupA", &body, "bound:oBackupA:1100", 1_100).await.unwrap());
    let draft = wxlib::broadcasts::Draft { title: "闭馆通知".into(), body_html: "<p>周五闭馆</p>".into(), ..Default::default() };
    let cover = wxlib::broadcasts::Image { content_type: "image/png".into(), bytes: vec![0x89, b'P', b'N', b'G', 1, 2, 3] };
    db.create_broadcast(&draft, Some(&cover), "admin", 1_200).await.unwrap();
    let marc = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/marc/yaz-marccol1-cjk-utf8.mrc")).unwrap();
    let summary = wxlib::catalog::import::import_bytes(
        db,
        "yaz-marccol1-cjk-utf8.mrc",
        &marc,
        wxlib::catalog::import::InputFormat::Auto,
        wxlib::catalog::import::InputCharset::Auto,
        1_300,
        &|_| {},
    )
    .await
    .unwrap();
    assert!(summary.added > 10, "{summary:?}");
}

/// Everything [`write_story`] wrote is in `db`.
async fn check_story(backend: &str, db: &Db, records: i64) {
    assert_eq!(db.count_followers().await.unwrap(), 2, "{backend}");
    let c = db.follower("oBackupC").await.unwrap().unwrap();
    assert_eq!((c.subscribed, c.first_scene.as_deref(), c.unsubscribed_at), (0, Some("entrance"), Some(2_000)), "{backend}");
    assert_eq!(db.all_bindings().await.unwrap(), vec![("oBackupA".to_owned(), "2021001".to_owned())], "{backend}");
    let outbox = db.outbox_rows().await.unwrap();
    assert_eq!(outbox.len(), 1, "{backend}");
    assert_eq!((outbox[0].dedupe_key.as_str(), outbox[0].status.as_str()), ("bound:oBackupA:1100", "pending"), "{backend}");
    assert!(outbox[0].payload.contains("已绑定一卡通"), "{backend}");
    let listed = db.list_broadcasts().await.unwrap();
    assert_eq!(listed.len(), 1, "{backend}");
    assert_eq!((listed[0].broadcast.title.as_str(), listed[0].broadcast.state.as_str()), ("闭馆通知", "composed"), "{backend}");
    let cover = db.broadcast_cover(listed[0].broadcast.id).await.unwrap().unwrap();
    assert_eq!(cover.bytes, vec![0x89, b'P', b'N', b'G', 1, 2, 3], "{backend}: the cover's bytes");
    assert_eq!(db.count_records().await.unwrap(), records, "{backend}");
}

/// A store on the same backend as `like`, empty (SQLite: a file not yet created).
async fn empty_store_like(backend: &str) -> crate::helpers::TestDb {
    match backend {
        "postgres" => crate::helpers::pg_db(&crate::helpers::pg_server().unwrap()).await,
        _ => crate::helpers::sqlite_db().await,
    }
}

#[tokio::test]
async fn a_backup_restores_into_an_empty_store_and_refuses_what_it_must() {
    use wxlib::backup::{self, BackupError};
    for (backend, source) in all_dbs().await {
        let db = Db::connect(&source.url).await.unwrap();
        write_story(&db).await;
        let records = db.count_records().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nightly");
        // Taken while the source is open and in use, as a running server holds it.
        let manifest = backup::backup(&source.url, &out).await.unwrap();
        assert_eq!((manifest.dialect.as_str(), manifest.schema_version), (backend, schema_version()));
        assert_eq!((manifest.rows("followers"), manifest.rows("bindings"), manifest.rows("outbox")), (3, 1, 1), "{backend}");
        assert_eq!((manifest.rows("broadcasts"), manifest.rows("catalog_records")), (1, records), "{backend}");
        assert!(!dir.path().join(".nightly.partial").exists());
        db.record_subscribe("oAfterTheBackup", None, 3_000).await.unwrap();
        assert!(matches!(backup::backup(&source.url, &out).await, Err(BackupError::OutputExists(_))), "{backend}");

        let target = empty_store_like(backend).await;
        let restored = backup::restore(&target.url, &out, false).await.unwrap();
        assert_eq!(restored, manifest);
        let back = Db::connect(&target.url).await.unwrap();
        check_story(backend, &back, records).await;
        assert!(back.follower("oAfterTheBackup").await.unwrap().is_none(), "{backend}: written after the backup");

        // Into a store that holds data: only with --force, and never while it is open.
        let again = backup::restore(&target.url, &out, false).await;
        assert!(matches!(again, Err(BackupError::NotEmpty { followers: 3, .. })), "{backend}: {again:?}");
        let busy = backup::restore(&target.url, &out, true).await;
        assert!(matches!(busy, Err(BackupError::InUse(_))), "{backend}: {busy:?}");
        back.record_subscribe("oReplaced", None, 4_000).await.unwrap();
        match back {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
        backup::restore(&target.url, &out, true).await.unwrap();
        let back = Db::connect(&target.url).await.unwrap();
        check_story(backend, &back, records).await;
        assert!(back.follower("oReplaced").await.unwrap().is_none(), "{backend}: --force replaced the store");

        // A damaged file, a backup from a newer wxlib, the other kind of store.
        let other = empty_store_like(backend).await;
        let file = out.join(&manifest.file);
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        std::fs::write(&file, &bytes).unwrap();
        let damaged = backup::restore(&other.url, &out, false).await;
        assert!(matches!(damaged, Err(BackupError::Damaged { .. })), "{backend}: {damaged:?}");
        bytes[middle] ^= 0x55;
        std::fs::write(&file, &bytes).unwrap();
        let newer = backup::Manifest { schema_version: schema_version() + 1, wxlib_version: "9.4.0".into(), ..manifest.clone() };
        std::fs::write(out.join(backup::MANIFEST), serde_json::to_string(&newer).unwrap()).unwrap();
        let refused = backup::restore(&other.url, &out, false).await.unwrap_err();
        assert!(matches!(refused, BackupError::NewerBackup { .. }), "{backend}: {refused:?}");
        assert!(refused.to_string().contains("restore it with wxlib 9.4.0 or newer"), "{refused}");
        std::fs::write(out.join(backup::MANIFEST), serde_json::to_string(&manifest).unwrap()).unwrap();
        let elsewhere =
            if backend == "sqlite" { "postgres://nobody@127.0.0.1:1/none".to_owned() } else { crate::helpers::sqlite_db().await.url };
        let mismatch = backup::restore(&elsewhere, &out, false).await;
        assert!(matches!(mismatch, Err(BackupError::DialectMismatch { .. })), "{backend}: {mismatch:?}");
        backup::restore(&other.url, &out, false).await.unwrap();
        check_story(backend, &Db::connect(&other.url).await.unwrap(), records).await;
    }
}

/// The upgrade fixtures: a store written by each release's schema (`schema-NNNN.sqlite`,
/// `schema-NNNN.postgres.sql`), kept forever (crates/wxlib/migrations/README.md).
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/upgrade")
}

/// The fixtures of one backend (`sqlite` or `postgres`), oldest first: (schema version, file).
fn fixtures(backend: &str) -> Vec<(i64, PathBuf)> {
    let suffix = if backend == "sqlite" { ".sqlite" } else { ".postgres.sql" };
    let mut found: Vec<(i64, PathBuf)> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name()?.to_str()?.to_owned();
            let version = name.strip_prefix("schema-")?.strip_suffix(suffix)?.parse().ok()?;
            Some((version, path))
        })
        .collect();
    found.sort();
    found
}

/// A `pg_dump --inserts` script that any PostgreSQL from 12 on loads with one `raw_sql`: psql's
/// meta-commands (`\restrict`, `\unrestrict` of newer pg_dumps) and settings an older server
/// does not know go.
fn portable_dump(dump: &str) -> String {
    const TOO_NEW: [&str; 2] = ["SET transaction_timeout", "SET default_table_access_method"];
    dump.lines()
        .filter(|line| !line.starts_with('\\') && !TOO_NEW.iter().any(|s| line.starts_with(s)))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Writes this schema's fixtures from [`write_story`], on both backends, when a release adds a
/// migration (crates/wxlib/migrations/README.md):
/// `WXLIB_TEST_PG=postgres://postgres@127.0.0.1:5432 cargo test -p wxlib --test it upgrade::write_the_upgrade_fixtures -- --ignored`.
/// An existing fixture is never rewritten.
#[tokio::test]
#[ignore = "writes tests/fixtures/upgrade/schema-NNNN.*; run by hand when a release adds a migration"]
async fn write_the_upgrade_fixtures() {
    let version = schema_version();
    let dir = fixtures_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite_out = dir.join(format!("schema-{version:04}.sqlite"));
    let pg_out = dir.join(format!("schema-{version:04}.postgres.sql"));
    for out in [&sqlite_out, &pg_out] {
        assert!(!out.exists(), "{} exists: a fixture is never rewritten (its schema is on main)", out.display());
    }
    let server = pg_server().expect("the fixtures are written on both backends: set WXLIB_TEST_PG");

    let source = sqlite_db().await;
    let db = Db::connect(&source.url).await.unwrap();
    write_story(&db).await;
    close(db).await;
    let file = wxlib::db::sqlite_path(&source.url).unwrap();
    // VACUUM INTO, as `wxlib backup` copies, in 1 KiB pages: a fixture of some 90 tables and
    // indexes is then about a quarter of its size in the default 4 KiB pages.
    let live = rusqlite::Connection::open(&file).unwrap();
    live.execute_batch("PRAGMA page_size = 1024").unwrap();
    live.execute("VACUUM INTO ?1", [sqlite_out.to_str().unwrap()]).unwrap();
    drop(live);
    // A file on its own, without a WAL beside it.
    let copy = rusqlite::Connection::open(&sqlite_out).unwrap();
    copy.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(())).unwrap();
    drop(copy);

    let source = pg_db(&server).await;
    let db = Db::connect(&source.url).await.unwrap();
    write_story(&db).await;
    close(db).await;
    let dump = std::process::Command::new("pg_dump")
        .args(["--inserts", "--no-owner", "--no-privileges", "--dbname"])
        .arg(&source.url)
        .output()
        .expect("pg_dump (Debian: postgresql-client)");
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let header = format!(
        "-- wxlib upgrade fixture: schema version {version}, written by wxlib {WXLIB_VERSION} from tests/it/upgrade.rs write_story\n\
         -- (pg_dump --inserts --no-owner --no-privileges, psql meta-commands removed). Never edit: add a new fixture.\n"
    );
    std::fs::write(&pg_out, header + &portable_dump(&String::from_utf8(dump.stdout).unwrap())).unwrap();
    eprintln!("wrote {} and {}", sqlite_out.display(), pg_out.display());
}

async fn close(db: Db) {
    match db {
        Db::Sqlite(pool) => pool.close().await,
        Db::Postgres(pool) => pool.close().await,
    }
}

/// The rows of the tables [`write_story`] fills.
const STORY_TABLES: [&str; 5] = ["followers", "bindings", "outbox", "broadcasts", "catalog_records"];

/// Opens a fixture's store with this build — which migrates it forward — and checks that its
/// story is all there, that what it held before migrating is what it holds after, and that the
/// store is usable: it takes new readers, bindings, outbox entries and news messages, and the
/// real server starts on it and finds its catalog records.
async fn migrate_fixture(backend: &str, fixture: i64, store: TestDb, before: wxlib::backup::store::Contents) {
    let what = format!("{backend} fixture schema-{fixture:04}");
    assert_eq!(before.schema_version, fixture, "{what}: the file's schema is its name's");
    assert!(before.schema_version <= schema_version(), "{what}: from a newer build than this one");
    let records = before.tables["catalog_records"];
    assert!(records > 10, "{what}: {records} records");

    let db = Db::connect(&store.url).await.unwrap();
    let newest: (i64,) =
        wxlib::with_pool!(&db, |pool| { sqlx::query_as("SELECT MAX(version) FROM schema_migrations").fetch_one(pool).await.unwrap() });
    assert_eq!(newest.0, schema_version(), "{what}: migrated to this build's schema");
    if fixture < schema_version() {
        assert_eq!(db.setting("schema.written_by").await.unwrap().as_deref(), Some(WXLIB_VERSION), "{what}");
    }
    check_story(&what, &db, records).await;
    let after = match &db {
        Db::Sqlite(_) => wxlib::backup::store::sqlite_contents(&wxlib::db::sqlite_path(&store.url).unwrap()).unwrap(),
        Db::Postgres(_) => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&store.url).await.unwrap();
            wxlib::backup::store::pg_contents(&mut conn).await.unwrap()
        }
    };
    for table in STORY_TABLES {
        assert_eq!(after.tables.get(table), before.tables.get(table), "{what}: rows of {table}");
    }

    // Usable: new rows of every kind go in beside the old ones.
    db.record_subscribe("oAfterUpgrade", Some("upgrade"), 5_000).await.unwrap();
    db.bind("oAfterUpgrade", "2026001", 5_001).await.unwrap();
    let body = serde_json::json!({"touser": "oAfterUpgrade", "msgtype": "text", "text": {"content": "升级后"}});
    assert!(db.enqueue_outbox("oAfterUpgrade", &body, "bound:oAfterUpgrade:5001", 5_001).await.unwrap());
    let draft = wxlib::broadcasts::Draft { title: "升级之后".into(), body_html: "<p>照常开放</p>".into(), ..Default::default() };
    db.create_broadcast(&draft, None, "admin", 5_002).await.unwrap();
    assert_eq!(db.count_followers().await.unwrap(), 3, "{what}");
    assert_eq!(db.all_bindings().await.unwrap().len(), 2, "{what}");
    assert_eq!(db.outbox_rows().await.unwrap().len(), 2, "{what}");
    assert_eq!(db.list_broadcasts().await.unwrap().len(), 2, "{what}");
    close(db).await;

    // The real server starts on it and its search finds the fixture's records.
    let api = crate::helpers::fake_api().await;
    let app = crate::helpers::spawn_app_on(store, &api.base, wxlib::conversation::router()).await;
    let url = format!("{}/api/v1/search?q=china&field=any", app.base);
    let mut total = 0;
    for _ in 0..100 {
        let found: serde_json::Value = app.http.get(&url).send().await.unwrap().json().await.unwrap();
        total = found["total"].as_i64().unwrap_or(0);
        if total > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(total > 0, "{what}: the server's search finds the fixture's records");
}

#[tokio::test]
async fn every_upgrade_fixture_migrates_forward_on_sqlite() {
    let all = fixtures("sqlite");
    assert!(!all.is_empty(), "no SQLite fixture in {}", fixtures_dir().display());
    for (version, file) in all {
        let store = sqlite_db().await;
        let path = wxlib::db::sqlite_path(&store.url).unwrap();
        std::fs::copy(&file, &path).unwrap();
        let before = wxlib::backup::store::sqlite_contents(&path).unwrap();
        migrate_fixture("sqlite", version, store, before).await;
    }
}

#[tokio::test]
async fn every_upgrade_fixture_migrates_forward_on_postgres() {
    let Some(server) = pg_server() else { return };
    let all = fixtures("postgres");
    assert!(!all.is_empty(), "no PostgreSQL fixture in {}", fixtures_dir().display());
    for (version, file) in all {
        let store = pg_db(&server).await;
        let dump = std::fs::read_to_string(&file).unwrap();
        // Its own connection: the dump empties the session's search_path.
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&store.url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(portable_dump(&dump))).execute(&mut conn).await.unwrap();
        sqlx::Connection::close(conn).await.unwrap();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&store.url).await.unwrap();
        let before = wxlib::backup::store::pg_contents(&mut conn).await.unwrap();
        sqlx::Connection::close(conn).await.unwrap();
        migrate_fixture("postgres", version, store, before).await;
    }
}

/// One write of the load [`a_backup_taken_under_load_restores_everything_it_began_with`] keeps
/// going: writer `task`'s `i`th reader follows (a callback through the server), binds, gets an
/// outbox entry, and a news message with a cover is composed — in that order, each committed
/// before the next starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LoadOp {
    task: u8,
    i: u32,
    step: u8,
}

impl LoadOp {
    fn openid(&self) -> String {
        format!("oLoad{}x{}", self.task, self.i)
    }
    fn card(&self) -> String {
        format!("L{}{:06}", self.task, self.i)
    }
    fn outbox_key(&self) -> String {
        format!("load:{}", self.openid())
    }
    fn title(&self) -> String {
        format!("负载 {}-{}", self.task, self.i)
    }
    /// A cover of a few KB, different for every message, so a half-written one shows.
    fn cover(&self) -> Vec<u8> {
        let mut bytes = vec![0x89, b'P', b'N', b'G'];
        bytes.extend((0..4096u32).map(|k| (k.wrapping_mul(31) ^ self.i ^ u32::from(self.task) << 5) as u8));
        bytes
    }
}

/// Runs one writer of the load until `stop`, recording when each write was committed.
async fn keep_writing(
    app: std::sync::Arc<crate::helpers::TestApp>,
    task: u8,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<(LoadOp, std::time::Instant)> {
    use std::sync::atomic::Ordering;
    let mut done = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let op = |step| LoadOp { task, i, step };
        let openid = op(0).openid();
        let follow = format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_load]]></EventKey></xml>",
            crate::helpers::GH,
            crate::helpers::now()
        );
        let sent = app.post_encrypted(&follow, &format!("n{task}x{i}"), &crate::helpers::now().to_string()).await;
        assert_eq!(sent.status, 200, "{}", sent.body);
        done.push((op(0), std::time::Instant::now()));
        let at = 10_000 + i64::from(i);
        app.db.bind(&openid, &op(1).card(), at).await.unwrap();
        done.push((op(1), std::time::Instant::now()));
        let body = serde_json::json!({"touser": openid, "msgtype": "text", "text": {"content": format!("第 {i} 条")}});
        assert!(app.db.enqueue_outbox(&openid, &body, &op(2).outbox_key(), at).await.unwrap());
        done.push((op(2), std::time::Instant::now()));
        let draft = wxlib::broadcasts::Draft { title: op(3).title(), body_html: format!("<p>第 {i} 期</p>"), ..Default::default() };
        let cover = wxlib::broadcasts::Image { content_type: "image/png".into(), bytes: op(3).cover() };
        app.db.create_broadcast(&draft, Some(&cover), "admin", at).await.unwrap();
        done.push((op(3), std::time::Instant::now()));
        i += 1;
    }
    done
}

/// Runs the real `wxlib` binary with a configuration of its own; stdout and stderr.
async fn wxlib_command(config: &Path, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wxlib"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("WXLIB_STORAGE__URL")
        .env_remove("WXLIB_SERVER__DATA_DIR")
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A configuration file in `dir` for the binary: the store at `url` (empty: SQLite in the data
/// directory `dir/data`).
fn config_file(dir: &Path, url: &str) -> PathBuf {
    let file = dir.join("wxlib.toml");
    let text = format!(
        "[wechat]\ntoken = \"{}\"\napp_id = \"{}\"\nencoding_aes_key = \"{}\"\n[storage]\nurl = \"{url}\"\n[server]\ndata_dir = \"{}\"\n",
        crate::helpers::TOKEN,
        crate::helpers::APP_ID,
        crate::helpers::AES_KEY,
        dir.join("data").display()
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// Issue 18 item 5's "a backup taken under load restores on a fresh data dir with every
/// follower, binding, outbox entry and broadcast present": four writers follow (through the
/// server's callback), bind, queue outbox entries and compose news messages while the real
/// `wxlib backup` runs; `wxlib restore` brings it back into a fresh store (SQLite: a new data
/// directory). Everything committed before the backup began is there; what each writer wrote
/// is there up to a point and nothing after it (one moment, nothing half-written: every cover
/// whole, every payload its reader's); and restore rebuilt the search index of every record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_everything_it_began_with() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    for (backend, source) in all_dbs().await {
        let api = crate::helpers::fake_api().await;
        let url = source.url.clone();
        let app = Arc::new(crate::helpers::spawn_app_on(source, &api.base, wxlib::conversation::router()).await);
        let marc = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/marc/lc-books2016-en-4000.mrc")).unwrap();
        let (auto, charset) = (wxlib::catalog::import::InputFormat::Auto, wxlib::catalog::import::InputCharset::Auto);
        wxlib::catalog::import::import_bytes(&app.db, "lc-books2016-en-4000.mrc", &marc, auto, charset, 1_300, &|_| {}).await.unwrap();
        let records = app.db.count_records().await.unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..4u8).map(|task| tokio::spawn(keep_writing(app.clone(), task, stop.clone()))).collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let work = tempfile::tempdir().unwrap();
        let out = work.path().join("under-load");
        let began = Instant::now();
        let (ok, printed) = wxlib_command(&config_file(work.path(), &url), &["backup", out.to_str().unwrap()]).await;
        let ended = Instant::now();
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.store(true, Ordering::Relaxed);
        let mut done = Vec::new();
        for w in writers {
            done.extend(w.await.unwrap());
        }
        assert!(ok, "{backend}: {printed}");
        let during = done.iter().filter(|(_, at)| (began..ended).contains(at)).count();
        assert!(during > 0, "{backend}: no write was committed while the backup ran ({:?})", ended - began);
        let manifest = wxlib::backup::read_manifest(&out).unwrap();

        // A fresh machine: a new data directory (and, for PostgreSQL, a new database).
        let fresh = tempfile::tempdir().unwrap();
        let target = if backend == "postgres" { Some(pg_db(&pg_server().unwrap()).await) } else { None };
        let target_url = target.as_ref().map_or(String::new(), |t| t.url.clone());
        let config = config_file(fresh.path(), &target_url);
        let (ok, printed) = wxlib_command(&config, &["restore", out.to_str().unwrap()]).await;
        assert!(ok, "{backend}: {printed}");
        assert!(printed.contains(&format!("search index: {records} change(s) applied")), "{backend}: {printed}");
        let index = search::CatalogIndex::create_or_open(&fresh.path().join("data/index")).unwrap();
        assert_eq!(index.doc_count(), records as u64, "{backend}: restore rebuilt the search index");
        drop(index);

        let restored_url =
            if target_url.is_empty() { format!("sqlite://{}", fresh.path().join("data/wxlib.db").display()) } else { target_url };
        let db = Db::connect(&restored_url).await.unwrap();
        assert_eq!(db.count_records().await.unwrap(), records, "{backend}");
        let bindings: std::collections::HashMap<String, String> = db.all_bindings().await.unwrap().into_iter().collect();
        let outbox: std::collections::HashMap<String, String> =
            db.outbox_rows().await.unwrap().into_iter().map(|r| (r.dedupe_key.clone(), r.payload.clone())).collect();
        let broadcasts: std::collections::HashMap<String, i64> =
            db.list_broadcasts().await.unwrap().into_iter().map(|b| (b.broadcast.title.clone(), b.broadcast.id)).collect();
        let mut present = std::collections::BTreeMap::new();
        for &(op, _) in &done {
            let here = match op.step {
                0 => {
                    db.follower(&op.openid()).await.unwrap().is_some_and(|f| f.subscribed == 1 && f.first_scene.as_deref() == Some("load"))
                }
                1 => bindings.get(&op.openid()) == Some(&op.card()),
                2 => outbox.get(&op.outbox_key()).is_some_and(|payload| {
                    let v: serde_json::Value = serde_json::from_str(payload).unwrap();
                    v["touser"] == op.openid().as_str() && v["text"]["content"] == format!("第 {} 条", op.i).as_str()
                }),
                _ => match broadcasts.get(&op.title()) {
                    Some(&id) => {
                        let cover = db.broadcast_cover(id).await.unwrap();
                        assert_eq!(cover.map(|c| c.bytes), Some(op.cover()), "{backend}: {op:?}'s cover is whole");
                        true
                    }
                    None => false,
                },
            };
            present.insert(op, here);
        }
        for (op, at) in &done {
            if *at < began {
                assert!(present[op], "{backend}: {op:?} was committed before the backup began and is not in it");
            }
        }
        // Each writer's writes are in the backup up to one point, and none after it.
        for task in 0..4u8 {
            let mine: Vec<bool> = present.iter().filter(|(op, _)| op.task == task).map(|(_, &here)| here).collect();
            let kept = mine.iter().take_while(|&&here| here).count();
            assert!(mine[kept..].iter().all(|&here| !here), "{backend}: writer {task} has a gap: {mine:?}");
        }
        let kept = |step| present.iter().filter(|(op, here)| op.step == step && **here).count() as i64;
        assert_eq!(db.count_followers().await.unwrap(), kept(0), "{backend}");
        assert_eq!(
            (manifest.rows("bindings"), manifest.rows("outbox"), manifest.rows("broadcasts")),
            (kept(1), kept(2), kept(3)),
            "{backend}"
        );
        eprintln!(
            "{backend}: backup took {:?} with {during} writes committed meanwhile; {} of {} writes in it",
            ended - began,
            present.values().filter(|&&h| h).count(),
            present.len()
        );
        close(db).await;
    }
}
