//! `/console/partners`: the partner libraries federated search asks. Librarians see the list and
//! can check that a partner answers; admins add, edit and remove partners (validated, audited).

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::federated::{self, Outcome};
use super::{KNOWN_INDEXES, Partner, PartnerError};
use crate::catalog::SearchField;
use crate::console::layout::{csrf_field, flash_error, flash_ok, page};
use crate::console::{Admin, ConsoleError, Librarian, audit};
use crate::lang::Lang;
use crate::lang::t;
use crate::services::Services;
use crate::web::escape;

pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new()
        .route("/", get(list).post(add))
        .route("/{id}", get(edit_form).post(update))
        .route("/{id}/delete", post(delete))
        .route("/{id}/check", post(check))
}

/// The form's fields (checkbox `indexes` repeats, so the body is read as pairs).
type Fields = Vec<(String, String)>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// The partner a form describes (not yet validated).
fn partner_of(f: &Fields) -> Partner {
    Partner {
        id: 0,
        name: field(f, "name").trim().to_owned(),
        base_url: field(f, "base_url").trim().to_owned(),
        database: field(f, "database").trim().to_owned(),
        indexes: f.iter().filter(|(k, _)| k == "indexes").map(|(_, v)| v.clone()).collect(),
        record_schema: field(f, "record_schema").trim().to_owned(),
        timeout_ms: field(f, "timeout_ms").trim().parse().unwrap_or(0),
        enabled: field(f, "enabled") == "on",
    }
}

fn error_text(e: &PartnerError, lang: Lang) -> String {
    match (lang, e) {
        (Lang::Zh, PartnerError::Invalid { field, reason }) => {
            let label = match *field {
                "name" => "名称",
                "base_url" => "SRU 地址",
                "database" => "数据库",
                "indexes" => "检索点",
                "record_schema" => "记录格式",
                "timeout_ms" => "超时",
                other => other,
            };
            format!("{label}填写有误：{reason}")
        }
        (Lang::En, PartnerError::Invalid { field, reason }) => format!("{field}: {reason}"),
        (_, other) => other.to_string(),
    }
}

/// The add / edit form, filled with `p`.
fn form_html(lib: &Librarian, action: &str, p: &Partner, submit: &str) -> String {
    let lang = lib.lang;
    let checks: String = KNOWN_INDEXES
        .iter()
        .map(|i| {
            format!(
                "<label><input type=\"checkbox\" name=\"indexes\" value=\"{i}\"{}> {i}</label> ",
                if p.indexes.iter().any(|x| x == i) { " checked" } else { "" }
            )
        })
        .collect();
    let schema = |v: &str| if p.record_schema == v { " selected" } else { "" };
    format!(
        "<form method=\"post\" action=\"{action}\" class=\"card\" id=\"partner-form\">{csrf}\
         <p>{l_name}<br><input type=\"text\" name=\"name\" value=\"{name}\" maxlength=\"60\" size=\"30\"></p>\
         <p>{l_url}<br><input type=\"text\" name=\"base_url\" value=\"{url}\" size=\"50\" placeholder=\"http://sru.example.edu/sru\"></p>\
         <p>{l_db}<br><input type=\"text\" name=\"database\" value=\"{db}\" size=\"20\" placeholder=\"Default\"></p>\
         <p>{l_idx}<br>{checks}</p>\
         <p>{l_schema} <select name=\"record_schema\"><option value=\"marcxml\"{s1}>MARCXML</option><option value=\"dc\"{s2}>Dublin Core</option></select>\
          {l_timeout} <input type=\"number\" name=\"timeout_ms\" value=\"{timeout}\" min=\"100\" max=\"4000\" step=\"100\"> ms\
          <label><input type=\"checkbox\" name=\"enabled\"{enabled}> {l_enabled}</label></p>\
         <button type=\"submit\">{submit}</button></form>",
        csrf = csrf_field(lib),
        l_name = t(lang, "名称（读者看到的馆名）", "Name (as readers see it)"),
        name = escape(&p.name),
        l_url = t(lang, "SRU 地址", "SRU base URL"),
        url = escape(&p.base_url),
        l_db = t(lang, "数据库（可空，如 Zebra 的 Default）", "Database (optional, e.g. Zebra's Default)"),
        db = escape(&p.database),
        l_idx = t(lang, "支持的检索点（见对方的 explain）", "Indexes it supports (see its explain)"),
        l_schema = t(lang, "记录格式", "Record schema"),
        s1 = schema("marcxml"),
        s2 = schema("dc"),
        l_timeout = t(lang, "超时", "Timeout"),
        timeout = p.timeout_ms,
        enabled = if p.enabled { " checked" } else { "" },
        l_enabled = t(lang, "启用", "Enabled"),
    )
}

fn blank() -> Partner {
    Partner {
        id: 0,
        name: String::new(),
        base_url: String::new(),
        database: String::new(),
        indexes: vec!["dc.title".into(), "dc.creator".into(), "dc.subject".into(), "cql.anywhere".into()],
        record_schema: "marcxml".into(),
        timeout_ms: 2000,
        enabled: true,
    }
}

async fn list_page(s: &Services, lib: &Librarian, flash: &str, draft: &Partner) -> Result<Html<String>, ConsoleError> {
    let lang = lib.lang;
    let partners = s.db.partners().await?;
    let mut body = flash.to_owned();
    body.push_str(&format!(
        "<p class=\"muted\">{}</p>",
        t(lang, "读者检索本馆没有结果、或回复“其他馆”时，同时检索这些合作图书馆（SRU 协议）；网页检索每馆一个标签。本馆目录也在 /sru 向合作馆开放。", "When a search finds nothing here, or a reader replies \"other libraries\", these partner libraries are searched too (SRU); the web search has a tab per library. Our own catalog is open to partners at /sru.")
    ));
    if partners.is_empty() {
        body.push_str(&format!("<p>{}</p>", t(lang, "还没有合作图书馆。", "No partner libraries yet.")));
    } else {
        body.push_str(&format!(
            "<table id=\"partners\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
            t(lang, "名称", "Name"),
            t(lang, "SRU 地址", "SRU URL"),
            t(lang, "检索点", "Indexes"),
            t(lang, "超时", "Timeout")
        ));
        for p in &partners {
            let admin_buttons = if lib.is_admin() {
                format!(
                    "<a href=\"/console/partners/{id}\">{edit}</a> <form method=\"post\" action=\"/console/partners/{id}/delete\" class=\"inline\" data-confirm=\"{confirm}\">{csrf}<button class=\"danger\">{del}</button></form>",
                    id = p.id,
                    edit = t(lang, "编辑", "Edit"),
                    confirm = t(lang, "确定删除这个合作馆？", "Remove this partner?"),
                    csrf = csrf_field(lib),
                    del = t(lang, "删除", "Remove"),
                )
            } else {
                String::new()
            };
            body.push_str(&format!(
                "<tr data-partner=\"{id}\"><td>{name}{off}</td><td>{url}</td><td>{idx}</td><td>{timeout} ms</td><td><form method=\"post\" action=\"/console/partners/{id}/check\" class=\"inline\">{csrf}<button>{check}</button></form> {admin_buttons}</td></tr>",
                id = p.id,
                name = escape(&p.name),
                off = if p.enabled { String::new() } else { format!(" <span class=\"muted\">({})</span>", t(lang, "已停用", "disabled")) },
                url = escape(&p.endpoint()),
                idx = escape(&p.indexes.join(", ")),
                timeout = p.timeout_ms,
                csrf = csrf_field(lib),
                check = t(lang, "检测", "Check"),
            ));
        }
        body.push_str("</table>");
    }
    if lib.is_admin() {
        body.push_str(&format!("<h2>{}</h2>", t(lang, "添加合作馆", "Add a partner")));
        body.push_str(&form_html(lib, "/console/partners", draft, t(lang, "添加", "Add")));
    }
    Ok(page(lib, t(lang, "合作图书馆", "Partner libraries"), &body))
}

async fn list(State(s): State<Services>, lib: Librarian) -> Result<Html<String>, ConsoleError> {
    list_page(&s, &lib, "", &blank()).await
}

/// Checks a partner from the form: valid, and no other partner has its name.
async fn checked(s: &Services, p: &Partner, except_id: Option<i64>) -> Result<Result<(), PartnerError>, ConsoleError> {
    if let Err(e) = p.validate(s.config.partners.max_timeout_ms) {
        return Ok(Err(e));
    }
    let taken = s.db.partners().await?.into_iter().any(|o| o.name == p.name && Some(o.id) != except_id);
    Ok(if taken { Err(PartnerError::Invalid { field: "name", reason: "another partner has this name".into() }) } else { Ok(()) })
}

async fn add(State(s): State<Services>, admin: Admin, Form(f): Form<Fields>) -> Result<Response, ConsoleError> {
    let p = partner_of(&f);
    if let Err(e) = checked(&s, &p, None).await? {
        let page = list_page(&s, &admin, &flash_error(&error_text(&e, admin.lang)), &p).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let id = s.db.upsert_partner(&p).await?;
    s.partners.forget();
    audit(&s.db, &admin, "partner.add", &format!("#{id} {} {}", p.name, p.endpoint())).await?;
    Ok(Redirect::to("/console/partners").into_response())
}

async fn edit_form(State(s): State<Services>, admin: Admin, Path(id): Path<i64>) -> Result<Html<String>, ConsoleError> {
    let p = s.db.partner(id).await?.ok_or(ConsoleError::NotFound)?;
    Ok(page(&admin, &p.name.clone(), &form_html(&admin, &format!("/console/partners/{id}"), &p, t(admin.lang, "保存", "Save"))))
}

async fn update(State(s): State<Services>, admin: Admin, Path(id): Path<i64>, Form(f): Form<Fields>) -> Result<Response, ConsoleError> {
    s.db.partner(id).await?.ok_or(ConsoleError::NotFound)?;
    let p = partner_of(&f);
    if let Err(e) = checked(&s, &p, Some(id)).await? {
        let body = format!(
            "{}{}",
            flash_error(&error_text(&e, admin.lang)),
            form_html(&admin, &format!("/console/partners/{id}"), &p, t(admin.lang, "保存", "Save"))
        );
        return Ok((StatusCode::BAD_REQUEST, page(&admin, t(admin.lang, "编辑合作馆", "Edit partner"), &body)).into_response());
    }
    s.db.update_partner(id, &p).await?;
    s.partners.forget();
    audit(
        &s.db,
        &admin,
        "partner.update",
        &format!(
            "#{id} {} {} [{}] {} ms {}",
            p.name,
            p.endpoint(),
            p.indexes.join(","),
            p.timeout_ms,
            if p.enabled { "enabled" } else { "disabled" }
        ),
    )
    .await?;
    Ok(Redirect::to("/console/partners").into_response())
}

async fn delete(State(s): State<Services>, admin: Admin, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    let p = s.db.partner(id).await?.ok_or(ConsoleError::NotFound)?;
    s.db.delete_partner(id).await?;
    s.partners.forget();
    audit(&s.db, &admin, "partner.delete", &format!("#{id} {}", p.name)).await?;
    Ok(Redirect::to("/console/partners").into_response())
}

/// Asks the partner a small real search and says what happened, with the time it took.
async fn check(State(s): State<Services>, lib: Librarian, Path(id): Path<i64>) -> Result<Html<String>, ConsoleError> {
    let mut p = s.db.partner(id).await?.ok_or(ConsoleError::NotFound)?;
    p.timeout_ms = p.timeout_ms.clamp(100, s.config.partners.max_timeout_ms);
    let a = federated::ask(&p, "a", SearchField::Any, 1).await;
    let lang = lib.lang;
    let flash = match &a.outcome {
        Outcome::Answered(r) => flash_ok(&match lang {
            Lang::Zh => format!("{} 正常响应：{} 毫秒，检索 “a” 命中 {} 条。", p.name, a.took_ms, r.total),
            Lang::En => format!("{} answered in {} ms; \"a\" found {} record(s).", p.name, a.took_ms, r.total),
        }),
        Outcome::Unsupported => flash_error(t(lang, "该馆没有可用的检索点。", "The partner has no usable index.")),
        Outcome::Failed { reason, .. } => flash_error(&match lang {
            Lang::Zh => format!("{} 没有正常响应（{} 毫秒）：{}", p.name, a.took_ms, reason),
            Lang::En => format!("{} did not answer properly ({} ms): {}", p.name, a.took_ms, reason),
        }),
    };
    list_page(&s, &lib, &flash, &blank()).await
}
