//! `menu/create` validation, with WeChat's limits and codes (reference §5 "menu"; codes from the
//! global return-code list): 1–3 top buttons (40016), 1–5 sub-buttons (40023), no third level
//! (40022), names ≤16 bytes top / ≤60 bytes sub (40018 / 40025), known types (40017 / 40024),
//! key ≤128 bytes (40019 / 40026), url ≤1024 bytes (40020 / 40027) and http(s) (40055 / 40054),
//! mini-program buttons only for linked mini programs (45064).

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::errcode::{self, ApiErr, err_hint};

const KEY_TYPES: &[&str] =
    &["click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select"];
const OTHER_TYPES: &[&str] = &["view", "miniprogram", "media_id", "view_limited", "article_id", "article_view_limited"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Top,
    Sub,
}

struct Codes {
    name: i64,
    name_max: usize,
    ty: i64,
    key: i64,
    url: i64,
    domain: i64,
}

impl Level {
    fn codes(self) -> Codes {
        match self {
            Level::Top => Codes {
                name: errcode::INVALID_BUTTON_NAME_SIZE,
                name_max: 16,
                ty: errcode::INVALID_BUTTON_TYPE,
                key: errcode::INVALID_BUTTON_KEY_SIZE,
                url: errcode::INVALID_BUTTON_URL_SIZE,
                domain: errcode::INVALID_BUTTON_URL_DOMAIN,
            },
            Level::Sub => Codes {
                name: errcode::INVALID_SUB_BUTTON_NAME_SIZE,
                name_max: 60,
                ty: errcode::INVALID_SUB_BUTTON_TYPE,
                key: errcode::INVALID_SUB_BUTTON_KEY_SIZE,
                url: errcode::INVALID_SUB_BUTTON_URL_SIZE,
                domain: errcode::INVALID_SUB_BUTTON_URL_DOMAIN,
            },
        }
    }
}

fn str_field<'a>(b: &'a Value, key: &str) -> Option<&'a str> {
    b.get(key).and_then(Value::as_str)
}

pub(crate) fn validate(menu: &Value, linked: &HashSet<String>) -> Result<(), ApiErr> {
    let buttons = match menu.get("button").and_then(Value::as_array) {
        Some(b) if (1..=3).contains(&b.len()) => b,
        Some(b) => return err_hint(errcode::INVALID_BUTTON_SIZE, format!("{} buttons, 1..3 allowed", b.len())),
        None => return err_hint(errcode::INVALID_BUTTON_SIZE, "no button array"),
    };
    for (i, b) in buttons.iter().enumerate() {
        let subs = b.get("sub_button").and_then(Value::as_array).filter(|s| !s.is_empty());
        match subs {
            Some(subs) => {
                check_name(b, Level::Top, &format!("button[{i}]"))?;
                if subs.len() > 5 {
                    return err_hint(errcode::INVALID_SUB_BUTTON_SIZE, format!("button[{i}] has {} sub buttons, at most 5", subs.len()));
                }
                for (j, s) in subs.iter().enumerate() {
                    let at = format!("button[{i}].sub_button[{j}]");
                    if s.get("sub_button").and_then(Value::as_array).is_some_and(|x| !x.is_empty()) {
                        return err_hint(errcode::INVALID_SUB_MENU_LEVEL, at);
                    }
                    check_leaf(s, Level::Sub, &at, linked)?;
                }
            }
            None => check_leaf(b, Level::Top, &format!("button[{i}]"), linked)?,
        }
    }
    Ok(())
}

fn check_name(b: &Value, level: Level, at: &str) -> Result<(), ApiErr> {
    let c = level.codes();
    match str_field(b, "name") {
        Some(n) if !n.is_empty() && n.len() <= c.name_max => Ok(()),
        Some(n) => err_hint(c.name, format!("{at}.name is {} bytes, 1..{} allowed", n.len(), c.name_max)),
        None => err_hint(c.name, format!("{at}.name missing")),
    }
}

fn check_leaf(b: &Value, level: Level, at: &str, linked: &HashSet<String>) -> Result<(), ApiErr> {
    let c = level.codes();
    check_name(b, level, at)?;
    let ty = match str_field(b, "type") {
        Some(t) if KEY_TYPES.contains(&t) || OTHER_TYPES.contains(&t) => t,
        Some(t) => return err_hint(c.ty, format!("{at}.type {t:?}")),
        None => return err_hint(c.ty, format!("{at}.type missing")),
    };
    if KEY_TYPES.contains(&ty) {
        match str_field(b, "key") {
            Some(k) if !k.is_empty() && k.len() <= 128 => {}
            _ => return err_hint(c.key, format!("{at}.key must be 1..128 bytes")),
        }
    }
    let check_url = |required: bool| -> Result<(), ApiErr> {
        match str_field(b, "url") {
            Some(u) if !u.is_empty() && u.len() <= 1024 => {
                if u.starts_with("http://") || u.starts_with("https://") {
                    Ok(())
                } else {
                    err_hint(c.domain, format!("{at}.url {u:?}"))
                }
            }
            None if !required => Ok(()),
            _ => err_hint(c.url, format!("{at}.url must be 1..1024 bytes")),
        }
    };
    match ty {
        "view" => check_url(true)?,
        "miniprogram" => {
            let appid = str_field(b, "appid").unwrap_or_default();
            if appid.is_empty() {
                return err_hint(errcode::INVALID_WEAPP_APPID, format!("{at}.appid"));
            }
            if str_field(b, "pagepath").unwrap_or_default().is_empty() {
                return err_hint(errcode::INVALID_WEAPP_PAGEPATH, format!("{at}.pagepath"));
            }
            check_url(true)?;
            if !linked.contains(appid) {
                return err_hint(errcode::WEAPP_NOT_LINKED, appid);
            }
        }
        "media_id" | "view_limited" if str_field(b, "media_id").unwrap_or_default().is_empty() => {
            return err_hint(errcode::INVALID_MEDIA_ID, format!("{at}.media_id"));
        }
        "article_id" | "article_view_limited" if str_field(b, "article_id").unwrap_or_default().is_empty() => {
            return err_hint(errcode::INVALID_MEDIA_ID, format!("{at}.article_id"));
        }
        _ => {}
    }
    Ok(())
}

/// The `get_current_selfmenu_info` shape: sub-buttons under `sub_button.list`.
pub(crate) fn selfmenu_info(menu: Option<&Value>) -> Value {
    let Some(menu) = menu else {
        return json!({"is_menu_open": 0});
    };
    let buttons: Vec<Value> = menu
        .get("button")
        .and_then(Value::as_array)
        .map(|bs| {
            bs.iter()
                .map(|b| match b.get("sub_button").and_then(Value::as_array).filter(|s| !s.is_empty()) {
                    Some(subs) => json!({"name": b.get("name").cloned().unwrap_or(Value::Null), "sub_button": {"list": subs}}),
                    None => b.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    json!({"is_menu_open": 1, "selfmenu_info": {"button": buttons}})
}
