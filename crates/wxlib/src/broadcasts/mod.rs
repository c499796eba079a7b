//! Mass news messages ("graphic" messages, 图文消息) and how well each was read.
//!
//! A librarian composes an article (title, author, cover, digest, body with images), previews it
//! to chosen test readers, and sends it to every follower or to a tag. The send is a persistent
//! job ([`send`]): `composed → queued → uploading → sending → sent` (or `failed`), with the
//! recipients frozen at send time in numbered batches, each one `mass/send` call carrying the
//! deterministic `clientmsgid` `wxlib-bc-<id>-<batch>`. A process killed mid-send resumes on the
//! next start (or on another node) at the first batch not recorded as sent; a batch that WeChat
//! did take but whose answer was lost is answered 45065/45066 ("already sent") and counted done,
//! so nobody gets the message twice.
//!
//! The article is also served by wxlib at `/news/{id}` ([`page`]), linked as the article's
//! "阅读原文" (`content_source_url`). A *reader* is one person who opened that page while or
//! after it was sent: inside WeChat the openid from web authorisation (`snsapi_base`), elsewhere a
//! long-lived random cookie. Each is counted once, with the time of the first read. The read rate
//! of a message is its readers ÷ the followers it was sent to at send time (the size of the frozen
//! recipient list, i.e. WeChat's follower count then), so followers who come later do not change
//! it. WeChat's own delivery figures (MASSSENDJOBFINISH) are kept beside it when they arrive.

pub mod console;
pub mod figures;
pub mod page;
pub mod send;
pub mod store;

use crate::lang::Lang;

/// WeChat's limits for a draft article (reference §5; the simulator enforces the same).
pub const TITLE_MAX_CHARS: usize = 32;
pub const AUTHOR_MAX_CHARS: usize = 16;
pub const DIGEST_MAX_CHARS: usize = 128;
pub const BODY_MAX_CHARS: usize = 19_999;
pub const BODY_MAX_BYTES: usize = 1 << 20;
/// Cover and body images: what `material/add_material` and `media/uploadimg` take.
pub const IMAGE_MAX_BYTES: usize = 1 << 20;
/// At most this many openids per `mass/send` call.
pub const WECHAT_BATCH_MAX: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such message")]
    NotFound,
    #[error("this message can no longer be changed: it is {0}")]
    Locked(String),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Api(#[from] crate::wechat::api::ApiError),
}

impl From<sqlx::Error> for BroadcastError {
    fn from(e: sqlx::Error) -> Self {
        BroadcastError::Db(e.into())
    }
}

/// What a librarian typed, before it is stored.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: String,
    pub author: String,
    pub digest: String,
    pub body_html: String,
    /// `None`: a tag id; all followers otherwise.
    pub target_tag_id: Option<i64>,
}

/// An uploaded image: content type and bytes, checked by [`check_image`].
#[derive(Debug, Clone)]
pub struct Image {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Checks the draft against WeChat's limits; the message names the field in the reader's
/// language. The body is sanitized (see [`sanitize`]) before it is measured.
pub fn validate(d: &Draft, lang: Lang) -> Result<Draft, BroadcastError> {
    let t = |zh: &str, en: &str| BroadcastError::Invalid(if lang == Lang::Zh { zh.to_owned() } else { en.to_owned() });
    let title = d.title.trim().to_owned();
    if title.is_empty() {
        return Err(t("请填写标题。", "The title is required."));
    }
    if title.chars().count() > TITLE_MAX_CHARS {
        return Err(t(&format!("标题最多 {TITLE_MAX_CHARS} 个字。"), &format!("The title may have at most {TITLE_MAX_CHARS} characters.")));
    }
    let author = d.author.trim().to_owned();
    if author.chars().count() > AUTHOR_MAX_CHARS {
        return Err(t(
            &format!("作者最多 {AUTHOR_MAX_CHARS} 个字。"),
            &format!("The author may have at most {AUTHOR_MAX_CHARS} characters."),
        ));
    }
    let digest = d.digest.trim().to_owned();
    if digest.chars().count() > DIGEST_MAX_CHARS {
        return Err(t(
            &format!("摘要最多 {DIGEST_MAX_CHARS} 个字。"),
            &format!("The digest may have at most {DIGEST_MAX_CHARS} characters."),
        ));
    }
    let body = sanitize(&d.body_html);
    if body.trim().is_empty() {
        return Err(t("请填写正文。", "The body is required."));
    }
    if body.chars().count() > BODY_MAX_CHARS || body.len() > BODY_MAX_BYTES {
        return Err(t("正文太长：最多 19999 个字符、1 MB。", "The body is too long: at most 19,999 characters and 1 MB."));
    }
    if matches!(d.target_tag_id, Some(id) if id < 0) {
        return Err(t("标签编号无效。", "The tag id is not valid."));
    }
    Ok(Draft { title, author, digest, body_html: body, target_tag_id: d.target_tag_id })
}

/// A cover or body image WeChat accepts: JPEG or PNG (by their magic bytes, not the name),
/// at most 1 MB.
pub fn check_image(bytes: &[u8], lang: Lang) -> Result<&'static str, BroadcastError> {
    let t = |zh: &str, en: &str| BroadcastError::Invalid(if lang == Lang::Zh { zh.to_owned() } else { en.to_owned() });
    if bytes.is_empty() {
        return Err(t("图片是空的。", "The image is empty."));
    }
    if bytes.len() > IMAGE_MAX_BYTES {
        return Err(t("图片最大 1 MB。", "Images may be at most 1 MB."));
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok("image/jpeg")
    } else {
        Err(t("图片须为 JPG 或 PNG。", "Images must be JPG or PNG."))
    }
}

/// Elements kept in an article body; everything else is dropped (its text kept), and the
/// contents of `script`, `style`, `iframe`, `object` and the like are dropped entirely.
const ALLOWED: &[&str] =
    &["p", "br", "h2", "h3", "h4", "strong", "b", "em", "i", "u", "ul", "ol", "li", "blockquote", "a", "img", "hr", "span", "section"];
const DROP_WITH_CONTENT: &[&str] =
    &["script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math", "textarea", "select", "title", "head"];

/// Restricts body HTML to a small allowlist: formatting elements with no attributes, except
/// `a href` (http, https or a site path) and `img src` (wxlib's own `/news/img/<n>`). No scripts,
/// event handlers or styles survive. Text is kept; stray `<`/`>` are escaped.
pub fn sanitize(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut skip_until: Option<String> = None;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if skip_until.is_none() {
                push_text(&mut out, rest);
            }
            break;
        };
        if skip_until.is_none() {
            push_text(&mut out, &rest[..lt]);
        }
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map(|e| &rest[e + 3..]).unwrap_or("");
            continue;
        }
        let Some(gt) = tag_end(rest) else {
            // An unclosed `<`: text, not markup.
            if skip_until.is_none() {
                push_text(&mut out, rest);
            }
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let inner = tag.trim_start_matches('/');
        let name: String = inner.chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
        if let Some(until) = &skip_until {
            if closing && &name == until {
                skip_until = None;
            }
            continue;
        }
        if name.is_empty() {
            continue;
        }
        if DROP_WITH_CONTENT.contains(&name.as_str()) {
            if !closing && !inner.trim_end().ends_with('/') {
                skip_until = Some(name);
            }
            continue;
        }
        if !ALLOWED.contains(&name.as_str()) {
            continue;
        }
        if closing {
            if !matches!(name.as_str(), "br" | "img" | "hr") {
                out.push_str(&format!("</{name}>"));
            }
            continue;
        }
        let attrs = parse_attrs(&inner[name.len()..]);
        match name.as_str() {
            "a" => {
                let href = attrs.iter().find(|(k, _)| k == "href").map(|(_, v)| v.trim().to_owned()).filter(|h| safe_href(h));
                match href {
                    Some(h) => out.push_str(&format!("<a href=\"{}\">", crate::web::escape(&h))),
                    None => out.push_str("<a>"),
                }
            }
            "img" => {
                if let Some(src) =
                    attrs.iter().find(|(k, _)| k == "src").map(|(_, v)| v.trim().to_owned()).filter(|s| local_image_id(s).is_some())
                {
                    out.push_str(&format!("<img src=\"{}\" alt=\"\">", crate::web::escape(&src)));
                }
            }
            other => out.push_str(&format!("<{other}>")),
        }
    }
    out
}

/// The end of a tag starting at `s[0] == '<'`, skipping `>` inside quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// `name="value"`, `name='value'`, `name=value`, `name` → (lowercase name, decoded value).
fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_whitespace() || b[i] == '/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_whitespace() && b[i] != '=' && b[i] != '/' {
            i += 1;
        }
        let name: String = b[start..i].iter().collect::<String>().to_ascii_lowercase();
        while i < b.len() && b[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == '=' {
            i += 1;
            while i < b.len() && b[i].is_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == '"' || b[i] == '\'') {
                let q = b[i];
                i += 1;
                let vs = i;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                value = b[vs..i.min(b.len())].iter().collect();
                i += 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_whitespace() {
                    i += 1;
                }
                value = b[vs..i].iter().collect();
            }
        }
        if !name.is_empty() {
            out.push((name, decode_entities(&value)));
        }
    }
    out
}

/// Enough entity decoding that `javascript&#58;` cannot hide a scheme from [`safe_href`].
fn decode_entities(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let ent = &rest[1..e];
            let code = if let Some(h) = ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X")) {
                u32::from_str_radix(h, 16).ok()
            } else if let Some(d) = ent.strip_prefix('#') {
                d.parse().ok()
            } else {
                match ent {
                    "amp" => Some('&' as u32),
                    "lt" => Some('<' as u32),
                    "gt" => Some('>' as u32),
                    "quot" => Some('"' as u32),
                    "apos" => Some('\'' as u32),
                    "colon" => Some(':' as u32),
                    _ => None,
                }
            };
            code.and_then(char::from_u32).map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn safe_href(h: &str) -> bool {
    let lower: String = h.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect::<String>().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || (lower.starts_with('/') && !lower.starts_with("//"))
}

/// `/news/img/<n>` → n: the only image source a body may use (images uploaded with the message).
pub fn local_image_id(src: &str) -> Option<i64> {
    src.strip_prefix("/news/img/").and_then(|n| n.parse().ok()).filter(|n: &i64| *n > 0)
}

/// Readers ÷ followers at send time, as a percentage with one decimal; `None` before the send
/// or when there was nobody to send to.
pub fn read_rate(readers: i64, followers_at_send: Option<i64>) -> Option<f64> {
    match followers_at_send {
        Some(f) if f > 0 => Some((readers as f64 * 1000.0 / f as f64).round() / 10.0),
        _ => None,
    }
}

/// MASSSENDJOBFINISH: WeChat's delivery figures for one of our batches (total, sent), kept beside
/// wxlib's own reader count. Other mass jobs (sent from WeChat's admin page) are ignored.
pub async fn on_job_finish(
    s: crate::services::Services,
    m: std::sync::Arc<wechat::Inbound>,
) -> Result<wechat::Reply, crate::wechat::router::HandlerError> {
    if let (wechat::InboundKind::Event(wechat::Event::MassSendJobFinish { status, total_count, sent_count, .. }), Some(msg_id)) =
        (&m.kind, m.msg_id.as_deref().and_then(|id| id.parse::<i64>().ok()))
        && s.db.record_mass_job_finish(msg_id, status, *total_count, *sent_count).await?
    {
        tracing::info!(msg_id, status, total_count, sent_count, "mass job finished");
    }
    Ok(wechat::Reply::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_do_not_survive() {
        let dirty = "<p onclick=\"x()\">你好<script>alert(1)</script><b>世界</b></p><img src=\"/news/img/3\" onerror=\"x\"><img src=\"http://evil/x.png\">\
                     <a href=\"javascript:alert(1)\">x</a><a href=\"java&#115;cript:1\">y</a><a href=\"https://lib.example.edu/a?b=1&amp;c=2\">ok</a><style>p{}</style><iframe src=x></iframe>1 < 2";
        let clean = sanitize(dirty);
        assert_eq!(
            clean,
            "<p>你好<b>世界</b></p><img src=\"/news/img/3\" alt=\"\"><a>x</a><a>y</a><a href=\"https://lib.example.edu/a?b=1&amp;c=2\">ok</a>1 &lt; 2"
        );
        assert!(!sanitize("<scr<script>ipt>alert(1)</script>").contains("<script"));
        assert_eq!(sanitize("a<!-- c -->b"), "ab");
        assert_eq!(sanitize("<p title='a>b'>t</p>"), "<p>t</p>");
    }

    #[test]
    fn drafts_are_checked_against_wechat_limits() {
        let ok = Draft { title: " 新书通报 ".into(), body_html: "<p>正文</p>".into(), ..Default::default() };
        assert_eq!(validate(&ok, Lang::Zh).unwrap().title, "新书通报");
        let long = Draft { title: "题".repeat(33), ..ok.clone() };
        assert!(validate(&long, Lang::Zh).unwrap_err().to_string().contains("32"));
        let empty_body = Draft { body_html: "<script>x</script>".into(), ..ok.clone() };
        assert!(validate(&empty_body, Lang::En).unwrap_err().to_string().contains("body"));
        assert!(check_image(b"GIF89a", Lang::En).is_err());
        assert_eq!(check_image(b"\x89PNG\r\n\x1a\nrest", Lang::En).unwrap(), "image/png");
    }

    #[test]
    fn rate_is_against_followers_at_send_time() {
        assert_eq!(read_rate(1, Some(3)), Some(33.3));
        assert_eq!(read_rate(0, Some(0)), None);
        assert_eq!(read_rate(2, None), None);
    }
}
