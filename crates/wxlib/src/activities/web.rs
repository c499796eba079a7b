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
use super::{Activity, ActivityError, SignupOutcome, Status};
use crate::clock::{local_datetime, local_hm};
use crate::lang::{Lang, t};
use crate::services::Services;
use crate::web::error::WebError;
use crate::web::session::{CodeParams, Purpose, cookie_token, subtle_eq, with_cookie};
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

fn site_title(lang: Lang) -> &'static str {
    t(lang, "图书馆活动", "Library activities")
}

/// Plain text with line breaks, for HTML.
pub fn paragraphs(text: &str) -> String {
    escape(text).replace("\r\n", "\n").replace('\n', "<br>")
}

fn error_page(lang: Lang, status: StatusCode, msg: &str) -> WebError {
    WebError::page(status, site_title(lang), &format!("<div class=\"card no\" id=\"error\">{}</div>", escape(msg)))
}

/// A failure of ours: the apology in the reader's language, the cause in the log.
fn internal(lang: Lang) -> impl Fn(crate::db::DbError) -> WebError {
    move |e| error_page(lang, StatusCode::INTERNAL_SERVER_ERROR, crate::lang::sorry(lang)).because("activity page", e)
}

async fn load(s: &Services, id: &str) -> Result<Activity, WebError> {
    let missing = || error_page(s.lang, StatusCode::NOT_FOUND, t(s.lang, "没有这个活动。", "There is no such activity."));
    let Ok(id) = id.parse::<i64>() else { return Err(missing()) };
    s.db.activity(id).await.map_err(internal(s.lang))?.ok_or_else(missing)
}

/// The announcement: what, when, where, places, the description; the report after.
async fn summary_html(s: &Services, a: &Activity) -> Result<String, crate::db::DbError> {
    let (now, lang) = (s.clock.now(), s.lang);
    let status = a.status(now);
    let c = s.db.activity_counts(a.id).await?;
    let places = if status == Status::SignupOpen || status == Status::Upcoming {
        let left = (a.capacity - c.confirmed).max(0);
        if left == 0 {
            match lang {
                Lang::Zh => format!("<p id=\"places\">名额已满（共 {} 个），可报名候补，目前 {} 人候补。</p>", a.capacity, c.waiting),
                Lang::En => {
                    format!("<p id=\"places\">All {} places are taken; join the waiting list ({} waiting).</p>", a.capacity, c.waiting)
                }
            }
        } else {
            format!("<p id=\"places\">{} {left} / {}</p>", t(lang, "剩余名额", "Places left"), a.capacity)
        }
    } else {
        String::new()
    };
    let signup_window = match status {
        Status::Upcoming => format!(
            "<p class=\"muted\">{} {} – {}</p>",
            t(lang, "报名时间：", "Sign-up:"),
            local_datetime(a.signup_opens_at),
            local_datetime(a.signup_deadline)
        ),
        Status::SignupOpen => {
            format!("<p class=\"muted\">{} {}</p>", t(lang, "报名截止：", "Sign-up closes:"), local_datetime(a.signup_deadline))
        }
        _ => String::new(),
    };
    let report = match (&a.report_title, &a.report_body) {
        (Some(t), Some(b)) if !t.is_empty() => {
            format!("<div class=\"card\" id=\"report\"><h3>{}</h3><div>{}</div></div>", escape(t), paragraphs(b))
        }
        _ => String::new(),
    };
    Ok(format!(
        "<div class=\"card\"><h2 id=\"title\">{}</h2><p><span id=\"status\" class=\"status-{}\">{}</span></p><p>{}{}</p><p>{}{}</p>{places}{signup_window}</div>\
         <div class=\"card\" id=\"description\">{}</div>{report}",
        escape(&a.title),
        status.code(),
        status.label(lang),
        t(lang, "时间：", "When: "),
        escape(&a.when()),
        t(lang, "地点：", "Where: "),
        escape(&a.place),
        paragraphs(&a.description),
    ))
}

async fn list_page(State(s): State<Services>) -> Result<Response, WebError> {
    let (now, lang) = (s.clock.now(), s.lang);
    let coming = s.db.current_activities(now, 50).await.map_err(internal(lang))?;
    let reports = s.db.recent_reports(now, now - 90 * crate::clock::DAY_SECS, 10).await.map_err(internal(lang))?;
    let mut body = String::new();
    if coming.is_empty() {
        body.push_str(&format!("<div class=\"card\">{}</div>", t(lang, "近期暂无活动。", "Nothing coming up.")));
    }
    for a in &coming {
        body.push_str(&format!(
            "<div class=\"card activity\"><a href=\"/activities/{}\">{}</a><div class=\"muted\">{} · {} · {}</div></div>",
            a.id,
            escape(&a.title),
            escape(&a.when()),
            escape(&a.place),
            a.status(now).label(lang)
        ));
    }
    if !reports.is_empty() {
        body.push_str(&format!("<h3>{}</h3>", t(lang, "活动回顾", "Reports")));
        for a in &reports {
            body.push_str(&format!(
                "<div class=\"card\"><a href=\"/activities/{}\">{}</a><div class=\"muted\">{}</div></div>",
                a.id,
                escape(a.report_title.as_deref().unwrap_or(&a.title)),
                escape(&a.when())
            ));
        }
    }
    Ok(Html(page(site_title(lang), &body)).into_response())
}

async fn announcement_page(State(s): State<Services>, Path(id): Path<String>) -> Result<Response, WebError> {
    let a = load(&s, &id).await?;
    let lang = s.lang;
    let summary = summary_html(&s, &a).await.map_err(internal(lang))?;
    let action = match a.status(s.clock.now()) {
        Status::SignupOpen => {
            format!("<p><a class=\"button\" id=\"signup-link\" href=\"/h5/activities/{}\">{}</a></p>", a.id, t(lang, "我要报名", "Sign up"))
        }
        Status::Finished if a.has_report() => String::new(),
        _ => format!("<p><a href=\"/h5/activities/{}\">{}</a></p>", a.id, t(lang, "我的报名与签到", "My sign-up and check-in")),
    };
    Ok(Html(page(&a.title, &format!("{summary}{action}"))).into_response())
}

/// The personal page: the announcement, the reader's standing, and what they can do now.
async fn personal(
    s: &Services,
    a: &Activity,
    openid: &str,
    token: &str,
    flash: Option<(bool, String)>,
) -> Result<String, crate::db::DbError> {
    let (now, lang) = (s.clock.now(), s.lang);
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
        Some(SignupOutcome::AlreadyConfirmed) => {
            mine.push_str(&format!("<p id=\"standing\" class=\"ok\">{}</p>", t(lang, "您已报名。", "You have a place.")))
        }
        Some(SignupOutcome::AlreadyWaiting { position }) => mine.push_str(&match lang {
            Lang::Zh => format!("<p id=\"standing\">您在候补名单中，排第 {position} 位。</p>"),
            Lang::En => format!("<p id=\"standing\">You are number {position} on the waiting list.</p>"),
        }),
        _ => mine.push_str(&format!("<p id=\"standing\">{}</p>", t(lang, "您尚未报名。", "You have not signed up."))),
    }
    if let Some(at) = checked_in {
        mine.push_str(&match lang {
            Lang::Zh => format!("<p class=\"ok\" id=\"checked-in\">已于 {} 签到。</p>", local_hm(at)),
            Lang::En => format!("<p class=\"ok\" id=\"checked-in\">Checked in at {}.</p>", local_hm(at)),
        });
    }
    match (standing, status) {
        (None, Status::SignupOpen) => mine.push_str(&form("signup", "signup", t(lang, "报名", "Sign up"))),
        (Some(_), Status::Upcoming | Status::SignupOpen | Status::SignupClosed) => {
            mine.push_str(&form("cancel", "cancel", t(lang, "取消报名", "Cancel my sign-up")))
        }
        _ => {}
    }
    mine.push_str("</div>");
    body.push_str(&mine);
    if checked_in.is_some() {
        match s.db.reader_feedback(a.id, openid).await? {
            Some(rating) => body.push_str(&match lang {
                Lang::Zh => format!("<div class=\"card\" id=\"feedback-given\">您的评分：{rating} / 5。感谢反馈！</div>"),
                Lang::En => format!("<div class=\"card\" id=\"feedback-given\">Your rating: {rating} / 5. Thank you!</div>"),
            }),
            None => {
                let labels = [
                    ("5", t(lang, "非常满意", "excellent")),
                    ("4", t(lang, "满意", "good")),
                    ("3", t(lang, "一般", "fair")),
                    ("2", t(lang, "不满意", "poor")),
                    ("1", t(lang, "非常不满意", "very poor")),
                ];
                let options: String = labels.iter().map(|(v, l)| format!("<option value=\"{v}\">{v} {l}</option>")).collect();
                body.push_str(&format!(
                    "<form method=\"post\" action=\"/h5/activities/{}/feedback\" class=\"card\" id=\"feedback-form\"><h3>{}</h3>\
                     <input type=\"hidden\" name=\"token\" value=\"{}\"><p>{} <select name=\"rating\"><option value=\"\">{}</option>{options}</select></p>\
                     <p><textarea name=\"comment\" rows=\"4\" maxlength=\"{COMMENT_MAX}\" placeholder=\"{}\"></textarea></p>\
                     <button id=\"feedback\">{}</button></form>",
                    a.id,
                    t(lang, "活动反馈", "Feedback"),
                    escape(token),
                    t(lang, "评分", "Rating"),
                    t(lang, "请选择", "choose"),
                    t(lang, "意见和建议（选填，500 字以内）", "Comments (optional, up to 500 characters)"),
                    t(lang, "提交反馈", "Send feedback"),
                ));
            }
        }
    }
    Ok(body)
}

async fn reader_page(
    State(s): State<Services>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<CodeParams>,
) -> Result<Response, WebError> {
    let a = load(&s, &id).await?;
    let (openid, new_token) = s.web_reader(&headers, q.code.as_deref(), &format!("/h5/activities/{}", a.id)).await?;
    let token = new_token.clone().or_else(|| cookie_token(&headers)).unwrap_or_default();
    let body = personal(&s, &a, &openid, &token, None).await.map_err(internal(s.lang))?;
    Ok(with_cookie(Html(page(&a.title, &body)).into_response(), new_token))
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
fn poster(s: &Services, headers: &HeaderMap, token: &str) -> Option<String> {
    let cookie = cookie_token(headers).unwrap_or_default();
    s.sessions.verify(Purpose::ReaderSession, token, s.clock.now()).filter(|_| subtle_eq(cookie.as_bytes(), token.as_bytes()))
}

fn expired(s: &Services) -> WebError {
    error_page(
        s.lang,
        StatusCode::FORBIDDEN,
        t(s.lang, "页面已过期，请从公众号重新打开。", "This page has expired; open it again from the account."),
    )
}

/// Renders the personal page after an action, with its outcome on top.
async fn answer(
    s: &Services,
    a: &Activity,
    openid: &str,
    token: &str,
    status: StatusCode,
    ok: bool,
    msg: String,
) -> Result<Response, WebError> {
    let body = personal(s, a, openid, token, Some((ok, msg))).await.map_err(internal(s.lang))?;
    Ok((status, Html(page(&a.title, &body))).into_response())
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

async fn signup_submit(
    State(s): State<Services>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TokenForm>,
) -> Result<Response, WebError> {
    let a = load(&s, &id).await?;
    let Some(openid) = poster(&s, &headers, &f.token) else { return Err(expired(&s)) };
    match super::chat::signup(&s, a.id, &openid, "web").await {
        Ok((a, outcome)) => answer(&s, &a, &openid, &f.token, StatusCode::OK, true, signup_text(&a, outcome, s.lang)).await,
        Err(e) => answer(&s, &a, &openid, &f.token, refusal_status(&e), false, e.reader_text(s.lang)).await,
    }
}

async fn cancel_submit(
    State(s): State<Services>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TokenForm>,
) -> Result<Response, WebError> {
    let a = load(&s, &id).await?;
    let Some(openid) = poster(&s, &headers, &f.token) else { return Err(expired(&s)) };
    match super::chat::cancel(&s, a.id, &openid).await {
        Ok(a) => answer(&s, &a, &openid, &f.token, StatusCode::OK, true, cancelled_text(&a, s.lang)).await,
        Err(e) => answer(&s, &a, &openid, &f.token, refusal_status(&e), false, e.reader_text(s.lang)).await,
    }
}

/// Checks a feedback form: a rating of 1 to 5 and a comment of at most [`COMMENT_MAX`] characters.
pub fn check_feedback(rating: &str, comment: &str, lang: Lang) -> Result<(i64, String), ActivityError> {
    let rating = match rating.trim().parse::<i64>() {
        Ok(r) if (1..=5).contains(&r) => r,
        _ => return Err(ActivityError::Invalid(t(lang, "请选择 1 到 5 的评分。", "Choose a rating from 1 to 5.").into())),
    };
    let comment = comment.trim();
    let n = comment.chars().count();
    if n > COMMENT_MAX {
        return Err(ActivityError::Invalid(match lang {
            Lang::Zh => format!("意见请写在 {COMMENT_MAX} 字以内（现在 {n} 字）。"),
            Lang::En => format!("Comments are at most {COMMENT_MAX} characters (now {n})."),
        }));
    }
    Ok((rating, comment.to_owned()))
}

async fn feedback_submit(
    State(s): State<Services>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<FeedbackForm>,
) -> Result<Response, WebError> {
    let a = load(&s, &id).await?;
    let Some(openid) = poster(&s, &headers, &f.token) else { return Err(expired(&s)) };
    let result = match check_feedback(&f.rating, &f.comment, s.lang) {
        Ok((rating, comment)) => s.db.give_activity_feedback(a.id, &openid, rating, &comment, s.clock.now()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            answer(&s, &a, &openid, &f.token, StatusCode::OK, true, t(s.lang, "感谢您的反馈！", "Thank you for your feedback!").into())
                .await
        }
        Err(e) => answer(&s, &a, &openid, &f.token, refusal_status(&e), false, e.reader_text(s.lang)).await,
    }
}
