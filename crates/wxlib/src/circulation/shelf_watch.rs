//! 到书提醒: a reader asks to be told, once, when a copy of a record is back on the shelf — from
//! the record's detail in chat ("到书提醒"), or on its page (`/opac/record/{id}/notify`, behind
//! WeChat's web authorisation like the other reader pages). The notice itself comes from the
//! notice rounds ([`super::notices`]); after it the request ends, and the reader can ask again.

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::CopyState;
use crate::db::DbError;
use crate::lang::Lang;
use crate::services::Services;
use crate::web::error::{BoxError, WebError};
use crate::web::session::{CodeParams, Purpose, cookie_token, subtle_eq, with_cookie};
use crate::web::{escape, page, urlencode};

/// What asking for a shelf notice came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// Noted: the reader is told when a copy is on the shelf.
    Noted {
        title: String,
    },
    /// They asked before and have not been told yet.
    AlreadyWaiting {
        title: String,
    },
    /// A copy is on the shelf now (the library system just said so): nothing to wait for.
    OnShelfNow {
        title: String,
    },
    /// The library holds no copy of it.
    NoCopies {
        title: String,
    },
    NoRecord,
}

/// Notes that `openid` wants to be told when a copy of `record_id` is on the shelf.
pub async fn request(s: &Services, openid: &str, record_id: &str) -> Result<Requested, DbError> {
    let Some(title) = s.db.record_title(record_id).await? else { return Ok(Requested::NoRecord) };
    let barcodes = s.db.item_barcodes(record_id).await?;
    if barcodes.is_empty() {
        return Ok(Requested::NoCopies { title });
    }
    let seen = s.catalog.copies.lookup(&barcodes).await?;
    if seen.values().any(|c| c.fresh && c.status.state == CopyState::Available) {
        return Ok(Requested::OnShelfNow { title });
    }
    if s.db.add_shelf_watch(openid, record_id, s.clock.now()).await? {
        Ok(Requested::Noted { title })
    } else {
        Ok(Requested::AlreadyWaiting { title })
    }
}

/// What the reader is told.
pub fn answer(r: &Requested, lang: Lang) -> String {
    match (r, lang) {
        (Requested::Noted { title }, Lang::Zh) => format!("好的，《{title}》有可借的复本时会通知您一次。"),
        (Requested::Noted { title }, Lang::En) => format!("Noted: you will be told once when \"{title}\" is back on the shelf."),
        (Requested::AlreadyWaiting { title }, Lang::Zh) => format!("您已登记《{title}》的到书提醒，有可借的复本时会通知您。"),
        (Requested::AlreadyWaiting { title }, Lang::En) => format!("You are already waiting for \"{title}\"; you will be told."),
        (Requested::OnShelfNow { title }, Lang::Zh) => format!("《{title}》现在就有可借的复本，不需要到书提醒。"),
        (Requested::OnShelfNow { title }, Lang::En) => format!("\"{title}\" is on the shelf now: no need to wait."),
        (Requested::NoCopies { title }, Lang::Zh) => format!("本馆没有《{title}》的馆藏复本，可以荐购。"),
        (Requested::NoCopies { title }, Lang::En) => format!("The library holds no copy of \"{title}\"; you can suggest a purchase."),
        (Requested::NoRecord, Lang::Zh) => "这条记录已不在目录中。".to_owned(),
        (Requested::NoRecord, Lang::En) => "That record is no longer in the catalog.".to_owned(),
    }
}

pub fn routes(s: Services) -> axum::Router {
    axum::Router::new().route("/opac/record/{id}/notify", get(notify_page).post(notify_submit)).with_state(s)
}

const TITLE: &str = "到书提醒";

fn internal(e: impl Into<BoxError>) -> WebError {
    WebError::page(StatusCode::INTERNAL_SERVER_ERROR, TITLE, "<div class=\"card no\">系统出错了，请稍后再试。</div>")
        .because("shelf notice page", e)
}

async fn notify_page(
    State(s): State<Services>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<CodeParams>,
) -> Result<Response, WebError> {
    let path = format!("/opac/record/{}/notify", urlencode(&id));
    let (openid, new_token) = s.web_reader(&headers, q.code.as_deref(), &path).await?;
    let token = new_token.clone().or_else(|| cookie_token(&headers)).unwrap_or_default();
    let Some(title) = s.db.record_title(&id).await.map_err(internal)? else {
        return Err(WebError::page(StatusCode::NOT_FOUND, TITLE, "<p>没有这条书目记录。</p>"));
    };
    let body = if s.db.has_shelf_watch(&openid, &id).await.map_err(internal)? {
        format!("<div class=\"card\" id=\"waiting\">{}</div>", escape(&answer(&Requested::AlreadyWaiting { title }, Lang::Zh)))
    } else {
        format!(
            "<form method=\"post\" class=\"card\"><p>《{}》暂时没有可借的复本。有书可借时，公众号会通知您一次。</p>\
             <input type=\"hidden\" name=\"token\" value=\"{}\"><button id=\"notify\">有书时通知我</button></form>",
            escape(&title),
            escape(&token)
        )
    };
    Ok(with_cookie(Html(page(TITLE, &body)).into_response(), new_token))
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

async fn notify_submit(
    State(s): State<Services>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TokenForm>,
) -> Result<Response, WebError> {
    // The form's token must be the session cookie (CSRF) and valid.
    let cookie = cookie_token(&headers).unwrap_or_default();
    let Some(openid) =
        s.sessions.verify(Purpose::ReaderSession, &f.token, s.clock.now()).filter(|_| subtle_eq(cookie.as_bytes(), f.token.as_bytes()))
    else {
        return Err(WebError::page(StatusCode::FORBIDDEN, TITLE, "<div class=\"card no\">页面已过期，请重新打开。</div>"));
    };
    let r = request(&s, &openid, &id).await.map_err(internal)?;
    let status = if r == Requested::NoRecord { StatusCode::NOT_FOUND } else { StatusCode::OK };
    let class = if matches!(r, Requested::Noted { .. } | Requested::AlreadyWaiting { .. }) { "card ok" } else { "card" };
    let body = format!(
        "<div class=\"{class}\" id=\"answer\">{}</div><p><a href=\"/opac/record/{}\">返回书目详情</a></p>",
        escape(&answer(&r, Lang::Zh)),
        urlencode(&id)
    );
    Ok((status, Html(page(TITLE, &body))).into_response())
}
