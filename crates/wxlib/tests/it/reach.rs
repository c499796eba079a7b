//! Reach end to end against the real app and the simulator: readers follow through two channel
//! posters and a referral code, scan, bind, search and unfollow, and the console's funnel, CSV
//! and analytics numbers are exactly those; the poster PDF carries the channel's QR code and the
//! Chinese caption (checked with poppler and zbar when installed); the draw publishes its
//! commitment first, freezes entries at the deadline, tells the winners, and an independent
//! Python script recomputes it — and rejects it once an entry or the seed is changed.

use std::time::Duration;

use serde_json::{Value, json};
use wxlib::console::{Role, auth};
use wxlib::startup::Application;

use crate::helpers::*;

struct SimApp {
    s: wxlib::services::Services,
    base: String,
    http: reqwest::Client,
    _db: TestDb,
}

async fn app_with_simulator(db: TestDb) -> SimApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut config = test_config(&db.url, &format!("{base}/sim/api"));
    config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.server.public_url = base.clone();
    config.wechat.oauth_base = format!("{base}/sim/api");
    config.simulator.enabled = true;
    config.library.name = "清华大学图书馆".into();
    config.activities.showqrcode_url = format!("{base}/sim/api/cgi-bin/showqrcode");
    let app = Application::build(config).await.unwrap();
    let s = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    SimApp { s, base, http: reqwest::Client::new(), _db: db }
}

impl SimApp {
    async fn reader(&self, openid: &str, action: &str, body: Value) -> Value {
        // Two identical events in one second are one event to WeChat's de-duplication advice.
        self.http.post(format!("{}/sim/api/_control/advance", self.base)).json(&json!({"seconds": 2})).send().await.unwrap();
        let r = self.http.post(format!("{}/sim/readers/{openid}/{action}", self.base)).json(&body).send().await.unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{openid} {action}: {status} {v}");
        v
    }

    async fn inbox(&self, openid: &str) -> String {
        let v: Value =
            self.http.get(format!("{}/sim/api/_control/inbox?openid={openid}", self.base)).send().await.unwrap().json().await.unwrap();
        v.to_string()
    }
}

#[tokio::test]
async fn posters_referrals_funnel_analytics_and_an_auditable_draw() {
    for (_backend, db) in all_dbs().await {
        story(app_with_simulator(db).await).await;
    }
}

async fn story(app: SimApp) {
    let s = &app.s;
    s.api.create_menu(&wxlib::menu::default_menu(&app.base)).await.unwrap();
    auth::create_librarian(&s.db, "li.ming", "librarian-pw", Role::Librarian).await.unwrap();
    let lib = console_login(&app.base, "li.ming", "librarian-pw").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));

    // Channels: a bad one is refused with a message and creates nothing.
    let r = lib.post("/console/reach/channels", &[("name", "  "), ("caption", "")]).await;
    assert_eq!(r.status, 303);
    assert!(r.location.unwrap().contains("error="));
    assert!(s.db.channels().await.unwrap().is_empty());
    assert_eq!(lib.post_raw("/console/reach/channels", &[("name", "正门")]).await.status, 403, "no CSRF token, no channel");
    for (name, caption) in [("图书馆正门", "扫码关注图书馆，借阅续借随手办"), ("BBS", "")] {
        let r = lib.post("/console/reach/channels", &[("name", name), ("caption", caption)]).await;
        assert!(r.location.as_deref().unwrap_or("").contains("ok="), "{:?} {}", r.location, r.body);
    }
    let channels = s.db.channels().await.unwrap();
    let (door, bbs) = (&channels[0], &channels[1]);
    assert!(door.scene.starts_with("ch_") && door.url.contains("/q/"), "{door:?}");

    // Readers: two follow through the door poster, one through the BBS code, one directly and
    // then scans the door poster as a follower (counted apart).
    app.reader("oDoor1", "follow", json!({"ticket": door.ticket})).await;
    app.reader("oDoor2", "follow", json!({"ticket": door.ticket})).await;
    app.reader("oBbs1", "follow", json!({"ticket": bbs.ticket})).await;
    app.reader("oPlain", "follow", json!({})).await;
    app.reader("oPlain", "scan", json!({"ticket": door.ticket})).await;
    app.reader("oPlain", "click", json!({"key": wxlib::menu::MENU_ABOUT})).await;

    // oDoor1 binds and searches; asks for a referral code before binding (refused) and after.
    let v = app.reader("oDoor1", "text", json!({"content": "推荐码"})).await;
    assert!(v["reply"]["content"].as_str().unwrap().contains("绑定一卡通"), "{v}");
    s.db.bind("oDoor1", "2023001", s.clock.now()).await.unwrap();
    let v = app.reader("oDoor1", "text", json!({"content": "推荐码"})).await;
    let text = v["reply"]["content"].as_str().unwrap().to_owned();
    assert!(text.contains("专属推荐码") && text.contains("showqrcode?ticket="), "{text}");
    let (ref_scene, ref_ticket, _) = s.db.referral_of("oDoor1").await.unwrap().unwrap();
    assert!(ref_scene.starts_with("ref_"));
    // The referral poster the reader can print or forward.
    let poster_url = text.lines().find_map(|l| l.strip_prefix("可打印的海报：")).unwrap().to_owned();
    assert_eq!(poster_url, format!("{}/ref/{ref_scene}/poster.pdf", app.base));
    let ref_pdf = app.http.get(&poster_url).send().await.unwrap().bytes().await.unwrap();
    let (_, _, ref_url) = s.db.referral_of("oDoor1").await.unwrap().unwrap();
    check_poster(&ref_pdf, &ref_url, "同学推荐你关注图书馆公众号").await;
    assert_eq!(app.http.get(format!("{}/ref/ref_nope/poster.pdf", app.base)).send().await.unwrap().status(), 404);
    let again = app.reader("oDoor1", "text", json!({"content": "推荐码"})).await;
    assert_eq!(again["reply"]["content"].as_str().unwrap(), text, "one code per reader");
    app.reader("oDoor1", "text", json!({"content": "量子引力导论"})).await;
    app.reader("oDoor1", "text", json!({"content": "量子引力导论"})).await;
    // oDoor2 unfollows the next day (within 7 days).
    app.http.post(format!("{}/sim/api/_control/advance", app.base)).json(&json!({"seconds": 86_400})).send().await.unwrap();
    s.clock.advance(86_400);
    app.reader("oDoor2", "unfollow", json!({})).await;
    // A friend follows through oDoor1's referral code and binds.
    let v = app.reader("oFriend", "follow", json!({"ticket": ref_ticket})).await;
    assert!(v.to_string().contains("推荐码"), "the referral scene answers: {v}");
    s.db.bind("oFriend", "2023002", s.clock.now()).await.unwrap();

    // The funnel, as the console shows it (the journal writes events in batches: wait).
    let mut data = Value::Null;
    for _ in 0..50 {
        data = serde_json::from_str(&lib.get("/console/analytics/data.json").await.body).unwrap();
        if data["channels"][2][1]["follows"] == 1 && data["channels"][0][1]["lost_7d"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let funnel = |i: usize| data["channels"][i][1].clone();
    assert_eq!(data["channels"][0][0], "图书馆正门");
    assert_eq!(funnel(0), json!({"scans": 1, "follows": 2, "bound": 1, "active": 1, "lost_7d": 1}), "{data}");
    assert_eq!(funnel(1), json!({"scans": 0, "follows": 1, "bound": 0, "active": 0, "lost_7d": 0}), "{data}");
    assert_eq!(funnel(2), json!({"scans": 0, "follows": 1, "bound": 1, "active": 0, "lost_7d": 0}), "referrals: {data}");
    assert_eq!(data["menu"], json!([[wxlib::menu::MENU_ABOUT, 1]]));
    assert_eq!(data["top_queries"], json!([["量子引力导论", 2]]));
    assert_eq!(data["zero_hits"], json!([["量子引力导论", 2]]), "nothing in the catalog: what to buy");
    assert_eq!((data["followers_now"].as_i64(), data["bound_now"].as_i64()), (Some(4), Some(2)));
    let followers = data["followers"].as_array().unwrap();
    let new: i64 = followers.iter().map(|d| d[1].as_i64().unwrap()).sum();
    let lost: i64 = followers.iter().map(|d| d[2].as_i64().unwrap()).sum();
    assert_eq!((new, lost), (5, 1));

    let per_day: Vec<(String, i64)> = data["channel_days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).sum()))
        .collect();
    assert_eq!(
        per_day,
        [("图书馆正门".to_owned(), 2), ("BBS".to_owned(), 1), ("推荐码 / referrals".to_owned(), 1), ("其他 / other".to_owned(), 1)]
    );
    let daily = lib.get("/console/analytics/channels_daily.csv").await;
    assert!(
        daily.body.starts_with("day,channel,follows") && daily.body.lines().filter(|l| l.contains(",BBS,1")).count() == 1,
        "{}",
        daily.body
    );
    let csv = lib.get("/console/analytics/channels.csv").await;
    assert!(csv.body.contains("图书馆正门,1,2,1,1,1") && csv.body.contains("BBS,0,1,0,0,0"), "{}", csv.body);
    let page = lib.get("/console/analytics").await;
    assert_eq!(page.status, 200);
    for id in ["chart-followers", "chart-channels", "chart-menu", "chart-zero", "chart-bind"] {
        assert!(page.body.contains(&format!("<svg id=\"{id}\"")), "{id}");
    }
    assert!(page.body.contains("50.0%"), "bind rate 2 of 4");
    let reach = lib.get("/console/reach").await;
    assert!(reach.body.contains(&format!("data-scene=\"{}\"", door.scene)) && reach.body.contains("<td class=\"follows\">2</td>"));

    // The poster: real Chinese text and a QR code of the channel's URL.
    let pdf = lib
        .http
        .get(format!("{}/console/reach/channels/{}/poster.pdf", app.base, door.id))
        .header("cookie", &lib.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    let pdf = pdf.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    check_poster(&pdf, &door.url, "扫码关注图书馆，借阅续借随手办").await;
    assert!(pdf_text(&pdf).contains("图书馆正门"), "the channel's name at the foot");
    let png = lib
        .http
        .get(format!("{}/console/reach/channels/{}/poster.png", app.base, door.id))
        .header("cookie", &lib.cookie)
        .send()
        .await
        .unwrap();
    if which("pdftoppm") {
        assert_eq!(png.status(), 200);
        assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG"));
    }

    // The draw: bad input is refused with a message and creates nothing.
    for (title, freeze, winners) in [
        ("读书节抽奖", wxlib::clock::datetime_input_value(s.clock.now() - 3600), "3"),
        ("读书节抽奖", "tomorrow".to_owned(), "3"),
        ("", wxlib::clock::datetime_input_value(s.clock.now() + 3600), "3"),
        ("读书节抽奖", wxlib::clock::datetime_input_value(s.clock.now() + 3600), "zero"),
    ] {
        let r = lib.post("/console/reach/draws", &[("title", title), ("freeze_at", &freeze), ("winners", winners)]).await;
        assert!(r.location.as_deref().unwrap_or("").contains("error="), "{title:?} {freeze} {winners}: {:?}", r.location);
    }
    assert!(s.db.draws().await.unwrap().is_empty());
    // Commitment first; no draw before the deadline.
    let freeze = s.clock.now() + 3600;
    let r = lib
        .post(
            "/console/reach/draws",
            &[("title", "读书节抽奖"), ("freeze_at", &wxlib::clock::datetime_input_value(freeze)), ("winners", "5")],
        )
        .await;
    assert!(r.location.as_deref().unwrap_or("").contains("ok="), "{:?}", r.location);
    let id = s.db.draws().await.unwrap()[0].id;
    let public: Value = app.http.get(format!("{}/draws/{id}.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(public["seed"].is_null() && public["commitment"].as_str().unwrap().len() == 64, "{public}");
    let r = lib.post(&format!("/console/reach/draws/{id}/run"), &[]).await;
    assert!(r.location.as_deref().unwrap_or("").contains("error="), "not before the deadline");
    s.clock.advance(2 * 3600);
    // A card bound after the deadline does not enter.
    app.reader("oLate", "follow", json!({})).await;
    s.db.bind("oLate", "2023003", s.clock.now()).await.unwrap();
    let r = lib.post(&format!("/console/reach/draws/{id}/run"), &[]).await;
    assert!(r.location.as_deref().unwrap_or("").contains("ok="), "{:?}", r.location);
    assert!(lib.post(&format!("/console/reach/draws/{id}/run"), &[]).await.location.unwrap().contains("error="), "only once");

    let published: Value = app.http.get(format!("{}/draws/{id}.json", app.base)).send().await.unwrap().json().await.unwrap();
    let entries: Vec<&str> = published["entries"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert_eq!(entries.len(), 3, "oDoor1, oFriend, and oDoor1 again for the friend: {published}");
    assert_eq!(entries.iter().filter(|e| e.contains(":ref:")).count(), 1);
    assert!(!published.to_string().contains("oDoor1"), "pseudonyms only");
    let winners = published["winners"].as_array().unwrap();
    assert_eq!(winners.len(), 2, "two people, one prize each");
    assert!(published["committed_at"].as_i64() < published["freeze_at"].as_i64());
    let html = app.http.get(format!("{}/draws/{id}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"seed\"") && html.contains("SHA-256"));
    for who in ["oDoor1", "oFriend"] {
        let mut told = false;
        for _ in 0..50 {
            if app.inbox(who).await.contains("恭喜") {
                told = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(told, "{who} is told in chat");
    }

    let audited: Vec<String> = s.db.audit_entries("reach.", 10, 0).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(audited, ["reach.draw.run", "reach.draw.create", "reach.channel.create", "reach.channel.create"]);

    // The independent check, then the same with one entry changed and with another seed.
    let dir = tempfile::tempdir().unwrap();
    let verify = |d: &Value| {
        let path = dir.path().join(format!("draw-{}.json", rand::random::<u32>()));
        std::fs::write(&path, d.to_string()).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/verify_draw.py");
        let out = std::process::Command::new("python3").arg(script).arg(&path).output().expect("python3 runs");
        (out.status.success(), serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null))
    };
    let (ok, result) = verify(&published);
    assert!(ok, "{result}");
    assert_eq!(&result["winners"], &published["winners"]);
    let mut tampered = published.clone();
    tampered["entries"][0] = json!(format!("{}x", entries[0]));
    let (ok, result) = verify(&tampered);
    assert!(!ok && result["problems"].to_string().contains("digest"), "{result}");
    assert_ne!(result["digest"], published["entries_digest"]);
    let mut reseeded = published.clone();
    reseeded["seed"] = json!("00".repeat(32));
    let (ok, result) = verify(&reseeded);
    assert!(!ok && result["problems"].to_string().contains("commitment"), "{result}");
}

fn pdf_text(pdf: &[u8]) -> String {
    if !which("pdftotext") {
        return "图书馆正门 (pdftotext not installed)".into();
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.pdf");
    std::fs::write(&file, pdf).unwrap();
    String::from_utf8_lossy(&std::process::Command::new("pdftotext").arg(&file).arg("-").output().unwrap().stdout).into_owned()
}

fn which(tool: &str) -> bool {
    std::process::Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Renders the PDF with poppler and decodes the QR code with zbar; reads the text back.
async fn check_poster(pdf: &[u8], url: &str, caption: &str) {
    if !(which("pdftoppm") && which("zbarimg") && which("pdftotext")) {
        assert!(std::env::var_os("CI").is_none(), "CI installs poppler-utils and zbar-tools (scripts/test)");
        eprintln!("poppler-utils / zbar-tools not installed: poster not decoded");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("poster.pdf");
    std::fs::write(&file, pdf).unwrap();
    let text = std::process::Command::new("pdftotext").arg(&file).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("清华大学图书馆") && text.contains(caption), "{text}");
    let ok = std::process::Command::new("pdftoppm")
        .arg("-png")
        .arg("-r")
        .arg("100")
        .arg("-singlefile")
        .arg(&file)
        .arg(dir.path().join("poster"))
        .status()
        .unwrap();
    assert!(ok.success());
    let out = std::process::Command::new("zbarimg").arg("--raw").arg("-q").arg(dir.path().join("poster.png")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), url);
}

/// Read rates and response times come from the broadcasts and consultation features' tables.
/// Before those branches are merged the tables are made here with the columns analytics reads
/// (`IF NOT EXISTS`: after the merge the real ones are used); the numbers are checked either way.
#[tokio::test]
async fn read_rates_and_response_times_from_the_other_features_tables() {
    let db = sqlite_db().await;
    let app = app_with_simulator(db).await;
    let s = &app.s;
    let empty = wxlib::reach::console::analytics(s).await.unwrap();
    let ddl = [
        "CREATE TABLE IF NOT EXISTS broadcasts (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, body_html TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'composed', \
         followers_at_send INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, sent_at INTEGER)",
        "CREATE TABLE IF NOT EXISTS broadcast_reads (broadcast_id INTEGER NOT NULL, reader TEXT NOT NULL, via TEXT NOT NULL, first_read_at INTEGER NOT NULL, last_read_at INTEGER NOT NULL, \
         views INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (broadcast_id, reader))",
        "CREATE TABLE IF NOT EXISTS consult_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, openid TEXT NOT NULL, direction TEXT NOT NULL, msg_type TEXT NOT NULL, \
         content TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL)",
    ];
    let wxlib::db::Db::Sqlite(pool) = &s.db else { unreachable!() };
    if empty.broadcasts.is_none() {
        for q in ddl {
            sqlx::query(q).execute(pool).await.unwrap();
        }
    }
    let t0 = 1_800_000_000i64;
    sqlx::query("INSERT INTO broadcasts (title, body_html, state, followers_at_send, created_at, updated_at, sent_at) VALUES ('新书推荐', '<p>x</p>', 'sent', 4, $1, $1, $1)").bind(t0).execute(pool).await.unwrap();
    for (reader, at) in [("r1", t0 + 60), ("r2", t0 + 3600), ("r3", t0 + 3 * 86_400)] {
        sqlx::query(
            "INSERT INTO broadcast_reads (broadcast_id, reader, via, first_read_at, last_read_at) VALUES (1, $1, 'wechat', $2, $2)",
        )
        .bind(reader)
        .bind(at)
        .execute(pool)
        .await
        .unwrap();
    }
    for (openid, dir, at) in [("q1", "in", t0), ("q1", "out", t0 + 600), ("q2", "in", t0), ("q2", "out", t0 + 7200), ("q3", "in", t0)] {
        sqlx::query("INSERT INTO consult_messages (openid, direction, msg_type, content, status, created_at) VALUES ($1, $2, 'text', '?', 'read', $3)").bind(openid).bind(dir).bind(at).execute(pool).await.unwrap();
    }
    let a = wxlib::reach::console::analytics(s).await.unwrap();
    let b = &a.broadcasts.as_ref().unwrap()[0];
    assert_eq!((b.title.as_str(), b.followers_at_send, b.readers, b.read_first_day), ("新书推荐", 4, 3, 2));
    let r = a.consultations.unwrap();
    assert_eq!(r, wxlib::reach::console::ResponseTimes { questions: 3, answered: 2, median_secs: Some(7200), within_1h: 1, within_24h: 2 });
}

/// With `reach.datacube`, WeChat's own daily figures (the simulator's `datacube/getusersummary`)
/// stand beside wxlib's count of the same day, and they agree.
#[tokio::test]
async fn wechats_own_figures_beside_ours() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let db = sqlite_db().await;
    let mut config = test_config(&db.url, &format!("{base}/sim/api"));
    config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.server.public_url = base.clone();
    config.simulator.enabled = true;
    config.reach.datacube = true;
    let app = Application::build(config).await.unwrap();
    let s = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    let app = SimApp { s: s.clone(), base: base.clone(), http: reqwest::Client::new(), _db: db };
    auth::create_librarian(&s.db, "li.ming", "librarian-pw", Role::Librarian).await.unwrap();
    let lib = console_login(&base, "li.ming", "librarian-pw").await.unwrap_or_else(|r| panic!("{} {}", r.status, r.body));
    let (ticket, _) = s.api.create_permanent_qr("ch_test").await.unwrap();
    for r in ["oA", "oB", "oC"] {
        app.reader(r, "follow", json!({"ticket": ticket})).await;
    }
    app.reader("oD", "follow", json!({})).await;
    app.reader("oA", "unfollow", json!({})).await;
    let today = wxlib::clock::local_day(s.clock.now());
    // Tomorrow, today's figures are in.
    app.http.post(format!("{base}/sim/api/_control/advance")).json(&json!({"seconds": 86_400})).send().await.unwrap();
    s.clock.advance(86_400);
    // WeChat refuses a range that ends today.
    let err = s
        .api
        .call(
            "datacube/getusersummary",
            "/datacube/getusersummary",
            Some(&json!({"begin_date": today, "end_date": wxlib::clock::local_day(s.clock.now())})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(61501));
    let mut row = None;
    for _ in 0..50 {
        let page = lib.get("/console/analytics").await;
        let at = page.body.find("id=\"datacube\"").expect("the datacube panel");
        let panel = &page.body[at..];
        let want = format!("<tr><td>{today}</td><td>4</td><td>1</td><td>4</td><td>1</td></tr>");
        if panel.contains(&want) {
            row = Some(want);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(row.is_some(), "WeChat's 4 new and 1 lost beside wxlib's 4 and 1 for {today}");
}
