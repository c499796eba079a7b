//! The console's page frame: navigation to every section, the language switch and sign-out, with
//! inline CSS (no CDN: campus networks and tests are offline). Domain pages put their body HTML
//! inside [`page`]; every POST form carries [`csrf_field`].

use axum::response::Html;

use super::auth::Librarian;
use crate::lang::Lang;
use crate::lang::t;
use crate::web::escape;

const STYLE: &str = "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;margin:0;background:#f4f5f7;color:#222;font-size:15px}\
header{background:#1d6f42;color:#fff;padding:10px 20px;display:flex;align-items:center;gap:16px;flex-wrap:wrap}\
header .brand{font-weight:bold;font-size:17px}header .who{margin-left:auto;font-size:13px}header a{color:#fff}\
header form{display:inline;margin:0}header button{background:transparent;border:1px solid #fff;color:#fff;padding:3px 10px;font-size:13px}\
nav{background:#fff;border-bottom:1px solid #ddd;padding:6px 20px;display:flex;flex-wrap:wrap;gap:4px 14px}\
nav a{color:#1d6f42;text-decoration:none;padding:4px 0}nav a.here{font-weight:bold;border-bottom:2px solid #1d6f42}\
main{padding:16px 20px;max-width:1100px}h1{font-size:20px;margin:4px 0 14px}h2{font-size:17px}\
.card{background:#fff;border-radius:8px;padding:14px;margin-bottom:12px;box-shadow:0 1px 2px rgba(0,0,0,.06)}\
.muted{color:#777;font-size:13px}a{color:#1d6f42}table{width:100%;border-collapse:collapse;font-size:14px;background:#fff}\
td,th{padding:6px 6px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}\
input,select,textarea,button{font-size:14px;padding:6px 8px;border:1px solid #ccc;border-radius:5px;box-sizing:border-box;font-family:inherit}\
textarea{width:100%}button{background:#1d6f42;color:#fff;border:0;cursor:pointer}button.danger{background:#b3261e}\
.flash{padding:10px 14px;border-radius:6px;margin-bottom:12px}.flash.error{background:#fdecea;color:#b3261e;border:1px solid #f5c2bd}\
.flash.ok{background:#e7f4ec;color:#1d6f42;border:1px solid #b7dfc5}.ok{color:#1d6f42}.no{color:#b3261e}\
form.inline{display:inline}.login{max-width:340px}.login input{width:100%}.row{display:flex;gap:8px;flex-wrap:wrap;align-items:center}";

/// One console section in the navigation: path, Chinese and English names, admins only.
struct Section {
    path: &'static str,
    zh: &'static str,
    en: &'static str,
    admin_only: bool,
}

/// Every section of the console, including those other features provide.
const SECTIONS: &[Section] = &[
    Section { path: "/console", zh: "首页", en: "Home", admin_only: false },
    Section { path: "/console/menu", zh: "菜单", en: "Menu", admin_only: false },
    Section { path: "/console/hours", zh: "开放时间", en: "Opening hours", admin_only: false },
    Section { path: "/console/resources", zh: "新资源", en: "New resources", admin_only: false },
    Section { path: "/console/pages", zh: "新生指南与关于我们", en: "Guide & about", admin_only: false },
    Section { path: "/console/activities", zh: "活动", en: "Activities", admin_only: false },
    Section { path: "/console/inbox", zh: "咨询", en: "Inbox", admin_only: false },
    Section { path: "/console/answers", zh: "自动回复", en: "Answers", admin_only: false },
    Section { path: "/console/broadcasts", zh: "图文消息", en: "News messages", admin_only: false },
    Section { path: "/console/reach", zh: "推广与抽奖", en: "Reach", admin_only: false },
    Section { path: "/console/analytics", zh: "数据分析", en: "Analytics", admin_only: false },
    Section { path: "/console/partners", zh: "合作伙伴", en: "Partners", admin_only: false },
    Section { path: "/console/harvest", zh: "目录收割", en: "Catalog harvest", admin_only: false },
    Section { path: "/console/suggestions", zh: "读者荐购", en: "Purchase suggestions", admin_only: false },
    Section { path: "/console/librarians", zh: "馆员管理", en: "Librarians", admin_only: true },
    Section { path: "/console/audit", zh: "操作日志", en: "Audit log", admin_only: true },
];

/// The hidden CSRF field every POST form in the console must carry.
pub fn csrf_field(lib: &Librarian) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(&lib.csrf))
}

/// An error message box (the text is escaped).
pub fn flash_error(msg: &str) -> String {
    format!("<div class=\"flash error\" role=\"alert\">{}</div>", escape(msg))
}

/// A success message box (the text is escaped).
pub fn flash_ok(msg: &str) -> String {
    format!("<div class=\"flash ok\" role=\"status\">{}</div>", escape(msg))
}

fn html_lang(lang: Lang) -> &'static str {
    if lang == Lang::En { "en" } else { "zh-CN" }
}

/// A console page in the frame: header (who, language switch, sign-out), navigation, body.
/// `title` is escaped; `body_html` is trusted HTML built by the caller (escape what readers or
/// librarians typed with [`crate::web::escape`]).
pub fn page(lib: &Librarian, title: &str, body_html: &str) -> Html<String> {
    let lang = lib.lang;
    let nav: String = SECTIONS
        .iter()
        .filter(|s| !s.admin_only || lib.is_admin())
        .map(|s| format!("<a href=\"{}\">{}</a>", s.path, t(lang, s.zh, s.en)))
        .collect();
    let switch = if lang == Lang::Zh {
        "<a href=\"?lang=en\" id=\"lang-switch\">English</a>"
    } else {
        "<a href=\"?lang=zh\" id=\"lang-switch\">中文</a>"
    };
    Html(format!(
        "<!doctype html><html lang=\"{hl}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · {brand}</title><style>{STYLE}</style><script src=\"/static/wxlib.js\" defer></script></head><body>\
         <header><span class=\"brand\">{brand}</span><span class=\"who\">{user} ({role}) · {switch} · \
         <form method=\"post\" action=\"/console/logout\" class=\"inline\">{csrf}<button type=\"submit\" id=\"sign-out\">{out}</button></form></span></header>\
         <nav>{nav}</nav><main><h1>{title}</h1>{body_html}</main></body></html>",
        hl = html_lang(lang),
        title = escape(title),
        brand = t(lang, "图书馆公众号管理后台", "Library account console"),
        user = escape(&lib.username),
        role = lib.role.label(lang),
        csrf = csrf_field(lib),
        out = t(lang, "退出", "Sign out"),
    ))
}

/// A page without the signed-in frame (sign-in, errors before a session exists).
pub fn bare_page(lang: Lang, title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{hl}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><header><span class=\"brand\">{brand}</span></header><main><h1>{title}</h1>{body_html}</main></body></html>",
        hl = html_lang(lang),
        title = escape(title),
        brand = t(lang, "图书馆公众号管理后台", "Library account console"),
    )
}
