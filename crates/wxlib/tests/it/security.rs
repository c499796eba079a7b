//! Issue 18's security findings, one test per property, each run against the real app: what an
//! attacker tried, and that it is refused now.

use std::time::Duration;

use serde_json::json;
use wxlib::activities::ActivityDraft;
use wxlib::broadcasts::{self, Draft, Image};
use wxlib::config::Config;
use wxlib::lang::Lang;
use wxlib::startup::Application;

use crate::helpers::*;

/// An app serving the simulator (WeChat's API and web authorisation) on its own port.
struct SimApp {
    s: wxlib::services::Services,
    base: String,
    http: reqwest::Client,
    _db: TestDb,
}

async fn sim_app() -> SimApp {
    sim_app_with(|_| {}).await
}

async fn sim_app_with(adjust: impl FnOnce(&mut Config)) -> SimApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let db = sqlite_db().await;
    let mut config = test_config(&db.url, &format!("{base}/sim/api"));
    config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.server.public_url = base.clone();
    config.wechat.oauth_base = format!("{base}/sim/api");
    config.simulator.enabled = true;
    adjust(&mut config);
    let app = Application::build(config).await.unwrap();
    let s = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    SimApp { s, base, http: no_redirect_client(), _db: db }
}

impl SimApp {
    async fn follow(&self, openid: &str) {
        self.http.post(format!("{}/sim/api/_control/follow", self.base)).json(&json!({"openid": openid})).send().await.unwrap();
    }

    /// A news message sent to every follower.
    async fn sent_broadcast(&self, title: &str) -> i64 {
        let s = &self.s;
        let draft = broadcasts::validate(
            &Draft {
                title: title.into(),
                author: String::new(),
                digest: String::new(),
                body_html: "<p>正文</p>".into(),
                target_tag_id: None,
            },
            Lang::Zh,
        )
        .unwrap();
        let cover = Image { content_type: "image/png".into(), bytes: crate::broadcasts::PNG.to_vec() };
        let id = s.db.create_broadcast(&draft, Some(&cover), "lib1", s.clock.now()).await.unwrap();
        assert!(s.db.queue_broadcast(id, "lib1", s.clock.now()).await.unwrap());
        broadcasts::send::wake();
        for _ in 0..200 {
            if s.db.broadcast(id).await.unwrap().unwrap().state == "sent" {
                return id;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("broadcast {id} was never sent");
    }

    async fn post_form(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

/// The value of the Set-Cookie named `name` in a response.
fn set_cookie_value(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next()?.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

/// High: `/news/{id}` gave any browser a `wxlib_news` cookie signed like the reader session, and
/// replayed as `wxlib_reader` it opened `/h5/bind` and signed up for activities. A reader session
/// now comes only from WeChat's web authorisation: the news id is refused on every reader page.
#[tokio::test]
async fn a_news_reader_cookie_is_no_reader_session() {
    let app = sim_app().await;
    app.follow("oFollower1").await;
    let news = app.sent_broadcast("新书通报").await;
    let r = app.http.get(format!("{}/news/{news}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let minted = set_cookie_value(&r, "wxlib_news").expect("a browser gets its news reader id");
    let forged = format!("wxlib_reader={minted}");

    // The binding page does not take it as a session: it sends the browser to WeChat's web
    // authorisation, and its form post is refused.
    let r = app.http.get(format!("{}/h5/bind", app.base)).header("cookie", &forged).send().await.unwrap();
    assert_eq!(r.status(), 303, "no session: to WeChat's web authorisation");
    assert!(r.headers()["location"].to_str().unwrap().contains("/connect/oauth2/authorize"));
    let (status, body) = app.post_form("/h5/bind", &forged, &[("token", &minted), ("card", "20230001"), ("password", "x")]).await;
    assert_eq!(status, 403, "{body}");

    // Nor can it sign up for an activity.
    let now = app.s.clock.now();
    let activity = ActivityDraft {
        title: "讲座".into(),
        place: "301".into(),
        description: String::new(),
        starts_at: now + 3 * 86400,
        ends_at: now + 3 * 86400 + 3600,
        signup_opens_at: now - 60,
        signup_deadline: now + 2 * 86400,
        capacity: 2,
    };
    let id = app.s.db.create_activity(&activity, now).await.unwrap();
    let r = app.http.get(format!("{}/h5/activities/{id}", app.base)).header("cookie", &forged).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (status, body) = app.post_form(&format!("/h5/activities/{id}/signup"), &forged, &[("token", &minted)]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(app.s.db.activity_counts(id).await.unwrap().confirmed, 0, "nobody signed up");
}

/// Medium: an unsent draft was public at `/news/{id}`, with its cover and images. Now they are
/// 404 until the message goes out, and librarians preview the draft in the console.
#[tokio::test]
async fn unsent_drafts_are_private_and_previewed_in_the_console() {
    let app = sim_app().await;
    let s = &app.s;
    let draft = broadcasts::validate(
        &Draft {
            title: "未发送的草稿".into(),
            author: String::new(),
            digest: String::new(),
            body_html: "<p>草稿</p>".into(),
            target_tag_id: None,
        },
        Lang::Zh,
    )
    .unwrap();
    let cover = Image { content_type: "image/png".into(), bytes: crate::broadcasts::PNG.to_vec() };
    let id = s.db.create_broadcast(&draft, Some(&cover), "lib1", s.clock.now()).await.unwrap();
    let img = s.db.add_broadcast_image(id, &cover, s.clock.now()).await.unwrap();
    let body = Draft { body_html: format!("<p>草稿</p><img src=\"/news/img/{img}\">"), ..draft.clone() };
    s.db.update_broadcast(id, &body, None, s.clock.now()).await.unwrap();

    for path in [format!("/news/{id}"), format!("/news/{id}/cover"), format!("/news/img/{img}")] {
        let r = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path} of a draft is not public");
        assert!(set_cookie_value(&r, "wxlib_news").is_none(), "{path}: nothing minted for a draft");
        let r = app.http.get(format!("{}{path}", app.base)).header("user-agent", "MicroMessenger/8.0").send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}: not even inside WeChat");
    }

    wxlib::console::auth::create_librarian(&s.db, "editor", "correct horse", wxlib::console::Role::Librarian).await.unwrap();
    let console = console_login(&app.base, "editor", "correct horse").await.unwrap_or_else(|r| panic!("sign-in: {}", r.body));
    let detail = console.get(&format!("/console/broadcasts/{id}")).await;
    assert!(
        detail.body.contains(&format!("/console/broadcasts/img/{img}")) && !detail.body.contains(&format!("src=\"/news/img/{img}")),
        "{}",
        detail.body
    );
    let page = console.get(&format!("/console/broadcasts/{id}/page")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("未发送的草稿") && page.body.contains(&format!("/console/broadcasts/img/{img}")), "{}", page.body);
    for path in [format!("/console/broadcasts/{id}/cover"), format!("/console/broadcasts/img/{img}")] {
        let r = console.http.get(format!("{}{path}", app.base)).header("cookie", &console.cookie).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), crate::broadcasts::PNG);
        let r = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_ne!(r.status(), 200, "{path} needs a librarian");
    }

    // Once it goes out, readers open it.
    app.follow("oFollower1").await;
    assert!(s.db.queue_broadcast(id, "lib1", s.clock.now()).await.unwrap());
    broadcasts::send::wake();
    for _ in 0..200 {
        if s.db.broadcast(id).await.unwrap().unwrap().state == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for path in [format!("/news/{id}"), format!("/news/{id}/cover"), format!("/news/img/{img}")] {
        assert_eq!(app.http.get(format!("{}{path}", app.base)).send().await.unwrap().status(), 200, "{path} once sent");
    }
}

/// An app on the given database, with `adjust` applied to the test configuration.
async fn app_on(db: TestDb, adjust: impl FnOnce(&mut Config)) -> (wxlib::services::Services, String, TestDb) {
    let mut config = test_config(&db.url, "http://127.0.0.1:9");
    adjust(&mut config);
    let app = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let s = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    (s, base, db)
}

/// A browser at the console's sign-in form: its double-submit cookie and token, fetched once,
/// then any number of sign-in posts (as one client may send them at once).
struct SignInForm {
    base: String,
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

impl SignInForm {
    async fn open(base: &str) -> Self {
        let http = no_redirect_client();
        let page = console_response(http.get(format!("{base}/console/login")).send().await.unwrap()).await;
        let cookie = cookie_pair(&page.set_cookie, "wxlib_console_login").unwrap();
        let csrf = csrf_in(&page.body).unwrap();
        Self { base: base.to_owned(), http, cookie, csrf }
    }

    /// Posts a sign-in, with `X-Forwarded-For: forwarded` if given; the status.
    async fn try_password(&self, username: &str, password: &str, forwarded: Option<&str>) -> u16 {
        let body = serde_urlencoded::to_string([("username", username), ("password", password), ("csrf", &self.csrf)]).unwrap();
        let mut req = self
            .http
            .post(format!("{}/console/login", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        req.send().await.unwrap().status().as_u16()
    }
}

/// High: the sign-in failure count was read before the argon2 check and written after it, so 24
/// simultaneous wrong passwords were all checked and a right one inside the burst signed in. Now
/// each attempt is counted before its check: of 24 at once, exactly the limit are checked, the
/// rest refused unchecked, and the right password is refused once the pair is locked.
#[tokio::test]
async fn a_burst_of_guesses_is_counted_before_any_password_check() {
    for (backend, db) in all_dbs().await {
        // Each burst from its own address (through a trusted proxy), so only the pair's limit
        // is in play: 24 attempts are more than one address may make at all.
        let (s, base, _db) = app_on(db, |c| c.server.trusted_proxies = vec!["127.0.0.1/32".into()]).await;
        wxlib::console::auth::create_librarian(&s.db, "admin", "right-password", wxlib::console::Role::Admin).await.unwrap();
        let form = SignInForm::open(&base).await;
        let burst = futures::future::join_all((0..24).map(|i| {
            let form = &form;
            async move { form.try_password("admin", &format!("wrong-{i}"), Some("203.0.113.1")).await }
        }))
        .await;
        let checked = burst.iter().filter(|&&st| st == 401).count();
        let refused = burst.iter().filter(|&&st| st == 429).count();
        assert!(checked <= 5 && checked + refused == 24, "{backend}: {checked} passwords checked: {burst:?}");
        assert_eq!(form.try_password("admin", "right-password", Some("203.0.113.1")).await, 429, "{backend}: locked, unchecked");

        // A right password inside a burst is one of the attempts: it signs in only if it is
        // among the first five, and never more than five passwords are checked.
        wxlib::console::auth::create_librarian(&s.db, "editor", "right-password", wxlib::console::Role::Librarian).await.unwrap();
        let burst = futures::future::join_all((0..24).map(|i| {
            let form = &form;
            let password = if i == 12 { "right-password".to_owned() } else { format!("wrong-{i}") };
            async move { form.try_password("editor", &password, Some("203.0.113.2")).await }
        }))
        .await;
        let checked = burst.iter().filter(|&&st| st == 401 || st == 303).count();
        assert!(checked <= 5, "{backend}: {checked} passwords checked: {burst:?}");
        if burst[12] == 303 {
            assert_eq!(checked, 5, "{backend}");
        } else {
            assert_eq!(burst[12], 429, "{backend}: {burst:?}");
        }
    }
}

/// Medium: the limit was per user name only. Now one address spraying a password over many
/// names is stopped after [`ADDRESS_LIMIT`](wxlib::console::auth::ADDRESS_LIMIT) attempts, while
/// other addresses sign in as usual.
#[tokio::test]
async fn spraying_one_password_over_many_names_is_limited_per_address() {
    let (s, base, _db) = app_on(sqlite_db().await, |c| c.server.trusted_proxies = vec!["127.0.0.1/32".into()]).await;
    wxlib::console::auth::create_librarian(&s.db, "zhang", "right-password", wxlib::console::Role::Librarian).await.unwrap();
    let form = SignInForm::open(&base).await;
    let limit = wxlib::console::auth::ADDRESS_LIMIT.attempts;
    for i in 0..limit {
        assert_eq!(form.try_password(&format!("user{i}"), "Spring2024!", Some("203.0.113.7")).await, 401, "attempt {i}");
    }
    assert_eq!(form.try_password("user-new", "Spring2024!", Some("203.0.113.7")).await, 429, "a new name, the same address");
    assert_eq!(form.try_password("zhang", "right-password", Some("203.0.113.7")).await, 429, "nothing is checked from there");
    assert_eq!(form.try_password("zhang", "right-password", Some("198.51.100.20")).await, 303, "another address signs in");
}

/// Medium: anyone could lock the only admin out. The lockout is per user name and address: an
/// attacker locks only itself out of the name, the admin signs in from their own address, and
/// every sign-in, failure and lockout is in the audit log with the client's address.
#[tokio::test]
async fn nobody_locks_the_admin_out_from_another_address_and_all_is_audited() {
    let (s, base, _db) = app_on(sqlite_db().await, |c| c.server.trusted_proxies = vec!["127.0.0.1/32".into()]).await;
    wxlib::console::auth::create_librarian(&s.db, "admin", "right-password", wxlib::console::Role::Admin).await.unwrap();
    let form = SignInForm::open(&base).await;
    for _ in 0..wxlib::console::auth::PAIR_LIMIT.attempts {
        assert_eq!(form.try_password("admin", "guess", Some("203.0.113.66")).await, 401);
    }
    assert_eq!(form.try_password("admin", "right-password", Some("203.0.113.66")).await, 429, "the attacker's address is locked");
    assert_eq!(form.try_password("admin", "guess-again", Some("203.0.113.66")).await, 429);
    assert_eq!(form.try_password("admin", "right-password", Some("198.51.100.1")).await, 303, "the admin is not");

    let audit = s.db.audit_entries("console.", 50, 0).await.unwrap();
    let of = |action: &str| audit.iter().filter(|e| e.action == action).map(|e| e.detail.clone()).collect::<Vec<_>>();
    assert_eq!(of("console.sign_in_failed").len(), 5, "{audit:?}");
    assert!(of("console.sign_in_failed").iter().all(|d| d.contains("admin") && d.contains("203.0.113.66")), "{audit:?}");
    assert_eq!(of("console.sign_in_locked").len(), 1, "a lockout is recorded once: {audit:?}");
    assert!(of("console.sign_in_locked")[0].contains("203.0.113.66"), "{audit:?}");
    let signed_in = audit.iter().find(|e| e.action == "console.sign_in").expect("the sign-in");
    assert_eq!(signed_in.username.as_deref(), Some("admin"));
    assert!(signed_in.detail.contains("198.51.100.1"), "{audit:?}");
}

/// The client address comes from the socket unless the peer is a configured trusted proxy: a
/// client that names itself in `X-Forwarded-For` gets no fresh address per guess.
#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let (s, base, _db) = app_on(sqlite_db().await, |_| {}).await;
    wxlib::console::auth::create_librarian(&s.db, "admin", "right-password", wxlib::console::Role::Admin).await.unwrap();
    let form = SignInForm::open(&base).await;
    for i in 0..wxlib::console::auth::PAIR_LIMIT.attempts {
        assert_eq!(form.try_password("admin", "guess", Some(&format!("192.0.2.{i}"))).await, 401);
    }
    assert_eq!(form.try_password("admin", "right-password", Some("192.0.2.99")).await, 429);
    let audit = s.db.audit_entries("console.sign_in_failed", 10, 0).await.unwrap();
    assert!(audit.iter().all(|e| e.detail.ends_with("from 127.0.0.1")), "{audit:?}");
}

/// GET with redirects followed by hand, as the reader's WeChat browser (the simulator's web
/// authorisation knows the reader by `sim_openid`): the final status, body and cookies.
async fn open_as(app: &SimApp, openid: &str, url: &str) -> (u16, String, String) {
    let mut cookies = format!("sim_openid={openid}");
    let mut url = url.to_owned();
    for _ in 0..10 {
        let r = app.http.get(&url).header("cookie", &cookies).send().await.unwrap();
        for c in r.headers().get_all("set-cookie") {
            cookies = format!("{cookies}; {}", c.to_str().unwrap().split(';').next().unwrap());
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

/// High: the bind form checked its failure count before asking the library system and wrote it
/// after, so parallel guesses of a card's password were all checked. Now each is counted first:
/// of 24 at once, at most `bind_max_failures` reach the library system, and the right password
/// is refused once the card is locked.
#[tokio::test]
async fn a_burst_of_card_passwords_is_counted_before_the_library_system_checks_any() {
    let app = sim_app().await;
    let ils = wxlib::circulation::builtin::BuiltinIls {
        db: app.s.db.clone(),
        clock: app.s.clock.clone(),
        rules: app.s.config.circulation.clone(),
    };
    let loaded = wxlib::circulation::load::readers(&ils, "card,name,password\n2021001,张三,right-pin\n").await;
    assert_eq!(loaded.loaded, 1, "{:?}", loaded.errors);
    let (status, page, cookies) = open_as(&app, "oGuesser", &format!("{}/h5/bind", app.base)).await;
    assert_eq!(status, 200, "{page}");
    let token = token_in(&page);
    let burst = futures::future::join_all((0..24).map(|i| {
        let (app, cookies, token) = (&app, &cookies, &token);
        async move {
            let password = format!("pin{i}");
            app.post_form("/h5/bind", cookies, &[("token", token), ("card", "2021001"), ("password", &password)]).await.0
        }
    }))
    .await;
    let checked = burst.iter().filter(|&&st| st == 401).count();
    let refused = burst.iter().filter(|&&st| st == 429).count();
    let limit = app.s.config.circulation.bind_max_failures as usize;
    assert!(checked <= limit && checked + refused == 24, "{checked} passwords checked: {burst:?}");
    let (status, body) = app.post_form("/h5/bind", &cookies, &[("token", &token), ("card", "2021001"), ("password", "right-pin")]).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(app.s.db.binding("oGuesser").await.unwrap(), None);
}

/// Low: a half-sent request stayed open indefinitely. Now a connection whose request head has
/// not arrived within `server.header_read_timeout_secs` is closed.
#[tokio::test]
async fn a_half_sent_request_is_closed_within_the_header_read_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_s, base, _db) = app_on(sqlite_db().await, |c| c.server.header_read_timeout_secs = 1).await;
    let mut socket = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.unwrap();
    socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: wxlib\r\nX-Slow: ").await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(6), async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue, // a 408 before the close is fine
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the half-sent request is still open after 6 s");
    assert!(started.elapsed() < Duration::from_secs(4), "closed after {:?}", started.elapsed());
    // A whole request on a fresh connection is served as before.
    assert_eq!(reqwest::get(format!("{base}/healthz")).await.unwrap().status(), 200);
}

/// The rows of a CSV export (a byte-order mark dropped), as a spreadsheet program reads them.
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Medium: console CSV exports carried what readers typed as it was, so a search for
/// `=HYPERLINK("http://x","y")` became a live formula in the librarian's spreadsheet. Every
/// export now goes through one writer that puts a `'` before a cell a spreadsheet would run.
#[tokio::test]
async fn a_formula_a_reader_typed_is_text_in_every_export() {
    let app = sim_app().await;
    app.follow("oFormula").await;
    let typed = ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(1)", "＋1+1"];
    for text in typed {
        app.http.post(format!("{}/sim/api/_control/advance", app.base)).json(&json!({"seconds": 2})).send().await.unwrap();
        let r = app.http.post(format!("{}/sim/readers/oFormula/text", app.base)).json(&json!({"content": text})).send().await.unwrap();
        assert!(r.status().is_success(), "{text}: {}", r.status());
    }
    wxlib::console::auth::create_librarian(&app.s.db, "editor", "correct horse", wxlib::console::Role::Librarian).await.unwrap();
    let console = console_login(&app.base, "editor", "correct horse").await.unwrap_or_else(|r| panic!("sign-in: {}", r.body));
    for export in ["/console/analytics/searches.csv", "/console/analytics/zero_hits.csv"] {
        let mut cells = Vec::new();
        for _ in 0..100 {
            let sheet = console.get(export).await;
            assert_eq!(sheet.status, 200, "{export}");
            cells = csv_rows(&sheet.body).into_iter().flatten().collect::<Vec<_>>();
            if typed.iter().all(|t| cells.iter().any(|c| c.ends_with(t))) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for t in typed {
            assert!(cells.contains(&format!("'{t}")), "{export}: {t} as text: {cells:?}");
        }
        assert!(!cells.iter().any(|c| c.starts_with(['=', '+', '-', '@', '＋'])), "{export}: {cells:?}");
    }
}

/// Medium: `wxlib check-config` printed the database password inside `storage.url` and the SIP2
/// login password. Every secret is now shown only as set or not, by one redaction function —
/// in check-config's output, in the config's `Debug`, and in the log and error lines of a
/// server that fails to start with them.
#[tokio::test]
async fn no_secret_is_printed_by_check_config_or_a_failing_start() {
    const SECRETS: [&str; 6] = ["PgPassw0rdXyz", "Sip2Secret77", "AppSecretAbc123", "tokenQwerty9", "HarvestPw55", "PrevKeyMarker"];
    let aes = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    let previous = "PrevKeyMarkerabcdefghijklmnopqrstuvwxyz0123";
    let dir = std::env::temp_dir().join(format!("wxlib-secrets-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wxlib.toml");
    std::fs::write(
        &file,
        format!(
            "[wechat]\napp_id = \"wx0123456789abcdef\"\napp_secret = \"{}\"\ntoken = \"{}\"\nencoding_aes_key = \"{aes}\"\n\
             previous_encoding_aes_key = \"{previous}\"\n\
             [storage]\nurl = \"postgres://wxlib:{}@127.0.0.1:1/wxlib\"\n\
             [circulation.sip2]\naddress = \"127.0.0.1:6001\"\nlogin_user = \"sc\"\nlogin_password = \"{}\"\n\
             [catalog.harvest]\nurl = \"https://oai:{}@opac.example.edu/oai\"\ninterval_secs = 0\n\
             [server]\ndata_dir = \"{}\"\n",
            SECRETS[2],
            SECRETS[3],
            SECRETS[0],
            SECRETS[1],
            SECRETS[4],
            dir.display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wxlib"))
            .args(args)
            .arg("--config")
            .arg(&file)
            .env("RUST_LOG", "trace")
            .env_remove("WXLIB_LOG_FORMAT")
            .output()
            .unwrap();
        (out.status.success(), format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    let (ok, printed) = run(&["check-config"]);
    assert!(ok, "{printed}");
    assert!(printed.contains("login_user: \"sc\"") && printed.contains("postgres://wxlib:***@127.0.0.1:1/wxlib"), "{printed}");
    for secret in SECRETS.iter().chain([&aes]) {
        assert!(!printed.contains(secret), "check-config printed {secret}:\n{printed}");
    }
    // A server that cannot reach its database says so, without the password.
    let (ok, printed) = run(&["serve"]);
    assert!(!ok, "{printed}");
    assert!(printed.contains("127.0.0.1:1"), "{printed}");
    for secret in SECRETS.iter().chain([&aes]) {
        assert!(!printed.contains(secret), "serve printed {secret}:\n{printed}");
    }
    let debug = format!("{:?}", Config::load(Some(&file)).unwrap());
    for secret in SECRETS.iter().chain([&aes]) {
        assert!(!debug.contains(secret), "Debug shows {secret}: {debug}");
    }
}

/// Low: a call-number search for `ǰ` or `ΐ` was a 500 (their uppercase brings a combining mark,
/// which reached the prefix regex with a backslash before it). Now each is an ordinary search
/// with no hits, on the reader page and in the JSON API.
#[tokio::test]
async fn a_call_number_search_for_case_changing_letters_is_no_error() {
    let (_s, base, _db) = app_on(sqlite_db().await, |_| {}).await;
    let http = reqwest::Client::new();
    for q in ["ǰ", "ΐ", "ΰ", "ŉ", "PL2303ǰ", "ß", "ﬁ", "İ", "\u{0345}", "J\u{030C}.*"] {
        for path in ["/opac/search", "/api/v1/search"] {
            let r = http.get(format!("{base}{path}")).query(&[("field", "callno"), ("q", q)]).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path} {q:?}: {}", r.text().await.unwrap());
        }
    }
}

/// Low: `/metrics` was public on the main listener. Now the main listener serves it only with
/// `Authorization: Bearer <server.metrics_token>` (401 otherwise, 404 when no token is set), or
/// a separate `server.metrics_listen` address serves it without one; the token is never printed.
#[tokio::test]
async fn metrics_need_the_token_or_their_own_listener() {
    const METRICS_TOKEN: &str = "MetricsTok3n-0123456789";
    let get = |url: String, auth: Option<&'static str>| async move {
        let mut req = reqwest::Client::new().get(url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    // No token configured: no /metrics on the main listener at all.
    let (_s, base, _db) = app_on(sqlite_db().await, |_| {}).await;
    assert_eq!(get(format!("{base}/metrics"), None).await.0, 404);

    let (_s, base, _db) = app_on(sqlite_db().await, |c| c.server.metrics_token = METRICS_TOKEN.into()).await;
    // A refused callback, so there is a counter to see.
    let rejected =
        reqwest::Client::new().post(format!("{base}/wechat?signature=x&timestamp=1&nonce=2")).body("<xml/>").send().await.unwrap();
    assert!(rejected.status().is_client_error());
    for auth in [None, Some("Bearer wrong-token-0123456789"), Some("Bearer MetricsTok3n-012345678"), Some("Basic TWV0cmljcw==")] {
        let (status, body) = get(format!("{base}/metrics"), auth).await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert!(!body.contains("wxlib_"), "{auth:?}: {body}");
    }
    let (status, body) = get(format!("{base}/metrics"), Some("Bearer MetricsTok3n-0123456789")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("wxlib_callbacks_total"), "{body}");

    // A separate listener serves /metrics (and nothing else) without a token.
    let db = sqlite_db().await;
    let mut config = test_config(&db.url, "http://127.0.0.1:9");
    config.server.metrics_listen = "127.0.0.1:0".into();
    let app = Application::build(config).await.unwrap();
    let (main, private) = (app.port(), app.metrics_port().expect("a metrics listener"));
    tokio::spawn(app.run_until_stopped());
    let (status, body) = get(format!("http://127.0.0.1:{private}/metrics"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("wxlib_callbacks_total"), "{body}");
    assert_eq!(get(format!("http://127.0.0.1:{private}/console/login"), None).await.0, 404, "only /metrics there");
    assert_eq!(get(format!("http://127.0.0.1:{main}/metrics"), None).await.0, 404, "not on the main listener");

    // check-config shows whether the token is set, never the token.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wxlib.toml");
    std::fs::write(
        &file,
        format!("[wechat]\ntoken = \"libtoken\"\n[server]\nmetrics_token = \"{METRICS_TOKEN}\"\nmetrics_listen = \"127.0.0.1:9464\"\n"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wxlib")).args(["check-config", "--config"]).arg(&file).output().unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{printed}");
    assert!(printed.contains("metrics_token: \"<redacted>\"") && printed.contains("127.0.0.1:9464"), "{printed}");
    assert!(!printed.contains(METRICS_TOKEN), "{printed}");
    assert!(!format!("{:?}", Config::load(Some(&file)).unwrap()).contains(METRICS_TOKEN));
}

/// A plain callback as WeChat posts it in plain mode: signed with the token only.
async fn post_plain(base: &str, xml: &str) -> (u16, String) {
    let (ts, nonce) = (now().to_string(), rand::random::<u32>().to_string());
    let q = [("signature", wechat::signature::sign(&[TOKEN, &ts, &nonce])), ("timestamp", ts), ("nonce", nonce), ("openid", "o".into())];
    let r = reqwest::Client::new().post(format!("{base}/wechat")).query(&q).body(xml.to_owned()).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Low: with an EncodingAESKey configured, a plain callback signed only with the token was
/// accepted and answered in plain text (whoever learnt the token could talk as any reader and
/// read the answers). Safe mode is strict now: a plain POST is refused (403 `not_encrypted`) and
/// nothing of it is handled. Compatible mode (plain beside encrypted) is an explicit
/// `wechat.message_mode = "compatible"`.
#[tokio::test]
async fn a_plain_callback_is_refused_when_a_key_is_configured() {
    let (s, base, _db) = app_on(sqlite_db().await, |_| {}).await;
    let (status, body) = post_plain(&base, &text_message("oPlainSpoof", 4101, "帮助")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("safe mode"), "{body}");
    assert!(s.db.events_of("oPlainSpoof").await.unwrap().is_empty(), "nothing of it was handled");

    // Chosen explicitly, compatible mode takes both, each answered in kind.
    let (_s, base, _db) = app_on(sqlite_db().await, |c| c.wechat.message_mode = "compatible".into()).await;
    let (status, body) = post_plain(&base, &text_message("oCompat", 4102, "帮助")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<MsgType><![CDATA[text]]></MsgType>") && !body.contains("<Encrypt>"), "a plain answer: {body}");
    let crypto = wechat::MessageCrypto::new(TOKEN, APP_ID, wechat::AesKey::from_encoding_aes_key(AES_KEY).unwrap(), None);
    let (ts, nonce) = (now().to_string(), "77".to_owned());
    let enc = crypto.encrypt(0, &text_message("oCompat", 4103, "帮助"), [3; 16]);
    let q = [
        ("signature", wechat::signature::sign(&[TOKEN, &ts, &nonce])),
        ("timestamp", ts.clone()),
        ("nonce", nonce.clone()),
        ("encrypt_type", "aes".into()),
        ("msg_signature", crypto.msg_signature(&ts, &nonce, &enc)),
    ];
    let r = reqwest::Client::new()
        .post(format!("{base}/wechat"))
        .query(&q)
        .body(wechat::envelope::encrypted_request(GH, &enc))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("<Encrypt>"), "an encrypted answer");
}

/// `GET /readyz`: (status code, the JSON answer).
async fn readyz(base: &str) -> (u16, serde_json::Value) {
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Polls `/readyz` (each report is reused for a second) until `want` answers it, for 15 s.
async fn readyz_until(base: &str, want: u16) -> serde_json::Value {
    let mut last = None;
    for _ in 0..60 {
        let (status, body) = readyz(base).await;
        if status == want {
            return body;
        }
        last = Some((status, body));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("/readyz never answered {want}: last {last:?}");
}

/// `/readyz` on a fresh app: every check `ok`, on both backends; `/healthz` says the process is
/// alive.
#[tokio::test]
async fn a_fresh_app_is_ready() {
    for (backend, db) in all_dbs().await {
        let (_s, base, _db) = app_on(db, |_| {}).await;
        let (status, body) = readyz(&base).await;
        assert_eq!(status, 200, "{backend}: {body}");
        assert_eq!(
            body,
            json!({"status": "ready", "checks": {"store": "ok", "migrations": "ok", "search_index": "ok", "library_system": "ok"}}),
            "{backend}"
        );
        assert_eq!(reqwest::get(format!("{base}/healthz")).await.unwrap().text().await.unwrap(), "ok");
    }
}

/// Low: `/healthz` said `ok` while a full disk made every callback fail. `/readyz` now writes a
/// row: a store that cannot take a write (SQLite: another process holds the write lock;
/// PostgreSQL: the database turned read-only, as after a failover to a standby) makes it 503
/// `not_ready` with the reason, and ready again once the store is. `/healthz` (alive) stays 200.
#[tokio::test]
async fn a_store_that_cannot_be_written_is_not_ready() {
    for (backend, db) in all_dbs().await {
        let url = db.url.clone();
        let (_s, base, _db) = app_on(db, |_| {}).await;
        readyz_until(&base, 200).await;
        let mut sqlite_lock = None;
        let pg = if backend == "sqlite" {
            let conn = rusqlite::Connection::open(url.trim_start_matches("sqlite://")).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            sqlite_lock = Some(conn);
            None
        } else {
            let (server, name) = url.rsplit_once('/').unwrap();
            let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await.unwrap();
            read_only(&admin, name, true).await;
            Some((admin, name.to_owned()))
        };
        let body = readyz_until(&base, 503).await;
        assert_eq!(body["status"], "not_ready", "{backend}: {body}");
        assert!(body["checks"]["store"].as_str().unwrap().starts_with("not writable: "), "{backend}: {body}");
        assert!(!body.to_string().contains("postgres://"), "{backend}: no store address: {body}");
        assert_eq!(reqwest::get(format!("{base}/healthz")).await.unwrap().status(), 200, "{backend}: alive");

        if let Some(conn) = sqlite_lock.take() {
            conn.execute_batch("ROLLBACK").unwrap();
        }
        if let Some((admin, name)) = &pg {
            read_only(admin, name, false).await;
        }
        let body = readyz_until(&base, 200).await;
        assert_eq!(body["status"], "ready", "{backend}: {body}");
    }
}

/// Makes a PostgreSQL database read-only for new sessions (or writable again) and ends its
/// sessions, so the app's pool reconnects under the new default.
async fn read_only(admin: &sqlx::PgPool, name: &str, on: bool) {
    let set = if on { "SET default_transaction_read_only = on" } else { "RESET default_transaction_read_only" };
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} {set}"))).execute(admin).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
        .bind(name)
        .execute(admin)
        .await
        .unwrap();
}

/// A SIP2 library system that is down leaves the node serving the catalog and news: `/readyz`
/// is 200 `degraded`, naming why, and never the SIP2 password.
#[tokio::test]
async fn a_library_system_that_is_down_degrades_readiness() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (_s, base, _db) = app_on(sqlite_db().await, |c| {
        c.circulation.system = "sip2".into();
        c.circulation.sip2.address = dead.to_string();
        c.circulation.sip2.login_user = "sc".into();
        c.circulation.sip2.login_password = "Sip2Secret77".into();
    })
    .await;
    let (status, body) = readyz(&base).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["store"], "ok", "{body}");
    let why = body["checks"]["library_system"].as_str().unwrap();
    assert!(why.starts_with("degraded: sip2: "), "{body}");
    assert!(!body.to_string().contains("Sip2Secret77"), "{body}");
}

/// Low: no page carried security headers (CSP, frame-ancestors, nosniff, Referrer-Policy). Now
/// one layer puts them on every answer: reader pages, the console (no referrer at all), the JSON
/// API, the callback, and the pages' one script, served from our origin since the policy runs
/// no inline script.
#[tokio::test]
async fn every_page_api_answer_and_the_callback_carry_the_security_headers() {
    let (s, base, _db) = app_on(sqlite_db().await, |_| {}).await;
    wxlib::console::auth::create_librarian(&s.db, "admin", "right-password", wxlib::console::Role::Admin).await.unwrap();
    let console = console_login(&base, "admin", "right-password").await.unwrap_or_else(|r| panic!("sign-in: {}", r.body));
    let http = no_redirect_client();
    let check = |path: &str, h: &reqwest::header::HeaderMap| {
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let csp = get("content-security-policy");
        for directive in ["default-src 'self'", "script-src 'self';", "frame-ancestors 'self'", "object-src 'none'"] {
            assert!(csp.contains(directive), "{path}: CSP {csp:?} lacks {directive}");
        }
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{path}: {csp}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("x-frame-options"), "SAMEORIGIN", "{path}");
        let referrer = if path.starts_with("/console") { "no-referrer" } else { "strict-origin-when-cross-origin" };
        assert_eq!(get("referrer-policy"), referrer, "{path}");
    };
    for path in [
        "/opac/search?q=x",
        "/opac/suggest",
        "/activities",
        "/pages/about",
        "/h5/bind",
        "/api/v1/search?q=x",
        "/static/wxlib.js",
        "/healthz",
        "/nowhere",
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        check(path, r.headers());
    }
    for path in ["/console/login"] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        check(path, r.headers());
    }
    for path in ["/console", "/console/inbox", "/console/partners", "/console/answers"] {
        let r = http.get(format!("{base}{path}")).header("cookie", &console.cookie).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let headers = r.headers().clone();
        let body = r.text().await.unwrap();
        check(path, &headers);
        assert!(!body.contains("<script>") && !body.contains("onsubmit=") && !body.contains("onchange="), "{path}: inline script");
    }
    let (status, body) = post_plain(&base, &text_message("oHeaders", 4201, "帮助")).await;
    assert_eq!(status, 403, "{body}");
    let ts = now().to_string();
    let r = http
        .get(format!("{base}/wechat"))
        .query(&[
            ("signature", wechat::signature::sign(&[TOKEN, &ts, "5"])),
            ("timestamp", ts),
            ("nonce", "5".into()),
            ("echostr", "e1".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    check("/wechat", r.headers());
}

/// Low: `/opac/suggest` took unlimited anonymous posts. Now each client address (through a
/// trusted proxy's `X-Forwarded-For`) may post [`SUGGEST_LIMIT`](wxlib::catalog::http::SUGGEST_LIMIT)
/// an hour, counted before each is stored: of 40 posted at once, no more than the limit are
/// stored, the rest are 429; another address still posts; an overlong field is a 400.
#[tokio::test]
async fn purchase_suggestions_are_limited_per_address_even_in_parallel() {
    for (backend, db) in all_dbs().await {
        let (s, base, _db) = app_on(db, |c| c.server.trusted_proxies = vec!["127.0.0.1/32".into()]).await;
        let http = reqwest::Client::new();
        let post = |title: String, from: &'static str| {
            let http = &http;
            let base = &base;
            async move {
                http.post(format!("{base}/opac/suggest"))
                    .header("x-forwarded-for", from)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(serde_urlencoded::to_string([("title", title.as_str()), ("author", "某作者"), ("note", "多买几本")]).unwrap())
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let burst = futures::future::join_all((0..40).map(|i| post(format!("书{i}"), "203.0.113.9"))).await;
        let limit = wxlib::catalog::http::SUGGEST_LIMIT.attempts as usize;
        let stored = s.db.purchase_suggestions(1000).await.unwrap().len();
        assert!(stored <= limit, "{backend}: {stored} stored: {burst:?}");
        assert_eq!(burst.iter().filter(|&&st| st == 200).count(), stored, "{backend}: {burst:?}");
        assert_eq!(burst.iter().filter(|&&st| st == 429).count(), 40 - stored, "{backend}: {burst:?}");
        assert_eq!(post("另一本".into(), "198.51.100.3").await, 200, "{backend}: another address");
        assert_eq!(post("长".repeat(201), "198.51.100.4").await, 400, "{backend}: a title of 201 characters");
        let r = http
            .post(format!("{base}/opac/suggest"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("title", "书".to_owned()), ("note", "注".repeat(1001))]).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{backend}: a note of 1001 characters");
        assert_eq!(s.db.purchase_suggestions(1000).await.unwrap().len(), stored + 1, "{backend}");
    }
}

/// Low: the timestamp window check overflowed (`now - t` for t = i64::MIN), a panic instead of
/// an answer. Extreme timestamps, correctly signed, are now refused as outside the window (403),
/// and the server keeps serving.
#[tokio::test]
async fn extreme_callback_timestamps_are_refused_not_a_panic() {
    let (_s, base, _db) = app_on(sqlite_db().await, |_| {}).await;
    let http = reqwest::Client::new();
    let min = i64::MIN.to_string();
    let max = i64::MAX.to_string();
    for ts in [min.as_str(), max.as_str(), "-9223372036854775807", "9223372036854775808", "-0", "0", "+1", "1e9", " 1", ""] {
        let q = [("signature", wechat::signature::sign(&[TOKEN, ts, "7"])), ("timestamp", ts.into()), ("nonce", "7".into())];
        let r = http.post(format!("{base}/wechat")).query(&q).body(text_message("oTime", 4301, "x")).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(status, 403, "timestamp {ts:?}: {body}");
        assert!(body.contains("outside the accepted window"), "{ts:?}: {body}");
    }
    let (status, _) = post_plain(&base, &text_message("oTime", 4302, "x")).await;
    assert_eq!(status, 403, "still serving (and still in safe mode)");
}

/// Low: no console page listed the purchase suggestions. `/console/suggestions` lists them for
/// any librarian, newest first, with how many name the same book, and exports them as CSV in
/// which a formula a reader typed is text.
#[tokio::test]
async fn the_console_lists_and_exports_purchase_suggestions() {
    let (s, base, _db) = app_on(sqlite_db().await, |_| {}).await;
    let http = reqwest::Client::new();
    for (title, isbn, note) in [
        ("三体", "978-7-5366-9293-0", "毕业设计要用"),
        ("=HYPERLINK(\"http://x\",\"y\")", "", "@SUM(1)"),
        ("三体（第二版）", "9787536692930", "<b>急</b>"),
    ] {
        let r = http
            .post(format!("{base}/opac/suggest"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("title", title), ("author", "刘慈欣"), ("isbn", isbn), ("note", note)]).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{title}");
        tokio::time::sleep(Duration::from_millis(1100)).await; // distinct dates, newest last
    }
    let anonymous = no_redirect_client().get(format!("{base}/console/suggestions")).send().await.unwrap();
    assert_ne!(anonymous.status(), 200, "behind the console's sign-in");

    wxlib::console::auth::create_librarian(&s.db, "buyer", "correct horse", wxlib::console::Role::Librarian).await.unwrap();
    let console = console_login(&base, "buyer", "correct horse").await.unwrap_or_else(|r| panic!("sign-in: {}", r.body));
    let home = console.get("/console").await;
    assert!(home.body.contains("href=\"/console/suggestions\""), "in the console's sections: {}", home.body);
    let list = console.get("/console/suggestions").await;
    assert_eq!(list.status, 200);
    let body = &list.body;
    let (second_edition, formula, first) =
        (body.find("三体（第二版）").unwrap(), body.find("=HYPERLINK").unwrap(), body.find("<td>三体</td>").unwrap());
    assert!(second_edition < formula && formula < first, "newest first: {body}");
    assert!(body.contains("&lt;b&gt;急&lt;/b&gt;") && !body.contains("<b>急</b>"), "escaped: {body}");

    let sheet = console.get("/console/suggestions/suggestions.csv").await;
    assert_eq!(sheet.status, 200);
    let rows = csv_rows(&sheet.body);
    assert_eq!(rows[0], ["date", "title", "author", "isbn", "note", "same_book"]);
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[2][1], "'=HYPERLINK(\"http://x\",\"y\")", "a formula is text: {rows:?}");
    assert_eq!(rows[2][4], "'@SUM(1)", "{rows:?}");
    assert_eq!((rows[1][5].as_str(), rows[3][5].as_str(), rows[2][5].as_str()), ("2", "2", "1"), "the same ISBN twice: {rows:?}");
    let audit = s.db.audit_entries("suggestions.", 10, 0).await.unwrap();
    assert_eq!(audit.len(), 1, "the export is audited: {audit:?}");
}

/// Low: anyone could inflate a news message's read count with curl (each cookieless request was
/// a new reader). Now 50 parallel requests without a cookie add no read, 50 parallel repeats
/// with one cookie add one, and a reader through WeChat's web authorisation counts once.
#[tokio::test]
async fn a_script_cannot_inflate_a_read_count() {
    let app = sim_app().await;
    app.follow("oReader1").await;
    let id = app.sent_broadcast("新书通报").await;
    let url = format!("{}/news/{id}", app.base);
    let cookieless = futures::future::join_all((0..50).map(|_| app.http.get(&url).send())).await;
    assert!(cookieless.iter().all(|r| r.as_ref().unwrap().status() == 200));
    assert_eq!(app.s.db.broadcast_readers(id).await.unwrap(), 0, "no cookie, no read");
    // The first visit's image, fetched without our cookie or with a forged one, counts nothing.
    let seen = format!("{url}/seen");
    let forged = "wxlib_news=c:0123456789abcdef0123456789abcdef.9999999999.AAAA";
    let beacons = futures::future::join_all(
        (0..50).map(|i| if i % 2 == 0 { app.http.get(&seen).send() } else { app.http.get(&seen).header("cookie", forged).send() }),
    )
    .await;
    assert!(beacons.iter().all(|r| r.as_ref().unwrap().status() == 200));
    assert_eq!(app.s.db.broadcast_readers(id).await.unwrap(), 0, "an image fetched without our cookie is no read");
    let minted = set_cookie_value(cookieless[0].as_ref().unwrap(), "wxlib_news").expect("a cookie to come back with");
    let cookie = format!("wxlib_news={minted}");
    // A browser loads the image with the cookie its first visit set: one reader, however often.
    let page = cookieless.into_iter().next().unwrap().unwrap().text().await.unwrap();
    assert!(page.contains(&format!("src=\"/news/{id}/seen\"")), "a first visit carries the image: {page}");
    let loads = futures::future::join_all((0..20).map(|_| app.http.get(&seen).header("cookie", &cookie).send())).await;
    assert!(loads.iter().all(|r| r.as_ref().unwrap().status() == 200));
    assert_eq!(app.s.db.broadcast_readers(id).await.unwrap(), 1, "the browser that loads the image is a reader");
    let repeats = futures::future::join_all((0..50).map(|_| app.http.get(&url).header("cookie", &cookie).send())).await;
    assert!(repeats.iter().all(|r| r.as_ref().unwrap().status() == 200));
    assert_eq!(app.s.db.broadcast_readers(id).await.unwrap(), 1, "one cookie, one reader");

    // A reader in WeChat, through the web authorisation, counts once however often they open it.
    for _ in 0..3 {
        let (status, page, _) = open_as_in_wechat(&app, "oReader1", &url).await;
        assert_eq!(status, 200, "{page}");
    }
    assert_eq!(app.s.db.broadcast_readers(id).await.unwrap(), 2);
}

/// [`open_as`] with WeChat's user agent: the page goes through WeChat's web authorisation.
async fn open_as_in_wechat(app: &SimApp, openid: &str, url: &str) -> (u16, String, String) {
    let mut cookies = format!("sim_openid={openid}");
    let mut url = url.to_owned();
    for _ in 0..10 {
        let r =
            app.http.get(&url).header("cookie", &cookies).header("user-agent", "Mozilla/5.0 MicroMessenger/8.0.50").send().await.unwrap();
        for c in r.headers().get_all("set-cookie") {
            cookies = format!("{cookies}; {}", c.to_str().unwrap().split(';').next().unwrap());
        }
        if r.status().is_redirection() {
            let loc = r.headers()["location"].to_str().unwrap().replace("#wechat_redirect", "");
            url = if loc.starts_with('/') { format!("{}{loc}", app.base) } else { loc };
            continue;
        }
        let status = r.status().as_u16();
        return (status, r.text().await.unwrap(), cookies);
    }
    panic!("too many redirects");
}

/// Low: a CR/LF in the console sign-in's `next` was a 500 (it reached the `Location` header).
/// Now a `next` with any control character, an absolute URL or `//host` is no `next`: the
/// sign-in form keeps none of it and the librarian lands on the console's home; no header is
/// ever injected and no redirect leaves the site.
#[tokio::test]
async fn a_bad_next_after_sign_in_is_the_console_home_never_a_header_or_another_site() {
    let (s, base, _db) = app_on(sqlite_db().await, |_| {}).await;
    wxlib::console::auth::create_librarian(&s.db, "admin", "right-password", wxlib::console::Role::Admin).await.unwrap();
    let http = no_redirect_client();
    let nexts = [
        "/console%0d%0aSet-Cookie:%20wxlib_console=forged",
        "/console/menu%0aX-Injected:%201",
        "/console/%0d",
        "/console/%00",
        "/console/%09x",
        "/console/%7f",
        "/console%5c%5cevil.example",
        "https://evil.example/console",
        "//evil.example/console",
        "/%5cevil.example",
        "%2f%2fevil.example",
        "javascript:alert(1)",
    ];
    for next in nexts {
        // The form page takes it without a 500 and keeps none of it.
        let page = console_response(http.get(format!("{base}/console/login?next={next}")).send().await.unwrap()).await;
        assert_eq!(page.status, 200, "{next}: {}", page.body);
        assert!(page.body.contains("name=\"next\" value=\"/console\""), "{next}: the form's next is the home");
        let cookie = cookie_pair(&page.set_cookie, "wxlib_console_login").unwrap();
        let csrf = csrf_in(&page.body).unwrap();
        // Signing in with it posted straight in the form lands on the home.
        let decoded: String = form_urlencoded::parse(format!("n={next}").as_bytes()).next().unwrap().1.into_owned();
        let body =
            serde_urlencoded::to_string([("username", "admin"), ("password", "right-password"), ("csrf", &csrf), ("next", &decoded)])
                .unwrap();
        let r = http
            .post(format!("{base}/console/login"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let r = console_response(r).await;
        assert_eq!(r.status, 303, "{next}: {}", r.body);
        assert_eq!(r.location.as_deref(), Some("/console"), "{next}");
        assert!(r.set_cookie.iter().all(|c| !c.contains("forged")), "{next}: {:?}", r.set_cookie);
    }
    // A console path is still followed.
    let page = console_response(http.get(format!("{base}/console/login?next=/console/inbox")).send().await.unwrap()).await;
    assert!(page.body.contains("name=\"next\" value=\"/console/inbox\""));
}
