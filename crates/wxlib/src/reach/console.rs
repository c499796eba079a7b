//! Console pages of reach: `/console/reach` (channels with their funnels and posters, draws) and
//! `/console/analytics` (charts as inline SVG drawn here, the numbers beside them, CSV export).

use axum::extract::{Form, Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{Funnel, ReachError, draw};
use crate::console::csv::Sheet;
use crate::console::layout::{csrf_field, flash_error, flash_ok, page};
use crate::console::{ConsoleError, Librarian, audit};
use crate::db::{Db, DbError};
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;
use crate::web::escape;

/// `/console/reach`.
pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new()
        .route("/", get(reach_page))
        .route("/channels", post(create_channel))
        .route("/channels/{id}/poster.pdf", get(poster_pdf))
        .route("/channels/{id}/poster.png", get(poster_png))
        .route("/draws", post(create_draw))
        .route("/draws/{id}/run", post(run_draw))
}

/// `/console/analytics`.
pub fn analytics_routes() -> axum::Router<Services> {
    axum::Router::new().route("/", get(analytics_page)).route("/data.json", get(analytics_json)).route("/{name}", get(analytics_csv))
}

#[derive(Deserialize, Default)]
struct Flash {
    ok: Option<String>,
    error: Option<String>,
}

impl From<ReachError> for ConsoleError {
    fn from(e: ReachError) -> Self {
        match e {
            ReachError::Db(e) => ConsoleError::Db(e),
            ReachError::Api(e) => ConsoleError::Api(e),
            other => ConsoleError::Feature(Box::new(other)),
        }
    }
}

fn back(key: &str, msg: &str) -> Response {
    let q = serde_urlencoded::to_string([(key, msg)]).unwrap_or_default();
    Redirect::to(&format!("/console/reach?{q}")).into_response()
}

async fn reach_page(State(s): State<Services>, lib: Librarian, Query(f): Query<Flash>) -> Result<Html<String>, ConsoleError> {
    let lang = lib.lang;
    let mut body = String::new();
    if let Some(m) = &f.ok {
        body.push_str(&flash_ok(m));
    }
    if let Some(m) = &f.error {
        body.push_str(&flash_error(m));
    }
    let csrf = csrf_field(&lib);
    let mut rows = String::new();
    for c in s.db.channels().await? {
        let fu = s.db.funnel(&c.scene).await?;
        rows.push_str(&format!(
            "<tr data-scene=\"{scene}\"><td>{name}<br><span class=\"muted\">{caption}</span></td><td class=\"scans\">{}</td><td class=\"follows\">{}</td><td class=\"bound\">{}</td><td class=\"active\">{}</td><td class=\"lost\">{}</td>\
             <td><a href=\"/console/reach/channels/{id}/poster.pdf\">PDF</a> · <a href=\"/console/reach/channels/{id}/poster.png\">PNG</a></td></tr>",
            fu.scans, fu.follows, fu.bound, fu.active, fu.lost_7d,
            scene = escape(&c.scene), name = escape(&c.name), caption = escape(&c.caption), id = c.id
        ));
    }
    body.push_str(&format!(
        "<div class=\"card\"><h2>{h}</h2><table id=\"funnel\"><tr><th>{ch}</th><th>{sc}</th><th>{fo}</th><th>{bo}</th><th>{ac}</th><th>{lo}</th><th>{po}</th></tr>{rows}</table>\
         <p><a href=\"/console/analytics/channels.csv\">CSV</a></p>\
         <form method=\"post\" action=\"/console/reach/channels\" class=\"row\">{csrf}<input name=\"name\" placeholder=\"{np}\" required><input name=\"caption\" placeholder=\"{cp}\" size=\"30\"><button>{add}</button></form></div>",
        h = t(lang, "渠道与海报", "Channels and posters"),
        ch = t(lang, "渠道", "Channel"),
        sc = t(lang, "已关注者扫码", "Scans by followers"),
        fo = t(lang, "扫码关注", "Follows"),
        bo = t(lang, "绑定一卡通", "Bound cards"),
        ac = t(lang, "检索或续借", "Searched or renewed"),
        lo = t(lang, "7 天内取关", "Unfollowed within 7 days"),
        po = t(lang, "海报", "Poster"),
        np = t(lang, "渠道名称，如：图书馆正门", "Name, e.g. library door"),
        cp = t(lang, "海报说明", "Poster caption"),
        add = t(lang, "新建渠道", "Add channel"),
    ));
    let mut drows = String::new();
    for d in s.db.draws().await? {
        let state = match d.drawn_at {
            Some(_) => t(lang, "已开奖", "drawn").to_owned(),
            None => format!(
                "<form method=\"post\" action=\"/console/reach/draws/{}/run\" class=\"inline\">{csrf}<button>{}</button></form>",
                d.id,
                t(lang, "开奖", "Draw now")
            ),
        };
        drows.push_str(&format!(
            "<tr><td><a href=\"/draws/{id}\">{title}</a></td><td><code>{c}</code></td><td>{f}</td><td>{w}</td><td>{state}</td></tr>",
            id = d.id,
            title = escape(&d.title),
            c = &d.commitment[..16],
            f = crate::clock::datetime_input_value(d.freeze_at).replace('T', " "),
            w = d.winners
        ));
    }
    body.push_str(&format!(
        "<div class=\"card\"><h2>{h}</h2><p class=\"muted\">{help}</p><table><tr><th>{ti}</th><th>{co}</th><th>{fr}</th><th>{wi}</th><th></th></tr>{drows}</table>\
         <form method=\"post\" action=\"/console/reach/draws\" class=\"row\">{csrf}<input name=\"title\" placeholder=\"{tp}\" required><label>{fr} <input type=\"datetime-local\" name=\"freeze_at\" required></label><label>{wi} <input type=\"number\" name=\"winners\" value=\"3\" min=\"1\" max=\"1000\"></label><button>{add}</button></form></div>",
        h = t(lang, "读书节抽奖", "Reading Day draws"),
        help = t(lang, "创建时即公布种子的承诺值；截止时冻结条目（每位绑定读者一条，每位经推荐关注并绑定的读者为推荐人加一条）；开奖后公布种子，任何人都可复算。", "The seed's commitment is published on creation; entries freeze at the deadline (one per bound reader, one more for the referrer per referred reader who binds); the seed is published after the draw so anyone can recompute it."),
        ti = t(lang, "名称", "Title"),
        co = t(lang, "承诺值", "Commitment"),
        fr = t(lang, "截止", "Entries freeze"),
        wi = t(lang, "中奖人数", "Winners"),
        tp = t(lang, "如：读书节抽奖", "e.g. Reading Day draw"),
        add = t(lang, "创建抽奖", "Create draw"),
    ));
    Ok(page(&lib, t(lang, "推广与抽奖", "Reach and draws"), &body))
}

#[derive(Deserialize)]
struct ChannelForm {
    name: String,
    #[serde(default)]
    caption: String,
}

async fn create_channel(State(s): State<Services>, lib: Librarian, Form(f): Form<ChannelForm>) -> Result<Response, ConsoleError> {
    match super::create_channel(&s, &f.name, &f.caption).await {
        Ok(c) => {
            audit(&s.db, &lib, "reach.channel.create", &format!("{} {}", c.id, c.name)).await?;
            Ok(back("ok", t(lib.lang, "渠道已创建，二维码已生成。", "Channel created with its QR code.")))
        }
        Err(ReachError::Invalid(m)) => Ok(back("error", &m)),
        Err(e) => Err(e.into()),
    }
}

async fn poster(s: &Services, id: &str) -> Result<Vec<u8>, ConsoleError> {
    let id: i64 = id.parse().map_err(|_| ConsoleError::NotFound)?;
    let c = s.db.channel(id).await?.ok_or(ConsoleError::NotFound)?;
    Ok(super::poster::poster_pdf(
        &[&s.config.reach.poster_font, &s.config.reach.poster_font_fallback],
        &s.config.library.name,
        &c.caption,
        &c.name,
        &c.url,
    )?)
}

async fn poster_pdf(State(s): State<Services>, _lib: Librarian, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let pdf = poster(&s, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf"), (header::CONTENT_DISPOSITION, "inline; filename=\"poster.pdf\"")], pdf).into_response())
}

async fn poster_png(State(s): State<Services>, _lib: Librarian, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let png = super::poster::poster_png(poster(&s, &id).await?).await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

#[derive(Deserialize)]
struct DrawForm {
    title: String,
    freeze_at: String,
    #[serde(default)]
    winners: String,
}

async fn create_draw(State(s): State<Services>, lib: Librarian, Form(f): Form<DrawForm>) -> Result<Response, ConsoleError> {
    let Some(freeze) = crate::clock::parse_local(&f.freeze_at) else {
        return Ok(back("error", t(lib.lang, "截止时间格式不对。", "The deadline is not a date and time.")));
    };
    let Ok(winners) = f.winners.trim().parse::<i64>() else {
        return Ok(back("error", t(lib.lang, "中奖人数应为数字。", "Winners must be a number.")));
    };
    match draw::create_draw(&s, &f.title, freeze, winners).await {
        Ok(id) => {
            audit(&s.db, &lib, "reach.draw.create", &format!("{id} {}", f.title.trim())).await?;
            Ok(back("ok", t(lib.lang, "抽奖已创建，承诺值已公布。", "Draw created; its commitment is published.")))
        }
        Err(ReachError::Invalid(m)) => Ok(back("error", &m)),
        Err(e) => Err(e.into()),
    }
}

async fn run_draw(State(s): State<Services>, lib: Librarian, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let id: i64 = id.parse().map_err(|_| ConsoleError::NotFound)?;
    match draw::run_draw(&s, id).await {
        Ok(w) => {
            audit(&s.db, &lib, "reach.draw.run", &format!("{id}: {} winners", w.len())).await?;
            Ok(back("ok", t(lib.lang, "已开奖，已通知中奖者，种子已公布。", "Drawn; winners notified and the seed published.")))
        }
        Err(ReachError::Invalid(m)) => Ok(back("error", &m)),
        Err(e) => Err(e.into()),
    }
}

// ---- analytics ----

/// Days the follower chart covers.
const DAYS: i64 = 30;

#[derive(Debug, Serialize, Default)]
pub struct Analytics {
    /// (day, new, lost, net) for the last 30 days (China Standard Time).
    pub followers: Vec<(String, i64, i64, i64)>,
    /// (channel, funnel); referrals summed as one row.
    pub channels: Vec<(String, Funnel)>,
    /// Follows per day and channel over the same 30 days: (channel, [follows per day]), the days
    /// as in `followers`; the last row is every other follow (no code, or a code of no channel).
    pub channel_days: Vec<(String, Vec<i64>)>,
    pub menu: Vec<(String, i64)>,
    pub top_queries: Vec<(String, i64)>,
    pub zero_hits: Vec<(String, i64)>,
    pub followers_now: i64,
    pub bound_now: i64,
    /// (activity, confirmed sign-ups, capacity, check-ins of those signed up).
    pub activities: Vec<(String, i64, i64, i64)>,
    /// Mass messages, newest first (None until the broadcasts feature's tables exist).
    pub broadcasts: Option<Vec<BroadcastRead>>,
    /// Consultation response times (None until the consultation inbox's tables exist).
    pub consultations: Option<ResponseTimes>,
}

/// One mass message's reach: read rate = readers ÷ followers at send time.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct BroadcastRead {
    pub title: String,
    pub sent_at: i64,
    pub followers_at_send: i64,
    pub readers: i64,
    /// Readers whose first read came within a day of the send.
    pub read_first_day: i64,
}

/// How fast readers' questions got a librarian's answer.
#[derive(Debug, Serialize, Default, PartialEq)]
pub struct ResponseTimes {
    pub questions: i64,
    pub answered: i64,
    /// Median seconds from a question to the next answer to that reader.
    pub median_secs: Option<i64>,
    pub within_1h: i64,
    pub within_24h: i64,
}

async fn broadcast_reads(db: &Db) -> Result<Option<Vec<BroadcastRead>>, DbError> {
    if !(db.table_exists("broadcasts").await? && db.table_exists("broadcast_reads").await?) {
        return Ok(None);
    }
    Ok(Some(db.broadcast_read_rates().await?))
}

async fn response_times(db: &Db) -> Result<Option<ResponseTimes>, DbError> {
    if !db.table_exists("consult_messages").await? {
        return Ok(None);
    }
    let rows = db.consultation_waits().await?;
    let mut waits: Vec<i64> = rows.iter().filter_map(|(q, a)| a.map(|a| a - q)).collect();
    waits.sort_unstable();
    Ok(Some(ResponseTimes {
        questions: rows.len() as i64,
        answered: waits.len() as i64,
        median_secs: waits.get(waits.len() / 2).copied().filter(|_| !waits.is_empty()),
        within_1h: waits.iter().filter(|w| **w <= 3600).count() as i64,
        within_24h: waits.iter().filter(|w| **w <= crate::clock::DAY_SECS).count() as i64,
    }))
}

pub async fn analytics(s: &Services) -> Result<Analytics, DbError> {
    let db = &s.db;
    let now = s.clock.now();
    let since = now - DAYS * crate::clock::DAY_SECS;
    let evs = db.follow_events_since(since).await?;
    let mut days: Vec<(String, i64, i64, i64)> =
        (0..=DAYS).map(|i| (crate::clock::local_day(since + i * crate::clock::DAY_SECS), 0, 0, 0)).collect();
    days.dedup_by(|a, b| a.0 == b.0);
    for (ev, at) in evs {
        let day = crate::clock::local_day(at);
        if let Some(d) = days.iter_mut().find(|d| d.0 == day) {
            if ev == "subscribe" {
                d.1 += 1
            } else {
                d.2 += 1
            }
            d.3 = d.1 - d.2;
        }
    }
    let mut channels = Vec::new();
    for c in db.channels().await? {
        channels.push((c.name.clone(), db.funnel(&c.scene).await?));
    }
    let mut referral = Funnel::default();
    for scene in db.referral_scenes().await? {
        let f = db.funnel(&scene).await?;
        referral.scans += f.scans;
        referral.follows += f.follows;
        referral.bound += f.bound;
        referral.active += f.active;
        referral.lost_7d += f.lost_7d;
    }
    channels.push(("推荐码 / referrals".into(), referral));
    // Follows per day by channel: the scene of each follow in the window.
    let follows = db.follows_since(since).await?;
    let mut scene_row: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut channel_days: Vec<(String, Vec<i64>)> = Vec::new();
    for c in db.channels().await? {
        scene_row.insert(c.scene.clone(), channel_days.len());
        channel_days.push((c.name.clone(), vec![0; days.len()]));
    }
    let referral_row = channel_days.len();
    channel_days.push(("推荐码 / referrals".into(), vec![0; days.len()]));
    let other_row = channel_days.len();
    channel_days.push(("其他 / other".into(), vec![0; days.len()]));
    for (key, at) in follows {
        let scene = key.as_deref().and_then(|k| k.strip_prefix("qrscene_")).unwrap_or("");
        let row = match scene_row.get(scene) {
            Some(r) => *r,
            None if scene.starts_with(super::REFERRAL_PREFIX) => referral_row,
            None => other_row,
        };
        let day = crate::clock::local_day(at);
        if let Some(i) = days.iter().position(|d| d.0 == day) {
            channel_days[row].1[i] += 1;
        }
    }
    let menu = db.menu_clicks().await?;
    let top_queries = db.top_queries().await?;
    let zero_hits = db.zero_hit_queries().await?;
    let followers_now = db.count_followers().await?;
    let bound_now = db.bound_followers().await?;
    let activities = db.activity_figures().await?;
    let broadcasts = broadcast_reads(db).await?;
    let consultations = response_times(db).await?;
    Ok(Analytics {
        followers: days,
        channels,
        channel_days,
        menu,
        top_queries,
        zero_hits,
        followers_now,
        bound_now,
        activities,
        broadcasts,
        consultations,
    })
}

/// A horizontal bar chart as inline SVG; the numbers are printed at the bars' ends.
pub fn bar_chart(id: &str, rows: &[(String, i64)]) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let h = 22 * rows.len().max(1) + 4;
    let mut svg = format!(
        "<svg id=\"{id}\" class=\"chart\" width=\"620\" height=\"{h}\" viewBox=\"0 0 620 {h}\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">"
    );
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 4 + 22 * i;
        let w = (*v as f64 / max * 380.0).round();
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"180\" y=\"{y}\" width=\"{w}\" height=\"16\" fill=\"#1d6f42\"><title>{}: {v}</title></rect><text x=\"{}\" y=\"{}\" class=\"value\">{v}</text>",
            y + 12, escape(&label.chars().take(24).collect::<String>()), escape(label), 184.0 + w, y + 12
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// New (up) and lost (down) followers per day as inline SVG.
pub fn daily_chart(days: &[(String, i64, i64, i64)]) -> String {
    let max = days.iter().map(|d| d.1.max(d.2)).max().unwrap_or(0).max(1) as f64;
    let (w, mid) = (620.0, 90.0);
    let step = w / days.len().max(1) as f64;
    let mut svg = format!(
        "<svg id=\"chart-followers\" class=\"chart\" width=\"620\" height=\"200\" viewBox=\"0 0 620 200\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"10\"><line x1=\"0\" y1=\"{mid}\" x2=\"{w}\" y2=\"{mid}\" stroke=\"#999\"/>"
    );
    for (i, (day, new, lost, net)) in days.iter().enumerate() {
        let x = i as f64 * step;
        let up = *new as f64 / max * 80.0;
        let down = *lost as f64 / max * 80.0;
        svg.push_str(&format!(
            "<rect class=\"new\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{up:.1}\" fill=\"#1d6f42\"><title>{day}: +{new} −{lost} = {net}</title></rect><rect class=\"lost\" x=\"{x:.1}\" y=\"{mid}\" width=\"{:.1}\" height=\"{down:.1}\" fill=\"#b3261e\"/>",
            mid - up, step * 0.8, step * 0.8
        ));
        if i % 7 == 0 {
            svg.push_str(&format!("<text x=\"{x:.1}\" y=\"195\">{}</text>", &day[5..]));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A small bar chart of one channel's follows per day (same days as the follower chart).
pub fn sparkline(values: &[i64]) -> String {
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = 300.0 / values.len().max(1) as f64;
    let mut svg = String::from(
        "<svg class=\"chart spark\" width=\"300\" height=\"30\" viewBox=\"0 0 300 30\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">",
    );
    for (i, v) in values.iter().enumerate() {
        let h = *v as f64 / max * 28.0;
        svg.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#1d6f42\"><title>{v}</title></rect>",
            i as f64 * step,
            30.0 - h,
            step * 0.8
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn table(head: &[&str], rows: Vec<Vec<String>>) -> String {
    let h: String = head.iter().map(|c| format!("<th>{}</th>", escape(c))).collect();
    let r: String =
        rows.iter().map(|r| format!("<tr>{}</tr>", r.iter().map(|c| format!("<td>{}</td>", escape(c))).collect::<String>())).collect();
    format!("<table><tr>{h}</tr>{r}</table>")
}

fn pct(a: i64, b: i64) -> String {
    if b == 0 { "–".into() } else { format!("{:.1}%", a as f64 * 100.0 / b as f64) }
}

/// WeChat's own daily figures (datacube), when configured: the last 7 full days, WeChat's new
/// and lost followers beside wxlib's own count of the same days.
async fn datacube(s: &Services, lang: Lang, ours: &[(String, i64, i64, i64)]) -> String {
    if !s.config.reach.datacube {
        return format!(
            "<p class=\"muted\">{}</p>",
            t(
                lang,
                "未启用微信数据统计接口（[reach] datacube = true 启用）。",
                "WeChat's datacube is off ([reach] datacube = true turns it on)."
            )
        );
    }
    // Yesterday is the latest day WeChat has; 7 days at most per call.
    let end = crate::clock::local_day(s.clock.now() - crate::clock::DAY_SECS);
    let begin = crate::clock::local_day(s.clock.now() - 7 * crate::clock::DAY_SECS);
    let body = serde_json::json!({"begin_date": begin, "end_date": end});
    match s.api.call("datacube/getusersummary", "/datacube/getusersummary", Some(&body)).await {
        Ok(v) => {
            let mut days: std::collections::BTreeMap<String, (i64, i64)> = std::collections::BTreeMap::new();
            for r in v["list"].as_array().cloned().unwrap_or_default() {
                let e = days.entry(r["ref_date"].as_str().unwrap_or("").to_owned()).or_default();
                e.0 += r["new_user"].as_i64().unwrap_or(0);
                e.1 += r["cancel_user"].as_i64().unwrap_or(0);
            }
            let rows = ours
                .iter()
                .filter(|d| d.0 >= begin && d.0 <= end)
                .map(|d| {
                    let w = days.get(&d.0).copied().unwrap_or_default();
                    vec![d.0.clone(), w.0.to_string(), w.1.to_string(), d.1.to_string(), d.2.to_string()]
                })
                .collect();
            format!(
                "<div id=\"datacube\">{}</div>",
                table(
                    &[
                        t(lang, "日期", "Day"),
                        t(lang, "微信：新增", "WeChat: new"),
                        t(lang, "微信：取关", "WeChat: lost"),
                        t(lang, "本系统：新增", "wxlib: new"),
                        t(lang, "本系统：取关", "wxlib: lost")
                    ],
                    rows
                )
            )
        }
        Err(e) => flash_error(&format!("datacube: {e}")),
    }
}

async fn analytics_page(State(s): State<Services>, lib: Librarian) -> Result<Html<String>, ConsoleError> {
    let lang = lib.lang;
    let a = analytics(&s).await?;
    let card = |title: &str, chart: String, numbers: String, csv: &str| {
        let link = if csv.is_empty() { String::new() } else { format!("<p><a href=\"/console/analytics/{csv}.csv\">CSV</a></p>") };
        format!(
            "<div class=\"card\"><h2>{}</h2><div class=\"row\" style=\"align-items:flex-start\"><div>{chart}</div><div>{numbers}</div></div>{link}</div>",
            escape(title)
        )
    };
    let mut body = String::new();
    let total: (i64, i64) = a.followers.iter().fold((0, 0), |acc, d| (acc.0 + d.1, acc.1 + d.2));
    body.push_str(&card(
        t(lang, "关注人数（近 30 天：新增、取关、净增）", "Followers (last 30 days: new, lost, net)"),
        daily_chart(&a.followers),
        format!(
            "<p id=\"followers-total\">{} <b class=\"new\">{}</b> · {} <b class=\"lost\">{}</b> · {} <b class=\"net\">{}</b></p>",
            t(lang, "新增", "new"),
            total.0,
            t(lang, "取关", "lost"),
            total.1,
            t(lang, "净增", "net"),
            total.0 - total.1
        ),
        "followers",
    ));
    let follows: Vec<(String, i64)> = a.channels.iter().map(|(n, f)| (n.clone(), f.follows)).collect();
    let rows = a
        .channels
        .iter()
        .map(|(n, f)| {
            vec![n.clone(), f.scans.to_string(), f.follows.to_string(), f.bound.to_string(), f.active.to_string(), f.lost_7d.to_string()]
        })
        .collect();
    let spark_rows: String = a
        .channel_days
        .iter()
        .map(|(n, v)| format!("<tr><td>{}</td><td>{}</td><td class=\"sum\">{}</td></tr>", escape(n), sparkline(v), v.iter().sum::<i64>()))
        .collect();
    body.push_str(&format!(
        "<div class=\"card\"><h2>{}</h2><table id=\"channel-days\">{spark_rows}</table><p><a href=\"/console/analytics/channels_daily.csv\">CSV</a></p></div>",
        t(lang, "各渠道每日关注（近 30 天）", "Follows per day by channel (last 30 days)")
    ));
    body.push_str(&card(
        t(lang, "各渠道关注", "Follows by channel"),
        bar_chart("chart-channels", &follows),
        table(
            &[
                t(lang, "渠道", "Channel"),
                t(lang, "扫码", "Scans"),
                t(lang, "关注", "Follows"),
                t(lang, "绑定", "Bound"),
                t(lang, "检索/续借", "Active"),
                t(lang, "7天内取关", "Lost ≤7d"),
            ],
            rows,
        ),
        "channels",
    ));
    // Menu items by their names in the current menu, with the key (names change, keys stay).
    let menu = crate::menu::current_menu(&s).await?;
    let mut names = std::collections::HashMap::new();
    for b in menu["button"].as_array().into_iter().flatten() {
        for item in std::iter::once(b).chain(b["sub_button"].as_array().into_iter().flatten()) {
            if let (Some(k), Some(n)) = (item["key"].as_str(), item["name"].as_str()) {
                names.insert(k.to_owned(), n.to_owned());
            }
        }
    }
    let clicks: Vec<(String, i64)> =
        a.menu.iter().map(|(k, n)| (names.get(k).map(|name| format!("{name} ({k})")).unwrap_or_else(|| k.clone()), *n)).collect();
    body.push_str(&card(t(lang, "菜单点击", "Menu clicks"), bar_chart("chart-menu", &clicks), String::new(), "menu"));
    body.push_str(&card(t(lang, "热门检索词", "Top searches"), bar_chart("chart-queries", &a.top_queries), String::new(), "searches"));
    body.push_str(&card(
        t(lang, "零结果检索（建议采购）", "Zero-hit searches (what to buy)"),
        bar_chart("chart-zero", &a.zero_hits),
        String::new(),
        "zero_hits",
    ));
    body.push_str(&card(
        t(lang, "绑定率", "Bind rate"),
        bar_chart(
            "chart-bind",
            &[(t(lang, "关注者", "followers").to_owned(), a.followers_now), (t(lang, "已绑定", "bound").to_owned(), a.bound_now)],
        ),
        format!("<p id=\"bind-rate\">{}</p>", pct(a.bound_now, a.followers_now)),
        "",
    ));
    let act_rows =
        a.activities.iter().map(|(n, su, cap, ci)| vec![n.clone(), format!("{su}/{cap}"), pct(*su, *cap), pct(*ci, *su)]).collect();
    let act_chart: Vec<(String, i64)> = a.activities.iter().map(|(n, su, _, _)| (n.clone(), *su)).collect();
    body.push_str(&card(
        t(lang, "活动报名与签到率", "Activity sign-up and check-in rates"),
        bar_chart("chart-activities", &act_chart),
        table(
            &[
                t(lang, "活动", "Activity"),
                t(lang, "报名/名额", "Signed up/places"),
                t(lang, "报名率", "Sign-up rate"),
                t(lang, "签到率", "Check-in rate"),
            ],
            act_rows,
        ),
        "",
    ));
    let pending = |id: &str, what: &str| format!("<p class=\"muted\" id=\"{id}\">{}</p>", escape(what));
    match &a.broadcasts {
        None => body.push_str(&card(
            t(lang, "群发阅读率", "Mass-message read rates"),
            String::new(),
            pending(
                "pending-broadcasts",
                t(
                    lang,
                    "“图文消息”功能合入后显示（尚无数据表）。",
                    "Shown once the broadcasts feature is merged (its tables are not here yet).",
                ),
            ),
            "",
        )),
        Some(list) => {
            let chart: Vec<(String, i64)> = list
                .iter()
                .map(|b| (b.title.clone(), if b.followers_at_send > 0 { b.readers * 1000 / b.followers_at_send } else { 0 }))
                .collect();
            let rows = list
                .iter()
                .map(|b| {
                    vec![
                        b.title.clone(),
                        crate::clock::local_day(b.sent_at),
                        format!("{}/{}", b.readers, b.followers_at_send),
                        pct(b.readers, b.followers_at_send),
                        pct(b.read_first_day, b.readers),
                    ]
                })
                .collect();
            body.push_str(&card(
                t(lang, "群发阅读率（读者 ÷ 发送时关注人数，‰）", "Mass-message read rates (readers ÷ followers at send time, ‰)"),
                bar_chart("chart-broadcasts", &chart),
                table(
                    &[
                        t(lang, "消息", "Message"),
                        t(lang, "发送日", "Sent"),
                        t(lang, "读者/关注", "Readers/followers"),
                        t(lang, "阅读率", "Read rate"),
                        t(lang, "首日阅读占比", "Read on day 1"),
                    ],
                    rows,
                ),
                "",
            ));
        }
    }
    match &a.consultations {
        None => body.push_str(&card(
            t(lang, "咨询响应时间", "Consultation response times"),
            String::new(),
            pending(
                "pending-consultations",
                t(
                    lang,
                    "“咨询”功能合入后显示（尚无数据表）。",
                    "Shown once the consultation inbox is merged (its tables are not here yet).",
                ),
            ),
            "",
        )),
        Some(r) => {
            let chart = vec![
                (t(lang, "1 小时内", "within 1 h").to_owned(), r.within_1h),
                (t(lang, "24 小时内", "within 24 h").to_owned(), r.within_24h),
                (t(lang, "已回复", "answered").to_owned(), r.answered),
                (t(lang, "全部提问", "questions").to_owned(), r.questions),
            ];
            let median = r.median_secs.map(|s| format!("{}h{:02}m", s / 3600, s % 3600 / 60)).unwrap_or_else(|| "–".into());
            body.push_str(&card(
                t(lang, "咨询响应时间", "Consultation response times"),
                bar_chart("chart-consultations", &chart),
                format!("<p id=\"response-median\">{} {median}</p>", t(lang, "中位数", "median")),
                "",
            ));
        }
    }
    body.push_str(&format!(
        "<div class=\"card\"><h2>{}</h2>{}</div>",
        t(lang, "微信官方统计（datacube）", "WeChat's own figures (datacube)"),
        datacube(&s, lang, &a.followers).await
    ));
    Ok(page(&lib, t(lang, "数据分析", "Analytics"), &body))
}

async fn analytics_json(State(s): State<Services>, _lib: Librarian) -> Result<Response, ConsoleError> {
    Ok(axum::Json(analytics(&s).await?).into_response())
}

async fn analytics_csv(State(s): State<Services>, _lib: Librarian, Path(name): Path<String>) -> Result<Response, ConsoleError> {
    let a = analytics(&s).await?;
    let mut w = Sheet::new();
    match name.as_str() {
        "followers.csv" => {
            w.row(["day", "new", "lost", "net"])?;
            for d in &a.followers {
                w.row([d.0.clone(), d.1.to_string(), d.2.to_string(), d.3.to_string()])?;
            }
        }
        "channels.csv" => {
            w.row(["channel", "scans", "follows", "bound", "searched_or_renewed", "unfollowed_7d"])?;
            for (n, f) in &a.channels {
                w.row([
                    n.clone(),
                    f.scans.to_string(),
                    f.follows.to_string(),
                    f.bound.to_string(),
                    f.active.to_string(),
                    f.lost_7d.to_string(),
                ])?;
            }
        }
        "channels_daily.csv" => {
            w.row(["day", "channel", "follows"])?;
            for (i, d) in a.followers.iter().enumerate() {
                for (n, v) in &a.channel_days {
                    w.row([d.0.clone(), n.clone(), v[i].to_string()])?;
                }
            }
        }
        "menu.csv" | "searches.csv" | "zero_hits.csv" => {
            let rows = match name.as_str() {
                "menu.csv" => &a.menu,
                "searches.csv" => &a.top_queries,
                _ => &a.zero_hits,
            };
            w.row(["key", "count"])?;
            for (k, n) in rows {
                w.row([k.clone(), n.to_string()])?;
            }
        }
        _ => return Err(ConsoleError::NotFound),
    }
    w.into_response(None)
}
