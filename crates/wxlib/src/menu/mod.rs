//! The account's menu: the study's three groups (Figure 1) — Books query, Borrowing information,
//! Library — as WeChat's menu JSON, checked against WeChat's limits before it is pushed; the menu
//! librarians saved and published (kept in the store's settings), and its editor ([`console`]).

pub mod console;

use serde_json::{Value, json};

use crate::catalog::chat::{MENU_SEARCH_ANY, MENU_SEARCH_AUTHOR, MENU_SEARCH_SUBJECT, MENU_SEARCH_TITLE};
use crate::circulation::chat::{MENU_HOT, MENU_LOANS, MENU_RENEW, MENU_UNBIND};
use crate::db::DbError;
use crate::services::Services;

pub const MENU_ACTIVITIES: &str = "ACTIVITIES";
pub const MENU_NEW_BOOKS: &str = "NEW_BOOKS";
pub const MENU_ABOUT: &str = "ABOUT_US";
/// Opening hours for today (and the week).
pub const MENU_HOURS: &str = "OPENING_HOURS";
/// The freshman guide.
pub const MENU_GUIDE: &str = "FRESHMAN_GUIDE";
/// Ask a librarian (the consultation inbox).
pub const MENU_ASK: &str = "ASK_LIBRARIAN";

/// Why WeChat would refuse a menu (its error code and the rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{errcode}: {rule}")]
pub struct MenuError {
    pub errcode: i64,
    pub rule: String,
}

/// The default menu of the study, with web pages under `public_url`.
pub fn default_menu(public_url: &str) -> Value {
    let click = |name: &str, key: &str| json!({"type": "click", "name": name, "key": key});
    json!({"button": [
        {"name": "图书查询", "sub_button": [
            click("题名", MENU_SEARCH_TITLE),
            click("责任者", MENU_SEARCH_AUTHOR),
            click("主题词", MENU_SEARCH_SUBJECT),
            click("任意词", MENU_SEARCH_ANY),
        ]},
        {"name": "借阅信息", "sub_button": [
            {"type": "view", "name": "绑定一卡通", "url": format!("{public_url}/h5/bind")},
            click("解绑一卡通", MENU_UNBIND),
            click("借阅图书", MENU_LOANS),
            click("续借图书", MENU_RENEW),
            click("热门借阅", MENU_HOT),
        ]},
        {"name": "图书馆", "sub_button": [
            click("活动通知", MENU_ACTIVITIES),
            click("新书资源", MENU_NEW_BOOKS),
            click("关于我们", MENU_ABOUT),
        ]},
    ]})
}

/// Checks a menu against WeChat's rules (reference §5): 1–3 buttons, up to 5 sub-buttons each,
/// names ≤ 16 bytes (top) / ≤ 60 bytes (sub), keys ≤ 128 bytes, URLs ≤ 1024 bytes.
pub fn validate(menu: &Value) -> Result<(), MenuError> {
    let err = |errcode, rule: String| Err(MenuError { errcode, rule });
    let Some(buttons) = menu.get("button").and_then(Value::as_array) else { return err(40016, "the menu needs a button list".into()) };
    if buttons.is_empty() || buttons.len() > 3 {
        return err(40016, format!("{} top-level buttons; WeChat allows 1 to 3", buttons.len()));
    }
    for b in buttons {
        let name = b.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() || name.len() > 16 {
            return err(40018, format!("top-level name {name:?} is {} bytes; WeChat allows 1 to 16", name.len()));
        }
        match b.get("sub_button").and_then(Value::as_array) {
            Some(subs) if !subs.is_empty() => {
                if subs.len() > 5 {
                    return err(40017, format!("{name:?} has {} items; WeChat allows up to 5", subs.len()));
                }
                for sb in subs {
                    let sname = sb.get("name").and_then(Value::as_str).unwrap_or_default();
                    if sname.is_empty() || sname.len() > 60 {
                        return err(40018, format!("item name {sname:?} is {} bytes; WeChat allows 1 to 60", sname.len()));
                    }
                    leaf(sb, sname)?;
                }
            }
            _ => leaf(b, name)?,
        }
    }
    Ok(())
}

fn leaf(b: &Value, name: &str) -> Result<(), MenuError> {
    let err = |errcode, rule: String| Err(MenuError { errcode, rule });
    match b.get("type").and_then(Value::as_str) {
        Some("click" | "scancode_push" | "scancode_waitmsg" | "pic_sysphoto" | "pic_photo_or_album" | "pic_weixin" | "location_select") => {
            let key = b.get("key").and_then(Value::as_str).unwrap_or_default();
            if key.is_empty() || key.len() > 128 {
                return err(40019, format!("{name:?}: key must be 1 to 128 bytes"));
            }
        }
        Some("view") => {
            let url = b.get("url").and_then(Value::as_str).unwrap_or_default();
            if url.is_empty() || url.len() > 1024 {
                return err(40055, format!("{name:?}: url must be 1 to 1024 bytes"));
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return err(40055, format!("{name:?}: url must start with http:// or https://"));
            }
        }
        Some("miniprogram" | "article_id" | "article_view_limited" | "media_id" | "view_limited") => {}
        other => return err(40018, format!("{name:?}: unknown or missing type {other:?}")),
    }
    Ok(())
}

const SETTING_MENU: &str = "menu.current";
const SETTING_PUSHED: &str = "menu.pushed";

/// The menu as saved in the console, or the study's menu if nobody saved one.
pub async fn current_menu(s: &Services) -> Result<Value, DbError> {
    let saved = s.db.setting(SETTING_MENU).await?.and_then(|v| serde_json::from_str(&v).ok());
    Ok(saved.unwrap_or_else(|| default_menu(&s.config.server.public_url)))
}

/// The last published menu and when (unix seconds), if any.
pub async fn pushed_menu(s: &Services) -> Result<Option<(Value, i64)>, DbError> {
    let v: Option<Value> = s.db.setting(SETTING_PUSHED).await?.and_then(|v| serde_json::from_str(&v).ok());
    Ok(v.and_then(|v| Some((v.get("menu")?.clone(), v.get("at")?.as_i64()?))))
}

/// Records that `menu` is what WeChat now shows (for the editor's status line).
pub async fn record_push(s: &Services, menu: &Value) -> Result<(), DbError> {
    s.db.put_setting(SETTING_PUSHED, &json!({"menu": menu, "at": s.clock.now()}).to_string()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_study_menu_fits_wechat() {
        validate(&default_menu("https://lib.example.edu")).unwrap();
    }

    #[test]
    fn wechat_limits() {
        let four = json!({"button": [{"name":"a","type":"click","key":"k"},{"name":"b","type":"click","key":"k"},{"name":"c","type":"click","key":"k"},{"name":"d","type":"click","key":"k"}]});
        assert_eq!(validate(&four).unwrap_err().errcode, 40016);
        let subs: Vec<Value> = (0..6).map(|i| json!({"name": format!("s{i}"), "type": "click", "key": "k"})).collect();
        assert_eq!(validate(&json!({"button": [{"name": "a", "sub_button": subs}]})).unwrap_err().errcode, 40017);
        assert_eq!(validate(&json!({"button": [{"name": "图书馆图书馆图", "type": "click", "key": "k"}]})).unwrap_err().errcode, 40018);
        assert_eq!(validate(&json!({"button": [{"name": "a", "type": "click", "key": "k".repeat(129)}]})).unwrap_err().errcode, 40019);
    }
}
