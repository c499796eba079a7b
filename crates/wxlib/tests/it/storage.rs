use serde_json::json;
use wechat::Reply;
use wxlib::db::Db;
use wxlib::wechat::followers::{LoggedEvent, WINDOW_REFRESH_SLACK_SECS, WindowState};
use wxlib::wechat::journal::sqlite::{Checkpointer, SqliteJournal};
use wxlib::wechat::journal::{Begin, Claim, Finish, FollowChange, Journal, Record, StoredReply};

use crate::helpers::{all_dbs, sqlite_db};

/// The whole front-door story against one backend. Every assertion here must hold on both.
async fn story(db: &Db) {
    // Followers: follow through a poster, unfollow, come back without a scene.
    db.record_subscribe("oA", Some("entrance"), 100).await.unwrap();
    db.record_subscribe("oB", None, 101).await.unwrap();
    assert_eq!(db.count_followers().await.unwrap(), 2);
    db.record_unsubscribe("oA", 200).await.unwrap();
    db.record_unsubscribe("oA", 201).await.unwrap(); // WeChat may repeat it
    assert_eq!(db.count_followers().await.unwrap(), 1);
    db.record_subscribe("oA", None, 300).await.unwrap();
    let a = db.follower("oA").await.unwrap().unwrap();
    assert_eq!((a.subscribed, a.first_subscribed_at, a.subscribed_at, a.unsubscribed_at), (1, Some(100), Some(300), None));
    assert_eq!(a.first_scene.as_deref(), Some("entrance"), "attribution keeps the first scene");
    db.record_subscribe("oA", Some("library-door"), 400).await.unwrap();
    let a = db.follower("oA").await.unwrap().unwrap();
    assert_eq!((a.first_scene.as_deref(), a.last_scene.as_deref()), (Some("entrance"), Some("library-door")));
    assert!(db.follower("nobody").await.unwrap().is_none());

    // Event log.
    for (t, ev, key) in
        [("event", Some("subscribe"), Some("qrscene_entrance")), ("text", None, None), ("event", Some("CLICK"), Some("SEARCH_TITLE"))]
    {
        db.log_event(&LoggedEvent { openid: "oA", msg_type: t, event: ev, event_key: key, created_at: 1 }, 2).await.unwrap();
    }
    let events = db.events_of("oA").await.unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2], ("event".into(), Some("CLICK".into()), Some("SEARCH_TITLE".into())));

    // Customer-service window: a message gives 5 sends in 48 h; a click does not shrink it.
    assert_eq!(db.window_state("oB", 1000).await.unwrap(), WindowState::Closed);
    db.open_window("oB", 1000, 48 * 3600, 5).await.unwrap();
    db.open_window("oB", 1001, 60, 3).await.unwrap();
    assert_eq!(db.window_state("oB", 1002).await.unwrap(), WindowState::Open { remaining: 5, expires_at: 1000 + 48 * 3600 });
    for _ in 0..5 {
        db.count_window_send("oB").await.unwrap();
    }
    assert_eq!(db.window_state("oB", 1003).await.unwrap(), WindowState::Exhausted);
    assert_eq!(db.window_state("oB", 1000 + 48 * 3600 + 1).await.unwrap(), WindowState::Closed);
    db.open_window("oB", 2000, 48 * 3600, 5).await.unwrap();
    assert!(matches!(db.window_state("oB", 2001).await.unwrap(), WindowState::Open { remaining: 5, .. }), "a new message resets the count");
    db.record_unsubscribe("oB", 2002).await.unwrap();
    assert_eq!(db.window_state("oB", 2003).await.unwrap(), WindowState::Closed);

    // Outbox: a key is queued once.
    let body = json!({"touser": "oA", "msgtype": "text", "text": {"content": "到期提醒"}});
    assert!(db.enqueue_outbox("oA", &body, "late:1", 5).await.unwrap());
    assert!(!db.enqueue_outbox("oA", &body, "late:1", 6).await.unwrap());
    let rows = db.outbox_rows().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "pending");

    // Leases: one holder at a time, renewable by the holder, free after expiry or release.
    assert!(db.try_lease("token", "node1", 30, 100).await.unwrap());
    assert!(!db.try_lease("token", "node2", 30, 110).await.unwrap());
    assert!(db.try_lease("token", "node1", 30, 110).await.unwrap());
    assert!(db.try_lease("token", "node2", 30, 141).await.unwrap());
    db.release_lease("token", "node2").await.unwrap();
    assert!(db.try_lease("token", "node3", 30, 142).await.unwrap());
}

/// The callback journal's writer under test: through the pool (PostgreSQL, in-memory SQLite), or
/// SQLite's own connection on a thread (what `wxlib serve` uses for SQLite on disk).
enum JournalWriter {
    Pool(Db),
    Own(std::sync::Mutex<SqliteJournal>),
}

impl JournalWriter {
    async fn batch(&self, begins: &[Begin], finishes: &[Finish]) -> Vec<Claim> {
        match self {
            JournalWriter::Pool(db) => db.journal_batch(begins, finishes).await.unwrap(),
            JournalWriter::Own(w) => w.lock().unwrap().batch(begins, finishes).unwrap(),
        }
    }

    async fn claim(&self, key: &str, now: i64, lease_secs: i64) -> Claim {
        self.batch(&[Begin { key: key.into(), now, lease_secs, record: None }], &[]).await.pop().unwrap()
    }

    async fn finish(&self, key: &str, state: &'static str, reply: &Reply, now: i64) {
        self.batch(&[], &[Finish { key: key.into(), state, reply: StoredReply::own(reply), now }]).await;
    }
}

/// The journal's rules, on one writer. Every assertion here must hold on every writer.
async fn journal_story(db: &Db, j: &JournalWriter) {
    // Dedupe: one owner; others wait, then get the same reply; a dead owner is taken over.
    assert_eq!(j.claim("k1", 10, 8).await, Claim::Owner);
    assert_eq!(j.claim("k1", 11, 8).await, Claim::Running);
    j.finish("k1", "done", &Reply::text("馆藏 3 册"), 11).await;
    assert_eq!(j.claim("k1", 12, 8).await, Claim::Done(Reply::text("馆藏 3 册")));
    assert_eq!(j.claim("k2", 10, 8).await, Claim::Owner);
    assert_eq!(j.claim("k2", 19, 8).await, Claim::Owner, "lease expired: taken over");
    assert_eq!(j.claim("k2", 20, 8).await, Claim::Running);
    j.finish("k2", "deferred", &Reply::Success, 20).await;
    assert_eq!(j.claim("k2", 21, 8).await, Claim::Done(Reply::Success));
    assert_eq!(db.purge_callbacks(11).await.unwrap(), 2);

    // A batch: claims and records together; a key twice in one batch has one owner; a record is
    // logged only for its owner; windows and follows are applied.
    let rec = |openid: &str, t: &str, follow: FollowChange, window| Record {
        openid: openid.into(),
        msg_type: t.into(),
        event: None,
        event_key: None,
        created_at: 50,
        follow,
        window,
    };
    let begins = vec![
        Begin { key: "b1".into(), now: 50, lease_secs: 8, record: Some(rec("oC", "text", FollowChange::Unchanged, Some((48 * 3600, 5)))) },
        Begin { key: "b1".into(), now: 50, lease_secs: 8, record: Some(rec("oC", "text", FollowChange::Unchanged, Some((48 * 3600, 5)))) },
        Begin {
            key: "b2".into(),
            now: 50,
            lease_secs: 8,
            record: Some(rec("oD", "event", FollowChange::Subscribe { scene: Some("bbs".into()) }, Some((60, 3)))),
        },
        Begin { key: "k1".into(), now: 50, lease_secs: 8, record: Some(rec("oC", "text", FollowChange::Unchanged, None)) },
    ];
    let finishes = vec![Finish { key: "k2".into(), state: "done", reply: StoredReply::own(&Reply::text("late")), now: 50 }];
    let claims = j.batch(&begins, &finishes).await;
    assert_eq!(claims[0], Claim::Owner);
    assert_eq!(claims[1], Claim::Running);
    assert_eq!(claims[2], Claim::Owner);
    assert!(matches!(claims[3], Claim::Owner), "k1 was purged above, so it is new again");
    assert_eq!(db.events_of("oC").await.unwrap().len(), 2, "b1 once, k1 once");
    assert_eq!(db.follower("oD").await.unwrap().unwrap().first_scene.as_deref(), Some("bbs"));
    assert!(matches!(db.window_state("oC", 60).await.unwrap(), WindowState::Open { remaining: 5, .. }));

    // Message windows are refreshed lazily: a message that would gain at most
    // WINDOW_REFRESH_SLACK_SECS of an unused window leaves the row alone; one after a send, or
    // one that gains more, refreshes it (and resets the count).
    let text_from_c = |key: &str, now: i64| Begin {
        key: key.into(),
        now,
        lease_secs: 8,
        record: Some(rec("oC", "text", FollowChange::Unchanged, Some((48 * 3600, 5)))),
    };
    let h48 = 48 * 3600;
    assert_eq!(j.batch(&[text_from_c("w1", 50 + WINDOW_REFRESH_SLACK_SECS)], &[]).await, vec![Claim::Owner]);
    assert_eq!(
        db.window_state("oC", 200).await.unwrap(),
        WindowState::Open { remaining: 5, expires_at: 50 + h48 },
        "within the slack: not rewritten"
    );
    db.count_window_send("oC").await.unwrap();
    j.batch(&[text_from_c("w2", 180)], &[]).await;
    assert_eq!(
        db.window_state("oC", 200).await.unwrap(),
        WindowState::Open { remaining: 5, expires_at: 180 + h48 },
        "a send was counted: refreshed"
    );
    j.batch(&[text_from_c("w3", 180 + WINDOW_REFRESH_SLACK_SECS + 1)], &[]).await;
    assert_eq!(
        db.window_state("oC", 400).await.unwrap(),
        WindowState::Open { remaining: 5, expires_at: 301 + h48 },
        "gains more than the slack: refreshed"
    );
    // Event windows (a minute) are exact.
    let click_from_e = |key: &str, now: i64| Begin {
        key: key.into(),
        now,
        lease_secs: 8,
        record: Some(rec("oE", "event", FollowChange::Unchanged, Some((60, 3)))),
    };
    j.batch(&[click_from_e("e1", 1000)], &[]).await;
    j.batch(&[click_from_e("e2", 1030)], &[]).await;
    assert_eq!(db.window_state("oE", 1080).await.unwrap(), WindowState::Open { remaining: 3, expires_at: 1090 });

    // An answer given again and again is kept once however many callbacks it answered; one given
    // once stays in its callback's row. Every retry gets its own callback's answer, in one batch
    // or several.
    let help = Reply::text("您可以：发送书名、作者或关键词检索馆藏");
    let stored_before = db.count_stored_replies().await.unwrap();
    let begins: Vec<Begin> = (0..6).map(|i| Begin { key: format!("s{i}"), now: 2000, lease_secs: 8, record: None }).collect();
    assert!(j.batch(&begins, &[]).await.iter().all(|c| *c == Claim::Owner));
    let finishes: Vec<Finish> = (0..6)
        .map(|i| Finish {
            key: format!("s{i}"),
            state: "done",
            reply: if i == 4 { StoredReply::own(&Reply::text("您当前借阅 2 册")) } else { StoredReply::shared(&help) },
            now: 2001,
        })
        .collect();
    j.batch(&[], &finishes[..3]).await;
    j.batch(&[], &finishes[3..]).await;
    for (i, f) in finishes.iter().enumerate() {
        let expected = if i == 4 { Reply::text("您当前借阅 2 册") } else { help.clone() };
        assert_eq!(j.claim(&format!("s{i}"), 2002, 8).await, Claim::Done(expected), "s{i}: {:?}", f.key);
    }
    assert_eq!(db.count_stored_replies().await.unwrap(), stored_before + 1, "help once; the loans in s4's own row");
    // The purge keeps what a remaining callback names and drops the rest. An answer's used_at is
    // refreshed at most once a minute (REPLY_USE_SLACK_SECS), and the purge allows for that.
    j.batch(&[Begin { key: "s6".into(), now: 2100, lease_secs: 8, record: None }], &[]).await;
    j.batch(&[], &[Finish { key: "s6".into(), state: "done", reply: StoredReply::shared(&help), now: 2100 }]).await;
    db.purge_callbacks(2070).await.unwrap();
    assert_eq!(j.claim("s6", 2101, 8).await, Claim::Done(help.clone()), "s6 took help at 2100, which kept it");
    assert_eq!(db.count_stored_replies().await.unwrap(), 1, "help stays");
    assert_eq!(j.claim("s4", 2101, 8).await, Claim::Owner, "s4 and its answer are gone");
    db.purge_callbacks(2200).await.unwrap();
    assert_eq!(db.count_stored_replies().await.unwrap(), 0, "no callback names an answer any more");
}

#[tokio::test]
async fn storage_conformance_on_every_backend() {
    for (name, test_db) in all_dbs().await {
        let db = Db::connect(&test_db.url).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        story(&db).await;
        journal_story(&db, &JournalWriter::Pool(db.clone())).await;
        // Migrations are idempotent: connecting again applies nothing and keeps the data.
        let again = Db::connect(&test_db.url).await.unwrap();
        assert_eq!(again.count_followers().await.unwrap(), 4, "{name}: oA, oC, oD, oE");
        eprintln!("storage conformance passed on {name}");
    }
    // SQLite on disk: the journal's own connection keeps the same rules.
    let test_db = sqlite_db().await;
    let db = Db::connect(&test_db.url).await.unwrap();
    let own = SqliteJournal::open(&db.sqlite_file().expect("a file")).unwrap();
    journal_story(&db, &JournalWriter::Own(std::sync::Mutex::new(own))).await;
    eprintln!("journal conformance passed on SQLite's own connection");
}

/// Several requests (and several writers, as several processes would have) claim the same
/// callback at once: exactly one owns it.
#[tokio::test]
async fn concurrent_claims_have_exactly_one_owner() {
    for (name, test_db) in all_dbs().await {
        let db = Db::connect(&test_db.url).await.unwrap();
        // Two writers on one store: the default one (SQLite: its own thread) and one on the pool.
        let journals = [Journal::start(db.clone()), Journal::start_on_pool(db.clone())];
        let mut tasks = Vec::new();
        for i in 0..16 {
            let journal = journals[i % 2].clone();
            let begin = Begin { key: "same".into(), now: 10, lease_secs: 8, record: None };
            tasks.push(tokio::spawn(async move { journal.begin(begin).await.unwrap() }));
        }
        let mut owners = 0;
        for t in tasks {
            if t.await.unwrap() == Claim::Owner {
                owners += 1;
            }
        }
        assert_eq!(owners, 1, "{name}");
    }
}

/// SQLite's group commit (a writer thread; finishes are not waited for): under many concurrent
/// callbacks every claim is answered, and every finish is stored, so a retry of any of them gets
/// its reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_group_commit_answers_every_callback() {
    let test_db = sqlite_db().await;
    let db = Db::connect(&test_db.url).await.unwrap();
    let journal = Journal::start(db.clone());
    let record = |i: usize| Record {
        openid: format!("oReader{}", i % 7),
        msg_type: "text".into(),
        event: None,
        event_key: None,
        created_at: 10,
        follow: FollowChange::Unchanged,
        window: Some((48 * 3600, 5)),
    };
    let mut tasks = Vec::new();
    for i in 0..400 {
        let (journal, record) = (journal.clone(), record(i));
        tasks.push(tokio::spawn(async move {
            let begin = Begin { key: format!("m{i}"), now: 10, lease_secs: 8, record: Some(record) };
            assert_eq!(journal.begin(begin).await.unwrap(), Claim::Owner);
            tokio::task::yield_now().await;
            journal
                .finish(Finish {
                    key: format!("m{i}"), state: "done", reply: StoredReply::own(&Reply::text(format!("答复 {i}"))), now: 10
                })
                .await
                .unwrap();
        }));
    }
    let all = futures::future::join_all(tasks);
    for t in tokio::time::timeout(std::time::Duration::from_secs(30), all).await.expect("a claim was stranded") {
        t.unwrap();
    }
    journal.flush().await;
    for i in (0..400).step_by(37) {
        let retry = Begin { key: format!("m{i}"), now: 11, lease_secs: 8, record: Some(record(i)) };
        assert_eq!(journal.begin(retry).await.unwrap(), Claim::Done(Reply::text(format!("答复 {i}"))));
    }
    let mut logged = 0;
    for r in 0..7 {
        logged += db.events_of(&format!("oReader{r}")).await.unwrap().len();
    }
    assert_eq!(logged, 400, "each callback logged once, retries not at all");
}

/// The journal shares an answer from the second time it is given; the first stays in its row.
#[tokio::test]
async fn an_answer_is_shared_once_it_is_given_again() {
    let test_db = sqlite_db().await;
    let db = Db::connect(&test_db.url).await.unwrap();
    let journal = Journal::start(db.clone());
    let help = Reply::text("您可以：发送书名、作者或关键词检索馆藏");
    let first = journal.stored(&help);
    assert_eq!(first.digest, None, "given once: kept in the callback's row");
    let again = journal.stored(&help);
    assert!(again.digest.is_some(), "given again: shared");
    assert_eq!(again, StoredReply::shared(&help));
    assert_eq!(journal.stored(&Reply::text("没有找到题名包含“三体”的图书")).digest, None);
    assert_eq!(journal.stored(&help), again, "still shared");
}

/// Under callbacks that never pause, the WAL is still started over now and then (the
/// checkpointer's RESTART round), instead of growing by the whole stream of callbacks. The WAL
/// header's checkpoint sequence number (bytes 12..16) counts the restarts. (In a release build at
/// bench rates a PASSIVE checkpoint alone never found a moment without a commit, BENCHMARKS.md run
/// G; a debug build commits slowly enough that it sometimes does, so this shows the property.)
#[tokio::test]
async fn the_wal_starts_over_under_sustained_callbacks() {
    let test_db = sqlite_db().await;
    let db = Db::connect(&test_db.url).await.unwrap();
    let path = db.sqlite_file().expect("a file");
    let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
    let writer_path = path.clone();
    let (restarts, commits) = tokio::task::spawn_blocking(move || {
        let restarts =
            || std::fs::read(&wal).ok().and_then(|b| b.get(12..16).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))).unwrap_or(0);
        let mut writer = SqliteJournal::open(&writer_path).unwrap();
        let _checkpointer = Checkpointer::start(writer_path.clone()).unwrap();
        let before = restarts();
        let started = std::time::Instant::now();
        let mut commits = 0u64;
        // One commit right after another, for up to 20 s, until the WAL has started over twice.
        while started.elapsed() < std::time::Duration::from_secs(20) && restarts() < before + 2 {
            let begins: Vec<Begin> = (0..8)
                .map(|n| Begin {
                    key: format!("msg:{:020}:oSteady", commits * 8 + n),
                    now: 10,
                    lease_secs: 8,
                    record: Some(Record {
                        openid: "oSteady".into(),
                        msg_type: "text".into(),
                        event: None,
                        event_key: None,
                        created_at: 10,
                        follow: FollowChange::Unchanged,
                        window: Some((48 * 3600, 5)),
                    }),
                })
                .collect();
            let finishes: Vec<Finish> = begins
                .iter()
                .map(|b| Finish {
                    key: b.key.clone(),
                    state: "done",
                    reply: StoredReply::shared(&Reply::text("您可以：发送书名、作者或关键词检索馆藏")),
                    now: 10,
                })
                .collect();
            assert!(writer.batch(&begins, &finishes).unwrap().iter().all(|c| *c == Claim::Owner));
            commits += 1;
        }
        (restarts() - before, commits)
    })
    .await
    .unwrap();
    assert!(restarts >= 2, "the WAL started over {restarts} times in {commits} back-to-back commits");
}

/// Handlers' own writes handed to the journal (the search dialog and the search log) are stored
/// before `write` returns, on every backend and writer; a group that fails is rolled back alone
/// and says why, and the callbacks it rode with are not harmed.
#[tokio::test]
async fn handlers_writes_ride_the_journal_on_every_backend() {
    use wxlib::catalog::store::search_log_write;
    use wxlib::catalog::store::{Dialog, dialog_write};
    use wxlib::db::writes::Write;
    for (name, test_db) in all_dbs().await {
        let db = Db::connect(&test_db.url).await.unwrap();
        // The default writer (SQLite on disk: its own thread) and the pool's.
        for (i, journal) in [Journal::start(db.clone()), Journal::start_on_pool(db.clone())].into_iter().enumerate() {
            let first = Dialog {
                mode: Some("title".into()),
                query: Some("三体".into()),
                page: 1,
                hits: vec!["r1".into(), "r2".into()],
                record_id: None,
            };
            journal.write(vec![search_log_write(Some("oW"), "title", "三体", 2, 100), dialog_write("oW", &first, 1000)]).await.unwrap();
            assert_eq!(db.dialog("oW", 500).await.unwrap(), first, "{name}: read back at once");
            // An upsert that names a parameter twice ($2 … mode = $2) binds it by its number.
            let second = Dialog { record_id: Some("r2".into()), page: 2, ..first.clone() };
            journal.write(vec![dialog_write("oW", &second, 2000)]).await.unwrap();
            assert_eq!(db.dialog("oW", 1500).await.unwrap(), second, "{name}");

            // A failing group beside a callback's claim: the claim stands, the group is undone.
            let bad = vec![
                search_log_write(Some("oW"), "any", "不该留下", 0, 101),
                Write::new("INSERT INTO no_such_table (x) VALUES ($1)", vec![1.into()]),
            ];
            let key = format!("w-{name}-{i}");
            let (claim, failed) = tokio::join!(journal.begin(Begin { key, now: 10, lease_secs: 8, record: None }), journal.write(bad));
            assert_eq!(claim.unwrap(), Claim::Owner, "{name}");
            assert!(failed.unwrap_err().to_string().contains("no_such_table"), "{name}: the error names the cause");
            let searches = db.reader_context("oW", 0).await.unwrap().searches;
            assert!(searches.iter().all(|s| s.1 != "不该留下"), "{name}: rolled back: {searches:?}");
            assert!(searches.iter().any(|s| s.1 == "三体"), "{name}");
        }
    }
}
