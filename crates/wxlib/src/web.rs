//! Small helpers for the web: HTML escaping, URL encoding, and one page frame with inline CSS
//! for the mobile pages readers open from chat (no CDN: campus networks and tests are offline).
//! [`session`] signs the reader's short web session; [`client`] says who is on the other end of a
//! request; [`serve`] is the server loop; [`policy`] the security headers and the pages' one script.

pub mod client;
pub mod error;
pub mod policy;
pub mod serve;
pub mod session;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters (a query value, a path
/// segment).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

const STYLE: &str = "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;margin:0;background:#f4f5f7;color:#222}\
header{background:#1d6f42;color:#fff;padding:12px 16px;font-size:17px}main{padding:12px 16px}\
.card{background:#fff;border-radius:8px;padding:12px;margin-bottom:10px;box-shadow:0 1px 2px rgba(0,0,0,.06)}\
.muted{color:#777;font-size:13px}a{color:#1d6f42}table{width:100%;border-collapse:collapse;font-size:14px}\
td,th{padding:6px 4px;border-bottom:1px solid #eee;text-align:left}input,select,textarea,button{font-size:16px;padding:8px;border:1px solid #ccc;border-radius:6px;box-sizing:border-box}\
input[type=text],textarea{width:100%}button{background:#1d6f42;color:#fff;border:0}.ok{color:#1d6f42}.no{color:#b3261e}\
form.search{display:flex;gap:6px}form.search input{flex:1}";

/// A whole mobile page.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t}</title><style>{STYLE}</style></head><body><header>{t}</header><main>{body}</main></body></html>",
        t = escape(title)
    )
}
