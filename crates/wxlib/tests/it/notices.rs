use std::time::Duration;

use wxlib::catalog::store::RecordRow;
use wxlib::circulation::builtin::BuiltinIls;
use wxlib::circulation::{LibrarySystem, Pace, notices, shelf_watch};
use wxlib::startup::Application;

use crate::helpers::*;

const DAY: i64 = 86_400;

fn record(id: &str, title: &str) -> RecordRow {
    RecordRow { id: id.into(), marc: vec![], title: title.into(), author: None, year: None, call_number: None, items: vec![] }
}

/// The queued notices (dedupe keys starting with `notice:`) and their texts.
async fn notices_queued(db: &wxlib::db::Db) -> Vec<(String, String, String)> {
    db.outbox_rows()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.dedupe_key.starts_with("notice:"))
        .map(|r| {
            let v: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
            (r.openid, r.dedupe_key, v["text"]["content"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// The built-in library system's own events — a hold placed on a loaned title, a returned copy
/// that satisfies a hold, a copy back on the shelf for a 到书提醒 — each reach the reader once,
/// across a restart, on SQLite and PostgreSQL.
#[tokio::test]
async fn builtin_notices_arrive_once_across_a_restart() {
    for (backend, test_db) in all_dbs().await {
        let api = fake_api().await;
        let url = test_db.url.clone();
        let app = spawn_app_on(test_db, &api.base, wxlib::conversation::router()).await;
        let s = app.services.clone();
        let now = s.clock.now();
        s.db.upsert_records(&[record("r1", "明代政治制度"), record("r2", "Albert Einstein")], now).await.unwrap();
        let ils = BuiltinIls { db: s.db.clone(), clock: s.clock.clone(), rules: s.config.circulation.clone() };
        ils.add_reader("c1001", "Reader One", "pw").await.unwrap();
        ils.add_reader("c2002", "Reader Two", "pw").await.unwrap();
        wxlib::circulation::load::items(&ils, "barcode,record_id\nI1,r1\nI2,r1\nJ1,r2\n").await.unwrap();
        ils.checkout("c1001", "I1", now, Some(now + 10 * DAY)).await.unwrap();
        ils.checkout("c1001", "I2", now, Some(now + 12 * DAY)).await.unwrap();
        ils.checkout("c1001", "J1", now, Some(now + 14 * DAY)).await.unwrap();
        s.db.bind("oOne", "c1001", now).await.unwrap();
        s.db.bind("oTwo", "c2002", now).await.unwrap();
        let pace = Pace::per_sec(100);

        // A reader (bound or not) asks to be told when r2 is back; r1 has no copy on the shelf.
        assert!(matches!(shelf_watch::request(&s, "oWatch", "r2").await.unwrap(), shelf_watch::Requested::Noted { .. }));
        assert!(matches!(shelf_watch::request(&s, "oWatch", "r2").await.unwrap(), shelf_watch::Requested::AlreadyWaiting { .. }));
        let quiet = notices::round(&s, &pace).await.unwrap();
        assert_eq!((quiet.hold_ready, quiet.reserved, quiet.available, quiet.watches), (0, 0, 0, 1), "{backend}");

        // Reader two holds r1, both of whose copies reader one has: neither can be renewed now.
        ils.place_hold("c2002", "r1", Some("总馆")).await.unwrap();
        let r = notices::round(&s, &pace).await.unwrap();
        assert_eq!(r.reserved, 2, "{backend}: {r:?}");
        assert_eq!(notices::round(&s, &pace).await.unwrap().reserved, 0, "{backend}: told once");
        // Reader one returns I1: reader two's hold is ready; J1 comes back: the watcher is told.
        ils.checkin("I1").await.unwrap();
        ils.checkin("J1").await.unwrap();
        let r = notices::round(&s, &pace).await.unwrap();
        assert_eq!((r.hold_ready, r.available), (1, 1), "{backend}: {r:?}");
        let again = notices::round(&s, &pace).await.unwrap();
        assert_eq!((again.hold_ready, again.available, again.watches), (0, 0, 0), "{backend}: {again:?}");

        // A restart on the same database: nothing is told twice.
        let mut config = test_config(&url, &api.base);
        config.circulation.notices.enabled = false;
        let restarted = Application::build(config).await.unwrap();
        let s2 = restarted.services().clone();
        let r = notices::round(&s2, &pace).await.unwrap();
        assert_eq!((r.hold_ready, r.reserved, r.available), (0, 0, 0), "{backend}: {r:?}");

        let queued = notices_queued(&s.db).await;
        assert_eq!(queued.len(), 4, "{backend}: {queued:?}");
        let of = |who: &str, kind: &str| queued.iter().filter(|(o, k, _)| o == who && k.contains(kind)).cloned().collect::<Vec<_>>();
        let reserved = of("oOne", "reserved");
        assert_eq!(reserved.len(), 2);
        assert!(
            reserved.iter().all(|(_, _, t)| t.contains("《明代政治制度》已有其他读者预约，不能再续借") && t.contains("*1001")),
            "{reserved:?}"
        );
        assert!(!queued.iter().any(|(_, _, t)| t.contains("c1001") || t.contains("c2002")), "card numbers only masked");
        let ready = of("oTwo", "hold_ready");
        assert!(ready.len() == 1 && ready[0].2.contains("您预约的《明代政治制度》已到馆，请到总馆取书"), "{ready:?}");
        let back = of("oWatch", "available");
        assert!(back.len() == 1 && back[0].2.contains("【到书提醒】您关注的《Albert Einstein》现在有可借的复本"), "{back:?}");
        // The request ended with its notice: the reader can ask again (J1 is on the shelf now).
        assert!(matches!(shelf_watch::request(&s, "oWatch", "r2").await.unwrap(), shelf_watch::Requested::OnShelfNow { .. }));

        // Nobody's customer-service window is open: the hold notice goes as its template message.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let sent = api.calls("template/send");
            if let Some(t) = sent.iter().find(|t| t["template_id"] == "hold_ready") {
                assert_eq!(t["touser"], "oTwo");
                assert_eq!(t["data"]["thing1"]["value"], "明代政治制度");
                assert_eq!(t["data"]["thing2"]["value"], "总馆");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{backend}: no template message: {sent:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Notices without a template wait for a window that never opens: dropped, not sent.
        assert!(!api.calls("custom/send").iter().any(|m| m["touser"] == "oOne"));
        let _ = ils.account("c1001").await.unwrap();
    }
}
