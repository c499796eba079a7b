//! The console's news-message section (`/console/broadcasts`): compose and edit, upload body
//! images, preview to test readers, send to all followers or a tag (librarians and admins both
//! may send: it is the librarians' daily work; every send is audited), and the list with each
//! message's read rate (unique readers ÷ followers at send time) beside the earlier ones, with
//! this month's quota.

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::store::{Broadcast, Listed};
use super::{BroadcastError, Draft, Image, read_rate};
use crate::clock::local_datetime;
use crate::console::layout::{csrf_field, flash_error, flash_ok, page};
use crate::console::{ConsoleError, Librarian, audit};
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;
use crate::web::escape;

pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new()
        .route("/", get(list))
        .route("/new", get(new_form).post(create))
        .route("/{id}", get(detail))
        .route("/{id}/edit", post(edit))
        .route("/{id}/images", post(add_image))
        .route("/{id}/preview", post(preview))
        .route("/{id}/send", post(send))
        .route("/{id}/page", get(reader_view))
        .route("/{id}/cover", get(draft_cover))
        .route("/img/{img}", get(draft_image))
}

/// `GET /console/broadcasts/{id}/page`: the article as readers will see it, drafts included (the
/// public `/news/{id}` shows only what is being sent or sent).
async fn reader_view(State(s): State<Services>, _lib: Librarian, Path(id): Path<i64>) -> Result<Html<String>, ConsoleError> {
    let b = s.db.broadcast(id).await?.ok_or(ConsoleError::NotFound)?;
    let article = super::page::article_html(&b, &format!("/console/broadcasts/{id}/cover"), "/console/broadcasts/img/");
    Ok(Html(crate::web::page(&s.config.library.name, &article)))
}

/// `GET /console/broadcasts/{id}/cover`: any message's cover, for the console's preview.
async fn draft_cover(State(s): State<Services>, _lib: Librarian, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    let img = s.db.broadcast_cover(id).await?.ok_or(ConsoleError::NotFound)?;
    Ok(private_image(img))
}

/// `GET /console/broadcasts/img/{img}`: any message's body image, for the console's preview.
async fn draft_image(State(s): State<Services>, _lib: Librarian, Path(img): Path<i64>) -> Result<Response, ConsoleError> {
    let img = s.db.broadcast_image(img).await?.ok_or(ConsoleError::NotFound)?;
    Ok(private_image(img))
}

/// An image only signed-in librarians see: no shared cache keeps it.
fn private_image(img: Image) -> Response {
    ([(header::CONTENT_TYPE, img.content_type), (header::CACHE_CONTROL, "private, no-store".to_owned())], img.bytes).into_response()
}

impl From<BroadcastError> for ConsoleError {
    fn from(e: BroadcastError) -> Self {
        match e {
            BroadcastError::Db(e) => ConsoleError::Db(e),
            BroadcastError::Api(e) => ConsoleError::Api(e),
            BroadcastError::NotFound => ConsoleError::NotFound,
            other => ConsoleError::Feature(Box::new(other)),
        }
    }
}

fn state_label(state: &str, lang: Lang) -> &'static str {
    match state {
        "composed" => t(lang, "草稿", "Draft"),
        "queued" => t(lang, "排队中", "Queued"),
        "uploading" => t(lang, "上传中", "Uploading"),
        "sending" => t(lang, "发送中", "Sending"),
        "sent" => t(lang, "已发送", "Sent"),
        "failed" => t(lang, "发送失败", "Failed"),
        _ => "?",
    }
}

fn rate_text(readers: i64, followers: Option<i64>) -> String {
    match read_rate(readers, followers) {
        Some(r) => format!("{r:.1}%"),
        None => "—".to_owned(),
    }
}

/// Bars of read rates, oldest to newest: inline SVG (no CDN).
fn rate_chart(rows: &[&Listed], lang: Lang) -> String {
    let sent: Vec<(&Listed, f64)> =
        rows.iter().filter_map(|l| read_rate(l.readers, l.broadcast.followers_at_send).map(|r| (*l, r))).collect();
    if sent.is_empty() {
        return String::new();
    }
    let max = sent.iter().map(|(_, r)| *r).fold(1.0_f64, f64::max);
    let (w, h, bar) = (640.0, 160.0, 36.0);
    let gap = ((w - 40.0) / sent.len() as f64).min(bar + 24.0);
    let mut svg = format!(
        "<svg id=\"rate-chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {w} {}\" width=\"100%\" style=\"max-width:{w}px;background:#fff\">",
        t(lang, "阅读率对比", "Read rates compared"),
        h + 30.0
    );
    for (i, (l, r)) in sent.iter().rev().enumerate() {
        let x = 20.0 + i as f64 * gap;
        let bh = (r / max) * (h - 20.0);
        svg.push_str(&format!(
            "<rect x=\"{x:.0}\" y=\"{:.0}\" width=\"{:.0}\" height=\"{bh:.0}\" fill=\"#1d6f42\"><title>{} {r:.1}%</title></rect>\
             <text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\" text-anchor=\"middle\">{r:.1}%</text><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\" text-anchor=\"middle\">#{}</text>",
            h - bh,
            (bar).min(gap - 4.0),
            escape(&l.broadcast.title),
            x + bar.min(gap - 4.0) / 2.0,
            (h - bh - 4.0).max(10.0),
            x + bar.min(gap - 4.0) / 2.0,
            h + 16.0,
            l.broadcast.id
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// New readers per day (China time) since the send, as a small table: when people read it.
fn reads_by_day(times: &[i64], sent_at: Option<i64>, lang: Lang) -> String {
    let mut days: Vec<(String, usize)> = Vec::new();
    for &t in times {
        let d = crate::clock::local_day(t);
        match days.last_mut() {
            Some((day, n)) if *day == d => *n += 1,
            _ => days.push((d, 1)),
        }
    }
    let max = days.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let rows: String = days
        .iter()
        .map(|(d, n)| {
            format!(
                "<tr><td>{d}</td><td>{n}</td><td><div style=\"background:#1d6f42;height:10px;width:{}px\"></div></td></tr>",
                n * 200 / max
            )
        })
        .collect();
    format!(
        "<div class=\"card\" id=\"reads-by-day\"><h2>{}</h2>{}<table><tr><th>{}</th><th>{}</th><th></th></tr>{rows}</table></div>",
        t(lang, "每日新增读者", "New readers per day"),
        sent_at.map(|at| format!("<p class=\"muted\">{} {}</p>", t(lang, "发送于", "Sent at"), local_datetime(at))).unwrap_or_default(),
        t(lang, "日期", "Day"),
        t(lang, "读者", "Readers"),
    )
}

async fn list(State(s): State<Services>, lib: Librarian) -> Result<Html<String>, ConsoleError> {
    let lang = lib.lang;
    let rows = s.db.list_broadcasts().await?;
    let used = s.db.broadcasts_sent_since(crate::clock::month_start(s.clock.now())).await?;
    let quota = s.config.broadcasts.monthly_quota;
    let figures = s.db.wechat_figures().await?;
    let mut table = format!(
        "<table id=\"broadcasts\"><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "标题", "Title"),
        t(lang, "状态", "State"),
        t(lang, "发送时间", "Sent"),
        t(lang, "发送时粉丝数", "Followers at send"),
        t(lang, "阅读人数", "Readers"),
        t(lang, "阅读率", "Read rate"),
        t(lang, "微信送达", "WeChat delivered"),
        t(lang, "微信统计：图文阅读人数 / 阅读原文人数", "WeChat's figures: article readers / 'Read more' readers"),
    );
    for l in &rows {
        let b = &l.broadcast;
        table.push_str(&format!(
            "<tr id=\"broadcast-{id}\"><td>{id}</td><td><a href=\"/console/broadcasts/{id}\">{title}</a></td><td class=\"state\">{state}</td><td>{sent}</td>\
             <td class=\"followers\">{followers}</td><td class=\"readers\">{readers}</td><td class=\"rate\">{rate}</td><td>{wx}</td><td class=\"wechat-figures\">{wxf}</td></tr>",
            id = b.id,
            title = escape(&b.title),
            state = state_label(&b.state, lang),
            sent = b.sent_at.map(local_datetime).unwrap_or_default(),
            followers = b.followers_at_send.map(|n| n.to_string()).unwrap_or_else(|| "—".into()),
            readers = l.readers,
            rate = rate_text(l.readers, b.followers_at_send),
            wx = b.wechat_sent.map(|n| n.to_string()).unwrap_or_else(|| "—".into()),
            wxf = figures.get(&b.id).map(|f| format!("{} / {}", f.int_page_read_user, f.ori_page_read_user)).unwrap_or_else(|| "—".into()),
        ));
    }
    table.push_str("</table>");
    let sent: Vec<&Listed> = rows.iter().filter(|l| l.broadcast.followers_at_send.is_some()).take(12).collect();
    let body = format!(
        "<div class=\"card row\"><span id=\"quota\">{}</span><a href=\"/console/broadcasts/new\" id=\"compose\">{}</a></div>\
         <div class=\"card\"><h2>{}</h2><p class=\"muted\">{}</p>{}</div><div class=\"card\">{}</div>",
        escape(&format!(
            "{} {used} / {quota}{}",
            t(lang, "本月已群发", "Mass messages this month:"),
            if used >= quota { t(lang, "（本月额度已用完）", " (this month's quota is used up)") } else { "" }
        )),
        t(lang, "撰写图文消息", "Compose a news message"),
        t(lang, "阅读率", "Read rates"),
        t(
            lang,
            "阅读率 = 在图书馆网页上阅读文章的人数（微信内按 openid、其他浏览器按 Cookie 计一人）÷ 发送时的粉丝数；之后新增的粉丝不影响分母。",
            "Read rate = people who read the article on the library's page (by openid inside WeChat, by cookie elsewhere) ÷ followers when it was sent; later followers do not change it."
        ),
        rate_chart(&sent, lang),
        table
    );
    Ok(page(&lib, t(lang, "图文消息", "News messages"), &body))
}

fn compose_form(lib: &Librarian, action: &str, d: &Draft, error: Option<&str>, cover_required: bool) -> String {
    let lang = lib.lang;
    format!(
        "{err}<form method=\"post\" action=\"{action}\" enctype=\"multipart/form-data\" class=\"card\" id=\"compose-form\">{csrf}\
         <p><label>{lt}<br><input type=\"text\" name=\"title\" id=\"title\" maxlength=\"64\" value=\"{title}\" style=\"width:100%\"></label></p>\
         <p><label>{la}<br><input type=\"text\" name=\"author\" id=\"author\" value=\"{author}\"></label></p>\
         <p><label>{ld}<br><textarea name=\"digest\" id=\"digest\" rows=\"2\">{digest}</textarea></label></p>\
         <p><label>{lc}{req}<br><input type=\"file\" name=\"cover\" id=\"cover\" accept=\"image/png,image/jpeg\"></label></p>\
         <p><label>{lb}<br><textarea name=\"body\" id=\"body\" rows=\"12\">{body}</textarea></label><br><span class=\"muted\">{hb}</span></p>\
         <p><label>{ltag}<br><input type=\"text\" name=\"tag_id\" id=\"tag_id\" value=\"{tag}\"></label></p>\
         <button type=\"submit\" id=\"save\">{save}</button></form>",
        err = error.map(flash_error).unwrap_or_default(),
        csrf = csrf_field(lib),
        lt = t(lang, "标题（最多 32 字）", "Title (at most 32 characters)"),
        title = escape(&d.title),
        la = t(lang, "作者（可选）", "Author (optional)"),
        author = escape(&d.author),
        ld = t(lang, "摘要（最多 128 字）", "Digest (at most 128 characters)"),
        digest = escape(&d.digest),
        lc = t(lang, "封面图片（JPG/PNG，1 MB 以内）", "Cover image (JPG/PNG, up to 1 MB)"),
        req = if cover_required {
            t(lang, "，必填", ", required")
        } else {
            t(lang, "，不选则保留原封面", "; leave empty to keep the current one")
        },
        lb = t(
            lang,
            "正文（HTML：段落、标题、粗体、列表、链接、本文图片）",
            "Body (HTML: paragraphs, headings, bold, lists, links, this message's images)"
        ),
        body = escape(&d.body_html),
        hb = t(lang, "脚本、样式和外部图片会被去掉。", "Scripts, styles and outside images are removed."),
        ltag =
            t(lang, "只发给某个标签的粉丝（标签编号，留空发给全部粉丝）", "Send only to a tag's followers (tag id; empty: all followers)"),
        tag = d.target_tag_id.map(|t| t.to_string()).unwrap_or_default(),
        save = t(lang, "保存", "Save"),
    )
}

async fn new_form(lib: Librarian) -> Html<String> {
    let body = compose_form(&lib, "/console/broadcasts/new", &Draft::default(), None, true);
    page(&lib, t(lib.lang, "撰写图文消息", "Compose a news message"), &body)
}

/// The compose form's fields from a multipart body.
struct Posted {
    draft: Draft,
    cover: Option<Vec<u8>>,
    tag_error: bool,
}

/// The fields of a multipart form, (name, bytes), read with axum's `Multipart` (multer). `None`
/// when the body is not a readable multipart form.
async fn form_fields(form: Result<Multipart, MultipartRejection>) -> Option<Vec<(String, Vec<u8>)>> {
    let mut form = form.ok()?;
    let mut fields = Vec::new();
    while let Some(field) = form.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_owned();
        fields.push((name, field.bytes().await.ok()?.to_vec()));
    }
    Some(fields)
}

async fn parse_form(form: Result<Multipart, MultipartRejection>) -> Option<Posted> {
    let parts = form_fields(form).await?;
    let text = |name: &str| {
        parts.iter().find(|(n, _)| n == name).map(|(_, data)| String::from_utf8_lossy(data).replace("\r\n", "\n")).unwrap_or_default()
    };
    let tag_text = text("tag_id").trim().to_owned();
    let (target_tag_id, tag_error) = if tag_text.is_empty() {
        (None, false)
    } else {
        match tag_text.parse::<i64>() {
            Ok(n) if n >= 0 => (Some(n), false),
            _ => (None, true),
        }
    };
    let cover = parts.iter().find(|(n, data)| n == "cover" && !data.is_empty()).map(|(_, data)| data.clone());
    let draft = Draft { title: text("title"), author: text("author"), digest: text("digest"), body_html: text("body"), target_tag_id };
    Some(Posted { draft, cover, tag_error })
}

/// Validates a posted form; `Err` is the message to show with the form again.
fn check(lib: &Librarian, p: &Posted, cover_required: bool) -> Result<(Draft, Option<Image>), String> {
    let lang = lib.lang;
    if p.tag_error {
        return Err(t(lang, "标签编号须为数字。", "The tag id must be a number.").to_owned());
    }
    let draft = super::validate(&p.draft, lang).map_err(|e| e.to_string())?;
    let cover = match &p.cover {
        Some(bytes) => {
            Some(Image { content_type: super::check_image(bytes, lang).map_err(|e| e.to_string())?.to_owned(), bytes: bytes.clone() })
        }
        None if cover_required => return Err(t(lang, "请选择封面图片。", "Choose a cover image.").to_owned()),
        None => None,
    };
    Ok((draft, cover))
}

fn bad_form(lib: &Librarian, action: &str, d: &Draft, msg: &str, cover_required: bool) -> Response {
    let body = compose_form(lib, action, d, Some(msg), cover_required);
    (StatusCode::BAD_REQUEST, page(lib, t(lib.lang, "撰写图文消息", "Compose a news message"), &body)).into_response()
}

async fn create(State(s): State<Services>, lib: Librarian, form: Result<Multipart, MultipartRejection>) -> Result<Response, ConsoleError> {
    let action = "/console/broadcasts/new";
    let Some(posted) = parse_form(form).await else {
        return Ok(bad_form(&lib, action, &Draft::default(), t(lib.lang, "表单格式不正确。", "The form could not be read."), true));
    };
    let (draft, cover) = match check(&lib, &posted, true) {
        Ok(ok) => ok,
        Err(msg) => return Ok(bad_form(&lib, action, &posted.draft, &msg, true)),
    };
    let id = s.db.create_broadcast(&draft, cover.as_ref(), &lib.username, s.clock.now()).await?;
    audit(&s.db, &lib, "broadcast.create", &format!("#{id} {}", draft.title)).await?;
    Ok(Redirect::to(&format!("/console/broadcasts/{id}?saved=1")).into_response())
}

async fn edit(
    State(s): State<Services>,
    lib: Librarian,
    Path(id): Path<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, ConsoleError> {
    let action = format!("/console/broadcasts/{id}/edit");
    let b = s.db.broadcast(id).await?.ok_or(ConsoleError::NotFound)?;
    let Some(posted) = parse_form(form).await else {
        return Ok(bad_form(&lib, &action, &as_draft(&b), t(lib.lang, "表单格式不正确。", "The form could not be read."), false));
    };
    let (draft, cover) = match check(&lib, &posted, false) {
        Ok(ok) => ok,
        Err(msg) => return Ok(bad_form(&lib, &action, &posted.draft, &msg, false)),
    };
    match s.db.update_broadcast(id, &draft, cover.as_ref(), s.clock.now()).await {
        Ok(()) => {}
        Err(BroadcastError::Locked(_)) => {
            return Ok(bad_form(
                &lib,
                &action,
                &posted.draft,
                t(lib.lang, "已发送或正在发送的消息不能修改。", "A message that is sent or being sent cannot be changed."),
                false,
            ));
        }
        Err(e) => return Err(e.into()),
    }
    audit(&s.db, &lib, "broadcast.edit", &format!("#{id} {}", draft.title)).await?;
    Ok(Redirect::to(&format!("/console/broadcasts/{id}?saved=1")).into_response())
}

fn as_draft(b: &Broadcast) -> Draft {
    Draft {
        title: b.title.clone(),
        author: b.author.clone(),
        digest: b.digest.clone(),
        body_html: b.body_html.clone(),
        target_tag_id: b.target_tag_id,
    }
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    saved: Option<String>,
    image: Option<i64>,
    previewed: Option<usize>,
    queued: Option<String>,
}

async fn detail(
    State(s): State<Services>,
    lib: Librarian,
    Path(id): Path<i64>,
    q: axum::extract::Query<DetailQuery>,
) -> Result<Html<String>, ConsoleError> {
    render_detail(&s, &lib, id, &q.0, None).await
}

async fn render_detail(s: &Services, lib: &Librarian, id: i64, q: &DetailQuery, error: Option<&str>) -> Result<Html<String>, ConsoleError> {
    let lang = lib.lang;
    let b = s.db.broadcast(id).await?.ok_or(ConsoleError::NotFound)?;
    let readers = s.db.broadcast_readers(id).await?;
    // Earlier messages' read rates, for comparison.
    let earlier: Vec<f64> =
        s.db.list_broadcasts()
            .await?
            .iter()
            .filter(|l| l.broadcast.id < id)
            .filter_map(|l| read_rate(l.readers, l.broadcast.followers_at_send))
            .collect();
    let mut body = String::new();
    if let Some(e) = error {
        body.push_str(&flash_error(e));
    }
    if q.saved.is_some() {
        body.push_str(&flash_ok(t(lang, "已保存。", "Saved.")));
    }
    if let Some(img) = q.image {
        body.push_str(&flash_ok(&format!(
            "{} <img src=\"/news/img/{img}\">",
            t(lang, "图片已上传，把这段代码放进正文：", "Image uploaded; put this in the body:")
        )));
    }
    if let Some(n) = q.previewed {
        body.push_str(&flash_ok(&format!("{} {n}", t(lang, "已发送预览给测试读者：", "Preview sent to test readers:"))));
    }
    if q.queued.is_some() {
        body.push_str(&flash_ok(t(lang, "已开始发送。", "Sending has started.")));
    }
    let target = match b.target_tag_id {
        None => t(lang, "全部粉丝", "all followers").to_owned(),
        Some(tag) => format!("{} {tag}", t(lang, "标签", "tag")),
    };
    body.push_str(&format!(
        "<div class=\"card\" id=\"status\"><p>{} <b id=\"state\">{}</b>{}</p><p>{}: {}</p>\
         <p>{}: <span id=\"followers-at-send\">{}</span> · {}: <span id=\"readers\">{readers}</span> · {}: <b id=\"read-rate\">{}</b></p>{}{}{}</div>",
        t(lang, "状态：", "State:"),
        state_label(&b.state, lang),
        b.batch_count.map(|n| format!(" ({}/{n} {})", b.batches_done, t(lang, "批", "batches"))).unwrap_or_default(),
        t(lang, "发送对象", "Audience"),
        escape(&target),
        t(lang, "发送时粉丝数", "Followers at send"),
        b.followers_at_send.map(|n| n.to_string()).unwrap_or_else(|| "—".into()),
        t(lang, "阅读人数", "Readers"),
        t(lang, "阅读率", "Read rate"),
        rate_text(readers, b.followers_at_send),
        match (b.local_followers_at_send, b.wechat_total) {
            (None, None) => String::new(),
            (local, wx) => format!(
                "<p class=\"muted\">{}: {} · {}: {}</p>",
                t(lang, "wxlib 记录的发送时粉丝数", "Followers wxlib knew at send"),
                local.map(|n| n.to_string()).unwrap_or_else(|| "—".into()),
                t(lang, "微信报告的送达（已送达 / 总数）", "WeChat's report (delivered / total)"),
                match (b.wechat_sent, wx) {
                    (Some(sent), Some(total)) => format!("{sent} / {total}"),
                    _ => "—".into(),
                }
            ),
        },
        if earlier.is_empty() {
            String::new()
        } else {
            format!(
                "<p id=\"earlier\">{} {:.1}% ({} {})</p>",
                t(lang, "此前消息的平均阅读率：", "Earlier messages' average read rate:"),
                earlier.iter().sum::<f64>() / earlier.len() as f64,
                earlier.len(),
                t(lang, "条", "messages")
            )
        },
        b.error.as_deref().map(|e| flash_error(&format!("{} {e}", t(lang, "发送失败：", "Sending failed:")))).unwrap_or_default(),
    ));
    if let Some(f) = s.db.wechat_figures().await?.remove(&id) {
        // WeChat counts opens inside WeChat and 阅读原文 taps; wxlib counts readers of its own page.
        body.push_str(&format!(
            "<div class=\"card\" id=\"wechat-figures\"><h2>{}</h2><table>\
             <tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>\
             <tr><td>{}</td><td id=\"wx-int-read\">{} / {}</td><td id=\"wx-ori-read\">{} / {}</td><td id=\"wx-share\">{} / {}</td><td id=\"wx-fav\">{} / {}</td></tr></table>\
             <p class=\"muted\">{} {}</p></div>",
            t(lang, "微信统计", "WeChat's figures"),
            t(lang, "截至", "As of"),
            t(lang, "图文阅读（人 / 次）", "Article reads (readers / reads)"),
            t(lang, "阅读原文（人 / 次）", "'Read more' (readers / reads)"),
            t(lang, "分享（人 / 次）", "Shares (readers / times)"),
            t(lang, "收藏（人 / 次）", "Favourites (readers / times)"),
            escape(&f.stat_date),
            f.int_page_read_user,
            f.int_page_read_count,
            f.ori_page_read_user,
            f.ori_page_read_count,
            f.share_user,
            f.share_count,
            f.add_to_fav_user,
            f.add_to_fav_count,
            t(lang, "送达人数（微信）：", "Reached (WeChat):"),
            f.target_user,
        ));
    }
    let times = s.db.read_times(id).await?;
    if !times.is_empty() {
        body.push_str(&reads_by_day(&times, b.sent_at.or(b.queued_at), lang));
    }
    // The console's own copies of the cover and the body's images: a draft's are not public.
    body.push_str(&format!(
        "<div class=\"card\"><h2>{}</h2><p><b>{}</b></p><p class=\"muted\">{}</p><img src=\"/console/broadcasts/{id}/cover\" alt=\"\" style=\"max-width:240px\"><div>{}</div>\
         <p><a href=\"/console/broadcasts/{id}/page\" target=\"_blank\">{}</a>{}</p></div>",
        t(lang, "预览", "Preview"),
        escape(&b.title),
        escape(&b.digest),
        b.body_html.replace("src=\"/news/img/", "src=\"/console/broadcasts/img/"),
        t(lang, "读者看到的网页", "The page readers see"),
        if b.is_public() { format!(" · <a href=\"/news/{id}\" target=\"_blank\">/news/{id}</a>") } else { String::new() },
    ));
    if matches!(b.state.as_str(), "composed" | "failed") {
        let month_used = s.db.broadcasts_sent_since(crate::clock::month_start(s.clock.now())).await?;
        body.push_str(&format!(
            "<div class=\"card\"><form method=\"post\" action=\"/console/broadcasts/{id}/preview\" class=\"row\" id=\"preview-form\">{csrf}\
             <label>{lp} <input type=\"text\" name=\"openids\" id=\"preview-openids\" size=\"40\"></label><button type=\"submit\" id=\"preview\">{bp}</button></form></div>\
             <div class=\"card\"><form method=\"post\" action=\"/console/broadcasts/{id}/send\" class=\"row\" id=\"send-form\">{csrf}\
             <label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" id=\"confirm\"> {lc}</label><button type=\"submit\" id=\"send\">{bs}</button>\
             <span class=\"muted\">{quota}</span></form></div>",
            csrf = csrf_field(lib),
            lp = t(lang, "预览给测试读者（openid，用逗号分隔）", "Preview to test readers (openids, comma-separated)"),
            bp = t(lang, "发送预览", "Send preview"),
            lc = escape(&format!("{} {target}", t(lang, "确认群发给", "Yes, send to"))),
            bs = if b.state == "failed" { t(lang, "继续发送", "Resume sending") } else { t(lang, "群发", "Send") },
            quota = escape(&format!("{} {month_used} / {}", t(lang, "本月已群发", "This month:"), s.config.broadcasts.monthly_quota)),
        ));
    }
    if b.state == "composed" {
        body.push_str(&format!(
            "<div class=\"card\"><h2>{}</h2><form method=\"post\" action=\"/console/broadcasts/{id}/images\" enctype=\"multipart/form-data\" class=\"row\" id=\"image-form\">{}\
             <input type=\"file\" name=\"image\" id=\"image\" accept=\"image/png,image/jpeg\"><button type=\"submit\" id=\"upload-image\">{}</button></form></div>",
            t(lang, "正文图片", "Body images"),
            csrf_field(lib),
            t(lang, "上传", "Upload"),
        ));
        body.push_str(&format!("<h2>{}</h2>", t(lang, "修改", "Edit")));
        body.push_str(&compose_form(lib, &format!("/console/broadcasts/{id}/edit"), &as_draft(&b), None, false));
    }
    Ok(page(lib, &format!("#{id} {}", b.title), &body))
}

/// The message's page again with a message saying why nothing was done (400).
async fn refused(s: &Services, lib: &Librarian, id: i64, msg: &str) -> Result<Response, ConsoleError> {
    Ok((StatusCode::BAD_REQUEST, render_detail(s, lib, id, &DetailQuery::default(), Some(msg)).await?).into_response())
}

async fn add_image(
    State(s): State<Services>,
    lib: Librarian,
    Path(id): Path<i64>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, ConsoleError> {
    let b = s.db.broadcast(id).await?.ok_or(ConsoleError::NotFound)?;
    let data =
        form_fields(form).await.and_then(|fields| fields.into_iter().find(|(n, _)| n == "image").map(|(_, d)| d)).unwrap_or_default();
    if b.state != "composed" {
        return refused(
            &s,
            &lib,
            id,
            t(lib.lang, "已发送或正在发送的消息不能修改。", "A message that is sent or being sent cannot be changed."),
        )
        .await;
    }
    let content_type = match super::check_image(&data, lib.lang) {
        Ok(ct) => ct,
        Err(e) => return refused(&s, &lib, id, &e.to_string()).await,
    };
    let img = s.db.add_broadcast_image(id, &Image { content_type: content_type.to_owned(), bytes: data }, s.clock.now()).await?;
    audit(&s.db, &lib, "broadcast.image", &format!("#{id} image {img}")).await?;
    Ok(Redirect::to(&format!("/console/broadcasts/{id}?image={img}")).into_response())
}

#[derive(Deserialize)]
struct PreviewForm {
    #[serde(default)]
    openids: String,
}

async fn preview(
    State(s): State<Services>,
    lib: Librarian,
    Path(id): Path<i64>,
    Form(f): Form<PreviewForm>,
) -> Result<Response, ConsoleError> {
    let openids: Vec<String> =
        f.openids.split([',', '，', ' ', '\n']).map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect();
    let lang = lib.lang;
    if openids.is_empty()
        || openids.len() > 20
        || openids.iter().any(|o| o.len() > 64 || !o.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return refused(&s, &lib, id, t(lang, "请填写 1–20 个测试读者的 openid。", "Give 1–20 test readers' openids.")).await;
    }
    if s.db.broadcast(id).await?.is_none() {
        return Err(ConsoleError::NotFound);
    }
    match super::send::preview(&s, id, &openids).await {
        Ok(n) => {
            audit(&s.db, &lib, "broadcast.preview", &format!("#{id} to {}", openids.join(","))).await?;
            Ok(Redirect::to(&format!("/console/broadcasts/{id}?previewed={n}")).into_response())
        }
        Err(e) => refused(&s, &lib, id, &format!("{} {e}", t(lang, "预览发送失败：", "The preview failed:"))).await,
    }
}

#[derive(Deserialize)]
struct SendForm {
    confirm: Option<String>,
}

async fn send(State(s): State<Services>, lib: Librarian, Path(id): Path<i64>, Form(f): Form<SendForm>) -> Result<Response, ConsoleError> {
    let lang = lib.lang;
    let b = s.db.broadcast(id).await?.ok_or(ConsoleError::NotFound)?;
    if f.confirm.as_deref() != Some("yes") {
        return refused(&s, &lib, id, t(lang, "请勾选确认后再群发。", "Tick the confirmation box to send.")).await;
    }
    let used = s.db.broadcasts_sent_since(crate::clock::month_start(s.clock.now())).await?;
    if b.state == "composed" && used >= s.config.broadcasts.monthly_quota {
        return refused(&s, &lib, id, t(lang, "本月群发额度已用完。", "This month's mass-message quota is used up.")).await;
    }
    if !s.db.queue_broadcast(id, &lib.username, s.clock.now()).await? {
        return refused(&s, &lib, id, t(lang, "这条消息已在发送或已发送。", "This message is already being sent or was sent.")).await;
    }
    audit(
        &s.db,
        &lib,
        "broadcast.send",
        &format!("#{id} {} to {}", b.title, b.target_tag_id.map(|t| format!("tag {t}")).unwrap_or_else(|| "all followers".into())),
    )
    .await?;
    super::send::wake();
    Ok(Redirect::to(&format!("/console/broadcasts/{id}?queued=1")).into_response())
}
