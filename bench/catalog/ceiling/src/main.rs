//! The engine's ceiling for bench/catalog: `GET /api/v1/search?q=&field=&page=&page_size=&sort=`
//! answered by `search::CatalogIndex` alone, on the index `wxlib import` built, with the same
//! parameters, the same validation and the same query as wxlib's catalog API — and nothing else:
//! no database, no availability, no middleware.
//!
//! The index stores no fields (see crates/search/src/index.rs), so a hit is what the engine
//! returns: the record id and its score. The answer is JSON shaped like wxlib's search page
//! without the record summaries:
//! `{"query","field","total","page","page_size","hits":[{"id","score"}],"took_ms"}`.
//!
//! usage: wxlib-bench-catalog-ceiling INDEX_DIR [LISTEN]   (LISTEN default 127.0.0.1:8091)

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use search::{CatalogIndex, Field, Sort};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// wxlib's allocator (crates/wxlib/src/main.rs), so the allocator is not part of the difference.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Deserialize)]
struct SearchParams {
    q: Option<String>,
    field: Option<String>,
    page: Option<usize>,
    page_size: Option<usize>,
    sort: Option<String>,
}

#[derive(Serialize)]
struct Hit {
    id: String,
    score: f32,
}

#[derive(Serialize)]
struct SearchPage<'a> {
    query: &'a str,
    field: &'static str,
    total: usize,
    page: usize,
    page_size: usize,
    hits: Vec<Hit>,
    took_ms: f64,
}

/// wxlib's field names (crates/wxlib/src/catalog/mod.rs, parse_field and field_name).
fn parse_field(s: &str) -> Option<(Field, &'static str)> {
    Some(match s {
        "title" => (Field::Title, "title"),
        "author" => (Field::Author, "author"),
        "subject" => (Field::Subject, "subject"),
        "any" | "" => (Field::Any, "any"),
        "isbn" => (Field::Isbn, "isbn"),
        "callno" | "call_number" => (Field::CallNumber, "callno"),
        _ => return None,
    })
}

/// The rules of wxlib's `/api/v1/search` (crates/wxlib/src/catalog/http.rs, parse_params), so
/// both servers refuse and accept the same requests.
fn parse_params(p: &SearchParams) -> Result<(&str, Field, &'static str, Sort, usize, usize), &'static str> {
    let q = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).ok_or("parameter q (the query) is required")?;
    if q.chars().count() > 200 {
        return Err("q is longer than 200 characters");
    }
    let (field, field_name) =
        parse_field(p.field.as_deref().unwrap_or("any")).ok_or("field must be title, author, subject, any, isbn or callno")?;
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
    Ok((q, field, field_name, sort, page, size))
}

async fn api_search(State(index): State<Arc<CatalogIndex>>, Query(p): Query<SearchParams>) -> Response {
    let started = Instant::now();
    let (q, field, field_name, sort, page, size) = match parse_params(&p) {
        Ok(v) => v,
        Err(msg) => return (StatusCode::BAD_REQUEST, Json(json!({"error": msg}))).into_response(),
    };
    let query = search::Query { text: q.to_owned(), field, sort, offset: (page - 1) * size, limit: size };
    // On the request's own thread, as wxlib's Catalog::search does.
    match index.search(&query) {
        Ok(r) => Json(SearchPage {
            query: q,
            field: field_name,
            total: r.total,
            page,
            page_size: size,
            hits: r.hits.into_iter().map(|h| Hit { id: h.id, score: h.score }).collect(),
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
        .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": format!("search index: {e}")}))).into_response(),
    }
}

async fn serve(index_dir: PathBuf, listen: String) -> Result<(), String> {
    let index = CatalogIndex::open(&index_dir).map_err(|e| format!("cannot open the index at {}: {e}", index_dir.display()))?;
    let app = Router::new().route("/api/v1/search", get(api_search)).route("/healthz", get(|| async { "ok" })).with_state(Arc::new(index));
    let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    axum::serve(listener, app).await.map_err(|e| format!("server: {e}"))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(index_dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: wxlib-bench-catalog-ceiling INDEX_DIR [LISTEN]");
        return ExitCode::from(2);
    };
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8091".into());
    // wxlib serve's runtime: tokio's default multi-threaded runtime, one worker per core.
    let result = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the runtime: {e}"))
        .and_then(|rt| rt.block_on(serve(index_dir, listen)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wxlib-bench-catalog-ceiling: {e}");
            ExitCode::FAILURE
        }
    }
}
