//! The librarians' activity pages, nested at `/console/activities` behind the console's session
//! and CSRF guard: the list with places, waiting lists and check-ins; create and edit with every
//! field checked (a wrong form changes nothing and says what is wrong); one activity's sign-ups,
//! waiting list, check-ins and feedback summary; its check-in QR code to print; the report
//! article after. Every change is audited.

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::ActivityDraft;
use super::{Activity, DraftInput, Status, check_draft, ensure_checkin_code, qr_svg, reminders, showqrcode_link};
use crate::clock::{datetime_input_value, local_datetime};
use crate::console::csv::Sheet;
use crate::console::layout::{csrf_field, flash_error, flash_ok, page};
use crate::console::{ConsoleError, Librarian, audit};
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;
use crate::web::escape;

/// Longest report body, in characters.
pub const REPORT_MAX: usize = 20_000;

pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new()
        .route("/", get(list).post(create))
        .route("/new", get(new_form))
        .route("/{id}", get(detail).post(update))
        .route("/{id}/edit", get(edit_form))
        .route("/{id}/report", post(save_report))
        .route("/{id}/qr", post(make_qr))
        .route("/{id}/qr.svg", get(qr_image))
        .route("/{id}/signups.csv", get(signups_csv))
        .route("/{id}/print", get(print_sheet))
}

#[derive(Deserialize, Default)]
pub struct Flash {
    ok: Option<String>,
}

async fn load(s: &Services, id: &str) -> Result<Activity, ConsoleError> {
    let id: i64 = id.parse().map_err(|_| ConsoleError::NotFound)?;
    s.db.activity(id).await?.ok_or(ConsoleError::NotFound)
}

fn status_cell(a: &Activity, now: i64, lang: Lang) -> String {
    let st = a.status(now);
    format!("<span class=\"status-{}\">{}</span>", st.code(), st.label(lang))
}

/// `GET /console/activities`
async fn list(State(s): State<Services>, lib: Librarian, Query(f): Query<Flash>) -> Result<Response, ConsoleError> {
    let lang = lib.lang;
    let now = s.clock.now();
    let mut rows = String::new();
    for a in s.db.all_activities().await? {
        let c = s.db.activity_counts(a.id).await?;
        rows.push_str(&format!(
            "<tr id=\"activity-{id}\"><td>{id}</td><td><a href=\"/console/activities/{id}\">{title}</a></td><td>{when}</td><td>{place}</td><td>{status}</td>\
             <td>{confirmed} / {cap}</td><td>{waiting}</td><td>{checked}</td></tr>",
            id = a.id,
            title = escape(&a.title),
            when = escape(&a.when()),
            place = escape(&a.place),
            status = status_cell(&a, now, lang),
            confirmed = c.confirmed,
            cap = a.capacity,
            waiting = c.waiting,
            checked = c.checked_in,
        ));
    }
    let flash = match f.ok.as_deref() {
        Some("created") => flash_ok(t(lang, "活动已创建。", "Activity created.")),
        _ => String::new(),
    };
    let body = format!(
        "{flash}<p><a href=\"/console/activities/new\" id=\"new-activity\">{new}</a> · <a href=\"/activities\" target=\"_blank\">{public}</a></p>\
         <table id=\"activities\"><tr><th>#</th><th>{h1}</th><th>{h2}</th><th>{h3}</th><th>{h4}</th><th>{h5}</th><th>{h6}</th><th>{h7}</th></tr>{rows}</table>",
        new = t(lang, "＋ 新建活动", "+ New activity"),
        public = t(lang, "读者看到的活动页", "The readers' page"),
        h1 = t(lang, "活动", "Activity"),
        h2 = t(lang, "时间", "When"),
        h3 = t(lang, "地点", "Place"),
        h4 = t(lang, "状态", "Status"),
        h5 = t(lang, "已报名 / 名额", "Signed up / places"),
        h6 = t(lang, "候补", "Waiting"),
        h7 = t(lang, "签到", "Checked in"),
    );
    Ok(page(&lib, t(lang, "活动", "Activities"), &body).into_response())
}

/// The create/edit form, filled with `input`.
fn form_html(lib: &Librarian, action: &str, input: &DraftInput, errors: &[String]) -> String {
    let lang = lib.lang;
    let errors: String = errors.iter().map(|e| flash_error(e)).collect();
    let field = |name: &str, label: &str, kind: &str, value: &str| {
        format!(
            "<p><label>{label}<br><input type=\"{kind}\" name=\"{name}\" id=\"f-{name}\" value=\"{}\" style=\"min-width:320px\"></label></p>",
            escape(value)
        )
    };
    format!(
        "{errors}<form method=\"post\" action=\"{action}\" class=\"card\" id=\"activity-form\">{csrf}{title}{place}\
         <p><label>{dl}<br><textarea name=\"description\" id=\"f-description\" rows=\"6\">{desc}</textarea></label></p>\
         {starts}{ends}{opens}{deadline}{cap}<p class=\"muted\">{hint}</p><button type=\"submit\" id=\"save-activity\">{save}</button></form>",
        csrf = csrf_field(lib),
        title = field("title", t(lang, "活动名称", "Title"), "text", &input.title),
        place = field("place", t(lang, "地点", "Place"), "text", &input.place),
        dl = t(lang, "活动介绍（公告）", "Description (announcement)"),
        desc = escape(&input.description),
        starts = field("starts_at", t(lang, "开始时间", "Starts"), "datetime-local", &input.starts_at),
        ends = field("ends_at", t(lang, "结束时间", "Ends"), "datetime-local", &input.ends_at),
        opens = field(
            "signup_opens_at",
            t(lang, "报名开始（留空为立即）", "Sign-up opens (empty: now)"),
            "datetime-local",
            &input.signup_opens_at
        ),
        deadline = field("signup_deadline", t(lang, "报名截止", "Sign-up deadline"), "datetime-local", &input.signup_deadline),
        cap = field("capacity", t(lang, "名额", "Places"), "number", &input.capacity),
        hint = t(
            lang,
            "时间均为北京时间。名额满后读者进入候补，有人取消时按顺序递补并通知读者。",
            "Times are China Standard Time. When the places are taken readers join a waiting list, promoted in order when someone cancels (and told)."
        ),
        save = t(lang, "保存", "Save"),
    )
}

fn input_of(a: &Activity) -> DraftInput {
    DraftInput {
        title: a.title.clone(),
        place: a.place.clone(),
        description: a.description.clone(),
        starts_at: datetime_input_value(a.starts_at),
        ends_at: datetime_input_value(a.ends_at),
        signup_opens_at: datetime_input_value(a.signup_opens_at),
        signup_deadline: datetime_input_value(a.signup_deadline),
        capacity: a.capacity.to_string(),
    }
}

/// `GET /console/activities/new`
async fn new_form(lib: Librarian) -> Response {
    let body = form_html(&lib, "/console/activities", &DraftInput::default(), &[]);
    page(&lib, t(lib.lang, "新建活动", "New activity"), &body).into_response()
}

/// A short record of the fields, for the audit log.
fn describe(d: &ActivityDraft) -> String {
    format!(
        "{} | {} | {} – {} | places {} | sign-up {} – {}",
        d.title,
        d.place,
        local_datetime(d.starts_at),
        local_datetime(d.ends_at),
        d.capacity,
        local_datetime(d.signup_opens_at),
        local_datetime(d.signup_deadline)
    )
}

/// `POST /console/activities`: creates it and its check-in code.
async fn create(State(s): State<Services>, lib: Librarian, Form(input): Form<DraftInput>) -> Result<Response, ConsoleError> {
    let now = s.clock.now();
    let draft = match check_draft(&input, now, lib.lang) {
        Ok(d) => d,
        Err(errors) => {
            let body = form_html(&lib, "/console/activities", &input, &errors);
            return Ok((StatusCode::BAD_REQUEST, page(&lib, t(lib.lang, "新建活动", "New activity"), &body)).into_response());
        }
    };
    let id = s.db.create_activity(&draft, now).await?;
    audit(&s.db, &lib, "activity.create", &format!("#{id} {}", describe(&draft))).await?;
    // The code can be made later from the activity's page if WeChat does not answer now.
    let qr = match s.db.activity(id).await? {
        Some(a) => match ensure_checkin_code(&s, &a).await {
            Ok(_) => "created",
            Err(e) => {
                tracing::warn!(error = %e, activity = id, "could not create the check-in code");
                "created-noqr"
            }
        },
        None => "created-noqr",
    };
    Ok(Redirect::to(&format!("/console/activities/{id}?ok={qr}")).into_response())
}

/// `GET /console/activities/{id}/edit`
async fn edit_form(State(s): State<Services>, lib: Librarian, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let a = load(&s, &id).await?;
    let body = form_html(&lib, &format!("/console/activities/{}", a.id), &input_of(&a), &[]);
    Ok(page(&lib, &format!("{} · {}", t(lib.lang, "编辑活动", "Edit activity"), a.title), &body).into_response())
}

/// `POST /console/activities/{id}`: saves changes; a larger capacity promotes waiting readers,
/// who are told.
async fn update(
    State(s): State<Services>,
    lib: Librarian,
    Path(id): Path<String>,
    Form(input): Form<DraftInput>,
) -> Result<Response, ConsoleError> {
    let a = load(&s, &id).await?;
    let now = s.clock.now();
    let draft = match check_draft(&input, a.created_at.min(now), lib.lang) {
        Ok(d) => d,
        Err(errors) => {
            let body = form_html(&lib, &format!("/console/activities/{}", a.id), &input, &errors);
            return Ok((
                StatusCode::BAD_REQUEST,
                page(&lib, &format!("{} · {}", t(lib.lang, "编辑活动", "Edit activity"), a.title), &body),
            )
                .into_response());
        }
    };
    let promoted = match s.db.update_activity(a.id, &draft, now, s.config.activities.remind_hour).await {
        Ok(p) => p,
        Err(super::ActivityError::Db(e)) => return Err(e.into()),
        Err(_) => return Err(ConsoleError::NotFound),
    };
    audit(
        &s.db,
        &lib,
        "activity.update",
        &format!(
            "#{} {}{}",
            a.id,
            describe(&draft),
            if promoted.is_empty() { String::new() } else { format!(" | promoted {}", promoted.join(",")) }
        ),
    )
    .await?;
    if let Some(updated) = s.db.activity(a.id).await? {
        for openid in promoted {
            let (s2, a2) = (s.clone(), updated.clone());
            tokio::spawn(async move { reminders::notify_promoted(&s2, &a2, &openid).await });
        }
    }
    Ok(Redirect::to(&format!("/console/activities/{}?ok=saved", a.id)).into_response())
}

/// `GET /console/activities/{id}`: everything about one activity.
async fn detail(
    State(s): State<Services>,
    lib: Librarian,
    Path(id): Path<String>,
    Query(f): Query<Flash>,
) -> Result<Response, ConsoleError> {
    let a = load(&s, &id).await?;
    let flash = match f.ok.as_deref() {
        Some("created") => flash_ok(t(lib.lang, "活动已创建，签到二维码已生成。", "Activity created, with its check-in QR code.")),
        Some("created-noqr") => flash_error(t(
            lib.lang,
            "活动已创建，但签到二维码生成失败（微信接口无响应），请稍后点击“生成签到二维码”。",
            "Activity created, but WeChat did not make the check-in QR code; press \"Make the check-in code\" later.",
        )),
        Some("saved") => flash_ok(t(lib.lang, "已保存。", "Saved.")),
        Some("report") => flash_ok(t(lib.lang, "活动报道已发布。", "Report published.")),
        Some("qr") => flash_ok(t(lib.lang, "签到二维码已生成。", "Check-in code made.")),
        _ => String::new(),
    };
    Ok(detail_page(&s, &lib, &a, StatusCode::OK, &flash, None).await?.into_response())
}

/// A reader as librarians see them: the openid, and the campus card when bound.
fn who(openid: &str, card: Option<&str>) -> String {
    match card {
        Some(c) => format!("{} <span class=\"card-no\">({})</span>", escape(openid), escape(c)),
        None => escape(openid),
    }
}

async fn detail_page(
    s: &Services,
    lib: &Librarian,
    a: &Activity,
    status: StatusCode,
    flash: &str,
    report_input: Option<(&str, &str)>,
) -> Result<(StatusCode, Html<String>), ConsoleError> {
    let lang = lib.lang;
    let now = s.clock.now();
    let c = s.db.activity_counts(a.id).await?;
    let info = format!(
        "<div class=\"card\" id=\"info\"><p>{status} · <a href=\"/console/activities/{id}/edit\" id=\"edit-activity\">{edit}</a> · <a href=\"/activities/{id}\" target=\"_blank\" id=\"public-page\">{public}</a></p>\
         <p>{l_when}：{when}<br>{l_place}：{place}<br>{l_signup}：{opens} – {deadline}<br>{l_places}：<span id=\"counts\">{confirmed} / {cap}</span> · {l_wait} {waiting} · {l_in} {checked}</p>\
         <div class=\"muted\">{desc}</div></div>",
        status = status_cell(a, now, lang),
        id = a.id,
        edit = t(lang, "编辑", "Edit"),
        public = t(lang, "公告页", "Announcement page"),
        l_when = t(lang, "时间", "When"),
        when = escape(&a.when()),
        l_place = t(lang, "地点", "Place"),
        place = escape(&a.place),
        l_signup = t(lang, "报名", "Sign-up"),
        opens = local_datetime(a.signup_opens_at),
        deadline = local_datetime(a.signup_deadline),
        l_places = t(lang, "已报名 / 名额", "Signed up / places"),
        confirmed = c.confirmed,
        cap = a.capacity,
        l_wait = t(lang, "候补", "waiting"),
        waiting = c.waiting,
        l_in = t(lang, "签到", "checked in"),
        checked = c.checked_in,
        desc = super::web::paragraphs(&a.description),
    );
    let qr = match (&a.qr_ticket, &a.qr_url) {
        (Some(ticket), Some(url)) => {
            format!(
                "<div class=\"card\" id=\"qr\"><h2>{h}</h2><img src=\"/console/activities/{id}/qr.svg\" alt=\"QR\" width=\"200\" height=\"200\" id=\"qr-image\">\
             <p class=\"muted\">{hint}<br>{scene}: <code>act:{id}</code> · <a href=\"{link}\" target=\"_blank\" id=\"showqrcode\">{wx}</a> · <a href=\"/console/activities/{id}/qr.svg\" download=\"activity-{id}-qr.svg\">{dl}</a> · <a href=\"/console/activities/{id}/print\" target=\"_blank\" id=\"print\">{print}</a></p></div>",
                h = t(lang, "签到二维码", "Check-in QR code"),
                id = a.id,
                hint = t(
                    lang,
                    "打印后放在活动现场。读者用微信扫码即签到（未关注的读者扫码关注后自动签到）。",
                    "Print it for the venue. Readers scan it with WeChat to check in (non-followers follow and are checked in)."
                ),
                scene = t(lang, "场景值", "Scene"),
                link = escape(&showqrcode_link(s, ticket)),
                wx = t(lang, "微信二维码图片", "WeChat's image"),
                dl = t(lang, "下载 SVG", "Download SVG"),
                print = t(lang, "打印签到海报", "Print the check-in poster"),
            ) + &format!("<!-- {} -->", escape(url))
        }
        _ => format!(
            "<form method=\"post\" action=\"/console/activities/{}/qr\" class=\"card\">{}<p>{}</p><button type=\"submit\" id=\"make-qr\">{}</button></form>",
            a.id,
            csrf_field(lib),
            t(lang, "还没有签到二维码。", "No check-in code yet."),
            t(lang, "生成签到二维码", "Make the check-in code")
        ),
    };
    // Sign-ups: places first, then the waiting list in order, then cancellations.
    let mut position = 0;
    let rows: String = s
        .db
        .activity_signups(a.id)
        .await?
        .iter()
        .map(|r| {
            let state = match r.status.as_str() {
                "confirmed" => t(lang, "已报名", "has a place").to_owned(),
                "waiting" => {
                    position += 1;
                    format!("{} {position}", t(lang, "候补", "waiting"))
                }
                _ => t(lang, "已取消", "cancelled").to_owned(),
            };
            format!(
                "<tr class=\"signup {cls}\"><td>{openid}</td><td>{state}</td><td>{via}</td><td>{at}</td><td>{reminded}</td><td>{checked}</td></tr>",
                cls = escape(&r.status),
                openid = who(&r.openid, r.card.as_deref()),
                via = if r.via == "web" { t(lang, "网页", "web") } else { t(lang, "聊天", "chat") },
                at = local_datetime(r.queued_at),
                reminded = r.reminded_at.map(local_datetime).unwrap_or_default(),
                checked = r.checked_in_at.map(local_datetime).unwrap_or_default(),
            )
        })
        .collect();
    let signups = format!(
        "<div class=\"card\"><h2>{h} <a href=\"/console/activities/{id}/signups.csv\" id=\"export\" class=\"muted\">{export}</a></h2><table id=\"signups\"><tr><th>{c0}</th><th>{c1}</th><th>{c2}</th><th>{c3}</th><th>{c4}</th><th>{c5}</th></tr>{rows}</table></div>",
        h = t(lang, "报名与候补", "Sign-ups and waiting list"),
        id = a.id,
        export = t(lang, "导出签到表（CSV）", "Export the attendance sheet (CSV)"),
        c0 = t(lang, "读者（openid，一卡通）", "Reader (openid, card)"),
        c1 = t(lang, "状态", "State"),
        c2 = t(lang, "来源", "Via"),
        c3 = t(lang, "报名时间", "Signed up"),
        c4 = t(lang, "已提醒", "Reminded"),
        c5 = t(lang, "签到", "Checked in"),
    );
    let checkin_rows: String =
        s.db.activity_checkins(a.id)
            .await?
            .iter()
            .map(|r| {
                format!(
                    "<tr class=\"checkin\"><td>{}</td><td>{}</td><td>{}</td></tr>",
                    who(&r.openid, r.card.as_deref()),
                    local_datetime(r.at),
                    if r.signed_up == 1 { t(lang, "已报名", "signed up") } else { t(lang, "现场参加", "walk-in") }
                )
            })
            .collect();
    let checkins = format!(
        "<div class=\"card\"><h2>{h}</h2><table id=\"checkins\"><tr><th>{c0}</th><th>{c1}</th><th>{c2}</th></tr>{checkin_rows}</table></div>",
        h = t(lang, "签到", "Check-ins"),
        c0 = t(lang, "读者（openid，一卡通）", "Reader (openid, card)"),
        c1 = t(lang, "时间", "At"),
        c2 = t(lang, "类型", "Kind"),
    );
    let feedback = s.db.activity_feedback(a.id).await?;
    let fb_summary = if feedback.is_empty() {
        format!("<p>{}</p>", t(lang, "还没有反馈。", "No feedback yet."))
    } else {
        let avg = feedback.iter().map(|f| f.rating).sum::<i64>() as f64 / feedback.len() as f64;
        let dist: String = (1..=5).rev().map(|r| format!("{r}★ {} ", feedback.iter().filter(|f| f.rating == r).count())).collect();
        let comments: String = feedback
            .iter()
            .filter(|f| !f.comment.is_empty())
            .map(|f| format!("<li>{}★ {}<span class=\"muted\"> · {}</span></li>", f.rating, escape(&f.comment), local_datetime(f.at)))
            .collect();
        format!(
            "<p id=\"feedback-summary\">{n} {l_n} · {l_avg} <b>{avg:.1}</b> / 5 · {dist}</p><ul id=\"comments\">{comments}</ul>",
            n = feedback.len(),
            l_n = t(lang, "份反馈", "responses"),
            l_avg = t(lang, "平均评分", "average"),
        )
    };
    let fb = format!("<div class=\"card\" id=\"feedback\"><h2>{}</h2>{fb_summary}</div>", t(lang, "反馈", "Feedback"));
    let (rt, rb) = report_input.unwrap_or((a.report_title.as_deref().unwrap_or_default(), a.report_body.as_deref().unwrap_or_default()));
    let report = format!(
        "<form method=\"post\" action=\"/console/activities/{id}/report\" class=\"card\" id=\"report-form\">{csrf}<h2>{h}</h2><p class=\"muted\">{hint}</p>\
         <p><input type=\"text\" name=\"title\" id=\"f-report-title\" value=\"{rt}\" placeholder=\"{pt}\" style=\"width:100%\"></p>\
         <p><textarea name=\"body\" id=\"f-report-body\" rows=\"8\">{rb}</textarea></p><button type=\"submit\" id=\"save-report\">{save}</button></form>",
        id = a.id,
        csrf = csrf_field(lib),
        h = t(lang, "活动报道", "Report"),
        hint = t(
            lang,
            "活动结束后发布：显示在公告页，并在聊天的“活动通知”中作为活动回顾提供给读者。",
            "Published after the event: shown on the announcement page and offered in chat under the activity notice."
        ),
        rt = escape(rt),
        pt = t(lang, "标题", "Title"),
        rb = escape(rb),
        save = t(lang, "发布报道", "Publish the report"),
    );
    let body = format!("{flash}{info}{qr}{signups}{checkins}{fb}{report}");
    Ok((status, page(lib, &a.title, &body)))
}

#[derive(Deserialize, Default)]
pub struct ReportForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

/// `POST /console/activities/{id}/report`
async fn save_report(
    State(s): State<Services>,
    lib: Librarian,
    Path(id): Path<String>,
    Form(f): Form<ReportForm>,
) -> Result<Response, ConsoleError> {
    let a = load(&s, &id).await?;
    let lang = lib.lang;
    let (title, body) = (f.title.trim(), f.body.trim());
    let problem = if title.is_empty() || body.is_empty() {
        Some(t(lang, "报道的标题和正文都要填写。", "The report needs a title and a body.").to_owned())
    } else if title.chars().count() > super::TITLE_MAX {
        Some(format!("{} {}", t(lang, "标题过长，最多字数：", "The title is too long; at most characters:"), super::TITLE_MAX))
    } else if body.chars().count() > REPORT_MAX {
        Some(format!("{} {REPORT_MAX}", t(lang, "正文过长，最多字数：", "The body is too long; at most characters:")))
    } else if a.status(s.clock.now()) != Status::Finished && a.status(s.clock.now()) != Status::Ongoing {
        Some(t(lang, "活动开始后才能发布报道。", "A report can be published once the activity has started.").to_owned())
    } else {
        None
    };
    if let Some(p) = problem {
        return Ok(detail_page(&s, &lib, &a, StatusCode::BAD_REQUEST, &flash_error(&p), Some((&f.title, &f.body))).await?.into_response());
    }
    s.db.set_activity_report(a.id, title, body, s.clock.now()).await?;
    audit(&s.db, &lib, "activity.report", &format!("#{} {title}", a.id)).await?;
    Ok(Redirect::to(&format!("/console/activities/{}?ok=report", a.id)).into_response())
}

/// `POST /console/activities/{id}/qr`: makes the check-in code (when WeChat failed at creation).
async fn make_qr(State(s): State<Services>, lib: Librarian, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let a = load(&s, &id).await?;
    let (ticket, _) = ensure_checkin_code(&s, &a).await?;
    audit(&s.db, &lib, "activity.qr", &format!("#{} ticket {}", a.id, ticket.chars().take(12).collect::<String>())).await?;
    Ok(Redirect::to(&format!("/console/activities/{}?ok=qr", a.id)).into_response())
}

/// `GET /console/activities/{id}/qr.svg`: the code drawn here, for printing.
async fn qr_image(State(s): State<Services>, _lib: Librarian, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let a = load(&s, &id).await?;
    let svg = a.qr_url.as_deref().and_then(qr_svg).ok_or(ConsoleError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// `GET /console/activities/{id}/signups.csv`: the attendance sheet — everyone who signed up or
/// came, with card, state, times (China Standard Time). Exporting readers' data is audited.
async fn signups_csv(State(s): State<Services>, lib: Librarian, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let a = load(&s, &id).await?;
    // A BOM so that spreadsheet programs read the UTF-8 (Chinese) correctly.
    let mut w = Sheet::with_bom();
    w.row(["openid", "card", "state", "signed_up_at", "checked_in_at", "via"])?;
    let signups = s.db.activity_signups(a.id).await?;
    for r in &signups {
        let checked = r.checked_in_at.map(local_datetime).unwrap_or_default();
        w.row([&r.openid, r.card.as_deref().unwrap_or_default(), &r.status, &local_datetime(r.queued_at), &checked, &r.via])?;
    }
    for c in s.db.activity_checkins(a.id).await?.iter().filter(|c| !signups.iter().any(|r| r.openid == c.openid)) {
        w.row([&c.openid, c.card.as_deref().unwrap_or_default(), "walk-in", "", &local_datetime(c.at), &c.via])?;
    }
    audit(&s.db, &lib, "activity.export", &format!("#{} {} rows", a.id, w.rows().saturating_sub(1))).await?;
    w.into_response(Some(&format!("activity-{}-attendance.csv", a.id)))
}

/// `GET /console/activities/{id}/print`: a page to print and put up at the venue — the title,
/// time and place, and the check-in code large.
async fn print_sheet(State(s): State<Services>, _lib: Librarian, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let a = load(&s, &id).await?;
    let svg = a.qr_url.as_deref().and_then(qr_svg).ok_or(ConsoleError::NotFound)?;
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{title}</title><style>\
         body{{font-family:'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;text-align:center;margin:40px}}\
         h1{{font-size:34px;margin:0 0 12px}}p{{font-size:20px;margin:6px}}.qr svg{{width:360px;height:360px}}.hint{{font-size:26px;margin-top:18px}}\
         @media print{{body{{margin:10mm}}}}</style></head><body><h1>{title}</h1><p>{when}</p><p>{place}</p>\
         <div class=\"qr\" id=\"poster-qr\">{svg}</div><p class=\"hint\">微信扫码签到 · Scan with WeChat to check in</p></body></html>",
        title = escape(&a.title),
        when = escape(&a.when()),
        place = escape(&a.place),
        svg = svg.split_once("?>").map(|(_, rest)| rest).unwrap_or(&svg),
    );
    Ok(Html(html).into_response())
}
