//! The phone against a tiny echo account, to try the page without wxlib:
//!
//!     cargo run -p simulator --example phone_demo -- 8099
//!     # then open http://127.0.0.1:8099/sim/
//!
//! The account (safe mode) answers texts with a text holding a link, `NEWS` clicks with a news
//! card, follows with a welcome; its menu, a QR code and a later customer-service message are
//! set up through the simulator's API, as wxlib would.

#![allow(clippy::print_stdout, reason = "an example run from a terminal: it prints the page's address")]

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use simulator::{Phone, PhoneConfig, Simulator};
use wechat::{AesKey, Article, Event, Inbound, InboundKind, MessageCrypto, Reply};

const TOKEN: &str = "libtoken";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const GH: &str = "gh_0123456789ab";

#[derive(Clone)]
struct Account {
    crypto: MessageCrypto,
    base: String,
    app_id: String,
}

async fn callback(State(a): State<Account>, Query(q): Query<HashMap<String, String>>, body: Bytes) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if !wechat::signature::verify(&get("signature"), &[TOKEN, &get("timestamp"), &get("nonce")]) {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let Ok(outer) = wechat::xml::parse(&body) else { return (StatusCode::BAD_REQUEST, "xml").into_response() };
    let Some(enc) = wechat::envelope::encrypt_field(&outer) else { return (StatusCode::BAD_REQUEST, "no Encrypt").into_response() };
    let Ok(d) = a.crypto.open(&get("msg_signature"), &get("timestamp"), &get("nonce"), enc) else {
        return (StatusCode::BAD_REQUEST, "crypto").into_response();
    };
    let Ok(msg) = Inbound::parse(d.xml.as_bytes()) else { return (StatusCode::BAD_REQUEST, "message").into_response() };
    let reply = match &msg.kind {
        InboundKind::Text { content } => {
            Reply::text(format!("收到：{content}\n查看<a href=\"{}/page\">我的借阅</a>，或访问 https://example.org/", a.base))
        }
        InboundKind::Event(Event::Subscribe { scene, .. }) => {
            Reply::text(format!("欢迎关注图书馆！{}", scene.as_deref().map(|s| format!("（来自 {s}）")).unwrap_or_default()))
        }
        InboundKind::Event(Event::Scan { scene, .. }) => Reply::text(format!("你扫描了 {scene}")),
        InboundKind::Event(Event::Click { key }) if key == "NEWS" => Reply::News {
            articles: vec![Article {
                title: "本周新书通报".into(),
                description: "《三体》等 12 种新书上架".into(),
                pic_url: String::new(),
                url: format!("{}/page", a.base),
            }],
        },
        InboundKind::Event(Event::Click { key }) => Reply::text(format!("你点击了 {key}")),
        _ => return "success".into_response(),
    };
    let xml = reply.to_xml(&msg.from_user, GH, msg.create_time).unwrap_or_default();
    a.crypto.seal_reply(d.key_index, &xml, &get("timestamp"), &get("nonce"), rand::random()).into_response()
}

async fn page(State(a): State<Account>, headers: HeaderMap) -> Response {
    let cookie = headers.get(header::COOKIE).and_then(|c| c.to_str().ok()).unwrap_or_default();
    if let Some(code) = cookie.split(';').map(str::trim).find_map(|kv| kv.strip_prefix("demo_session=")) {
        let html = format!("<!doctype html><meta charset=utf-8><title>我的借阅</title><h3>我的借阅</h3><p>OAuth code: {code}</p>");
        return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    }
    let redirect: String = format!("{}/cb", a.base)
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    // wxlib's `oauth_base` points at the simulator, as here: the page's web view follows it.
    let url = format!(
        "{}/sim/api/connect/oauth2/authorize?appid={}&redirect_uri={redirect}&response_type=code&scope=snsapi_base&state=demo#wechat_redirect",
        a.base, a.app_id
    );
    (StatusCode::FOUND, [(header::LOCATION, url)]).into_response()
}

async fn cb(Query(q): Query<HashMap<String, String>>) -> Response {
    let code = q.get("code").cloned().unwrap_or_default();
    (StatusCode::FOUND, [(header::SET_COOKIE, format!("demo_session={code}; Path=/; HttpOnly")), (header::LOCATION, "/page".to_owned())])
        .into_response()
}

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8099);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let sim = Simulator::default();
    let phone = Phone::new(
        sim.clone(),
        PhoneConfig {
            callback_url: format!("{base}/wechat"),
            token: TOKEN.into(),
            encoding_aes_key: Some(KEY.into()),
            app_id: sim.app_id(),
            gh_id: GH.into(),
            public_base: base.clone(),
        },
    )
    .expect("phone");
    let account = Account {
        crypto: MessageCrypto::new(TOKEN, sim.app_id(), AesKey::from_encoding_aes_key(KEY).expect("key"), None),
        base: base.clone(),
        app_id: sim.app_id(),
    };
    let app = Router::new()
        .route("/wechat", post(callback))
        .route("/page", get(page))
        .route("/cb", get(cb))
        .with_state(account)
        .nest("/sim/api", sim.router())
        .merge(phone.mounted_at("/sim"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

    // The account's setup, through the API as wxlib would do it.
    let http = reqwest::Client::new();
    let token = sim.access_token();
    let call = |path: &str, body: Value| {
        let req = http.post(format!("{base}/sim/api{path}?access_token={token}")).json(&body);
        async move { req.send().await.expect("api").json::<Value>().await.expect("json") }
    };
    call(
        "/cgi-bin/menu/create",
        json!({"button": [
            {"name": "馆藏查询", "type": "click", "key": "SEARCH"},
            {"name": "我的", "sub_button": [
                {"name": "我的借阅", "type": "view", "url": format!("{base}/page")},
                {"name": "续借", "type": "click", "key": "RENEW"}
            ]},
            {"name": "服务", "sub_button": [
                {"name": "新书通报", "type": "click", "key": "NEWS"},
                {"name": "开放时间", "type": "click", "key": "HOURS"}
            ]}
        ]}),
    )
    .await;
    call("/cgi-bin/qrcode/create", json!({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "entrance"}}})).await;
    let reader = "oSimDEMO00000000000000000001";
    let _ = phone.follow(reader, Some("entrance"), Default::default()).await;
    let _ = phone.text(reader, "三体", Default::default()).await;
    call("/cgi-bin/message/custom/send", json!({"touser": reader, "msgtype": "text", "text": {"content": "您预约的《三体》已到馆"}})).await;
    call(
        "/cgi-bin/message/template/send",
        json!({"touser": reader, "template_id": "due_reminder", "url": format!("{base}/page"),
               "data": {"thing1": {"value": "三体"}, "time2": {"value": "2030-01-01"}, "thing3": {"value": "请按时归还"}}}),
    )
    .await;
    println!("phone: {base}/sim/?reader={reader}");
    std::future::pending::<()>().await;
}
