//! Console pages for opening hours (`/console/hours`): places and their weekly schedule, dated
//! exceptions, and announcing a change to followers. Every form is checked (time ranges, overlaps,
//! dates, overlapping exceptions) and a wrong one comes back with the problem and nothing saved.
//!
//! Announcing uses customer-service messages through the outbox, to the followers whose 48-hour
//! window is open: a change of hours is short-lived news, the mass-send quota (4 a month for a
//! service account) is kept for the library's news messages, and readers who were not in touch
//! recently still get the right answer when they ask.

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::hours::{self, HoursError, Interval, describe_intervals, format_intervals, parse_day, parse_intervals, weekday_name};
use crate::clock::local_datetime;
use crate::clock::{day_of, day_string};
use crate::console::layout::{csrf_field, flash_error, flash_ok, page};
use crate::console::{ConsoleError, Librarian, audit};
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;
use crate::web::escape;

pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new()
        .route("/", get(show))
        .route("/places", post(add_place))
        .route("/places/{id}", post(save_week))
        .route("/places/{id}/delete", post(delete_place))
        .route("/exceptions", post(add_exception))
        .route("/exceptions/{id}/delete", post(delete_exception))
        .route("/exceptions/{id}/announce", post(announce))
}

#[derive(Deserialize, Default)]
pub struct Flash {
    ok: Option<String>,
    n: Option<i64>,
    m: Option<i64>,
}

async fn render(
    s: &Services,
    lib: &Librarian,
    status: StatusCode,
    message: &str,
    form: &HashMap<String, String>,
) -> Result<Response, ConsoleError> {
    let lang = lib.lang;
    let today = day_of(s.clock.now());
    let places = s.db.places().await?;
    let field = |k: &str| escape(form.get(k).map(String::as_str).unwrap_or_default());
    let mut body = String::from(message);
    body.push_str(&format!(
        "<p class=\"muted\">{}</p>",
        t(
            lang,
            "时间段写成 08:00-22:00，多段用逗号分隔（如 08:00-12:00,14:00-22:00）；留空或写“闭馆”表示闭馆。",
            "Write hours as 08:00-22:00, several separated by commas (08:00-12:00,14:00-22:00); empty or \"closed\" means closed."
        )
    ));
    for p in &places {
        let week = s.db.weekly_hours(p.id).await?;
        let inputs: String = (0..7)
            .map(|i| {
                let key = format!("d{}", i + 1);
                let value = form.get(&format!("{}:{key}", p.id)).cloned().unwrap_or_else(|| format_intervals(&week[i]));
                format!(
                    "<tr><td>{}</td><td><input type=\"text\" name=\"{key}\" value=\"{}\"></td></tr>",
                    weekday_name(i as i64 + 1, lang),
                    escape(&value)
                )
            })
            .collect();
        body.push_str(&format!(
            "<div class=\"card\" id=\"place-{id}\"><h2>{name}</h2><form method=\"post\" action=\"/console/hours/places/{id}\">{csrf}<table>{inputs}</table><p><button type=\"submit\">{save}</button></p></form>\
             <form method=\"post\" action=\"/console/hours/places/{id}/delete\" class=\"inline\">{csrf}<button type=\"submit\" class=\"danger\">{del}</button></form></div>",
            id = p.id,
            name = escape(&format!("{} {}", p.name, if p.name_en.is_empty() { String::new() } else { format!("/ {}", p.name_en) })),
            csrf = csrf_field(lib),
            save = t(lang, "保存每周开放时间", "Save the weekly schedule"),
            del = t(lang, "删除此地点", "Delete this place"),
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/console/hours/places\" class=\"card row\" id=\"add-place\">{csrf}<b>{title}</b>\
         <label>{n} <input type=\"text\" name=\"name\" value=\"{v_name}\"></label><label>{ne} <input type=\"text\" name=\"name_en\" value=\"{v_name_en}\"></label>\
         <label>{h} <input type=\"text\" name=\"hours\" value=\"{v_hours}\" placeholder=\"08:00-22:00\"></label><button type=\"submit\">{add}</button></form>",
        csrf = csrf_field(lib),
        title = t(lang, "添加地点", "Add a place"),
        n = t(lang, "名称", "Name"),
        ne = t(lang, "英文名", "English name"),
        h = t(lang, "每天开放", "Daily hours"),
        add = t(lang, "添加", "Add"),
        v_name = field("name"),
        v_name_en = field("name_en"),
        v_hours = field("hours"),
    ));

    // Exceptions from today on.
    let exceptions = s.db.hours_exceptions(&day_string(today)).await?;
    let rows: String = exceptions
        .iter()
        .map(|e| {
            let place = places.iter().find(|p| p.id == e.place_id).map(|p| p.name.clone()).unwrap_or_default();
            let iv = describe_intervals(&parse_intervals(&e.intervals).unwrap_or_default(), lang);
            let announced = match e.announced_at {
                Some(at) => format!("<span class=\"ok\">{} {}</span>", t(lang, "已通知", "announced"), local_datetime(at)),
                None => format!(
                    "<form method=\"post\" action=\"/console/hours/exceptions/{}/announce\" class=\"inline\">{}<button type=\"submit\" class=\"announce\">{}</button></form>",
                    e.id,
                    csrf_field(lib),
                    t(lang, "通知读者", "Announce")
                ),
            };
            format!(
                "<tr id=\"exception-{id}\"><td>{place}</td><td>{first}{to}</td><td>{iv}</td><td>{reason}</td><td>{announced} \
                 <form method=\"post\" action=\"/console/hours/exceptions/{id}/delete\" class=\"inline\">{csrf}<button type=\"submit\" class=\"danger\">{del}</button></form></td></tr>",
                id = e.id,
                place = escape(&place),
                first = escape(&e.first_day),
                to = if e.last_day != e.first_day { format!(" – {}", escape(&e.last_day)) } else { String::new() },
                iv = escape(&iv),
                reason = escape(&e.reason),
                csrf = csrf_field(lib),
                del = t(lang, "删除", "Delete"),
            )
        })
        .collect();
    let options: String = places
        .iter()
        .map(|p| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                p.id,
                if form.get("place").map(String::as_str) == Some(p.id.to_string().as_str()) { " selected" } else { "" },
                escape(&p.name)
            )
        })
        .collect();
    body.push_str(&format!(
        "<div class=\"card\"><h2>{title}</h2><table id=\"exceptions\"><tr><th>{p}</th><th>{d}</th><th>{h}</th><th>{r}</th><th></th></tr>{rows}</table></div>\
         <form method=\"post\" action=\"/console/hours/exceptions\" class=\"card\" id=\"add-exception\">{csrf}<b>{add_title}</b><div class=\"row\">\
         <label>{p} <select name=\"place\"><option value=\"all\">{all}</option>{options}</select></label>\
         <label>{from} <input type=\"text\" name=\"first_day\" value=\"{v_first}\" placeholder=\"{today}\"></label>\
         <label>{to} <input type=\"text\" name=\"last_day\" value=\"{v_last}\" placeholder=\"{to_hint}\"></label>\
         <label><input type=\"checkbox\" name=\"closed\" value=\"1\"{v_closed}> {closed}</label>\
         <label>{h} <input type=\"text\" name=\"hours\" value=\"{v_hours}\" placeholder=\"08:00-23:00\"></label>\
         <label>{r} <input type=\"text\" name=\"reason\" value=\"{v_reason}\" placeholder=\"{r_hint}\"></label>\
         <button type=\"submit\">{add}</button></div></form>",
        title = t(lang, "日期调整（节假日、考试周延长、临时闭馆）", "Dated changes (holidays, exam weeks, closures)"),
        p = t(lang, "地点", "Place"),
        d = t(lang, "日期", "Days"),
        h = t(lang, "开放时间", "Hours"),
        r = t(lang, "原因", "Reason"),
        csrf = csrf_field(lib),
        add_title = t(lang, "添加调整", "Add a change"),
        all = t(lang, "所有地点", "All places"),
        from = t(lang, "开始日期", "First day"),
        to = t(lang, "结束日期（可空）", "Last day (optional)"),
        to_hint = t(lang, "同开始日期", "same as first"),
        closed = t(lang, "闭馆", "Closed"),
        r_hint = t(lang, "如：国庆节", "e.g. National Day"),
        add = t(lang, "添加调整", "Add change"),
        today = day_string(today),
        v_first = field("first_day"),
        v_last = field("last_day"),
        v_hours = field("hours"),
        v_reason = field("reason"),
        v_closed = if form.contains_key("closed") { " checked" } else { "" },
    ));
    Ok((status, page(lib, t(lang, "开放时间", "Opening hours"), &body)).into_response())
}

/// `GET /console/hours`
async fn show(State(s): State<Services>, lib: Librarian, Query(f): Query<Flash>) -> Result<Response, ConsoleError> {
    let lang = lib.lang;
    let msg = match f.ok.as_deref() {
        Some("week") => flash_ok(t(lang, "每周开放时间已保存。", "Weekly schedule saved.")),
        Some("place") => flash_ok(t(lang, "地点已添加。", "Place added.")),
        Some("place_deleted") => flash_ok(t(lang, "地点已删除。", "Place deleted.")),
        Some("exception") => flash_ok(t(
            lang,
            "调整已添加。读者查询这些日期时会看到新的开放时间。",
            "Change added. Readers asking about those days get the new hours.",
        )),
        Some("exception_deleted") => flash_ok(t(lang, "调整已删除。", "Change deleted.")),
        Some("announced") => {
            let (n, m) = (f.n.unwrap_or(0), f.m.unwrap_or(0));
            flash_ok(&match lang {
                Lang::Zh => format!(
                    "已向 {n} 位 48 小时内互动过的读者发送通知；另有 {m} 位关注者不在客服消息窗口内，未发送（他们查询时仍会得到正确的开放时间）。"
                ),
                Lang::En => format!(
                    "Sent to {n} readers in their 48-hour window; {m} other followers are outside the window and were not messaged (they still get the right hours when they ask)."
                ),
            })
        }
        _ => String::new(),
    };
    render(&s, &lib, StatusCode::OK, &msg, &HashMap::new()).await
}

fn bad(lang: Lang, e: &HoursError) -> String {
    flash_error(&format!("{}{}", t(lang, "未保存：", "Not saved: "), e.message(lang)))
}

/// `POST /console/hours/places`
async fn add_place(State(s): State<Services>, lib: Librarian, Form(f): Form<HashMap<String, String>>) -> Result<Response, ConsoleError> {
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (name, name_en) = (get("name"), get("name_en"));
    let check = || -> Result<Vec<Interval>, HoursError> {
        if name.is_empty() || name.chars().count() > 40 || name_en.chars().count() > 40 {
            return Err(HoursError::BadPlaceName);
        }
        parse_intervals(&get("hours"))
    };
    let weekly = match check() {
        Ok(w) => w,
        Err(e) => return render(&s, &lib, StatusCode::BAD_REQUEST, &bad(lib.lang, &e), &f).await,
    };
    if s.db.places().await?.iter().any(|p| p.name == name) {
        return render(&s, &lib, StatusCode::BAD_REQUEST, &bad(lib.lang, &HoursError::PlaceTaken(name.clone())), &f).await;
    }
    let id = s.db.add_place(&name, &name_en, &weekly).await?;
    audit(&s.db, &lib, "hours.place.add", &format!("#{id} {name} {}", format_intervals(&weekly))).await?;
    Ok(Redirect::to("/console/hours?ok=place").into_response())
}

/// `POST /console/hours/places/{id}`: the weekly schedule (fields d1…d7, Monday first).
async fn save_week(
    State(s): State<Services>,
    lib: Librarian,
    Path(id): Path<i64>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let Some(place) = s.db.places().await?.into_iter().find(|p| p.id == id) else { return Err(ConsoleError::NotFound) };
    let mut week = Vec::new();
    for wd in 1..=7 {
        match parse_intervals(f.get(&format!("d{wd}")).map(String::as_str).unwrap_or_default()) {
            Ok(iv) => week.push(iv),
            Err(e) => {
                // Keep what was typed for this place in the form that comes back.
                let typed: HashMap<String, String> = f.iter().map(|(k, v)| (format!("{id}:{k}"), v.clone())).collect();
                let msg = flash_error(&format!(
                    "{}{} {}：{}",
                    t(lib.lang, "未保存：", "Not saved: "),
                    place.name,
                    weekday_name(wd, lib.lang),
                    e.message(lib.lang)
                ));
                return render(&s, &lib, StatusCode::BAD_REQUEST, &msg, &typed).await;
            }
        }
    }
    s.db.set_weekly_hours(id, &week).await?;
    let detail: Vec<String> = week.iter().enumerate().map(|(i, d)| format!("{}={}", i + 1, format_intervals(d))).collect();
    audit(&s.db, &lib, "hours.week", &format!("#{id} {} {}", place.name, detail.join(" "))).await?;
    Ok(Redirect::to("/console/hours?ok=week").into_response())
}

/// `POST /console/hours/places/{id}/delete`
async fn delete_place(State(s): State<Services>, lib: Librarian, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    let Some(place) = s.db.places().await?.into_iter().find(|p| p.id == id) else { return Err(ConsoleError::NotFound) };
    s.db.delete_place(id).await?;
    audit(&s.db, &lib, "hours.place.delete", &format!("#{id} {}", place.name)).await?;
    Ok(Redirect::to("/console/hours?ok=place_deleted").into_response())
}

/// `POST /console/hours/exceptions`: place (or all), first and last day, closed or hours, reason.
async fn add_exception(
    State(s): State<Services>,
    lib: Librarian,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    let get = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let places = s.db.places().await?;
    let targets: Vec<_> = match get("place").as_str() {
        "all" | "" => places.clone(),
        id => places.iter().filter(|p| p.id.to_string() == id).cloned().collect(),
    };
    if targets.is_empty() {
        let msg = flash_error(t(
            lib.lang,
            "未保存：请先添加地点，或选择一个存在的地点。",
            "Not saved: add a place first, or choose an existing one.",
        ));
        return render(&s, &lib, StatusCode::BAD_REQUEST, &msg, &f).await;
    }
    let closed = f.contains_key("closed");
    let checked = (|| -> Result<(String, String, Vec<Interval>, String), HoursError> {
        let first = parse_day(&get("first_day"))?;
        let last_raw = get("last_day");
        let last = if last_raw.is_empty() { first } else { parse_day(&last_raw)? };
        if last < first {
            return Err(HoursError::DaysBackwards(day_string(first), day_string(last)));
        }
        if last - first > 366 {
            return Err(HoursError::TooLong);
        }
        let intervals = if closed { Vec::new() } else { parse_intervals(&get("hours"))? };
        if !closed && intervals.is_empty() {
            return Err(HoursError::BadInterval(get("hours")));
        }
        let reason = get("reason");
        if reason.is_empty() || reason.chars().count() > 100 {
            return Err(HoursError::BadReason);
        }
        Ok((day_string(first), day_string(last), intervals, reason))
    })();
    let (first, last, intervals, reason) = match checked {
        Ok(v) => v,
        Err(e) => return render(&s, &lib, StatusCode::BAD_REQUEST, &bad(lib.lang, &e), &f).await,
    };
    for p in &targets {
        if let Some(e) = s.db.overlapping_exception(p.id, &first, &last).await? {
            let err = HoursError::ExceptionOverlap { place: p.name.clone(), first: e.first_day, last: e.last_day, reason: e.reason };
            return render(&s, &lib, StatusCode::BAD_REQUEST, &bad(lib.lang, &err), &f).await;
        }
    }
    let now = s.clock.now();
    for p in &targets {
        let id = s.db.add_hours_exception(p.id, &first, &last, &intervals, &reason, now).await?;
        audit(&s.db, &lib, "hours.exception.add", &format!("#{id} {} {first}..{last} [{}] {reason}", p.name, format_intervals(&intervals)))
            .await?;
    }
    Ok(Redirect::to("/console/hours?ok=exception").into_response())
}

/// `POST /console/hours/exceptions/{id}/delete`
async fn delete_exception(State(s): State<Services>, lib: Librarian, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    let Some(e) = s.db.hours_exception(id).await? else { return Err(ConsoleError::NotFound) };
    s.db.delete_hours_exception(id).await?;
    audit(&s.db, &lib, "hours.exception.delete", &format!("#{id} {}..{} {}", e.first_day, e.last_day, e.reason)).await?;
    Ok(Redirect::to("/console/hours?ok=exception_deleted").into_response())
}

/// The announcement readers get for an exception.
pub fn announcement(place: &str, e: &hours::HoursException, lang: Lang) -> String {
    let iv = describe_intervals(&parse_intervals(&e.intervals).unwrap_or_default(), lang);
    let days = if e.first_day == e.last_day { e.first_day.clone() } else { format!("{} – {}", e.first_day, e.last_day) };
    match lang {
        Lang::Zh => format!("【开放时间调整】{place} {days}：{iv}（{}）。回复“开放时间”查看当天安排。", e.reason),
        Lang::En => format!("[Opening hours change] {place}, {days}: {iv} ({}). Reply \"hours\" for any day's hours.", e.reason),
    }
}

/// `POST /console/hours/exceptions/{id}/announce`: customer-service messages to the followers in
/// their window (each at most once per exception, through the outbox).
async fn announce(State(s): State<Services>, lib: Librarian, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    let Some(e) = s.db.hours_exception(id).await? else { return Err(ConsoleError::NotFound) };
    let place = s.db.places().await?.into_iter().find(|p| p.id == e.place_id).map(|p| p.display(s.lang).to_owned()).unwrap_or_default();
    let now = s.clock.now();
    let (open, outside) = s.db.followers_in_window(now).await?;
    let text = wechat::Reply::text(announcement(&place, &e, s.lang));
    let mut sent = 0;
    for openid in &open {
        if s.push(openid, &text, &format!("hours:{id}:{openid}")).await? {
            sent += 1;
        }
    }
    s.db.mark_exception_announced(id, now).await?;
    audit(
        &s.db,
        &lib,
        "hours.announce",
        &format!("#{id} {place} {}..{} to {sent} readers in window; {outside} outside", e.first_day, e.last_day),
    )
    .await?;
    Ok(Redirect::to(&format!("/console/hours?ok=announced&n={sent}&m={outside}")).into_response())
}
