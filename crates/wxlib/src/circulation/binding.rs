//! Binding the campus card, on a web page and never in chat. The menu opens `/h5/bind`; WeChat's
//! web authorisation (OAuth2 `snsapi_base`) hands the page a `code`, which wxlib exchanges for the
//! reader's openid. The reader types card number and password; the library system checks them;
//! wxlib keeps only openid ↔ card. Attempts are limited per reader, per card and per client
//! address, each counted before the library system checks the password (`db::limits`: a burst of
//! parallel tries is counted one by one). Unbinding deletes the binding and everything wxlib
//! holds about the reader's borrowing.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::IlsError;
use crate::db::{Limit, Verdict};
use crate::services::Services;
use crate::web::client::ClientAddr;
use crate::web::error::{BoxError, WebError};
use crate::web::session::{CodeParams, Purpose, cookie_token, subtle_eq, with_cookie};
use crate::web::{escape, page};

pub fn routes(s: Services) -> axum::Router {
    axum::Router::new()
        .route("/h5/bind", get(bind_page).post(bind_submit))
        .route("/h5/unbind", get(unbind_page).post(unbind_submit))
        .with_state(s)
}

/// A card number as readers and logs see it: all but the last four characters starred.
pub fn mask(card: &str) -> String {
    let n = card.chars().count();
    card.chars().enumerate().map(|(i, c)| if i + 4 < n { '*' } else { c }).collect()
}

fn bind_form(token: &str, card: &str, error: Option<&str>) -> String {
    format!(
        "{}<form method=\"post\" class=\"card\"><p>输入一卡通卡号和图书馆密码。密码只用于这一次核对，不会被保存。</p>\
         <input type=\"hidden\" name=\"token\" value=\"{}\"><p>卡号<input type=\"text\" name=\"card\" value=\"{}\" autocomplete=\"username\"></p>\
         <p>密码<input type=\"password\" name=\"password\" autocomplete=\"current-password\" style=\"width:100%\"></p><button id=\"bind\">绑定</button></form>",
        error.map(|e| format!("<p class=\"no\">{}</p>", escape(e))).unwrap_or_default(),
        escape(token),
        escape(card)
    )
}

async fn bind_page(State(s): State<Services>, headers: HeaderMap, Query(q): Query<CodeParams>) -> Result<Response, WebError> {
    let (openid, new_token) = s.web_reader(&headers, q.code.as_deref(), "/h5/bind").await?;
    let token = new_token.clone().or_else(|| cookie_token(&headers)).unwrap_or_default();
    let body = match s.db.binding(&openid).await.map_err(internal)? {
        Some(card) => format!("<div class=\"card\">已绑定一卡通 {}。<br><a href=\"/h5/unbind\">解除绑定</a></div>", escape(&mask(&card))),
        None => bind_form(&token, "", None),
    };
    Ok(with_cookie(Html(page("绑定一卡通", &body)).into_response(), new_token))
}

/// A failure of ours on the binding pages; the cause goes to the log.
fn internal(e: impl Into<BoxError>) -> WebError {
    WebError::page(StatusCode::INTERNAL_SERVER_ERROR, "绑定一卡通", "<div class=\"card no\">系统出错了，请稍后再试。</div>")
        .because("binding page", e)
}

/// The page's session token is not ours, or has run out.
fn expired(title: &str) -> WebError {
    WebError::page(StatusCode::FORBIDDEN, title, "<div class=\"card no\">页面已过期，请从公众号菜单重新打开。</div>")
}

#[derive(Deserialize)]
pub struct BindForm {
    token: String,
    card: String,
    password: String,
}

async fn bind_submit(
    State(s): State<Services>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(f): Form<BindForm>,
) -> Result<Response, WebError> {
    let now = s.clock.now();
    // The form's token must be the session cookie (CSRF) and valid.
    let cookie = cookie_token(&headers).unwrap_or_default();
    let Some(openid) =
        s.sessions.verify(Purpose::ReaderSession, &f.token, now).filter(|_| subtle_eq(cookie.as_bytes(), f.token.as_bytes()))
    else {
        return Err(expired("绑定一卡通"));
    };
    let card = f.card.trim();
    // The form again, with what to change: an answer, not a failure.
    let retry =
        |status: StatusCode, msg: &str| Ok((status, Html(page("绑定一卡通", &bind_form(&f.token, card, Some(msg))))).into_response());
    if card.is_empty() || f.password.is_empty() || card.len() > 64 || f.password.len() > 128 {
        return retry(StatusCode::BAD_REQUEST, "请填写卡号和密码。");
    }
    let c = &s.config.circulation;
    let per_subject = Limit { attempts: c.bind_max_failures, window_secs: c.bind_window_secs };
    let per_address = Limit { attempts: c.bind_max_attempts_per_address, window_secs: c.bind_window_secs };
    let (reader_key, card_key) = (format!("bind-reader:{openid}"), format!("bind-card:{card}"));
    let address_key = format!("bind-addr:{}", client.limit_key());
    // The reader first, so a reader already refused counts against no card.
    for (key, limit) in [(&reader_key, per_subject), (&address_key, per_address), (&card_key, per_subject)] {
        if let Verdict::Refused { retry_after_secs, .. } = s.db.reserve_attempt(key, limit, now).await.map_err(internal)? {
            tracing::warn!(limit = %key.split(':').next().unwrap_or_default(), client = %client, "binding refused: too many attempts");
            let minutes = (retry_after_secs + 59) / 60;
            return retry(StatusCode::TOO_MANY_REQUESTS, &format!("尝试次数过多，请 {minutes} 分钟后再试。"));
        }
    }
    let ils = s.ils.clone();
    let timeout = std::time::Duration::from_millis(c.ils_timeout_ms);
    let result = match tokio::time::timeout(timeout, ils.authenticate(card, &f.password)).await {
        Ok(r) => r,
        Err(_) => Err(IlsError::Unavailable("timed out".into())),
    };
    match result {
        Ok(patron) => {
            s.db.bind(&openid, card, now).await.map_err(internal)?;
            s.db.clear_attempts(&[&reader_key, &card_key]).await.map_err(internal)?;
            s.db.refund_attempt(&address_key).await.map_err(internal)?;
            tracing::info!(card = %mask(card), "card bound");
            // Confirm in chat too, so the reader sees it where they came from (sent within the
            // customer-service window their last message opened; skipped if there is none).
            let note = format!("已绑定一卡通 {}（{}）。回复“借阅”查看借阅，回复“解绑”可解除绑定。", mask(card), patron.name);
            if let Err(e) = s.push(&openid, &wechat::Reply::text(note), &format!("bound:{openid}:{now}")).await {
                tracing::warn!(error = %e, "could not queue the binding confirmation");
            }
            Ok(Html(page(
                "绑定一卡通",
                &format!("<div class=\"card ok\" id=\"bound\">绑定成功：{}（卡号 {}）。<br>回到公众号，点击“借阅信息 → 我的借阅”查看借阅。</div>", escape(&patron.name), escape(&mask(card))),
            ))
            .into_response())
        }
        Err(IlsError::BadCredentials) => retry(StatusCode::UNAUTHORIZED, "卡号或密码不正确。"),
        Err(IlsError::Unavailable(_)) => retry(StatusCode::SERVICE_UNAVAILABLE, "图书馆系统暂时无法连接，请稍后再试。"),
        Err(e) => retry(StatusCode::BAD_GATEWAY, &format!("图书馆系统拒绝了请求：{e}")),
    }
}

async fn unbind_page(State(s): State<Services>, headers: HeaderMap, Query(q): Query<CodeParams>) -> Result<Response, WebError> {
    let (openid, new_token) = s.web_reader(&headers, q.code.as_deref(), "/h5/unbind").await?;
    let token = new_token.clone().or_else(|| cookie_token(&headers)).unwrap_or_default();
    let body = match s.db.binding(&openid).await.map_err(internal)? {
        Some(card) => format!(
            "<form method=\"post\" class=\"card\"><p>确定解除一卡通 {} 的绑定吗？解绑后，公众号不再保留您的借阅相关信息。</p><input type=\"hidden\" name=\"token\" value=\"{}\"><button id=\"unbind\">确认解绑</button></form>",
            escape(&mask(&card)),
            escape(&token)
        ),
        None => "<div class=\"card\">您还没有绑定一卡通。<a href=\"/h5/bind\">去绑定</a></div>".to_owned(),
    };
    Ok(with_cookie(Html(page("解除绑定", &body)).into_response(), new_token))
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

async fn unbind_submit(State(s): State<Services>, headers: HeaderMap, Form(f): Form<TokenForm>) -> Result<Response, WebError> {
    let cookie = cookie_token(&headers).unwrap_or_default();
    let Some(openid) =
        s.sessions.verify(Purpose::ReaderSession, &f.token, s.clock.now()).filter(|_| subtle_eq(cookie.as_bytes(), f.token.as_bytes()))
    else {
        return Err(expired("解除绑定"));
    };
    s.db.forget_reader(&openid).await.map_err(internal)?;
    Ok(Html(page("解除绑定", "<div class=\"card ok\" id=\"unbound\">已解除绑定，您的借阅相关信息已从公众号删除。</div>")).into_response())
}
