//! The HTTP face of the simulator: WeChat's paths, WeChat's JSON, WeChat's error codes.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{OriginalUri, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};

use crate::errcode::{self, ApiErr, err, err_hint};
use crate::menu;
use crate::multipart;
use crate::sim::Simulator;
use crate::state::{
    ApiCall, Draft, Fault, Follower, MassJob, Media, OAUTH_CODE_TTL_MS, OAuthCode, PushKind, QrCode, SimState, SnsToken, TOKEN_TTL_MS,
    china_year_month, random_string, rid,
};

/// Every path the API router serves (besides `/mmbiz/{id}`, the uploaded images).
pub const API_PATHS: &[&str] = &[
    "/cgi-bin/stable_token",
    "/cgi-bin/token",
    "/cgi-bin/menu/create",
    "/cgi-bin/menu/get",
    "/cgi-bin/get_current_selfmenu_info",
    "/cgi-bin/menu/delete",
    "/cgi-bin/message/custom/send",
    "/cgi-bin/message/custom/typing",
    "/cgi-bin/message/template/send",
    "/cgi-bin/template/get_all_private_template",
    "/cgi-bin/message/subscribe/bizsend",
    "/cgi-bin/message/mass/sendall",
    "/cgi-bin/message/mass/send",
    "/cgi-bin/message/mass/preview",
    "/cgi-bin/message/mass/get",
    "/cgi-bin/message/mass/delete",
    "/cgi-bin/draft/add",
    "/cgi-bin/draft/get",
    "/cgi-bin/draft/update",
    "/cgi-bin/draft/delete",
    "/cgi-bin/draft/count",
    "/cgi-bin/draft/batchget",
    "/cgi-bin/media/uploadimg",
    "/cgi-bin/media/upload",
    "/cgi-bin/material/add_material",
    "/cgi-bin/qrcode/create",
    "/cgi-bin/showqrcode",
    "/cgi-bin/user/info",
    "/cgi-bin/user/info/batchget",
    "/cgi-bin/user/info/updateremark",
    "/cgi-bin/user/get",
    "/cgi-bin/tags/create",
    "/cgi-bin/tags/get",
    "/cgi-bin/tags/update",
    "/cgi-bin/tags/delete",
    "/cgi-bin/tags/members/batchtagging",
    "/cgi-bin/tags/members/batchuntagging",
    "/cgi-bin/tags/getidlist",
    "/cgi-bin/user/tag/get",
    "/sns/oauth2/access_token",
    "/sns/userinfo",
    "/connect/oauth2/authorize",
    "/datacube/getusersummary",
    "/datacube/getusercumulate",
    "/datacube/getarticlesummary",
    "/datacube/getarticletotal",
];

const MAX_BODY: usize = 32 << 20;
const QR_TEMP_MAX_SECS: i64 = 2_592_000;
const QR_PERMANENT_LIMIT: usize = 100_000;
pub(crate) const TEMP_MEDIA_TTL_MS: i64 = 3 * 24 * 3600 * 1000;

pub(crate) fn router(sim: Simulator) -> Router {
    let mut r = Router::new();
    for &path in API_PATHS {
        r = r.route(path, any(move |State(sim): State<Simulator>, req: Request| handle(sim, path, req)));
    }
    r.route("/mmbiz/{id}", any(move |State(sim): State<Simulator>, req: Request| handle(sim, "/mmbiz", req))).with_state(sim)
}

/// What an endpoint answers when it does not fail.
pub(crate) enum Reply {
    Json(Value),
    Redirect(String),
    Raw { status: StatusCode, content_type: &'static str, body: Vec<u8> },
}

fn ok() -> Result<Reply, ApiErr> {
    Ok(Reply::Json(json!({"errcode": 0, "errmsg": "ok"})))
}

fn ok_with(fields: Value) -> Result<Reply, ApiErr> {
    let mut m = Map::new();
    m.insert("errcode".into(), 0.into());
    m.insert("errmsg".into(), "ok".into());
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    Ok(Reply::Json(Value::Object(m)))
}

fn page_error(code: i64, text: &str) -> Result<Reply, ApiErr> {
    Ok(Reply::Raw {
        status: StatusCode::BAD_REQUEST,
        content_type: "text/plain; charset=utf-8",
        body: format!("OAuth error {code}: {text}").into_bytes(),
    })
}

/// One request's inputs.
pub(crate) struct Ctx {
    pub method: Method,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// This router's public base URL (scheme, host and mount prefix), for URLs we hand out.
    pub base: String,
    pub uri_path: String,
}

impl Ctx {
    fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// The JSON body: 44002 when empty, 47001 when not a JSON object.
    fn json(&self) -> Result<Value, ApiErr> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return err(errcode::EMPTY_POST_DATA);
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => err_hint(errcode::DATA_FORMAT_ERROR, "body is not a JSON object"),
            Err(e) => err_hint(errcode::DATA_FORMAT_ERROR, e),
        }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A number that may also come as a numeric string (WeChat accepts both for ids).
fn num(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn boolish(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

fn needs_token(path: &str) -> bool {
    path.starts_with("/cgi-bin/") && !matches!(path, "/cgi-bin/stable_token" | "/cgi-bin/token" | "/cgi-bin/showqrcode")
}

async fn handle(sim: Simulator, path: &'static str, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let uri_path = parts.uri.path().to_owned();
    let original = parts.extensions.get::<OriginalUri>().map(|o| o.0.path().to_owned()).unwrap_or_else(|| uri_path.clone());
    let prefix = original.strip_suffix(uri_path.as_str()).unwrap_or("").to_owned();
    let query: HashMap<String, String> = Query::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();

    let (delays, fault, public_base) = {
        let mut st = sim.lock();
        let (d, f) = st.take_faults(path);
        (d, f, st.cfg.public_base.clone())
    };
    let base = public_base.unwrap_or_else(|| {
        let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let scheme = parts.headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
        format!("{scheme}://{host}{prefix}")
    });
    let total_delay: Duration = delays.iter().sum();
    if !total_delay.is_zero() {
        tokio::time::sleep(total_delay).await;
    }

    let ctx = Ctx { method: parts.method.clone(), query, headers: parts.headers, body, base, uri_path };
    let mut st = sim.lock();
    let outcome = match &fault {
        Some(Fault::Error(code)) => Err(ApiErr::new(*code)),
        Some(Fault::HttpStatus(status)) => Ok(Reply::Raw {
            status: StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
            content_type: "text/plain; charset=utf-8",
            body: b"simulated upstream failure".to_vec(),
        }),
        _ => {
            let checked = if needs_token(path) { st.check_token(ctx.q("access_token")) } else { Ok(()) };
            checked.and_then(|()| dispatch(&mut st, path, &ctx))
        }
    };
    let fault_desc = match (&fault, total_delay.is_zero()) {
        (Some(f), true) => Some(format!("{f:?}")),
        (Some(f), false) => Some(format!("Delay({total_delay:?}) + {f:?}")),
        (None, false) => Some(format!("Delay({total_delay:?})")),
        (None, true) => None,
    };
    let (response, errcode) = render(outcome);
    let seq = st.next_seq();
    let at = st.now_secs();
    let mut body_text = String::from_utf8_lossy(&ctx.body).into_owned();
    if body_text.len() > 65_536 {
        let mut cut = 65_536;
        while !body_text.is_char_boundary(cut) {
            cut -= 1;
        }
        body_text.truncate(cut);
    }
    if let Some(code) = errcode.filter(|c| *c != 0) {
        tracing::debug!(path, code, "simulated WeChat API answered an error");
    }
    st.calls.push(ApiCall {
        seq,
        at,
        method: ctx.method.to_string(),
        path: path.to_owned(),
        query: raw_query,
        body: body_text,
        errcode,
        fault: fault_desc,
    });
    response
}

fn render(outcome: Result<Reply, ApiErr>) -> (Response, Option<i64>) {
    let json_response = |v: &Value| {
        let mut r = (StatusCode::OK, serde_json::to_string(v).unwrap_or_default()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; encoding=utf-8"));
        r
    };
    match outcome {
        Ok(Reply::Json(v)) => {
            let code = v.get("errcode").and_then(Value::as_i64).unwrap_or(0);
            (json_response(&v), Some(code))
        }
        Ok(Reply::Redirect(url)) => {
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&url) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            (r, None)
        }
        Ok(Reply::Raw { status, content_type, body }) => {
            let mut r = (status, Body::from(body)).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            (r, None)
        }
        Err(e) => {
            let mut m = Map::new();
            m.insert("errcode".into(), e.code.into());
            m.insert("errmsg".into(), format!("{} rid: {}", e.msg, rid()).into());
            m.extend(e.extra);
            (json_response(&Value::Object(m)), Some(e.code))
        }
    }
}

fn dispatch(st: &mut SimState, path: &str, ctx: &Ctx) -> Result<Reply, ApiErr> {
    match path {
        "/cgi-bin/stable_token" => stable_token(st, ctx),
        "/cgi-bin/token" => classic_token(st, ctx),
        "/cgi-bin/menu/create" => {
            let v = ctx.json()?;
            menu::validate(&v, &st.linked_miniprograms)?;
            let button = v.get("button").cloned().unwrap_or(Value::Null);
            st.menu = Some(json!({ "button": button }));
            ok()
        }
        "/cgi-bin/menu/get" => match &st.menu {
            Some(m) => Ok(Reply::Json(json!({ "menu": m }))),
            None => err(errcode::MENU_NO_EXIST),
        },
        "/cgi-bin/get_current_selfmenu_info" => Ok(Reply::Json(menu::selfmenu_info(st.menu.as_ref()))),
        "/cgi-bin/menu/delete" => {
            st.menu = None;
            ok()
        }
        "/cgi-bin/message/custom/send" => custom_send(st, ctx),
        "/cgi-bin/message/custom/typing" => custom_typing(st, ctx),
        "/cgi-bin/message/template/send" => template_send(st, ctx),
        "/cgi-bin/template/get_all_private_template" => {
            let list: Vec<Value> = st
                .templates
                .iter()
                .map(|(id, t)| {
                    let example: Vec<String> = t.labels.iter().map(|l| format!("{l}:…")).collect();
                    json!({"template_id": id, "title": t.title, "primary_industry": "教育", "deputy_industry": "院校",
                           "content": t.content(), "example": example.join("\n")})
                })
                .collect();
            Ok(Reply::Json(json!({ "template_list": list })))
        }
        "/cgi-bin/message/subscribe/bizsend" => subscribe_send(st, ctx),
        "/cgi-bin/message/mass/sendall" => mass_sendall(st, ctx),
        "/cgi-bin/message/mass/send" => mass_send_list(st, ctx),
        "/cgi-bin/message/mass/preview" => mass_preview(st, ctx),
        "/cgi-bin/message/mass/get" => {
            let v = ctx.json()?;
            let id = num(&v, "msg_id").ok_or_else(|| ApiErr::hint(errcode::INVALID_ARGS, "msg_id"))?;
            match st.mass_jobs.iter().find(|j| j.msg_id == id) {
                Some(j) => Ok(Reply::Json(json!({"msg_id": id, "msg_status": j.status}))),
                None => err_hint(errcode::INVALID_ARGS, "msg_id"),
            }
        }
        "/cgi-bin/message/mass/delete" => {
            let v = ctx.json()?;
            let id = num(&v, "msg_id").ok_or_else(|| ApiErr::hint(errcode::INVALID_ARGS, "msg_id"))?;
            match st.mass_jobs.iter_mut().find(|j| j.msg_id == id) {
                Some(j) => {
                    j.status = "DELETE".to_owned();
                    ok()
                }
                None => err_hint(errcode::INVALID_ARGS, "msg_id"),
            }
        }
        "/cgi-bin/draft/add" => draft_add(st, ctx),
        "/cgi-bin/draft/get" => {
            let v = ctx.json()?;
            let d = st.drafts.get(s(&v, "media_id").unwrap_or_default()).ok_or_else(|| ApiErr::new(errcode::INVALID_MEDIA_ID))?;
            Ok(Reply::Json(json!({"news_item": d.articles, "create_time": d.create_time, "update_time": d.update_time})))
        }
        "/cgi-bin/draft/update" => draft_update(st, ctx),
        "/cgi-bin/draft/delete" => {
            let v = ctx.json()?;
            match st.drafts.remove(s(&v, "media_id").unwrap_or_default()) {
                Some(_) => ok(),
                None => err(errcode::INVALID_MEDIA_ID),
            }
        }
        "/cgi-bin/draft/count" => Ok(Reply::Json(json!({"total_count": st.drafts.len()}))),
        "/cgi-bin/draft/batchget" => draft_batchget(st, ctx),
        "/cgi-bin/media/uploadimg" => {
            let m = upload(st, ctx, "uploadimg", true)?;
            Ok(Reply::Json(json!({"url": format!("{}/mmbiz/{}", ctx.base, m.media_id)})))
        }
        "/cgi-bin/media/upload" => {
            let kind = ctx.q("type").unwrap_or_default().to_owned();
            let m = upload(st, ctx, &kind, false)?;
            Ok(Reply::Json(json!({"type": kind, "media_id": m.media_id, "created_at": m.created_at})))
        }
        "/cgi-bin/material/add_material" => {
            let kind = ctx.q("type").unwrap_or_default().to_owned();
            let m = upload(st, ctx, &kind, true)?;
            if kind == "image" {
                Ok(Reply::Json(json!({"media_id": m.media_id, "url": format!("{}/mmbiz/{}", ctx.base, m.media_id)})))
            } else {
                Ok(Reply::Json(json!({"media_id": m.media_id})))
            }
        }
        "/mmbiz" => {
            let id = ctx.uri_path.rsplit('/').next().unwrap_or_default();
            match st.media.get(id) {
                Some(m) => {
                    Ok(Reply::Raw { status: StatusCode::OK, content_type: static_content_type(&m.content_type), body: m.bytes.clone() })
                }
                None => Ok(Reply::Raw { status: StatusCode::NOT_FOUND, content_type: "text/plain", body: b"no such image".to_vec() }),
            }
        }
        "/cgi-bin/qrcode/create" => qrcode_create(st, ctx),
        "/datacube/getusersummary" => datacube_users(st, ctx, false),
        "/datacube/getusercumulate" => datacube_users(st, ctx, true),
        "/datacube/getarticlesummary" => datacube_articles(st, ctx, false),
        "/datacube/getarticletotal" => datacube_articles(st, ctx, true),
        "/cgi-bin/showqrcode" => showqrcode(st, ctx),
        "/cgi-bin/user/info" => {
            let openid = match ctx.q("openid") {
                None | Some("") => return err(errcode::OPENID_MISSING),
                Some(o) => o,
            };
            let f = st.followers.get(openid).ok_or_else(|| ApiErr::new(errcode::INVALID_OPENID))?;
            Ok(Reply::Json(user_info(f, ctx.q("lang"))))
        }
        "/cgi-bin/user/info/batchget" => {
            let v = ctx.json()?;
            let list = v.get("user_list").and_then(Value::as_array).cloned().unwrap_or_default();
            if list.is_empty() || list.len() > 100 {
                return err_hint(errcode::INVALID_OPENID_LIST_SIZE, "user_list must hold 1..100 users");
            }
            let mut out = Vec::new();
            for u in &list {
                let openid = s(u, "openid").unwrap_or_default();
                let f = st.followers.get(openid).ok_or_else(|| ApiErr::hint(errcode::INVALID_OPENID, openid))?;
                out.push(user_info(f, s(u, "lang")));
            }
            Ok(Reply::Json(json!({"user_info_list": out})))
        }
        "/cgi-bin/user/info/updateremark" => {
            let v = ctx.json()?;
            let openid = s(&v, "openid").unwrap_or_default();
            let remark = s(&v, "remark").unwrap_or_default().to_owned();
            if remark.chars().count() > 30 {
                return err_hint(errcode::INVALID_ARGS, "remark longer than 30 characters");
            }
            let f = st.followers.get_mut(openid).ok_or_else(|| ApiErr::new(errcode::INVALID_OPENID))?;
            f.remark = remark;
            ok()
        }
        "/cgi-bin/user/get" => {
            let subscribed: Vec<&String> = st.follower_order.iter().filter(|o| st.followers[*o].subscribed).collect();
            let (page, next) = page_after(&subscribed, ctx.q("next_openid").unwrap_or_default())?;
            let mut v = json!({"total": subscribed.len(), "count": page.len(), "next_openid": next});
            if !page.is_empty() {
                v["data"] = json!({ "openid": page });
            }
            Ok(Reply::Json(v))
        }
        "/cgi-bin/tags/create" => tags_create(st, ctx),
        "/cgi-bin/tags/get" => {
            let tags: Vec<Value> = st
                .tags
                .iter()
                .map(|(id, name)| {
                    let count = st.followers.values().filter(|f| f.subscribed && f.tagid_list.contains(id)).count();
                    json!({"id": id, "name": name, "count": count})
                })
                .collect();
            Ok(Reply::Json(json!({ "tags": tags })))
        }
        "/cgi-bin/tags/update" => {
            let v = ctx.json()?;
            let tag = v.get("tag").cloned().unwrap_or(Value::Null);
            let id = num(&tag, "id").ok_or_else(|| ApiErr::new(errcode::INVALID_TAG_ID))?;
            if id <= 2 {
                return err(errcode::CANNOT_MODIFY_SYS_TAG);
            }
            if !st.tags.contains_key(&id) {
                return err(errcode::INVALID_TAG_ID);
            }
            let name = check_tag_name(st, s(&tag, "name").unwrap_or_default(), Some(id))?;
            st.tags.insert(id, name);
            ok()
        }
        "/cgi-bin/tags/delete" => {
            let v = ctx.json()?;
            let id = v.get("tag").and_then(|t| num(t, "id")).ok_or_else(|| ApiErr::new(errcode::INVALID_TAG_ID))?;
            if id <= 2 {
                return err(errcode::CANNOT_MODIFY_SYS_TAG);
            }
            if st.tags.remove(&id).is_none() {
                return err(errcode::INVALID_TAG_ID);
            }
            for f in st.followers.values_mut() {
                f.tagid_list.retain(|t| *t != id);
            }
            ok()
        }
        "/cgi-bin/tags/members/batchtagging" => tagging(st, ctx, true),
        "/cgi-bin/tags/members/batchuntagging" => tagging(st, ctx, false),
        "/cgi-bin/tags/getidlist" => {
            let v = ctx.json()?;
            let f = st.followers.get(s(&v, "openid").unwrap_or_default()).ok_or_else(|| ApiErr::new(errcode::INVALID_OPENID))?;
            Ok(Reply::Json(json!({"tagid_list": f.tagid_list})))
        }
        "/cgi-bin/user/tag/get" => {
            let v = ctx.json()?;
            let id = num(&v, "tagid").ok_or_else(|| ApiErr::new(errcode::INVALID_TAG_ID))?;
            if !st.tags.contains_key(&id) {
                return err(errcode::INVALID_TAG_ID);
            }
            let members: Vec<&String> =
                st.follower_order.iter().filter(|o| st.followers[*o].subscribed && st.followers[*o].tagid_list.contains(&id)).collect();
            let (page, next) = page_after(&members, s(&v, "next_openid").unwrap_or_default())?;
            let mut out = json!({"count": page.len(), "next_openid": next});
            if !page.is_empty() {
                out["data"] = json!({ "openid": page });
            }
            Ok(Reply::Json(out))
        }
        "/sns/oauth2/access_token" => sns_access_token(st, ctx),
        "/sns/userinfo" => sns_userinfo(st, ctx),
        "/connect/oauth2/authorize" => oauth_authorize(st, ctx),
        _ => Ok(Reply::Raw { status: StatusCode::NOT_FOUND, content_type: "text/plain", body: b"not simulated".to_vec() }),
    }
}

fn static_content_type(ct: &str) -> &'static str {
    match ct {
        "image/png" => "image/png",
        "image/jpeg" => "image/jpeg",
        "image/gif" => "image/gif",
        "image/bmp" => "image/bmp",
        "audio/amr" => "audio/amr",
        "audio/mpeg" => "audio/mpeg",
        "video/mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// `user/get`-style paging: up to 10 000 openids after `next`; the answer's `next_openid` is the
/// last one returned ("" when none).
fn page_after(all: &[&String], next: &str) -> Result<(Vec<String>, String), ApiErr> {
    let start = if next.is_empty() {
        0
    } else {
        all.iter().position(|o| o.as_str() == next).map(|i| i + 1).ok_or_else(|| ApiErr::hint(errcode::INVALID_OPENID, "next_openid"))?
    };
    let page: Vec<String> = all.iter().skip(start).take(10_000).map(|s| (*s).clone()).collect();
    let last = page.last().cloned().unwrap_or_default();
    Ok((page, last))
}

fn user_info(f: &Follower, lang: Option<&str>) -> Value {
    if !f.subscribed {
        return json!({"subscribe": 0, "openid": f.openid});
    }
    json!({
        "subscribe": 1,
        "openid": f.openid,
        "language": lang.filter(|l| !l.is_empty()).unwrap_or("zh_CN"),
        "subscribe_time": f.subscribe_time,
        "remark": f.remark,
        "groupid": 0,
        "tagid_list": f.tagid_list,
        "subscribe_scene": f.subscribe_scene,
        "qr_scene": f.qr_scene,
        "qr_scene_str": f.qr_scene_str,
    })
}

// ---- tokens ----

fn stable_token(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    st.check_credentials(s(&v, "grant_type"), s(&v, "appid"), s(&v, "secret"))?;
    let (token, expires_in) = st.stable_token(boolish(v.get("force_refresh")));
    Ok(Reply::Json(json!({"access_token": token, "expires_in": expires_in})))
}

fn classic_token(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    st.check_credentials(ctx.q("grant_type"), ctx.q("appid"), ctx.q("secret"))?;
    let (token, expires_in) = st.classic_token();
    Ok(Reply::Json(json!({"access_token": token, "expires_in": expires_in})))
}

// ---- customer service ----

fn media_exists(st: &SimState, id: &str) -> bool {
    let now = st.now_ms();
    st.media.get(id).is_some_and(|m| m.kind != "uploadimg" && (m.permanent || now < m.created_at * 1000 + TEMP_MEDIA_TTL_MS))
}

fn need_media(st: &SimState, v: &Value, obj: &str, key: &str) -> Result<(), ApiErr> {
    let id = v.get(obj).and_then(|o| s(o, key)).unwrap_or_default();
    if id.is_empty() {
        return err_hint(errcode::INVALID_MEDIA_ID, format!("{obj}.{key} missing"));
    }
    if !media_exists(st, id) && !st.drafts.contains_key(id) {
        return err_hint(errcode::INVALID_MEDIA_ID, format!("{obj}.{key}"));
    }
    Ok(())
}

fn need_object<'a>(v: &'a Value, obj: &str) -> Result<&'a Value, ApiErr> {
    v.get(obj).filter(|o| o.is_object()).ok_or_else(|| ApiErr::hint(errcode::DATA_FORMAT_ERROR, format!("{obj} missing")))
}

fn check_custom_content(st: &SimState, msgtype: &str, v: &Value) -> Result<(), ApiErr> {
    match msgtype {
        "text" => {
            let content = v.get("text").and_then(|t| s(t, "content")).unwrap_or_default();
            if content.is_empty() {
                return err(errcode::EMPTY_CONTENT);
            }
        }
        "image" | "voice" | "video" => need_media(st, v, msgtype, "media_id")?,
        "music" => {
            let m = need_object(v, "music")?;
            if s(m, "thumb_media_id").unwrap_or_default().is_empty() {
                return err_hint(errcode::INVALID_MEDIA_ID, "music.thumb_media_id missing");
            }
        }
        "news" => {
            let articles = need_object(v, "news")?.get("articles").and_then(Value::as_array).cloned().unwrap_or_default();
            if articles.is_empty() {
                return err(errcode::EMPTY_NEWS_DATA);
            }
            if articles.len() > 1 {
                return err_hint(errcode::ARTICLE_SIZE_OUT_OF_LIMIT, "news may carry 1 article");
            }
        }
        "mpnews" => {
            let id = v.get("mpnews").and_then(|o| s(o, "media_id")).unwrap_or_default();
            if !st.drafts.contains_key(id) && !media_exists(st, id) {
                return err_hint(errcode::INVALID_MEDIA_ID, "mpnews.media_id");
            }
        }
        "mpnewsarticle" => {
            if v.get("mpnewsarticle").and_then(|o| s(o, "article_id")).unwrap_or_default().is_empty() {
                return err_hint(errcode::INVALID_MEDIA_ID, "mpnewsarticle.article_id");
            }
        }
        "msgmenu" => {
            let list = need_object(v, "msgmenu")?.get("list").and_then(Value::as_array).map(Vec::len).unwrap_or(0);
            if list == 0 {
                return err_hint(errcode::DATA_FORMAT_ERROR, "msgmenu.list empty");
            }
        }
        "miniprogrampage" => {
            let m = need_object(v, "miniprogrampage")?;
            if s(m, "appid").unwrap_or_default().is_empty() {
                return err_hint(errcode::INVALID_WEAPP_APPID, "miniprogrampage.appid");
            }
            if s(m, "pagepath").unwrap_or_default().is_empty() {
                return err_hint(errcode::INVALID_WEAPP_PAGEPATH, "miniprogrampage.pagepath");
            }
        }
        "wxcard" => {
            if v.get("wxcard").and_then(|o| s(o, "card_id")).unwrap_or_default().is_empty() {
                return err_hint(errcode::DATA_FORMAT_ERROR, "wxcard.card_id");
            }
        }
        other => return err_hint(errcode::INVALID_MESSAGE_TYPE, other),
    }
    Ok(())
}

fn custom_send(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let touser = s(&v, "touser").unwrap_or_default().to_owned();
    if touser.is_empty() {
        return err_hint(errcode::INVALID_OPENID, "touser missing");
    }
    let msgtype = s(&v, "msgtype").ok_or_else(|| ApiErr::hint(errcode::INVALID_MESSAGE_TYPE, "msgtype missing"))?.to_owned();
    check_custom_content(st, &msgtype, &v)?;
    st.require_follower(&touser)?;
    st.spend_window(&touser)?;
    st.push(&touser, PushKind::Custom, v, None);
    ok()
}

fn custom_typing(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let touser = s(&v, "touser").unwrap_or_default().to_owned();
    if !matches!(s(&v, "command"), Some("Typing" | "CancelTyping")) {
        return err(errcode::INVALID_COMMAND);
    }
    st.require_follower(&touser)?;
    if !st.interacted_within(&touser, crate::state::MESSAGE_WINDOW_MS) {
        return err(errcode::TYPING_NEEDS_INTERACTION);
    }
    ok()
}

// ---- template and subscription messages ----

/// Character limits of template/subscription field types (the part of the key before its digits).
fn field_limit(field: &str) -> Option<usize> {
    match field.trim_end_matches(|c: char| c.is_ascii_digit()) {
        "thing" => Some(20),
        "character_string" | "number" | "letter" => Some(32),
        "symbol" | "phrase" => Some(5),
        "name" => Some(10),
        "phone_number" => Some(17),
        "car_number" => Some(8),
        _ => None,
    }
}

fn check_template_data(fields: &[String], data: Option<&Value>) -> Result<(), ApiErr> {
    let data = data.and_then(Value::as_object).ok_or_else(|| ApiErr::hint(errcode::ARGUMENT_INVALID, "data missing"))?;
    for field in fields {
        let Some(entry) = data.get(field) else { continue };
        let value = entry
            .get("value")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiErr::hint(errcode::ARGUMENT_INVALID, format!("data.{field}.value")))?;
        if let Some(max) = field_limit(field)
            && value.chars().count() > max
        {
            return err_hint(errcode::ARGUMENT_INVALID, format!("data.{field}.value invalid: longer than {max} characters"));
        }
    }
    Ok(())
}

fn template_send(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let touser = s(&v, "touser").unwrap_or_default().to_owned();
    if touser.is_empty() {
        return err_hint(errcode::INVALID_OPENID, "touser missing");
    }
    let template_id = s(&v, "template_id").unwrap_or_default();
    let fields = st.templates.get(template_id).ok_or_else(|| ApiErr::new(errcode::INVALID_TEMPLATE_ID))?.fields.clone();
    st.require_follower(&touser)?;
    check_template_data(&fields, v.get("data"))?;
    let now = st.now_ms();
    let client_id = s(&v, "client_msg_id").filter(|c| !c.is_empty()).map(str::to_owned);
    if let Some(cid) = &client_id
        && let Some((msgid, at)) = st.template_client_ids.get(&(touser.clone(), cid.clone()))
        && now - at < 10 * 60 * 1000
    {
        return ok_with(json!({ "msgid": msgid }));
    }
    let msgid = st.next_msgid();
    if let Some(cid) = client_id {
        st.template_client_ids.insert((touser.clone(), cid), (msgid, now));
    }
    st.push(&touser, PushKind::Template, v, Some(msgid));
    ok_with(json!({ "msgid": msgid }))
}

fn subscribe_send(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let touser = s(&v, "touser").unwrap_or_default().to_owned();
    if touser.is_empty() {
        return err_hint(errcode::INVALID_OPENID, "touser missing");
    }
    let template_id = s(&v, "template_id").unwrap_or_default().to_owned();
    let fields = st.templates.get(&template_id).ok_or_else(|| ApiErr::new(errcode::INVALID_TEMPLATE_ID))?.fields.clone();
    if !st.followers.contains_key(&touser) {
        return err(errcode::INVALID_OPENID);
    }
    let key = (touser.clone(), template_id);
    if st.subscribe_grants.get(&key).copied().unwrap_or(0) == 0 {
        return err(errcode::USER_REFUSE);
    }
    check_template_data(&fields, v.get("data"))?;
    if let Some(n) = st.subscribe_grants.get_mut(&key) {
        *n -= 1;
    }
    st.push(&touser, PushKind::Subscribe, v, None);
    ok()
}

// ---- mass send ----

/// Validates mass content and returns what the readers receive.
fn mass_content(st: &SimState, msgtype: &str, v: &Value) -> Result<Value, ApiErr> {
    match msgtype {
        "mpnews" => {
            let id = v.get("mpnews").and_then(|o| s(o, "media_id")).unwrap_or_default();
            let d = st.drafts.get(id).ok_or_else(|| ApiErr::hint(errcode::INVALID_MEDIA_ID, "mpnews.media_id"))?;
            Ok(json!({"msgtype": "mpnews", "mpnews": {"media_id": id, "articles": d.articles}}))
        }
        "text" => {
            let content = v.get("text").and_then(|t| s(t, "content")).unwrap_or_default();
            if content.is_empty() {
                return err(errcode::EMPTY_CONTENT);
            }
            Ok(json!({"msgtype": "text", "text": {"content": content}}))
        }
        "image" => {
            let ids: Vec<String> = match v.get("images").and_then(|i| i.get("media_ids")).and_then(Value::as_array) {
                Some(a) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                None => v.get("image").and_then(|i| s(i, "media_id")).map(|s| vec![s.to_owned()]).unwrap_or_default(),
            };
            if ids.is_empty() || ids.iter().any(|id| !media_exists(st, id)) {
                return err_hint(errcode::INVALID_MEDIA_ID, "images.media_ids");
            }
            Ok(json!({"msgtype": "image", "images": {"media_ids": ids}}))
        }
        "voice" | "mpvideo" => {
            need_media(st, v, msgtype, "media_id")?;
            Ok(json!({"msgtype": msgtype, msgtype: v[msgtype].clone()}))
        }
        "wxcard" => {
            if v.get("wxcard").and_then(|o| s(o, "card_id")).unwrap_or_default().is_empty() {
                return err_hint(errcode::DATA_FORMAT_ERROR, "wxcard.card_id");
            }
            Ok(json!({"msgtype": "wxcard", "wxcard": v["wxcard"].clone()}))
        }
        other => err_hint(errcode::INVALID_MESSAGE_TYPE, other),
    }
}

/// `clientmsgid` idempotency: 45067 over 64 chars; a job with the same id within 24 h gives 45066
/// inside its first minute, then 45065 carrying the existing `msg_id`.
fn check_clientmsgid(st: &SimState, v: &Value) -> Result<Option<String>, ApiErr> {
    let Some(cid) = s(v, "clientmsgid").filter(|c| !c.is_empty()) else { return Ok(None) };
    if cid.chars().count() > 64 {
        return err(errcode::CLIENTMSGID_TOO_LONG);
    }
    let now = st.now_ms();
    if let Some(job) = st.mass_jobs.iter().rev().find(|j| j.clientmsgid.as_deref() == Some(cid) && now - j.created_ms < 24 * 3600 * 1000) {
        if now - job.created_ms < 60 * 1000 {
            return err(errcode::CLIENTMSGID_RETRY_TOO_FAST);
        }
        let mut e = ApiErr::new(errcode::CLIENTMSGID_EXIST).with("msg_id", job.msg_id);
        if let Some(d) = job.msg_data_id {
            e = e.with("msg_data_id", d);
        }
        return Err(e);
    }
    Ok(Some(cid.to_owned()))
}

/// The monthly mass quota of a service account is per follower (WeChat: "each user receives at
/// most 4 a month"): a send is refused with 45028 if any of its recipients already got
/// `mass_quota_per_month` mass messages this calendar month (China time). So a message sent in
/// several `mass/send` batches of different followers uses one unit of everybody's quota.
fn check_quota(st: &SimState, recipients: &[String]) -> Result<(), ApiErr> {
    let month = china_year_month(st.now_secs());
    let mut received: HashMap<&str, u32> = HashMap::new();
    for j in st.mass_jobs.iter().filter(|j| j.via != "preview" && china_year_month(j.created_at) == month) {
        for r in &j.recipients {
            *received.entry(r.as_str()).or_default() += 1;
        }
    }
    if recipients.iter().any(|r| received.get(r.as_str()).copied().unwrap_or(0) >= st.cfg.mass_quota_per_month) {
        return err(errcode::NO_MASSSEND_QUOTA);
    }
    Ok(())
}

fn deliver_mass(
    st: &mut SimState,
    via: &str,
    msgtype: &str,
    delivered: Value,
    clientmsgid: Option<String>,
    recipients: Vec<String>,
) -> (u64, Option<u64>) {
    let msg_id = st.next_msgid();
    let msg_data_id = (msgtype == "mpnews" && via != "preview").then(|| 2_247_483_647 + msg_id % 1_000_000);
    let kind = if via == "preview" { PushKind::MassPreview } else { PushKind::Mass };
    for r in &recipients {
        st.push(r, kind, delivered.clone(), Some(msg_id));
    }
    if msgtype == "mpnews" && via != "preview" {
        // A draft is consumed once mass-sent (reference §5).
        if let Some(id) = delivered.get("mpnews").and_then(|m| s(m, "media_id")) {
            let id = id.to_owned();
            st.drafts.remove(&id);
        }
    }
    let created_ms = st.now_ms();
    st.mass_jobs.push(MassJob {
        msg_id,
        msg_data_id,
        via: via.to_owned(),
        msgtype: msgtype.to_owned(),
        body: delivered,
        clientmsgid,
        recipients,
        status: "SEND_SUCCESS".to_owned(),
        created_at: created_ms.div_euclid(1000),
        created_ms,
    });
    (msg_id, msg_data_id)
}

fn mass_answer(msg_id: u64, msg_data_id: Option<u64>) -> Result<Reply, ApiErr> {
    let mut v = json!({"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id});
    if let Some(d) = msg_data_id {
        v["msg_data_id"] = d.into();
    }
    Ok(Reply::Json(v))
}

fn mass_sendall(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let clientmsgid = check_clientmsgid(st, &v)?;
    let filter = v.get("filter").filter(|f| f.is_object()).ok_or_else(|| ApiErr::hint(errcode::INVALID_ARGS, "filter missing"))?;
    let to_all = boolish(filter.get("is_to_all"));
    let tag = if to_all {
        None
    } else {
        match num(filter, "tag_id") {
            Some(id) if st.tags.contains_key(&id) => Some(id),
            _ => return err_hint(errcode::INVALID_GROUP_ID, "filter.tag_id"),
        }
    };
    let msgtype = s(&v, "msgtype").ok_or_else(|| ApiErr::hint(errcode::INVALID_MESSAGE_TYPE, "msgtype missing"))?.to_owned();
    let delivered = mass_content(st, &msgtype, &v)?;
    let recipients: Vec<String> = st
        .follower_order
        .iter()
        .filter(|o| {
            let f = &st.followers[*o];
            f.subscribed && tag.is_none_or(|t| f.tagid_list.contains(&t))
        })
        .cloned()
        .collect();
    check_quota(st, &recipients)?;
    let (msg_id, msg_data_id) = deliver_mass(st, "sendall", &msgtype, delivered, clientmsgid, recipients);
    mass_answer(msg_id, msg_data_id)
}

fn mass_send_list(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let clientmsgid = check_clientmsgid(st, &v)?;
    let list: Vec<String> = v
        .get("touser")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if list.len() < 2 {
        return err(errcode::INVALID_OPENID_LIST_MIN);
    }
    if list.len() > 10_000 {
        return err_hint(errcode::INVALID_OPENID_LIST_SIZE, "at most 10000 openids");
    }
    if let Some(bad) = list.iter().find(|o| !st.followers.contains_key(*o)) {
        return err_hint(errcode::INVALID_OPENID, bad);
    }
    let msgtype = s(&v, "msgtype").ok_or_else(|| ApiErr::hint(errcode::INVALID_MESSAGE_TYPE, "msgtype missing"))?.to_owned();
    let delivered = mass_content(st, &msgtype, &v)?;
    let mut recipients = Vec::new();
    for o in list {
        if st.followers[&o].subscribed && !recipients.contains(&o) {
            recipients.push(o);
        }
    }
    check_quota(st, &recipients)?;
    let (msg_id, msg_data_id) = deliver_mass(st, "send", &msgtype, delivered, clientmsgid, recipients);
    mass_answer(msg_id, msg_data_id)
}

fn mass_preview(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let openid = match (s(&v, "touser").filter(|t| !t.is_empty()), s(&v, "towxname").filter(|t| !t.is_empty())) {
        (Some(o), _) => o.to_owned(),
        (None, Some(name)) => st
            .followers
            .values()
            .find(|f| f.wxname.as_deref() == Some(name))
            .map(|f| f.openid.clone())
            .ok_or_else(|| ApiErr::hint(errcode::INVALID_WECHAT_ID, name))?,
        (None, None) => return err_hint(errcode::INVALID_OPENID, "touser or towxname"),
    };
    st.require_follower(&openid)?;
    let msgtype = s(&v, "msgtype").ok_or_else(|| ApiErr::hint(errcode::INVALID_MESSAGE_TYPE, "msgtype missing"))?.to_owned();
    let delivered = mass_content(st, &msgtype, &v)?;
    let (msg_id, _) = deliver_mass(st, "preview", &msgtype, delivered, None, vec![openid]);
    Ok(Reply::Json(json!({"errcode": 0, "errmsg": "preview success", "msg_id": msg_id})))
}

// ---- drafts ----

fn check_article(st: &SimState, a: &Value, idx: usize) -> Result<(), ApiErr> {
    if !a.is_object() {
        return err_hint(errcode::DATA_FORMAT_ERROR, format!("articles[{idx}]"));
    }
    let title = s(a, "title").unwrap_or_default();
    if title.is_empty() {
        return err_hint(errcode::EMPTY_NEWS_DATA, format!("articles[{idx}].title missing"));
    }
    if title.chars().count() > 32 {
        return err_hint(errcode::TITLE_SIZE_OUT_OF_LIMIT, format!("articles[{idx}].title longer than 32 characters"));
    }
    if s(a, "author").unwrap_or_default().chars().count() > 16 {
        return err_hint(errcode::AUTHOR_SIZE_OUT_OF_LIMIT, format!("articles[{idx}].author longer than 16 characters"));
    }
    if s(a, "digest").unwrap_or_default().chars().count() > 128 {
        return err_hint(errcode::DESCRIPTION_SIZE_OUT_OF_LIMIT, format!("articles[{idx}].digest longer than 128 characters"));
    }
    if s(a, "content_source_url").unwrap_or_default().len() > 1024 {
        return err_hint(errcode::URL_SIZE_OUT_OF_LIMIT, format!("articles[{idx}].content_source_url"));
    }
    let content = s(a, "content").unwrap_or_default();
    if content.is_empty() {
        return err_hint(errcode::EMPTY_NEWS_DATA, format!("articles[{idx}].content missing"));
    }
    if content.chars().count() >= 20_000 || content.len() >= 1 << 20 {
        return err_hint(errcode::CONTENT_SIZE_OUT_OF_LIMIT, format!("articles[{idx}].content: 20000 characters / 1 MB at most"));
    }
    if s(a, "article_type").unwrap_or("news") == "news" {
        let thumb = s(a, "thumb_media_id").unwrap_or_default();
        let ok = st.media.get(thumb).is_some_and(|m| m.permanent && (m.kind == "image" || m.kind == "thumb"));
        if !ok {
            return err_hint(errcode::INVALID_MEDIA_ID, format!("articles[{idx}].thumb_media_id must be a permanent image material"));
        }
    }
    Ok(())
}

fn normalize_article(base: &str, media_id: &str, idx: usize, a: &Value) -> Value {
    let mut a = a.clone();
    if let Value::Object(m) = &mut a {
        m.entry("article_type").or_insert_with(|| "news".into());
        m.entry("author").or_insert_with(|| "".into());
        m.entry("digest").or_insert_with(|| "".into());
        m.entry("content_source_url").or_insert_with(|| "".into());
        m.entry("need_open_comment").or_insert_with(|| 0.into());
        m.entry("only_fans_can_comment").or_insert_with(|| 0.into());
        m.insert("url".into(), format!("{base}/s/{media_id}_{}", idx + 1).into());
        if let Some(thumb) = m.get("thumb_media_id").and_then(Value::as_str).map(str::to_owned) {
            m.insert("thumb_url".into(), format!("{base}/mmbiz/{thumb}").into());
        }
    }
    a
}

fn draft_add(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let articles = v.get("articles").and_then(Value::as_array).cloned().unwrap_or_default();
    if articles.is_empty() {
        return err_hint(errcode::EMPTY_NEWS_DATA, "articles missing");
    }
    if articles.len() > 8 {
        return err_hint(errcode::ARTICLE_SIZE_OUT_OF_LIMIT, "at most 8 articles");
    }
    for (i, a) in articles.iter().enumerate() {
        check_article(st, a, i)?;
    }
    let media_id = random_string(43);
    let now = st.now_secs();
    let articles = articles.iter().enumerate().map(|(i, a)| normalize_article(&ctx.base, &media_id, i, a)).collect();
    st.drafts.insert(media_id.clone(), Draft { media_id: media_id.clone(), articles, create_time: now, update_time: now });
    Ok(Reply::Json(json!({ "media_id": media_id })))
}

fn draft_update(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let media_id = s(&v, "media_id").unwrap_or_default().to_owned();
    let len = st.drafts.get(&media_id).ok_or_else(|| ApiErr::new(errcode::INVALID_MEDIA_ID))?.articles.len();
    let index = num(&v, "index").unwrap_or(0) as usize;
    if index >= len {
        return err_hint(errcode::INVALID_ARGS, "index");
    }
    let article = v.get("articles").cloned().unwrap_or(Value::Null);
    check_article(st, &article, index)?;
    let now = st.now_secs();
    let normalized = normalize_article(&ctx.base, &media_id, index, &article);
    let d = st.drafts.get_mut(&media_id).expect("checked");
    d.articles[index] = normalized;
    d.update_time = now;
    ok()
}

fn draft_batchget(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let offset = num(&v, "offset").unwrap_or(0) as usize;
    let count = num(&v, "count").unwrap_or(0) as usize;
    if !(1..=20).contains(&count) {
        return err_hint(errcode::INVALID_ARGS, "count must be 1..20");
    }
    let no_content = boolish(v.get("no_content"));
    let mut drafts: Vec<&Draft> = st.drafts.values().collect();
    drafts.sort_by(|a, b| b.update_time.cmp(&a.update_time).then(a.media_id.cmp(&b.media_id)));
    let items: Vec<Value> = drafts
        .iter()
        .skip(offset)
        .take(count)
        .map(|d| {
            let news: Vec<Value> = d
                .articles
                .iter()
                .map(|a| {
                    let mut a = a.clone();
                    if no_content
                        && let Value::Object(m) = &mut a {
                            m.remove("content");
                        }
                    a
                })
                .collect();
            json!({"media_id": d.media_id, "content": {"news_item": news, "create_time": d.create_time, "update_time": d.update_time}, "update_time": d.update_time})
        })
        .collect();
    Ok(Reply::Json(json!({"total_count": drafts.len(), "item_count": items.len(), "item": items})))
}

// ---- media ----

fn upload(st: &mut SimState, ctx: &Ctx, kind: &str, permanent: bool) -> Result<Media, ApiErr> {
    // (allowed extensions, byte limit) per type; uploadimg is jpg/png under 1 MB.
    let (exts, limit, size_code): (&[&str], usize, i64) = match kind {
        "uploadimg" => (&["jpg", "jpeg", "png"], 1 << 20, errcode::INVALID_IMAGE_SIZE),
        "image" => (&["bmp", "png", "jpeg", "jpg", "gif"], 10 << 20, errcode::INVALID_IMAGE_SIZE),
        "voice" => (&["amr", "mp3", "wma", "wav"], 2 << 20, errcode::INVALID_FILE_SIZE),
        "video" => (&["mp4"], 10 << 20, errcode::INVALID_FILE_SIZE),
        "thumb" => (&["jpg", "jpeg"], 64 << 10, errcode::INVALID_FILE_SIZE),
        _ => return err(errcode::INVALID_MEDIA_TYPE),
    };
    let ct = ctx.headers.get(header::CONTENT_TYPE).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let parts = multipart::parse(ct, &ctx.body).ok_or_else(|| ApiErr::new(errcode::MEDIA_DATA_MISSING))?;
    let part = parts.into_iter().find(|p| p.name == "media").ok_or_else(|| ApiErr::new(errcode::MEDIA_DATA_MISSING))?;
    if part.data.is_empty() {
        return err(errcode::EMPTY_MEDIA_DATA);
    }
    let filename = part.filename.clone().unwrap_or_default();
    let ext = match filename.rsplit_once('.') {
        Some((_, e)) => e.to_ascii_lowercase(),
        // No extension: go by the part's Content-Type (image/png → png).
        None => part.content_type.as_deref().and_then(|c| c.split('/').nth(1)).unwrap_or_default().to_ascii_lowercase(),
    };
    if !exts.contains(&ext.as_str()) {
        return err_hint(errcode::INVALID_FILE_TYPE, format!("{filename:?}: {} only", exts.join("/")));
    }
    if part.data.len() > limit {
        return err_hint(size_code, format!("{} bytes, at most {limit}", part.data.len()));
    }
    let content_type = match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "amr" => "audio/amr",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    };
    // uploadimg images are only served at their URL (never usable as a media_id) and do not expire.
    let media = Media {
        media_id: random_string(43),
        kind: kind.to_owned(),
        content_type: content_type.to_owned(),
        bytes: part.data,
        permanent: permanent || kind == "uploadimg",
        created_at: st.now_secs(),
    };
    st.media.insert(media.media_id.clone(), media.clone());
    Ok(media)
}

// ---- QR codes ----

fn qrcode_create(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let action = s(&v, "action_name").unwrap_or_default().to_owned();
    let scene = v.get("action_info").and_then(|a| a.get("scene")).cloned().unwrap_or(Value::Null);
    let (permanent, by_id) = match action.as_str() {
        "QR_SCENE" => (false, true),
        "QR_STR_SCENE" => (false, false),
        "QR_LIMIT_SCENE" => (true, true),
        "QR_LIMIT_STR_SCENE" => (true, false),
        _ => return err(errcode::INVALID_ACTION_NAME),
    };
    let (scene_id, scene_str) = if by_id {
        let max = if permanent { 100_000 } else { u32::MAX as u64 };
        match num(&scene, "scene_id") {
            Some(id) if (1..=max).contains(&id) => (Some(id), None),
            _ => return err_hint(errcode::INVALID_ACTION_INFO, format!("scene_id must be 1..{max}")),
        }
    } else {
        match s(&scene, "scene_str") {
            Some(sc) if (1..=64).contains(&sc.chars().count()) => (None, Some(sc.to_owned())),
            _ => return err_hint(errcode::INVALID_ACTION_INFO, "scene_str must be 1..64 characters"),
        }
    };
    let now = st.now_secs();
    if permanent {
        if let Some(existing) = st.qr_codes.iter().find(|q| q.permanent && q.scene_id == scene_id && q.scene_str == scene_str) {
            return Ok(Reply::Json(json!({"ticket": existing.ticket, "url": existing.url})));
        }
        if st.qr_codes.iter().filter(|q| q.permanent).count() >= QR_PERMANENT_LIMIT {
            return err(errcode::QRCODE_COUNT_OUT_OF_LIMIT);
        }
    }
    let expire_seconds = if permanent {
        None
    } else {
        match v.get("expire_seconds") {
            None | Some(Value::Null) => Some(60),
            Some(e) => match e.as_i64().or_else(|| e.as_str().and_then(|s| s.parse().ok())) {
                Some(n) if n > 0 => Some(n.min(QR_TEMP_MAX_SECS)),
                _ => return err_hint(errcode::INVALID_ARGS, "expire_seconds"),
            },
        }
    };
    let code = QrCode {
        ticket: format!("gQ{}==", random_string(62)),
        url: format!("http://weixin.qq.com/q/02{}", random_string(22)),
        action_name: action,
        scene_id,
        scene_str,
        permanent,
        expire_at: expire_seconds.map(|e| now + e),
        created_at: now,
    };
    let mut answer = json!({"ticket": code.ticket, "url": code.url});
    if let Some(e) = expire_seconds {
        answer["expire_seconds"] = e.into();
    }
    st.qr_codes.push(code);
    Ok(Reply::Json(answer))
}

fn showqrcode(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let ticket = ctx.q("ticket").unwrap_or_default();
    let now = st.now_secs();
    let not_found = || Ok(Reply::Raw { status: StatusCode::NOT_FOUND, content_type: "text/plain", body: b"invalid ticket".to_vec() });
    let Some(code) = st.qr_codes.iter().find(|q| q.ticket == ticket) else { return not_found() };
    if code.expire_at.is_some_and(|e| now >= e) {
        return not_found();
    }
    match qrcode::QrCode::new(code.url.as_bytes()) {
        Ok(qr) => {
            let svg = qr.render::<qrcode::render::svg::Color>().min_dimensions(430, 430).build();
            Ok(Reply::Raw { status: StatusCode::OK, content_type: "image/svg+xml", body: svg.into_bytes() })
        }
        Err(_) => err(errcode::SYSTEM_BUSY),
    }
}

// ---- tags ----

fn check_tag_name(st: &SimState, name: &str, except: Option<u64>) -> Result<String, ApiErr> {
    if name.trim().is_empty() {
        return err_hint(errcode::INVALID_TAG_NAME, "empty");
    }
    if name.len() > 30 {
        return err_hint(errcode::TAG_NAME_TOO_LONG, format!("{} bytes, at most 30", name.len()));
    }
    if st.tags.iter().any(|(id, n)| n == name && Some(*id) != except) {
        return err_hint(errcode::INVALID_TAG_NAME, "a tag with this name exists");
    }
    Ok(name.to_owned())
}

fn tags_create(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let name = v.get("tag").and_then(|t| s(t, "name")).unwrap_or_default();
    let name = check_tag_name(st, name, None)?;
    if st.tags.keys().filter(|id| **id > 2).count() >= 100 {
        return err(errcode::TOO_MANY_TAGS);
    }
    let id = st.next_tag_id;
    st.next_tag_id += 1;
    st.tags.insert(id, name.clone());
    Ok(Reply::Json(json!({"tag": {"id": id, "name": name}})))
}

fn tagging(st: &mut SimState, ctx: &Ctx, add: bool) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let list: Vec<String> = v
        .get("openid_list")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if list.is_empty() || list.len() > 50 {
        return err_hint(errcode::INVALID_OPENID_LIST_SIZE, "openid_list must hold 1..50 openids");
    }
    let tagid = num(&v, "tagid").ok_or_else(|| ApiErr::new(errcode::INVALID_TAG_ID))?;
    if !st.tags.contains_key(&tagid) {
        return err(errcode::INVALID_TAG_ID);
    }
    for o in &list {
        let f = st.followers.get(o).ok_or_else(|| ApiErr::hint(errcode::INVALID_OPENID, o))?;
        if add && !f.tagid_list.contains(&tagid) && f.tagid_list.len() >= 20 {
            return err(errcode::USER_TAG_LIMIT);
        }
    }
    for o in &list {
        let f = st.followers.get_mut(o).expect("checked");
        if add {
            if !f.tagid_list.contains(&tagid) {
                f.tagid_list.push(tagid);
            }
        } else {
            f.tagid_list.retain(|t| *t != tagid);
        }
    }
    ok()
}

// ---- OAuth2 web authorization ----

fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn oauth_authorize(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let appid = ctx.q("appid").unwrap_or_default();
    if appid.is_empty() {
        return page_error(10012, "appid missing");
    }
    if appid != st.cfg.app_id {
        return page_error(errcode::INVALID_APPID, "invalid appid");
    }
    let redirect = ctx.q("redirect_uri").unwrap_or_default();
    if redirect.is_empty() {
        return page_error(10011, "redirect_uri missing");
    }
    if !(redirect.starts_with("http://") || redirect.starts_with("https://")) {
        return page_error(10003, "redirect_uri is not an http(s) URL");
    }
    if !st.cfg.oauth_domains.is_empty() {
        let host = redirect.split("://").nth(1).unwrap_or_default().split(['/', '?', '#']).next().unwrap_or_default();
        let host_no_port = host.split(':').next().unwrap_or_default();
        if !st.cfg.oauth_domains.iter().any(|d| d == host || d == host_no_port) {
            return page_error(10003, "redirect_uri domain does not match the configured one");
        }
    }
    if ctx.q("response_type") != Some("code") {
        return page_error(errcode::INVALID_ARGS, "response_type must be code");
    }
    let scope = ctx.q("scope").unwrap_or_default().to_owned();
    if scope.is_empty() {
        return page_error(10010, "scope missing");
    }
    if scope != "snsapi_base" && scope != "snsapi_userinfo" {
        return page_error(10005, "no permission for this scope");
    }
    let state = ctx.q("state").unwrap_or_default();
    if state.len() > 128 {
        return page_error(errcode::INVALID_ARGS, "state longer than 128 bytes");
    }
    let openid =
        ctx.q("sim_openid").map(str::to_owned).filter(|o| !o.is_empty()).or_else(|| ctx.cookie("sim_openid").filter(|o| !o.is_empty()));
    let Some(openid) = openid else {
        return page_error(0, "simulator: no reader on this phone (pass sim_openid as a query parameter or cookie)");
    };
    st.know_user(&openid);
    let code = random_string(32);
    let created_ms = st.now_ms();
    st.oauth_codes.insert(code.clone(), OAuthCode { openid, scope, created_ms, used: false });
    let (base, fragment) = match redirect.split_once('#') {
        Some((b, f)) => (b, format!("#{f}")),
        None => (redirect, String::new()),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(Reply::Redirect(format!("{base}{sep}code={code}&state={}{fragment}", pct(state))))
}

fn sns_access_token(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    match ctx.q("appid") {
        None | Some("") => return err(errcode::APPID_MISSING),
        Some(a) if a != st.cfg.app_id => return err(errcode::INVALID_APPID),
        _ => {}
    }
    match ctx.q("secret") {
        None | Some("") => return err(errcode::APPSECRET_MISSING),
        Some(sec) if sec != st.cfg.app_secret => return err(errcode::INVALID_APPSECRET),
        _ => {}
    }
    if ctx.q("grant_type") != Some("authorization_code") {
        return err(errcode::INVALID_GRANT_TYPE);
    }
    let code = match ctx.q("code") {
        None | Some("") => return err(errcode::CODE_MISSING),
        Some(c) => c,
    };
    let now = st.now_ms();
    let rec = st.oauth_codes.get_mut(code).ok_or_else(|| ApiErr::new(errcode::INVALID_CODE))?;
    if rec.used {
        return err(errcode::CODE_BEEN_USED);
    }
    // 40029 reads "invalid code" (不合法或已过期的code): WeChat uses it for expired codes too.
    if now >= rec.created_ms + OAUTH_CODE_TTL_MS {
        return err(errcode::INVALID_CODE);
    }
    rec.used = true;
    let (openid, scope) = (rec.openid.clone(), rec.scope.clone());
    let token = format!("SNS_{}", random_string(100));
    st.sns_tokens.insert(token.clone(), SnsToken { openid: openid.clone(), scope: scope.clone(), expires_ms: now + TOKEN_TTL_MS });
    Ok(Reply::Json(json!({
        "access_token": token,
        "expires_in": TOKEN_TTL_MS / 1000,
        "refresh_token": format!("SNSR_{}", random_string(100)),
        "openid": openid,
        "scope": scope,
    })))
}

fn sns_userinfo(st: &mut SimState, ctx: &Ctx) -> Result<Reply, ApiErr> {
    let token = match ctx.q("access_token") {
        None | Some("") => return err(errcode::ACCESS_TOKEN_MISSING),
        Some(t) => t,
    };
    let rec = st.sns_tokens.get(token).ok_or_else(|| ApiErr::new(errcode::INVALID_CREDENTIAL))?;
    if rec.expires_ms <= st.now_ms() {
        return err(errcode::ACCESS_TOKEN_EXPIRED);
    }
    if rec.scope != "snsapi_userinfo" {
        return err(errcode::API_UNAUTHORIZED);
    }
    if ctx.q("openid") != Some(rec.openid.as_str()) {
        return err(errcode::INVALID_OPENID);
    }
    // Since 2021-12-27 WeChat returns a default nickname and avatar.
    Ok(Reply::Json(json!({
        "openid": rec.openid, "nickname": "微信用户", "sex": 0, "province": "", "city": "", "country": "",
        "headimgurl": "https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132",
        "privilege": [],
    })))
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
fn days_of(date: &str) -> Option<i64> {
    let mut it = date.splitn(3, '-');
    let (y, m, d): (i64, i64, i64) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    if date.len() != 10 || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // Reject dates like 02-30 by converting back.
    (date_of(days) == date).then_some(days)
}

fn date_of(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", yoe + era * 400 + i64::from(m <= 2))
}

/// `datacube/getusersummary` (new and cancelled followers per day and source) and
/// `getusercumulate` (followers at the end of each day), with WeChat's rules: dates in Beijing
/// time, at most 7 days, `end_date` no later than yesterday.
fn datacube_users(st: &mut SimState, ctx: &Ctx, cumulate: bool) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let (Some(begin), Some(end)) = (s(&v, "begin_date").and_then(days_of), s(&v, "end_date").and_then(days_of)) else {
        return err_hint(errcode::DATE_FORMAT_ERROR, "begin_date and end_date must be YYYY-MM-DD");
    };
    let day_of = |secs: i64| (secs + 8 * 3600).div_euclid(86_400);
    let today = day_of(st.now_secs());
    if begin > end || end - begin >= 7 || end >= today {
        return err_hint(errcode::DATE_RANGE_ERROR, "at most 7 days, ending yesterday at the latest");
    }
    let mut list = Vec::new();
    for day in begin..=end {
        if cumulate {
            let net: i64 = st.follow_log.iter().filter(|e| day_of(e.at) <= day).map(|e| if e.follow { 1 } else { -1 }).sum();
            list.push(json!({"ref_date": date_of(day), "cumulate_user": net}));
        } else {
            // One row per source with followers that day (1 search, 30 QR code).
            for source in [1u32, 30] {
                let of_day = st.follow_log.iter().filter(|e| day_of(e.at) == day && e.source == source);
                let (new, cancel) = of_day.fold((0, 0), |(n, c), e| if e.follow { (n + 1, c) } else { (n, c + 1) });
                if new + cancel > 0 {
                    list.push(json!({"ref_date": date_of(day), "user_source": source, "new_user": new, "cancel_user": cancel}));
                }
            }
        }
    }
    Ok(Reply::Json(json!({"list": list})))
}

/// Readers and reads of one article among `reads`: (in-WeChat page users, count, 阅读原文 users, count).
fn article_figures<'a>(reads: impl Iterator<Item = &'a crate::state::ArticleRead>) -> (usize, usize, usize, usize) {
    let (mut page, mut ori) = (Vec::new(), Vec::new());
    for r in reads {
        if r.original { ori.push(r.openid.as_str()) } else { page.push(r.openid.as_str()) }
    }
    let users = |v: &[&str]| v.iter().collect::<std::collections::HashSet<_>>().len();
    (users(&page), page.len(), users(&ori), ori.len())
}

/// `datacube/getarticlesummary` (each sent news article's reads on one day; only articles with at
/// least 3 readers or shares are listed) and `getarticletotal` (articles sent on `ref_date`, each
/// with cumulative `details` per `stat_date` up to 7 days after sending and no later than
/// yesterday). Both take one day at most, ending yesterday at the latest. Figures come from the
/// article opens recorded by `_control/article_read`; nobody shares or favourites here, so those are 0.
fn datacube_articles(st: &mut SimState, ctx: &Ctx, total: bool) -> Result<Reply, ApiErr> {
    let v = ctx.json()?;
    let (Some(begin), Some(end)) = (s(&v, "begin_date").and_then(days_of), s(&v, "end_date").and_then(days_of)) else {
        return err_hint(errcode::DATE_FORMAT_ERROR, "begin_date and end_date must be YYYY-MM-DD");
    };
    let day_of = |secs: i64| (secs + 8 * 3600).div_euclid(86_400);
    let today = day_of(st.now_secs());
    if begin != end || end >= today {
        return err_hint(errcode::DATE_RANGE_ERROR, "one day at most, yesterday at the latest");
    }
    let day = begin;
    let mut list = Vec::new();
    for job in st.mass_jobs.iter().filter(|j| j.via != "preview" && j.status == "SEND_SUCCESS") {
        let Some(data_id) = job.msg_data_id else { continue };
        let sent_day = day_of(job.created_at);
        if total && sent_day != day {
            continue;
        }
        let articles = job.body.get("mpnews").and_then(|m| m.get("articles")).and_then(Value::as_array).cloned().unwrap_or_default();
        for (idx, a) in articles.iter().enumerate() {
            let title = a.get("title").cloned().unwrap_or(Value::Null);
            let msgid = format!("{data_id}_{}", idx + 1);
            let of_article = |r: &&crate::state::ArticleRead| r.msg_id == job.msg_id && r.idx == idx;
            if total {
                let mut details = Vec::new();
                for stat in sent_day..=(sent_day + 6).min(today - 1) {
                    let (pu, pc, ou, oc) = article_figures(st.article_reads.iter().filter(of_article).filter(|r| day_of(r.at) <= stat));
                    details.push(json!({"stat_date": date_of(stat), "target_user": job.recipients.len(),
                        "int_page_read_user": pu, "int_page_read_count": pc, "ori_page_read_user": ou, "ori_page_read_count": oc,
                        "share_user": 0, "share_count": 0, "add_to_fav_user": 0, "add_to_fav_count": 0}));
                }
                list.push(json!({"ref_date": date_of(day), "msgid": msgid, "title": title, "details": details}));
            } else {
                let (pu, pc, ou, oc) = article_figures(st.article_reads.iter().filter(of_article).filter(|r| day_of(r.at) == day));
                if pu >= 3 {
                    list.push(json!({"ref_date": date_of(day), "msgid": msgid, "title": title,
                        "int_page_read_user": pu, "int_page_read_count": pc, "ori_page_read_user": ou, "ori_page_read_count": oc,
                        "share_user": 0, "share_count": 0, "add_to_fav_user": 0, "add_to_fav_count": 0}));
                }
            }
        }
    }
    Ok(Reply::Json(json!({"list": list})))
}
