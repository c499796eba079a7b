//! The menu editor (`/console/menu`): the account's 3 groups × up to 5 items, each a built-in action (the four
//! searches, bind/unbind, loans, renew, hot list, activities, new resources, opening hours,
//! guide, about us, ask a librarian…), a web link or a custom click key. The menu is kept in the
//! database (the study's menu until someone saves another), checked against WeChat's limits with
//! a clear message per field before it is saved, and published with `menu/create`. Any librarian
//! may save a draft; publishing changes what every follower sees, so it is for admins. Saves and
//! publications are audited.

use std::collections::HashMap;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{SETTING_MENU, current_menu, pushed_menu, record_push};
use crate::clock::local_datetime;
use crate::console::layout::{csrf_field, flash_error, flash_ok, page};
use crate::console::{Admin, ConsoleError, Librarian, audit};
use crate::lang::Lang;
use crate::lang::t;
use crate::menu;
use crate::services::Services;
use crate::web::escape;

/// What a menu entry does, as the editor offers it.
#[derive(Debug, Clone, Copy)]
pub enum ActionKind {
    /// A click with this key, answered in chat.
    Click(&'static str),
    /// A wxlib web page at this path under `server.public_url`.
    Page(&'static str),
}

/// A built-in action: its id in the form, its names, and what it does.
pub struct BuiltinAction {
    pub id: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub kind: ActionKind,
}

/// Everything wxlib answers from the menu.
pub const BUILTIN_ACTIONS: &[BuiltinAction] = &[
    BuiltinAction {
        id: "search_title",
        zh: "检索：题名",
        en: "Search: title",
        kind: ActionKind::Click(crate::catalog::chat::MENU_SEARCH_TITLE),
    },
    BuiltinAction {
        id: "search_author",
        zh: "检索：责任者",
        en: "Search: author",
        kind: ActionKind::Click(crate::catalog::chat::MENU_SEARCH_AUTHOR),
    },
    BuiltinAction {
        id: "search_subject",
        zh: "检索：主题词",
        en: "Search: subject",
        kind: ActionKind::Click(crate::catalog::chat::MENU_SEARCH_SUBJECT),
    },
    BuiltinAction {
        id: "search_any",
        zh: "检索：任意词",
        en: "Search: any word",
        kind: ActionKind::Click(crate::catalog::chat::MENU_SEARCH_ANY),
    },
    BuiltinAction { id: "bind", zh: "绑定一卡通（网页）", en: "Bind campus card (web page)", kind: ActionKind::Page("/h5/bind") },
    BuiltinAction {
        id: "unbind",
        zh: "解绑一卡通",
        en: "Unbind campus card",
        kind: ActionKind::Click(crate::circulation::chat::MENU_UNBIND),
    },
    BuiltinAction { id: "loans", zh: "我的借阅", en: "My loans", kind: ActionKind::Click(crate::circulation::chat::MENU_LOANS) },
    BuiltinAction { id: "renew", zh: "续借全部", en: "Renew all", kind: ActionKind::Click(crate::circulation::chat::MENU_RENEW) },
    BuiltinAction { id: "holds", zh: "我的预约", en: "My holds", kind: ActionKind::Click(crate::circulation::chat::MENU_HOLDS) },
    BuiltinAction { id: "hot", zh: "热门借阅", en: "Most borrowed", kind: ActionKind::Click(crate::circulation::chat::MENU_HOT) },
    BuiltinAction { id: "activities", zh: "活动通知", en: "Activities", kind: ActionKind::Click(menu::MENU_ACTIVITIES) },
    BuiltinAction { id: "new_books", zh: "新书资源", en: "New resources", kind: ActionKind::Click(menu::MENU_NEW_BOOKS) },
    BuiltinAction { id: "hours", zh: "开放时间", en: "Opening hours", kind: ActionKind::Click(menu::MENU_HOURS) },
    BuiltinAction { id: "guide", zh: "新生指南", en: "Freshman guide", kind: ActionKind::Click(menu::MENU_GUIDE) },
    BuiltinAction { id: "about", zh: "关于我们", en: "About us", kind: ActionKind::Click(menu::MENU_ABOUT) },
    BuiltinAction { id: "ask", zh: "咨询馆员", en: "Ask a librarian", kind: ActionKind::Click(menu::MENU_ASK) },
    BuiltinAction { id: "opac", zh: "馆藏检索（网页）", en: "Catalog search (web page)", kind: ActionKind::Page("/opac/search") },
];

pub const GROUPS: usize = 3;
pub const ITEMS: usize = 5;

/// One menu entry as the form holds it: name, action (`builtin:<id>`, `view`, `click` or empty)
/// and the URL or key for `view` / `click`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    pub name: String,
    pub action: String,
    pub value: String,
}

/// The editable menu: up to 3 groups, each with a name, its own action (used when it has no
/// items) and up to 5 items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MenuForm {
    pub groups: Vec<(Entry, Vec<Entry>)>,
}

impl MenuForm {
    /// Reads the form fields `g{i}_name|action|value` and `g{i}_{j}_name|action|value`.
    pub fn from_fields(fields: &HashMap<String, String>) -> Self {
        let get = |k: String| fields.get(&k).map(|v| v.trim().to_owned()).unwrap_or_default();
        let entry =
            |p: String| Entry { name: get(format!("{p}_name")), action: get(format!("{p}_action")), value: get(format!("{p}_value")) };
        let groups = (0..GROUPS).map(|i| (entry(format!("g{i}")), (0..ITEMS).map(|j| entry(format!("g{i}_{j}"))).collect())).collect();
        MenuForm { groups }
    }

    /// The form view of WeChat menu JSON (built-in actions recognised by key or page URL).
    pub fn from_menu(menu: &Value, public_url: &str) -> Self {
        let entry = |b: &Value| {
            let name = b.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            let ty = b.get("type").and_then(Value::as_str).unwrap_or_default();
            let key = b.get("key").and_then(Value::as_str).unwrap_or_default();
            let url = b.get("url").and_then(Value::as_str).unwrap_or_default();
            let builtin = BUILTIN_ACTIONS.iter().find(|a| match a.kind {
                ActionKind::Click(k) => ty == "click" && key == k,
                ActionKind::Page(p) => ty == "view" && url == format!("{public_url}{p}"),
            });
            match (builtin, ty) {
                (Some(a), _) => Entry { name, action: format!("builtin:{}", a.id), value: String::new() },
                (None, "view") => Entry { name, action: "view".into(), value: url.to_owned() },
                (None, "click") => Entry { name, action: "click".into(), value: key.to_owned() },
                (None, _) => Entry { name, action: String::new(), value: String::new() },
            }
        };
        let groups = menu
            .get("button")
            .and_then(Value::as_array)
            .map(|buttons| {
                buttons
                    .iter()
                    .map(|b| {
                        let subs: Vec<Entry> =
                            b.get("sub_button").and_then(Value::as_array).map(|s| s.iter().map(entry).collect()).unwrap_or_default();
                        let own = if subs.is_empty() {
                            entry(b)
                        } else {
                            Entry { name: b.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(), ..Default::default() }
                        };
                        (own, subs)
                    })
                    .collect()
            })
            .unwrap_or_default();
        MenuForm { groups }
    }

    /// WeChat's menu JSON, or the first problem, told in the librarian's language.
    pub fn to_menu(&self, public_url: &str, lang: Lang) -> Result<Value, String> {
        let mut buttons = Vec::new();
        for (i, (group, items)) in self.groups.iter().enumerate() {
            let gno = i + 1;
            let used: Vec<(usize, &Entry)> =
                items.iter().enumerate().filter(|(_, e)| !e.name.is_empty() || !e.action.is_empty() || !e.value.is_empty()).collect();
            if group.name.is_empty() {
                if !used.is_empty() || !group.action.is_empty() {
                    return Err(match lang {
                        Lang::Zh => format!("第 {gno} 组有菜单项但没有名称：请填写组名，或清空该组。"),
                        Lang::En => format!("Group {gno} has items but no name: name it or clear it."),
                    });
                }
                continue;
            }
            check_name(&group.name, 16, lang, &group_label(gno, lang))?;
            if used.len() > ITEMS {
                return Err(match lang {
                    Lang::Zh => format!("第 {gno} 组最多 5 项。"),
                    Lang::En => format!("Group {gno} can have at most 5 items."),
                });
            }
            if used.is_empty() {
                let mut b = leaf(group, public_url, lang, &group_label(gno, lang))?;
                b["name"] = json!(group.name);
                buttons.push(b);
            } else {
                let mut subs = Vec::new();
                for (j, e) in used {
                    let label = match lang {
                        Lang::Zh => format!("第 {gno} 组第 {} 项", j + 1),
                        Lang::En => format!("group {gno}, item {}", j + 1),
                    };
                    if e.name.is_empty() {
                        return Err(match lang {
                            Lang::Zh => format!("{label}没有名称。"),
                            Lang::En => format!("{label} has no name."),
                        });
                    }
                    check_name(&e.name, 60, lang, &label)?;
                    let mut b = leaf(e, public_url, lang, &label)?;
                    b["name"] = json!(e.name);
                    subs.push(b);
                }
                buttons.push(json!({"name": group.name, "sub_button": subs}));
            }
        }
        if buttons.is_empty() {
            return Err(t(lang, "菜单至少需要一组。", "The menu needs at least one group.").to_owned());
        }
        let menu = json!({ "button": buttons });
        // The same rules once more on the final JSON, as WeChat states them.
        menu::validate(&menu).map_err(|e| e.to_string())?;
        Ok(menu)
    }
}

fn group_label(gno: usize, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("第 {gno} 组"),
        Lang::En => format!("group {gno}"),
    }
}

fn check_name(name: &str, max_bytes: usize, lang: Lang, label: &str) -> Result<(), String> {
    if name.len() <= max_bytes {
        return Ok(());
    }
    Err(match lang {
        Lang::Zh => format!(
            "{label}的名称“{name}”有 {} 字节，微信最多允许 {max_bytes} 字节（一个汉字 3 字节，约 {} 个汉字）。",
            name.len(),
            max_bytes / 3
        ),
        Lang::En => format!(
            "The name \"{name}\" of {label} is {} bytes; WeChat allows at most {max_bytes} bytes (a Chinese character is 3 bytes, so about {} characters).",
            name.len(),
            max_bytes / 3
        ),
    })
}

fn leaf(e: &Entry, public_url: &str, lang: Lang, label: &str) -> Result<Value, String> {
    if let Some(id) = e.action.strip_prefix("builtin:") {
        let Some(a) = BUILTIN_ACTIONS.iter().find(|a| a.id == id) else {
            return Err(match lang {
                Lang::Zh => format!("{label}：未知的功能 {id}。"),
                Lang::En => format!("{label}: unknown action {id}."),
            });
        };
        return Ok(match a.kind {
            ActionKind::Click(key) => json!({"type": "click", "key": key}),
            ActionKind::Page(path) => json!({"type": "view", "url": format!("{public_url}{path}")}),
        });
    }
    match e.action.as_str() {
        "view" => {
            let url = e.value.as_str();
            let ok = (url.starts_with("http://") || url.starts_with("https://"))
                && url.len() > "https://".len()
                && url.len() <= 1024
                && !url.chars().any(char::is_whitespace);
            if !ok {
                return Err(match lang {
                    Lang::Zh => format!("{label}：网页链接须以 http:// 或 https:// 开头、不含空格，且不超过 1024 字节。"),
                    Lang::En => {
                        format!("{label}: the web link must start with http:// or https://, contain no spaces and be at most 1024 bytes.")
                    }
                });
            }
            Ok(json!({"type": "view", "url": url}))
        }
        "click" => {
            let key = e.value.as_str();
            let ok = !key.is_empty() && key.len() <= 128 && key.chars().all(|c| c.is_ascii_graphic());
            if !ok {
                return Err(match lang {
                    Lang::Zh => format!("{label}：点击键须为 1–128 字节的英文字母、数字或符号（不含空格）。"),
                    Lang::En => format!("{label}: the click key must be 1 to 128 bytes of letters, digits or symbols (no spaces)."),
                });
            }
            Ok(json!({"type": "click", "key": key}))
        }
        _ => Err(match lang {
            Lang::Zh => format!("{label}：请选择一个功能。"),
            Lang::En => format!("{label}: choose what it does."),
        }),
    }
}

pub fn console_routes() -> axum::Router<Services> {
    axum::Router::new().route("/", get(editor).post(save)).route("/push", post(push)).route("/reset", post(reset))
}

fn action_select(lib: &Librarian, name: &str, current: &str) -> String {
    let lang = lib.lang;
    let mut out = format!("<select name=\"{name}\"><option value=\"\">{}</option>", t(lang, "（选择功能）", "(choose)"));
    for a in BUILTIN_ACTIONS {
        let v = format!("builtin:{}", a.id);
        out.push_str(&format!("<option value=\"{v}\"{}>{}</option>", if v == current { " selected" } else { "" }, t(lang, a.zh, a.en)));
    }
    for (v, zh, en) in [("view", "网页链接", "Web link"), ("click", "自定义点击键", "Custom click key")] {
        out.push_str(&format!("<option value=\"{v}\"{}>{}</option>", if v == current { " selected" } else { "" }, t(lang, zh, en)));
    }
    out.push_str("</select>");
    out
}

fn entry_row(lib: &Librarian, prefix: &str, e: &Entry, label: &str) -> String {
    format!(
        "<tr><td>{label}</td><td><input type=\"text\" name=\"{prefix}_name\" value=\"{}\"></td><td>{}</td><td><input type=\"text\" name=\"{prefix}_value\" value=\"{}\" placeholder=\"{}\"></td></tr>",
        escape(&e.name),
        action_select(lib, &format!("{prefix}_action"), &e.action),
        escape(&e.value),
        t(lib.lang, "网页链接或点击键", "URL or click key")
    )
}

fn render(lib: &Librarian, form: &MenuForm, message: &str, pushed: Option<&(Value, i64)>, current: &Value) -> Html<String> {
    let lang = lib.lang;
    let empty = (Entry::default(), Vec::new());
    let mut groups = String::new();
    for i in 0..GROUPS {
        let (g, items) = form.groups.get(i).unwrap_or(&empty);
        let mut rows = entry_row(lib, &format!("g{i}"), g, &format!("<b>{}</b>", t(lang, "组", "Group")));
        for j in 0..ITEMS {
            let e = items.get(j).cloned().unwrap_or_default();
            rows.push_str(&entry_row(lib, &format!("g{i}_{j}"), &e, &format!("{}", j + 1)));
        }
        groups.push_str(&format!(
            "<div class=\"card\"><h2>{} {}</h2><p class=\"muted\">{}</p><table><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table></div>",
            t(lang, "第", "Group"),
            i + 1,
            t(lang, "组名最多 16 字节（约 5 个汉字）；有子菜单时组本身的功能不用。菜单项名称最多 60 字节。名称留空的行不显示。", "Group names are at most 16 bytes (about 5 Chinese characters); a group with items ignores its own action. Item names are at most 60 bytes. Rows with no name are left out."),
            t(lang, "名称", "Name"),
            t(lang, "功能", "Action"),
            t(lang, "链接或键", "URL or key")
        ));
    }
    let status = match pushed {
        Some((m, at)) if m == current => {
            format!("<p class=\"ok\" id=\"menu-status\">{} {}</p>", t(lang, "已发布到微信：", "Published to WeChat:"), local_datetime(*at))
        }
        Some((_, at)) => format!(
            "<p class=\"no\" id=\"menu-status\">{} {}</p>",
            t(lang, "已保存的菜单尚未发布；上次发布：", "The saved menu is not published yet; last published:"),
            local_datetime(*at)
        ),
        None => format!(
            "<p class=\"no\" id=\"menu-status\">{}</p>",
            t(lang, "尚未从后台发布过菜单。", "No menu has been published from the console yet.")
        ),
    };
    let push = if lib.is_admin() {
        format!(
            "<form method=\"post\" action=\"/console/menu/push\" class=\"inline\">{}<button type=\"submit\" id=\"push-menu\">{}</button></form>",
            csrf_field(lib),
            t(lang, "发布已保存的菜单到微信", "Publish the saved menu to WeChat")
        )
    } else {
        format!("<span class=\"muted\">{}</span>", t(lang, "发布菜单需要管理员。", "Publishing the menu needs an admin."))
    };
    let body = format!(
        "{message}<div class=\"card\">{status}<div class=\"row\">{push}\
         <form method=\"post\" action=\"/console/menu/reset\" class=\"inline\">{csrf}<button type=\"submit\" class=\"danger\" id=\"reset-menu\">{reset}</button></form></div></div>\
         <form method=\"post\" action=\"/console/menu\" id=\"menu-form\">{csrf}{groups}<button type=\"submit\" id=\"save-menu\">{save}</button></form>",
        csrf = csrf_field(lib),
        reset = t(lang, "恢复为默认菜单（调研菜单）", "Restore the default (the study's) menu"),
        save = t(lang, "检查并保存", "Check and save"),
    );
    page(lib, t(lang, "菜单", "Menu"), &body)
}

#[derive(serde::Deserialize, Default)]
pub struct MenuQuery {
    ok: Option<String>,
}

/// `GET /console/menu`
async fn editor(
    State(s): State<Services>,
    lib: Librarian,
    axum::extract::Query(q): axum::extract::Query<MenuQuery>,
) -> Result<Html<String>, ConsoleError> {
    let current = current_menu(&s).await?;
    let pushed = pushed_menu(&s).await?;
    let msg = match q.ok.as_deref() {
        Some("saved") => {
            flash_ok(t(lib.lang, "菜单已保存。管理员发布后读者才能看到。", "Menu saved. Readers see it once an admin publishes it."))
        }
        Some("pushed") => flash_ok(t(
            lib.lang,
            "菜单已发布到微信。读者的微信会在几分钟内刷新菜单。",
            "Menu published to WeChat. Readers' WeChat refreshes the menu within minutes.",
        )),
        Some("reset") => flash_ok(t(lib.lang, "已恢复为默认菜单（尚未发布）。", "Restored the default menu (not published yet).")),
        _ => String::new(),
    };
    Ok(render(&lib, &MenuForm::from_menu(&current, &s.config.server.public_url), &msg, pushed.as_ref(), &current))
}

/// `POST /console/menu`: checks and saves the draft; a wrong field gets the form back with the
/// problem and nothing saved.
async fn save(State(s): State<Services>, lib: Librarian, Form(fields): Form<HashMap<String, String>>) -> Result<Response, ConsoleError> {
    let form = MenuForm::from_fields(&fields);
    match form.to_menu(&s.config.server.public_url, lib.lang) {
        Ok(menu) => {
            s.db.put_setting(SETTING_MENU, &menu.to_string()).await?;
            audit(&s.db, &lib, "menu.save", &menu.to_string()).await?;
            Ok(Redirect::to("/console/menu?ok=saved").into_response())
        }
        Err(problem) => {
            let current = current_menu(&s).await?;
            let pushed = pushed_menu(&s).await?;
            let msg = flash_error(&format!("{}{problem}", t(lib.lang, "未保存：", "Not saved: ")));
            Ok((StatusCode::BAD_REQUEST, render(&lib, &form, &msg, pushed.as_ref(), &current)).into_response())
        }
    }
}

/// `POST /console/menu/push` (admins): publishes the saved menu with `menu/create`.
async fn push(State(s): State<Services>, admin: Admin) -> Result<Response, ConsoleError> {
    let menu = current_menu(&s).await?;
    let lang = admin.lang;
    let problem = match menu::validate(&menu) {
        Err(e) => Some(e.to_string()),
        Ok(()) => match s.api.create_menu(&menu).await {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(error = %e, "menu push failed");
                Some(e.to_string())
            }
        },
    };
    if let Some(problem) = problem {
        let pushed = pushed_menu(&s).await?;
        let msg = flash_error(&format!(
            "{}{problem}",
            t(lang, "发布失败，读者的菜单没有变化：", "Publishing failed; readers' menu is unchanged: ")
        ));
        return Ok((
            StatusCode::BAD_GATEWAY,
            render(&admin, &MenuForm::from_menu(&menu, &s.config.server.public_url), &msg, pushed.as_ref(), &menu),
        )
            .into_response());
    }
    record_push(&s, &menu).await?;
    audit(&s.db, &admin, "menu.push", &menu.to_string()).await?;
    Ok(Redirect::to("/console/menu?ok=pushed").into_response())
}

/// `POST /console/menu/reset`: the study's menu becomes the saved draft again.
async fn reset(State(s): State<Services>, lib: Librarian) -> Result<Response, ConsoleError> {
    let menu = menu::default_menu(&s.config.server.public_url);
    s.db.put_setting(SETTING_MENU, &menu.to_string()).await?;
    audit(&s.db, &lib, "menu.reset", "the study's default menu").await?;
    Ok(Redirect::to("/console/menu?ok=reset").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://lib.example.edu";

    #[test]
    fn the_study_menu_round_trips_through_the_form() {
        let study = menu::default_menu(BASE);
        let form = MenuForm::from_menu(&study, BASE);
        assert_eq!(form.groups.len(), 3);
        assert_eq!(form.groups[1].1[0].action, "builtin:bind");
        assert_eq!(form.to_menu(BASE, Lang::Zh).unwrap(), study);
    }

    #[test]
    fn clear_messages_for_wrong_input() {
        let mut form = MenuForm::from_menu(&menu::default_menu(BASE), BASE);
        form.groups[0].0.name = "图书查询图书查询".into();
        let e = form.to_menu(BASE, Lang::Zh).unwrap_err();
        assert!(e.contains("24 字节") && e.contains("16"), "{e}");
        let mut form = MenuForm::from_menu(&menu::default_menu(BASE), BASE);
        form.groups[2].1[0] = Entry { name: "官网".into(), action: "view".into(), value: "ftp://x".into() };
        assert!(form.to_menu(BASE, Lang::En).unwrap_err().contains("http://"));
        form.groups[2].1[0] = Entry { name: "官网".into(), action: String::new(), value: String::new() };
        assert!(form.to_menu(BASE, Lang::En).unwrap_err().contains("choose"));
        let empty = MenuForm { groups: vec![(Entry::default(), vec![])] };
        assert!(empty.to_menu(BASE, Lang::En).is_err());
    }
}
