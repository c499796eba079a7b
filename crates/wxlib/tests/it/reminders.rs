use wxlib::catalog::store::RecordRow;
use wxlib::circulation::builtin::BuiltinIls;
use wxlib::circulation::{LibrarySystem, reminders};
use wxlib::clock::local_day;
use wxlib::startup::Application;

use crate::helpers::*;

const DAY: i64 = 86_400;

/// Catalog records `ids`, titled "Book <id>", with no MARC and no copies.
fn books(ids: &[&str]) -> Vec<RecordRow> {
    ids.iter()
        .map(|id| RecordRow {
            id: id.to_string(),
            marc: vec![],
            title: format!("Book {id}"),
            author: None,
            year: None,
            call_number: None,
            items: vec![],
        })
        .collect()
}

#[tokio::test]
async fn one_digest_per_reader_per_day_across_a_restart() {
    let api = fake_api().await;
    let test_db = sqlite_db().await;
    let url = test_db.url.clone();
    let app = spawn_app_on(test_db, &api.base, wxlib::conversation::router()).await;
    let s = app.services.clone();
    let now = s.clock.now();

    // A reader with two loans: one due in 2 days, one in 20; bound to an openid.
    s.db.upsert_records(&books(&["r1", "r2"]), now).await.unwrap();
    let ils = BuiltinIls { db: s.db.clone(), clock: s.clock.clone(), rules: s.config.circulation.clone() };
    ils.add_reader("c1", "Reader One", "pw").await.unwrap();
    wxlib::circulation::load::items(&ils, "barcode,record_id\nI1,r1\nI2,r2\n").await.unwrap();
    ils.checkout("c1", "I1", now - 28 * DAY, Some(now + 2 * DAY)).await.unwrap();
    ils.checkout("c1", "I2", now, Some(now + 20 * DAY)).await.unwrap();
    s.db.bind("oRemind", "c1", now).await.unwrap();

    // The job is registered for the next 09:00; nothing runs before.
    s.db.ensure_job(reminders::JOB, wxlib::clock::next_daily(now, 9)).await.unwrap();
    assert_eq!(reminders::tick(&s).await.unwrap(), None);
    s.clock.advance(wxlib::clock::next_daily(now, 9) - now + 60);
    let first = reminders::tick(&s).await.unwrap().expect("due now");
    assert_eq!((first.digests, first.loans), (1, 1), "only the loan due within 3 days");
    assert_eq!(reminders::tick(&s).await.unwrap(), None, "not due again today");
    assert_eq!(reminders::run(&s).await.unwrap().digests, 0, "a manual run the same day sends nothing");

    // A restart: a new application on the same database, with the same (fake) time.
    let config = test_config(&url, &api.base);
    let restarted = Application::build(config).await.unwrap();
    let s2 = restarted.services().clone();
    s2.clock.advance(s.clock.now() - s2.clock.now());
    assert_eq!(reminders::tick(&s2).await.unwrap(), None);
    assert_eq!(reminders::run(&s2).await.unwrap().digests, 0);

    let sends = sent(&s, &api).await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0]["touser"], "oRemind");
    assert_eq!(sends[0]["template_id"], "due_reminder");
    assert!(sends[0]["data"]["thing1"]["value"].as_str().unwrap().contains("Book r1"));
    assert_eq!(sends[0]["data"]["time2"]["value"], local_day(now + 2 * DAY));

    // Next day: the same loan and due date is not reminded again…
    s.clock.advance(DAY);
    assert!(reminders::tick(&s).await.unwrap().is_some());
    assert_eq!(sent(&s, &api).await.len(), 1);
    // …but after a renewal moves the due date, the new date is reminded once it is near.
    let renewed = ils.renew("c1", "I1").await.unwrap();
    assert!(renewed.ok);
    s.clock.advance(renewed.due_at.unwrap() - s.clock.now() - 2 * DAY);
    assert_eq!(reminders::run(&s).await.unwrap().digests, 1);
    assert_eq!(sent(&s, &api).await.len(), 2);
    assert_eq!(s.db.reminder_digest_count("oRemind").await.unwrap(), 2);
}

/// The template messages sent once the outbox has delivered every digest queued so far.
async fn sent(s: &wxlib::services::Services, api: &FakeApi) -> Vec<serde_json::Value> {
    let mut delivered = false;
    for _ in 0..100 {
        let rows = s.db.outbox_rows().await.unwrap();
        if rows.iter().all(|r| r.status != "pending") {
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(delivered, "the outbox did not deliver the digests");
    api.calls("template/send")
}

/// A node that dies between queuing a digest and sending it loses nothing: the digest was queued
/// with the marks of what it reminds (one transaction), and the next run neither queues it again
/// nor reminds the loans twice. The outbox (here: the next node's) sends it once.
#[tokio::test]
async fn a_digest_queued_by_a_node_that_died_is_sent_once() {
    for (backend, test_db) in all_dbs().await {
        let api = fake_api().await;
        let url = test_db.url.clone();
        // A node built and never run has no outbox worker: its digests stay queued, as when a
        // node dies after queuing them.
        let quiet = Application::build(test_config(&url, &api.base)).await.unwrap();
        let s = quiet.services().clone();
        let now = s.clock.now();
        s.db.upsert_records(&books(&["r1", "r2", "r3"]), now).await.unwrap();
        let ils = BuiltinIls { db: s.db.clone(), clock: s.clock.clone(), rules: s.config.circulation.clone() };
        for (i, reader) in ["c1", "c2", "c3"].iter().enumerate() {
            ils.add_reader(reader, "Reader", "pw").await.unwrap();
            wxlib::circulation::load::items(&ils, &format!("barcode,record_id\nI{i},r{}\n", i + 1)).await.unwrap();
            ils.checkout(reader, &format!("I{i}"), now - 28 * DAY, Some(now + DAY)).await.unwrap();
            s.db.bind(&format!("oDied{i}"), reader, now).await.unwrap();
        }
        let first = reminders::run(&s).await.unwrap();
        assert_eq!(first.digests, 3, "{backend}");
        assert!(api.calls("template/send").is_empty(), "{backend}: queued, not sent by the node that died");
        // The next node runs the job again (its claim ran out), and its outbox sends what is queued.
        let app = spawn_app_on(test_db, &api.base, wxlib::conversation::router()).await;
        app.services.clock.advance(s.clock.now() - app.services.clock.now());
        assert_eq!(reminders::run(&app.services).await.unwrap().digests, 0, "{backend}: nothing queued twice");
        let sends = sent(&app.services, &api).await;
        let mut to: Vec<_> = sends.iter().map(|m| m["touser"].as_str().unwrap().to_owned()).collect();
        to.sort();
        assert_eq!(to, ["oDied0", "oDied1", "oDied2"], "{backend}: each reader once");
    }
}
