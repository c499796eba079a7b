use std::time::Duration;

use serde_json::{Value, json};
use wxlib::broadcasts::{self, Draft, Image};
use wxlib::db::Db;
use wxlib::lang::Lang;
use wxlib::startup::Application;

use crate::helpers::*;

pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";

fn cover() -> Image {
    Image { content_type: "image/png".into(), bytes: PNG.to_vec() }
}

fn draft(title: &str) -> Draft {
    broadcasts::validate(
        &Draft {
            title: title.into(),
            author: "馆员".into(),
            digest: "本月新书".into(),
            body_html: "<p>新书到馆<script>x</script></p>".into(),
            target_tag_id: None,
        },
        Lang::Zh,
    )
    .unwrap()
}

#[tokio::test]
async fn the_send_job_store_works_on_both_databases() {
    for (name, tdb) in all_dbs().await {
        let db = Db::connect(&tdb.url).await.unwrap();
        let id = db.create_broadcast(&draft("十一月新书"), Some(&cover()), "lib1", 1000).await.unwrap();
        let b = db.broadcast(id).await.unwrap().unwrap();
        assert_eq!((b.state.as_str(), b.body_html.as_str()), ("composed", "<p>新书到馆</p>"), "{name}");
        assert_eq!(db.broadcast_cover(id).await.unwrap().unwrap().bytes, PNG, "{name}");
        let img = db.add_broadcast_image(id, &cover(), 1001).await.unwrap();
        assert_eq!(db.broadcast_images(id).await.unwrap(), vec![(img, None)], "{name}");
        assert!(db.queue_broadcast(id, "lib1", 1002).await.unwrap(), "{name}");
        assert!(!db.queue_broadcast(id, "lib1", 1002).await.unwrap(), "queued twice: {name}");
        assert!(matches!(db.update_broadcast(id, &draft("改"), None, 1003).await, Err(broadcasts::BroadcastError::Locked(_))), "{name}");
        assert_eq!(db.active_broadcasts().await.unwrap(), vec![id], "{name}");
        let who: Vec<String> = (0..5).map(|i| format!("oReader{i}")).collect();
        db.freeze_recipients(id, &who, &[3, 2], 4, 1004).await.unwrap();
        let batches = db.broadcast_batches(id).await.unwrap();
        assert_eq!(batches.len(), 2, "{name}");
        assert_eq!(
            db.batch_recipients(id, batches[1].first_seq, batches[1].last_seq).await.unwrap(),
            vec!["oReader3", "oReader4"],
            "{name}"
        );
        db.set_batch_draft(id, 0, Some("m0")).await.unwrap();
        assert!(!db.mark_batch_sent(id, 0, Some(77), 1005).await.unwrap(), "{name}");
        assert!(!db.mark_batch_sent(id, 0, Some(77), 1005).await.unwrap(), "a batch counts once: {name}");
        assert!(db.mark_batch_sent(id, 1, None, 1006).await.unwrap(), "{name}");
        let b = db.broadcast(id).await.unwrap().unwrap();
        assert_eq!(
            (b.state.as_str(), b.batches_done, b.followers_at_send, b.local_followers_at_send),
            ("sent", 2, Some(5), Some(4)),
            "{name}"
        );
        assert!(db.record_read(id, "o:oReader1", "wechat", 1010).await.unwrap(), "{name}");
        assert!(!db.record_read(id, "o:oReader1", "wechat", 1020).await.unwrap(), "{name}");
        assert!(db.record_read(id, "c:abc", "browser", 1030).await.unwrap(), "{name}");
        assert_eq!(db.broadcast_readers(id).await.unwrap(), 2, "{name}");
        assert_eq!(db.read_times(id).await.unwrap(), vec![1010, 1030], "{name}");
        assert!(db.record_mass_job_finish(77, "send success", 3, 3).await.unwrap(), "{name}");
        assert!(!db.record_mass_job_finish(78, "send success", 3, 3).await.unwrap(), "{name}");
        let listed = db.list_broadcasts().await.unwrap();
        assert_eq!((listed[0].readers, listed[0].broadcast.wechat_sent), (2, Some(3)), "{name}");
        assert_eq!(db.broadcasts_sent_since(0).await.unwrap(), 1, "{name}");
    }
}

/// wxlib with the simulator on, its WeChat API and web authorisation pointed at its own
/// `/sim/api`, sending in batches of 3.
async fn app_with_simulator() -> (wxlib::services::Services, String, TestDb) {
    app_with_simulator_on(sqlite_db().await).await
}

async fn app_with_simulator_on(db: TestDb) -> (wxlib::services::Services, String, TestDb) {
    app_with_simulator_sending_by(db, "openid_batches").await
}

async fn app_with_simulator_sending_by(db: TestDb, send_by: &str) -> (wxlib::services::Services, String, TestDb) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut config = test_config(&db.url, &format!("{base}/sim/api"));
    config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.server.public_url = base.clone();
    config.wechat.oauth_base = format!("{base}/sim/api");
    config.simulator.enabled = true;
    config.broadcasts.batch_size = 3;
    config.broadcasts.send_by = send_by.into();
    let app = Application::build(config).await.unwrap();
    let services = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    (services, base, db)
}

async fn control(base: &str, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/sim/api/_control{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null)
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

async fn mass_messages(base: &str, openid: &str) -> Vec<Value> {
    let inbox = get_json(&format!("{base}/sim/api/_control/inbox?openid={openid}")).await;
    inbox["messages"].as_array().cloned().unwrap_or_default().into_iter().filter(|m| m["kind"] == "mass").collect()
}

async fn wait_state(s: &wxlib::services::Services, id: i64, state: &str) -> broadcasts::store::Broadcast {
    for _ in 0..200 {
        let b = s.db.broadcast(id).await.unwrap().unwrap();
        if b.state == state {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("broadcast {id} never reached {state}: {:?}", s.db.broadcast(id).await.unwrap());
}

#[tokio::test]
async fn a_news_message_reaches_every_follower_once_and_counts_unique_readers() {
    let (s, base, _db) = app_with_simulator().await;
    let followers: Vec<String> = (0..7).map(|i| format!("oNewsReader{i}")).collect();
    for f in &followers {
        control(&base, "/follow", json!({"openid": f})).await;
    }
    let body = Draft { body_html: "<p>新书到馆</p>".into(), ..draft("十一月新书") };
    let id = s.db.create_broadcast(&body, Some(&cover()), "lib1", s.clock.now()).await.unwrap();
    let img = s.db.add_broadcast_image(id, &cover(), s.clock.now()).await.unwrap();
    let with_image = Draft { body_html: format!("<p>新书到馆</p><img src=\"/news/img/{img}\">"), ..draft("十一月新书") };
    s.db.update_broadcast(id, &with_image, None, s.clock.now()).await.unwrap();

    // Preview to one test reader: only they get it, and it uses no quota.
    assert_eq!(broadcasts::send::preview(&s, id, &["oNewsReader0".to_owned()]).await.unwrap(), 1);
    let inbox = get_json(&format!("{base}/sim/api/_control/inbox?openid=oNewsReader0")).await;
    assert_eq!(inbox["messages"].as_array().unwrap().iter().filter(|m| m["kind"] == "mass_preview").count(), 1, "{inbox}");

    assert!(s.db.queue_broadcast(id, "lib1", s.clock.now()).await.unwrap());
    broadcasts::send::wake();
    let b = wait_state(&s, id, "sent").await;
    assert_eq!((b.followers_at_send, b.batch_count), (Some(7), Some(3)), "7 followers in batches of 3, 2, 2");
    for f in &followers {
        let got = mass_messages(&base, f).await;
        assert_eq!(got.len(), 1, "{f}: {got:?}");
        let article = &got[0]["body"]["mpnews"]["articles"][0];
        assert_eq!(article["title"], "十一月新书");
        assert_eq!(article["content_source_url"], format!("{base}/news/{id}"));
        assert!(article["content"].as_str().unwrap().contains("/sim/api/mmbiz/"), "body images point at WeChat's copies: {article}");
    }
    let jobs = get_json(&format!("{base}/sim/api/_control/mass")).await;
    let cids: Vec<String> = jobs["jobs"].as_array().unwrap().iter().filter_map(|j| j["clientmsgid"].as_str().map(str::to_owned)).collect();
    assert_eq!(cids, vec![format!("wxlib-bc-{id}-0"), format!("wxlib-bc-{id}-1"), format!("wxlib-bc-{id}-2")]);

    // A crash after WeChat took batch 1 but before wxlib recorded it: the restarted job sends
    // batch 1 again with the same clientmsgid, WeChat says "already sent", and nobody gets two.
    let db_url = match &s.db {
        Db::Sqlite(_) => _db.url.clone(),
        Db::Postgres(_) => unreachable!(),
    };
    let raw = sqlx::SqlitePool::connect(&db_url).await.unwrap();
    sqlx::query("UPDATE broadcast_batches SET state = 'pending' WHERE broadcast_id = $1 AND batch_no = 1")
        .bind(id)
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query("UPDATE broadcasts SET state = 'sending', batches_done = 2 WHERE id = $1").bind(id).execute(&raw).await.unwrap();
    broadcasts::send::run_job(&s, id).await.unwrap();
    assert_eq!(s.db.broadcast(id).await.unwrap().unwrap().state, "sent");
    for f in &followers {
        assert_eq!(mass_messages(&base, f).await.len(), 1, "{f} got it once");
    }

    // Readers: inside WeChat by openid (through web authorisation), elsewhere by cookie.
    let wechat_ua = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50";
    let phone = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let first = phone.get(format!("{base}/news/{id}")).header("User-Agent", wechat_ua).send().await.unwrap();
    assert_eq!(first.status(), 303, "inside WeChat the page asks who the reader is");
    let to_wechat = first.headers()["location"].to_str().unwrap().replace("#wechat_redirect", "");
    let back = phone.get(format!("{to_wechat}&sim_openid=oNewsReader3")).send().await.unwrap();
    let back_to = back.headers()["location"].to_str().unwrap().to_owned();
    let page = phone.get(&back_to).header("User-Agent", wechat_ua).send().await.unwrap();
    let cookie = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains("十一月新书") && html.contains("新书到馆"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    let again = phone.get(format!("{base}/news/{id}")).header("User-Agent", wechat_ua).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(s.db.broadcast_readers(id).await.unwrap(), 1, "the same reader twice is one reader");
    // A browser outside WeChat is counted once it comes back with the cookie it was given.
    let browser = reqwest::get(format!("{base}/news/{id}")).await.unwrap();
    assert_eq!(browser.status(), 200);
    let browser_cookie = browser.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert_eq!(s.db.broadcast_readers(id).await.unwrap(), 1, "not counted before it comes back");
    let back = phone.get(format!("{base}/news/{id}")).header("Cookie", &browser_cookie).send().await.unwrap();
    assert_eq!(back.status(), 200);
    assert_eq!(s.db.broadcast_readers(id).await.unwrap(), 2);
    assert_eq!(reqwest::get(format!("{base}/news/{id}/cover")).await.unwrap().bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(reqwest::get(format!("{base}/news/img/{img}")).await.unwrap().bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(reqwest::get(format!("{base}/news/999999")).await.unwrap().status(), 404);

    // Followers who come later do not change the rate's denominator.
    control(&base, "/follow", json!({"openid": "oLateFollower"})).await;
    let b = s.db.broadcast(id).await.unwrap().unwrap();
    assert_eq!(broadcasts::read_rate(2, b.followers_at_send), Some(28.6));
}

#[tokio::test]
async fn a_refused_send_fails_with_the_reason_and_resumes_when_sent_again() {
    let (s, base, _db) = app_with_simulator().await;
    for i in 0..4 {
        control(&base, "/follow", json!({"openid": format!("oQuota{i}")})).await;
    }
    // WeChat refuses the first batch (no quota left): the job stops as failed, with the reason.
    control(&base, "/fault", json!({"path": "/cgi-bin/message/mass/send", "errcode": 45028, "times": 1})).await;
    let id = s.db.create_broadcast(&draft("讲座通知"), Some(&cover()), "lib1", s.clock.now()).await.unwrap();
    s.db.queue_broadcast(id, "lib1", s.clock.now()).await.unwrap();
    broadcasts::send::wake();
    let failed = wait_state(&s, id, "failed").await;
    assert!(failed.error.unwrap_or_default().contains("45028"));
    assert_eq!(failed.followers_at_send, Some(4));
    for i in 0..4 {
        assert!(mass_messages(&base, &format!("oQuota{i}")).await.is_empty());
    }
    // Sent again, it resumes with the frozen recipients and finishes.
    assert!(s.db.queue_broadcast(id, "lib1", s.clock.now()).await.unwrap());
    broadcasts::send::wake();
    wait_state(&s, id, "sent").await;
    for i in 0..4 {
        assert_eq!(mass_messages(&base, &format!("oQuota{i}")).await.len(), 1);
    }
    // Bad input is refused before anything is stored.
    let long = Draft { title: "题".repeat(40), ..draft("x") };
    assert!(broadcasts::validate(&long, Lang::En).unwrap_err().to_string().contains("32"));
}

#[tokio::test]
async fn wechats_job_finish_event_records_its_delivery_figures() {
    let api = fake_api().await;
    let app = spawn_app_on(sqlite_db().await, &api.base, wxlib::conversation::router()).await;
    let id = app.db.create_broadcast(&draft("开馆通知"), Some(&cover()), "lib1", now()).await.unwrap();
    app.db.freeze_recipients(id, &["oA".into(), "oB".into(), "oC".into()], &[3], 3, now()).await.unwrap();
    assert!(app.db.mark_batch_sent(id, 0, Some(1_000_001), now()).await.unwrap());
    let xml = format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[oSystem]]></FromUserName><CreateTime>{}</CreateTime>\
         <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>1000001</MsgID>\
         <Status><![CDATA[send success]]></Status><TotalCount>3</TotalCount><FilterCount>3</FilterCount><SentCount>2</SentCount><ErrorCount>1</ErrorCount></xml>",
        now()
    );
    let sent = app.post_encrypted(&xml, "n1", &now().to_string()).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let b = app.db.broadcast(id).await.unwrap().unwrap();
    assert_eq!((b.wechat_total, b.wechat_sent), (Some(3), Some(2)));
}

#[tokio::test]
async fn a_message_to_a_tag_reaches_its_members_only_on_both_databases() {
    for (_, tdb) in all_dbs().await {
        a_message_to_a_tag_reaches_its_members_only(tdb).await;
    }
}

async fn a_message_to_a_tag_reaches_its_members_only(tdb: TestDb) {
    let (s, base, _db) = app_with_simulator_on(tdb).await;
    for i in 0..6 {
        control(&base, "/follow", json!({"openid": format!("oTagged{i}")})).await;
    }
    let tag = |name: &str| {
        let s = s.clone();
        let name = name.to_owned();
        async move {
            s.api.call("tags/create", "/cgi-bin/tags/create", Some(&json!({"tag": {"name": name}}))).await.unwrap()["tag"]["id"]
                .as_i64()
                .unwrap()
        }
    };
    let (grads, one) = (tag("研究生").await, tag("馆员").await);
    let members = |tag: i64, who: Vec<String>| {
        let s = s.clone();
        async move {
            s.api
                .call("tags/members/batchtagging", "/cgi-bin/tags/members/batchtagging", Some(&json!({"openid_list": who, "tagid": tag})))
                .await
                .unwrap()
        }
    };
    members(grads, vec!["oTagged1".into(), "oTagged3".into(), "oTagged5".into()]).await;
    members(one, vec!["oTagged2".into()]).await;

    let to_grads = Draft { target_tag_id: Some(grads), ..draft("研究生讲座") };
    let id = s.db.create_broadcast(&to_grads, Some(&cover()), "lib1", s.clock.now()).await.unwrap();
    s.db.queue_broadcast(id, "lib1", s.clock.now()).await.unwrap();
    broadcasts::send::wake();
    let b = wait_state(&s, id, "sent").await;
    assert_eq!((b.followers_at_send, b.batch_count), (Some(3), Some(1)), "the tag's 3 members at send time");
    // A tag of one goes by sendall with the tag filter (mass/send needs 2 openids).
    let to_one = Draft { target_tag_id: Some(one), ..draft("馆员通知") };
    let id2 = s.db.create_broadcast(&to_one, Some(&cover()), "lib1", s.clock.now()).await.unwrap();
    s.db.queue_broadcast(id2, "lib1", s.clock.now()).await.unwrap();
    broadcasts::send::wake();
    assert_eq!(wait_state(&s, id2, "sent").await.followers_at_send, Some(1));
    for i in 0..6 {
        let got: Vec<String> = mass_messages(&base, &format!("oTagged{i}"))
            .await
            .iter()
            .map(|m| m["body"]["mpnews"]["articles"][0]["title"].as_str().unwrap_or_default().to_owned())
            .collect();
        let expected: Vec<&str> = match i {
            1 | 3 | 5 => vec!["研究生讲座"],
            2 => vec!["馆员通知"],
            _ => vec![],
        };
        assert_eq!(got, expected, "oTagged{i}");
    }
    let jobs = get_json(&format!("{base}/sim/api/_control/mass")).await;
    let vias: Vec<&str> = jobs["jobs"].as_array().unwrap().iter().map(|j| j["via"].as_str().unwrap_or_default()).collect();
    assert_eq!(vias, vec!["send", "sendall"]);
}

#[tokio::test]
async fn a_subscription_account_sends_by_one_sendall_at_most_once() {
    let (s, base, _db) = app_with_simulator_sending_by(sqlite_db().await, "sendall").await;
    for i in 0..4 {
        control(&base, "/follow", json!({"openid": format!("oAll{i}")})).await;
    }
    let id = s.db.create_broadcast(&draft("闭馆通知"), Some(&cover()), "lib1", s.clock.now()).await.unwrap();
    s.db.queue_broadcast(id, "lib1", s.clock.now()).await.unwrap();
    broadcasts::send::wake();
    let b = wait_state(&s, id, "sent").await;
    assert_eq!((b.followers_at_send, b.batch_count), (Some(4), Some(1)));
    // The answer was lost (a crash): sending again is answered "already sent", nobody gets two.
    let db_url = _db.url.clone();
    let raw = sqlx::SqlitePool::connect(&db_url).await.unwrap();
    sqlx::query("UPDATE broadcast_batches SET state = 'pending' WHERE broadcast_id = $1").bind(id).execute(&raw).await.unwrap();
    sqlx::query("UPDATE broadcasts SET state = 'sending', batches_done = 0 WHERE id = $1").bind(id).execute(&raw).await.unwrap();
    broadcasts::send::run_job(&s, id).await.unwrap();
    assert_eq!(s.db.broadcast(id).await.unwrap().unwrap().state, "sent");
    let jobs = get_json(&format!("{base}/sim/api/_control/mass")).await;
    let vias: Vec<&str> = jobs["jobs"].as_array().unwrap().iter().map(|j| j["via"].as_str().unwrap_or_default()).collect();
    assert_eq!(vias, vec!["sendall"]);
    for i in 0..4 {
        assert_eq!(mass_messages(&base, &format!("oAll{i}")).await.len(), 1);
    }
}

/// With `reach.datacube`, the day after sending, WeChat's own figures for the message (the
/// simulator's `datacube/getarticletotal`, from the article opens it recorded) are fetched and
/// shown beside wxlib's readers, summed over the message's batches.
#[tokio::test]
async fn wechats_article_figures_are_fetched_the_next_day_and_shown_beside_ours_on_both_databases() {
    for (_, db) in all_dbs().await {
        wechats_article_figures_are_fetched_the_next_day_and_shown_beside_ours(db).await;
    }
}

async fn wechats_article_figures_are_fetched_the_next_day_and_shown_beside_ours(db: TestDb) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut config = test_config(&db.url, &format!("{base}/sim/api"));
    config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.server.public_url = base.clone();
    config.wechat.oauth_base = format!("{base}/sim/api");
    config.simulator.enabled = true;
    config.broadcasts.batch_size = 3;
    config.reach.datacube = true;
    let app = Application::build(config).await.unwrap();
    let s = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    wxlib::console::auth::create_librarian(&s.db, "li.ming", "librarian-pw", wxlib::console::Role::Librarian).await.unwrap();
    let lib = console_login(&base, "li.ming", "librarian-pw").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));

    let readers: Vec<String> = (0..5).map(|i| format!("oFigures{i}")).collect();
    for r in &readers {
        control(&base, "/follow", json!({"openid": r})).await;
    }
    let id = s.db.create_broadcast(&draft("寒假开馆时间"), Some(&cover()), "lib1", s.clock.now()).await.unwrap();
    assert!(s.db.queue_broadcast(id, "lib1", s.clock.now()).await.unwrap());
    broadcasts::send::wake();
    assert_eq!(wait_state(&s, id, "sent").await.batch_count, Some(2), "5 followers in batches of 3 and 2");

    // In WeChat: readers 0-3 open the article (reader 0 twice), reader 4 taps 阅读原文.
    let read = |who: &str, original: bool| {
        let (base, who) = (base.clone(), who.to_owned());
        async move {
            let got = mass_messages(&base, &who).await;
            let msg_id = got[0]["msg_id"].as_u64().unwrap_or_else(|| panic!("{got:?}"));
            let r = control(&base, "/article_read", json!({"openid": who, "msg_id": msg_id, "idx": 0, "original": original})).await;
            assert_eq!(r["ok"], true, "{r}");
        }
    };
    for r in &readers[..4] {
        read(r, false).await;
    }
    read(&readers[0], false).await;
    read(&readers[4], true).await;
    // A stranger cannot read it.
    let refused = reqwest::Client::new()
        .post(format!("{base}/sim/api/_control/article_read"))
        .json(&json!({"openid": "oStranger", "msg_id": 1, "idx": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    // Today's figures are not in yet: nothing is asked for.
    assert_eq!(broadcasts::figures::fetch_wechat_figures(&s).await.unwrap(), 0);
    assert!(s.db.wechat_figures().await.unwrap().is_empty());

    // Tomorrow, WeChat has them.
    control(&base, "/advance", json!({"seconds": 86_400})).await;
    s.clock.advance(86_400);
    assert_eq!(broadcasts::figures::fetch_wechat_figures(&s).await.unwrap(), 1);
    let f = s.db.wechat_figures().await.unwrap().remove(&id).expect("figures for the message");
    assert_eq!((f.target_user, f.int_page_read_user, f.int_page_read_count, f.ori_page_read_user, f.ori_page_read_count), (5, 4, 5, 1, 1));
    // They agree with what the simulator itself reports for the send day.
    let sent_day = wxlib::clock::local_day(s.clock.now() - 86_400);
    let wx = s
        .api
        .call("datacube/getarticletotal", "/datacube/getarticletotal", Some(&json!({"begin_date": sent_day, "end_date": sent_day})))
        .await
        .unwrap();
    let sum = |k: &str| {
        wx["list"].as_array().unwrap().iter().map(|a| a["details"].as_array().unwrap().last().unwrap()[k].as_i64().unwrap()).sum::<i64>()
    };
    assert_eq!((sum("int_page_read_user"), sum("ori_page_read_count")), (f.int_page_read_user, f.ori_page_read_count));

    let list = lib.get("/console/broadcasts").await;
    assert!(list.body.contains("微信统计"), "{}", list.body);
    let row = &list.body[list.body.find(&format!("id=\"broadcast-{id}\"")).expect("the message's row")..];
    assert!(row.contains("<td class=\"readers\">0</td>"), "wxlib's own readers: nobody opened /news/{id}");
    assert!(row.contains("<td class=\"wechat-figures\">4 / 1</td>"), "{row}");
    let detail = lib.get(&format!("/console/broadcasts/{id}")).await;
    assert!(detail.body.contains("id=\"wx-int-read\">4 / 5<"), "{}", detail.body);
    assert!(detail.body.contains("id=\"wx-ori-read\">1 / 1<"), "{}", detail.body);
    // Fetching again the same day replaces, not adds.
    assert_eq!(broadcasts::figures::fetch_wechat_figures(&s).await.unwrap(), 1);
    assert_eq!(s.db.wechat_figures().await.unwrap()[&id].int_page_read_user, 4);
}

/// A multipart body of text fields and one file field, as a browser sends the compose form.
fn multipart(boundary: &str, fields: &[(&str, &str)], file: (&str, &str, &[u8])) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    let (name, filename, bytes) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// The console's compose form is a multipart upload: its fields and cover are read and stored; a
/// body that is not a multipart form gets the form back, saying it could not be read.
#[tokio::test]
async fn the_compose_form_is_read_from_its_multipart_upload() {
    use wxlib::console::{Role, auth};
    let api = fake_api().await;
    let app = spawn_app_on(sqlite_db().await, &api.base, wxlib::conversation::router()).await;
    auth::create_librarian(&app.db, "editor", "a long enough password", Role::Librarian).await.unwrap();
    let lib = console_login(&app.base, "editor", "a long enough password").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));
    let cover: &[u8] = b"\x89PNG\r\n\x1a\n a cover of a kind";
    let fields = [
        ("csrf", lib.csrf.as_str()),
        ("title", "寒假开放时间"),
        ("author", "馆办"),
        ("digest", ""),
        ("body", "<p>寒假期间\r\n9:00 开馆</p>"),
        ("tag_id", ""),
    ];
    let body = multipart("xYzBoundary", &fields, ("cover", "cover.png", cover));
    let r = lib
        .http
        .post(format!("{}/console/broadcasts/new", app.base))
        .header("cookie", &lib.cookie)
        .header("content-type", "multipart/form-data; boundary=xYzBoundary")
        .body(body)
        .send()
        .await
        .unwrap();
    let r = console_response(r).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id: i64 = r
        .location
        .as_deref()
        .and_then(|l| l.strip_prefix("/console/broadcasts/"))
        .and_then(|l| l.split('?').next())
        .unwrap()
        .parse()
        .unwrap();
    let b = app.db.broadcast(id).await.unwrap().unwrap();
    assert_eq!((b.title.as_str(), b.author.as_str()), ("寒假开放时间", "馆办"));
    assert!(b.body_html.contains("寒假期间\n9:00"), "line breaks as the browser sent them, CRLF read as LF: {}", b.body_html);
    let stored = app.db.broadcast_cover(id).await.unwrap().unwrap();
    assert_eq!((stored.content_type.as_str(), stored.bytes.as_slice()), ("image/png", cover));

    let not_multipart = lib.post("/console/broadcasts/new", &[("title", "x")]).await;
    assert_eq!(not_multipart.status, 400);
    assert!(not_multipart.body.contains("表单格式不正确"), "{}", not_multipart.body);
}
