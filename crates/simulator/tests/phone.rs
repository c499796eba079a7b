//! The phone talks to a callback exactly as WeChat does. A fake account server on 127.0.0.1
//! checks every request as wxlib would (signature, msg_signature, decryption, typed parsing),
//! records it, and answers as told (an encrypted text reply, garbage, a 500, silence…). The phone
//! and the simulator's API are mounted as wxlib mounts them: `/sim` and `/sim/api`.

#![allow(clippy::unwrap_used, reason = "a test may unwrap: a panic is the failure, with the value")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use simulator::{Phone, PhoneConfig, SendOptions, Simulator};
use wechat::{AesKey, Event, Inbound, InboundKind, MessageCrypto, Reply};

const TOKEN: &str = "libtoken";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const GH: &str = "gh_0123456789ab";
const READER: &str = "oSimREADER000000000000000001";
const OTHER: &str = "oSimREADER000000000000000002";

/// What the fake account answers.
#[derive(Clone, Debug)]
enum Answer {
    /// A text reply `收到 <what>` (encrypted when the account has a key).
    Echo,
    /// Two news articles (allowed for events, not for messages).
    TwoArticles,
    Success,
    Garbage,
    Status(u16),
    /// Sleep, then echo.
    Slow(Duration),
    /// A plain (unencrypted) reply although the account is in safe mode.
    PlainInSafeMode,
}

#[derive(Clone, Debug)]
struct Got {
    query: HashMap<String, String>,
    body: String,
    xml: String,
    msg: Inbound,
}

#[derive(Clone)]
struct Account {
    crypto: Option<MessageCrypto>,
    answer: Arc<Mutex<Answer>>,
    got: Arc<Mutex<Vec<Got>>>,
}

fn describe(m: &Inbound) -> String {
    match &m.kind {
        InboundKind::Text { content } => format!("text {content}"),
        InboundKind::Event(e) => format!("event {}", e.name()),
        _ => m.msg_type.clone(),
    }
}

async fn callback(State(acc): State<Account>, Query(q): Query<HashMap<String, String>>, body: Bytes) -> Response {
    let (ts, nonce) = (q.get("timestamp").cloned().unwrap_or_default(), q.get("nonce").cloned().unwrap_or_default());
    if !wechat::signature::verify(q.get("signature").map(String::as_str).unwrap_or_default(), &[TOKEN, &ts, &nonce]) {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let xml = match &acc.crypto {
        Some(c) => {
            if q.get("encrypt_type").map(String::as_str) != Some("aes") {
                return (StatusCode::BAD_REQUEST, "safe mode: not encrypted").into_response();
            }
            let outer = wechat::xml::parse(&body).unwrap();
            assert_eq!(outer.child_text("ToUserName"), Some(GH));
            let enc = wechat::envelope::encrypt_field(&outer).expect("Encrypt");
            match c.open(&q["msg_signature"], &ts, &nonce, enc) {
                Ok(d) => d.xml,
                Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
            }
        }
        None => {
            assert!(!q.contains_key("encrypt_type"), "plain mode sends no encrypt_type");
            body_text.clone()
        }
    };
    let msg = Inbound::parse(xml.as_bytes()).expect("the phone sends what wechat::Inbound parses");
    assert_eq!(msg.to_user, GH);
    assert_eq!(q.get("openid"), Some(&msg.from_user), "openid in the query is the sender");
    let what = describe(&msg);
    let from = msg.from_user.clone();
    acc.got.lock().unwrap().push(Got { query: q, body: body_text, xml, msg });
    let answer = acc.answer.lock().unwrap().clone();
    let reply = match answer {
        Answer::Echo => Reply::text(format!("收到 {what}")),
        Answer::Slow(d) => {
            tokio::time::sleep(d).await;
            Reply::text(format!("收到 {what}"))
        }
        Answer::TwoArticles => {
            let a = wechat::Article {
                title: "新书通报".into(),
                description: "本周新书".into(),
                pic_url: String::new(),
                url: "http://example.org/new".into(),
            };
            Reply::News { articles: vec![a.clone(), a] }
        }
        Answer::Success => return "success".into_response(),
        Answer::Garbage => return (StatusCode::OK, "<html><body>Whitelabel Error Page</body></html>").into_response(),
        Answer::Status(s) => return (StatusCode::from_u16(s).unwrap(), "boom").into_response(),
        Answer::PlainInSafeMode => {
            return Reply::text("明文").to_xml(&from, GH, 1).unwrap().into_response();
        }
    };
    let xml = reply.to_xml(&from, GH, 1_700_000_000).unwrap();
    match &acc.crypto {
        Some(c) => c.seal_reply(0, &xml, "1700000001", "424242", [9; 16]).into_response(),
        None => xml.into_response(),
    }
}

/// A page that sends readers through WeChat's OAuth (as wxlib's own pages would).
async fn oauth_page(State(base): State<String>, headers: HeaderMap) -> Response {
    let cookie = headers.get(header::COOKIE).and_then(|c| c.to_str().ok()).unwrap_or_default().to_owned();
    if let Some(session) = cookie.split(';').map(str::trim).find_map(|kv| kv.strip_prefix("session=")) {
        return format!("<html><title>我的借阅</title>session {session}</html>").into_response();
    }
    let redirect = format!("{base}/cb");
    let url = format!(
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code&scope=snsapi_base&state=loans#wechat_redirect",
        Simulator::default().app_id(),
        redirect.replace(':', "%3A").replace('/', "%2F")
    );
    (StatusCode::FOUND, [(header::LOCATION, url)]).into_response()
}

async fn oauth_callback(Query(q): Query<HashMap<String, String>>) -> Response {
    let code = q.get("code").cloned().unwrap_or_default();
    (StatusCode::FOUND, [(header::SET_COOKIE, format!("session={code}; Path=/; HttpOnly")), (header::LOCATION, "/page".to_owned())])
        .into_response()
}

struct World {
    sim: Simulator,
    phone: Phone,
    account: Account,
    base: String,
    http: reqwest::Client,
}

impl World {
    async fn start(safe: bool) -> World {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let sim = Simulator::default();
        let key = safe.then(|| KEY.to_owned());
        let crypto = key.as_ref().map(|k| MessageCrypto::new(TOKEN, sim.app_id(), AesKey::from_encoding_aes_key(k).unwrap(), None));
        let phone = Phone::new(
            sim.clone(),
            PhoneConfig {
                callback_url: format!("{base}/wechat"),
                token: TOKEN.into(),
                encoding_aes_key: key,
                app_id: sim.app_id(),
                gh_id: GH.into(),
                public_base: base.clone(),
            },
        )
        .unwrap();
        let account = Account { crypto, answer: Arc::new(Mutex::new(Answer::Echo)), got: Arc::default() };
        let pages = Router::new().route("/page", get(oauth_page)).route("/cb", get(oauth_callback)).with_state(base.clone());
        let app = Router::new()
            .route("/wechat", post(callback))
            .with_state(account.clone())
            .merge(pages)
            .nest("/sim/api", sim.router())
            .merge(phone.mounted_at("/sim"));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        World { sim, phone, account, base, http: reqwest::Client::new() }
    }

    fn answer(&self, a: Answer) {
        *self.account.answer.lock().unwrap() = a;
    }

    fn got(&self) -> Vec<Got> {
        self.account.got.lock().unwrap().clone()
    }

    fn last(&self) -> Got {
        self.got().pop().expect("the account got a callback")
    }

    /// POST to the phone's JSON API; returns (HTTP status, JSON).
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.http.post(format!("{}/sim{path}", self.base)).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> Value {
        self.http.get(format!("{}{path}", self.base)).send().await.unwrap().json().await.unwrap()
    }

    /// An access token the way wxlib gets one: `stable_token`.
    async fn token(&self) -> String {
        let v: Value = self
            .http
            .post(format!("{}/sim/api/cgi-bin/stable_token", self.base))
            .json(&json!({"grant_type": "client_credential", "appid": self.sim.app_id(), "secret": self.sim.app_secret(), "force_refresh": false}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().expect("token").to_owned()
    }

    async fn api(&self, path: &str, body: Value) -> Value {
        let token = self.token().await;
        let v: Value = self
            .http
            .post(format!("{}/sim/api{path}?access_token={token}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["errcode"].as_i64().unwrap_or(0), 0, "{path}: {v}");
        v
    }

    async fn menu(&self) {
        self.api(
            "/cgi-bin/menu/create",
            json!({"button": [
                {"name": "查书", "type": "click", "key": "SEARCH"},
                {"name": "我的", "sub_button": [
                    {"name": "我的借阅", "type": "click", "key": "MY_LOANS"},
                    {"name": "借阅记录", "type": "view", "url": format!("{}/page", self.base)}
                ]}
            ]}),
        )
        .await;
    }

    async fn qr(&self, scene: &str) -> String {
        let v = self
            .api("/cgi-bin/qrcode/create", json!({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}))
            .await;
        v["ticket"].as_str().unwrap().to_owned()
    }
}

fn kinds(conv: &Value) -> Vec<String> {
    conv["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e["kind"].as_str().unwrap() {
            "event" => format!("event:{}", e["event"].as_str().unwrap()),
            k => k.to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn follow_with_scene_then_scan_in_safe_mode() {
    let w = World::start(true).await;
    let ticket = w.qr("entrance").await;

    let (status, v) = w.post(&format!("/readers/{READER}/follow"), json!({"scene": "entrance"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], 200);
    assert_eq!(v["outcome"], "replied");
    assert_eq!(v["reply"], json!({"type": "text", "content": "收到 event subscribe"}));
    assert!(v["elapsed_ms"].is_u64());
    let got = w.last();
    assert_eq!(got.query["encrypt_type"], "aes");
    assert!(!got.body.contains(READER), "safe mode: only the Encrypt travels in the body");
    assert_eq!(
        got.msg.event(),
        Some(&Event::Subscribe { scene: Some("entrance".into()), ticket: Some(ticket.clone()), event_key: "qrscene_entrance".into() })
    );
    assert!((got.msg.create_time - w.sim.now()).abs() <= 2);
    let f = w.sim.follower(READER).unwrap();
    assert!(f.subscribed);
    assert_eq!((f.subscribe_scene.as_str(), f.qr_scene_str.as_str()), ("ADD_SCENE_QR_CODE", "entrance"));

    // Following twice is not something a reader can do; an unknown scene has no QR code.
    assert_eq!(w.post(&format!("/readers/{READER}/follow"), json!({})).await.0, 409);
    let (status, v) = w.post(&format!("/readers/{OTHER}/follow"), json!({"scene": "nowhere"})).await;
    assert_eq!(status, 404, "{v}");

    // A follower scanning: SCAN with the bare scene.
    let (status, v) = w.post(&format!("/readers/{READER}/scan"), json!({"scene": "entrance"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(w.last().msg.event(), Some(&Event::Scan { scene: "entrance".into(), ticket: Some(ticket.clone()) }));
    assert_eq!(w.last().xml.matches("<EventKey><![CDATA[entrance]]></EventKey>").count(), 1);

    // A non-follower scanning by ticket follows through the code.
    let (status, v) = w.post(&format!("/readers/{OTHER}/scan"), json!({"ticket": ticket})).await;
    assert_eq!(status, 200, "{v}");
    assert!(matches!(w.last().msg.event(), Some(Event::Subscribe { scene: Some(s), .. }) if s == "entrance"));

    // A plain follow: empty EventKey, no Ticket.
    let third = "oSimREADER000000000000000003";
    w.post(&format!("/readers/{third}/follow"), json!({})).await;
    let got = w.last();
    assert_eq!(got.msg.event(), Some(&Event::Subscribe { scene: None, ticket: None, event_key: String::new() }));
    assert!(!got.xml.contains("Ticket"));

    let readers = w.get("/sim/readers").await;
    let ids: Vec<&str> = readers["readers"].as_array().unwrap().iter().map(|r| r["openid"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![READER, OTHER, third]);
}

#[tokio::test]
async fn text_click_view_unfollow_shapes() {
    let w = World::start(true).await;
    w.menu().await;

    // Not following yet: WeChat would not let the reader type.
    assert_eq!(w.post(&format!("/readers/{READER}/text"), json!({"content": "hi"})).await.0, 409);
    w.post(&format!("/readers/{READER}/follow"), json!({})).await;

    let (status, v) = w.post(&format!("/readers/{READER}/text"), json!({"content": "借阅 三体"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["reply"]["content"], "收到 text 借阅 三体");
    let first = w.last();
    assert_eq!(first.msg.kind, InboundKind::Text { content: "借阅 三体".into() });
    let id1: u64 = first.msg.msg_id.clone().unwrap().parse().unwrap();
    assert!((first.msg.create_time - w.sim.now()).abs() <= 2);
    assert_eq!(v["sent"]["xml"], first.xml);
    w.post(&format!("/readers/{READER}/text"), json!({"content": "again"})).await;
    let id2: u64 = w.last().msg.msg_id.unwrap().parse().unwrap();
    assert!(id2 > id1, "every message gets a fresh MsgId");

    // Menu: a click key from a sub-menu, an unknown key, a view link.
    let (status, v) = w.post(&format!("/readers/{READER}/click"), json!({"key": "MY_LOANS"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(w.last().msg.event(), Some(&Event::Click { key: "MY_LOANS".into() }));
    assert_eq!(w.post(&format!("/readers/{READER}/click"), json!({"key": "NOPE"})).await.0, 404);
    let url = format!("{}/page", w.base);
    let (status, v) = w.post(&format!("/readers/{READER}/view"), json!({"url": url})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["open"], url);
    assert_eq!(w.last().msg.event(), Some(&Event::View { url: url.clone(), menu_id: None }));
    assert_eq!(v["shown"], false, "WeChat does not show replies to VIEW");

    // Two articles: fine for an event reply, refused for a reply to a message.
    w.answer(Answer::TwoArticles);
    let (_, v) = w.post(&format!("/readers/{READER}/click"), json!({"key": "SEARCH"})).await;
    assert_eq!(v["reply"]["type"], "news");
    assert_eq!(v["reply"]["articles"].as_array().unwrap().len(), 2);
    let (_, v) = w.post(&format!("/readers/{READER}/text"), json!({"content": "新书"})).await;
    assert_eq!(v["outcome"], "invalid_reply");
    assert_eq!(v["notice"], simulator::SERVICE_UNAVAILABLE);
    w.answer(Answer::Echo);

    let (status, _) = w.post(&format!("/readers/{READER}/unfollow"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(w.last().msg.event(), Some(&Event::Unsubscribe));
    assert!(!w.sim.follower(READER).unwrap().subscribed);
    assert_eq!(w.post(&format!("/readers/{READER}/text"), json!({"content": "hi"})).await.0, 409);
    assert_eq!(w.post(&format!("/readers/{READER}/unfollow"), json!({})).await.0, 409);

    let conv = w.get(&format!("/sim/readers/{READER}/conversation")).await;
    assert_eq!(
        kinds(&conv),
        vec![
            "event:subscribe",
            "reply",
            "text",
            "reply",
            "text",
            "reply",
            "event:CLICK",
            "reply",
            "event:VIEW",
            "event:CLICK",
            "reply",
            "text",
            "error",
            "event:unsubscribe"
        ]
    );
    assert_eq!(conv["following"], false);
}

#[tokio::test]
async fn conversation_merges_later_pushes_in_order() {
    let w = World::start(true).await;
    w.post(&format!("/readers/{READER}/follow"), json!({})).await;
    w.post(&format!("/readers/{READER}/text"), json!({"content": "续借"})).await;
    // Later, the account pushes through the API (the text opened the 48-hour window).
    w.api("/cgi-bin/message/custom/send", json!({"touser": READER, "msgtype": "text", "text": {"content": "已为您续借 1 册"}})).await;
    w.api(
        "/cgi-bin/message/template/send",
        json!({"touser": READER, "template_id": "due_reminder", "data": {"thing1": {"value": "三体"}, "time2": {"value": "2030-01-01"}, "thing3": {"value": "请按时归还"}}}),
    )
    .await;
    w.post(&format!("/readers/{READER}/text"), json!({"content": "谢谢"})).await;

    let conv = w.get(&format!("/sim/readers/{READER}/conversation")).await;
    assert_eq!(kinds(&conv), vec!["event:subscribe", "reply", "text", "reply", "custom", "template", "text", "reply"]);
    let entries = conv["entries"].as_array().unwrap();
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|p| p[0] < p[1]), "{seqs:?}");
    let custom = &entries[4];
    assert_eq!((custom["from"].as_str(), custom["content"].as_str()), (Some("account"), Some("已为您续借 1 册")));
    assert_eq!(entries[5]["template_title"], "借阅到期提醒");
    assert_eq!(entries[3]["in_reply_to"], entries[2]["seq"]);
    assert_eq!(entries[2]["from"], "reader");

    // Polling: only what came after.
    let after = entries[5]["seq"].as_u64().unwrap();
    let tail = w.get(&format!("/sim/readers/{READER}/conversation?after={after}")).await;
    assert_eq!(kinds(&tail), vec!["text", "reply"]);

    // Clearing forgets what was there, not what comes later.
    let r = w.http.delete(format!("{}/sim/readers/{READER}/conversation", w.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(w.phone.conversation(READER, 0)["entries"].as_array().unwrap().is_empty());
    w.api("/cgi-bin/message/custom/send", json!({"touser": READER, "msgtype": "text", "text": {"content": "再见"}})).await;
    assert_eq!(kinds(&w.phone.conversation(READER, 0)), vec!["custom"]);
}

#[tokio::test]
async fn plain_mode_works() {
    let w = World::start(false).await;
    w.post(&format!("/readers/{READER}/follow"), json!({})).await;
    let (status, v) = w.post(&format!("/readers/{READER}/text"), json!({"content": "hello"})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["reply"], json!({"type": "text", "content": "收到 text hello"}));
    let got = w.last();
    assert!(!got.query.contains_key("msg_signature"));
    assert_eq!(got.body, got.xml, "plain mode: the body is the message");
    let state = w.get("/sim/state").await;
    assert_eq!(state["account"]["mode"], "plain");

    // The Rust API gives the same answers.
    let v = w.phone.text(READER, "direct", SendOptions::default()).await.unwrap();
    assert_eq!(v["reply"]["content"], "收到 text direct");
}

#[tokio::test]
async fn bad_answers_are_reported_as_wechat_would() {
    let w = World::start(true).await;
    w.post(&format!("/readers/{READER}/follow"), json!({})).await;
    let text = |c: &str| json!({"content": c});

    w.answer(Answer::Garbage);
    let (status, v) = w.post(&format!("/readers/{READER}/text"), text("a")).await;
    assert_eq!(status, 200);
    assert_eq!((v["status"].as_u64(), v["outcome"].as_str()), (Some(200), Some("invalid_reply")), "{v}");
    assert!(v["error"].as_str().unwrap().len() > 5);
    assert_eq!(v["notice"], simulator::SERVICE_UNAVAILABLE);

    w.answer(Answer::PlainInSafeMode);
    let (_, v) = w.post(&format!("/readers/{READER}/text"), text("b")).await;
    assert_eq!(v["outcome"], "invalid_reply");
    assert!(v["error"].as_str().unwrap().contains("encrypted"), "{v}");

    w.answer(Answer::Status(500));
    let (_, v) = w.post(&format!("/readers/{READER}/text"), text("c")).await;
    assert_eq!((v["status"].as_u64(), v["outcome"].as_str()), (Some(500), Some("http_error")), "{v}");

    w.answer(Answer::Success);
    let (_, v) = w.post(&format!("/readers/{READER}/text"), text("d")).await;
    assert_eq!(v["outcome"], "success");
    assert_eq!(v["reply"], json!({"type": "success"}));
    assert!(v.get("notice").is_none());

    // Silence: WeChat's timeout (shortened here), then the identical request again.
    w.answer(Answer::Slow(Duration::from_millis(900)));
    let before = w.got().len();
    let (_, v) = w.post(&format!("/readers/{READER}/text?timeout_ms=300&retry=2"), text("e")).await;
    assert_eq!(v["outcome"], "timeout", "{v}");
    assert!(v["error"].as_str().unwrap().starts_with("timeout"));
    assert_eq!(v["attempts"].as_array().unwrap().len(), 3);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let retries: Vec<Got> = w.got().split_off(before);
    assert_eq!(retries.len(), 3);
    assert!(retries.iter().all(|g| g.query == retries[0].query && g.body == retries[0].body), "retries are identical");

    // An unreachable server.
    let dead = Phone::new(
        w.sim.clone(),
        PhoneConfig {
            callback_url: "http://127.0.0.1:9/wechat".into(),
            token: TOKEN.into(),
            encoding_aes_key: None,
            app_id: w.sim.app_id(),
            gh_id: GH.into(),
            public_base: w.base.clone(),
        },
    )
    .unwrap();
    let v = dead.text(READER, "x", SendOptions { retries: 0, timeout: Duration::from_secs(2) }).await.unwrap();
    assert_eq!(v["outcome"], "unreachable", "{v}");

    let conv = w.phone.conversation(READER, 0);
    assert_eq!(kinds(&conv), vec!["event:subscribe", "reply", "text", "error", "text", "error", "text", "error", "text", "text", "error"]);
}

#[tokio::test]
async fn menu_link_opens_with_oauth_like_wechat() {
    let w = World::start(true).await;
    w.menu().await;
    w.post(&format!("/readers/{READER}/follow"), json!({})).await;
    let url = format!("{}/page", w.base);
    let (status, v) = w.post(&format!("/readers/{READER}/view"), json!({"url": url, "fetch": true})).await;
    assert_eq!(status, 200, "{v}");
    let page = &v["page"];
    assert_eq!(page["status"], 200, "{page}");
    assert!(page["body"].as_str().unwrap().contains("session "), "{page}");
    let hops: Vec<&str> = page["redirects"].as_array().unwrap().iter().map(|h| h["url"].as_str().unwrap()).collect();
    assert_eq!(hops.len(), 3, "page → authorize → callback → page: {hops:?}");
    assert!(hops[1].starts_with(&format!("{}/sim/api/connect/oauth2/authorize", w.base)), "open.weixin.qq.com goes to the simulator");

    // The code the account got is this reader's.
    let code = w.phone.cookies(READER)["session"].clone();
    let v: Value = w
        .http
        .get(format!(
            "{}/sim/api/sns/oauth2/access_token?appid={}&secret={}&code={code}&grant_type=authorization_code",
            w.base,
            w.sim.app_id(),
            w.sim.app_secret()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["openid"], READER, "{v}");

    // The page's reader switch swaps the web view's cookies.
    let set = w.phone.select(OTHER, Some(&format!("sim_openid={READER}; session={code}"))).unwrap();
    assert!(set.contains(&"session=; Path=/; Max-Age=0".to_owned()), "{set:?}");
    assert!(set.contains(&format!("sim_openid={OTHER}; Path=/; SameSite=Lax")));
    let back = w.phone.select(READER, Some(&format!("sim_openid={OTHER}"))).unwrap();
    assert!(back.contains(&format!("session={code}; Path=/")), "{back:?}");

    // A link that is not in the menu is not a menu click.
    assert_eq!(w.post(&format!("/readers/{READER}/view"), json!({"url": "http://elsewhere/"})).await.0, 404);
}

#[tokio::test]
async fn the_phone_page_is_served_next_to_the_api() {
    let w = World::start(true).await;
    for path in ["/sim/", "/sim"] {
        let r = w.http.get(format!("{}{path}", w.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        let html = r.text().await.unwrap();
        for id in [
            "id=\"input\"",
            "id=\"send\"",
            "id=\"chat\"",
            "id=\"menu\"",
            "id=\"overlay\"",
            "id=\"webview\"",
            "id=\"reader-select\"",
            "id=\"new-reader\"",
            "id=\"follow\"",
            "id=\"unfollow\"",
            "id=\"scan\"",
            "menu-group",
            "menu-item",
            "bubble",
        ] {
            assert!(html.contains(id), "{path}: {id} missing");
        }
        assert!(html.contains("const BASE = \"/sim\";"), "{path}: the page knows its mount");
        assert!(!html.contains("<script src") && !html.contains("<link "), "self-contained");
    }
    // Nested plainly, the page is at the mount itself.
    use tower::ServiceExt;
    let nested = Router::new().nest("/sim/api", w.sim.router()).nest("/sim", w.phone.router());
    let req = |p: &str| axum::http::Request::builder().uri(p).body(axum::body::Body::empty()).unwrap();
    assert_eq!(nested.clone().oneshot(req("/sim")).await.unwrap().status(), 200);
    assert_eq!(nested.clone().oneshot(req("/sim/readers")).await.unwrap().status(), 200);
    assert_eq!(nested.oneshot(req("/sim/api/cgi-bin/menu/get")).await.unwrap().status(), 200);

    // The API under /sim/api still answers.
    assert!(!w.token().await.is_empty());
    let state = w.get("/sim/state").await;
    assert_eq!(state["account"]["gh_id"], GH);
    assert_eq!(state["account"]["mode"], "safe");
    assert!(state["menu"].is_null());
    let fresh = w.post("/readers/new", json!({})).await.1;
    let id = fresh["openid"].as_str().unwrap();
    assert!(id.starts_with("oSim") && id.len() == 28, "{id}");
}
