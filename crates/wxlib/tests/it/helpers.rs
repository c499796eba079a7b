use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::post;
use serde_json::{Value, json};
use wechat::{AesKey, MessageCrypto, signature};
use wxlib::config::Config;
use wxlib::db::Db;
use wxlib::startup::Application;
use wxlib::wechat::router::Router;

pub const TOKEN: &str = "libtoken";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const APP_ID: &str = "wx1234567890abcdef";
pub const GH: &str = "gh_0123456789ab";

/// Where PostgreSQL tests run: `WXLIB_TEST_PG` (a server URL without database), e.g.
/// `postgres://postgres@127.0.0.1:5432`. In CI (`CI` set) a missing server is a failure.
pub fn pg_server() -> Option<String> {
    match std::env::var("WXLIB_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok() => panic!("CI is set but WXLIB_TEST_PG is not: PostgreSQL tests are mandatory in CI"),
        _ => {
            eprintln!("!!! SKIPPED PostgreSQL variant: set WXLIB_TEST_PG=postgres://postgres@127.0.0.1:5432 to run it");
            None
        }
    }
}

/// A fresh, empty database on the given backend; the guard keeps it alive (and drops it).
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("wxlib.db").display());
    TestDb { url, _dir: Some(dir) }
}

pub async fn pg_db(server: &str) -> TestDb {
    let name = format!("wxlib_test_{:016x}", rand::random::<u64>());
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await.expect("PostgreSQL reachable at WXLIB_TEST_PG");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.expect("create database");
    TestDb { url: format!("{server}/{name}"), _dir: None }
}

/// Both backends, for conformance tests (PostgreSQL only when configured).
pub async fn all_dbs() -> Vec<(&'static str, TestDb)> {
    let mut v = vec![("sqlite", sqlite_db().await)];
    if let Some(server) = pg_server() {
        v.push(("postgres", pg_db(&server).await));
    }
    v
}

/// What the WeChat API stand-in saw and how it should behave.
#[derive(Default)]
pub struct FakeApiState {
    pub calls: Vec<(String, Value)>,
    /// errcodes to answer on custom/send before succeeding (popped front first).
    pub custom_send_errors: Vec<i64>,
    pub tokens_issued: u32,
}

#[derive(Clone)]
pub struct FakeApi {
    pub state: Arc<Mutex<FakeApiState>>,
    pub base: String,
}

impl FakeApi {
    pub fn calls(&self, endpoint: &str) -> Vec<Value> {
        self.state.lock().unwrap().calls.iter().filter(|(e, _)| e == endpoint).map(|(_, v)| v.clone()).collect()
    }
}

/// A local stand-in for api.weixin.qq.com: stable_token and message/custom/send, with WeChat's
/// shapes; tokens are "tok1", "tok2", … and only the newest is valid.
pub async fn fake_api() -> FakeApi {
    let state = Arc::new(Mutex::new(FakeApiState::default()));
    async fn stable_token(State(s): State<Arc<Mutex<FakeApiState>>>, Json(body): Json<Value>) -> Json<Value> {
        let mut st = s.lock().unwrap();
        st.calls.push(("stable_token".into(), body.clone()));
        if st.tokens_issued == 0 || body["force_refresh"] == json!(true) {
            st.tokens_issued += 1;
        }
        Json(json!({"access_token": format!("tok{}", st.tokens_issued), "expires_in": 7200}))
    }
    async fn custom_send(
        State(s): State<Arc<Mutex<FakeApiState>>>,
        Query(q): Query<std::collections::HashMap<String, String>>,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let mut st = s.lock().unwrap();
        let current = format!("tok{}", st.tokens_issued);
        if q.get("access_token") != Some(&current) {
            return Json(json!({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}));
        }
        if !st.custom_send_errors.is_empty() {
            let code = st.custom_send_errors.remove(0);
            return Json(json!({"errcode": code, "errmsg": "injected"}));
        }
        st.calls.push(("custom/send".into(), body));
        Json(json!({"errcode": 0, "errmsg": "ok"}))
    }
    async fn template_send(
        State(s): State<Arc<Mutex<FakeApiState>>>,
        Query(q): Query<std::collections::HashMap<String, String>>,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let mut st = s.lock().unwrap();
        if q.get("access_token") != Some(&format!("tok{}", st.tokens_issued)) {
            return Json(json!({"errcode": 40001, "errmsg": "invalid credential"}));
        }
        st.calls.push(("template/send".into(), body));
        let id = st.calls.len();
        Json(json!({"errcode": 0, "errmsg": "ok", "msgid": id}))
    }
    let app = axum::Router::new()
        .route("/cgi-bin/stable_token", post(stable_token))
        .route("/cgi-bin/message/custom/send", post(custom_send))
        .route("/cgi-bin/message/template/send", post(template_send))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    FakeApi { state, base }
}

pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub services: wxlib::services::Services,
    pub http: reqwest::Client,
    pub crypto: MessageCrypto,
    _db_guard: TestDb,
}

pub fn test_config(db_url: &str, api_base: &str) -> Config {
    let mut c = Config::default();
    c.server.listen = "127.0.0.1:0".parse().unwrap();
    c.wechat.token = TOKEN.into();
    c.wechat.app_id = APP_ID.into();
    c.wechat.app_secret = "secret".into();
    c.wechat.encoding_aes_key = AES_KEY.into();
    c.wechat.api_base = api_base.into();
    c.storage.url = db_url.into();
    // Each app gets its own search index directory (the database may be shared).
    c.server.data_dir = std::env::temp_dir().join(format!("wxlib-it-{:016x}", rand::random::<u64>()));
    c
}

pub async fn spawn_app_on(db: TestDb, api_base: &str, router: Router<wxlib::services::Services>) -> TestApp {
    let config = test_config(&db.url, api_base);
    let app = Application::build_with_router(config, router).await.expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.services().db.clone();
    let services = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    let crypto = MessageCrypto::new(TOKEN, APP_ID, AesKey::from_encoding_aes_key(AES_KEY).unwrap(), None);
    TestApp { base, db: handle, services, http: reqwest::Client::new(), crypto, _db_guard: db }
}

pub fn now() -> i64 {
    wxlib::db::unix_now()
}

pub fn text_message(openid: &str, msg_id: u64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>",
        now()
    )
}

pub struct Sent {
    pub status: u16,
    pub body: String,
    pub elapsed: Duration,
}

impl TestApp {
    /// Sends `plain` as WeChat does in safe mode, with a fixed nonce per message so retries are
    /// byte-identical.
    pub async fn post_encrypted(&self, plain: &str, nonce: &str, ts: &str) -> Sent {
        let started = std::time::Instant::now();
        let r = self.encrypted_request(&self.http, plain, nonce, ts).send().await.expect("request");
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        Sent { status, body, elapsed: started.elapsed() }
    }

    /// The POST WeChat sends for `plain` in safe mode, on `client`, ready to send.
    pub fn encrypted_request(&self, client: &reqwest::Client, plain: &str, nonce: &str, ts: &str) -> reqwest::RequestBuilder {
        let enc = self.crypto.encrypt(0, plain, [9; 16]);
        let body = wechat::envelope::encrypted_request(GH, &enc);
        let q = [
            ("signature", signature::sign(&[TOKEN, ts, nonce])),
            ("timestamp", ts.to_owned()),
            ("nonce", nonce.to_owned()),
            ("openid", "o".into()),
            ("encrypt_type", "aes".into()),
            ("msg_signature", self.crypto.msg_signature(ts, nonce, &enc)),
        ];
        client.post(format!("{}/wechat", self.base)).query(&q).body(body)
    }

    /// Decrypts an encrypted reply body and returns the reply XML.
    pub fn open_reply(&self, body: &str) -> String {
        let (enc, sig, ts, nonce) = wechat::envelope::parse_encrypted_reply(body.as_bytes()).expect("reply envelope");
        self.crypto.open(&sig, &ts, &nonce, &enc).expect("reply decrypts and verifies").xml
    }
}

/// Waits until `f` holds, up to `secs`.
pub async fn eventually<F: FnMut() -> bool>(secs: u64, mut f: F) -> bool {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

/// A browser-less librarian in the console: the session cookie and CSRF token from signing in
/// through `/console/login` exactly as a browser does. Redirects are not followed, so tests see
/// them.
pub struct ConsoleSession {
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

pub struct ConsoleResponse {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Vec<String>,
    pub body: String,
}

/// A reqwest client that does not follow redirects.
pub fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub async fn console_response(r: reqwest::Response) -> ConsoleResponse {
    let status = r.status().as_u16();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let set_cookie = r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
    ConsoleResponse { status, location, set_cookie, body: r.text().await.unwrap_or_default() }
}

/// The value of the first `name="csrf"` hidden field in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// `name=value` of a Set-Cookie header named `name`.
pub fn cookie_pair(set_cookie: &[String], name: &str) -> Option<String> {
    set_cookie.iter().find(|c| c.starts_with(&format!("{name}="))).map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// Signs in at `/console/login`; `Err` is the sign-in answer when it did not succeed.
pub async fn console_login(base: &str, username: &str, password: &str) -> Result<ConsoleSession, ConsoleResponse> {
    let http = no_redirect_client();
    let page = console_response(http.get(format!("{base}/console/login")).send().await.unwrap()).await;
    let login_cookie = cookie_pair(&page.set_cookie, "wxlib_console_login").expect("sign-in page sets its CSRF cookie");
    let token = csrf_in(&page.body).expect("sign-in form has a csrf field");
    let body = serde_urlencoded::to_string([("username", username), ("password", password), ("csrf", &token)]).unwrap();
    let r = http
        .post(format!("{base}/console/login"))
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let r = console_response(r).await;
    let Some(cookie) = cookie_pair(&r.set_cookie, "wxlib_console").filter(|c| c.len() > "wxlib_console=".len()) else { return Err(r) };
    let mut session = ConsoleSession { base: base.to_owned(), http, cookie, csrf: String::new() };
    let home = session.get("/console").await;
    assert_eq!(home.status, 200, "{}", home.body);
    session.csrf = csrf_in(&home.body).expect("console pages carry the csrf token");
    Ok(session)
}

impl ConsoleSession {
    pub async fn get(&self, path: &str) -> ConsoleResponse {
        console_response(self.http.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap()).await
    }

    /// POSTs a form with the session's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> ConsoleResponse {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &self.csrf));
        self.post_raw(path, &all).await
    }

    /// POSTs a form exactly as given (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> ConsoleResponse {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        console_response(r).await
    }
}
