//! The control router: what a test or the simulated phone tells the simulator, over HTTP.
//!
//! | method & path | body / query | effect |
//! |---|---|---|
//! | `POST /fault` | `{path, errcode?, delay_ms?, status?, times?}` | inject faults into calls whose WeChat path starts with `path` (`times` defaults to 1; `0` means until cleared) |
//! | `DELETE /fault` | – | clear all faults |
//! | `POST /advance` | `{seconds}` | move the simulated clock forward |
//! | `GET /now` | – | `{now}`: simulated unix seconds |
//! | `POST /follow` | `{openid, scene?}` | the reader follows (through a QR scene when given) |
//! | `POST /unfollow` | `{openid}` | the reader unfollows |
//! | `POST /interaction` | `{openid, kind: "message" \| "event"}` | open a customer-service window |
//! | `POST /subscribe_grant` | `{openid, template_id}` | the reader accepts one subscription message |
//! | `POST /template` | `{template_id, title, fields: ["label:key", …]}` | the account adds (or replaces) a template, as librarians pick one from WeChat's library |
//! | `POST /article_read` | `{openid, msg_id, idx?, original?}` | the reader opens article `idx` of a mass news job (its 阅读原文 link when `original`), counted by `datacube/getarticle*` |
//! | `GET /followers` | – | every known user with their fields |
//! | `GET /inbox` | `?openid=` | what reached the reader, in order |
//! | `GET /calls` | – | every API call |
//! | `GET /qrcodes` | – | every QR code created |
//! | `GET /mass` | – | every mass job with its recipients |
//! | `GET /menu` | – | the current menu or `null` |

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::sim::Simulator;
use crate::state::Fault;

#[derive(Deserialize)]
struct FaultReq {
    #[serde(default)]
    path: String,
    errcode: Option<i64>,
    delay_ms: Option<u64>,
    status: Option<u16>,
    times: Option<usize>,
}

#[derive(Deserialize)]
struct AdvanceReq {
    seconds: f64,
}

#[derive(Deserialize)]
struct FollowReq {
    openid: String,
    scene: Option<String>,
}

#[derive(Deserialize)]
struct OpenidReq {
    openid: String,
}

#[derive(Deserialize)]
struct InteractionReq {
    openid: String,
    #[serde(default)]
    kind: String,
}

#[derive(Deserialize)]
struct ArticleReadReq {
    openid: String,
    msg_id: u64,
    #[serde(default)]
    idx: usize,
    #[serde(default)]
    original: bool,
}

#[derive(Deserialize)]
struct TemplateReq {
    template_id: String,
    title: String,
    fields: Vec<String>,
}

async fn template(State(sim): State<Simulator>, Json(r): Json<TemplateReq>) -> Json<Value> {
    let fields: Vec<&str> = r.fields.iter().map(String::as_str).collect();
    sim.add_template(&r.template_id, &r.title, &fields);
    okj()
}

#[derive(Deserialize)]
struct GrantReq {
    openid: String,
    template_id: String,
}

fn okj() -> Json<Value> {
    Json(json!({"ok": true}))
}

async fn fault(State(sim): State<Simulator>, Json(r): Json<FaultReq>) -> Response {
    let times = match r.times {
        None => 1,
        Some(0) => usize::MAX,
        Some(n) => n,
    };
    let mut added = 0;
    if let Some(ms) = r.delay_ms {
        sim.inject(&r.path, Fault::Delay(Duration::from_millis(ms)), times);
        added += 1;
    }
    if let Some(code) = r.errcode {
        sim.inject(&r.path, Fault::Error(code), times);
        added += 1;
    }
    if let Some(status) = r.status {
        sim.inject(&r.path, Fault::HttpStatus(status), times);
        added += 1;
    }
    if added == 0 {
        return (StatusCode::BAD_REQUEST, "give errcode, delay_ms or status").into_response();
    }
    okj().into_response()
}

async fn clear_faults(State(sim): State<Simulator>) -> Json<Value> {
    sim.clear_faults();
    okj()
}

async fn advance(State(sim): State<Simulator>, Json(r): Json<AdvanceReq>) -> Response {
    // try_: a negative, NaN or too large number is the caller's mistake, not a panic.
    let Ok(by) = Duration::try_from_secs_f64(r.seconds) else {
        return (StatusCode::BAD_REQUEST, "seconds must be a non-negative number").into_response();
    };
    sim.advance(by);
    Json(json!({"ok": true, "now": sim.now()})).into_response()
}

async fn follow(State(sim): State<Simulator>, Json(r): Json<FollowReq>) -> Json<Value> {
    sim.follow(&r.openid, r.scene);
    okj()
}

async fn unfollow(State(sim): State<Simulator>, Json(r): Json<OpenidReq>) -> Json<Value> {
    sim.unfollow(&r.openid);
    okj()
}

async fn interaction(State(sim): State<Simulator>, Json(r): Json<InteractionReq>) -> Response {
    match r.kind.as_str() {
        "message" | "" => sim.note_user_message(&r.openid),
        "event" | "click" | "scan" | "follow" => sim.note_click_or_scan_or_follow(&r.openid),
        _ => return (StatusCode::BAD_REQUEST, "kind is message or event").into_response(),
    }
    okj().into_response()
}

async fn article_read(State(sim): State<Simulator>, Json(r): Json<ArticleReadReq>) -> Response {
    match sim.read_article(&r.openid, r.msg_id, r.idx, r.original) {
        Ok(()) => okj().into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn grant(State(sim): State<Simulator>, Json(r): Json<GrantReq>) -> Json<Value> {
    sim.accept_subscribe_message(&r.openid, &r.template_id);
    okj()
}

#[derive(Deserialize)]
struct InboxQuery {
    openid: String,
}

async fn inbox(State(sim): State<Simulator>, Query(q): Query<InboxQuery>) -> Json<Value> {
    Json(json!({ "openid": q.openid, "messages": sim.inbox(&q.openid) }))
}

pub(crate) fn router(sim: Simulator) -> Router {
    Router::new()
        .route("/fault", post(fault).delete(clear_faults))
        .route("/advance", post(advance))
        .route("/now", get(|State(sim): State<Simulator>| async move { Json(json!({"now": sim.now()})) }))
        .route("/follow", post(follow))
        .route("/unfollow", post(unfollow))
        .route("/interaction", post(interaction))
        .route("/subscribe_grant", post(grant))
        .route("/template", post(template))
        .route("/article_read", post(article_read))
        .route("/followers", get(|State(sim): State<Simulator>| async move { Json(json!({"followers": sim.followers()})) }))
        .route("/inbox", get(inbox))
        .route("/calls", get(|State(sim): State<Simulator>| async move { Json(json!({"calls": sim.calls()})) }))
        .route("/qrcodes", get(|State(sim): State<Simulator>| async move { Json(json!({"qrcodes": sim.qr_codes()})) }))
        .route("/mass", get(|State(sim): State<Simulator>| async move { Json(json!({"jobs": sim.mass_jobs()})) }))
        .route("/menu", get(|State(sim): State<Simulator>| async move { Json(json!({"menu": sim.menu()})) }))
        .with_state(sim)
}
