//! The phone page: one self-contained HTML document (inline CSS and JS, nothing fetched from
//! elsewhere) that talks to the phone's JSON API under the mount it was served from.

const PAGE: &str = include_str!("page.html");

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The page for a phone mounted at `base` (`/sim`, or `""` at the root).
pub(crate) fn render(base: &str, account_name: &str) -> String {
    // A JSON string is valid JS; `</` is escaped so it cannot end the script element.
    let base_js = serde_json::to_string(base).unwrap_or_else(|_| "\"\"".to_owned()).replace("</", "<\\/");
    PAGE.replace("__BASE_JSON__", &base_js).replace("__ACCOUNT_NAME__", &html_escape(account_name))
}
