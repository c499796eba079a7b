//! The reader pages of activities. Public: the list (`/activities`) and each announcement
//! (`/activities/{id}`), with the report once there is one. Personal, opened from chat or the
//! announcement through WeChat's web authorisation like the binding page (`/h5/activities/{id}`):
//! the reader's place or waiting position, sign up, cancel, and the feedback form for those who
//! checked in. Posts carry the session token (the cookie's value, as a CSRF check).

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::chat::{cancelled_text, signup_text};
use super::{Activity, ActivityError, SignupOutcome, Status, fmt_local, hm};
use crate::chat::Lang;
use crate::circulation::binding::{CodeParams, cookie_token, reader, subtle_eq, with_cookie};
use crate::services::Services;
use crate::web::{escape, page};

/// Longest feedback comment, in characters.
pub const COMMENT_MAX: usize = 500;

pub fn routes(s: Services) -> axum::Router {
    axum::Router::new()
        .route("/activities", get(list_page))
        .route("/activities/{id}", get(announcement_page))
        .route("/h5/activities/{id}", get(reader_page))
        .route("/h5/activities/{id}/signup", post(signup_submit))
        .route("/h5/activities/{id}/cancel", post(cancel_submit))
        .route("/h5/activities/{id}/feedback", post(feedback_submit))
        .with_state(s)
}

/// Plain text with line breaks, for HTML.
pub fn paragraphs(text: &str) -> String {
    escape(text).replace("\r\n", "\n").replace('\n', "<br>")
}

fn error_page(status: StatusCode, msg: &str) -> Response {
    (status, Html(page("图书馆活动", &format!("<div class=\"card no\" id=\"error\">{}</div>", escape(msg))))).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "activity page failed");
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "系统出错了，请稍后再试。")
}

async fn load(s: &Services, id: &str) -> Result<Activity, Response> {
    let Ok(id) = id.parse::<i64>() else { return Err(error_page(StatusCode::NOT_FOUND, "没有这个活动。")) };
    match s.db.activity(id).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(error_page(StatusCode::NOT_FOUND, "没有这个活动。")),
        Err(e) => Err(internal(e)),
    }
}

/// The announcement: what, when, where, places, the description; the report after.
async fn summary_html(s: &Services, a: &Activity) -> Result<String, crate::db::DbError> {
    let now = s.clock.now();
    let status = a.status(now);
    let c = s.db.activity_counts(a.id).await?;
    let places = if status == Status::SignupOpen || status == Status::Upcoming {
        let left = (a.capacity - c.confirmed).max(0);
        if left == 0 {
            format!("<p>名额已满（共 {} 个），可报名候补，目前 {} 人候补。</p>", a.capacity, c.waiting)
        } else {
            format!("<p id=\"places\">剩余名额 {left} / {}</p>", a.capacity)
        }
    } else {
        String::new()
    };
    let signup_window = match status {
        Status::Upcoming => format!("<p class=\"muted\">报名时间：{} 至 {}</p>", fmt_local(a.signup_opens_at), fmt_local(a.signup_deadline)),
        Status::SignupOpen => format!("<p class=\"muted\">报名截止：{}</p>", fmt_local(a.signup_deadline)),
        _ => String::new(),
    };
    let report = match (&a.report_title, &a.report_body) {
        (Some(t), Some(b)) if !t.is_empty() => format!("<div class=\"card\" id=\"report\"><h3>{}</h3><div>{}</div></div>", escape(t), paragraphs(b)),
        _ => String::new(),
    };
    Ok(format!(
        "<div class=\"card\"><h2 id=\"title\">{}</h2><p><span id=\"status\" class=\"status-{}\">{}</span></p><p>时间：{}</p><p>地点：{}</p>{places}{signup_window}</div>\
         <div class=\"card\" id=\"description\">{}</div>{report}",
        escape(&a.title),
        status.code(),
        status.label(Lang::Zh),
        escape(&a.when()),
        escape(&a.place),
        paragraphs(&a.description),
    ))
}

async fn list_page(State(s): State<Services>) -> Response {
    let now = s.clock.now();
    let coming = match s.db.current_activities(now, 50).await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let reports = match s.db.recent_reports(now, now - 90 * 86_400, 10).await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let mut body = String::new();
    if coming.is_empty() {
        body.push_str("<div class=\"card\">近期暂无活动。</div>");
    }
    for a in &coming {
        body.push_str(&format!(
            "<div class=\"card activity\"><a href=\"/activities/{}\">{}</a><div class=\"muted\">{} · {} · {}</div></div>",
            a.id,
            escape(&a.title),
            escape(&a.when()),
            escape(&a.place),
            a.status(now).label(Lang::Zh)
        ));
    }
    if !reports.is_empty() {
        body.push_str("<h3>活动回顾</h3>");
        for a in &reports {
            body.push_str(&format!(
                "<div class=\"card\"><a href=\"/activities/{}\">{}</a><div class=\"muted\">{}</div></div>",
                a.id,
                escape(a.report_title.as_deref().unwrap_or(&a.title)),
                escape(&a.when())
            ));
        }
    }
    Html(page("图书馆活动", &body)).into_response()
}

async fn announcement_page(State(s): State<Services>, Path(id): Path<String>) -> Response {
    let a = match load(&s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let summary = match summary_html(&s, &a).await {
        Ok(h) => h,
        Err(e) => return internal(e),
    };
    let action = match a.status(s.clock.now()) {
        Status::SignupOpen => format!("<p><a class=\"button\" id=\"signup-link\" href=\"/h5/activities/{}\">我要报名</a></p>", a.id),
        Status::Finished if a.has_report() => String::new(),
        _ => format!("<p><a href=\"/h5/activities/{}\">我的报名与签到</a></p>", a.id),
    };
    Html(page(&a.title, &format!("{summary}{action}"))).into_response()
}

/// The personal page: the announcement, the reader's standing, and what they can do now.
async fn personal(s: &Services, a: &Activity, openid: &str, token: &str, flash: Option<(bool, String)>) -> Result<String, crate::db::DbError> {
    let now = s.clock.now();
    let status = a.status(now);
    let mut body = String::new();
    if let Some((ok, msg)) = flash {
        body.push_str(&format!("<div class=\"card {}\" id=\"flash\">{}</div>", if ok { "ok" } else { "no" }, paragraphs(&msg)));
    }
    body.push_str(&summary_html(s, a).await?);
    let standing = s.db.reader_signup(a.id, openid).await?;
    let checked_in = s.db.reader_checkin(a.id, openid).await?;
    let form = |action: &str, button_id: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"/h5/activities/{}/{action}\"><input type=\"hidden\" name=\"token\" value=\"{}\"><button id=\"{button_id}\">{label}</button></form>",
            a.id,
            escape(token)
        )
    };
    let mut mine = String::from("<div class=\"card\" id=\"mine\">");
    match standing {
        Some(SignupOutcome::AlreadyConfirmed) => mine.push_str("<p id=\"standing\" class=\"ok\">您已报名。</p>"),
        Some(SignupOutcome::AlreadyWaiting { position }) => mine.push_str(&format!("<p id=\"standing\">您在候补名单中，排第 {position} 位。</p>")),
        _ => mine.push_str("<p id=\"standing\">您尚未报名。</p>"),
    }
    if let Some(at) = checked_in {
        mine.push_str(&format!("<p class=\"ok\" id=\"checked-in\">已于 {} 签到。</p>", hm(at)));
    }
    match (standing, status) {
        (None, Status::SignupOpen) => mine.push_str(&form("signup", "signup", "报名")),
        (Some(_), Status::Upcoming | Status::SignupOpen | Status::SignupClosed) => mine.push_str(&form("cancel", "cancel", "取消报名")),
        _ => {}
    }
    mine.push_str("</div>");
    body.push_str(&mine);
    if checked_in.is_some() {
        match s.db.reader_feedback(a.id, openid).await? {
            Some(rating) => body.push_str(&format!("<div class=\"card\" id=\"feedback-given\">您的评分：{rating} / 5。感谢反馈！</div>")),
            None => body.push_str(&format!(
                "<form method=\"post\" action=\"/h5/activities/{}/feedback\" class=\"card\" id=\"feedback-form\"><h3>活动反馈</h3>\
                 <input type=\"hidden\" name=\"token\" value=\"{}\"><p>评分 <select name=\"rating\"><option value=\"\">请选择</option>\
                 <option value=\"5\">5 非常满意</option><option value=\"4\">4 满意</option><option value=\"3\">3 一般</option>\
                 <option value=\"2\">2 不满意</option><option value=\"1\">1 非常不满意</option></select></p>\
                 <p><textarea name=\"comment\" rows=\"4\" maxlength=\"{COMMENT_MAX}\" placeholder=\"意见和建议（选填，{COMMENT_MAX} 字以内）\"></textarea></p>\
                 <button id=\"feedback\">提交反馈</button></form>",
                a.id,
                escape(token)
            )),
        }
    }
    Ok(body)
}

async fn reader_page(State(s): State<Services>, headers: HeaderMap, Path(id): Path<String>, Query(q): Query<CodeParams>) -> Response {
    let a = match load(&s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (openid, new_token) = match reader(&s, &headers, q.code.as_deref(), &format!("/h5/activities/{}", a.id)).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let token = new_token.clone().or_else(|| cookie_token(&headers)).unwrap_or_default();
    match personal(&s, &a, &openid, &token, None).await {
        Ok(body) => with_cookie(Html(page(&a.title, &body)).into_response(), new_token),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct FeedbackForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

/// The reader behind a post: the form's token must be our session cookie, signed and fresh.
fn poster(s: &Services, headers: &HeaderMap, token: &str) -> Result<String, Response> {
    let cookie = cookie_token(headers).unwrap_or_default();
    s.sessions
        .verify(token, s.clock.now())
        .filter(|_| subtle_eq(cookie.as_bytes(), token.as_bytes()))
        .ok_or_else(|| error_page(StatusCode::FORBIDDEN, "页面已过期，请从公众号重新打开。"))
}

/// Renders the personal page after an action, with its outcome on top.
async fn answer(s: &Services, a: &Activity, openid: &str, token: &str, status: StatusCode, ok: bool, msg: String) -> Response {
    match personal(s, a, openid, token, Some((ok, msg))).await {
        Ok(body) => (status, Html(page(&a.title, &body))).into_response(),
        Err(e) => internal(e),
    }
}

fn refusal_status(e: &ActivityError) -> StatusCode {
    match e {
        ActivityError::NotFound(_) => StatusCode::NOT_FOUND,
        ActivityError::Invalid(_) => StatusCode::BAD_REQUEST,
        ActivityError::NotAttended => StatusCode::FORBIDDEN,
        ActivityError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::CONFLICT,
    }
}

async fn signup_submit(State(s): State<Services>, headers: HeaderMap, Path(id): Path<String>, Form(f): Form<TokenForm>) -> Response {
    let a = match load(&s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let openid = match poster(&s, &headers, &f.token) {
        Ok(o) => o,
        Err(r) => return r,
    };
    match super::chat::signup(&s, a.id, &openid, "web").await {
        Ok((a, outcome)) => answer(&s, &a, &openid, &f.token, StatusCode::OK, true, signup_text(&a, outcome, Lang::Zh)).await,
        Err(e) => answer(&s, &a, &openid, &f.token, refusal_status(&e), false, e.reader_text(Lang::Zh)).await,
    }
}

async fn cancel_submit(State(s): State<Services>, headers: HeaderMap, Path(id): Path<String>, Form(f): Form<TokenForm>) -> Response {
    let a = match load(&s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let openid = match poster(&s, &headers, &f.token) {
        Ok(o) => o,
        Err(r) => return r,
    };
    match super::chat::cancel(&s, a.id, &openid).await {
        Ok(a) => answer(&s, &a, &openid, &f.token, StatusCode::OK, true, cancelled_text(&a, Lang::Zh)).await,
        Err(e) => answer(&s, &a, &openid, &f.token, refusal_status(&e), false, e.reader_text(Lang::Zh)).await,
    }
}

/// Checks a feedback form: a rating of 1 to 5 and a comment of at most [`COMMENT_MAX`] characters.
pub fn check_feedback(rating: &str, comment: &str) -> Result<(i64, String), ActivityError> {
    let rating = match rating.trim().parse::<i64>() {
        Ok(r) if (1..=5).contains(&r) => r,
        _ => return Err(ActivityError::Invalid("请选择 1 到 5 的评分。".into())),
    };
    let comment = comment.trim();
    if comment.chars().count() > COMMENT_MAX {
        return Err(ActivityError::Invalid(format!("意见请写在 {COMMENT_MAX} 字以内（现在 {} 字）。", comment.chars().count())));
    }
    Ok((rating, comment.to_owned()))
}

async fn feedback_submit(State(s): State<Services>, headers: HeaderMap, Path(id): Path<String>, Form(f): Form<FeedbackForm>) -> Response {
    let a = match load(&s, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let openid = match poster(&s, &headers, &f.token) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let result = match check_feedback(&f.rating, &f.comment) {
        Ok((rating, comment)) => s.db.give_activity_feedback(a.id, &openid, rating, &comment, s.clock.now()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => answer(&s, &a, &openid, &f.token, StatusCode::OK, true, "感谢您的反馈！".into()).await,
        Err(e) => answer(&s, &a, &openid, &f.token, refusal_status(&e), false, e.reader_text(Lang::Zh)).await,
    }
}
