use wxlib::db::{Db, DbError, WXLIB_VERSION, schema_version};

use crate::helpers::all_dbs;

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
