//! The API stand-in rejects what WeChat rejects, with WeChat's codes: every endpoint through the
//! router as wxlib mounts it (`/sim/api`), with `tower::ServiceExt::oneshot`.

#![allow(clippy::unwrap_used, reason = "a test may unwrap: a panic is the failure, with the value")]

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};
use simulator::{Fault, PushKind, SimConfig, Simulator};
use tower::ServiceExt;

const READER: &str = "oREADER00000000000000000001";
const OTHER: &str = "oREADER00000000000000000002";
const BASE: &str = "/sim/api";

struct T {
    sim: Simulator,
    app: Router,
    token: std::sync::Mutex<String>,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

impl T {
    fn new() -> Self {
        Self::with(SimConfig::default())
    }

    fn with(cfg: SimConfig) -> Self {
        let sim = Simulator::new(cfg);
        let app = Router::new().nest(BASE, sim.router());
        let token = std::sync::Mutex::new(sim.access_token());
        T { sim, app, token }
    }

    fn token(&self) -> String {
        self.token.lock().unwrap().clone()
    }

    /// A client that uses this token.
    fn with_token(&self, token: &str) -> T {
        T { sim: self.sim.clone(), app: self.app.clone(), token: std::sync::Mutex::new(token.to_owned()) }
    }

    /// Moves the clock and, like a well-behaved client, fetches the current token again.
    fn advance(&self, by: Duration) {
        self.sim.advance(by);
        *self.token.lock().unwrap() = self.sim.access_token();
    }

    async fn raw(&self, method: &str, uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Resp {
        let mut req = Request::builder().method(method).uri(uri).header(header::HOST, "sim.test:8080");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self.app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec();
        Resp { status, headers, body }
    }

    /// POST a JSON body to a token-taking API.
    async fn post(&self, path: &str, body: Value) -> Value {
        self.post_raw(path, serde_json::to_vec(&body).unwrap()).await
    }

    async fn post_raw(&self, path: &str, body: Vec<u8>) -> Value {
        let sep = if path.contains('?') { '&' } else { '?' };
        let uri = format!("{BASE}{path}{sep}access_token={}", self.token());
        let r = self.raw("POST", &uri, &[("content-type", "application/json")], body).await;
        assert_eq!(r.status, StatusCode::OK);
        r.json()
    }

    /// GET a token-taking API.
    async fn get(&self, path: &str) -> Value {
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = self.raw("GET", &format!("{BASE}{path}{sep}access_token={}", self.token()), &[], vec![]).await;
        assert_eq!(r.status, StatusCode::OK);
        r.json()
    }

    /// GET without adding a token.
    async fn get_plain(&self, path: &str) -> Resp {
        self.raw("GET", &format!("{BASE}{path}"), &[], vec![]).await
    }

    async fn post_plain(&self, path: &str, body: Value) -> Value {
        self.raw("POST", &format!("{BASE}{path}"), &[("content-type", "application/json")], serde_json::to_vec(&body).unwrap()).await.json()
    }

    async fn upload(&self, path: &str, filename: &str, data: &[u8]) -> Value {
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--BOUNDARY\r\nContent-Disposition: form-data; name=\"media\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n--BOUNDARY--\r\n");
        let sep = if path.contains('?') { '&' } else { '?' };
        let uri = format!("{BASE}{path}{sep}access_token={}", self.token());
        self.raw("POST", &uri, &[("content-type", "multipart/form-data; boundary=BOUNDARY")], body).await.json()
    }

    async fn draft(&self) -> String {
        let thumb = self.upload("/cgi-bin/material/add_material?type=image", "cover.jpg", b"\xff\xd8\xff\xe0jpeg").await;
        let thumb_id = thumb["media_id"].as_str().expect("thumb media_id").to_owned();
        let d = self
            .post(
                "/cgi-bin/draft/add",
                json!({"articles": [{"title": "新书通报", "author": "图书馆", "digest": "本月新书", "content": "<p>三体</p>", "thumb_media_id": thumb_id}]}),
            )
            .await;
        d["media_id"].as_str().unwrap_or_else(|| panic!("draft/add: {d}")).to_owned()
    }
}

fn code(v: &Value) -> i64 {
    v["errcode"].as_i64().unwrap_or(0)
}

#[track_caller]
fn assert_code(v: &Value, expected: i64) {
    assert_eq!(code(v), expected, "answer: {v}");
    if expected != 0 {
        assert!(v["errmsg"].as_str().unwrap().contains(" rid: "), "errmsg carries a rid: {v}");
    }
}

fn text(to: &str, content: &str) -> Value {
    json!({"touser": to, "msgtype": "text", "text": {"content": content}})
}

// ---------------------------------------------------------------- tokens

#[tokio::test]
async fn stable_token_normal_force_and_credentials() {
    let t = T::new();
    let (appid, secret) = (t.sim.app_id(), t.sim.app_secret());
    let req = |force: bool| json!({"grant_type": "client_credential", "appid": appid, "secret": secret, "force_refresh": force});
    let a = t.post_plain("/cgi-bin/stable_token", req(false)).await;
    let b = t.post_plain("/cgi-bin/stable_token", req(false)).await;
    assert_eq!(a["access_token"], b["access_token"], "normal mode returns the same token");
    assert_eq!(a["access_token"].as_str().unwrap(), t.token());
    assert!(a["expires_in"].as_i64().unwrap() > 7000);
    assert!(a.get("errcode").is_none());

    let c = t.post_plain("/cgi-bin/stable_token", req(true)).await;
    assert_ne!(c["access_token"], a["access_token"]);
    assert_eq!(c["expires_in"], 7200);
    // The old one is invalid at once; the new one works.
    assert_code(&t.get("/cgi-bin/get_current_selfmenu_info").await, 40001);
    let fresh = t.with_token(c["access_token"].as_str().unwrap());
    assert_code(&fresh.get("/cgi-bin/get_current_selfmenu_info").await, 0);

    let wrong_secret = json!({"grant_type": "client_credential", "appid": t.sim.app_id(), "secret": "nope"});
    assert_code(&t.post_plain("/cgi-bin/stable_token", wrong_secret).await, 40125);
    let wrong_appid = json!({"grant_type": "client_credential", "appid": "wx0000000000000000", "secret": t.sim.app_secret()});
    assert_code(&t.post_plain("/cgi-bin/stable_token", wrong_appid).await, 40013);
    let no_secret = json!({"grant_type": "client_credential", "appid": t.sim.app_id()});
    assert_code(&t.post_plain("/cgi-bin/stable_token", no_secret).await, 41004);
    let bad_grant = json!({"grant_type": "password", "appid": t.sim.app_id(), "secret": t.sim.app_secret()});
    assert_code(&t.post_plain("/cgi-bin/stable_token", bad_grant).await, 40002);
    let empty = t.raw("POST", &format!("{BASE}/cgi-bin/stable_token"), &[], vec![]).await.json();
    assert_code(&empty, 44002);
    let garbage = t.raw("POST", &format!("{BASE}/cgi-bin/stable_token"), &[], b"{not json".to_vec()).await.json();
    assert_code(&garbage, 47001);
}

#[tokio::test]
async fn token_missing_invalid_expired_and_rotation() {
    let t = T::new();
    let missing = t.get_plain("/cgi-bin/menu/get").await.json();
    assert_code(&missing, 41001);
    let bogus = t.get_plain("/cgi-bin/menu/get?access_token=bogus").await.json();
    assert_code(&bogus, 40001);

    // Within 5 minutes of expiry normal mode rotates; the old token stays valid until it expires.
    t.sim.advance(Duration::from_secs(7200 - 200));
    assert_code(&t.get("/cgi-bin/get_current_selfmenu_info").await, 0);
    let rotated = t.sim.access_token();
    assert_ne!(rotated, t.token());
    t.sim.advance(Duration::from_secs(201));
    assert_code(&t.get("/cgi-bin/get_current_selfmenu_info").await, 42001);
    let t2 = t.with_token(&rotated);
    assert_code(&t2.get("/cgi-bin/get_current_selfmenu_info").await, 0);
    t.sim.advance(Duration::from_secs(7200));
    assert_code(&t2.get("/cgi-bin/get_current_selfmenu_info").await, 42001);
}

#[tokio::test]
async fn classic_token_keeps_the_previous_for_five_minutes() {
    let t = T::new();
    let q = format!("/cgi-bin/token?grant_type=client_credential&appid={}&secret={}", t.sim.app_id(), t.sim.app_secret());
    let first = t.get_plain(&q).await.json();
    let second = t.get_plain(&q).await.json();
    assert_eq!(second["expires_in"], 7200);
    let old = t.with_token(first["access_token"].as_str().unwrap());
    assert_code(&old.get("/cgi-bin/get_current_selfmenu_info").await, 0);
    t.sim.advance(Duration::from_secs(301));
    assert_code(&old.get("/cgi-bin/get_current_selfmenu_info").await, 42001);
    let new = t.with_token(second["access_token"].as_str().unwrap());
    assert_code(&new.get("/cgi-bin/get_current_selfmenu_info").await, 0);
    let wrong = t.get_plain(&format!("/cgi-bin/token?grant_type=client_credential&appid={}&secret=x", t.sim.app_id())).await.json();
    assert_code(&wrong, 40125);
}

// ---------------------------------------------------------------- menu

fn library_menu() -> Value {
    json!({"button": [
        {"type": "click", "name": "我的借阅", "key": "MY_LOANS"},
        {"name": "馆藏", "sub_button": [
            {"type": "view", "name": "检索", "url": "https://lib.example.edu/m/search"},
            {"type": "scancode_push", "name": "扫码查书", "key": "SCAN_ISBN"}
        ]},
        {"type": "view", "name": "开放时间", "url": "https://lib.example.edu/hours"}
    ]})
}

#[tokio::test]
async fn menu_create_get_delete() {
    let t = T::new();
    assert_code(&t.get("/cgi-bin/menu/get").await, 46003);
    assert_eq!(t.get("/cgi-bin/get_current_selfmenu_info").await["is_menu_open"], 0);
    assert_code(&t.post("/cgi-bin/menu/create", library_menu()).await, 0);
    let got = t.get("/cgi-bin/menu/get").await;
    assert_eq!(got["menu"]["button"], library_menu()["button"]);
    let info = t.get("/cgi-bin/get_current_selfmenu_info").await;
    assert_eq!(info["is_menu_open"], 1);
    assert_eq!(info["selfmenu_info"]["button"][1]["sub_button"]["list"][0]["url"], "https://lib.example.edu/m/search");
    assert_eq!(info["selfmenu_info"]["button"][0]["key"], "MY_LOANS");
    assert_eq!(t.sim.menu().unwrap()["button"][2]["name"], "开放时间");
    assert_code(&t.get("/cgi-bin/menu/delete").await, 0);
    assert_code(&t.get("/cgi-bin/menu/get").await, 46003);
}

#[tokio::test]
async fn menu_rejections() {
    let t = T::new();
    let click = |name: &str| json!({"type": "click", "name": name, "key": "K"});
    let subs = |n: usize| (0..n).map(|i| click(&format!("子{i}"))).collect::<Vec<_>>();
    let cases: Vec<(Value, i64)> = vec![
        (json!({"button": [click("a"), click("b"), click("c"), click("d")]}), 40016),
        (json!({"button": []}), 40016),
        (json!({"nobutton": 1}), 40016),
        (json!({"button": [{"name": "更多", "sub_button": subs(6)}]}), 40023),
        // 6 CJK characters = 18 bytes > 16
        (json!({"button": [click("图书馆开放时间")]}), 40018),
        (json!({"button": [click("")]}), 40018),
        (json!({"button": [{"name": "更多", "sub_button": [click(&"书".repeat(21))]}]}), 40025),
        (json!({"button": [{"type": "click", "name": "借阅"}]}), 40019),
        (json!({"button": [{"type": "click", "name": "借阅", "key": "k".repeat(129)}]}), 40019),
        (json!({"button": [{"name": "更多", "sub_button": [{"type": "click", "name": "x", "key": "k".repeat(129)}]}]}), 40026),
        (json!({"button": [{"type": "view", "name": "官网"}]}), 40020),
        (json!({"button": [{"type": "view", "name": "官网", "url": format!("https://a.cn/{}", "x".repeat(1020))}]}), 40020),
        (json!({"button": [{"name": "更多", "sub_button": [{"type": "view", "name": "x", "url": ""}]}]}), 40027),
        (json!({"button": [{"type": "view", "name": "官网", "url": "javascript:alert(1)"}]}), 40055),
        (json!({"button": [{"type": "popup", "name": "x", "key": "k"}]}), 40017),
        (json!({"button": [{"name": "x", "key": "k"}]}), 40017),
        (json!({"button": [{"name": "更多", "sub_button": [{"type": "popup", "name": "x"}]}]}), 40024),
        (json!({"button": [{"name": "更多", "sub_button": [{"name": "深", "sub_button": [click("x")]}]}]}), 40022),
        (
            json!({"button": [{"type": "miniprogram", "name": "小程序", "url": "https://a.cn", "appid": "wxmini", "pagepath": "pages/i"}]}),
            45064,
        ),
        (json!({"button": [{"type": "miniprogram", "name": "小程序", "url": "https://a.cn", "pagepath": "pages/i"}]}), 40166),
    ];
    for (menu, expected) in cases {
        let v = t.post("/cgi-bin/menu/create", menu.clone()).await;
        assert_eq!(code(&v), expected, "menu {menu} → {v}");
    }
    assert!(t.sim.menu().is_none(), "no rejected menu was stored");
    // Limits are bytes, and exactly at the limit is fine: 5 CJK = 15 bytes, sub 20 CJK = 60 bytes.
    let edge = json!({"button": [click("五个汉字啊"), {"name": "更多", "sub_button": [click(&"书".repeat(20))]}]});
    assert_code(&t.post("/cgi-bin/menu/create", edge).await, 0);
    t.sim.link_miniprogram("wxmini");
    let mini =
        json!({"button": [{"type": "miniprogram", "name": "小程序", "url": "https://a.cn", "appid": "wxmini", "pagepath": "pages/i"}]});
    assert_code(&t.post("/cgi-bin/menu/create", mini).await, 0);
}

// ---------------------------------------------------------------- customer service

#[tokio::test]
async fn custom_send_window_and_count() {
    let t = T::new();
    t.sim.follow(READER, None);
    // The follow opened a 1-minute window with 3 sends; let it lapse.
    t.advance(Duration::from_secs(61));
    assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "没有互动")).await, 45015);

    t.sim.note_user_message(READER);
    for i in 0..5 {
        assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, &format!("第{i}条"))).await, 0);
    }
    assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "第6条")).await, 45047);
    t.advance(Duration::from_secs(48 * 3600));
    assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "过期")).await, 45015);

    // A click opens 3 sends within a minute.
    t.sim.note_click_or_scan_or_follow(READER);
    for _ in 0..3 {
        assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "点击")).await, 0);
    }
    assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "点击4")).await, 45047);
    t.advance(Duration::from_secs(60));
    assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "点击5")).await, 45015);

    let inbox = t.sim.inbox(READER);
    assert_eq!(inbox.len(), 8);
    assert!(inbox.iter().all(|p| p.kind == PushKind::Custom));
    assert_eq!(inbox[0].body["text"]["content"], "第0条");
    assert_eq!(inbox[7].body["text"]["content"], "点击");
    assert!(inbox.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[tokio::test]
async fn custom_send_rejections() {
    let t = T::new();
    t.sim.follow(READER, None);
    t.sim.note_user_message(READER);
    t.sim.follow(OTHER, None);
    t.sim.note_user_message(OTHER);
    t.sim.unfollow(OTHER);
    assert_code(&t.post("/cgi-bin/message/custom/send", text(OTHER, "hi")).await, 43004);
    assert_code(&t.post("/cgi-bin/message/custom/send", text("oNOBODY", "hi")).await, 40003);
    assert_code(&t.post("/cgi-bin/message/custom/send", json!({"msgtype": "text", "text": {"content": "x"}})).await, 40003);
    assert_code(&t.post("/cgi-bin/message/custom/send", json!({"touser": READER, "msgtype": "fax"})).await, 40008);
    assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "")).await, 44004);
    let two = json!({"touser": READER, "msgtype": "news", "news": {"articles": [
        {"title": "a", "url": "https://a"}, {"title": "b", "url": "https://b"}]}});
    assert_code(&t.post("/cgi-bin/message/custom/send", two).await, 45008);
    assert_code(
        &t.post("/cgi-bin/message/custom/send", json!({"touser": READER, "msgtype": "image", "image": {"media_id": "nope"}})).await,
        40007,
    );
    assert_code(&t.post_raw("/cgi-bin/message/custom/send", vec![]).await, 44002);
    assert_code(&t.post_raw("/cgi-bin/message/custom/send", b"[1,2]".to_vec()).await, 47001);
    // None of the rejections used the window.
    let one = json!({"touser": READER, "msgtype": "news", "news": {"articles": [{"title": "a", "url": "https://a"}]}});
    assert_code(&t.post("/cgi-bin/message/custom/send", one).await, 0);
    let img = t.upload("/cgi-bin/media/upload?type=image", "p.png", b"\x89PNG....").await;
    let mid = img["media_id"].as_str().unwrap();
    assert_code(
        &t.post("/cgi-bin/message/custom/send", json!({"touser": READER, "msgtype": "image", "image": {"media_id": mid}})).await,
        0,
    );
    // Temporary media last 3 days.
    t.advance(Duration::from_secs(3 * 86400 + 1));
    t.sim.note_user_message(READER);
    assert_code(
        &t.post("/cgi-bin/message/custom/send", json!({"touser": READER, "msgtype": "image", "image": {"media_id": mid}})).await,
        40007,
    );

    assert_code(&t.post("/cgi-bin/message/custom/typing", json!({"touser": READER, "command": "Typing"})).await, 0);
    assert_code(&t.post("/cgi-bin/message/custom/typing", json!({"touser": READER, "command": "Dance"})).await, 45072);
}

// ---------------------------------------------------------------- template and subscription

fn due(to: &str, book: &str) -> Value {
    json!({"touser": to, "template_id": "due_reminder", "url": "https://lib.example.edu/m/loans",
           "data": {"thing1": {"value": book}, "time2": {"value": "2025-06-30"}, "thing3": {"value": "请按时归还"}}})
}

#[tokio::test]
async fn template_send() {
    let t = T::new();
    t.sim.follow(READER, None);
    let v = t.post("/cgi-bin/message/template/send", due(READER, "三体")).await;
    assert_code(&v, 0);
    let msgid = v["msgid"].as_u64().unwrap();
    let inbox = t.sim.inbox(READER);
    assert_eq!(inbox.len(), 1);
    assert_eq!((inbox[0].kind, inbox[0].msg_id), (PushKind::Template, Some(msgid)));
    assert_eq!(inbox[0].body["data"]["thing1"]["value"], "三体");

    let mut unknown = due(READER, "三体");
    unknown["template_id"] = "no_such".into();
    assert_code(&t.post("/cgi-bin/message/template/send", unknown).await, 40037);
    assert_code(&t.post("/cgi-bin/message/template/send", due("oNOBODY", "x")).await, 40003);
    t.sim.follow(OTHER, None);
    t.sim.unfollow(OTHER);
    assert_code(&t.post("/cgi-bin/message/template/send", due(OTHER, "x")).await, 43004);
    assert_code(&t.post("/cgi-bin/message/template/send", due(READER, &"长".repeat(21))).await, 47003);
    let mut no_data = due(READER, "x");
    no_data.as_object_mut().unwrap().remove("data");
    assert_code(&t.post("/cgi-bin/message/template/send", no_data).await, 47003);

    // client_msg_id: the same msgid and one delivery.
    let mut once = due(READER, "活着");
    once["client_msg_id"] = "loan-42-due".into();
    let a = t.post("/cgi-bin/message/template/send", once.clone()).await;
    let b = t.post("/cgi-bin/message/template/send", once).await;
    assert_code(&b, 0);
    assert_eq!(a["msgid"], b["msgid"]);
    assert_eq!(t.sim.inbox(READER).len(), 2);

    t.sim.add_template("renew_ok", "续借成功通知", &["thing1", "time2"]);
    let list = t.get("/cgi-bin/template/get_all_private_template").await;
    assert!(list["template_list"].as_array().unwrap().iter().any(|x| x["template_id"] == "renew_ok"));
}

#[tokio::test]
async fn subscribe_bizsend_needs_an_accepted_subscription() {
    let t = T::new();
    t.sim.follow(READER, None);
    let msg = json!({"touser": READER, "template_id": "hold_ready", "page": "https://lib.example.edu/m/holds",
                     "data": {"thing1": {"value": "三体"}, "thing2": {"value": "总馆二楼"}, "time3": {"value": "2025-07-01"}}});
    assert_code(&t.post("/cgi-bin/message/subscribe/bizsend", msg.clone()).await, 43101);
    t.sim.accept_subscribe_message(READER, "hold_ready");
    assert_code(&t.post("/cgi-bin/message/subscribe/bizsend", msg.clone()).await, 0);
    assert_code(&t.post("/cgi-bin/message/subscribe/bizsend", msg.clone()).await, 43101);
    let mut bad = msg.clone();
    bad["template_id"] = "nope".into();
    assert_code(&t.post("/cgi-bin/message/subscribe/bizsend", bad).await, 40037);
    assert_eq!(t.sim.inbox(READER).iter().filter(|p| p.kind == PushKind::Subscribe).count(), 1);
}

// ---------------------------------------------------------------- mass send and drafts

#[tokio::test]
async fn mass_sendall_consumes_draft_and_is_idempotent() {
    let t = T::new();
    t.sim.follow(READER, None);
    t.sim.follow(OTHER, None);
    t.sim.follow("oGONE", None);
    t.sim.unfollow("oGONE");
    let media_id = t.draft().await;
    let body = json!({"filter": {"is_to_all": true}, "mpnews": {"media_id": media_id}, "msgtype": "mpnews",
                      "send_ignore_reprint": 0, "clientmsgid": "newsletter-2025-06"});
    let sent = t.post("/cgi-bin/message/mass/sendall", body.clone()).await;
    assert_code(&sent, 0);
    let msg_id = sent["msg_id"].as_u64().unwrap();
    assert!(sent["msg_data_id"].as_u64().is_some());
    for who in [READER, OTHER] {
        let inbox = t.sim.inbox(who);
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox[0].kind, PushKind::Mass);
        assert_eq!(inbox[0].body["mpnews"]["articles"][0]["title"], "新书通报");
    }
    assert!(t.sim.inbox("oGONE").is_empty());
    let jobs = t.sim.mass_jobs();
    assert_eq!(jobs[0].recipients, vec![READER.to_owned(), OTHER.to_owned()]);

    // Same clientmsgid: too fast within a minute, then 45065 with the existing msg_id.
    assert_code(&t.post("/cgi-bin/message/mass/sendall", body.clone()).await, 45066);
    t.advance(Duration::from_secs(120));
    let dup = t.post("/cgi-bin/message/mass/sendall", body.clone()).await;
    assert_code(&dup, 45065);
    assert_eq!(dup["msg_id"].as_u64(), Some(msg_id));
    assert_eq!(t.sim.inbox(READER).len(), 1, "a duplicate delivers nothing");

    // The draft was consumed.
    let mut again = body.clone();
    again["clientmsgid"] = "another".into();
    assert_code(&t.post("/cgi-bin/message/mass/sendall", again).await, 40007);
    assert_code(&t.post("/cgi-bin/draft/get", json!({"media_id": media_id})).await, 40007);

    let status = t.post("/cgi-bin/message/mass/get", json!({"msg_id": msg_id})).await;
    assert_eq!(status["msg_status"], "SEND_SUCCESS");
    assert_code(&t.post("/cgi-bin/message/mass/get", json!({"msg_id": 1})).await, 40035);

    let mut long = body.clone();
    long["clientmsgid"] = "x".repeat(65).into();
    assert_code(&t.post("/cgi-bin/message/mass/sendall", long).await, 45067);
    // After 24 h the clientmsgid is free again (the draft is gone, so the content is checked).
    t.advance(Duration::from_secs(86400));
    assert_code(&t.post("/cgi-bin/message/mass/sendall", body).await, 40007);
}

#[tokio::test]
async fn mass_quota_preview_and_tags() {
    let t = T::new();
    t.sim.follow(READER, None);
    t.sim.follow(OTHER, None);
    let tag = t.post("/cgi-bin/tags/create", json!({"tag": {"name": "研究生"}})).await;
    let tag_id = tag["tag"]["id"].as_u64().unwrap();
    assert_code(&t.post("/cgi-bin/tags/members/batchtagging", json!({"openid_list": [OTHER], "tagid": tag_id})).await, 0);

    let tagged = json!({"filter": {"is_to_all": false, "tag_id": tag_id}, "msgtype": "text", "text": {"content": "研究生专场讲座"}});
    assert_code(&t.post("/cgi-bin/message/mass/sendall", tagged).await, 0);
    assert!(t.sim.inbox(READER).is_empty());
    assert_eq!(t.sim.inbox(OTHER).len(), 1);
    let bad_tag = json!({"filter": {"is_to_all": false, "tag_id": 999}, "msgtype": "text", "text": {"content": "x"}});
    assert_code(&t.post("/cgi-bin/message/mass/sendall", bad_tag).await, 40050);

    let all = |c: &str| json!({"filter": {"is_to_all": true}, "msgtype": "text", "text": {"content": c}});
    for i in 2..=4 {
        assert_code(&t.post("/cgi-bin/message/mass/sendall", all(&format!("通知{i}"))).await, 0);
    }
    assert_code(&t.post("/cgi-bin/message/mass/sendall", all("第五条")).await, 45028);
    assert_code(
        &t.post("/cgi-bin/message/mass/send", json!({"touser": [READER, OTHER], "msgtype": "text", "text": {"content": "x"}})).await,
        45028,
    );

    // Preview uses no quota and reaches only the one reader.
    let p = t.post("/cgi-bin/message/mass/preview", json!({"touser": READER, "msgtype": "text", "text": {"content": "预览"}})).await;
    assert_code(&p, 0);
    assert_eq!(t.sim.inbox(READER).last().unwrap().kind, PushKind::MassPreview);
    t.sim.set_wxname(READER, "lib_reader");
    let by_name = json!({"towxname": "lib_reader", "msgtype": "text", "text": {"content": "预览2"}});
    assert_code(&t.post("/cgi-bin/message/mass/preview", by_name).await, 0);
    let nobody = json!({"towxname": "nobody", "msgtype": "text", "text": {"content": "x"}});
    assert_code(&t.post("/cgi-bin/message/mass/preview", nobody).await, 40132);

    assert_code(
        &t.post("/cgi-bin/message/mass/send", json!({"touser": [READER], "msgtype": "text", "text": {"content": "x"}})).await,
        40130,
    );
    assert_code(
        &t.post("/cgi-bin/message/mass/sendall", json!({"filter": {"is_to_all": true}, "msgtype": "text", "text": {"content": ""}})).await,
        44004,
    );

    // Next month the quota is back.
    t.advance(Duration::from_secs(32 * 86400));
    assert_code(
        &t.post("/cgi-bin/message/mass/send", json!({"touser": [READER, OTHER], "msgtype": "text", "text": {"content": "新月"}})).await,
        0,
    );

    let small = T::with(SimConfig { mass_quota_per_month: 1, ..SimConfig::default() });
    small.sim.follow(READER, None);
    assert_code(&small.post("/cgi-bin/message/mass/sendall", all("a")).await, 0);
    assert_code(&small.post("/cgi-bin/message/mass/sendall", all("b")).await, 45028);
}

#[tokio::test]
async fn drafts_and_uploads() {
    let t = T::new();
    let no_thumb = json!({"articles": [{"title": "t", "content": "c", "thumb_media_id": "nope"}]});
    assert_code(&t.post("/cgi-bin/draft/add", no_thumb).await, 40007);
    assert_code(&t.post("/cgi-bin/draft/add", json!({"articles": []})).await, 44003);
    let thumb = t.upload("/cgi-bin/material/add_material?type=image", "c.png", b"\x89PNG").await["media_id"].as_str().unwrap().to_owned();
    let art = |title: &str| json!({"title": title, "content": "c", "thumb_media_id": thumb});
    assert_code(&t.post("/cgi-bin/draft/add", json!({"articles": (0..9).map(|_| art("t")).collect::<Vec<_>>()})).await, 45008);
    assert_code(&t.post("/cgi-bin/draft/add", json!({"articles": [art(&"题".repeat(33))]})).await, 45003);
    let a = t.post("/cgi-bin/draft/add", json!({"articles": [art("一"), art("二")]})).await["media_id"].as_str().unwrap().to_owned();
    t.advance(Duration::from_secs(5));
    let b = t.post("/cgi-bin/draft/add", json!({"articles": [art("三")]})).await["media_id"].as_str().unwrap().to_owned();
    assert_eq!(t.post("/cgi-bin/draft/count", json!({})).await["total_count"], 2);
    let got = t.post("/cgi-bin/draft/get", json!({"media_id": a})).await;
    assert_eq!(got["news_item"][1]["title"], "二");
    assert!(got["news_item"][0]["url"].as_str().unwrap().starts_with("http://sim.test:8080/sim/api/"));
    let page = t.post("/cgi-bin/draft/batchget", json!({"offset": 0, "count": 20, "no_content": 1})).await;
    assert_eq!(page["item_count"], 2);
    assert_eq!(page["item"][0]["media_id"], b, "newest first");
    assert!(page["item"][0]["content"]["news_item"][0].get("content").is_none());
    assert_code(&t.post("/cgi-bin/draft/batchget", json!({"offset": 0, "count": 21})).await, 40035);
    assert_code(&t.post("/cgi-bin/draft/update", json!({"media_id": a, "index": 0, "articles": art("改")})).await, 0);
    assert_eq!(t.post("/cgi-bin/draft/get", json!({"media_id": a})).await["news_item"][0]["title"], "改");
    assert_code(&t.post("/cgi-bin/draft/delete", json!({"media_id": b})).await, 0);
    assert_code(&t.post("/cgi-bin/draft/delete", json!({"media_id": b})).await, 40007);

    // uploadimg: jpg/png under 1 MB; the URL serves the bytes under the mount.
    let img = t.upload("/cgi-bin/media/uploadimg", "inline.png", b"\x89PNGdata").await;
    let url = img["url"].as_str().unwrap();
    let path = url.strip_prefix("http://sim.test:8080").expect("absolute URL on the request's host");
    let served = t.raw("GET", path, &[], vec![]).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.body, b"\x89PNGdata");
    assert_eq!(served.headers[header::CONTENT_TYPE], "image/png");
    assert_code(&t.upload("/cgi-bin/media/uploadimg", "x.gif", b"GIF89a").await, 40005);
    assert_code(&t.upload("/cgi-bin/media/uploadimg", "big.jpg", &vec![0u8; (1 << 20) + 1]).await, 40009);
    assert_code(&t.upload("/cgi-bin/material/add_material?type=sticker", "a.png", b"x").await, 40004);
    assert_code(&t.post("/cgi-bin/media/uploadimg", json!({})).await, 41005);
}

// ---------------------------------------------------------------- QR codes

#[tokio::test]
async fn qrcode_create_limits_and_image() {
    let t = T::new();
    let temp = t
        .post(
            "/cgi-bin/qrcode/create",
            json!({"expire_seconds": 604800, "action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 123}}}),
        )
        .await;
    assert_eq!(temp["expire_seconds"], 604800);
    let ticket = temp["ticket"].as_str().unwrap();
    assert!(temp["url"].as_str().unwrap().starts_with("http://weixin.qq.com/q/"));
    let clamp = t
        .post(
            "/cgi-bin/qrcode/create",
            json!({"expire_seconds": 9999999, "action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "desk-1"}}}),
        )
        .await;
    assert_eq!(clamp["expire_seconds"], 2592000);
    let default = t.post("/cgi-bin/qrcode/create", json!({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 5}}})).await;
    assert_eq!(default["expire_seconds"], 60);

    let perm = json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100000}}});
    let p1 = t.post("/cgi-bin/qrcode/create", perm.clone()).await;
    assert!(p1.get("expire_seconds").is_none());
    assert_eq!(t.post("/cgi-bin/qrcode/create", perm).await["ticket"], p1["ticket"], "same permanent scene, same ticket");
    let ps = t
        .post(
            "/cgi-bin/qrcode/create",
            json!({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "reading-room"}}}),
        )
        .await;
    assert_code(&ps, 0);

    let bad: Vec<(Value, i64)> = vec![
        (json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 0}}}), 40053),
        (json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100001}}}), 40053),
        (json!({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 0}}}), 40053),
        (json!({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 4294967296u64}}}), 40053),
        (json!({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "s".repeat(65)}}}), 40053),
        (json!({"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": ""}}}), 40053),
        (json!({"action_name": "QR_LIMIT_SCENE", "action_info": {}}), 40053),
        (json!({"action_name": "QR_FOREVER", "action_info": {"scene": {"scene_id": 1}}}), 40052),
    ];
    for (body, expected) in bad {
        let v = t.post("/cgi-bin/qrcode/create", body.clone()).await;
        assert_eq!(code(&v), expected, "{body} → {v}");
    }

    let codes = t.sim.qr_codes();
    assert_eq!(codes.len(), 5);
    let c = t.sim.qr_code(ticket).unwrap();
    assert_eq!((c.scene(), c.permanent), ("123".to_owned(), false));
    assert_eq!(t.sim.qr_code(ps["url"].as_str().unwrap()).unwrap().scene(), "reading-room");

    // The image, no token needed, ticket URL-encoded as clients do.
    let img = t.get_plain(&format!("/cgi-bin/showqrcode?ticket={}", ticket.replace('=', "%3D"))).await;
    assert_eq!(img.status, StatusCode::OK);
    assert_eq!(img.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(String::from_utf8(img.body).unwrap().contains("<svg"));
    assert_eq!(t.get_plain("/cgi-bin/showqrcode?ticket=nope").await.status, StatusCode::NOT_FOUND);
    t.sim.advance(Duration::from_secs(604800));
    assert_eq!(t.get_plain(&format!("/cgi-bin/showqrcode?ticket={ticket}")).await.status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- users and tags

#[tokio::test]
async fn user_info_scene_and_listing() {
    let t = T::new();
    t.sim.follow(READER, Some("123".into()));
    t.sim.follow(OTHER, Some("desk-1".into()));
    t.sim.follow("oPLAIN", None);
    let u = t.get(&format!("/cgi-bin/user/info?openid={READER}&lang=zh_CN")).await;
    assert_eq!(u["subscribe"], 1);
    assert_eq!(u["subscribe_scene"], "ADD_SCENE_QR_CODE");
    assert_eq!((u["qr_scene"].as_u64(), u["qr_scene_str"].as_str()), (Some(123), Some("")));
    assert_eq!(u["subscribe_time"].as_i64(), Some(t.sim.now()));
    assert!(u.get("nickname").is_none() && u.get("headimgurl").is_none());
    let o = t.get(&format!("/cgi-bin/user/info?openid={OTHER}")).await;
    assert_eq!((o["qr_scene"].as_u64(), o["qr_scene_str"].as_str()), (Some(0), Some("desk-1")));
    assert_eq!(t.get("/cgi-bin/user/info?openid=oPLAIN").await["subscribe_scene"], "ADD_SCENE_SEARCH");
    t.sim.unfollow("oPLAIN");
    let gone = t.get("/cgi-bin/user/info?openid=oPLAIN").await;
    assert_eq!(gone, json!({"subscribe": 0, "openid": "oPLAIN"}));
    assert_code(&t.get("/cgi-bin/user/info?openid=oNOBODY").await, 40003);
    assert_code(&t.get("/cgi-bin/user/info").await, 41009);

    let list = t.get("/cgi-bin/user/get").await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["data"]["openid"], json!([READER, OTHER]));
    assert_eq!(list["next_openid"], OTHER);
    let rest = t.get(&format!("/cgi-bin/user/get?next_openid={OTHER}")).await;
    assert_eq!((rest["count"].as_u64(), rest.get("data").is_none()), (Some(0), true));
    let batch = t.post("/cgi-bin/user/info/batchget", json!({"user_list": [{"openid": READER}, {"openid": OTHER, "lang": "en"}]})).await;
    assert_eq!(batch["user_info_list"][1]["language"], "en");
}

#[tokio::test]
async fn tags() {
    let t = T::new();
    t.sim.follow(READER, None);
    let created = t.post("/cgi-bin/tags/create", json!({"tag": {"name": "本科生"}})).await;
    let id = created["tag"]["id"].as_u64().unwrap();
    assert!(id >= 100);
    assert_code(&t.post("/cgi-bin/tags/create", json!({"tag": {"name": "本科生"}})).await, 45157);
    assert_code(&t.post("/cgi-bin/tags/create", json!({"tag": {"name": ""}})).await, 45157);
    assert_code(&t.post("/cgi-bin/tags/create", json!({"tag": {"name": "长".repeat(11)}})).await, 45158);
    assert_code(&t.post("/cgi-bin/tags/members/batchtagging", json!({"openid_list": [READER], "tagid": 999})).await, 45159);
    assert_code(&t.post("/cgi-bin/tags/members/batchtagging", json!({"openid_list": ["oNOBODY"], "tagid": id})).await, 40003);
    assert_code(&t.post("/cgi-bin/tags/members/batchtagging", json!({"openid_list": [], "tagid": id})).await, 40032);
    let many: Vec<String> = (0..51).map(|i| format!("o{i}")).collect();
    assert_code(&t.post("/cgi-bin/tags/members/batchtagging", json!({"openid_list": many, "tagid": id})).await, 40032);
    assert_code(&t.post("/cgi-bin/tags/members/batchtagging", json!({"openid_list": [READER], "tagid": id})).await, 0);
    assert_eq!(t.post("/cgi-bin/tags/getidlist", json!({"openid": READER})).await["tagid_list"], json!([id]));
    assert_eq!(t.get(&format!("/cgi-bin/user/info?openid={READER}")).await["tagid_list"], json!([id]));
    let members = t.post("/cgi-bin/user/tag/get", json!({"tagid": id, "next_openid": ""})).await;
    assert_eq!(members["data"]["openid"], json!([READER]));
    let all = t.get("/cgi-bin/tags/get").await;
    assert!(all["tags"].as_array().unwrap().iter().any(|x| x["id"] == 2 && x["name"] == "星标组"));
    assert!(all["tags"].as_array().unwrap().iter().any(|x| x["id"] == id && x["count"] == 1));
    assert_code(&t.post("/cgi-bin/tags/delete", json!({"tag": {"id": 2}})).await, 45058);
    assert_code(&t.post("/cgi-bin/tags/update", json!({"tag": {"id": 1, "name": "x"}})).await, 45058);
    assert_code(&t.post("/cgi-bin/tags/update", json!({"tag": {"id": id, "name": "本科"}})).await, 0);
    assert_code(&t.post("/cgi-bin/tags/members/batchuntagging", json!({"openid_list": [READER], "tagid": id})).await, 0);
    assert_eq!(t.post("/cgi-bin/tags/getidlist", json!({"openid": READER})).await["tagid_list"], json!([]));
    assert_code(&t.post("/cgi-bin/tags/delete", json!({"tag": {"id": id}})).await, 0);
    assert_code(&t.post("/cgi-bin/tags/delete", json!({"tag": {"id": id}})).await, 45159);
    // A user takes at most 20 tags.
    for i in 0..20 {
        let tid = t.post("/cgi-bin/tags/create", json!({"tag": {"name": format!("t{i}")}})).await["tag"]["id"].clone();
        assert_code(&t.post("/cgi-bin/tags/members/batchtagging", json!({"openid_list": [READER], "tagid": tid})).await, 0);
    }
    let extra = t.post("/cgi-bin/tags/create", json!({"tag": {"name": "t20"}})).await["tag"]["id"].clone();
    assert_code(&t.post("/cgi-bin/tags/members/batchtagging", json!({"openid_list": [READER], "tagid": extra})).await, 45059);
}

// ---------------------------------------------------------------- OAuth2

fn location_param(r: &Resp, key: &str) -> String {
    let loc = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    let query = loc.split_once('?').unwrap().1;
    query.split('&').find_map(|kv| kv.strip_prefix(&format!("{key}="))).unwrap_or_else(|| panic!("{key} in {loc}")).to_owned()
}

#[tokio::test]
async fn oauth_code_flow() {
    let t = T::new();
    t.sim.follow(READER, None);
    let appid = t.sim.app_id();
    let redirect = "https%3A%2F%2Flib.example.edu%2Fm%2Floans%3Ffrom%3Dmenu";
    let authorize =
        format!("/connect/oauth2/authorize?appid={appid}&redirect_uri={redirect}&response_type=code&scope=snsapi_base&state=loans%201");

    let r = t.get_plain(&format!("{authorize}&sim_openid={READER}")).await;
    assert_eq!(r.status, StatusCode::FOUND);
    let loc = r.headers[header::LOCATION].to_str().unwrap();
    assert!(loc.starts_with("https://lib.example.edu/m/loans?from=menu&code="), "{loc}");
    assert_eq!(location_param(&r, "state"), "loans%201");
    let code = location_param(&r, "code");

    let exchange = |code: &str, secret: &str| {
        format!("/sns/oauth2/access_token?appid={appid}&secret={secret}&code={code}&grant_type=authorization_code")
    };
    let secret = t.sim.app_secret();
    let tok = t.get_plain(&exchange(&code, &secret)).await.json();
    assert_eq!(tok["openid"], READER);
    assert_eq!(tok["scope"], "snsapi_base");
    assert_eq!(tok["expires_in"], 7200);
    assert!(tok["access_token"].is_string() && tok["refresh_token"].is_string());
    assert_code(&t.get_plain(&exchange(&code, &secret)).await.json(), 40163);
    assert_code(&t.get_plain(&exchange("nonsense", &secret)).await.json(), 40029);

    // The phone's cookie names the reader too; codes expire after 5 minutes.
    let r = t.raw("GET", &format!("{BASE}{authorize}"), &[("cookie", &format!("a=b; sim_openid={OTHER}"))], vec![]).await;
    let late = location_param(&r, "code");
    let c2 = t.sim.oauth_code(OTHER, "snsapi_base");
    assert_code(&t.get_plain(&exchange(&c2, "wrong")).await.json(), 40125);
    t.sim.advance(Duration::from_secs(301));
    assert_code(&t.get_plain(&exchange(&late, &secret)).await.json(), 40029);
    // A visitor who never followed is known to WeChat but not subscribed.
    assert_eq!(t.get(&format!("/cgi-bin/user/info?openid={OTHER}")).await["subscribe"], 0);

    assert_eq!(t.get_plain(&authorize).await.status, StatusCode::BAD_REQUEST, "no reader on the phone");
    let bad_scope = authorize.replace("snsapi_base", "snsapi_login");
    assert_eq!(t.get_plain(&format!("{bad_scope}&sim_openid={READER}")).await.status, StatusCode::BAD_REQUEST);

    let strict = T::with(SimConfig { oauth_domains: vec!["lib.example.edu".into()], ..SimConfig::default() });
    let other_domain = authorize.replace("lib.example.edu", "evil.example.com");
    assert_eq!(strict.get_plain(&format!("{other_domain}&sim_openid={READER}")).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(strict.get_plain(&format!("{authorize}&sim_openid={READER}")).await.status, StatusCode::FOUND);
}

// ---------------------------------------------------------------- faults, control, records

#[tokio::test]
async fn injected_faults() {
    let t = T::new();
    t.sim.follow(READER, None);
    t.sim.inject("/cgi-bin/message/custom", Fault::Error(-1), 1);
    assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "a")).await, -1);
    assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "b")).await, 0);
    assert_eq!(t.sim.inbox(READER).len(), 1, "a failed call delivers nothing");

    t.sim.inject("cgi-bin/menu", Fault::Delay(Duration::from_millis(150)), 1);
    let started = Instant::now();
    assert_code(&t.get("/cgi-bin/menu/delete").await, 0);
    assert!(started.elapsed() >= Duration::from_millis(150));

    t.sim.inject("", Fault::HttpStatus(502), 1);
    let r = t.raw("GET", &format!("{BASE}/cgi-bin/menu/get?access_token={}", t.token()), &[], vec![]).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);

    t.sim.inject("/cgi-bin/stable_token", Fault::Error(45009), usize::MAX);
    let req = json!({"grant_type": "client_credential", "appid": t.sim.app_id(), "secret": t.sim.app_secret()});
    assert_code(&t.post_plain("/cgi-bin/stable_token", req.clone()).await, 45009);
    assert_code(&t.post_plain("/cgi-bin/stable_token", req.clone()).await, 45009);
    t.sim.clear_faults();
    assert_code(&t.post_plain("/cgi-bin/stable_token", req).await, 0);

    let calls = t.sim.calls();
    assert_eq!(calls[0].path, "/cgi-bin/message/custom/send");
    assert_eq!((calls[0].errcode, calls[0].fault.as_deref()), (Some(-1), Some("Error(-1)")));
    assert!(calls[0].body.contains("\"touser\""));
    assert!(calls.iter().any(|c| c.errcode.is_none() && c.fault.as_deref() == Some("HttpStatus(502)")));
}

#[tokio::test]
async fn control_endpoints() {
    let t = T::new();
    let ctl = |path: &str, body: Value| {
        let t = &t;
        let path = path.to_owned();
        async move {
            let r = t
                .raw("POST", &format!("{BASE}/_control{path}"), &[("content-type", "application/json")], serde_json::to_vec(&body).unwrap())
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
            r.json()
        }
    };
    ctl("/follow", json!({"openid": READER, "scene": "42"})).await;
    assert_eq!(t.sim.follower(READER).unwrap().qr_scene, 42);
    ctl("/interaction", json!({"openid": READER, "kind": "message"})).await;
    ctl("/fault", json!({"path": "/cgi-bin/message/custom/send", "errcode": 45047, "times": 1})).await;
    assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "x")).await, 45047);
    assert_code(&t.post("/cgi-bin/message/custom/send", text(READER, "y")).await, 0);

    let before = t.sim.now();
    let adv = ctl("/advance", json!({"seconds": 3600})).await;
    assert!(adv["now"].as_i64().unwrap() >= before + 3600);

    let inbox = t.get_plain(&format!("/_control/inbox?openid={READER}")).await.json();
    assert_eq!(inbox["messages"][0]["kind"], "custom");
    assert_eq!(inbox["messages"][0]["body"]["text"]["content"], "y");
    let calls = t.get_plain("/_control/calls").await.json();
    assert_eq!(calls["calls"].as_array().unwrap().len(), 2);
    let followers = t.get_plain("/_control/followers").await.json();
    assert_eq!(followers["followers"][0]["subscribe_scene"], "ADD_SCENE_QR_CODE");

    ctl("/unfollow", json!({"openid": READER})).await;
    assert!(!t.sim.follower(READER).unwrap().subscribed);
    ctl("/subscribe_grant", json!({"openid": READER, "template_id": "due_reminder"})).await;
    let del = t.raw("DELETE", &format!("{BASE}/_control/fault"), &[], vec![]).await;
    assert_eq!(del.status, StatusCode::OK);
    let bad = t.raw("POST", &format!("{BASE}/_control/fault"), &[("content-type", "application/json")], br#"{"path":"/"}"#.to_vec()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // A clock step that is negative or does not fit a duration is refused, not a panic.
    for seconds in ["-1", "1e30"] {
        let body = format!(r#"{{"seconds":{seconds}}}"#).into_bytes();
        let refused = t.raw("POST", &format!("{BASE}/_control/advance"), &[("content-type", "application/json")], body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "seconds {seconds}");
    }
}

#[tokio::test]
async fn unmounted_router_and_separate_control_router() {
    // The API router also works at the root (its own port), and the control router on its own.
    let sim = Simulator::default();
    let app = sim.api_router().merge(Router::new().nest("/ctl", sim.control_router()));
    let token = sim.access_token();
    let r = app
        .clone()
        .oneshot(Request::get(format!("/cgi-bin/get_current_selfmenu_info?access_token={token}")).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&to_bytes(r.into_body(), usize::MAX).await.unwrap()).unwrap();
    assert_eq!(v["is_menu_open"], 0);
    let r = app.oneshot(Request::get("/ctl/now").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// `YYYY-MM-DD` of a unix time in Beijing time (the calendar WeChat's analytics use).
fn beijing_date(secs: i64) -> String {
    let z = (secs + 8 * 3600).div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", yoe + era * 400 + i64::from(m <= 2))
}

#[tokio::test]
async fn article_analytics_count_recorded_opens_with_wechats_date_rules() {
    let t = T::new();
    let readers = ["oART1", "oART2", "oART3", "oART4"];
    for r in readers {
        t.sim.follow(r, None);
    }
    let media_id = t.draft().await;
    let sent = t
        .post(
            "/cgi-bin/message/mass/sendall",
            json!({"filter": {"is_to_all": true}, "mpnews": {"media_id": media_id}, "msgtype": "mpnews", "send_ignore_reprint": 0}),
        )
        .await;
    assert_code(&sent, 0);
    let (msg_id, data_id) = (sent["msg_id"].as_u64().unwrap(), sent["msg_data_id"].as_u64().unwrap());
    let sent_day = beijing_date(t.sim.now());
    // Three readers open the article (one twice), one taps 阅读原文; a stranger cannot open it.
    for r in ["oART1", "oART2", "oART3", "oART1"] {
        t.sim.read_article(r, msg_id, 0, false).unwrap();
    }
    t.sim.read_article("oART4", msg_id, 0, true).unwrap();
    assert!(t.sim.read_article("oSTRANGER", msg_id, 0, false).is_err());
    assert!(t.sim.read_article("oART1", msg_id, 5, false).is_err());

    // Today is not over: 61501; bad dates: 61500; two days: 61501.
    let t = &t;
    let ask = |path: &'static str, b: &str, e: &str| {
        let body = json!({"begin_date": b, "end_date": e});
        async move { t.post(path, body).await }
    };
    assert_code(&ask("/datacube/getarticlesummary", &sent_day, &sent_day).await, 61501);
    assert_code(&ask("/datacube/getarticletotal", &sent_day, &sent_day).await, 61501);
    assert_code(&ask("/datacube/getarticlesummary", "2026-02-30", "2026-02-30").await, 61500);
    assert_code(&ask("/datacube/getarticletotal", "yesterday", &sent_day).await, 61500);

    t.advance(Duration::from_secs(2 * 86_400));
    let next_day = beijing_date(t.sim.now() - 86_400);
    assert_code(&ask("/datacube/getarticlesummary", &sent_day, &next_day).await, 61501);
    assert_code(&ask("/datacube/getarticletotal", &sent_day, &next_day).await, 61501);

    let summary = ask("/datacube/getarticlesummary", &sent_day, &sent_day).await;
    let row = &summary["list"][0];
    assert_eq!(summary["list"].as_array().unwrap().len(), 1, "{summary}");
    assert_eq!(row["msgid"], format!("{data_id}_1"));
    assert_eq!(row["title"], "新书通报");
    assert_eq!((row["int_page_read_user"].as_i64(), row["int_page_read_count"].as_i64()), (Some(3), Some(4)));
    assert_eq!((row["ori_page_read_user"].as_i64(), row["ori_page_read_count"].as_i64()), (Some(1), Some(1)));
    // Nothing read the day after: under 3 readers, not listed.
    assert_eq!(ask("/datacube/getarticlesummary", &next_day, &next_day).await["list"], json!([]));

    let total = ask("/datacube/getarticletotal", &sent_day, &sent_day).await;
    assert_eq!(total["list"].as_array().unwrap().len(), 1, "{total}");
    let details = total["list"][0]["details"].as_array().unwrap();
    assert_eq!(details.len(), 2, "the send day and the day after, up to yesterday");
    assert_eq!(details[1]["stat_date"], next_day.as_str());
    assert_eq!(details[1]["target_user"], 4);
    assert_eq!(details[1]["int_page_read_user"], 3);
    assert_eq!(details[1]["ori_page_read_count"], 1);
    // getarticletotal lists articles by their send day only.
    assert_eq!(ask("/datacube/getarticletotal", &next_day, &next_day).await["list"], json!([]));
}
