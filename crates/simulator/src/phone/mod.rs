//! # WeChat in a box, part 2: the phone
//!
//! Simulated readers who talk to the account's callback (`/wechat`) exactly as WeChat's servers
//! do (signed; in safe mode encrypted), check its answers as WeChat does (decrypt, verify
//! `msg_signature`, the 5-second limit, the reply's shape), and see the conversation: what they
//! sent, the passive replies, and what the account pushed later through the simulator's API
//! (customer-service, template, subscription and mass messages).
//!
//! Two faces over one [`Phone`]: a JSON API for scripts and tests, and a web page (`GET /`) that
//! looks like WeChat's chat with an official account. Both are in [`Phone::router`]; the
//! endpoints are documented in the crate's `README.md`.
//!
//! ```no_run
//! # fn f() -> Result<(), simulator::PhoneSetupError> {
//! use simulator::{Phone, PhoneConfig, Simulator};
//! let sim = Simulator::default();
//! let phone = Phone::new(sim.clone(), PhoneConfig {
//!     callback_url: "http://127.0.0.1:8080/wechat".into(),
//!     token: "libtoken".into(),
//!     encoding_aes_key: Some("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into()),
//!     app_id: sim.app_id(),
//!     gh_id: "gh_0123456789ab".into(),
//!     public_base: "http://127.0.0.1:8080".into(),
//! })?;
//! let app: axum::Router = axum::Router::new()
//!     .nest("/sim/api", sim.router())
//!     .merge(phone.mounted_at("/sim")); // = .nest("/sim", phone.router()) + the page at `/sim/`
//! # let _ = app; Ok(()) }
//! ```

mod page;
mod wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wechat::{AesKey, CryptoError, MessageCrypto};

use crate::sim::Simulator;
use crate::state::{PushKind, Pushed, QrCode};

/// What the reader sees when WeChat gets no usable answer.
pub const SERVICE_UNAVAILABLE: &str = "该公众号暂时无法提供服务，请稍后再试";
/// WeChat gives up on a callback after 5 seconds.
pub const WECHAT_TIMEOUT: Duration = Duration::from_secs(5);
/// WeChat resends an unanswered callback at most 3 times.
pub const MAX_RETRIES: u32 = 3;

const CALLBACK_USER_AGENT: &str = "Mozilla/4.0";
const WEBVIEW_USER_AGENT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800322b) NetType/WIFI Language/zh_CN";
const MAX_PAGE_BYTES: usize = 512 * 1024;
const MAX_REDIRECTS: usize = 10;

/// How the phone reaches the account's server.
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    /// The callback, e.g. `http://127.0.0.1:8080/wechat` (the signed query is appended).
    pub callback_url: String,
    /// The Token of the account's server configuration.
    pub token: String,
    /// The EncodingAESKey: `Some` = safe mode (every callback encrypted, every reply must be),
    /// `None` = plain mode.
    pub encoding_aes_key: Option<String>,
    /// The app id (the trailing id inside every ciphertext).
    pub app_id: String,
    /// The account's original id, `ToUserName` of everything the readers send (`gh_…`).
    pub gh_id: String,
    /// Where the server is reachable from the phone page (`http://127.0.0.1:8080`): menu links and
    /// the OAuth page resolve there, and the phone's cookies belong to it.
    pub public_base: String,
}

/// Per-call options of the actions that talk to the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Resends of the identical request when the server did not answer in time (0..=3).
    pub retries: u32,
    /// How long WeChat waits for the answer (5 s).
    pub timeout: Duration,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self { retries: 0, timeout: WECHAT_TIMEOUT }
    }
}

impl SendOptions {
    /// As WeChat does it: 5-second timeout and 3 retries.
    pub fn wechat() -> Self {
        Self { retries: MAX_RETRIES, timeout: WECHAT_TIMEOUT }
    }
}

/// Why the phone refused an action (the reader could not have done it in WeChat, or the request
/// was malformed). What the *server* did wrong is never an error here: it is reported in the
/// action's JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct PhoneError {
    pub status: u16,
    pub message: String,
}

impl PhoneError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status: status.as_u16(), message: message.into() }
    }
}

impl IntoResponse for PhoneError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(json!({"error": self.message}))).into_response()
    }
}

/// Why a [`Phone`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PhoneSetupError {
    #[error("encoding_aes_key: {0}")]
    Key(#[from] CryptoError),
    #[error("HTTP client: {0}")]
    Client(String),
}

/// The simulated phone: readers, their conversations and cookies. Cheap to clone.
#[derive(Clone)]
pub struct Phone {
    inner: Arc<Inner>,
}

struct Inner {
    sim: Simulator,
    cfg: PhoneConfig,
    crypto: Option<MessageCrypto>,
    client: reqwest::Client,
    settings: Mutex<Settings>,
    log: Mutex<Log>,
    next_msg_id: AtomicU64,
}

#[derive(Clone)]
struct Settings {
    account_name: String,
    /// Where [`Phone::router`] is mounted (`{public_base}/sim`): media links in replies.
    page_base: String,
    /// Where the simulator's API router is mounted (`{public_base}/sim/api`): links to
    /// `open.weixin.qq.com` are opened there.
    api_base: String,
}

#[derive(Default)]
struct Log {
    order: Vec<String>,
    readers: HashMap<String, ReaderLog>,
}

#[derive(Default)]
struct ReaderLog {
    entries: Vec<Value>,
    /// Entries (and inbox pushes) up to this seq were cleared.
    cleared_through: u64,
    /// The reader's web-view cookies (name → value) for the server's origin.
    jar: BTreeMap<String, String>,
}

fn real_now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn check_openid(openid: &str) -> Result<(), PhoneError> {
    let ok = (1..=64).contains(&openid.len()) && openid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok { Ok(()) } else { Err(PhoneError::new(StatusCode::BAD_REQUEST, "openid must be 1..64 letters, digits, '_' or '-'")) }
}

/// A new simulated openid: `oSim` and 24 random characters (28 in all, as WeChat's).
pub fn new_openid() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut r = rand::thread_rng();
    let tail: String = (0..24).map(|_| CHARS[r.gen_range(0..CHARS.len())] as char).collect();
    format!("oSim{tail}")
}

/// The menu items of a kind, flattened: `(name, item)`.
fn menu_items(menu: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for b in menu.get("button").and_then(Value::as_array).into_iter().flatten() {
        match b.get("sub_button").and_then(Value::as_array).filter(|s| !s.is_empty()) {
            Some(subs) => out.extend(subs.iter().map(|s| (s["name"].as_str().unwrap_or_default().to_owned(), s.clone()))),
            None => out.push((b["name"].as_str().unwrap_or_default().to_owned(), b.clone())),
        }
    }
    out
}

fn origin(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(format!("{}://{}:{}", u.scheme(), u.host_str()?, u.port_or_known_default()?))
}

fn parse_cookie_header(h: &str) -> Vec<(String, String)> {
    h.split(';')
        .filter_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (!k.is_empty()).then(|| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// Applies one `Set-Cookie` to a jar (attributes other than expiry are ignored).
fn apply_set_cookie(jar: &mut BTreeMap<String, String>, set_cookie: &str) {
    let mut parts = set_cookie.split(';');
    let Some((name, value)) = parts.next().and_then(|kv| kv.split_once('=')) else { return };
    let name = name.trim().to_owned();
    if name.is_empty() {
        return;
    }
    let expired = parts.any(|a| {
        let a = a.trim().to_ascii_lowercase();
        a == "max-age=0" || a.starts_with("max-age=-") || a.starts_with("expires=thu, 01 jan 1970")
    });
    if expired {
        jar.remove(&name);
    } else {
        jar.insert(name, value.trim().to_owned());
    }
}

impl Phone {
    /// A phone for the account behind `sim`. Fails on an invalid EncodingAESKey.
    pub fn new(sim: Simulator, cfg: PhoneConfig) -> Result<Self, PhoneSetupError> {
        let crypto = match cfg.encoding_aes_key.as_deref().filter(|k| !k.is_empty()) {
            Some(k) => Some(MessageCrypto::new(cfg.token.clone(), cfg.app_id.clone(), AesKey::from_encoding_aes_key(k)?, None)),
            None => None,
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PhoneSetupError::Client(e.to_string()))?;
        let base = cfg.public_base.trim_end_matches('/').to_owned();
        let settings =
            Settings { account_name: "图书馆".to_owned(), page_base: format!("{base}/sim"), api_base: format!("{base}/sim/api") };
        let first_msg_id = (SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)) * 1000;
        Ok(Self {
            inner: Arc::new(Inner {
                sim,
                cfg,
                crypto,
                client,
                settings: Mutex::new(settings),
                log: Mutex::new(Log::default()),
                next_msg_id: AtomicU64::new(first_msg_id),
            }),
        })
    }

    pub fn simulator(&self) -> &Simulator {
        &self.inner.sim
    }

    pub fn config(&self) -> &PhoneConfig {
        &self.inner.cfg
    }

    /// The account name in the page's header (default 图书馆).
    pub fn set_account_name(&self, name: &str) {
        self.settings().account_name = name.to_owned();
    }

    /// Where the phone router and the simulator's API router are mounted, as full URLs (defaults
    /// `{public_base}/sim` and `{public_base}/sim/api`).
    pub fn set_mounts(&self, phone_base: &str, api_base: &str) {
        let mut s = self.settings();
        s.page_base = phone_base.trim_end_matches('/').to_owned();
        s.api_base = api_base.trim_end_matches('/').to_owned();
    }

    /// The page and the JSON API at the router's root; nest it at `/sim` (it has no `/api` route,
    /// so the simulator's API router can be nested at `/sim/api` next to it).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(page_handler))
            .route("/state", get(state_handler))
            .route("/media/{id}", get(media_handler))
            .route("/readers", get(readers_handler))
            .route("/readers/new", post(new_reader_handler))
            .route("/readers/{openid}/select", post(select_handler))
            .route("/readers/{openid}/follow", post(follow_handler))
            .route("/readers/{openid}/scan", post(scan_handler))
            .route("/readers/{openid}/unfollow", post(unfollow_handler))
            .route("/readers/{openid}/text", post(text_handler))
            .route("/readers/{openid}/click", post(click_handler))
            .route("/readers/{openid}/view", post(view_handler))
            .route("/readers/{openid}/open", post(open_handler))
            .route("/readers/{openid}/conversation", get(conversation_handler).delete(clear_handler))
            .with_state(self.clone())
    }

    /// [`Self::router`] nested at `prefix` (e.g. `/sim`), plus `{prefix}/` for the page (a nested
    /// router cannot serve its mount with a trailing slash): merge it into the app.
    pub fn mounted_at(&self, prefix: &str) -> Router {
        let prefix = prefix.trim_end_matches('/');
        {
            let mut s = self.settings();
            s.page_base = format!("{}{prefix}", self.inner.cfg.public_base.trim_end_matches('/'));
        }
        Router::new().nest(prefix, self.router()).route(&format!("{prefix}/"), get(page_handler).with_state(self.clone()))
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.inner.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.inner.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn know(log: &mut Log, openid: &str) {
        if !log.readers.contains_key(openid) {
            log.order.push(openid.to_owned());
            log.readers.insert(openid.to_owned(), ReaderLog::default());
        }
    }

    /// Adds an entry to the reader's conversation with the simulator's next seq; returns the seq.
    fn record(&self, openid: &str, mut entry: Value) -> u64 {
        let (seq, at) = {
            let mut st = self.inner.sim.lock();
            (st.next_seq(), st.now_secs())
        };
        entry["seq"] = seq.into();
        entry["at"] = at.into();
        let mut log = self.log();
        Self::know(&mut log, openid);
        log.readers.get_mut(openid).expect("known").entries.push(entry);
        seq
    }

    fn following(&self, openid: &str) -> bool {
        self.inner.sim.follower(openid).is_some_and(|f| f.subscribed)
    }

    fn require_following(&self, openid: &str) -> Result<(), PhoneError> {
        check_openid(openid)?;
        if self.following(openid) {
            Ok(())
        } else {
            Err(PhoneError::new(StatusCode::CONFLICT, format!("{openid} does not follow the account (follow first)")))
        }
    }

    fn media_ok(&self, id: &str, kind: &str) -> bool {
        let st = self.inner.sim.lock();
        let now = st.now_ms();
        st.media.get(id).is_some_and(|m| m.kind == kind && (m.permanent || now < m.created_at * 1000 + crate::api::TEMP_MEDIA_TTL_MS))
    }

    /// Sends one inbound message to the callback and judges the answer as WeChat does.
    /// `shown`: whether WeChat would show the reader the reply (not for VIEW and unsubscribe).
    async fn exchange(&self, openid: &str, sent: Value, xml: String, to_message: bool, shown: bool, opts: SendOptions) -> Value {
        let sent_seq = self.record(openid, sent);
        let cfg = &self.inner.cfg;
        let (timestamp, nonce, random) = {
            let mut r = rand::thread_rng();
            (real_now_secs().to_string(), r.gen_range(100_000_000u32..4_000_000_000).to_string(), r.r#gen::<[u8; 16]>())
        };
        let req = wire::seal(&cfg.token, self.inner.crypto.as_ref(), &cfg.gh_id, openid, &xml, &timestamp, &nonce, random);
        let sep = if cfg.callback_url.contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}{}", cfg.callback_url, req.query);
        let retries = opts.retries.min(MAX_RETRIES);
        let started = Instant::now();
        let mut attempts = Vec::new();
        let mut outcome: Result<(u16, Bytes), (bool, String)> = Err((false, "not sent".to_owned()));
        for attempt in 0..=retries {
            let t0 = Instant::now();
            let call = async {
                let resp = self
                    .inner
                    .client
                    .post(&url)
                    .header(header::CONTENT_TYPE, "text/xml")
                    .header(header::USER_AGENT, CALLBACK_USER_AGENT)
                    .body(req.body.clone())
                    .send()
                    .await
                    .map_err(|e| (false, format!("unreachable: {e}")))?;
                let status = resp.status().as_u16();
                let body = resp.bytes().await.map_err(|e| (false, format!("unreachable: reading the answer failed: {e}")))?;
                Ok((status, body))
            };
            outcome = match tokio::time::timeout(opts.timeout, call).await {
                Ok(r) => r,
                Err(_) => Err((true, format!("timeout: no answer within {} ms", opts.timeout.as_millis()))),
            };
            let ms = t0.elapsed().as_millis() as u64;
            attempts.push(match &outcome {
                Ok((status, _)) => json!({"attempt": attempt + 1, "ms": ms, "status": status}),
                Err((_, e)) => json!({"attempt": attempt + 1, "ms": ms, "error": e}),
            });
            if outcome.is_ok() {
                break;
            }
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let mut result = json!({
            "openid": openid,
            "sent": {"seq": sent_seq, "xml": xml},
            "status": Value::Null,
            "reply": Value::Null,
            "elapsed_ms": elapsed_ms,
            "attempts": attempts,
        });
        let judged: Result<(Value, Option<String>), (&str, String)> = match outcome {
            Err((true, e)) => Err(("timeout", e)),
            Err((false, e)) => Err(("unreachable", e)),
            Ok((status, body)) => {
                result["status"] = status.into();
                if status != 200 {
                    let text = String::from_utf8_lossy(&body);
                    let snippet: String = text.chars().take(200).collect();
                    Err(("http_error", format!("HTTP {status}: {snippet}")))
                } else {
                    wire::check_reply(&body, self.inner.crypto.as_ref(), &cfg.gh_id, openid, to_message, &|id, kind| {
                        self.media_ok(id, kind)
                    })
                    .map_err(|e| ("invalid_reply", e))
                }
            }
        };
        match judged {
            Ok((mut reply, reply_xml)) => {
                let is_success = reply["type"] == "success";
                if let Some(id) = reply.get("media_id").and_then(Value::as_str).map(str::to_owned) {
                    reply["url"] = format!("{}/media/{id}", self.settings().page_base).into();
                }
                result["outcome"] = if is_success { "success" } else { "replied" }.into();
                result["reply"] = reply.clone();
                result["reply_xml"] = reply_xml.into();
                if shown && !is_success {
                    let seq = self.record(openid, json!({"from": "account", "kind": "reply", "in_reply_to": sent_seq, "reply": reply}));
                    result["reply_seq"] = seq.into();
                }
            }
            Err((outcome, error)) => {
                result["outcome"] = outcome.into();
                result["error"] = error.clone().into();
                if shown {
                    result["notice"] = SERVICE_UNAVAILABLE.into();
                    self.record(
                        openid,
                        json!({"from": "system", "kind": "error", "in_reply_to": sent_seq, "outcome": outcome, "error": error, "notice": SERVICE_UNAVAILABLE}),
                    );
                }
            }
        }
        result["shown"] = shown.into();
        result
    }

    fn event_xml(&self, openid: &str, event: &str, key: Option<&str>, ticket: Option<&str>) -> String {
        let mut fields = vec![wire::F::S("Event", event)];
        fields.push(wire::F::S("EventKey", key.unwrap_or_default()));
        if let Some(t) = ticket {
            fields.push(wire::F::S("Ticket", t));
        }
        wire::inbound_xml(&self.inner.cfg.gh_id, openid, self.inner.sim.now(), "event", &fields)
    }

    /// The account's QR code with this ticket (or encoded URL) or scene; the newest that has not
    /// expired. 404 when there is none, 410 when all matching codes expired.
    fn find_code(&self, ticket: Option<&str>, scene: Option<&str>) -> Result<QrCode, PhoneError> {
        let now = self.inner.sim.now();
        let codes: Vec<QrCode> = self
            .inner
            .sim
            .qr_codes()
            .into_iter()
            .filter(|q| match (ticket, scene) {
                (Some(t), _) if !t.is_empty() => q.ticket == t || q.url == t,
                (_, Some(s)) => q.scene() == s,
                _ => false,
            })
            .collect();
        if let Some(live) = codes.iter().rev().find(|q| q.expire_at.is_none_or(|e| now < e)) {
            return Ok(live.clone());
        }
        if codes.is_empty() {
            let what = ticket
                .filter(|t| !t.is_empty())
                .map(|t| format!("ticket {t:?}"))
                .unwrap_or_else(|| format!("scene {:?}", scene.unwrap_or_default()));
            Err(PhoneError::new(
                StatusCode::NOT_FOUND,
                format!("the account has no parametric QR code with {what} (create one with /cgi-bin/qrcode/create)"),
            ))
        } else {
            Err(PhoneError::new(StatusCode::GONE, "二维码已过期: every matching QR code has expired"))
        }
    }

    async fn subscribe_via(&self, openid: &str, code: Option<QrCode>, opts: SendOptions) -> Value {
        let scene = code.as_ref().map(QrCode::scene);
        self.inner.sim.follow(openid, scene.clone());
        let key = scene.as_ref().map(|s| format!("qrscene_{s}"));
        let ticket = code.as_ref().map(|c| c.ticket.clone());
        let xml = self.event_xml(openid, "subscribe", Some(key.as_deref().unwrap_or_default()), ticket.as_deref());
        let sent = json!({"from": "reader", "kind": "event", "event": "subscribe", "event_key": key.unwrap_or_default(), "ticket": ticket, "scene": scene});
        self.exchange(openid, sent, xml, false, true, opts).await
    }

    /// The reader follows the account: plainly (`None`), or by scanning the parametric QR code of
    /// `scene` (`subscribe` with `EventKey=qrscene_<scene>` and its `Ticket`).
    pub async fn follow(&self, openid: &str, scene: Option<&str>, opts: SendOptions) -> Result<Value, PhoneError> {
        check_openid(openid)?;
        if self.following(openid) {
            return Err(PhoneError::new(StatusCode::CONFLICT, format!("{openid} already follows the account")));
        }
        let code = match scene.filter(|s| !s.is_empty()) {
            Some(s) => Some(self.find_code(None, Some(s))?),
            None => None,
        };
        Ok(self.subscribe_via(openid, code, opts).await)
    }

    /// The reader scans a parametric QR code (by ticket, encoded URL or scene): `SCAN` when they
    /// follow, otherwise a follow through the code.
    pub async fn scan(&self, openid: &str, ticket: Option<&str>, scene: Option<&str>, opts: SendOptions) -> Result<Value, PhoneError> {
        check_openid(openid)?;
        if ticket.is_none_or(str::is_empty) && scene.is_none_or(str::is_empty) {
            return Err(PhoneError::new(StatusCode::BAD_REQUEST, "give ticket or scene"));
        }
        let code = self.find_code(ticket, scene)?;
        if !self.following(openid) {
            return Ok(self.subscribe_via(openid, Some(code), opts).await);
        }
        self.inner.sim.note_click_or_scan_or_follow(openid);
        let scene = code.scene();
        let xml = self.event_xml(openid, "SCAN", Some(&scene), Some(&code.ticket));
        let sent = json!({"from": "reader", "kind": "event", "event": "SCAN", "event_key": scene, "ticket": code.ticket, "scene": scene});
        Ok(self.exchange(openid, sent, xml, false, true, opts).await)
    }

    /// The reader unfollows (WeChat records it first, then tells the server; nothing is shown).
    pub async fn unfollow(&self, openid: &str, opts: SendOptions) -> Result<Value, PhoneError> {
        self.require_following(openid)?;
        self.inner.sim.unfollow(openid);
        let xml = self.event_xml(openid, "unsubscribe", Some(""), None);
        let sent = json!({"from": "reader", "kind": "event", "event": "unsubscribe", "event_key": ""});
        Ok(self.exchange(openid, sent, xml, false, false, opts).await)
    }

    /// The reader sends a text message (a fresh `MsgId`; opens the 48-hour window).
    pub async fn text(&self, openid: &str, content: &str, opts: SendOptions) -> Result<Value, PhoneError> {
        self.text_with(openid, content, None, opts).await
    }

    async fn text_with(&self, openid: &str, content: &str, bizmsgmenuid: Option<&str>, opts: SendOptions) -> Result<Value, PhoneError> {
        self.require_following(openid)?;
        if content.trim().is_empty() {
            return Err(PhoneError::new(StatusCode::BAD_REQUEST, "WeChat does not send empty messages"));
        }
        let msg_id = self.inner.next_msg_id.fetch_add(1, Ordering::Relaxed).to_string();
        self.inner.sim.note_user_message(openid);
        let mut fields = vec![wire::F::S("Content", content), wire::F::N("MsgId", msg_id.clone())];
        if let Some(id) = bizmsgmenuid {
            fields.push(wire::F::S("bizmsgmenuid", id));
        }
        let xml = wire::inbound_xml(&self.inner.cfg.gh_id, openid, self.inner.sim.now(), "text", &fields);
        let mut sent = json!({"from": "reader", "kind": "text", "content": content, "msg_id": msg_id});
        if let Some(id) = bizmsgmenuid {
            sent["bizmsgmenuid"] = id.into();
        }
        Ok(self.exchange(openid, sent, xml, true, true, opts).await)
    }

    fn menu_item(&self, ty: &str, field: &str, value: &str) -> Result<String, PhoneError> {
        let Some(menu) = self.inner.sim.menu() else {
            return Err(PhoneError::new(StatusCode::CONFLICT, "the account has no menu (menu/create was never called)"));
        };
        menu_items(&menu)
            .into_iter()
            .find(|(_, item)| item["type"] == ty && item[field] == value)
            .map(|(name, _)| name)
            .ok_or_else(|| PhoneError::new(StatusCode::NOT_FOUND, format!("the current menu has no {ty} item with {field} {value:?}")))
    }

    /// The reader taps a `click` menu item (`CLICK`, EventKey = key; opens the 1-minute window).
    pub async fn click(&self, openid: &str, key: &str, opts: SendOptions) -> Result<Value, PhoneError> {
        self.require_following(openid)?;
        let name = self.menu_item("click", "key", key)?;
        self.inner.sim.note_click_or_scan_or_follow(openid);
        let xml = self.event_xml(openid, "CLICK", Some(key), None);
        let sent = json!({"from": "reader", "kind": "event", "event": "CLICK", "event_key": key, "name": name});
        Ok(self.exchange(openid, sent, xml, false, true, opts).await)
    }

    /// The reader taps a `view` menu item: `VIEW` (EventKey = url) goes to the server while the
    /// page opens; the answer includes `open`, the URL the phone's web view loads.
    pub async fn view(&self, openid: &str, url: &str, opts: SendOptions) -> Result<Value, PhoneError> {
        self.require_following(openid)?;
        let name = self.menu_item("view", "url", url)?;
        let xml = self.event_xml(openid, "VIEW", Some(url), None);
        let sent = json!({"from": "reader", "kind": "event", "event": "VIEW", "event_key": url, "name": name});
        let mut v = self.exchange(openid, sent, xml, false, false, opts).await;
        v["open"] = self.web_url(url).into();
        Ok(v)
    }

    /// The URL the phone's web view loads for a link: links to WeChat's OAuth page
    /// (`open.weixin.qq.com`) go to the simulator's.
    pub fn web_url(&self, url: &str) -> String {
        for prefix in ["https://open.weixin.qq.com", "http://open.weixin.qq.com"] {
            if let Some(rest) = url.strip_prefix(prefix) {
                return format!("{}{rest}", self.settings().api_base);
            }
        }
        url.to_owned()
    }

    fn cookie_origins(&self) -> Vec<String> {
        let s = self.settings().clone();
        [self.inner.cfg.public_base.as_str(), s.page_base.as_str(), s.api_base.as_str(), self.inner.cfg.callback_url.as_str()]
            .iter()
            .filter_map(|u| origin(u))
            .collect()
    }

    /// Loads a link in the reader's web view, as WeChat's browser would: follows redirects
    /// (through the OAuth page, which knows the reader by the `sim_openid` cookie), keeps the
    /// reader's cookies for the server's origin, and returns the final page.
    pub async fn open(&self, openid: &str, url: &str) -> Result<Value, PhoneError> {
        check_openid(openid)?;
        {
            let mut log = self.log();
            Self::know(&mut log, openid);
        }
        let origins = self.cookie_origins();
        let mut current =
            reqwest::Url::parse(&self.web_url(url)).map_err(|e| PhoneError::new(StatusCode::BAD_REQUEST, format!("url: {e}")))?;
        let mut redirects = Vec::new();
        for _ in 0..=MAX_REDIRECTS {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(PhoneError::new(StatusCode::BAD_REQUEST, "only http(s) links open in the web view"));
            }
            let ours = origin(current.as_str()).is_some_and(|o| origins.contains(&o));
            let mut req =
                self.inner.client.get(current.clone()).header(header::USER_AGENT, WEBVIEW_USER_AGENT).timeout(Duration::from_secs(15));
            if ours {
                let cookie = {
                    let log = self.log();
                    let jar = log.readers.get(openid).map(|r| r.jar.clone()).unwrap_or_default();
                    let mut parts: Vec<String> = jar.iter().filter(|(k, _)| *k != "sim_openid").map(|(k, v)| format!("{k}={v}")).collect();
                    parts.push(format!("sim_openid={openid}"));
                    parts.join("; ")
                };
                req = req.header(header::COOKIE, cookie);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    return Ok(
                        json!({"openid": openid, "url": current.as_str(), "status": Value::Null, "redirects": redirects, "error": e.to_string()}),
                    );
                }
            };
            let status = resp.status().as_u16();
            if ours {
                let mut log = self.log();
                let jar = &mut log.readers.get_mut(openid).expect("known").jar;
                for sc in resp.headers().get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
                    apply_set_cookie(jar, sc);
                }
            }
            let location = resp.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_owned);
            if resp.status().is_redirection()
                && let Some(loc) = location
            {
                let next =
                    current.join(&loc).map_err(|e| PhoneError::new(StatusCode::BAD_GATEWAY, format!("bad Location {loc:?}: {e}")))?;
                redirects.push(json!({"url": current.as_str(), "status": status, "location": loc}));
                current = reqwest::Url::parse(&self.web_url(next.as_str())).unwrap_or(next);
                continue;
            }
            let content_type = resp.headers().get(header::CONTENT_TYPE).and_then(|c| c.to_str().ok()).unwrap_or_default().to_owned();
            let bytes = resp.bytes().await.unwrap_or_default();
            let body = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_PAGE_BYTES)]).into_owned();
            return Ok(json!({
                "openid": openid, "url": current.as_str(), "status": status, "content_type": content_type,
                "redirects": redirects, "body": body,
            }));
        }
        Ok(json!({"openid": openid, "url": current.as_str(), "status": Value::Null, "redirects": redirects, "error": "too many redirects"}))
    }

    /// The reader's cookies in the phone's web view (name → value).
    pub fn cookies(&self, openid: &str) -> BTreeMap<String, String> {
        self.log().readers.get(openid).map(|r| r.jar.clone()).unwrap_or_default()
    }

    /// The page switches to `openid`: the browser's cookies (sent in `cookie_header`) are kept
    /// as the previous reader's, and the `Set-Cookie` values returned put the new reader's in
    /// place (`sim_openid` included, which the simulator's OAuth page reads).
    pub fn select(&self, openid: &str, cookie_header: Option<&str>) -> Result<Vec<String>, PhoneError> {
        check_openid(openid)?;
        let browser: Vec<(String, String)> = cookie_header.map(parse_cookie_header).unwrap_or_default();
        let prev = browser.iter().find(|(k, _)| k == "sim_openid").map(|(_, v)| v.clone()).filter(|p| check_openid(p).is_ok());
        let mut log = self.log();
        Self::know(&mut log, openid);
        if let Some(p) = &prev {
            Self::know(&mut log, p);
            let jar = &mut log.readers.get_mut(p).expect("known").jar;
            jar.extend(browser.iter().filter(|(k, _)| k != "sim_openid").cloned());
        }
        let mut out = Vec::new();
        if prev.as_deref() != Some(openid) {
            let new_jar = log.readers[openid].jar.clone();
            for (k, _) in browser.iter().filter(|(k, _)| k != "sim_openid" && !new_jar.contains_key(k)) {
                out.push(format!("{k}=; Path=/; Max-Age=0"));
            }
            for (k, v) in &new_jar {
                out.push(format!("{k}={v}; Path=/"));
            }
        }
        out.push(format!("sim_openid={openid}; Path=/; SameSite=Lax"));
        Ok(out)
    }

    fn push_entry(p: &Pushed, templates: &HashMap<String, (String, Vec<String>)>) -> Value {
        let kind = match p.kind {
            PushKind::Custom => "custom",
            PushKind::Template => "template",
            PushKind::Subscribe => "subscribe_message",
            PushKind::Mass => "mass",
            PushKind::MassPreview => "mass_preview",
        };
        let mut e = json!({"seq": p.seq, "at": p.at, "from": "account", "kind": kind, "body": p.body});
        if let Some(t) = p.body.get("msgtype").and_then(Value::as_str) {
            e["msgtype"] = t.into();
            if t == "text"
                && let Some(c) = p.body.pointer("/text/content")
            {
                e["content"] = c.clone();
            }
        }
        if let Some(id) = p.msg_id {
            e["msg_id"] = id.into();
        }
        if let Some((title, fields)) = p.body.get("template_id").and_then(Value::as_str).and_then(|id| templates.get(id)) {
            e["template_title"] = title.clone().into();
            e["template_fields"] = json!(fields);
        }
        e
    }

    /// The reader's conversation after `after` (0: all): what they sent, the passive replies
    /// WeChat showed, error notices, and the account's later pushes, in order (`seq`).
    pub fn conversation(&self, openid: &str, after: u64) -> Value {
        let (mut entries, cleared) = {
            let log = self.log();
            match log.readers.get(openid) {
                Some(r) => (r.entries.clone(), r.cleared_through),
                None => (Vec::new(), 0),
            }
        };
        let floor = after.max(cleared);
        entries.retain(|e| e["seq"].as_u64().unwrap_or(0) > floor);
        let templates: HashMap<String, (String, Vec<String>)> =
            self.inner.sim.lock().templates.iter().map(|(id, t)| (id.clone(), (t.title.clone(), t.fields.clone()))).collect();
        entries.extend(self.inner.sim.inbox(openid).iter().filter(|p| p.seq > floor).map(|p| Self::push_entry(p, &templates)));
        entries.sort_by_key(|e| e["seq"].as_u64().unwrap_or(0));
        let last_seq = entries.last().and_then(|e| e["seq"].as_u64()).unwrap_or(floor);
        json!({"openid": openid, "following": self.following(openid), "entries": entries, "last_seq": last_seq})
    }

    /// Forgets the reader's conversation so far (the simulator's records are kept).
    pub fn clear_conversation(&self, openid: &str) {
        let through = self.inner.sim.lock().next_seq();
        let mut log = self.log();
        Self::know(&mut log, openid);
        let r = log.readers.get_mut(openid).expect("known");
        r.entries.clear();
        r.cleared_through = through;
    }

    /// Every simulated reader: those the phone has seen, then everyone else WeChat knows.
    pub fn readers(&self) -> Value {
        let mut order = self.log().order.clone();
        let followers = self.inner.sim.followers();
        for f in &followers {
            if !order.contains(&f.openid) {
                order.push(f.openid.clone());
            }
        }
        let list: Vec<Value> = order
            .iter()
            .map(|o| {
                let f = followers.iter().find(|f| &f.openid == o);
                let entries = self.log().readers.get(o).map(|r| r.entries.len()).unwrap_or(0);
                json!({
                    "openid": o,
                    "following": f.is_some_and(|f| f.subscribed),
                    "ever_followed": f.is_some_and(|f| f.ever_subscribed),
                    "subscribe_scene": f.map(|f| f.subscribe_scene.clone()),
                    "qr_scene": f.map(|f| f.qr_scene),
                    "qr_scene_str": f.map(|f| f.qr_scene_str.clone()),
                    "sent_and_replies": entries,
                    "inbox": self.inner.sim.inbox(o).len(),
                })
            })
            .collect();
        json!({ "readers": list })
    }

    /// What the page shows besides the conversation: account, menu, QR codes, templates.
    pub fn state(&self) -> Value {
        let s = self.settings().clone();
        let sim = &self.inner.sim;
        let now = sim.now();
        let codes: Vec<Value> = sim
            .qr_codes()
            .iter()
            .map(|q| {
                json!({
                    "ticket": q.ticket, "url": q.url, "scene": q.scene(), "action_name": q.action_name, "permanent": q.permanent,
                    "expire_at": q.expire_at, "expired": q.expire_at.is_some_and(|e| now >= e),
                })
            })
            .collect();
        let templates: BTreeMap<String, String> = sim.lock().templates.iter().map(|(id, t)| (id.clone(), t.title.clone())).collect();
        json!({
            "account": {
                "name": s.account_name, "gh_id": self.inner.cfg.gh_id, "app_id": self.inner.cfg.app_id,
                "mode": if self.inner.crypto.is_some() { "safe" } else { "plain" },
                "api_base": s.api_base, "public_base": self.inner.cfg.public_base,
            },
            "menu": sim.menu(),
            "qr_codes": codes,
            "templates": templates,
            "now": now,
        })
    }
}

// ---- HTTP handlers ----

#[derive(Deserialize, Default)]
struct SendQuery {
    retry: Option<u32>,
    timeout_ms: Option<u64>,
}

impl SendQuery {
    fn options(&self) -> Result<SendOptions, PhoneError> {
        let retries = self.retry.unwrap_or(0);
        if retries > MAX_RETRIES {
            return Err(PhoneError::new(StatusCode::BAD_REQUEST, "retry is 0..=3 (WeChat retries 3 times)"));
        }
        let timeout = match self.timeout_ms {
            None => WECHAT_TIMEOUT,
            Some(ms) if (1..=60_000).contains(&ms) => Duration::from_millis(ms),
            Some(_) => return Err(PhoneError::new(StatusCode::BAD_REQUEST, "timeout_ms is 1..=60000")),
        };
        Ok(SendOptions { retries, timeout })
    }
}

fn body<T: DeserializeOwned + Default>(b: &Bytes) -> Result<T, PhoneError> {
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(b).map_err(|e| PhoneError::new(StatusCode::BAD_REQUEST, format!("body: {e}")))
}

#[derive(Deserialize, Default)]
struct FollowReq {
    scene: Option<String>,
    ticket: Option<String>,
}

#[derive(Deserialize, Default)]
struct TextReq {
    #[serde(default)]
    content: String,
    bizmsgmenuid: Option<String>,
}

#[derive(Deserialize, Default)]
struct KeyReq {
    #[serde(default)]
    key: String,
}

#[derive(Deserialize, Default)]
struct UrlReq {
    #[serde(default)]
    url: String,
    #[serde(default)]
    fetch: bool,
}

#[derive(Deserialize, Default)]
struct AfterQuery {
    after: Option<u64>,
}

type JsonResult = Result<Json<Value>, PhoneError>;

async fn page_handler(State(p): State<Phone>, OriginalUri(uri): OriginalUri) -> Response {
    let base = uri.path().trim_end_matches('/').to_owned();
    let name = p.settings().account_name.clone();
    let mut r = page::render(&base, &name).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn state_handler(State(p): State<Phone>) -> Json<Value> {
    Json(p.state())
}

async fn media_handler(State(p): State<Phone>, Path(id): Path<String>) -> Response {
    let media = p.inner.sim.lock().media.get(&id).cloned();
    match media {
        Some(m) => {
            let mut r = m.bytes.into_response();
            if let Ok(v) = HeaderValue::from_str(&m.content_type) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r
        }
        None => (StatusCode::NOT_FOUND, "no such media").into_response(),
    }
}

async fn readers_handler(State(p): State<Phone>) -> Json<Value> {
    Json(p.readers())
}

async fn new_reader_handler(State(p): State<Phone>) -> Json<Value> {
    let openid = new_openid();
    let mut log = p.log();
    Phone::know(&mut log, &openid);
    Json(json!({ "openid": openid }))
}

async fn select_handler(State(p): State<Phone>, Path(openid): Path<String>, headers: HeaderMap) -> Response {
    let cookie = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join("; ");
    match p.select(&openid, Some(&cookie)) {
        Ok(set) => {
            let mut r = Json(json!({"openid": openid, "following": p.following(&openid)})).into_response();
            for c in set {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn follow_handler(State(p): State<Phone>, Path(openid): Path<String>, Query(q): Query<SendQuery>, b: Bytes) -> JsonResult {
    let r: FollowReq = body(&b)?;
    let opts = q.options()?;
    if r.ticket.as_deref().is_some_and(|t| !t.is_empty()) {
        check_openid(&openid)?;
        if p.following(&openid) {
            return Err(PhoneError::new(StatusCode::CONFLICT, format!("{openid} already follows the account")));
        }
        return p.scan(&openid, r.ticket.as_deref(), None, opts).await.map(Json);
    }
    p.follow(&openid, r.scene.as_deref(), opts).await.map(Json)
}

async fn scan_handler(State(p): State<Phone>, Path(openid): Path<String>, Query(q): Query<SendQuery>, b: Bytes) -> JsonResult {
    let r: FollowReq = body(&b)?;
    p.scan(&openid, r.ticket.as_deref(), r.scene.as_deref(), q.options()?).await.map(Json)
}

async fn unfollow_handler(State(p): State<Phone>, Path(openid): Path<String>, Query(q): Query<SendQuery>) -> JsonResult {
    p.unfollow(&openid, q.options()?).await.map(Json)
}

async fn text_handler(State(p): State<Phone>, Path(openid): Path<String>, Query(q): Query<SendQuery>, b: Bytes) -> JsonResult {
    let r: TextReq = body(&b)?;
    p.text_with(&openid, &r.content, r.bizmsgmenuid.as_deref(), q.options()?).await.map(Json)
}

async fn click_handler(State(p): State<Phone>, Path(openid): Path<String>, Query(q): Query<SendQuery>, b: Bytes) -> JsonResult {
    let r: KeyReq = body(&b)?;
    p.click(&openid, &r.key, q.options()?).await.map(Json)
}

async fn view_handler(State(p): State<Phone>, Path(openid): Path<String>, Query(q): Query<SendQuery>, b: Bytes) -> Response {
    let r: UrlReq = match body(&b) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let opts = match q.options() {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let mut v = match p.view(&openid, &r.url, opts).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    if r.fetch {
        let open = v["open"].as_str().unwrap_or_default().to_owned();
        v["page"] = match p.open(&openid, &open).await {
            Ok(page) => page,
            Err(e) => json!({"error": e.message}),
        };
    }
    // The page's web view loads `open` next: make sure the OAuth page knows who is reading.
    let mut resp = Json(v).into_response();
    if let Ok(c) = HeaderValue::from_str(&format!("sim_openid={openid}; Path=/; SameSite=Lax")) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

async fn open_handler(State(p): State<Phone>, Path(openid): Path<String>, b: Bytes) -> JsonResult {
    let r: UrlReq = body(&b)?;
    p.open(&openid, &r.url).await.map(Json)
}

async fn conversation_handler(State(p): State<Phone>, Path(openid): Path<String>, Query(q): Query<AfterQuery>) -> JsonResult {
    check_openid(&openid)?;
    Ok(Json(p.conversation(&openid, q.after.unwrap_or(0))))
}

async fn clear_handler(State(p): State<Phone>, Path(openid): Path<String>) -> JsonResult {
    check_openid(&openid)?;
    p.clear_conversation(&openid);
    Ok(Json(json!({"ok": true})))
}
