use std::time::Duration;

use serde_json::{Value, json};
use wxlib::clock::{day_of, day_string, weekday};
use wxlib::console::{Role, auth};
use wxlib::startup::Application;

use crate::helpers::*;

/// wxlib with the simulator on (its WeChat API is its own `/sim/api`), an admin and a librarian
/// signed in to the console.
struct World {
    s: wxlib::services::Services,
    base: String,
    admin: ConsoleSession,
    librarian: ConsoleSession,
    _db: TestDb,
}

async fn world() -> World {
    world_on(sqlite_db().await).await
}

async fn world_on(db: TestDb) -> World {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut config = test_config(&db.url, &format!("{base}/sim/api"));
    config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.server.public_url = base.clone();
    config.wechat.oauth_base = format!("{base}/sim/api");
    config.simulator.enabled = true;
    let app = Application::build(config).await.unwrap();
    let s = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    auth::create_librarian(&s.db, "chief", "chief-password", Role::Admin).await.unwrap();
    auth::create_librarian(&s.db, "li", "librarian-pw", Role::Librarian).await.unwrap();
    let admin = console_login(&base, "chief", "chief-password").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));
    let librarian = console_login(&base, "li", "librarian-pw").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));
    World { s, base, admin, librarian, _db: db }
}

/// A simulated reader acting through the phone's JSON API; returns the action's answer.
async fn act(base: &str, openid: &str, action: &str, body: Value) -> Value {
    let r = reqwest::Client::new().post(format!("{base}/sim/readers/{openid}/{action}")).json(&body).send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{action} {body}: {status} {v}");
    v
}

fn reply_text(v: &Value) -> String {
    v["reply"]["content"].as_str().unwrap_or_default().to_owned()
}

/// The customer-service messages WeChat delivered to a reader, waiting up to 10 s for `n`.
async fn pushes(base: &str, openid: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..100 {
        let v: Value = reqwest::get(format!("{base}/sim/api/_control/inbox?openid={openid}")).await.unwrap().json().await.unwrap();
        out = v["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| m["body"]["text"]["content"].as_str().unwrap_or_default().to_owned())
            .collect();
        if out.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    out
}

/// The menu editor's form fields for the menu currently shown at /console/menu.
async fn menu_form(session: &ConsoleSession) -> Vec<(String, String)> {
    let page = session.get("/console/menu").await.body;
    let mut fields = Vec::new();
    let mut rest = page.as_str();
    // Text inputs: name="gX…" value="…"; selects: the selected option.
    while let Some(at) = rest.find("name=\"g") {
        rest = &rest[at + 6..];
        let name = rest[..rest.find('"').unwrap()].to_owned();
        let tag_end = rest.find('>').unwrap();
        if name.ends_with("_action") {
            let select_end = rest.find("</select>").unwrap();
            let select = &rest[..select_end];
            let value = select.find("\" selected").map(|i| {
                let start = select[..i].rfind("value=\"").unwrap() + 7;
                select[start..i].to_owned()
            });
            fields.push((name, value.unwrap_or_default()));
        } else {
            let tag = &rest[..tag_end];
            let value = tag.find("value=\"").map(|i| tag[i + 7..][..tag[i + 7..].find('"').unwrap()].to_owned()).unwrap_or_default();
            fields.push((name, value.replace("&amp;", "&").replace("&quot;", "\"")));
        }
    }
    fields
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(f) => f.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

async fn post_fields(session: &ConsoleSession, path: &str, fields: &[(String, String)]) -> ConsoleResponse {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    session.post(path, &borrowed).await
}

#[tokio::test]
async fn menu_editor_checks_saves_and_publishes() {
    let w = world().await;
    let page = w.admin.get("/console/menu").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"图书查询\"") && page.body.contains("value=\"借阅信息\""), "the study's menu is the default");
    let before = wxlib::menu::current_menu(&w.s).await.unwrap();

    // Wrong input: a group name over 16 bytes, a link that is not http(s), an item with no action.
    let mut fields = menu_form(&w.admin).await;
    set(&mut fields, "g0_name", "图书查询与检索");
    let r = post_fields(&w.admin, "/console/menu", &fields).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("21 字节") && r.body.contains("16 字节"), "{}", r.body);
    assert!(r.body.contains("value=\"图书查询与检索\""), "the form comes back as typed");
    let mut fields = menu_form(&w.admin).await;
    set(&mut fields, "g2_3_name", "官网");
    set(&mut fields, "g2_3_action", "view");
    set(&mut fields, "g2_3_value", "javascript:alert(1)");
    assert!(post_fields(&w.admin, "/console/menu", &fields).await.body.contains("http://"));
    set(&mut fields, "g2_3_action", "");
    assert!(post_fields(&w.admin, "/console/menu", &fields).await.body.contains("请选择一个功能"));
    assert_eq!(wxlib::menu::current_menu(&w.s).await.unwrap(), before, "nothing saved");

    // A librarian adds 开放时间 and 新生指南 to the 图书馆 group and saves.
    let mut fields = menu_form(&w.librarian).await;
    set(&mut fields, "g2_3_name", "开放时间");
    set(&mut fields, "g2_3_action", "builtin:hours");
    set(&mut fields, "g2_4_name", "新生指南");
    set(&mut fields, "g2_4_action", "builtin:guide");
    let r = post_fields(&w.librarian, "/console/menu", &fields).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let saved = wxlib::menu::current_menu(&w.s).await.unwrap();
    assert_eq!(saved["button"][2]["sub_button"][3], json!({"type": "click", "name": "开放时间", "key": "OPENING_HOURS"}));

    // Publishing is for admins; the librarian is refused and WeChat has no menu.
    let r = w.librarian.post("/console/menu/push", &[]).await;
    assert_eq!(r.status, 403);
    let sim_menu: Value = reqwest::get(format!("{}/sim/api/_control/menu", w.base)).await.unwrap().json().await.unwrap();
    assert!(sim_menu["menu"].is_null(), "{sim_menu}");
    assert_eq!(w.admin.post_raw("/console/menu/push", &[]).await.status, 403, "no CSRF token, no push");

    let r = w.admin.post("/console/menu/push", &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let sim_menu: Value = reqwest::get(format!("{}/sim/api/_control/menu", w.base)).await.unwrap().json().await.unwrap();
    assert_eq!(sim_menu["menu"]["button"][2]["sub_button"][3]["key"], "OPENING_HOURS", "{sim_menu}");
    assert!(w.admin.get("/console/menu").await.body.contains("已发布到微信"));
    let actions: Vec<String> =
        w.s.db
            .audit_entries("menu.", 10, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{}:{}", e.action, e.username.unwrap_or_default()))
            .collect();
    assert_eq!(actions, ["menu.push:chief", "menu.save:li"]);

    // A reader taps the new items.
    let reader = "oSimMenuReader00000000000001";
    act(&w.base, reader, "follow", json!({})).await;
    let hours = act(&w.base, reader, "click", json!({"key": "OPENING_HOURS"})).await;
    assert!(reply_text(&hours).contains("开放时间尚未公布"), "{hours}");
    let guide = act(&w.base, reader, "click", json!({"key": "FRESHMAN_GUIDE"})).await;
    assert!(reply_text(&guide).contains("/pages/guide#part-1"), "{guide}");
}

#[tokio::test]
async fn opening_hours_with_a_holiday_exception() {
    for (_backend, db) in all_dbs().await {
        opening_hours_story(world_on(db).await).await;
    }
}

async fn opening_hours_story(w: World) {
    let c = &w.librarian;

    // Wrong input gets a clear message and adds nothing.
    let r = c.post("/console/hours/places", &[("name", "总馆"), ("name_en", "Main library"), ("hours", "22:00-08:00")]).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("结束时间必须晚于开始时间"), "{}", r.body);
    let r = c.post("/console/hours/places", &[("name", "总馆"), ("hours", "08:00-12:00,11:00-13:00")]).await;
    assert!(r.body.contains("重叠"));
    let r = c.post("/console/hours/places", &[("name", ""), ("hours", "08:00-22:00")]).await;
    assert!(r.body.contains("请填写地点名称"));
    assert!(w.s.db.places().await.unwrap().is_empty());

    assert_eq!(
        c.post("/console/hours/places", &[("name", "总馆"), ("name_en", "Main library"), ("hours", "08:00-22:00")]).await.status,
        303
    );
    assert_eq!(c.post("/console/hours/places", &[("name", "自习室"), ("hours", "07:00-23:30")]).await.status, 303);
    assert_eq!(c.post("/console/hours/places", &[("name", "总馆"), ("hours", "08:00-22:00")]).await.status, 400, "names are unique");
    let places = w.s.db.places().await.unwrap();
    let main = places.iter().find(|p| p.name == "总馆").unwrap().id;

    // The weekly schedule: weekends shorter, Sunday afternoon only; a typo is refused.
    let week = [
        ("d1", "08:00-22:00"),
        ("d2", "08:00-22:00"),
        ("d3", "08:00-22:00"),
        ("d4", "08:00-22:00"),
        ("d5", "08:00-22:00"),
        ("d6", "09:00-17:00"),
        ("d7", "13:00-17:00"),
    ];
    let mut typo = week.to_vec();
    typo[2] = ("d3", "8 to 10");
    let r = c.post(&format!("/console/hours/places/{main}"), &typo).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("周三") && r.body.contains("8 to 10"), "{}", r.body);
    assert_eq!(c.post(&format!("/console/hours/places/{main}"), &week).await.status, 303);

    let home = w.admin.get("/console").await.body;
    assert!(home.contains("总馆: ") && home.contains("id=\"followers\">0<"), "the home page shows today's hours: {home}");

    // Today's answer follows the weekly schedule.
    let today = day_of(w.s.clock.now());
    let expected_today = match weekday(today) {
        6 => "09:00–17:00",
        7 => "13:00–17:00",
        _ => "08:00–22:00",
    };
    let reader = "oSimHoursReader0000000000001";
    act(&w.base, reader, "follow", json!({})).await;
    let a = reply_text(&act(&w.base, reader, "text", json!({"content": "开放时间"})).await);
    assert!(a.contains(&format!("总馆：{expected_today}")) && a.contains("自习室：07:00–23:30"), "{a}");

    // A holiday in three days: the main library closed, for 2 days.
    let holiday = day_string(today + 3);
    let after = day_string(today + 4);
    for (fields, needle) in [
        (
            vec![("place", main.to_string()), ("first_day", "2026-02-30".into()), ("closed", "1".into()), ("reason", "国庆节".into())],
            "不是有效日期",
        ),
        (
            vec![
                ("place", main.to_string()),
                ("first_day", after.clone()),
                ("last_day", holiday.clone()),
                ("closed", "1".into()),
                ("reason", "国庆节".into()),
            ],
            "早于开始日期",
        ),
        (vec![("place", main.to_string()), ("first_day", holiday.clone()), ("closed", "1".into()), ("reason", "".into())], "请填写原因"),
        (
            vec![("place", main.to_string()), ("first_day", holiday.clone()), ("hours", "".into()), ("reason", "考试周".into())],
            "不是有效的时间段",
        ),
    ] {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let r = c.post("/console/hours/exceptions", &borrowed).await;
        assert_eq!(r.status, 400, "{fields:?}");
        assert!(r.body.contains(needle), "{needle}: {}", r.body);
    }
    assert!(w.s.db.hours_exceptions("1970-01-01").await.unwrap().is_empty(), "nothing saved");
    let r = c
        .post(
            "/console/hours/exceptions",
            &[("place", &main.to_string()), ("first_day", &holiday), ("last_day", &after), ("closed", "1"), ("reason", "国庆节")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = c
        .post(
            "/console/hours/exceptions",
            &[("place", &main.to_string()), ("first_day", &after), ("hours", "08:00-23:00"), ("reason", "考试周")],
        )
        .await;
    assert_eq!(r.status, 400, "overlapping exceptions are refused");
    assert!(r.body.contains("已有调整"));
    assert_eq!(w.s.db.hours_exceptions("1970-01-01").await.unwrap().len(), 1);

    // Asking for the day itself, ahead of time.
    let a = reply_text(&act(&w.base, reader, "text", json!({"content": format!("开放时间 {holiday}")})).await);
    assert!(a.starts_with(&holiday) && a.contains("总馆：闭馆（国庆节）"), "{a}");
    let a = reply_text(&act(&w.base, reader, "text", json!({"content": "开放时间 明年"})).await);
    assert!(a.contains("今天") && a.contains("开放时间 10-01"), "an unreadable day gets today's and a hint: {a}");

    // Asking today mentions the coming change; on the holiday the answer is "closed".
    let a = reply_text(&act(&w.base, reader, "text", json!({"content": "开放时间"})).await);
    assert!(a.contains("近期调整") && a.contains("国庆节"), "{a}");
    w.s.clock.advance(3 * 86_400);
    let a = reply_text(&act(&w.base, reader, "text", json!({"content": "今天开放吗"})).await);
    assert!(a.contains(&holiday) && a.contains("总馆：闭馆（国庆节）") && a.contains("自习室：07:00–23:30"), "{a}");
    let a = reply_text(&act(&w.base, reader, "text", json!({"content": "hours"})).await);
    assert!(a.contains("闭馆"), "{a}");
    w.s.clock.advance(2 * 86_400);
    let a = reply_text(&act(&w.base, reader, "text", json!({"content": "开放时间"})).await);
    assert!(!a.contains("闭馆"), "after the holiday the schedule is back: {a}");
    w.s.clock.advance(-5 * 86_400);

    // Announcing reaches the followers in their 48-hour window, once.
    let quiet = "oSimHoursQuiet00000000000001";
    // (a follower who has not been in touch for days: no open window)
    w.s.db.record_subscribe(quiet, None, w.s.clock.now() - 5 * 86_400).await.unwrap();
    let exception = w.s.db.hours_exceptions("1970-01-01").await.unwrap()[0].id;
    let r = c.post(&format!("/console/hours/exceptions/{exception}/announce"), &[]).await;
    assert_eq!(r.status, 303);
    let shown = c.get(r.location.as_deref().unwrap()).await.body;
    assert!(shown.contains("已向 1 位") && shown.contains("另有 1 位"), "{shown}");
    let got = pushes(&w.base, reader, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("开放时间调整") && got[0].contains("国庆节") && got[0].contains(&holiday), "{got:?}");
    assert!(pushes(&w.base, quiet, 0).await.is_empty());
    let audit: Vec<String> = w.s.db.audit_entries("hours.", 20, 0).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(audit, ["hours.announce", "hours.exception.add", "hours.week", "hours.place.add", "hours.place.add"]);
}

const MARCXML: &str = r#"<collection xmlns="http://www.loc.gov/MARC21/slim">
<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">new-1</controlfield>
<datafield tag="245" ind1="1" ind2="0"><subfield code="a">深度学习入门</subfield></datafield>
<datafield tag="100" ind1="1" ind2=" "><subfield code="a">斋藤康毅</subfield></datafield>
<datafield tag="650" ind1=" " ind2="0"><subfield code="a">机器学习</subfield></datafield></record>
<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">new-2</controlfield>
<datafield tag="245" ind1="1" ind2="0"><subfield code="a">宋词选</subfield></datafield>
<datafield tag="650" ind1=" " ind2="0"><subfield code="a">宋词</subfield></datafield></record>
</collection>"#;

#[tokio::test]
async fn new_resources_pages_and_the_guide_series() {
    for (_backend, db) in all_dbs().await {
        new_resources_story(world_on(db).await).await;
    }
}

async fn new_resources_story(w: World) {
    let c = &w.librarian;
    let now = w.s.clock.now();
    wxlib::catalog::import::import_bytes(
        &w.s.db,
        "new.xml",
        MARCXML.as_bytes(),
        wxlib::catalog::import::InputFormat::Auto,
        wxlib::catalog::import::InputCharset::Auto,
        now,
        &|_| {},
    )
    .await
    .unwrap();

    // E-resources: a wrong link is refused; a good one is listed.
    let r = c.post("/console/resources", &[("name", "中国知网"), ("url", "cnki.net"), ("access_note", "")]).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("http://"));
    let r = c
        .post(
            "/console/resources",
            &[
                ("name", "中国知网"),
                ("url", "https://www.cnki.net/"),
                ("access_note", "校园网内直接访问，校外请用 VPN"),
                ("subject", "综合"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(w.s.db.eresources().await.unwrap().len(), 1);

    // New books by date and subject on the public page.
    let page = reqwest::get(format!("{}/pages/new", w.base)).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("深度学习入门") && page.contains("宋词选") && page.contains("中国知网") && page.contains("校外请用 VPN"),
        "{page}"
    );
    assert!(page.contains("机器学习</a>(1)"), "subjects to browse: {page}");
    let page =
        reqwest::get(format!("{}/pages/new?subject=%E6%9C%BA%E5%99%A8%E5%AD%A6%E4%B9%A0", w.base)).await.unwrap().text().await.unwrap();
    assert!(page.contains("深度学习入门") && !page.contains("宋词选</a>"), "{page}");

    // The menu's 新书资源 answers both.
    assert_eq!(w.admin.post("/console/menu/push", &[]).await.status, 303);
    let reader = "oSimNewsReader00000000000001";
    act(&w.base, reader, "follow", json!({})).await;
    let a = reply_text(&act(&w.base, reader, "click", json!({"key": "NEW_BOOKS"})).await);
    assert!(a.contains("深度学习入门") && a.contains("中国知网") && a.contains("/pages/new"), "{a}");

    // About us: an empty title is refused; a saved page is what readers see.
    let r = c.post("/console/pages/about", &[("title", " "), ("body", "x")]).await;
    assert_eq!(r.status, 400);
    let r = c.post("/console/pages/about", &[("title", "关于我们"), ("body", "开放、包容的学习空间。\n\n地址：图书馆路 1 号")]).await;
    assert_eq!(r.status, 303);
    let page = reqwest::get(format!("{}/pages/about", w.base)).await.unwrap().text().await.unwrap();
    assert!(page.contains("图书馆路 1 号"));
    let a = reply_text(&act(&w.base, reader, "click", json!({"key": "ABOUT_US"})).await);
    assert!(a.starts_with("关于我们\n开放、包容的学习空间。"), "{a}");

    // The guide as a 3-part series, one day apart.
    let guide = "报到第一天\n带上一卡通进馆。\n---\n找书\n发送书名即可检索。\n---\n续借\n到期前可续借。";
    assert_eq!(c.post("/console/pages/guide", &[("title", "新生指南"), ("body", guide)]).await.status, 303);
    assert_eq!(c.post("/console/pages/guide/series", &[("enabled", "1"), ("every_days", "0")]).await.status, 400);
    assert_eq!(c.post("/console/pages/guide/series", &[("enabled", "1"), ("every_days", "1")]).await.status, 303);
    let fresh = "oSimFreshman0000000000000001";
    let welcome = reply_text(&act(&w.base, fresh, "follow", json!({})).await);
    assert!(welcome.contains("欢迎关注") && welcome.contains("【新生指南 1/3】报到第一天"), "{welcome}");
    // The reader writes back (a 48-hour window); a day later part 2 arrives.
    act(&w.base, fresh, "text", json!({"content": "谢谢"})).await;
    assert_eq!(wxlib::news::pages::run_due(&w.s).await.unwrap(), Default::default(), "nothing due yet");
    w.s.clock.advance(86_400 + 60);
    let run = wxlib::news::pages::run_due(&w.s).await.unwrap();
    assert_eq!((run.queued, run.window_closed), (1, 0));
    let got = pushes(&w.base, fresh, 1).await;
    assert!(got.iter().any(|m| m.contains("【新生指南 2/3】找书")), "{got:?}");
    // Two days later the window has closed: part 3 is not sent, and the console says so.
    w.s.clock.advance(2 * 86_400);
    let run = wxlib::news::pages::run_due(&w.s).await.unwrap();
    assert_eq!((run.queued, run.window_closed), (0, 1));
    let page = c.get("/console/pages").await.body;
    assert!(page.contains("未发送：读者的 48 小时窗口已关闭") && page.contains(fresh), "{page}");
    // Following again does not start the series over.
    act(&w.base, fresh, "unfollow", json!({})).await;
    let again = reply_text(&act(&w.base, fresh, "follow", json!({})).await);
    assert!(!again.contains("新生指南"), "{again}");
    let audit: Vec<String> = w.s.db.audit_entries("pages.", 20, 0).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(audit, ["pages.guide.series", "pages.save", "pages.save"]);
}
