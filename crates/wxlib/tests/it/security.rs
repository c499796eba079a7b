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
