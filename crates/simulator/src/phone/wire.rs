//! What travels between the phone and the callback: the inbound XML WeChat builds, its signed
//! (and in safe mode encrypted) request, and the checks WeChat applies to the answer.

use serde_json::{Value, json};
use wechat::MessageCrypto;
use wechat::xml::{self, Element, cdata};

/// One field of an inbound message: text goes in CDATA, numbers go bare (as WeChat writes them).
pub(crate) enum F<'a> {
    S(&'a str, &'a str),
    N(&'a str, String),
}

/// `<xml><ToUserName/><FromUserName/><CreateTime/><MsgType/>…</xml>` as WeChat sends it.
pub(crate) fn inbound_xml(gh_id: &str, openid: &str, create_time: i64, msg_type: &str, fields: &[F<'_>]) -> String {
    let mut x = String::with_capacity(256);
    x.push_str("<xml><ToUserName>");
    cdata(&mut x, gh_id);
    x.push_str("</ToUserName><FromUserName>");
    cdata(&mut x, openid);
    x.push_str("</FromUserName><CreateTime>");
    x.push_str(&create_time.to_string());
    x.push_str("</CreateTime><MsgType>");
    cdata(&mut x, msg_type);
    x.push_str("</MsgType>");
    for f in fields {
        match f {
            F::S(name, value) => {
                x.push('<');
                x.push_str(name);
                x.push('>');
                cdata(&mut x, value);
                x.push_str("</");
                x.push_str(name);
                x.push('>');
            }
            F::N(name, value) => {
                x.push_str(&format!("<{name}>{value}</{name}>"));
            }
        }
    }
    x.push_str("</xml>");
    x
}

/// The query string and body of one callback POST.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub query: String,
    pub body: String,
}

/// Signs (and with a key, encrypts) `xml` as WeChat does: `signature` over (token, timestamp,
/// nonce) always; in safe mode `encrypt_type=aes` and `msg_signature` over the `Encrypt` too.
#[allow(clippy::too_many_arguments, reason = "the parts of one signed request, as WeChat's documentation names them")]
pub(crate) fn seal(
    token: &str,
    crypto: Option<&MessageCrypto>,
    gh_id: &str,
    openid: &str,
    xml: &str,
    timestamp: &str,
    nonce: &str,
    random: [u8; 16],
) -> Request {
    let signature = wechat::signature::sign(&[token, timestamp, nonce]);
    match crypto {
        None => {
            Request { query: format!("signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={openid}"), body: xml.to_owned() }
        }
        Some(c) => {
            let encrypt = c.encrypt(0, xml, random);
            let msg_signature = c.msg_signature(timestamp, nonce, &encrypt);
            Request {
                query: format!(
                    "signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={openid}&encrypt_type=aes&msg_signature={msg_signature}"
                ),
                body: wechat::envelope::encrypted_request(gh_id, &encrypt),
            }
        }
    }
}

/// A media id the phone can show: `Some(kind)` when it names uploaded media of that kind.
pub(crate) type MediaCheck<'a> = &'a dyn Fn(&str, &str) -> bool;

/// Checks an HTTP-200 answer the way WeChat does and turns it into the reply JSON
/// (`{"type": "text", "content": …}` …) plus the reply's plaintext XML. `Err` carries why WeChat
/// would show the reader "该公众号暂时无法提供服务，请稍后再试".
pub(crate) fn check_reply(
    body: &[u8],
    crypto: Option<&MessageCrypto>,
    gh_id: &str,
    openid: &str,
    to_user_message: bool,
    media_ok: MediaCheck<'_>,
) -> Result<(Value, Option<String>), String> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "success" {
        return Ok((json!({"type": "success"}), None));
    }
    let outer = xml::parse(trimmed.as_bytes()).map_err(|e| format!("the answer is not XML ({e}): {}", snippet(trimmed)))?;
    let encrypt = wechat::envelope::encrypt_field(&outer);
    let inner_xml = match (crypto, encrypt) {
        (Some(c), Some(enc)) => {
            let get = |n: &str| outer.child_text(n).map(str::trim).unwrap_or_default().to_owned();
            let (sig, ts, nonce) = (get("MsgSignature"), get("TimeStamp"), get("Nonce"));
            if sig.is_empty() || ts.is_empty() || nonce.is_empty() {
                return Err("encrypted reply without MsgSignature, TimeStamp or Nonce".to_owned());
            }
            c.open(&sig, &ts, &nonce, enc).map_err(|e| format!("encrypted reply refused: {e}"))?.xml
        }
        (Some(_), None) => return Err("safe mode: the reply must be encrypted (no Encrypt element)".to_owned()),
        (None, Some(_)) => return Err("plain mode, but the reply is encrypted".to_owned()),
        (None, None) => trimmed.to_owned(),
    };
    let root =
        if crypto.is_some() { xml::parse(inner_xml.as_bytes()).map_err(|e| format!("decrypted reply is not XML ({e})"))? } else { outer };
    let reply = reply_json(&root, gh_id, openid, to_user_message, media_ok)?;
    Ok((reply, Some(inner_xml)))
}

fn snippet(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn reply_json(root: &Element, gh_id: &str, openid: &str, to_user_message: bool, media_ok: MediaCheck<'_>) -> Result<Value, String> {
    let t = |n: &str| root.child_text(n).map(str::to_owned);
    match t("ToUserName") {
        Some(to) if to == openid => {}
        other => return Err(format!("reply ToUserName is {other:?}, not the reader {openid:?}")),
    }
    match t("FromUserName") {
        Some(from) if from == gh_id => {}
        other => return Err(format!("reply FromUserName is {other:?}, not the account {gh_id:?}")),
    }
    if t("CreateTime").and_then(|c| c.trim().parse::<i64>().ok()).is_none() {
        return Err("reply without a numeric CreateTime".to_owned());
    }
    let msg_type = t("MsgType").unwrap_or_default();
    let media = |path: &[&str], kind: &str| -> Result<String, String> {
        let id = root.path(path).map(|e| e.text.trim().to_owned()).unwrap_or_default();
        if id.is_empty() {
            return Err(format!("{msg_type} reply without {}", path.join(".")));
        }
        if !media_ok(&id, kind) {
            return Err(format!("{msg_type} reply: {id:?} is not uploaded {kind} media"));
        }
        Ok(id)
    };
    let sub = |path: &[&str]| root.path(path).map(|e| e.text.clone()).unwrap_or_default();
    match msg_type.as_str() {
        "text" => {
            let content = t("Content").unwrap_or_default();
            if content.trim().is_empty() {
                return Err("empty text reply".to_owned());
            }
            Ok(json!({"type": "text", "content": content}))
        }
        "image" => Ok(json!({"type": "image", "media_id": media(&["Image", "MediaId"], "image")?})),
        "voice" => Ok(json!({"type": "voice", "media_id": media(&["Voice", "MediaId"], "voice")?})),
        "video" => Ok(json!({
            "type": "video",
            "media_id": media(&["Video", "MediaId"], "video")?,
            "title": sub(&["Video", "Title"]),
            "description": sub(&["Video", "Description"]),
        })),
        "music" => {
            let thumb = sub(&["Music", "ThumbMediaId"]);
            if !thumb.is_empty() && !media_ok(&thumb, "thumb") && !media_ok(&thumb, "image") {
                return Err(format!("music reply: ThumbMediaId {thumb:?} is not uploaded media"));
            }
            Ok(json!({
                "type": "music",
                "title": sub(&["Music", "Title"]),
                "description": sub(&["Music", "Description"]),
                "music_url": sub(&["Music", "MusicUrl"]),
                "hq_music_url": sub(&["Music", "HQMusicUrl"]),
                "thumb_media_id": thumb,
            }))
        }
        "news" => {
            let items: Vec<&Element> =
                root.child("Articles").map(|a| a.children.iter().filter(|c| c.name == "item").collect()).unwrap_or_default();
            let count = t("ArticleCount").and_then(|c| c.trim().parse::<usize>().ok());
            if count != Some(items.len()) {
                return Err(format!("news reply: ArticleCount {count:?} but {} items", items.len()));
            }
            if items.is_empty() {
                return Err("news reply without articles".to_owned());
            }
            let max = if to_user_message { wechat::reply::MAX_ARTICLES_FOR_MESSAGE } else { wechat::reply::MAX_ARTICLES_FOR_EVENT };
            if items.len() > max {
                return Err(format!("news reply with {} articles; WeChat allows {max} here and shows nothing", items.len()));
            }
            let articles: Vec<Value> = items
                .iter()
                .map(|i| {
                    let f = |n: &str| i.child_text(n).unwrap_or_default().to_owned();
                    json!({"title": f("Title"), "description": f("Description"), "pic_url": f("PicUrl"), "url": f("Url")})
                })
                .collect();
            if articles.iter().any(|a| a["title"].as_str().unwrap_or_default().is_empty()) {
                return Err("news reply: an article without a Title".to_owned());
            }
            Ok(json!({"type": "news", "articles": articles}))
        }
        "transfer_customer_service" => {
            let kf = root.path(&["TransInfo", "KfAccount"]).map(|e| e.text.clone());
            Ok(json!({"type": "transfer_customer_service", "kf_account": kf}))
        }
        other => Err(format!("reply MsgType {other:?} is not one WeChat knows")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wechat::{AesKey, Reply};

    const GH: &str = "gh_0123456789ab";
    const OPENID: &str = "oSim00000000000000000000test";

    fn crypto() -> MessageCrypto {
        MessageCrypto::new("tok", "wxapp", AesKey::from_encoding_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap(), None)
    }

    fn any_media(_: &str, _: &str) -> bool {
        true
    }

    #[test]
    fn seals_and_opens_like_wechat() {
        let c = crypto();
        let xml = inbound_xml(GH, OPENID, 1_700_000_000, "text", &[F::S("Content", "借阅"), F::N("MsgId", "42".into())]);
        assert!(xml.contains("<MsgId>42</MsgId>") && xml.contains("<Content><![CDATA[借阅]]></Content>"));
        let req = seal("tok", Some(&c), GH, OPENID, &xml, "1700000000", "123", [3; 16]);
        let q: std::collections::HashMap<_, _> = req.query.split('&').filter_map(|kv| kv.split_once('=')).collect();
        assert_eq!(q["signature"], wechat::signature::sign(&["tok", "1700000000", "123"]));
        assert_eq!(q["encrypt_type"], "aes");
        let outer = xml::parse(req.body.as_bytes()).unwrap();
        let enc = wechat::envelope::encrypt_field(&outer).unwrap();
        assert_eq!(c.open(q["msg_signature"], "1700000000", "123", enc).unwrap().xml, xml);

        let plain = seal("tok", None, GH, OPENID, &xml, "1700000000", "123", [3; 16]);
        assert_eq!(plain.body, xml);
        assert!(!plain.query.contains("encrypt_type"));
    }

    #[test]
    fn checks_replies() {
        let c = crypto();
        let reply = Reply::text("你好").to_xml(OPENID, GH, 1).unwrap();
        let sealed = c.seal_reply(0, &reply, "1", "2", [1; 16]);
        let (v, x) = check_reply(sealed.as_bytes(), Some(&c), GH, OPENID, true, &any_media).unwrap();
        assert_eq!(v, json!({"type": "text", "content": "你好"}));
        assert_eq!(x.as_deref(), Some(reply.as_str()));
        // Plain in safe mode, encrypted in plain mode, a forged signature, the wrong reader.
        assert!(check_reply(reply.as_bytes(), Some(&c), GH, OPENID, true, &any_media).unwrap_err().contains("must be encrypted"));
        assert!(check_reply(sealed.as_bytes(), None, GH, OPENID, true, &any_media).unwrap_err().contains("plain mode"));
        let forged = sealed.replace(
            &c.msg_signature("1", "2", wechat::envelope::parse_encrypted_reply(sealed.as_bytes()).unwrap().0.as_str()),
            &"0".repeat(40),
        );
        assert!(check_reply(forged.as_bytes(), Some(&c), GH, OPENID, true, &any_media).unwrap_err().contains("msg_signature"));
        assert!(check_reply(reply.as_bytes(), None, GH, "oOTHER", true, &any_media).unwrap_err().contains("ToUserName"));
        // No reply.
        for none in ["", "success", " success\n"] {
            assert_eq!(check_reply(none.as_bytes(), Some(&c), GH, OPENID, true, &any_media).unwrap().0["type"], "success");
        }
        // Garbage, empty text, too many articles for a message, unknown media.
        assert!(check_reply(b"<html><body>oops", None, GH, OPENID, true, &any_media).is_err());
        assert!(check_reply(b"{\"ok\":true}", None, GH, OPENID, true, &any_media).is_err());
        let empty = format!(
            "<xml><ToUserName>{OPENID}</ToUserName><FromUserName>{GH}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content></Content></xml>"
        );
        assert!(check_reply(empty.as_bytes(), None, GH, OPENID, true, &any_media).unwrap_err().contains("empty"));
        let a = wechat::Article { title: "t".into(), description: "d".into(), pic_url: String::new(), url: "http://x/".into() };
        let two = Reply::News { articles: vec![a.clone(), a.clone()] }.to_xml(OPENID, GH, 1).unwrap();
        assert!(check_reply(two.as_bytes(), None, GH, OPENID, true, &any_media).is_err());
        let (v, _) = check_reply(two.as_bytes(), None, GH, OPENID, false, &any_media).unwrap();
        assert_eq!(v["articles"].as_array().unwrap().len(), 2);
        let img = Reply::Image { media_id: "m1".into() }.to_xml(OPENID, GH, 1).unwrap();
        assert!(check_reply(img.as_bytes(), None, GH, OPENID, true, &|_, _| false).is_err());
        assert_eq!(check_reply(img.as_bytes(), None, GH, OPENID, true, &any_media).unwrap().0["media_id"], "m1");
    }
}
