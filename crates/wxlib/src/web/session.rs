//! The reader's web session on the pages opened from the menu (binding, activities): a token
//! `openid.expires.hmac` signed with a key every node shares, kept in a cookie, and repeated in
//! each form (the cookie and the form must agree: a CSRF check).

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The session cookie's name.
const COOKIE: &str = "wxlib_reader";
/// How long a reader session lasts.
pub const SESSION_SECS: i64 = 1800;

/// Signs and checks reader sessions: the pages opened from the menu, and the news pages' reader id.
#[derive(Clone)]
pub struct SessionSigner {
    key: Vec<u8>,
}

impl SessionSigner {
    pub fn new(key: &str) -> Self {
        Self { key: key.as_bytes().to_vec() }
    }

    fn mac(&self, payload: &str) -> String {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new_from_slice(b"k").expect("hmac accepts any key"));
        m.update(payload.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    pub fn sign(&self, openid: &str, expires: i64) -> String {
        let payload = format!("{openid}.{expires}");
        format!("{payload}.{}", self.mac(&payload))
    }

    /// The openid, if the token is ours and not expired.
    pub fn verify(&self, token: &str, now: i64) -> Option<String> {
        let (payload, mac) = token.rsplit_once('.')?;
        let (openid, expires) = payload.rsplit_once('.')?;
        let expires: i64 = expires.parse().ok()?;
        let expected = self.mac(payload);
        let same = subtle_eq(expected.as_bytes(), mac.as_bytes());
        (same && expires > now && !openid.is_empty()).then(|| openid.to_owned())
    }
}

/// Compares in time independent of where the inputs differ (tokens, MACs).
pub fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The query WeChat's web authorisation sends a page back with.
#[derive(Debug, serde::Deserialize)]
pub struct CodeParams {
    pub code: Option<String>,
}

/// The session token in the request's cookie, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The value of the request's cookie `name`, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let raw = headers.get(header::COOKIE)?.to_str().ok()?;
    raw.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_owned())
}

/// Adds a `Set-Cookie` for `name=value` (HTTP only, same-site lax) under `path` for `max_age`
/// seconds.
pub fn set_cookie(resp: &mut Response, name: &str, value: &str, path: &str, max_age: i64) {
    let cookie = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// `resp` with the cookie that starts the session `token`, when there is a new one.
pub fn with_cookie(mut resp: Response, token: Option<String>) -> Response {
    if let Some(t) = token {
        set_cookie(&mut resp, COOKIE, &t, "/h5", SESSION_SECS);
    }
    resp
}
