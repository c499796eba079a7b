//! Template messages as the account defines them: the templates WeChat lists for the account
//! (`template/get_all_private_template`, each field a `{{key.DATA}}` in its content), checking a
//! configured field mapping (role → key) against that definition, and fitting values to a
//! field's limits (its type is the key without its digits: `thing` ≤ 20 characters,
//! `character_string` ≤ 32 letters, digits and symbols, `number` digits, `time` a date/time, …).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// One of the account's templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateDef {
    pub id: String,
    pub title: String,
    /// The field keys in the content, in order (`thing1`, `time2`, …).
    pub keys: Vec<String>,
}

/// The field keys a template's content names: `{{thing1.DATA}}` → `thing1` (WeChat's own
/// listing writes them with or without spaces inside the braces).
pub fn keys_of(content: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let compact: String = content.chars().filter(|c| *c != ' ').collect();
    let mut rest = compact.as_str();
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("}}") else { break };
        if let Some(key) = rest[..end].strip_suffix(".DATA").filter(|k| !k.is_empty()) {
            keys.push(key.to_owned());
        }
        rest = &rest[end + 2..];
    }
    keys
}

/// The templates in a `get_all_private_template` answer.
pub fn parse_list(v: &Value) -> Vec<TemplateDef> {
    v.get("template_list")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|t| {
                    let id = t.get("template_id")?.as_str()?.to_owned();
                    let title = t.get("title").and_then(Value::as_str).unwrap_or_default().to_owned();
                    let keys = keys_of(t.get("content").and_then(Value::as_str).unwrap_or_default());
                    Some(TemplateDef { id, title, keys })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A field's type: its key without the digits (`thing1` → `thing`).
pub fn kind(key: &str) -> &str {
    key.trim_end_matches(|c: char| c.is_ascii_digit())
}

/// What a role's value is, so that it goes to a field of a type that can carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carries {
    Text,
    Date,
    Count,
}

fn accepts(kind: &str, what: Carries) -> bool {
    match what {
        Carries::Text => matches!(kind, "thing" | "character_string" | "phrase" | "name" | "keyword" | "first" | "remark"),
        Carries::Date => matches!(kind, "time" | "date" | "thing" | "character_string" | "keyword"),
        Carries::Count => matches!(kind, "number" | "character_string" | "thing" | "keyword"),
    }
}

/// Whether `fields` (role → key) fits the template `def`: it exists, every key is one of its
/// fields, and each role's value suits the field's type. The error says what to change.
pub fn check(def: Option<&TemplateDef>, id: &str, fields: &BTreeMap<String, String>, roles: &[(&str, Carries)]) -> Result<(), String> {
    let Some(def) = def else {
        return Err(format!("the account has no template {id:?} (template/get_all_private_template does not list it)"));
    };
    for (role, key) in fields {
        if !def.keys.contains(key) {
            return Err(format!("{role} = {key:?}, but template {id:?} ({}) has the fields {}", def.title, def.keys.join(", ")));
        }
        if let Some((_, what)) = roles.iter().find(|(r, _)| r == role)
            && !accepts(kind(key), *what)
        {
            return Err(format!("{role} = {key:?}: a {} field cannot carry {what:?}", kind(key)));
        }
    }
    Ok(())
}

/// `value` as the field `key` accepts it: cut to the type's length (with "…" where text is
/// cut), digits only for `number`.
pub fn fit(key: &str, value: &str) -> String {
    let cut = |max: usize| -> String {
        if value.chars().count() <= max { value.to_owned() } else { value.chars().take(max - 1).collect::<String>() + "…" }
    };
    match kind(key) {
        "thing" => cut(20),
        "character_string" | "letter" => value.chars().filter(|c| c.is_ascii() && !c.is_ascii_control()).take(32).collect(),
        "number" => value.chars().filter(char::is_ascii_digit).take(32).collect(),
        "name" => cut(10),
        "phrase" | "symbol" => cut(5),
        "phone_number" => cut(17),
        "car_number" => cut(8),
        _ => value.to_owned(),
    }
}

/// The most a field of `key`'s type holds, in characters (`None`: no stated limit).
pub fn limit(key: &str) -> Option<usize> {
    match kind(key) {
        "thing" => Some(20),
        "character_string" | "letter" | "number" => Some(32),
        "name" => Some(10),
        "phrase" | "symbol" => Some(5),
        "phone_number" => Some(17),
        "car_number" => Some(8),
        _ => None,
    }
}

/// A `message/template/send` body: each role's value in its mapped field, fitted; roles without
/// a field are left out.
pub fn body(openid: &str, id: &str, fields: &BTreeMap<String, String>, values: &[(&str, String)], url: &str, client_msg_id: &str) -> Value {
    let mut data = Map::new();
    for (role, value) in values {
        if let Some(key) = fields.get(*role) {
            data.insert(key.clone(), json!({ "value": fit(key, value) }));
        }
    }
    json!({"touser": openid, "template_id": id, "url": url, "client_msg_id": client_msg_id, "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_checks() {
        let v = json!({"template_list": [
            {"template_id": "due", "title": "借阅到期提醒", "content": "借阅图书:{{thing1.DATA}}\n到期时间:{{ time2.DATA }}\n数量:{{number3.DATA}}"},
            {"template_id": "old", "title": "old style", "content": "{{first.DATA}}\n书名：{{keyword1.DATA}}\n{{remark.DATA}}"}
        ]});
        let list = parse_list(&v);
        assert_eq!(list[0].keys, ["thing1", "time2", "number3"]);
        assert_eq!(list[1].keys, ["first", "keyword1", "remark"]);
        let roles = [("books", Carries::Text), ("due", Carries::Date), ("count", Carries::Count)];
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect::<BTreeMap<_, _>>();
        assert!(check(Some(&list[0]), "due", &map(&[("books", "thing1"), ("due", "time2"), ("count", "number3")]), &roles).is_ok());
        let err = check(Some(&list[0]), "due", &map(&[("note", "thing4")]), &roles).unwrap_err();
        assert!(err.contains("thing4") && err.contains("thing1, time2, number3"), "{err}");
        let err = check(Some(&list[0]), "due", &map(&[("books", "time2")]), &roles).unwrap_err();
        assert!(err.contains("time field"), "{err}");
        assert!(check(None, "gone", &map(&[]), &roles).unwrap_err().contains("no template \"gone\""));
    }

    #[test]
    fn values_fit_their_fields() {
        assert_eq!(fit("thing1", "一二三四五六七八九十一二三四五六七八九十"), "一二三四五六七八九十一二三四五六七八九十");
        assert_eq!(fit("thing1", "一二三四五六七八九十一二三四五六七八九十多").chars().count(), 20);
        assert_eq!(fit("number3", "共 12 本"), "12");
        assert_eq!(fit("character_string2", "B001 明代"), "B001 ");
        assert_eq!(fit("time2", "2026-12-10"), "2026-12-10");
    }
}
