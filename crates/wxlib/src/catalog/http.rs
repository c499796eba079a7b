//! The catalog on the web: the JSON API (`/api/v1/search`, `/api/v1/records/{id}`) and the
//! mobile pages readers open from chat (`/opac/search`, `/opac/record/{id}`, `/opac/suggest`).

use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{Catalog, RecordView, SearchField, Sort, parse_field};
use crate::circulation::CopyState;
use crate::db::{Limit, Verdict, unix_now};
use crate::lang::Lang;
use crate::web::client::ClientAddr;
use crate::web::error::{BoxError, WebError};
use crate::web::{escape, page};

/// What the search page shows between its form and our results, from outside the catalog: the
/// partner libraries' tabs (`partners::web`).
pub trait SearchTabs: Clone + Send + Sync + 'static {
    /// The tabs for query `q` on `field` (empty for none).
    fn tabs(&self, q: &str, field: &str) -> impl Future<Output = String> + Send;
}

#[derive(Clone)]
struct SearchPageState<T> {
    catalog: Catalog,
    tabs: T,
}

pub fn routes<T: SearchTabs>(catalog: Catalog, tabs: T) -> axum::Router {
    let search_page =
        axum::Router::new().route("/opac/search", get(opac_search::<T>)).with_state(SearchPageState { catalog: catalog.clone(), tabs });
    axum::Router::new()
        .route("/api/v1/search", get(api_search))
        .route("/api/v1/records/{id}", get(api_record))
        .route("/opac/record/{id}", get(opac_record))
        .route("/opac/suggest", get(suggest_form).post(suggest_submit).layer(axum::extract::DefaultBodyLimit::max(SUGGEST_MAX_BODY_BYTES)))
        .with_state(catalog)
        .merge(search_page)
}

#[derive(Debug, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    field: Option<String>,
    page: Option<usize>,
    page_size: Option<usize>,
    sort: Option<String>,
}

/// A client error in the API, as JSON.
fn bad_request(msg: &'static str) -> WebError {
    WebError::json(StatusCode::BAD_REQUEST, msg)
}

/// A failure of ours: "internal error" in the API's shape (the pages answer so too), the cause
/// in the log.
fn internal(e: impl Into<BoxError>) -> WebError {
    WebError::json(StatusCode::INTERNAL_SERVER_ERROR, "internal error").because("catalog request", e)
}

fn parse_params(p: &SearchParams) -> Result<(String, SearchField, Sort, usize, usize), &'static str> {
    let q = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).ok_or("parameter q (the query) is required")?;
    if q.chars().count() > 200 {
        return Err("q is longer than 200 characters");
    }
    let field = parse_field(p.field.as_deref().unwrap_or("any")).ok_or("field must be title, author, subject, any, isbn or callno")?;
    let sort = match p.sort.as_deref().unwrap_or("relevance") {
        "relevance" => Sort::Relevance,
        "newest" => Sort::Newest,
        _ => return Err("sort must be relevance or newest"),
    };
    let page = p.page.unwrap_or(1);
    if page == 0 || page > 1000 {
        return Err("page must be between 1 and 1000");
    }
    let size = p.page_size.unwrap_or(10);
    if size == 0 || size > 50 {
        return Err("page_size must be between 1 and 50");
    }
    Ok((q.to_owned(), field, sort, page, size))
}

async fn api_search(State(c): State<Catalog>, Query(p): Query<SearchParams>) -> Result<Response, WebError> {
    let (q, field, sort, page, size) = parse_params(&p).map_err(bad_request)?;
    let result = c.search(&q, field, sort, page, size).await.map_err(internal)?;
    Ok(Json(result).into_response())
}

async fn api_record(State(c): State<Catalog>, Path(id): Path<String>) -> Result<Response, WebError> {
    match c.record(&id).await.map_err(internal)? {
        Some(v) => Ok(Json(v).into_response()),
        None => Err(WebError::json(StatusCode::NOT_FOUND, format!("no record {id}"))),
    }
}

async fn opac_search<T: SearchTabs>(State(st): State<SearchPageState<T>>, Query(p): Query<SearchParams>) -> Result<Response, WebError> {
    let c = &st.catalog;
    let q = p.q.clone().unwrap_or_default();
    let field = p.field.clone().unwrap_or_else(|| "any".into());
    let options = [("any", "任意词"), ("title", "题名"), ("author", "责任者"), ("subject", "主题词"), ("isbn", "ISBN")]
        .iter()
        .map(|(v, l)| format!("<option value=\"{v}\"{}>{l}</option>", if *v == field { " selected" } else { "" }))
        .collect::<String>();
    let mut body = format!(
        "<form class=\"search\" action=\"/opac/search\"><select name=\"field\">{options}</select><input type=\"text\" name=\"q\" value=\"{}\" placeholder=\"书名、作者、关键词\"><button>检索</button></form>",
        escape(&q)
    );
    body.push_str(&st.tabs.tabs(&q, &field).await);
    if !q.trim().is_empty() {
        match parse_params(&p) {
            Err(msg) => body.push_str(&format!("<p class=\"no\">{}</p>", escape(msg))),
            Ok((q, field, sort, page, size)) => match c.search(&q, field, sort, page, size).await {
                Err(e) => return Err(internal(e)),
                Ok(r) if r.total == 0 => body.push_str(&format!(
                    "<div class=\"card\">没有找到与“{}”相关的图书。<br><a href=\"/opac/suggest?title={}\">荐购这本书</a></div>",
                    escape(&q),
                    crate::web::urlencode(&q)
                )),
                Ok(r) => {
                    body.push_str(&format!(
                        "<p class=\"muted\">共 {} 条，第 {}/{} 页，用时 {:.1} 毫秒</p>",
                        r.total,
                        r.page,
                        r.pages(),
                        r.took_ms
                    ));
                    for h in &r.hits {
                        body.push_str(&format!(
                            "<div class=\"card\"><a href=\"/opac/record/{}\">{}</a><div class=\"muted\">{} {} · 索书号 {} · <span class=\"availability{}\">{}</span></div></div>",
                            crate::web::urlencode(&h.id),
                            escape(&h.title),
                            escape(&h.authors.join("; ")),
                            h.year.map(|y| y.to_string()).unwrap_or_default(),
                            escape(h.call_number.as_deref().unwrap_or("-")),
                            if h.availability.fresh { "" } else { " stale" },
                            escape(&super::availability_text(&h.availability, Lang::Zh))
                        ));
                    }
                    if r.page < r.pages() {
                        body.push_str(&format!(
                            "<a href=\"/opac/search?q={}&field={}&page={}\">下一页</a>",
                            crate::web::urlencode(&q),
                            r.field,
                            r.page + 1
                        ));
                    }
                }
            },
        }
    }
    Ok(Html(page("馆藏检索", &body)).into_response())
}

fn record_html(v: &RecordView) -> String {
    let b = &v.bib;
    let title = b.title_vernacular.clone().or_else(|| b.title.clone()).unwrap_or_default();
    let mut rows = Vec::new();
    let mut row = |k: &str, val: Option<String>| {
        if let Some(val) = val.filter(|s| !s.is_empty()) {
            rows.push(format!("<tr><th>{}</th><td>{}</td></tr>", k, escape(&val)));
        }
    };
    row("题名", b.title.clone().filter(|t| Some(t) != b.title_vernacular.as_ref()));
    row("责任者", b.responsibility_vernacular.clone().or_else(|| b.responsibility.clone()));
    row("作者", Some(b.authors.join("; ")));
    row("版本", b.edition.clone());
    row(
        "出版",
        Some(
            [b.place.clone(), b.publisher_vernacular.clone().or_else(|| b.publisher.clone()), b.year.map(|y| y.to_string())]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        ),
    );
    row("ISBN", Some(b.isbn13.join(", ")));
    row("主题", Some(b.subjects.join("; ")));
    row("中图分类号", Some(b.call_numbers.clc.join(", ")));
    row("LC 分类号", Some(b.call_numbers.lc.join(", ")));
    row("杜威分类号", Some(b.call_numbers.dewey.join(", ")));
    row("语种", b.language.clone());
    let items = if v.items.is_empty() {
        "<p class=\"muted\">本馆暂无馆藏复本。</p>".to_owned()
    } else {
        let list: String = v
            .items
            .iter()
            .map(|it| {
                let cls = match (it.status, it.fresh) {
                    (CopyState::Available, true) => "ok",
                    (_, false) => "stale",
                    _ => "no",
                };
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{cls}\">{}</td></tr>",
                    escape(&it.barcode),
                    escape(it.location.as_deref().unwrap_or("")),
                    escape(it.call_number.as_deref().unwrap_or("")),
                    escape(&super::copy_text(it, Lang::Zh))
                )
            })
            .collect();
        format!("<table><tr><th>条码</th><th>馆藏地</th><th>索书号</th><th>状态</th></tr>{list}</table>")
    };
    format!(
        "<div class=\"card\"><h2>{}</h2><table>{}</table></div><div class=\"card\"><h3 class=\"availability{}\">{}</h3>{}</div>",
        escape(&title),
        rows.join(""),
        if v.availability.fresh { "" } else { " stale" },
        escape(&super::holdings_text(&v.availability, Lang::Zh)),
        items
    )
}

async fn opac_record(State(c): State<Catalog>, Path(id): Path<String>) -> Result<Response, WebError> {
    match c.record(&id).await.map_err(internal)? {
        Some(v) => {
            let mut body = record_html(&v);
            if v.availability.total > 0 && v.availability.available == 0 {
                // 到书提醒 (circulation::shelf_watch) behind WeChat's web authorisation.
                body.push_str(&format!(
                    "<div class=\"card\"><a id=\"notify\" href=\"/opac/record/{}/notify\">到书提醒：有可借的复本时通知我</a></div>",
                    crate::web::urlencode(&v.id)
                ));
            }
            Ok(Html(page("书目详情", &body)).into_response())
        }
        None => Err(WebError::page(StatusCode::NOT_FOUND, "书目详情", "<p>没有这条书目记录。</p>")),
    }
}

#[derive(Debug, Deserialize)]
pub struct SuggestParams {
    title: Option<String>,
    author: Option<String>,
    isbn: Option<String>,
    note: Option<String>,
}

async fn suggest_form(Query(p): Query<SuggestParams>) -> Html<String> {
    Html(page("荐购", &suggest_body(&p, None)))
}

fn suggest_body(p: &SuggestParams, error: Option<&str>) -> String {
    let v = |o: &Option<String>| escape(o.as_deref().unwrap_or(""));
    format!(
        "{}<form method=\"post\" class=\"card\"><p>告诉我们您希望图书馆购买的书：</p>\
         <p>书名<input type=\"text\" name=\"title\" value=\"{}\"></p><p>作者<input type=\"text\" name=\"author\" value=\"{}\"></p>\
         <p>ISBN<input type=\"text\" name=\"isbn\" value=\"{}\"></p><p>说明<textarea name=\"note\">{}</textarea></p><button>提交荐购</button></form>",
        error.map(|e| format!("<p class=\"no\">{}</p>", escape(e))).unwrap_or_default(),
        v(&p.title),
        v(&p.author),
        v(&p.isbn),
        v(&p.note)
    )
}

/// Purchase suggestions one client address may post (anonymously) per hour, counted before each
/// is stored, so parallel posts cannot pass it: generous, since a campus network shows many
/// readers as one address.
pub const SUGGEST_LIMIT: Limit = Limit { attempts: 20, window_secs: 3600 };
/// The longest title, author, ISBN and note a suggestion keeps, in characters.
pub const SUGGEST_MAX_CHARS: [(&str, usize); 4] = [("title", 200), ("author", 200), ("isbn", 32), ("note", 1000)];
/// A suggestion's form is a few KiB at most.
const SUGGEST_MAX_BODY_BYTES: usize = 16 * 1024;

async fn suggest_submit(State(c): State<Catalog>, client: ClientAddr, Form(p): Form<SuggestParams>) -> Result<Response, WebError> {
    let title = p.title.as_deref().map(str::trim).unwrap_or_default();
    let too_long = [&p.title, &p.author, &p.isbn, &p.note]
        .into_iter()
        .zip(SUGGEST_MAX_CHARS)
        .find(|(v, (_, max))| v.as_deref().map(str::trim).is_some_and(|v| v.chars().count() > *max));
    if title.is_empty() || too_long.is_some() {
        let why = "请填写书名（200 字以内）；作者 200 字、ISBN 32 字、说明 1000 字以内。";
        return Ok((StatusCode::BAD_REQUEST, Html(page("荐购", &suggest_body(&p, Some(why))))).into_response());
    }
    let key = format!("suggest-addr:{}", client.limit_key());
    if let Verdict::Refused { retry_after_secs, first } = c.db.reserve_attempt(&key, SUGGEST_LIMIT, unix_now()).await.map_err(internal)? {
        if first {
            tracing::warn!(client = %client, "purchase suggestions refused: too many from one address");
        }
        let minutes = (retry_after_secs + 59) / 60;
        let why = format!("荐购提交过于频繁，请 {minutes} 分钟后再试。");
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, retry_after_secs.to_string())],
            Html(page("荐购", &suggest_body(&p, Some(&why)))),
        )
            .into_response());
    }
    let clean = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    c.db.add_purchase_suggestion(
        None,
        title,
        clean(&p.author).as_deref(),
        clean(&p.isbn).as_deref(),
        clean(&p.note).as_deref(),
        unix_now(),
    )
    .await
    .map_err(internal)?;
    Ok(Html(page("荐购", &format!("<div class=\"card ok\">已收到您对《{}》的荐购，谢谢！采访馆员会尽快处理。</div>", escape(title))))
        .into_response())
}
