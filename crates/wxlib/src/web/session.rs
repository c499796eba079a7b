//! The reader's web session on the pages opened from the menu (binding, activities): a token
//! `openid.expires.hmac` signed with a key every node shares, kept in a cookie, and repeated in
//! each form (the cookie and the form must agree: a CSRF check).
//!
//! Every signed value carries its [`Purpose`] inside the MAC: a token minted for one purpose (the
//! news pages' reader id, which any browser gets) is refused for every other (a reader session,
//! which only WeChat's web authorisation starts). The console's session and CSRF tokens are not
//! signed values at all: they are random and stored (hashed) in the database, so they cannot be
//! minted here.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The session cookie's name.
const COOKIE: &str = "wxlib_reader";
/// How long a reader session lasts.
pub const SESSION_SECS: i64 = 1800;

/// What a signed value is for. The purpose is part of what is signed, so a value minted for one
/// purpose never verifies for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A reader's session on the pages opened from the menu (`wxlib_reader`): an openid that came
    /// from WeChat's web authorisation, and nothing else.
    ReaderSession,
    /// Who reads a news message (`wxlib_news`): `o:<openid>` from WeChat's web authorisation, or
    /// `c:<random>` for any other browser.
    NewsReader,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::ReaderSession => "reader-session",
            Purpose::NewsReader => "news-reader",
        }
    }
}

/// Signs and checks reader sessions (the pages opened from the menu) and the news pages' reader
/// id, each under its own [`Purpose`].
#[derive(Clone)]
pub struct SessionSigner {
    key: Vec<u8>,
}

impl SessionSigner {
    pub fn new(key: &str) -> Self {
        Self { key: key.as_bytes().to_vec() }
    }

    /// The MAC of `subject.expires` for `purpose`. The purpose goes first, NUL-separated: no
    /// subject can make one purpose's input equal another's.
    fn mac(&self, purpose: Purpose, payload: &str) -> String {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new_from_slice(b"k").expect("hmac accepts any key"));
        m.update(b"wxlib-signed-v2\0");
        m.update(purpose.label().as_bytes());
        m.update(b"\0");
        m.update(payload.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// A token `subject.expires.mac` for `purpose`.
    pub fn sign(&self, purpose: Purpose, subject: &str, expires: i64) -> String {
        let payload = format!("{subject}.{expires}");
        format!("{payload}.{}", self.mac(purpose, &payload))
    }

    /// The subject, if the token is ours, was signed for `purpose` and has not expired.
    pub fn verify(&self, purpose: Purpose, token: &str, now: i64) -> Option<String> {
        let (payload, mac) = token.rsplit_once('.')?;
        let (subject, expires) = payload.rsplit_once('.')?;
        let expires: i64 = expires.parse().ok()?;
        let expected = self.mac(purpose, payload);
        let same = subtle_eq(expected.as_bytes(), mac.as_bytes());
        (same && expires > now && !subject.is_empty()).then(|| subject.to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_purpose() {
        let signer = SessionSigner::new("key");
        let news = signer.sign(Purpose::NewsReader, "c:0123", 2000);
        assert_eq!(signer.verify(Purpose::NewsReader, &news, 1000).as_deref(), Some("c:0123"));
        assert_eq!(signer.verify(Purpose::ReaderSession, &news, 1000), None);
        let session = signer.sign(Purpose::ReaderSession, "oReader", 2000);
        assert_eq!(signer.verify(Purpose::ReaderSession, &session, 1000).as_deref(), Some("oReader"));
        assert_eq!(signer.verify(Purpose::NewsReader, &session, 1000), None);
        assert_eq!(signer.verify(Purpose::ReaderSession, &session, 2000), None, "expired");
        assert_eq!(SessionSigner::new("other").verify(Purpose::ReaderSession, &session, 1000), None, "another key");
        let tampered = session.replacen("oReader", "oOther1", 1);
        assert_eq!(signer.verify(Purpose::ReaderSession, &tampered, 1000), None);
    }
}
