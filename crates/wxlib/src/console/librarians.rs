//! Managing librarian accounts (admins only): add a librarian or admin, reset a password,
//! disable or enable an account. An admin cannot disable or demote themself, so the console
//! always keeps one admin who can sign in. Every change is audited.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::audit;
use super::auth::{self, Admin, Role};
use super::error::ConsoleError;
use super::layout::{csrf_field, flash_error, flash_ok, page};
use crate::clock::local_datetime;
use crate::lang::t;
use crate::services::Services;
use crate::web::escape;

#[derive(Deserialize, Default)]
pub struct Flash {
    ok: Option<String>,
}

async fn render(s: &Services, admin: &Admin, status: StatusCode, message: &str, form_user: &str) -> Result<Response, ConsoleError> {
    let lang = admin.lang;
    let list = s.db.librarians().await?;
    let rows: String = list
        .iter()
        .map(|l| {
            let state = if l.disabled { format!("<span class=\"no\">{}</span>", t(lang, "已停用", "disabled")) } else { format!("<span class=\"ok\">{}</span>", t(lang, "正常", "active")) };
            let toggle = if l.id == admin.id {
                String::new()
            } else if l.disabled {
                format!("<form method=\"post\" action=\"/console/librarians/{}/enable\" class=\"inline\">{}<button type=\"submit\">{}</button></form>", l.id, csrf_field(admin), t(lang, "启用", "Enable"))
            } else {
                format!("<form method=\"post\" action=\"/console/librarians/{}/disable\" class=\"inline\">{}<button type=\"submit\" class=\"danger\">{}</button></form>", l.id, csrf_field(admin), t(lang, "停用", "Disable"))
            };
            format!(
                "<tr id=\"librarian-{id}\"><td>{name}</td><td>{role}</td><td>{state}</td><td>{created}</td><td>\
                 <form method=\"post\" action=\"/console/librarians/{id}/password\" class=\"inline row\">{csrf}<input type=\"password\" name=\"password\" placeholder=\"{np}\" autocomplete=\"new-password\"><button type=\"submit\">{reset}</button></form> {toggle}</td></tr>",
                id = l.id,
                name = escape(&l.username),
                role = l.role.label(lang),
                created = local_datetime(l.created_at),
                csrf = csrf_field(admin),
                np = t(lang, "新密码（至少 8 位）", "new password (8+ characters)"),
                reset = t(lang, "重置密码", "Reset password"),
            )
        })
        .collect();
    let add = format!(
        "<form method=\"post\" action=\"/console/librarians\" class=\"card row\" id=\"add-librarian\">{csrf}\
         <label>{u} <input type=\"text\" name=\"username\" value=\"{user}\"></label>\
         <label>{p} <input type=\"password\" name=\"password\" autocomplete=\"new-password\"></label>\
         <label>{r} <select name=\"role\"><option value=\"librarian\">{rl}</option><option value=\"admin\">{ra}</option></select></label>\
         <button type=\"submit\">{add}</button></form>",
        csrf = csrf_field(admin),
        u = t(lang, "用户名", "User name"),
        p = t(lang, "初始密码", "Initial password"),
        r = t(lang, "角色", "Role"),
        rl = Role::Librarian.label(lang),
        ra = Role::Admin.label(lang),
        add = t(lang, "添加馆员", "Add librarian"),
        user = escape(form_user),
    );
    let body = format!(
        "{message}{add}<table id=\"librarians\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>{rows}</table>",
        t(lang, "用户名", "User name"),
        t(lang, "角色", "Role"),
        t(lang, "状态", "State"),
        t(lang, "创建时间", "Created"),
    );
    Ok((status, page(admin, t(lang, "馆员管理", "Librarians"), &body)).into_response())
}

/// `GET /console/librarians`
pub async fn list(
    State(s): State<Services>,
    admin: Admin,
    axum::extract::Query(f): axum::extract::Query<Flash>,
) -> Result<Response, ConsoleError> {
    let msg = match f.ok.as_deref() {
        Some("added") => flash_ok(t(admin.lang, "已添加。", "Added.")),
        Some("password") => flash_ok(t(admin.lang, "密码已重置，该馆员需重新登录。", "Password reset; the librarian must sign in again.")),
        Some("disabled") => flash_ok(t(admin.lang, "已停用，该馆员已被登出。", "Disabled; the librarian was signed out.")),
        Some("enabled") => flash_ok(t(admin.lang, "已启用。", "Enabled.")),
        _ => String::new(),
    };
    render(&s, &admin, StatusCode::OK, &msg, "").await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

/// `POST /console/librarians`: adds an account.
pub async fn add(State(s): State<Services>, admin: Admin, Form(f): Form<AddForm>) -> Result<Response, ConsoleError> {
    let username = f.username.trim();
    let Some(role) = Role::parse(&f.role) else {
        return render(&s, &admin, StatusCode::BAD_REQUEST, &flash_error(t(admin.lang, "请选择角色。", "Choose a role.")), username).await;
    };
    match auth::create_librarian(&s.db, username, &f.password, role).await {
        Ok(id) => {
            audit(&s.db, &admin, "librarian.add", &format!("#{id} {username} ({})", role.as_str())).await?;
            Ok(Redirect::to("/console/librarians?ok=added").into_response())
        }
        Err(auth::AuthError::Db(e)) => Err(e.into()),
        Err(e) => render(&s, &admin, StatusCode::BAD_REQUEST, &flash_error(&e.message(admin.lang)), username).await,
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// `POST /console/librarians/{id}/password`: sets a new password and signs the account out.
pub async fn reset_password(
    State(s): State<Services>,
    admin: Admin,
    Path(id): Path<i64>,
    Form(f): Form<PasswordForm>,
) -> Result<Response, ConsoleError> {
    let Some(target) = s.db.librarian(id).await? else { return Err(ConsoleError::NotFound) };
    match auth::set_password(&s.db, id, &f.password).await {
        Ok(()) => {
            audit(&s.db, &admin, "librarian.password", &format!("#{id} {}", target.username)).await?;
            Ok(Redirect::to("/console/librarians?ok=password").into_response())
        }
        Err(auth::AuthError::Db(e)) => Err(e.into()),
        Err(e) => render(&s, &admin, StatusCode::BAD_REQUEST, &flash_error(&e.message(admin.lang)), "").await,
    }
}

async fn set_disabled(s: &Services, admin: &Admin, id: i64, disabled: bool) -> Result<Response, ConsoleError> {
    let Some(target) = s.db.librarian(id).await? else { return Err(ConsoleError::NotFound) };
    if id == admin.id {
        return render(
            s,
            admin,
            StatusCode::BAD_REQUEST,
            &flash_error(t(admin.lang, "不能停用自己的账号。", "You cannot disable your own account.")),
            "",
        )
        .await;
    }
    s.db.set_librarian_disabled(id, disabled).await?;
    let action = if disabled { "librarian.disable" } else { "librarian.enable" };
    audit(&s.db, admin, action, &format!("#{id} {}", target.username)).await?;
    Ok(Redirect::to(if disabled { "/console/librarians?ok=disabled" } else { "/console/librarians?ok=enabled" }).into_response())
}

/// `POST /console/librarians/{id}/disable`
pub async fn disable(State(s): State<Services>, admin: Admin, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    set_disabled(&s, &admin, id, true).await
}

/// `POST /console/librarians/{id}/enable`
pub async fn enable(State(s): State<Services>, admin: Admin, Path(id): Path<i64>) -> Result<Response, ConsoleError> {
    set_disabled(&s, &admin, id, false).await
}
