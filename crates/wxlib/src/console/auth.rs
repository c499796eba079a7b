//! Who may use the console: librarian accounts (argon2 hashes, never plain passwords), sign-in
//! with limits against password guessing, sessions (a random token in an HttpOnly cookie,
//! stored hashed in the database so several nodes share them) and the middleware that guards
//! every `/console` page: no valid session → sign-in page (GET) or 401; a POST without the
//! session's CSRF token → 403. Handlers take [`Librarian`] or [`Admin`] as extractors.
//!
//! The sign-in limits ([`PAIR_LIMIT`], [`ADDRESS_LIMIT`]) count each attempt before the password
//! is checked, in one statement ([`Db::reserve_attempt`]), so a burst of parallel guesses is
//! counted one by one and only the first few are checked. They count per user name *and client
//! address* — guessing a name's password from one address locks that address out of that name
//! only, so nobody can lock the admin out from elsewhere — and per address over all names, so
//! one password sprayed over many names is limited too. A right password forgets the pair's
//! count. Every sign-in, failure and lockout is in the audit log with the client's address.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use axum::body::Body;
use axum::extract::{Form, FromRequestParts, OriginalUri, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::ConsoleError;
use super::layout::{bare_page, flash_error, page};
use crate::db::{Db, DbError, Limit, Verdict, unix_now};
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;
use crate::web::client::ClientAddr;
use crate::web::escape;

/// The session cookie (path `/console`).
pub const SESSION_COOKIE: &str = "wxlib_console";
/// The sign-in form's CSRF cookie (double submit: there is no session yet).
pub const LOGIN_COOKIE: &str = "wxlib_console_login";
/// A session lasts a working day.
pub const SESSION_SECS: i64 = 12 * 3600;
/// Sign-in attempts per user name from one client address (a right one is not counted) before
/// that address may not try that name again for the rest of the window.
pub const PAIR_LIMIT: Limit = Limit { attempts: 5, window_secs: 15 * 60 };
/// Sign-in attempts from one client address over all user names (spraying one password over
/// many names); a right one is given back.
pub const ADDRESS_LIMIT: Limit = Limit { attempts: 20, window_secs: 15 * 60 };
/// Largest console request body the CSRF check reads (forms, and images for news messages).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Librarian,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Librarian => "librarian",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "librarian" => Some(Role::Librarian),
            _ => None,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Role::Admin => t(lang, "管理员", "admin"),
            Role::Librarian => t(lang, "馆员", "librarian"),
        }
    }
}

pub(super) fn lang_code(lang: Lang) -> &'static str {
    if lang == Lang::En { "en" } else { "zh" }
}

/// The signed-in librarian of this request (set by [`require_session`]).
#[derive(Debug, Clone)]
pub struct Librarian {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub lang: Lang,
    /// The session's CSRF token; every POST form carries it ([`super::layout::csrf_field`]).
    pub csrf: String,
}

impl Librarian {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Librarian {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Librarian>()
            .cloned()
            .ok_or_else(|| (StatusCode::UNAUTHORIZED, Html(bare_page(Lang::Zh, "401", &signed_out_body(Lang::Zh)))).into_response())
    }
}

/// A signed-in admin; a librarian gets a 403 page saying the action is for admins.
#[derive(Debug, Clone)]
pub struct Admin(pub Librarian);

impl std::ops::Deref for Admin {
    type Target = Librarian;
    fn deref(&self) -> &Librarian {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let lib = Librarian::from_request_parts(parts, state).await?;
        if lib.is_admin() {
            return Ok(Admin(lib));
        }
        let body = flash_error(t(lib.lang, "只有管理员可以进行此操作。请联系管理员。", "Only an admin can do this. Please ask an admin."));
        Err((StatusCode::FORBIDDEN, page(&lib, t(lib.lang, "无权限", "Not allowed"), &body)).into_response())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the user name must be 1 to 32 letters, digits, '_', '.' or '-'")]
    BadUsername,
    #[error("the password must be 8 to 128 characters")]
    WeakPassword,
    #[error("the user name {0:?} is already taken")]
    Taken(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl AuthError {
    /// What to tell the librarian in the console's language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            AuthError::BadUsername => {
                t(lang, "用户名须为 1–32 个字母、数字或 _ . -", "The user name must be 1 to 32 letters, digits, '_', '.' or '-'.")
                    .to_owned()
            }
            AuthError::WeakPassword => t(lang, "密码长度须为 8–128 个字符。", "The password must be 8 to 128 characters.").to_owned(),
            AuthError::Taken(u) => match lang {
                Lang::Zh => format!("用户名 {u} 已被使用。"),
                Lang::En => format!("The user name {u} is already taken."),
            },
            AuthError::Hash(_) | AuthError::Db(_) => {
                t(lang, "系统出错了，请稍后再试。", "Something went wrong; please try again.").to_owned()
            }
        }
    }
}

pub fn validate_username(username: &str) -> Result<(), AuthError> {
    let ok =
        !username.is_empty() && username.len() <= 32 && username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok { Ok(()) } else { Err(AuthError::BadUsername) }
}

pub fn validate_password(password: &str) -> Result<(), AuthError> {
    let n = password.chars().count();
    if (8..=128).contains(&n) { Ok(()) } else { Err(AuthError::WeakPassword) }
}

/// Hashes off the async threads: argon2 is deliberately slow.
async fn hash_password(password: &str) -> Result<String, AuthError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| AuthError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| AuthError::Hash(e.to_string()))?
}

/// A hash of a random password, verified against when the user name is unknown so that a wrong
/// user name takes as long as a wrong password (no user-name probing by timing).
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(format!("{:x}", rand::random::<u128>()).as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

async fn verify_password(hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

pub(super) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn random_token() -> String {
    format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A row of the librarians table, for the management page.
#[derive(Debug, Clone)]
pub struct LibrarianRow {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub created_at: i64,
    pub disabled: bool,
}

/// Creates a librarian (the first admin comes from `wxlib create-admin`). Returns the id.
pub async fn create_librarian(db: &Db, username: &str, password: &str, role: Role) -> Result<i64, AuthError> {
    validate_username(username)?;
    validate_password(password)?;
    if db.librarian_by_name(username).await?.is_some() {
        return Err(AuthError::Taken(username.to_owned()));
    }
    let hash = hash_password(password).await?;
    db.insert_librarian(username, &hash, role, unix_now()).await?.ok_or_else(|| AuthError::Taken(username.to_owned()))
}

/// Sets a new password (admin reset) and ends the librarian's sessions.
pub async fn set_password(db: &Db, id: i64, password: &str) -> Result<(), AuthError> {
    validate_password(password)?;
    let hash = hash_password(password).await?;
    db.set_librarian_password(id, &hash).await?;
    db.end_sessions_of(id).await?;
    Ok(())
}

/// What signing in can end with.
pub enum SignIn {
    Ok {
        token: String,
    },
    Wrong,
    /// Over a limit: no password was checked. Try again in this many seconds.
    TooManyTries {
        retry_after_secs: i64,
    },
}

/// Checks a user name and password from `client` (within [`PAIR_LIMIT`] and [`ADDRESS_LIMIT`],
/// counted before the check) and opens a session. Every outcome is audited.
pub async fn sign_in(db: &Db, username: &str, password: &str, lang: Option<Lang>, client: ClientAddr) -> Result<SignIn, DbError> {
    let now = unix_now();
    let username = username.trim();
    if username.len() > 64 || password.len() > 256 {
        return Ok(SignIn::Wrong);
    }
    let pair_key = format!("login:{username}|{}", client.limit_key());
    let address_key = format!("login-addr:{}", client.limit_key());
    let pair = db.reserve_attempt(&pair_key, PAIR_LIMIT, now).await?;
    let address = db.reserve_attempt(&address_key, ADDRESS_LIMIT, now).await?;
    for (verdict, limit, what) in
        [(pair, PAIR_LIMIT, format!("user name {username}")), (address, ADDRESS_LIMIT, "all user names".to_owned())]
    {
        if let Verdict::Refused { retry_after_secs, first } = verdict {
            if first {
                tracing::warn!(username = %username, client = %client, "console sign-in locked: too many attempts");
                let detail = format!("{what} from {client}: {} attempts in {} minutes", limit.attempts, limit.window_secs / 60);
                db.insert_audit(now, None, "console.sign_in_locked", &detail).await?;
            }
            return Ok(SignIn::TooManyTries { retry_after_secs });
        }
    }
    let found = db.librarian_by_name(username).await?;
    let hash = found.as_ref().map(|f| f.1.clone()).unwrap_or_else(|| dummy_hash().to_owned());
    let good = verify_password(hash, password.to_owned()).await;
    match found {
        Some((id, _, _, stored_lang, disabled)) if good && !disabled => {
            db.clear_attempts(&[&pair_key]).await?;
            db.refund_attempt(&address_key).await?;
            let lang = lang.unwrap_or(Lang::from_config(&stored_lang));
            let token = random_token();
            db.open_console_session(&sha256_hex(&token), id, &random_token(), lang_code(lang), now, now + SESSION_SECS).await?;
            db.insert_audit(now, Some(id), "console.sign_in", &format!("from {client}")).await?;
            Ok(SignIn::Ok { token })
        }
        _ => {
            tracing::warn!(username = %username, client = %client, "console sign-in failed");
            db.insert_audit(now, None, "console.sign_in_failed", &format!("user name {username} from {client}")).await?;
            Ok(SignIn::Wrong)
        }
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|raw| raw.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

fn set_cookie(resp: &mut Response, services: &Services, name: &str, value: &str, path: &str, max_age: i64) {
    let secure = if services.config.server.public_url.starts_with("https://") { "; Secure" } else { "" };
    if let Ok(v) = HeaderValue::from_str(&format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn signed_out_body(lang: Lang) -> String {
    format!(
        "{}<p><a href=\"/console/login\">{}</a></p>",
        flash_error(t(lang, "请先登录。", "Please sign in first.")),
        t(lang, "登录", "Sign in")
    )
}

/// The `lang` query parameter, if it names a language.
fn query_lang(query: Option<&str>) -> Option<Lang> {
    let q = query?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).ok()?;
    pairs.into_iter().find(|(k, _)| k == "lang").and_then(|(_, v)| match v.as_str() {
        "en" => Some(Lang::En),
        "zh" => Some(Lang::Zh),
        _ => None,
    })
}

/// The `csrf` field of a urlencoded or multipart form body.
fn csrf_in_body(content_type: &str, body: &[u8]) -> Option<String> {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        return pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v);
    }
    if content_type.starts_with("multipart/form-data") {
        // The part `Content-Disposition: form-data; name="csrf"`, then a blank line, then the value.
        let marker = b"name=\"csrf\"";
        let at = body.windows(marker.len()).position(|w| w == marker)?;
        let rest = &body[at..];
        let start = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let value = &rest[start..];
        let end = value.windows(2).position(|w| w == b"\r\n")?;
        return std::str::from_utf8(&value[..end]).ok().map(str::to_owned);
    }
    None
}

/// Guards the `/console` tree: a live session is required (GET without one → sign-in page, other
/// methods → 401) and every state-changing request must carry the session's CSRF token in the
/// form field `csrf` or the header `X-CSRF-Token` (else 403, nothing done). `?lang=en|zh`
/// switches the console language for the session.
pub async fn require_session(State(s): State<Services>, req: Request, next: Next) -> Response {
    let now = unix_now();
    let token = cookie(req.headers(), SESSION_COOKIE);
    let found = match &token {
        Some(t) => s.db.console_session(t, now).await,
        None => Ok(None),
    };
    let mut lib = match found {
        Ok(Some(lib)) => lib,
        Ok(None) => {
            let lang = query_lang(req.uri().query()).unwrap_or(Lang::Zh);
            if matches!(*req.method(), Method::GET | Method::HEAD) {
                let original = req.extensions().get::<OriginalUri>().map(|u| u.0.to_string()).unwrap_or_else(|| "/console".into());
                let next = serde_urlencoded::to_string([("next", original)]).unwrap_or_default();
                return Redirect::to(&format!("/console/login?{next}")).into_response();
            }
            return (StatusCode::UNAUTHORIZED, Html(bare_page(lang, "401", &signed_out_body(lang)))).into_response();
        }
        Err(e) => return ConsoleError::from(e).into_response(),
    };
    if let (Some(lang), Some(token)) = (query_lang(req.uri().query()), &token)
        && lang != lib.lang
    {
        if let Err(e) = s.db.set_session_lang(token, lib.id, lang).await {
            return ConsoleError::from(e).into_response();
        }
        lib.lang = lang;
    }
    let mut req = req;
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let header_token = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Ok(b) => b,
            Err(_) => {
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    page(&lib, "413", &flash_error(t(lib.lang, "提交的内容太大。", "The request is too large."))),
                )
                    .into_response();
            }
        };
        let given = header_token.or_else(|| csrf_in_body(&content_type, &bytes)).unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), lib.csrf.as_bytes()) {
            tracing::warn!(librarian = %lib.username, path = %parts.uri, "console request refused: missing or wrong CSRF token");
            let body = flash_error(t(
                lib.lang,
                "请求缺少有效的安全令牌（CSRF），未执行任何操作。请刷新页面后重试。",
                "The request has no valid security (CSRF) token; nothing was done. Reload the page and try again.",
            ));
            return (StatusCode::FORBIDDEN, page(&lib, "403", &body)).into_response();
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    req.extensions_mut().insert(lib);
    next.run(req).await
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

fn parse_lang(s: Option<&str>) -> Option<Lang> {
    match s {
        Some("en") => Some(Lang::En),
        Some("zh") => Some(Lang::Zh),
        _ => None,
    }
}

/// Only console paths are followed after sign-in: no open redirect (`https://…`, `//host`,
/// `/\\host`), and only visible ASCII, so a CR/LF or any control character can never reach the
/// `Location` header; anything else is the console's home.
fn safe_next(next: Option<&str>) -> String {
    let ok = |n: &str| {
        let lower = n.to_ascii_lowercase();
        (n == "/console" || n.starts_with("/console/") || n.starts_with("/console?"))
            && !n.starts_with("/console/login")
            && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'\\')
            && !lower.contains("/..")
            && !lower.contains("/%2e")
            && !lower.contains("/.%2e")
    };
    match next {
        Some(n) if ok(n) => n.to_owned(),
        _ => "/console".to_owned(),
    }
}

fn login_form(lang: Lang, csrf: &str, next: &str, username: &str, error: Option<&str>) -> String {
    let other = if lang == Lang::Zh { ("en", "English") } else { ("zh", "中文") };
    format!(
        "{err}<form method=\"post\" action=\"/console/login\" class=\"card login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"next\" value=\"{next}\"><input type=\"hidden\" name=\"lang\" value=\"{code}\">\
         <p><label>{u}<br><input type=\"text\" name=\"username\" id=\"username\" value=\"{username}\" autocomplete=\"username\"></label></p>\
         <p><label>{p}<br><input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\"></label></p>\
         <p><button type=\"submit\" id=\"sign-in\">{go}</button></p></form>\
         <p class=\"muted\"><a href=\"/console/login?lang={oc}&amp;next={next_q}\">{ol}</a></p>",
        err = error.map(flash_error).unwrap_or_default(),
        csrf = escape(csrf),
        next = escape(next),
        code = lang_code(lang),
        u = t(lang, "用户名", "User name"),
        p = t(lang, "密码", "Password"),
        go = t(lang, "登录", "Sign in"),
        username = escape(username),
        oc = other.0,
        ol = other.1,
        next_q = escape(&crate::web::urlencode(next)),
    )
}

/// `GET /console/login`: the sign-in form with a fresh double-submit CSRF cookie.
pub async fn login_page(State(s): State<Services>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let lang = parse_lang(q.lang.as_deref()).unwrap_or(Lang::Zh);
    let csrf =
        cookie(&headers, LOGIN_COOKIE).filter(|c| c.len() == 64 && c.chars().all(|c| c.is_ascii_hexdigit())).unwrap_or_else(random_token);
    let next = safe_next(q.next.as_deref());
    let mut resp =
        Html(bare_page(lang, t(lang, "馆员登录", "Librarian sign-in"), &login_form(lang, &csrf, &next, "", None))).into_response();
    set_cookie(&mut resp, &s, LOGIN_COOKIE, &csrf, "/console/login", 3600);
    resp
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
    lang: Option<String>,
}

/// `POST /console/login`: checks the double-submit token, then the password; opens a session.
pub async fn login_submit(State(s): State<Services>, client: ClientAddr, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let lang = parse_lang(f.lang.as_deref()).unwrap_or(Lang::Zh);
    let title = t(lang, "馆员登录", "Librarian sign-in");
    let next = safe_next(f.next.as_deref());
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), f.csrf.as_bytes()) {
        let body = format!(
            "{}<p><a href=\"/console/login\">{}</a></p>",
            flash_error(t(
                lang,
                "登录页面已过期或缺少安全令牌（CSRF），请重新打开登录页。",
                "The sign-in page expired or the security (CSRF) token is missing; open the sign-in page again."
            )),
            t(lang, "重新登录", "Sign in again")
        );
        return (StatusCode::FORBIDDEN, Html(bare_page(lang, title, &body))).into_response();
    }
    let again = |status: StatusCode, msg: &str| {
        (status, Html(bare_page(lang, title, &login_form(lang, &expected, &next, f.username.trim(), Some(msg))))).into_response()
    };
    if f.username.trim().is_empty() || f.password.is_empty() {
        return again(StatusCode::BAD_REQUEST, t(lang, "请填写用户名和密码。", "Enter your user name and password."));
    }
    match sign_in(&s.db, &f.username, &f.password, parse_lang(f.lang.as_deref()), client).await {
        Ok(SignIn::Ok { token }) => {
            tracing::info!(username = %f.username.trim(), client = %client, "librarian signed in");
            let mut resp = Redirect::to(&next).into_response();
            set_cookie(&mut resp, &s, SESSION_COOKIE, &token, "/console", SESSION_SECS);
            set_cookie(&mut resp, &s, LOGIN_COOKIE, "", "/console/login", 0);
            resp
        }
        Ok(SignIn::Wrong) => again(
            StatusCode::UNAUTHORIZED,
            t(lang, "用户名或密码不正确，或账号已停用。", "Wrong user name or password, or the account is disabled."),
        ),
        Ok(SignIn::TooManyTries { retry_after_secs }) => {
            let minutes = (retry_after_secs + 59) / 60;
            let msg = match lang {
                Lang::Zh => format!("登录失败次数过多，请 {minutes} 分钟后再试。"),
                Lang::En => format!("Too many failed sign-ins; try again in {minutes} minutes."),
            };
            again(StatusCode::TOO_MANY_REQUESTS, &msg)
        }
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

/// `POST /console/logout` (inside the guarded tree, so CSRF-checked).
pub async fn logout(State(s): State<Services>, headers: HeaderMap, lib: Librarian) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = s.db.end_session(&token).await
    {
        return ConsoleError::from(e).into_response();
    }
    tracing::info!(username = %lib.username, "librarian signed out");
    let mut resp = Redirect::to(&format!("/console/login?lang={}", lang_code(lib.lang))).into_response();
    set_cookie(&mut resp, &s, SESSION_COOKIE, "", "/console", 0);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_from_form_bodies() {
        assert_eq!(csrf_in_body("application/x-www-form-urlencoded", b"a=1&csrf=abc&b=2").as_deref(), Some("abc"));
        let multipart = b"--X\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok123\r\n--X\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--X--\r\n";
        assert_eq!(csrf_in_body("multipart/form-data; boundary=X", multipart).as_deref(), Some("tok123"));
        assert_eq!(csrf_in_body("application/json", b"{\"csrf\":\"x\"}"), None);
    }

    #[test]
    fn only_console_paths_after_sign_in() {
        assert_eq!(safe_next(Some("/console/menu")), "/console/menu");
        assert_eq!(safe_next(Some("https://evil.example/")), "/console");
        assert_eq!(safe_next(Some("//evil.example/console")), "/console");
        assert_eq!(safe_next(None), "/console");
        assert_eq!(safe_next(Some("/console/inbox?openid=o1&x=%0d%0a")), "/console/inbox?openid=o1&x=%0d%0a", "encoded stays encoded");
        for bad in [
            "/console\r\nSet-Cookie: a=b",
            "/console/menu\n",
            "/console/\0",
            "/console/\t",
            "/console/\u{7f}",
            "/console/é",
            "/console /x",
            "/console\\evil",
            "/consoleevil.example",
            "/console/../logout",
            "/console/%2e%2e/x",
            "/console/.%2E/x",
            "/console/login?next=//evil",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/console",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console", "{bad:?}");
        }
    }

    #[test]
    fn user_names_and_passwords() {
        assert!(validate_username("zhang.san-1").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("张三").is_err());
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough").is_ok());
    }
}
