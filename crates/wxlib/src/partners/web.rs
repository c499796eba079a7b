//! Partner libraries on the web: a tab per library on `/opac/search` (ours first), and the tab
//! page `/opac/partners/{id}?q=…&field=…` with what that library holds.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::federated::{self, Outcome};
use crate::catalog::http::SearchTabs;
use crate::catalog::{SearchField, field_name, parse_field};
use crate::db::Db;
use crate::services::Services;
use crate::web::error::WebError;
use crate::web::urlencode;
use crate::web::{escape, page};

/// The tabs on our own search page (`/opac/search`), for the catalog's pages.
#[derive(Clone)]
pub struct PartnerTabs {
    pub db: Db,
}

impl SearchTabs for PartnerTabs {
    async fn tabs(&self, q: &str, field: &str) -> String {
        tabs_html(&self.db, q, field, None).await
    }
}

/// Records shown on a partner's tab.
const TAB_RECORDS: usize = 20;

pub fn routes(services: Services) -> axum::Router {
    axum::Router::new().route("/opac/partners/{id}", get(partner_tab)).route("/api/v1/federated", get(api_federated)).with_state(services)
}

#[derive(Debug, Deserialize)]
pub struct FederatedParams {
    q: Option<String>,
    field: Option<String>,
    per_library: Option<usize>,
}

/// `GET /api/v1/federated?q=…&field=…&per_library=5`: our results and every partner's, labelled
/// by library, ours first: `{query, field, libraries: [{library, local, status, total, hits,
/// reason?, took_ms}]}`. A partner that failed has `status` `failed` or `timeout` and a reason.
async fn api_federated(State(s): State<Services>, Query(p): Query<FederatedParams>) -> Result<Response, WebError> {
    use axum::Json;
    use serde_json::json;
    let bad = |msg: &'static str| WebError::json(StatusCode::BAD_REQUEST, msg);
    let Some(q) = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty() && q.chars().count() <= 200) else {
        return Err(bad("parameter q (1 to 200 characters) is required"));
    };
    let Some(field) = parse_field(p.field.as_deref().unwrap_or("any")) else {
        return Err(bad("field must be title, author, subject, any, isbn or callno"));
    };
    let per = p.per_library.unwrap_or(5);
    if !(1..=20).contains(&per) {
        return Err(bad("per_library must be between 1 and 20"));
    }
    // ours and the partners' at the same time
    let (local, partners) =
        tokio::join!(s.catalog.search(q, field, crate::catalog::Sort::Relevance, 1, per), federated::search_partners(&s, q, field, per));
    let local = local.map_err(|e| {
        WebError::json(StatusCode::INTERNAL_SERVER_ERROR, "internal error").because("federated search: the local search", e)
    })?;
    let mut libraries = vec![
        json!({"library": s.config.library.name, "local": true, "status": "answered", "total": local.total, "hits": local.hits, "took_ms": local.took_ms}),
    ];
    for a in partners {
        libraries.push(match a.outcome {
            Outcome::Answered(r) => json!({"library": a.name, "local": false, "status": "answered", "total": r.total, "hits": r.hits, "took_ms": a.took_ms}),
            Outcome::Unsupported => json!({"library": a.name, "local": false, "status": "unsupported", "total": 0, "hits": [], "took_ms": a.took_ms}),
            Outcome::Failed { reason, timed_out } => json!({"library": a.name, "local": false, "status": if timed_out { "timeout" } else { "failed" }, "reason": reason, "total": 0, "hits": [], "took_ms": a.took_ms}),
        });
    }
    Ok(Json(json!({"query": q, "field": field_name(field), "libraries": libraries})).into_response())
}

const TAB_STYLE: &str = "<style>.tabs{display:flex;gap:4px;overflow-x:auto;margin:10px 0}.tabs a{padding:6px 10px;border-radius:6px 6px 0 0;background:#e4e7ea;white-space:nowrap;text-decoration:none}.tabs a.on{background:#1d6f42;color:#fff}</style>";

/// The tab bar for a search: "本馆" then each enabled partner; `active` is the partner shown
/// (`None`: our own results). Empty when there are no partners or no query.
pub async fn tabs_html(db: &Db, q: &str, field: &str, active: Option<i64>) -> String {
    if q.trim().is_empty() {
        return String::new();
    }
    let partners = match db.partners().await {
        Ok(p) => p.into_iter().filter(|p| p.enabled).collect::<Vec<_>>(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot load partners for the search tabs");
            return String::new();
        }
    };
    if partners.is_empty() {
        return String::new();
    }
    let qs = format!("q={}&field={}", urlencode(q), urlencode(field));
    let mut out = format!(
        "{TAB_STYLE}<nav class=\"tabs\"><a href=\"/opac/search?{qs}\" class=\"{}\" data-library=\"local\">本馆</a>",
        if active.is_none() { "on" } else { "" }
    );
    for p in partners {
        out.push_str(&format!(
            "<a href=\"/opac/partners/{}?{qs}\" class=\"{}\" data-library=\"{}\">{}</a>",
            p.id,
            if active == Some(p.id) { "on" } else { "" },
            p.id,
            escape(&p.name)
        ));
    }
    out.push_str("</nav>");
    out
}

#[derive(Debug, Deserialize)]
pub struct TabParams {
    q: Option<String>,
    field: Option<String>,
}

async fn partner_tab(State(s): State<Services>, Path(id): Path<String>, Query(p): Query<TabParams>) -> Result<Response, WebError> {
    let not_found = || WebError::page(StatusCode::NOT_FOUND, "合作馆", "<p>没有这个合作图书馆。</p>");
    let Ok(id) = id.parse::<i64>() else { return Err(not_found()) };
    let partner = match s.db.partner(id).await {
        Ok(Some(p)) if p.enabled => p,
        Ok(_) => return Err(not_found()),
        Err(e) => {
            return Err(WebError::page(StatusCode::INTERNAL_SERVER_ERROR, "合作馆", "<p>系统暂时出了点问题，请稍后再试。</p>")
                .because("partner tab", e));
        }
    };
    let q = p.q.as_deref().map(str::trim).unwrap_or_default().chars().take(200).collect::<String>();
    let field = p.field.as_deref().and_then(parse_field).unwrap_or(SearchField::Any);
    let mut body = format!(
        "<form class=\"search\" action=\"/opac/search\"><input type=\"hidden\" name=\"field\" value=\"{}\"><input type=\"text\" name=\"q\" value=\"{}\"><button>检索</button></form>",
        field_name(field),
        escape(&q)
    );
    body.push_str(&tabs_html(&s.db, &q, field_name(field), Some(id)).await);
    if q.is_empty() {
        body.push_str("<p class=\"muted\">请输入检索词。</p>");
        return Ok(Html(page(&partner.name, &body)).into_response());
    }
    let mut partner = partner;
    partner.timeout_ms = partner.timeout_ms.clamp(100, s.config.partners.max_timeout_ms);
    let answer = federated::ask(&partner, &q, field, TAB_RECORDS).await;
    match &answer.outcome {
        Outcome::Answered(r) if r.total == 0 => {
            body.push_str(&format!("<div class=\"card\">{}没有找到与“{}”相关的图书。</div>", escape(&partner.name), escape(&q)))
        }
        Outcome::Answered(r) => {
            body.push_str(&format!(
                "<p class=\"muted\">{} 馆藏 {} 条{}</p>",
                escape(&partner.name),
                r.total,
                if r.total > r.hits.len() { format!("，显示前 {} 条", r.hits.len()) } else { String::new() }
            ));
            for h in &r.hits {
                body.push_str(&format!(
                    "<div class=\"card partner-hit\"><b>{}</b><div class=\"muted\">{} {} {} {}</div><div class=\"muted\">馆藏：{}</div></div>",
                    escape(&h.title),
                    escape(h.author.as_deref().unwrap_or("")),
                    escape(h.publisher.as_deref().unwrap_or("")),
                    h.year.map(|y| y.to_string()).unwrap_or_default(),
                    h.isbn.as_deref().map(|i| format!("ISBN {}", escape(i))).unwrap_or_default(),
                    escape(&partner.name)
                ));
            }
            body.push_str("<p class=\"muted\">需要这本书？请到流通服务台办理馆际互借。</p>");
        }
        Outcome::Unsupported => body.push_str(&format!("<div class=\"card\">{}不支持这种检索。</div>", escape(&partner.name))),
        Outcome::Failed { timed_out, .. } => body.push_str(&format!(
            "<div class=\"card no\">{}{}</div>",
            escape(&partner.name),
            if *timed_out { "未在时限内响应，请稍后再试。" } else { "暂时无法访问，请稍后再试。" }
        )),
    }
    Ok(Html(page(&partner.name, &body)).into_response())
}
