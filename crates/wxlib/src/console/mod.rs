//! The librarians' console: server-rendered pages under `/console`, in Chinese (default) and
//! English. This module owns sign-in, sessions, CSRF protection, roles and the audit log
//! ([`auth`], [`audit`]), the page frame ([`layout`]) and librarian management; each feature's
//! pages are its own router nested here, so they all sit behind the same guard: a handler only
//! ever sees a signed-in [`Librarian`] and, for POSTs, a request with the session's CSRF token.
//!
//! A feature adds its section with one `.nest("/path", crate::feature::console_routes())` line in
//! [`routes`], taking [`Librarian`] or [`Admin`] as an extractor, rendering with
//! [`layout::page`], putting [`layout::csrf_field`] in every POST form and calling [`audit`]
//! for every change or send.

pub mod audit;
pub mod auth;
pub mod layout;
pub mod librarians;
pub mod menu_editor;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

pub use audit::{audit, audit_system};
pub use auth::{Admin, Librarian, Role};

use crate::db::DbError;
use crate::lang::Lang;
use crate::services::Services;

/// Picks the console text for the language.
pub fn t<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// What a console handler can fail with beyond bad input (which handlers answer themselves with
/// the form and a message); turned into an error page at the edge.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Api(#[from] crate::wechat::api::ApiError),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Other(String),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, zh, en) = match &self {
            ConsoleError::NotFound => (StatusCode::NOT_FOUND, "找不到该页面或记录。", "No such page or record."),
            ConsoleError::Api(_) => {
                (StatusCode::BAD_GATEWAY, "微信接口调用失败，请稍后再试。", "The WeChat API call failed; please try again later.")
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "系统出错了，请稍后再试。", "Something went wrong; please try again later."),
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "console request failed");
        }
        let body = format!("{}<p class=\"muted\">{en}</p><p><a href=\"/console\">返回首页 / Home</a></p>", layout::flash_error(zh));
        (status, Html(layout::bare_page(Lang::Zh, &status.as_u16().to_string(), &body))).into_response()
    }
}

/// `/console`: sign-in, and every section behind the session + CSRF guard.
pub fn routes(services: Services) -> axum::Router {
    let guarded = axum::Router::<Services>::new()
        .route("/", get(home))
        .route("/logout", post(auth::logout))
        .route("/librarians", get(librarians::list).post(librarians::add))
        .route("/librarians/{id}/password", post(librarians::reset_password))
        .route("/librarians/{id}/disable", post(librarians::disable))
        .route("/librarians/{id}/enable", post(librarians::enable))
        .route("/audit", get(audit::audit_page))
        // Each feature's section, one line each, ABOVE this guard layer (a layer only wraps the
        // routes added before it).
        .nest("/menu", menu_editor::console_routes())
        .nest("/hours", crate::news::hours_console::console_routes())
        .nest("/resources", crate::news::resources::console_routes())
        .nest("/pages", crate::news::pages::console_routes())
        .nest("/answers", crate::answers::console::console_routes())
        .nest("/inbox", crate::consultation::console::console_routes())
        .nest("/partners", crate::partners::console_routes())
        .nest("/activities", crate::activities::console::console_routes())
        .nest("/broadcasts", crate::broadcasts::console::console_routes())
        .nest("/reach", crate::reach::console::console_routes())
        .nest("/analytics", crate::reach::console::analytics_routes())
        .layer(axum::middleware::from_fn_with_state(services.clone(), auth::require_session));
    let open = axum::Router::<Services>::new().route("/login", get(auth::login_page).post(auth::login_submit));
    axum::Router::new().nest("/console", open.merge(guarded)).with_state(services)
}

/// `GET /console`: the state of the account at a glance, and where to go.
async fn home(axum::extract::State(s): axum::extract::State<Services>, lib: Librarian) -> Result<Html<String>, ConsoleError> {
    let lang = lib.lang;
    let items = [
        ("/console/menu", t(lang, "菜单：编辑并发布公众号菜单", "Menu: edit and publish the account's menu")),
        ("/console/hours", t(lang, "开放时间：每周安排与节假日调整", "Opening hours: weekly schedule and holiday changes")),
        ("/console/resources", t(lang, "新资源：新书与数据库", "New resources: new books and databases")),
        ("/console/pages", t(lang, "新生指南与关于我们", "Freshman guide and about us")),
        ("/console/activities", t(lang, "活动：报名、签到、总结", "Activities: sign-up, check-in, report")),
        ("/console/inbox", t(lang, "咨询：回复读者留言", "Inbox: answer readers' questions")),
        ("/console/answers", t(lang, "自动回复：关键词规则", "Answers: keyword rules")),
        ("/console/reach", t(lang, "推广：渠道海报、推荐码与抽奖", "Reach: channel posters, referrals and draws")),
        ("/console/analytics", t(lang, "数据分析：关注、菜单、检索、绑定率", "Analytics: followers, menu, searches, bind rate")),
        ("/console/broadcasts", t(lang, "图文消息：群发与阅读率", "News messages: mass sends and read rates")),
        ("/console/partners", t(lang, "合作图书馆：联合检索（SRU）", "Partner libraries: federated search (SRU)")),
    ];
    let list: String = items.iter().map(|(href, what)| format!("<li><a href=\"{href}\">{what}</a></li>")).collect();
    let hello = match lang {
        Lang::Zh => format!("你好，{}。", crate::web::escape(&lib.username)),
        Lang::En => format!("Hello, {}.", crate::web::escape(&lib.username)),
    };
    // At a glance: followers, today's hours, whether the saved menu is the published one.
    let followers = s.db.count_followers().await?;
    let today = crate::clock::day_of(s.clock.now());
    let hours: String =
        s.db.hours_on(today)
            .await?
            .iter()
            .map(|h| {
                let reason = h.reason.as_deref().map(|r| format!(" ({})", crate::web::escape(r))).unwrap_or_default();
                format!(
                    "<li>{}: {}{reason}</li>",
                    crate::web::escape(h.place.display(lang)),
                    crate::news::hours::describe_intervals(&h.intervals, lang)
                )
            })
            .collect();
    let menu_state = match (menu_editor::pushed_menu(&s).await?, menu_editor::current_menu(&s).await?) {
        (Some((pushed, _)), current) if pushed == current => {
            t(lang, "菜单：已发布的就是最新保存的。", "Menu: the saved menu is published.")
        }
        (Some(_), _) => t(lang, "菜单：有已保存但尚未发布的修改。", "Menu: saved changes are not published yet."),
        (None, _) => t(lang, "菜单：尚未从后台发布。", "Menu: not published from the console yet."),
    };
    let glance = format!(
        "<div class=\"card\" id=\"glance\"><p>{} <b id=\"followers\">{followers}</b></p><p>{} {}</p><ul>{}</ul><p><a href=\"/console/menu\">{menu_state}</a></p></div>",
        t(lang, "关注者：", "Followers:"),
        t(lang, "今天开放时间", "Today's hours"),
        crate::clock::day_string(today),
        if hours.is_empty() {
            format!("<li><a href=\"/console/hours\">{}</a></li>", t(lang, "尚未设置开放时间", "Opening hours are not set yet"))
        } else {
            hours
        },
    );
    Ok(layout::page(
        &lib,
        t(lang, "首页", "Home"),
        &format!("<div class=\"card\"><p id=\"hello\">{hello}</p><ul>{list}</ul></div>{glance}"),
    ))
}
