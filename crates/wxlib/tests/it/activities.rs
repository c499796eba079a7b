//! Activities through their life against the real app and the simulator: sign-up in chat with a
//! capacity and a waiting list, promotion on cancellation (the promoted reader is told),
//! check-in by scanning the activity's code (followers, walk-ins, new followers), the reminder
//! the day before, the reader's web page (sign-up and feedback through WeChat's web
//! authorisation), and the store's rules on both databases under concurrent sign-ups.

use std::time::Duration;

use serde_json::{Value, json};
use wxlib::activities::ActivityDraft;
use wxlib::activities::store::reminder_moment;
use wxlib::activities::{ActivityError, CheckinOutcome, SignupOutcome, reminders};
use wxlib::db::Db;
use wxlib::startup::Application;

use crate::helpers::*;

const DAY: i64 = 86_400;

struct SimApp {
    s: wxlib::services::Services,
    base: String,
    http: reqwest::Client,
    _db: TestDb,
}

async fn app_with_simulator() -> SimApp {
    app_in("zh-CN").await
}

async fn app_in(lang: &str) -> SimApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let db = sqlite_db().await;
    let mut config = test_config(&db.url, &format!("{base}/sim/api"));
    config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.server.public_url = base.clone();
    config.wechat.oauth_base = format!("{base}/sim/api");
    config.simulator.enabled = true;
    config.wechat.lang = lang.into();
    config.activities.showqrcode_url = format!("{base}/sim/api/cgi-bin/showqrcode");
    let app = Application::build(config).await.unwrap();
    let s = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    SimApp { s, base, http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), _db: db }
}

impl SimApp {
    async fn reader(&self, openid: &str, action: &str, body: Value) -> Value {
        let r = self.http.post(format!("{}/sim/readers/{openid}/{action}", self.base)).json(&body).send().await.unwrap();
        r.json().await.unwrap()
    }

    /// What the reader saw as the passive reply to this action.
    async fn say(&self, openid: &str, text: &str) -> String {
        let v = self.reader(openid, "text", json!({"content": text})).await;
        v["reply"]["content"].as_str().unwrap_or_else(|| panic!("no text reply to {text:?}: {v}")).to_owned()
    }

    async fn scan(&self, openid: &str, scene: &str) -> String {
        // Two identical events in one second are one event to WeChat's de-duplication advice.
        self.control("/advance", json!({"seconds": 2})).await;
        let v = self.reader(openid, "scan", json!({"scene": scene})).await;
        v["reply"]["content"].as_str().unwrap_or_else(|| panic!("no text reply to the scan: {v}")).to_owned()
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}/sim/api/_control{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null)
    }

    async fn inbox(&self, openid: &str) -> Vec<Value> {
        let v: Value =
            self.http.get(format!("{}/sim/api/_control/inbox?openid={openid}", self.base)).send().await.unwrap().json().await.unwrap();
        v["messages"].as_array().cloned().unwrap_or_default()
    }

    /// Waits for a message in the reader's inbox that contains `needle` (in its JSON).
    async fn pushed(&self, openid: &str, needle: &str) -> Value {
        for _ in 0..100 {
            if let Some(m) = self.inbox(openid).await.into_iter().find(|m| m.to_string().contains(needle)) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{openid} never received a message with {needle:?}: {:?}", self.inbox(openid).await);
    }
}

fn draft(now: i64, capacity: i64) -> ActivityDraft {
    ActivityDraft {
        title: "真人图书馆：科幻写作".into(),
        place: "总馆 301 研讨室".into(),
        description: "与作者面对面。\n请提前 10 分钟到场。".into(),
        starts_at: now + 3 * DAY,
        ends_at: now + 3 * DAY + 7200,
        signup_opens_at: now - 60,
        signup_deadline: now + 2 * DAY,
        capacity,
    }
}

#[tokio::test]
async fn sign_up_waiting_list_promotion_and_check_in_in_chat() {
    let app = app_with_simulator().await;
    let s = &app.s;
    let now = s.clock.now();
    let id = s.db.create_activity(&draft(now, 2), now).await.unwrap();
    let a = s.db.activity(id).await.unwrap().unwrap();
    let (ticket, _url) = wxlib::activities::ensure_checkin_code(s, &a).await.unwrap();
    let codes: Value = app.http.get(format!("{}/sim/api/_control/qrcodes", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(codes.to_string().contains(&format!("act:{id}")), "the code carries the activity's scene: {codes}");
    assert_eq!(
        wxlib::activities::ensure_checkin_code(s, &s.db.activity(id).await.unwrap().unwrap()).await.unwrap().0,
        ticket,
        "one code per activity"
    );

    s.api.create_menu(&wxlib::menu::default_menu(&app.base)).await.unwrap();
    let [ra, rb, rc, rd] = ["oActA", "oActB", "oActC", "oActD"];
    for r in [ra, rb, rc, rd] {
        app.reader(r, "follow", json!({})).await;
    }

    // The notice lists it with its number, places and how to sign up (menu or text).
    let v = app.reader(ra, "click", json!({"key": "ACTIVITIES"})).await;
    assert_eq!(v["outcome"], "replied", "{v}");
    let notice = app.say(ra, "活动").await;
    assert!(
        notice.contains(&format!("【{id}】"))
            && notice.contains("科幻写作")
            && notice.contains("剩余 2 个名额")
            && notice.contains("报名 编号"),
        "{notice}"
    );

    // Two places, then the waiting list in order; signing up twice changes nothing.
    assert!(app.say(ra, &format!("报名 {id}")).await.starts_with("报名成功"));
    assert!(app.say(ra, &format!("报名 {id}")).await.contains("无需重复报名"));
    assert!(app.say(rb, &format!("报名{id}")).await.starts_with("报名成功"));
    let waiting = app.say(rc, &format!("signup {id}")).await;
    assert!(waiting.contains("候补") && waiting.contains("第 1 位"), "{waiting}");
    assert!(app.say(rd, &format!("报名 {id}")).await.contains("第 2 位"));
    assert!(app.say(rd, &format!("报名 {id}")).await.contains("目前排第 2 位"));
    assert!(app.say(ra, "活动").await.contains("名额已满，可报名候补（2 人候补）"));

    // Bad input gets a clear answer and changes nothing.
    assert!(app.say(ra, "报名 999").await.contains("没有编号为 999 的活动"));
    assert!(app.say(ra, "报名 abc").await.contains("请在“报名”后写活动编号"));
    assert!(app.say(rc, "取消报名").await.contains("请在“取消报名”后写活动编号"));
    assert_eq!(s.db.activity_counts(id).await.unwrap().confirmed, 2);

    // A cancels: C, first in line, gets the place and is told; D moves up.
    assert!(app.say(ra, &format!("取消报名 {id}")).await.starts_with("已取消"));
    assert!(app.say(ra, &format!("取消报名 {id}")).await.contains("您没有报名"));
    let told = app.pushed(rc, "候补成功").await;
    assert_eq!(told["body"]["msgtype"], "text", "C's window is open: a customer-service message");
    let mine = app.say(rd, "我的活动").await;
    assert!(mine.contains("候补第 1 位"), "{mine}");
    assert!(app.say(rc, "我的活动").await.contains("已报名"));
    let c = s.db.activity_counts(id).await.unwrap();
    assert_eq!((c.confirmed, c.waiting), (2, 1));

    // Check-in: not before it opens (60 minutes before the start)…
    assert!(app.scan(rb, &format!("act:{id}")).await.contains("签到尚未开始"));
    s.clock.advance(a.starts_at - now - 30 * 60);
    // …then a signed-up reader, once; a walk-in; a new follower through the code.
    assert!(app.scan(rb, &format!("act:{id}")).await.starts_with("签到成功：《真人图书馆：科幻写作》\n"));
    assert!(app.scan(rb, &format!("act:{id}")).await.contains("无需重复签到"));
    assert!(app.scan(ra, &format!("act:{id}")).await.contains("现场参加"));
    let v = app.reader("oActNew", "scan", json!({"scene": format!("act:{id}")})).await;
    let reply = v["reply"]["content"].as_str().unwrap_or_default();
    assert!(reply.starts_with("欢迎关注图书馆") && reply.contains("签到成功"), "welcome, then the check-in: {v}");
    let checkins = s.db.activity_checkins(id).await.unwrap();
    let summary: Vec<(&str, i64, &str)> = checkins.iter().map(|c| (c.openid.as_str(), c.signed_up, c.via.as_str())).collect();
    assert_eq!(summary.len(), 3);
    assert!(
        summary.contains(&("oActB", 1, "scan"))
            && summary.contains(&("oActA", 0, "scan"))
            && summary.contains(&("oActNew", 0, "subscribe")),
        "{summary:?}"
    );

    // Once started, sign-ups and cancellations are closed.
    s.clock.advance(31 * 60);
    assert!(app.say(rd, &format!("报名 {id}")).await.contains("候补"), "already on the list: told where they stand");
    assert!(app.say(rc, &format!("取消报名 {id}")).await.contains("活动已开始"));
    // After the end, check-in is closed.
    s.clock.advance(3 * 3600);
    assert!(app.scan(rc, &format!("act:{id}")).await.contains("活动已结束"));
}

#[tokio::test]
async fn the_day_before_each_reader_with_a_place_is_reminded_once() {
    let app = app_with_simulator().await;
    let s = &app.s;
    let now = s.clock.now();
    let id = s.db.create_activity(&draft(now, 1), now).await.unwrap();
    let a = s.db.activity(id).await.unwrap().unwrap();
    for r in ["oRemA", "oRemB"] {
        app.reader(r, "follow", json!({})).await;
    }
    assert!(app.say("oRemA", &format!("报名 {id}")).await.starts_with("报名成功"));
    assert!(app.say("oRemB", &format!("报名 {id}")).await.contains("候补"));

    assert_eq!(reminders::run(s).await.unwrap().queued, 0, "not yet: three days ahead");
    let moment = reminder_moment(&a, s.config.activities.remind_hour);
    assert_eq!(wxlib::clock::local_midnight(moment + DAY), wxlib::clock::local_midnight(a.starts_at), "the day before");
    s.clock.advance(moment - now - 60);
    assert_eq!(reminders::run(s).await.unwrap().queued, 0, "a minute early");
    s.clock.advance(60);
    assert_eq!(reminders::run(s).await.unwrap().queued, 1);
    assert_eq!(reminders::run(s).await.unwrap().queued, 0, "never twice");
    let m = app.pushed("oRemA", "activity_reminder").await;
    assert_eq!(m["body"]["data"]["thing1"]["value"], "真人图书馆：科幻写作");
    assert_eq!(m["body"]["data"]["time2"]["value"], wxlib::clock::local_datetime(a.starts_at));
    assert!(app.inbox("oRemB").await.is_empty(), "the waiting reader has no place to be reminded of");

    // A reader promoted after the reminder went out reads the details in the notice instead.
    assert!(app.say("oRemA", &format!("取消报名 {id}")).await.starts_with("已取消"));
    app.pushed("oRemB", "候补成功").await;
    assert_eq!(reminders::run(s).await.unwrap().queued, 0);

    // The librarian moves the activity a day later: the reminder is due again, the day before
    // the new date.
    let mut later = draft(now, 1);
    later.starts_at += DAY;
    later.ends_at += DAY;
    s.db.update_activity(id, &later, s.clock.now(), s.config.activities.remind_hour).await.unwrap();
    assert_eq!(reminders::run(s).await.unwrap().queued, 0, "not yet");
    s.clock.advance(DAY);
    assert_eq!(reminders::run(s).await.unwrap().queued, 1);
    let m = app.pushed("oRemB", "activity_reminder").await;
    assert_eq!(m["body"]["data"]["time2"]["value"], wxlib::clock::local_datetime(a.starts_at + DAY));
}

/// GET with redirects followed by hand, carrying cookies the server sets (the reader's WeChat
/// browser): returns the final body and the cookie header to use afterwards.
async fn open_as(app: &SimApp, openid: &str, url: &str) -> (u16, String, String) {
    let mut cookies = format!("sim_openid={openid}");
    let mut url = url.to_owned();
    for _ in 0..10 {
        let r = app.http.get(&url).header("cookie", &cookies).send().await.unwrap();
        for c in r.headers().get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap().to_owned();
            cookies = format!("{cookies}; {pair}");
        }
        if r.status().is_redirection() {
            let loc = r.headers()["location"].to_str().unwrap().to_owned();
            url = if loc.starts_with('/') { format!("{}{loc}", app.base) } else { loc };
            continue;
        }
        let status = r.status().as_u16();
        return (status, r.text().await.unwrap(), cookies);
    }
    panic!("too many redirects");
}

fn token_in(page: &str) -> String {
    let at = page.find("name=\"token\" value=\"").expect("a form with the session token") + 20;
    page[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_reader_page_signs_up_and_takes_feedback_from_attendees_only() {
    let app = app_with_simulator().await;
    let s = &app.s;
    let now = s.clock.now();
    let id = s.db.create_activity(&draft(now, 5), now).await.unwrap();
    app.reader("oWeb1", "follow", json!({})).await;

    let (status, public, _) = open_as(&app, "oWeb1", &format!("{}/activities/{id}", app.base)).await;
    assert_eq!(status, 200);
    assert!(public.contains("科幻写作") && public.contains("与作者面对面。<br>请提前") && public.contains("剩余名额 5 / 5"), "{public}");
    let (status, _, _) = open_as(&app, "oWeb1", &format!("{}/activities/nope", app.base)).await;
    assert_eq!(status, 404);

    let (status, page, cookies) = open_as(&app, "oWeb1", &format!("{}/h5/activities/{id}", app.base)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("您尚未报名") && page.contains("id=\"signup\""), "{page}");
    let token = token_in(&page);
    let post = |path: &str, form: Vec<(&str, String)>, cookie: String| {
        let url = format!("{}/h5/activities/{id}/{path}", app.base);
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={}", wxlib::web::urlencode(v))).collect();
        let req =
            app.http.post(url).header("cookie", cookie).header("content-type", "application/x-www-form-urlencoded").body(body.join("&"));
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // Without the session cookie (another site posting the form): refused, nothing recorded.
    let (status, _) = post("signup", vec![("token", token.clone())], "x=y".into()).await;
    assert_eq!(status, 403);
    assert_eq!(s.db.activity_counts(id).await.unwrap().confirmed, 0);
    let (status, body) = post("signup", vec![("token", token.clone())], cookies.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("报名成功") && body.contains("您已报名") && body.contains("id=\"cancel\""), "{body}");
    assert_eq!(s.db.reader_signup(id, "oWeb1").await.unwrap(), Some(SignupOutcome::AlreadyConfirmed));

    // Feedback before coming: refused.
    let (status, body) =
        post("feedback", vec![("token", token.clone()), ("rating", "5".into()), ("comment", "好".into())], cookies.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("反馈仅限到场签到的读者"));
    s.clock.advance(3 * DAY);
    s.db.activity_checkin(id, "oWeb1", "scan", s.clock.now(), 3600).await.unwrap();
    // Three days on, the page session has expired: the reader opens the page again from chat.
    let (_, page, cookies) = open_as(&app, "oWeb1", &format!("{}/h5/activities/{id}", app.base)).await;
    assert!(page.contains("feedback-form") && page.contains("已于"), "{page}");
    let token = token_in(&page);
    for (rating, comment, why) in
        [("0", "x".to_owned(), "请选择 1 到 5 的评分"), ("", "x".to_owned(), "请选择 1 到 5 的评分"), ("4", "长".repeat(501), "500 字以内")]
    {
        let (status, body) =
            post("feedback", vec![("token", token.clone()), ("rating", rating.into()), ("comment", comment)], cookies.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(why), "{body}");
    }
    assert!(s.db.activity_feedback(id).await.unwrap().is_empty(), "bad input changed nothing");
    let (status, body) =
        post("feedback", vec![("token", token.clone()), ("rating", "4".into()), ("comment", "很有收获".into())], cookies.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("感谢您的反馈") && body.contains("您的评分：4 / 5"));
    let (status, _) =
        post("feedback", vec![("token", token.clone()), ("rating", "1".into()), ("comment", "".into())], cookies.clone()).await;
    assert_eq!(status, 409, "one feedback per reader");
    let fb = s.db.activity_feedback(id).await.unwrap();
    assert_eq!((fb.len(), fb[0].rating, fb[0].comment.as_str()), (1, 4, "很有收获"));

    // The report shows on the announcement and in the notice.
    s.db.set_activity_report(id, "活动回顾：科幻写作", "二十位读者参加。", s.clock.now()).await.unwrap();
    s.clock.advance(3 * 3600);
    let (_, public, _) = open_as(&app, "oWeb1", &format!("{}/activities/{id}", app.base)).await;
    assert!(public.contains("id=\"report\"") && public.contains("二十位读者参加。") && public.contains("已结束"), "{public}");
    assert!(app.say("oWeb1", "活动").await.contains("活动回顾：科幻写作"));
}

#[tokio::test]
async fn places_are_never_oversold_on_either_database() {
    for (backend, test_db) in all_dbs().await {
        let db = Db::connect(&test_db.url).await.unwrap();
        let now = wxlib::db::unix_now();
        let id = db.create_activity(&draft(now, 3), now).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..12 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move { db.activity_signup(id, &format!("oRace{i:02}"), "chat", now, 10).await }));
        }
        let mut confirmed = 0;
        let mut positions = Vec::new();
        for t in tasks {
            match t.await.unwrap().unwrap().1 {
                SignupOutcome::Confirmed => confirmed += 1,
                SignupOutcome::Waiting { position } => positions.push(position),
                other => panic!("{backend}: {other:?}"),
            }
        }
        positions.sort();
        assert_eq!(confirmed, 3, "{backend}");
        assert_eq!(positions, (1..=9).collect::<Vec<_>>(), "{backend}: one position each, in order");

        // A cancellation promotes the first in line, exactly once.
        let rows = db.activity_signups(id).await.unwrap();
        let first_waiting = rows.iter().find(|r| r.status == "waiting").unwrap().openid.clone();
        let holder = rows.iter().find(|r| r.status == "confirmed").unwrap().openid.clone();
        let (_, c) = db.cancel_activity_signup(id, &holder, now, 10).await.unwrap();
        assert_eq!(c.promoted.as_deref(), Some(first_waiting.as_str()), "{backend}");
        let counts = db.activity_counts(id).await.unwrap();
        assert_eq!((counts.confirmed, counts.waiting), (3, 8), "{backend}");
        // A larger capacity gives places to the next two at once.
        let promoted = db.update_activity(id, &draft(now, 5), now, 10).await.unwrap();
        assert_eq!(promoted.len(), 2, "{backend}");

        // Rules of the store.
        assert!(matches!(db.activity_signup(9999, "o", "chat", now, 10).await, Err(ActivityError::NotFound(9999))), "{backend}");
        assert!(matches!(db.activity_signup(id, "oLate", "chat", now + 2 * DAY, 10).await, Err(ActivityError::SignupClosed)), "{backend}");
        assert!(matches!(db.activity_checkin(id, "oRace00", "scan", now, 3600).await, Err(ActivityError::CheckinNotOpen(_))), "{backend}");
        let start = now + 3 * DAY;
        assert!(
            matches!(
                db.activity_checkin(id, &holder, "scan", start, 3600).await.unwrap().1,
                CheckinOutcome::CheckedIn { signed_up: false }
            ),
            "{backend}: cancelled = walk-in"
        );
        assert!(matches!(db.give_activity_feedback(id, "oNever", 5, "", start).await, Err(ActivityError::NotAttended)), "{backend}");
        db.give_activity_feedback(id, &holder, 5, "", start).await.unwrap();
        assert!(matches!(db.give_activity_feedback(id, &holder, 3, "", start).await, Err(ActivityError::FeedbackGiven)), "{backend}");
        assert!(matches!(db.cancel_activity_signup(id, &first_waiting, start, 10).await, Err(ActivityError::Started)), "{backend}");

        // Every read the chat, pages, console and reminders use, on this backend.
        assert_eq!(db.current_activities(now, 10).await.unwrap().len(), 1, "{backend}");
        assert_eq!(db.all_activities().await.unwrap()[0].id, id, "{backend}");
        db.set_activity_qr(id, "ticket", "http://weixin.qq.com/q/x").await.unwrap();
        assert!(db.set_activity_report(id, "回顾", "正文", start).await.unwrap(), "{backend}");
        let end = start + 7200;
        assert_eq!(db.recent_reports(end, end - DAY, 5).await.unwrap()[0].qr_ticket.as_deref(), Some("ticket"), "{backend}");
        let candidates = db.reminder_candidates(now + 2 * DAY, 2 * DAY).await.unwrap();
        assert_eq!(candidates.len(), 5, "{backend}: the five with a place");
        let first = &candidates[0];
        let body = json!({"touser": first.openid, "template_id": "activity_reminder"});
        assert!(db.queue_activity_reminder(first.signup_id, now, &first.openid, &body, "act-k1", now).await.unwrap(), "{backend}");
        assert!(!db.queue_activity_reminder(first.signup_id, now, &first.openid, &body, "act-k1", now).await.unwrap(), "{backend}: once");
        assert_eq!(db.reminder_candidates(now + 2 * DAY, 2 * DAY).await.unwrap().len(), 4, "{backend}");
        let queued: Vec<_> = db.outbox_rows().await.unwrap().into_iter().filter(|r| r.dedupe_key == "act-k1").collect();
        assert_eq!(queued.len(), 1, "{backend}: queued with its claim");
        assert_eq!((queued[0].payload.as_str(), queued[0].fallback.as_deref()), ("", Some(body.to_string().as_str())), "{backend}");
        db.bind(&holder, "2021009", now).await.unwrap();
        let signups = db.activity_signups(id).await.unwrap();
        assert_eq!(signups.len(), 12, "{backend}");
        assert_eq!(signups.iter().find(|r| r.openid == holder).and_then(|r| r.card.clone()).as_deref(), Some("2021009"), "{backend}");
        assert_eq!(db.activity_checkins(id).await.unwrap()[0].card.as_deref(), Some("2021009"), "{backend}");
        assert_eq!(db.activity_feedback(id).await.unwrap()[0].rating, 5, "{backend}");
        assert_eq!(db.reader_activities(&first_waiting, now).await.unwrap(), vec![(id, "confirmed".to_owned())], "{backend}");
        assert_eq!(db.reader_feedback(id, &holder).await.unwrap(), Some(5), "{backend}");
    }
}

/// The console pages, as a librarian (not an admin): every wrong field named and nothing
/// created; no CSRF token, no change; a created activity gets its check-in code; a larger
/// capacity promotes waiting readers, who are told; the report needs the activity to have begun;
/// everything is audited.
#[tokio::test]
async fn the_console_creates_edits_and_reports_with_every_input_checked() {
    use wxlib::console::{Role, auth};
    let app = app_with_simulator().await;
    let s = &app.s;
    auth::create_librarian(&s.db, "li.ming", "librarian-pw", Role::Librarian).await.unwrap();
    let lib = console_login(&app.base, "li.ming", "librarian-pw").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));
    let when = |secs: i64| wxlib::clock::datetime_input_value(s.clock.now() + secs);
    let good: Vec<(&str, String)> = vec![
        ("title", "古籍修复体验".into()),
        ("place", "古籍部".into()),
        ("description", "动手修一页古籍。".into()),
        ("starts_at", when(3 * DAY)),
        ("ends_at", when(3 * DAY + 3600)),
        ("signup_opens_at", "".into()),
        ("signup_deadline", when(2 * DAY)),
        ("capacity", "1".into()),
    ];
    let with = |changes: &[(&str, &str)]| -> Vec<(String, String)> {
        good.iter()
            .map(|(k, v)| (k.to_string(), changes.iter().find(|(c, _)| c == k).map(|(_, n)| n.to_string()).unwrap_or(v.clone())))
            .collect()
    };
    let post = |path: &'static str, fields: Vec<(String, String)>, csrf: bool| {
        let lib = &lib;
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if csrf { lib.post(path, &f).await } else { lib.post_raw(path, &f).await }
        }
    };

    let page = lib.get("/console/activities/new").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"activity-form\"") && page.body.contains("name=\"csrf\""));
    let r = post("/console/activities", with(&[]), false).await;
    assert_eq!(r.status, 403, "no CSRF token");
    let r = post(
        "/console/activities",
        with(&[("title", ""), ("capacity", "-3"), ("starts_at", "next week"), ("signup_deadline", "2026-02-30T10:00")]),
        true,
    )
    .await;
    assert_eq!(r.status, 400);
    for msg in ["请填写活动名称", "名额须为 1 到 100000 之间的整数", "开始时间不是有效的时间", "报名截止时间不是有效的时间"]
    {
        assert!(r.body.contains(msg), "{msg}: {}", r.body);
    }
    assert!(r.body.contains("动手修一页古籍。"), "the form keeps what was typed");
    assert!(s.db.all_activities().await.unwrap().is_empty(), "nothing created");

    let r = post("/console/activities", with(&[]), true).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.location.unwrap();
    assert!(location.ends_with("?ok=created"), "{location}");
    let a = s.db.all_activities().await.unwrap().remove(0);
    assert!(a.qr_ticket.is_some(), "the check-in code was made");
    let detail = lib.get(&format!("/console/activities/{}", a.id)).await;
    assert!(
        detail.body.contains("qr.svg") && detail.body.contains(&format!("act:{}", a.id)) && detail.body.contains("showqrcode?ticket="),
        "{}",
        detail.body
    );
    let svg = lib.get(&format!("/console/activities/{}/qr.svg", a.id)).await;
    assert!(svg.body.starts_with("<?xml") || svg.body.contains("<svg"), "{}", &svg.body[..svg.body.len().min(80)]);
    let poster = lib.get(&format!("/console/activities/{}/print", a.id)).await;
    assert!(
        poster.status == 200 && poster.body.contains("古籍修复体验") && poster.body.contains("<svg") && !poster.body.contains("<?xml"),
        "{}",
        poster.body
    );
    assert_eq!(lib.get("/console/activities/999/edit").await.status, 404);

    // Two readers: one place, one waiting. Raising the capacity gives the second a place.
    for r in ["oConA", "oConB"] {
        app.reader(r, "follow", json!({})).await;
        app.say(r, &format!("报名 {}", a.id)).await;
    }
    assert_eq!(s.db.activity_counts(a.id).await.unwrap().waiting, 1);
    let path: &'static str = Box::leak(format!("/console/activities/{}", a.id).into_boxed_str());
    let r = post(path, with(&[("ends_at", &when(DAY))]), true).await;
    assert_eq!(r.status, 400, "an end before the start");
    assert_eq!(s.db.activity(a.id).await.unwrap().unwrap().ends_at, a.ends_at, "unchanged");
    let r = post(path, with(&[("capacity", "2")]), true).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(s.db.activity_counts(a.id).await.unwrap().confirmed, 2);
    app.pushed("oConB", "候补成功").await;
    s.db.bind("oConA", "2021007", s.clock.now()).await.unwrap();
    let detail = lib.get(path).await;
    assert!(
        detail.body.contains("oConA <span class=\"card-no\">(2021007)</span>") && detail.body.matches("已报名").count() >= 2,
        "librarians see who it is: {}",
        detail.body
    );
    let list = lib.get("/console/activities").await;
    assert!(list.body.contains("古籍修复体验") && list.body.contains("2 / 2"), "{}", list.body);

    // The report: not before the activity begins, never empty.
    let report_path: &'static str = Box::leak(format!("/console/activities/{}/report", a.id).into_boxed_str());
    let report = |t: &str, b: &str| vec![("title".to_owned(), t.to_owned()), ("body".to_owned(), b.to_owned())];
    let r = post(report_path, report("回顾", "很好"), true).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("活动开始后才能发布报道"));
    s.clock.advance(3 * DAY + 60);
    let r = post(report_path, report("回顾", " "), true).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("报道的标题和正文都要填写"));
    let r = post(report_path, report("古籍修复回顾", "十位读者修好了十页。"), true).await;
    assert_eq!(r.status, 303);
    assert_eq!(s.db.activity(a.id).await.unwrap().unwrap().report_title.as_deref(), Some("古籍修复回顾"));

    // The attendance sheet: both readers with their state; a walk-in too.
    s.db.activity_checkin(a.id, "oWalkIn", "scan", s.clock.now() - 120, 3600).await.unwrap();
    let sheet = lib.get(&format!("/console/activities/{}/signups.csv", a.id)).await;
    assert_eq!(sheet.status, 200);
    let lines: Vec<&str> = sheet.body.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "openid,card,state,signed_up_at,checked_in_at,via");
    assert!(
        lines.iter().any(|l| l.starts_with("oConA,2021007,confirmed,")) && lines.iter().any(|l| l.starts_with("oConB,,confirmed,")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("oWalkIn,,walk-in,,")), "{lines:?}");

    let actions: Vec<String> = s.db.audit_entries("activity.", 10, 0).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(actions, ["activity.export", "activity.report", "activity.update", "activity.create"], "newest first");
}

#[tokio::test]
async fn readers_get_english_when_the_account_speaks_english() {
    let app = app_in("en").await;
    let s = &app.s;
    let now = s.clock.now();
    let id = s.db.create_activity(&draft(now, 1), now).await.unwrap();
    for r in ["oEnA", "oEnB"] {
        app.reader(r, "follow", json!({})).await;
    }
    let notice = app.say("oEnA", "activities").await;
    assert!(notice.starts_with("Coming up:") && notice.contains("1 place(s) left") && notice.contains("signup N"), "{notice}");
    assert!(app.say("oEnA", &format!("sign up {id}")).await.starts_with("You are signed up"));
    assert!(app.say("oEnB", &format!("signup {id}")).await.contains("number 1 on the waiting list"));
    assert!(app.say("oEnB", "signup 0").await.contains("Put the activity number after it"));
    assert!(app.say("oEnA", &format!("cancel signup {id}")).await.contains("is cancelled"));
    app.pushed("oEnB", "Good news: a place").await;
    let (_, page, _) = open_as(&app, "oEnB", &format!("{}/h5/activities/{id}", app.base)).await;
    assert!(page.contains("You have a place.") && page.contains("Cancel my sign-up") && page.contains("sign-up open"), "{page}");
}

/// A waiting reader who has not written for two days cannot get a customer-service message: the
/// place notice comes as a template message instead.
#[tokio::test]
async fn a_promoted_reader_outside_the_window_gets_a_template_message() {
    let app = app_with_simulator().await;
    let s = &app.s;
    let now = s.clock.now();
    let id = s.db.create_activity(&draft(now, 1), now).await.unwrap();
    for r in ["oWinA", "oWinB"] {
        app.reader(r, "follow", json!({})).await;
        app.say(r, &format!("报名 {id}")).await;
    }
    s.clock.advance(49 * 3600);
    assert!(app.say("oWinA", &format!("取消报名 {id}")).await.starts_with("已取消"));
    let m = app.pushed("oWinB", "activity_promoted").await;
    assert_eq!(m["body"]["data"]["thing1"]["value"], "真人图书馆：科幻写作");
    assert_eq!(m["body"]["data"]["thing4"]["value"], "候补成功，已为您保留名额");
    assert!(m["body"]["url"].as_str().unwrap().ends_with(&format!("/activities/{id}")));
}

/// Many long activities still fit one short text reply; the rest are a link away.
#[tokio::test]
async fn the_notice_stays_a_short_message() {
    let app = app_with_simulator().await;
    let s = &app.s;
    let now = s.clock.now();
    for i in 0..6 {
        let mut d = draft(now + i * 3600, 30);
        d.title = format!("{i}{}", "长".repeat(63));
        d.place = "场".repeat(64);
        s.db.create_activity(&d, now).await.unwrap();
    }
    app.reader("oLong", "follow", json!({})).await;
    let notice = app.say("oLong", "活动").await;
    assert!(notice.len() <= 2048, "{} bytes", notice.len());
    assert!(notice.contains("【1】") && notice.contains("更多活动") && notice.contains("/activities\""), "{notice}");
}
