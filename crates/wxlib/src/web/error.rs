//! The one error type at the HTTP edge of the reader pages and the JSON API, as the callback's
//! `Rejection` is for `/wechat`: what the reader is told (in the page's language, or the API's
//! `{"error": "…"}`), with which status, and the failure behind it — logged with its whole chain
//! of causes, never shown. Each module keeps its own typed errors beneath it.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;

/// A failure behind an answer.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// What a request is answered with instead of what it asked for.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    body: Body,
    cause: Option<(&'static str, BoxError)>,
}

#[derive(Debug)]
enum Body {
    /// The JSON API's `{"error": message}`.
    Json(Cow<'static, str>),
    /// A whole HTML page.
    Html(String),
    Text(Cow<'static, str>),
    /// Not an answer yet: the reader goes through WeChat's web authorisation first.
    Redirect(String),
}

impl WebError {
    /// The JSON API's answer: `{"error": message}`.
    pub fn json(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self { status, body: Body::Json(message.into()), cause: None }
    }

    /// A mobile page titled `title` with `body_html` in the page frame ([`super::page`]).
    pub fn page(status: StatusCode, title: &str, body_html: &str) -> Self {
        Self { status, body: Body::Html(super::page(title, body_html)), cause: None }
    }

    pub fn text(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self { status, body: Body::Text(message.into()), cause: None }
    }

    /// Sends the reader to `url` first (WeChat's web authorisation).
    pub fn redirect(url: &str) -> Self {
        Self { status: StatusCode::SEE_OTHER, body: Body::Redirect(url.to_owned()), cause: None }
    }

    /// The failure behind this answer, and what was being done (`"catalog search"`): logged with
    /// the chain of causes when the answer is given.
    pub fn because(mut self, during: &'static str, cause: impl Into<BoxError>) -> Self {
        self.cause = Some((during, cause.into()));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let Some((during, cause)) = &self.cause {
            let status = self.status.as_u16();
            if self.status.is_server_error() {
                tracing::error!(status, error = %Chain(cause.as_ref()), "{during} failed");
            } else {
                tracing::warn!(status, error = %Chain(cause.as_ref()), "{during} failed");
            }
        }
        match self.body {
            Body::Json(message) => (self.status, Json(json!({"error": message}))).into_response(),
            Body::Html(page) => (self.status, Html(page)).into_response(),
            Body::Text(message) => (self.status, message.into_owned()).into_response(),
            Body::Redirect(url) => Redirect::to(&url).into_response(),
        }
    }
}

/// An error and its causes (`source()`) on one line: "a: b: c". A cause whose text its effect
/// already ends with (errors that print their source) is not repeated.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !line.ends_with(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            next = cause.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn the_chain_names_every_cause_once() {
        let e = Outer(Middle(std::io::Error::other("disk on fire")));
        assert_eq!(Chain(&e).to_string(), "outer: middle: disk on fire");
    }

    #[tokio::test]
    async fn the_api_answers_in_its_own_shape() {
        let resp = WebError::json(StatusCode::BAD_REQUEST, "page must be between 1 and 1000").into_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"error":"page must be between 1 and 1000"}"#);
        let hidden = WebError::json(StatusCode::INTERNAL_SERVER_ERROR, "internal error").because("test", std::io::Error::other("secret"));
        let body = axum::body::to_bytes(hidden.into_response().into_body(), 1024).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("secret"), "causes are logged, never shown");
    }
}
