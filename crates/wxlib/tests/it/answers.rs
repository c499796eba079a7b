use std::time::Duration;

use serde_json::{Value, json};
use wxlib::answers::{Answer, RuleInput};
use wxlib::config::Config;
use wxlib::consultation::{self, AnswerError, AnswerOutcome};
use wxlib::db::Db;
use wxlib::services::Services;
use wxlib::startup::Application;

use crate::helpers::*;

/// wxlib with the simulator (phone + WeChat API) on the given database; `tweak` adjusts the
/// configuration. `marc` is imported before the server starts, so the index has it.
async fn app(db: &TestDb, marc: Option<&str>, tweak: impl FnOnce(&mut Config)) -> (Services, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut config = test_config(&db.url, &format!("{base}/sim/api"));
    config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.server.public_url = base.clone();
    config.simulator.enabled = true;
    tweak(&mut config);
    if let Some(file) = marc {
        let store = Db::connect(&db.url).await.unwrap();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/marc").join(file);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        use wxlib::catalog::import::{InputCharset, InputFormat, import_bytes};
        import_bytes(&store, file, &bytes, InputFormat::Auto, InputCharset::Auto, now(), &|_| {}).await.unwrap();
    }
    let app = Application::build(config).await.unwrap();
    let services = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    (services, base)
}

async fn post(url: String, body: Value) -> Value {
    let r = reqwest::Client::new().post(&url).json(&body).send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

async fn follow(base: &str, openid: &str) {
    post(format!("{base}/sim/readers/{openid}/follow"), json!({})).await;
}

/// The reader sends a text; what the phone shows back (`reply` JSON).
async fn say(base: &str, openid: &str, text: &str) -> Value {
    let v = post(format!("{base}/sim/readers/{openid}/text"), json!({"content": text})).await;
    assert_eq!(v["status"], 200, "{v}");
    v["reply"].clone()
}

fn reply_text(reply: &Value) -> String {
    reply["content"].as_str().unwrap_or_default().to_owned()
}

/// Customer-service messages WeChat delivered to the reader.
async fn delivered(base: &str, openid: &str) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{base}/sim/api/_control/inbox?openid={openid}")).await.unwrap().json().await.unwrap();
    v["messages"].as_array().cloned().unwrap_or_default()
}

fn rule(kind: &str, pattern: &str, priority: i64, text: &str) -> wxlib::answers::Rule {
    RuleInput {
        match_kind: kind.into(),
        pattern: pattern.into(),
        priority: priority.to_string(),
        answer_kind: "text".into(),
        answer_text: text.into(),
        enabled: Some("on".into()),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

#[tokio::test]
async fn keyword_rules_answer_by_priority_and_edits_are_live() {
    let db = sqlite_db().await;
    let (s, base) = app(&db, None, |_| {}).await;
    follow(&base, "oRules1").await;
    let first_contains = s.db.insert_answer_rule(&rule("contains", "打印", 0, "自助打印机在一楼大厅"), now()).await.unwrap();
    let exact = s.db.insert_answer_rule(&rule("exact", "打印价格", 10, "黑白 0.1 元/页"), now()).await.unwrap();
    let article = RuleInput {
        match_kind: "pattern".into(),
        pattern: r"(?i)^wi-?fi\s*密码$".into(),
        priority: "5".into(),
        answer_kind: "article".into(),
        title: "校园无线网络".into(),
        description: "连接方法".into(),
        url: "https://lib.example.edu/wifi".into(),
        enabled: Some("on".into()),
        ..Default::default()
    };
    s.db.insert_answer_rule(&article.validate().unwrap(), now()).await.unwrap();

    assert_eq!(reply_text(&say(&base, "oRules1", "打印价格").await), "黑白 0.1 元/页", "the higher priority wins");
    assert_eq!(reply_text(&say(&base, "oRules1", "周末能打印吗").await), "自助打印机在一楼大厅");
    let news = say(&base, "oRules1", "WiFi 密码").await;
    assert_eq!(news["type"], "news", "{news}");
    assert!(news.to_string().contains("校园无线网络"), "{news}");
    // Not a rule: the catalog answers as before.
    assert!(reply_text(&say(&base, "oRules1", "三体").await).contains("没有找到"));

    // An edit on this node (the console calls forget) is seen by the next message, a delete too.
    s.db.update_answer_rule(exact, &rule("exact", "打印价格", 10, "黑白 0.1 元/页，彩色 1 元/页"), now()).await.unwrap();
    s.answers.forget();
    assert_eq!(reply_text(&say(&base, "oRules1", "打印价格").await), "黑白 0.1 元/页，彩色 1 元/页");
    s.db.delete_answer_rule(exact).await.unwrap();
    s.answers.forget();
    assert_eq!(reply_text(&say(&base, "oRules1", "打印价格").await), "自助打印机在一楼大厅");
    // An edit made elsewhere (another node, the command line) moves the version in the store;
    // it is seen once this node looks at the version again, within a second.
    s.db.update_answer_rule(first_contains, &rule("contains", "打印", 0, "自助打印机在二楼"), now()).await.unwrap();
    tokio::time::sleep(wxlib::recent::FRESH_FOR + std::time::Duration::from_millis(50)).await;
    assert_eq!(reply_text(&say(&base, "oRules1", "打印价格").await), "自助打印机在二楼");

    // A bad pattern never reaches the store.
    let before = s.db.answer_rules().await.unwrap().len();
    let bad = RuleInput {
        match_kind: "pattern".into(),
        pattern: "(打印".into(),
        answer_kind: "text".into(),
        answer_text: "x".into(),
        ..Default::default()
    };
    assert!(bad.validate().unwrap_err().to_string().contains("regular expression"));
    assert_eq!(s.db.answer_rules().await.unwrap().len(), before);
    assert!(matches!(s.db.answer_rules().await.unwrap()[0].answer, Answer::Article { .. }));
}

#[tokio::test]
async fn questions_reach_the_inbox_and_searches_stay_searches() {
    let db = sqlite_db().await;
    let (s, base) = app(&db, Some("zebra-sample-marc21-marc8.mrc"), |c| {
        c.consultation.working_days = "1-7".into();
        c.consultation.working_hours = "00:00-24:00".into();
    })
    .await;
    follow(&base, "oAsk1").await;
    // A query searches.
    assert!(reply_text(&say(&base, "oAsk1", "internet").await).contains("检索结果"));
    // A title that merely starts with an opening word still searches.
    assert!(reply_text(&say(&base, "oAsk1", "咨询心理学").await).contains("没有找到"));
    // A question with no catalog hits goes to the librarians, stored before the answer.
    let r = reply_text(&say(&base, "oAsk1", "图书馆几点开门？").await);
    assert!(r.contains("已转给馆员"), "{r}");
    let thread = s.db.consultation("oAsk1", 50).await.unwrap();
    assert_eq!(thread.len(), 1);
    assert_eq!((thread[0].direction.as_str(), thread[0].content.as_str(), thread[0].status.as_str()), ("in", "图书馆几点开门？", "unread"));

    // "人工" opens a session: everything goes to the inbox, even a borrowing command, until "结束".
    let opened = reply_text(&say(&base, "oAsk1", "人工").await);
    assert!(opened.contains("结束") && opened.contains("馆员"), "{opened}");
    let first = say(&base, "oAsk1", "借书证丢了").await;
    assert_eq!(first["type"], "success", "acknowledged once already: {first}");
    say(&base, "oAsk1", "借阅").await;
    assert!(reply_text(&say(&base, "oAsk1", "结束").await).contains("已结束"));
    assert!(reply_text(&say(&base, "oAsk1", "internet").await).contains("检索结果"), "searching again after the session");
    let texts: Vec<String> = s.db.consultation("oAsk1", 50).await.unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(texts, ["图书馆几点开门？", "借书证丢了", "借阅"]);

    // The inbox lists the reader with the unread count and context (not bound; last searches).
    let conversations = s.db.conversations(10).await.unwrap();
    assert_eq!(conversations[0].openid, "oAsk1");
    assert_eq!(conversations[0].unread, 3);
    let (secs, sends) = conversations[0].window_open(now()).expect("the window is open");
    assert!((47 * 3600..=48 * 3600).contains(&secs) && sends == 5, "{secs} s, {sends} sends");
    let ctx = s.db.reader_context("oAsk1", now()).await.unwrap();
    assert!(ctx.card.is_none() && ctx.subscribed);
    assert_eq!(ctx.searches[0].1, "internet");
    assert_eq!(ctx.sends_left(), 5);
    s.db.mark_consultation_read("oAsk1").await.unwrap();
    assert_eq!(s.db.unread_consultations().await.unwrap(), 0);
}

#[tokio::test]
async fn outside_working_hours_the_reader_is_told_and_nothing_is_lost() {
    let db = sqlite_db().await;
    // Librarians work only on a day that is not today.
    let today = ((now() + 8 * 3600).div_euclid(86_400) + 3).rem_euclid(7) + 1;
    let other = today % 7 + 1;
    let (s, base) = app(&db, None, |c| {
        c.consultation.working_days = other.to_string();
        c.consultation.working_hours = "08:30-17:30".into();
    })
    .await;
    follow(&base, "oNight").await;
    let r = reply_text(&say(&base, "oNight", "咨询：研究生能借几本书").await);
    assert!(r.contains("工作时间") && r.contains("已保存"), "{r}");
    let thread = s.db.consultation("oNight", 10).await.unwrap();
    assert_eq!(thread.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["研究生能借几本书"]);
}

#[tokio::test]
async fn an_answer_goes_once_inside_the_window_and_never_outside() {
    for (name, db) in all_dbs().await {
        let (s, base) = app(&db, None, |_| {}).await;
        follow(&base, "oWin1").await;
        say(&base, "oWin1", "咨询 怎么借阅期刊").await;
        let before = s.db.reader_context("oWin1", now()).await.unwrap();
        assert_eq!(before.sends_left(), 5, "{name}: a message gives 5 sends");
        let wxlib::wechat::followers::WindowState::Open { expires_at, .. } = before.window else { panic!("{name}: window open") };
        assert!((expires_at - now() - 48 * 3600).abs() < 10, "{name}: 48 hours");

        let out = consultation::answer_reader(&s, "oWin1", "期刊在三楼阅览室，可借 7 天。", 1, "lib1", "form-a").await.unwrap();
        assert!(matches!(out, AnswerOutcome::Queued(_)), "{name}");
        // The same form again (double click, resubmission) sends nothing new.
        let again = consultation::answer_reader(&s, "oWin1", "期刊在三楼阅览室，可借 7 天。", 1, "lib1", "form-a").await.unwrap();
        assert_eq!(again, AnswerOutcome::Duplicate, "{name}");
        let mut got = Vec::new();
        for _ in 0..100 {
            got = delivered(&base, "oWin1").await;
            if !got.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got_all = delivered(&base, "oWin1").await;
        assert_eq!(got_all.len(), 1, "{name}: {got:?}");
        let content = got_all[0]["body"]["text"]["content"].as_str().unwrap_or_default();
        assert!(content.starts_with("期刊在三楼阅览室，可借 7 天。") && content.contains("回复“结束”"), "{name}: {content}");
        let thread = s.db.consultation("oWin1", 10).await.unwrap();
        let answer = thread.iter().find(|m| m.direction == "out").unwrap();
        assert_eq!((answer.delivery.as_deref(), answer.librarian.as_deref()), (Some("sent"), Some("lib1")), "{name}");
        assert_eq!(s.db.reader_context("oWin1", now()).await.unwrap().sends_left(), 4, "{name}");
        // The reader's reply goes to the librarians (the answer reopened the session).
        say(&base, "oWin1", "谢谢，周末也开吗").await;
        assert_eq!(
            s.db.consultation("oWin1", 10).await.unwrap().last().map(|m| m.content.clone()).as_deref(),
            Some("谢谢，周末也开吗"),
            "{name}"
        );
        assert!(reply_text(&say(&base, "oWin1", "结束").await).contains("已结束"), "{name}");
        assert!(reply_text(&say(&base, "oWin1", "结束").await).contains("没有进行中的咨询"), "{name}");

        // Count used up: refused, kept as undeliverable.
        s.db.open_window("oWin1", now(), 48 * 3600, 5).await.unwrap();
        for _ in 0..5 {
            s.db.count_window_send("oWin1").await.unwrap();
        }
        let e = consultation::answer_reader(&s, "oWin1", "还有一条", 1, "lib1", "form-b").await.unwrap_err();
        assert!(matches!(e, AnswerError::CountUsedUp), "{name}: {e}");
        // Window closed (48 hours passed): refused, kept as undeliverable.
        wxlib::with_pool!(&s.db, |pool| sqlx::query("UPDATE followers SET window_expires_at = 1 WHERE openid = 'oWin1'")
            .execute(pool)
            .await
            .unwrap()
            .rows_affected());
        let e = consultation::answer_reader(&s, "oWin1", "迟到的回复", 1, "lib1", "form-c").await.unwrap_err();
        assert!(matches!(e, AnswerError::WindowClosed), "{name}: {e}");
        let statuses: Vec<(String, String)> =
            s.db.consultation("oWin1", 10)
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.direction == "out")
                .map(|m| (m.content, m.status))
                .collect();
        assert_eq!(
            statuses,
            [
                ("期刊在三楼阅览室，可借 7 天。".to_owned(), "queued".to_owned()),
                ("还有一条".into(), "undeliverable".into()),
                ("迟到的回复".into(), "undeliverable".into())
            ],
            "{name}"
        );
        assert_eq!(delivered(&base, "oWin1").await.len(), 1, "{name}: nothing else went out");
        // The inbox queries on this backend: conversations, unread, canned answers.
        let list = s.db.conversations(10).await.unwrap();
        assert_eq!((list[0].openid.as_str(), list[0].unread, list[0].last_direction.as_str()), ("oWin1", 2, "out"), "{name}");
        assert_eq!(list[0].window_open(now()), None, "{name}: the list shows the window closed");
        s.db.mark_consultation_read("oWin1").await.unwrap();
        assert_eq!(s.db.unread_consultations().await.unwrap(), 0, "{name}");
        let canned = s.db.insert_canned_answer("期刊", "期刊在三楼", now()).await.unwrap();
        assert_eq!(s.db.canned_answers().await.unwrap()[0].body, "期刊在三楼", "{name}");
        assert!(s.db.delete_canned_answer(canned).await.unwrap());
        // Empty and unknown readers are refused outright.
        assert!(matches!(consultation::answer_reader(&s, "oWin1", "  ", 1, "lib1", "form-d").await, Err(AnswerError::Empty)));
        assert!(matches!(consultation::answer_reader(&s, "oNobody", "hi", 1, "lib1", "form-e").await, Err(AnswerError::UnknownReader)));
    }
}

fn media_message(openid: &str, msg_id: u64, msg_type: &str, fields: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{fields}<MsgId>{msg_id}</MsgId></xml>",
        now()
    )
}

#[tokio::test]
async fn pictures_and_voice_in_a_session_reach_the_inbox_once_even_when_wechat_retries() {
    let fake = fake_api().await;
    let app = spawn_app_on(sqlite_db().await, &fake.base, wxlib::conversation::router()).await;
    let ts = now().to_string();
    // Outside a session a picture gets the help text, with how to show it to a librarian.
    let pic = media_message(
        "oMedia1",
        70,
        "image",
        "<PicUrl><![CDATA[http://mmbiz.example/pic1.jpg]]></PicUrl><MediaId><![CDATA[media70]]></MediaId>",
    );
    let sent = app.post_encrypted(&pic, "n70", &ts).await;
    assert!(app.open_reply(&sent.body).contains("人工"), "{}", sent.body);
    assert!(app.db.consultation("oMedia1", 10).await.unwrap().is_empty());

    app.post_encrypted(&text_message("oMedia1", 71, "人工"), "n71", &ts).await;
    let pic = media_message(
        "oMedia1",
        72,
        "image",
        "<PicUrl><![CDATA[http://mmbiz.example/pic2.jpg]]></PicUrl><MediaId><![CDATA[media72]]></MediaId>",
    );
    // WeChat retries the identical request: stored once.
    for _ in 0..2 {
        let sent = app.post_encrypted(&pic, "n72", &ts).await;
        assert_eq!(sent.status, 200);
    }
    let voice = media_message(
        "oMedia1",
        73,
        "voice",
        "<MediaId><![CDATA[media73]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[续借可以在手机上办吗]]></Recognition>",
    );
    app.post_encrypted(&voice, "n73", &ts).await;
    let thread = app.db.consultation("oMedia1", 10).await.unwrap();
    let got: Vec<(&str, &str, Option<&str>)> =
        thread.iter().map(|m| (m.msg_type.as_str(), m.content.as_str(), m.media_id.as_deref())).collect();
    assert_eq!(got, [("image", "http://mmbiz.example/pic2.jpg", Some("media72")), ("voice", "续借可以在手机上办吗", Some("media73"))]);
}

#[tokio::test]
async fn the_ask_a_librarian_menu_item_opens_a_consultation() {
    let db = sqlite_db().await;
    let (s, base) = app(&db, None, |c| {
        c.consultation.working_days = "1-7".into();
        c.consultation.working_hours = "00:00-24:00".into();
    })
    .await;
    let menu = json!({"button": [{"name": "图书馆", "sub_button": [{"type": "click", "name": "咨询馆员", "key": wxlib::menu::MENU_ASK}]}]});
    wxlib::menu::validate(&menu).unwrap();
    s.api.create_menu(&menu).await.unwrap();
    follow(&base, "oMenuAsk").await;
    let clicked = post(format!("{base}/sim/readers/oMenuAsk/click"), json!({"key": wxlib::menu::MENU_ASK})).await;
    let text = clicked["reply"]["content"].as_str().unwrap_or_default().to_owned();
    assert!(text.contains("转接馆员") && text.contains("30 分钟") && text.contains("结束"), "{clicked}");
    // The next text is for the librarians, even one that would search the catalog.
    let ack = say(&base, "oMenuAsk", "三体").await;
    assert_eq!(ack["type"], "success", "acknowledged by the opening already: {ack}");
    assert_eq!(s.db.consultation("oMenuAsk", 10).await.unwrap()[0].content, "三体");
}

#[tokio::test]
async fn a_librarian_keeps_rules_and_answers_in_the_console_and_bad_input_changes_nothing() {
    use wxlib::console::{Role, auth::create_librarian};
    for (name, db) in all_dbs().await {
        let (s, base) = app(&db, None, |_| {}).await;
        create_librarian(&s.db, "lin", "a long enough password", Role::Librarian).await.unwrap();
        let lib = console_login(&base, "lin", "a long enough password").await.unwrap_or_else(|r| panic!("{name}: sign-in: {}", r.body));

        // Rules: a bad pattern is refused with the reason and nothing is saved; then a good one.
        let bad = lib
            .post(
                "/console/answers",
                &[
                    ("match_kind", "pattern"),
                    ("pattern", "(借书"),
                    ("priority", "0"),
                    ("answer_kind", "text"),
                    ("answer_text", "x"),
                    ("enabled", "on"),
                ],
            )
            .await;
        assert_eq!(bad.status, 400, "{name}");
        assert!(bad.body.contains("正则表达式无效") && bad.body.contains("(借书"), "{name}: the reason, and the form as typed");
        let bad = lib
            .post(
                "/console/answers",
                &[("match_kind", "exact"), ("pattern", "证件"), ("priority", "high"), ("answer_kind", "text"), ("answer_text", "x")],
            )
            .await;
        assert!(bad.status == 400 && bad.body.contains("优先级"), "{name}");
        assert!(s.db.answer_rules().await.unwrap().is_empty(), "{name}: nothing saved");
        let ok = lib
            .post(
                "/console/answers",
                &[
                    ("match_kind", "contains"),
                    ("pattern", "证件"),
                    ("priority", "3"),
                    ("answer_kind", "text"),
                    ("answer_text", "证件办理在一楼"),
                    ("enabled", "on"),
                ],
            )
            .await;
        assert_eq!((ok.status, ok.location.as_deref()), (303, Some("/console/answers?done=created")), "{name}");
        let tried = lib.get("/console/answers?test=%E8%AF%81%E4%BB%B6%E5%9C%A8%E5%93%AA").await;
        assert!(tried.body.contains("id=\"test-result\"") && tried.body.contains("证件办理在一楼"), "{name}");
        // Without the CSRF token: refused, nothing saved.
        let forged = lib
            .post_raw("/console/answers", &[("match_kind", "exact"), ("pattern", "x"), ("answer_kind", "text"), ("answer_text", "x")])
            .await;
        assert_eq!(forged.status, 403, "{name}");
        assert_eq!(s.db.answer_rules().await.unwrap().len(), 1, "{name}");

        // The inbox: a question arrives, the librarian answers, the reader gets it.
        follow(&base, "oConsole1").await;
        say(&base, "oConsole1", "咨询：自习室可以过夜吗").await;
        let inbox = lib.get("/console/inbox/list").await;
        assert!(inbox.body.contains("oConsole1") && inbox.body.contains("自习室可以过夜吗"), "{name}: {}", inbox.body);
        let thread = lib.get("/console/inbox/r/oConsole1").await;
        assert!(thread.body.contains("还可发送 5 条") && thread.body.contains("未绑定一卡通"), "{name}");
        let empty = lib.post("/console/inbox/r/oConsole1/answer", &[("text", "  "), ("form_key", "k1")]).await;
        assert!(empty.status == 400 && empty.body.contains("回复不能为空"), "{name}");
        let sent = lib.post("/console/inbox/r/oConsole1/answer", &[("text", "不可以，自习室 22:30 关闭。"), ("form_key", "k2")]).await;
        assert_eq!(sent.status, 303, "{name}: {}", sent.body);
        let again = lib.post("/console/inbox/r/oConsole1/answer", &[("text", "不可以，自习室 22:30 关闭。"), ("form_key", "k2")]).await;
        assert_eq!(again.status, 303, "{name}");
        let mut got = Vec::new();
        for _ in 0..100 {
            got = delivered(&base, "oConsole1").await;
            if !got.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(delivered(&base, "oConsole1").await.len(), 1, "{name}: once: {got:?}");

        // The window closed: the librarian is told, the answer is kept as undeliverable.
        wxlib::with_pool!(&s.db, |pool| sqlx::query("UPDATE followers SET window_expires_at = 1 WHERE openid = 'oConsole1'")
            .execute(pool)
            .await
            .unwrap()
            .rows_affected());
        let late = lib.post("/console/inbox/r/oConsole1/answer", &[("text", "补充：周末 23:00 关闭。"), ("form_key", "k3")]).await;
        assert!(late.status == 409 && late.body.contains("窗口已关闭"), "{name}: {}", late.status);
        assert!(late.body.contains("未送达"), "{name}: the thread marks it");
        assert_eq!(delivered(&base, "oConsole1").await.len(), 1, "{name}");

        // Canned answers: an empty title is refused.
        let bad = lib.post("/console/inbox/canned", &[("title", ""), ("body", "x")]).await;
        assert_eq!(bad.status, 400, "{name}");
        assert!(s.db.canned_answers().await.unwrap().is_empty(), "{name}");

        // Every change and every answer is audited under the librarian's name.
        let audit = s.db.audit_entries("", 50, 0).await.unwrap();
        let actions: Vec<(&str, Option<&str>)> = audit.iter().map(|e| (e.action.as_str(), e.username.as_deref())).collect();
        for action in ["answers.create", "inbox.answer", "inbox.answer_undeliverable"] {
            assert!(actions.contains(&(action, Some("lin"))), "{name}: {action} in {actions:?}");
        }
        assert_eq!(actions.iter().filter(|(a, _)| *a == "inbox.answer").count(), 1, "{name}: the resubmitted form is not a second answer");
    }
}

#[tokio::test]
async fn an_edit_on_one_node_answers_on_another() {
    for (name, db) in all_dbs().await {
        // Two stateless nodes on one database, each with its own in-memory copy of the rules.
        let (a, _) = app(&db, None, |_| {}).await;
        let (_b, base_b) = app(&db, None, |_| {}).await;
        follow(&base_b, "oTwoNodes").await;
        assert!(!reply_text(&say(&base_b, "oTwoNodes", "校园卡充值").await).contains("圈存机"), "{name}: no rule yet");
        // Node B looks at the rules' version at most once a second (wxlib::recent::FRESH_FOR).
        let b_looks_again = || tokio::time::sleep(wxlib::recent::FRESH_FOR + std::time::Duration::from_millis(100));
        let id = a.db.insert_answer_rule(&rule("contains", "充值", 0, "校园卡可在一楼圈存机充值。"), now()).await.unwrap();
        b_looks_again().await;
        assert_eq!(reply_text(&say(&base_b, "oTwoNodes", "校园卡充值").await), "校园卡可在一楼圈存机充值。", "{name}");
        a.db.update_answer_rule(id, &rule("contains", "充值", 0, "校园卡请在微信“校园卡”小程序充值。"), now()).await.unwrap();
        b_looks_again().await;
        assert_eq!(reply_text(&say(&base_b, "oTwoNodes", "校园卡充值").await), "校园卡请在微信“校园卡”小程序充值。", "{name}");
    }
}

#[tokio::test]
async fn readers_of_an_english_account_are_answered_in_english() {
    let db = sqlite_db().await;
    let (s, base) = app(&db, None, |c| {
        c.wechat.lang = "en".into();
        c.consultation.working_days = "1-7".into();
        c.consultation.working_hours = "00:00-24:00".into();
    })
    .await;
    follow(&base, "oEnglish1").await;
    let r = reply_text(&say(&base, "oEnglish1", "Where can I print my thesis?").await);
    assert!(r.contains("went to the librarians"), "{r}");
    let opened = reply_text(&say(&base, "oEnglish1", "ask a librarian").await);
    assert!(opened.contains("talking to the librarians") && opened.contains("\"end\""), "{opened}");
    assert!(reply_text(&say(&base, "oEnglish1", "end").await).contains("has ended"));
    assert_eq!(s.db.consultation("oEnglish1", 10).await.unwrap().len(), 1);
}
