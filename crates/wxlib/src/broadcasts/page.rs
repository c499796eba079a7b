//! The article pages readers open (`/news/{id}`, its cover and images), and who counts as a
//! reader. Only a message being sent or sent is public ([`Broadcast::is_public`]): a draft, its
//! cover and its images are 404 here, and librarians preview them in the console.
//!
//! Inside WeChat (the web view's user agent says `MicroMessenger`) a reader without our cookie
//! goes once through WeChat's web authorisation (`snsapi_base`, no consent screen), and is
//! counted by openid. Any other browser gets a random id in a signed cookie (purpose
//! `NewsReader`, never a reader session). Either way the reader is remembered for a year in the
//! `wxlib_news` cookie, so opening the page again, or from another message, is the same reader.
//! Reads count only once the message is being sent (previews and the console's own look before
//! that are not readers).
//!
//! **A read a script cannot inflate.** A read is counted at most once per reader and message: a
//! unique `(broadcast_id, reader)` row, inserted with `ON CONFLICT` (parallel requests of one
//! reader make one row). A request without our cookie (curl, a script, a browser's first visit
//! outside WeChat) gets the cookie but is *not* counted: only a browser that comes back with it
//! is. A browser's first visit carries a 1×1 image (`/news/{id}/seen`), which the browser
//! fetches with the cookie it was just given: a person reading in any browser counts at once,
//! while a loop of cookieless requests (which never loads the image) adds nothing, and a cookie
//! replayed adds one reader. A reader from WeChat's web authorisation is counted at once (its
//! `code` is WeChat's, single use). What remains: a script that keeps each cookie and comes back with it adds one browser
//! reader per two requests; such readers are counted `via = browser`, apart from WeChat's.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::store::Broadcast;
use crate::services::Services;
use crate::web::error::WebError;
use crate::web::session::{CodeParams, Purpose, cookie, set_cookie};
use crate::web::{escape, page};
use crate::wechat::api::authorize_url as authorize_url_for;

const COOKIE: &str = "wxlib_news";
const COOKIE_SECS: i64 = 365 * crate::clock::DAY_SECS;

pub fn routes(s: Services) -> axum::Router {
    axum::Router::new()
        .route("/news/{id}", get(article))
        .route("/news/{id}/cover", get(cover))
        .route("/news/{id}/seen", get(seen))
        .route("/news/img/{id}", get(image))
        .with_state(s)
}

fn in_wechat(headers: &HeaderMap) -> bool {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).is_some_and(|ua| ua.contains("MicroMessenger"))
}

fn not_found() -> WebError {
    WebError::page(StatusCode::NOT_FOUND, "图文消息", "<div class=\"card no\">这篇文章不存在或已删除。</div>")
}

/// A failure of ours; the cause goes to the log.
fn internal(e: crate::db::DbError) -> WebError {
    WebError::page(StatusCode::INTERNAL_SERVER_ERROR, "图文消息", "<div class=\"card no\">系统出错了，请稍后再试。</div>")
        .because("news page", e)
}

async fn article(
    State(s): State<Services>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<CodeParams>,
) -> Result<Response, WebError> {
    let Ok(id) = id.parse::<i64>() else { return Err(not_found()) };
    let b = s.db.broadcast(id).await.map_err(internal)?.filter(Broadcast::is_public).ok_or_else(not_found)?;
    let now = s.clock.now();
    // Who is reading: our cookie, WeChat's code, WeChat's authorisation, or a new browser id.
    let mut new_cookie = None;
    let reader = match cookie(&headers, COOKIE).and_then(|t| s.sessions.verify(Purpose::NewsReader, &t, now)) {
        Some(r) => Some(r),
        None => match q.code.as_deref().filter(|c| !c.is_empty()) {
            Some(code) => match s.api.oauth_openid(code).await {
                Ok(openid) => Some(format!("o:{openid}")),
                Err(e) => {
                    tracing::warn!(error = %e, "web authorisation failed on a news page; counting by browser");
                    None
                }
            },
            None if in_wechat(&headers) => return Err(WebError::redirect(&authorize_url(&s, id))),
            None => None,
        },
    };
    // A browser id minted now is not counted: only one that comes back with it is.
    let (reader, counted) = match reader {
        Some(r) => (r, true),
        None => (format!("c:{:032x}", rand::random::<u128>()), false),
    };
    if cookie(&headers, COOKIE).and_then(|t| s.sessions.verify(Purpose::NewsReader, &t, now)).is_none() {
        new_cookie = Some(s.sessions.sign(Purpose::NewsReader, &reader, now + COOKIE_SECS));
    }
    if counted && matches!(b.state.as_str(), "sending" | "sent") {
        let via = if reader.starts_with("o:") { "wechat" } else { "browser" };
        if let Err(e) = s.db.record_read(id, &reader, via, now).await {
            // The reader still gets the article.
            tracing::warn!(error = %e, "could not record a read");
        }
    }
    let mut html = article_html(&b, &format!("/news/{id}/cover"), "/news/img/");
    if !counted {
        // Fetched by a browser with the cookie set below: the second load that counts it.
        html.push_str(&format!("<img src=\"/news/{id}/seen\" alt=\"\" width=\"1\" height=\"1\" style=\"position:absolute\">"));
    }
    let mut resp = Html(page(&s.config.library.name, &html)).into_response();
    if let Some(t) = new_cookie {
        set_cookie(&mut resp, COOKIE, &t, "/news", COOKIE_SECS);
    }
    Ok(resp)
}

/// The article as readers see it, with the cover at `cover_url` and the body's images
/// (`/news/img/{n}` as saved) served from `images_at` (the console serves a draft's own).
pub fn article_html(b: &Broadcast, cover_url: &str, images_at: &str) -> String {
    let date = crate::clock::local_day(b.sent_at.or(b.queued_at).unwrap_or(b.created_at));
    // Sanitized when saved (see `broadcasts::sanitize`), so its images are exactly `src="/news/img/`.
    let body = if images_at == "/news/img/" {
        b.body_html.clone()
    } else {
        b.body_html.replace("src=\"/news/img/", &format!("src=\"{images_at}"))
    };
    format!(
        "<article class=\"card\" id=\"article\"><h2 style=\"margin-top:0\">{}</h2><p class=\"muted\">{}{}</p>\
         <img src=\"{}\" alt=\"\" style=\"width:100%;border-radius:6px\"><div class=\"body\">{body}</div></article>",
        escape(&b.title),
        if b.author.is_empty() { String::new() } else { format!("{} · ", escape(&b.author)) },
        escape(&date),
        escape(cover_url),
    )
}

/// A transparent 1×1 GIF: what `/news/{id}/seen` answers, counted or not.
const PIXEL: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

/// The image on a first visit's page: a browser that comes back with our cookie is a reader.
/// Without a valid cookie it counts nothing; the answer is the same either way.
async fn seen(State(s): State<Services>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let now = s.clock.now();
    if let (Ok(id), Some(reader)) =
        (id.parse::<i64>(), cookie(&headers, COOKIE).and_then(|t| s.sessions.verify(Purpose::NewsReader, &t, now)))
    {
        match s.db.broadcast(id).await {
            Ok(Some(b)) if b.is_public() && matches!(b.state.as_str(), "sending" | "sent") => {
                let via = if reader.starts_with("o:") { "wechat" } else { "browser" };
                if let Err(e) = s.db.record_read(id, &reader, via, now).await {
                    tracing::warn!(error = %e, "could not record a read");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "news page: could not read the message for a read"),
        }
    }
    ([(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store")], PIXEL).into_response()
}

fn authorize_url(s: &Services, id: i64) -> String {
    let redirect = format!("{}/news/{id}", s.config.server.public_url);
    authorize_url_for(&s.config.wechat.oauth_base, &s.config.wechat.app_id, &redirect, "news")
}

fn image_response(img: super::Image) -> Response {
    ([(header::CONTENT_TYPE, img.content_type), (header::CACHE_CONTROL, "public, max-age=86400".to_owned())], img.bytes).into_response()
}

async fn cover(State(s): State<Services>, Path(id): Path<String>) -> Result<Response, WebError> {
    let Ok(id) = id.parse::<i64>() else { return Ok(StatusCode::NOT_FOUND.into_response()) };
    Ok(match s.db.public_broadcast_cover(id).await.map_err(internal)? {
        Some(img) => image_response(img),
        None => StatusCode::NOT_FOUND.into_response(),
    })
}

async fn image(State(s): State<Services>, Path(id): Path<String>) -> Result<Response, WebError> {
    let Ok(id) = id.parse::<i64>() else { return Ok(StatusCode::NOT_FOUND.into_response()) };
    Ok(match s.db.public_broadcast_image(id).await.map_err(internal)? {
        Some(img) => image_response(img),
        None => StatusCode::NOT_FOUND.into_response(),
    })
}
