//! Typed inbound messages and events (reference §3). Every known `MsgType` and `Event` gets a
//! variant; anything else is kept as [`InboundKind::Unknown`] / [`Event::Unknown`] with the raw
//! element, because WeChat adds kinds over time and a new one must not turn into an error.

use crate::xml::{self, Element, XmlError};

/// Why a decrypted body is not a usable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("root element is <{0}>, expected <xml>")]
    Root(String),
    #[error("missing required field {0}")]
    Missing(&'static str),
    #[error("field {field} is not a number: {value:?}")]
    NotANumber { field: &'static str, value: String },
}

/// An inbound message or event with its common header.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// Our account's gh_ id (can be empty on MASSSENDJOBFINISH).
    pub to_user: String,
    /// The reader's openid (a system id on job-finish events).
    pub from_user: String,
    pub create_time: i64,
    pub msg_type: String,
    /// `MsgId` of a normal message, or `MsgID` of the *JOBFINISH events, as a string (it is a 64-bit id).
    pub msg_id: Option<String>,
    pub kind: InboundKind,
    /// The whole parsed element, for fields no variant models (e.g. `MsgDataId`, `Idx`).
    pub raw: Element,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InboundKind {
    Text { content: String },
    Image { pic_url: String, media_id: String },
    Voice { media_id: String, format: String, recognition: Option<String>, media_id_16k: Option<String> },
    Video { media_id: String, thumb_media_id: String },
    ShortVideo { media_id: String, thumb_media_id: String },
    Location { latitude: f64, longitude: f64, scale: i64, label: String },
    Link { title: String, description: String, url: String },
    Event(Event),
    Unknown,
}

/// A scanned code's result (scancode_push / scancode_waitmsg).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanCodeInfo {
    pub scan_type: String,
    pub scan_result: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A follow. `scene` is set only when EventKey starts with `qrscene_` (stripped once).
    Subscribe {
        scene: Option<String>,
        ticket: Option<String>,
        event_key: String,
    },
    Unsubscribe,
    /// An existing follower scanned a parametric QR code (no prefix on the key).
    Scan {
        scene: String,
        ticket: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        precision: f64,
    },
    Click {
        key: String,
    },
    View {
        url: String,
        menu_id: Option<String>,
    },
    ScanCodePush {
        key: String,
        info: ScanCodeInfo,
    },
    ScanCodeWaitMsg {
        key: String,
        info: ScanCodeInfo,
    },
    PicSysPhoto {
        key: String,
        pic_md5s: Vec<String>,
    },
    PicPhotoOrAlbum {
        key: String,
        pic_md5s: Vec<String>,
    },
    PicWeixin {
        key: String,
        pic_md5s: Vec<String>,
    },
    LocationSelect {
        key: String,
        latitude: f64,
        longitude: f64,
        scale: i64,
        label: String,
        poiname: String,
    },
    ViewMiniprogram {
        pagepath: String,
        menu_id: Option<String>,
    },
    TemplateSendJobFinish {
        status: String,
    },
    MassSendJobFinish {
        status: String,
        total_count: i64,
        filter_count: i64,
        sent_count: i64,
        error_count: i64,
    },
    PublishJobFinish {
        publish_id: String,
        publish_status: i64,
        article_id: Option<String>,
    },
    Unknown {
        event: String,
        key: Option<String>,
    },
}

impl Event {
    /// The wire name of the event, as WeChat spells it.
    pub fn name(&self) -> &str {
        match self {
            Event::Unknown { event, .. } => event,
            known => known.known_name().unwrap_or_default(),
        }
    }

    /// The wire name of an event this crate knows; `None` for one WeChat may add later.
    pub fn known_name(&self) -> Option<&'static str> {
        Some(match self {
            Event::Subscribe { .. } => "subscribe",
            Event::Unsubscribe => "unsubscribe",
            Event::Scan { .. } => "SCAN",
            Event::Location { .. } => "LOCATION",
            Event::Click { .. } => "CLICK",
            Event::View { .. } => "VIEW",
            Event::ScanCodePush { .. } => "scancode_push",
            Event::ScanCodeWaitMsg { .. } => "scancode_waitmsg",
            Event::PicSysPhoto { .. } => "pic_sysphoto",
            Event::PicPhotoOrAlbum { .. } => "pic_photo_or_album",
            Event::PicWeixin { .. } => "pic_weixin",
            Event::LocationSelect { .. } => "location_select",
            Event::ViewMiniprogram { .. } => "view_miniprogram",
            Event::TemplateSendJobFinish { .. } => "TEMPLATESENDJOBFINISH",
            Event::MassSendJobFinish { .. } => "MASSSENDJOBFINISH",
            Event::PublishJobFinish { .. } => "PUBLISHJOBFINISH",
            Event::Unknown { .. } => return None,
        })
    }
}

impl Inbound {
    /// What kind of callback this is, from a fixed set of names: the event's wire name, or the
    /// message type; `unknown_event` and `unknown` for names WeChat may add later (a metric's
    /// label, which must not take any value a sender makes up).
    pub fn kind_label(&self) -> &'static str {
        match &self.kind {
            InboundKind::Text { .. } => "text",
            InboundKind::Image { .. } => "image",
            InboundKind::Voice { .. } => "voice",
            InboundKind::Video { .. } => "video",
            InboundKind::ShortVideo { .. } => "shortvideo",
            InboundKind::Location { .. } => "location",
            InboundKind::Link { .. } => "link",
            InboundKind::Unknown => "unknown",
            InboundKind::Event(e) => e.known_name().unwrap_or("unknown_event"),
        }
    }

    /// Parses a plaintext (decrypted) callback body.
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        let root = xml::parse(body)?;
        Self::from_element(root)
    }

    pub fn from_element(root: Element) -> Result<Self, ParseError> {
        if root.name != "xml" {
            return Err(ParseError::Root(root.name));
        }
        let req = |name: &'static str| root.child_text(name).map(str::to_owned).ok_or(ParseError::Missing(name));
        let to_user = root.child_text("ToUserName").unwrap_or_default().to_owned();
        let from_user = req("FromUserName")?;
        let create_time = int(&root, "CreateTime")?.ok_or(ParseError::Missing("CreateTime"))?;
        let msg_type = req("MsgType")?;
        let msg_id = root.child_text("MsgId").or_else(|| root.child_text("MsgID")).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let opt = |name: &str| root.child_text(name).map(str::to_owned);
        let text = |name: &str| root.child_text(name).unwrap_or_default().to_owned();
        let kind = match msg_type.as_str() {
            "text" => InboundKind::Text { content: text("Content") },
            "image" => InboundKind::Image { pic_url: text("PicUrl"), media_id: text("MediaId") },
            "voice" => InboundKind::Voice {
                media_id: text("MediaId"),
                format: text("Format"),
                recognition: opt("Recognition"),
                media_id_16k: opt("MediaId16K"),
            },
            "video" => InboundKind::Video { media_id: text("MediaId"), thumb_media_id: text("ThumbMediaId") },
            "shortvideo" => InboundKind::ShortVideo { media_id: text("MediaId"), thumb_media_id: text("ThumbMediaId") },
            "location" => InboundKind::Location {
                latitude: float(&root, "Location_X")?,
                longitude: float(&root, "Location_Y")?,
                scale: int(&root, "Scale")?.unwrap_or(0),
                label: text("Label"),
            },
            "link" => InboundKind::Link { title: text("Title"), description: text("Description"), url: text("Url") },
            "event" => InboundKind::Event(parse_event(&root)?),
            _ => InboundKind::Unknown,
        };
        Ok(Self { to_user, from_user, create_time, msg_type, msg_id, kind, raw: root })
    }

    /// The event, if this is one.
    pub fn event(&self) -> Option<&Event> {
        match &self.kind {
            InboundKind::Event(e) => Some(e),
            _ => None,
        }
    }

    /// Whether this is a reader's message (as opposed to an event). Replies to messages may carry
    /// only one news article.
    pub fn is_user_message(&self) -> bool {
        !matches!(self.kind, InboundKind::Event(_))
    }

    /// The key under which retries of this callback are recognised. Messages: MsgId + sender (a
    /// MsgId alone collided across users in WxJava #333). Job-finish events: their MsgID. Other
    /// events: CreateTime + sender + Event + EventKey (WeChat's advice, widened so that distinct
    /// events in one second are not merged, WxJava #1745). Unknown kinds without MsgId hash the body.
    ///
    /// The part that grows with time (MsgId, CreateTime) comes first, so that keys stored in
    /// order of arrival are near each other: a store indexes them at the end of its b-tree
    /// instead of all over it (one page written per batch rather than one per callback). The
    /// sender is a whole `:`-separated part, so a reader's keys can be found to forget them.
    pub fn dedupe_key(&self) -> String {
        let raw_key = self.raw.child_text("EventKey").unwrap_or_default();
        match &self.kind {
            InboundKind::Event(e @ (Event::TemplateSendJobFinish { .. } | Event::MassSendJobFinish { .. })) => {
                format!("job:{}:{}", e.name(), self.msg_id.as_deref().unwrap_or_default())
            }
            InboundKind::Event(e) => format!("evt:{}:{}:{}:{}", self.create_time, self.from_user, e.name(), raw_key),
            _ => match &self.msg_id {
                Some(id) => format!("msg:{}:{}", id, self.from_user),
                None => format!("msg:{}:{}:{}:{}", self.create_time, self.from_user, self.msg_type, short_hash(&self.raw)),
            },
        }
    }
}

fn short_hash(el: &Element) -> String {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    fn feed(h: &mut Sha1, el: &Element) {
        h.update(el.name.as_bytes());
        h.update([0]);
        h.update(el.text.as_bytes());
        h.update([0]);
        for c in &el.children {
            feed(h, c);
        }
    }
    feed(&mut h, el);
    hex::encode(&h.finalize()[..8])
}

fn int(root: &Element, field: &'static str) -> Result<Option<i64>, ParseError> {
    match root.child_text(field).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ParseError::NotANumber { field, value: v.to_owned() }),
    }
}

fn float(root: &Element, field: &'static str) -> Result<f64, ParseError> {
    match root.child_text(field).map(str::trim) {
        None | Some("") => Ok(0.0),
        Some(v) => v.parse().map_err(|_| ParseError::NotANumber { field, value: v.to_owned() }),
    }
}

fn pic_md5s(root: &Element) -> Vec<String> {
    root.path(&["SendPicsInfo", "PicList"])
        .map(|list| list.children.iter().filter_map(|item| item.child_text("PicMd5Sum").map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn parse_event(root: &Element) -> Result<Event, ParseError> {
    let name = root.child_text("Event").ok_or(ParseError::Missing("Event"))?;
    let key = root.child_text("EventKey").unwrap_or_default().to_owned();
    let ticket = root.child_text("Ticket").map(str::to_owned).filter(|t| !t.is_empty());
    let menu_id = root.child_text("MenuId").map(str::to_owned);
    let text = |el: &Element, name: &str| el.child_text(name).unwrap_or_default().to_owned();
    let scan_info = || {
        let info = root.child("ScanCodeInfo").cloned().unwrap_or_default();
        ScanCodeInfo { scan_type: text(&info, "ScanType"), scan_result: text(&info, "ScanResult") }
    };
    // WeChat's casing is inconsistent (SCAN, LOCATION, CLICK vs subscribe); match case-insensitively.
    Ok(match name.to_ascii_lowercase().as_str() {
        "subscribe" => Event::Subscribe { scene: key.strip_prefix("qrscene_").map(str::to_owned), ticket, event_key: key },
        "unsubscribe" => Event::Unsubscribe,
        "scan" => Event::Scan { scene: key, ticket },
        "location" => Event::Location {
            latitude: float(root, "Latitude")?,
            longitude: float(root, "Longitude")?,
            precision: float(root, "Precision")?,
        },
        "click" => Event::Click { key },
        "view" => Event::View { url: key, menu_id },
        "scancode_push" => Event::ScanCodePush { key, info: scan_info() },
        "scancode_waitmsg" => Event::ScanCodeWaitMsg { key, info: scan_info() },
        "pic_sysphoto" => Event::PicSysPhoto { key, pic_md5s: pic_md5s(root) },
        "pic_photo_or_album" => Event::PicPhotoOrAlbum { key, pic_md5s: pic_md5s(root) },
        "pic_weixin" => Event::PicWeixin { key, pic_md5s: pic_md5s(root) },
        "location_select" => {
            let info = root.child("SendLocationInfo").cloned().unwrap_or_default();
            Event::LocationSelect {
                key,
                latitude: float(&info, "Location_X")?,
                longitude: float(&info, "Location_Y")?,
                scale: int(&info, "Scale")?.unwrap_or(0),
                label: text(&info, "Label"),
                poiname: text(&info, "Poiname"),
            }
        }
        "view_miniprogram" => Event::ViewMiniprogram { pagepath: key, menu_id },
        "templatesendjobfinish" => Event::TemplateSendJobFinish { status: text(root, "Status") },
        "masssendjobfinish" => Event::MassSendJobFinish {
            status: text(root, "Status"),
            total_count: int(root, "TotalCount")?.unwrap_or(0),
            filter_count: int(root, "FilterCount")?.unwrap_or(0),
            sent_count: int(root, "SentCount")?.unwrap_or(0),
            error_count: int(root, "ErrorCount")?.unwrap_or(0),
        },
        "publishjobfinish" => {
            let info = root.child("PublishEventInfo").cloned().unwrap_or_default();
            Event::PublishJobFinish {
                publish_id: text(&info, "publish_id"),
                publish_status: int(&info, "publish_status")?.unwrap_or(-1),
                article_id: info.child_text("article_id").map(str::to_owned),
            }
        }
        _ => Event::Unknown { event: name.to_owned(), key: root.child_text("EventKey").map(str::to_owned) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(inner: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime>{inner}</xml>"
        )
    }

    fn parse(inner: &str) -> Inbound {
        Inbound::parse(wrap(inner).as_bytes()).expect("parses")
    }

    #[test]
    fn every_message_type() {
        let m = parse("<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[三体]]></Content><MsgId>1234567890123456789</MsgId>");
        assert_eq!(m.kind, InboundKind::Text { content: "三体".into() });
        assert_eq!(m.msg_id.as_deref(), Some("1234567890123456789"));
        assert_eq!(m.dedupe_key(), "msg:1234567890123456789:oUser");
        let m = parse("<MsgType>image</MsgType><PicUrl>http://p</PicUrl><MediaId>m</MediaId><MsgId>1</MsgId>");
        assert_eq!(m.kind, InboundKind::Image { pic_url: "http://p".into(), media_id: "m".into() });
        let m = parse("<MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format><MediaId16K>k</MediaId16K><MsgId>1</MsgId>");
        assert!(
            matches!(m.kind, InboundKind::Voice { ref format, ref media_id_16k, .. } if format == "amr" && media_id_16k.as_deref() == Some("k"))
        );
        let m = parse("<MsgType>video</MsgType><MediaId>m</MediaId><ThumbMediaId>t</ThumbMediaId><MsgId>1</MsgId>");
        assert_eq!(m.kind, InboundKind::Video { media_id: "m".into(), thumb_media_id: "t".into() });
        let m = parse("<MsgType>shortvideo</MsgType><MediaId>m</MediaId><ThumbMediaId>t</ThumbMediaId><MsgId>1</MsgId>");
        assert!(matches!(m.kind, InboundKind::ShortVideo { .. }));
        let m = parse(
            "<MsgType>location</MsgType><Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label>位置</Label><MsgId>1</MsgId>",
        );
        assert!(matches!(m.kind, InboundKind::Location { scale: 20, .. }));
        let m = parse("<MsgType>link</MsgType><Title>t</Title><Description>d</Description><Url>u</Url><MsgId>1</MsgId>");
        assert_eq!(m.kind, InboundKind::Link { title: "t".into(), description: "d".into(), url: "u".into() });
        let m = parse("<MsgType>miniprogrampage</MsgType><MsgId>1</MsgId>");
        assert_eq!(m.kind, InboundKind::Unknown);
        assert_eq!(m.kind_label(), "unknown", "a label from a fixed set, not the type sent");
        assert!(m.is_user_message());
    }

    #[test]
    fn subscribe_scene_rules() {
        let ev = |k: &str| {
            parse(&format!("<MsgType>event</MsgType><Event>subscribe</Event><EventKey>{k}</EventKey><Ticket>T</Ticket>")).event().cloned()
        };
        assert!(matches!(ev("qrscene_123"), Some(Event::Subscribe { scene: Some(s), .. }) if s == "123"));
        assert!(matches!(ev("qrscene_qrscene_x"), Some(Event::Subscribe { scene: Some(s), .. }) if s == "qrscene_x"));
        assert!(matches!(ev("last_trade_no_4200"), Some(Event::Subscribe { scene: None, .. })));
        assert!(matches!(ev(""), Some(Event::Subscribe { scene: None, .. })));
        let plain = parse("<MsgType>event</MsgType><Event>subscribe</Event>");
        assert!(matches!(plain.event(), Some(Event::Subscribe { scene: None, ticket: None, .. })));
    }

    #[test]
    fn every_event() {
        let e = |inner: &str| parse(&format!("<MsgType>event</MsgType>{inner}")).event().cloned().unwrap();
        assert_eq!(e("<Event>unsubscribe</Event>"), Event::Unsubscribe);
        assert_eq!(
            e("<Event>SCAN</Event><EventKey>42</EventKey><Ticket>T</Ticket>"),
            Event::Scan { scene: "42".into(), ticket: Some("T".into()) }
        );
        assert!(matches!(
            e("<Event>LOCATION</Event><Latitude>23.1</Latitude><Longitude>113.3</Longitude><Precision>119.3</Precision>"),
            Event::Location { .. }
        ));
        assert_eq!(e("<Event>CLICK</Event><EventKey>SEARCH_TITLE</EventKey>"), Event::Click { key: "SEARCH_TITLE".into() });
        assert_eq!(
            e("<Event>VIEW</Event><EventKey>http://x</EventKey><MenuId>7</MenuId>"),
            Event::View { url: "http://x".into(), menu_id: Some("7".into()) }
        );
        assert_eq!(
            e(
                "<Event>scancode_push</Event><EventKey>k</EventKey><ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>r</ScanResult></ScanCodeInfo>"
            ),
            Event::ScanCodePush { key: "k".into(), info: ScanCodeInfo { scan_type: "qrcode".into(), scan_result: "r".into() } }
        );
        assert!(matches!(
            e(
                "<Event>scancode_waitmsg</Event><EventKey>k</EventKey><ScanCodeInfo><ScanType>barcode</ScanType><ScanResult>9787</ScanResult></ScanCodeInfo>"
            ),
            Event::ScanCodeWaitMsg { .. }
        ));
        let pics = "<SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum>a</PicMd5Sum></item><item><PicMd5Sum>b</PicMd5Sum></item></PicList></SendPicsInfo>";
        assert_eq!(
            e(&format!("<Event>pic_sysphoto</Event><EventKey>k</EventKey>{pics}")),
            Event::PicSysPhoto { key: "k".into(), pic_md5s: vec!["a".into(), "b".into()] }
        );
        assert!(matches!(e(&format!("<Event>pic_photo_or_album</Event><EventKey>k</EventKey>{pics}")), Event::PicPhotoOrAlbum { .. }));
        assert!(matches!(e(&format!("<Event>pic_weixin</Event><EventKey>k</EventKey>{pics}")), Event::PicWeixin { .. }));
        assert!(matches!(
            e("<Event>location_select</Event><EventKey>k</EventKey><SendLocationInfo><Location_X>23</Location_X><Location_Y>113</Location_Y><Scale>15</Scale><Label>L</Label><Poiname>P</Poiname></SendLocationInfo>"),
            Event::LocationSelect { scale: 15, ref poiname, .. } if poiname == "P"
        ));
        assert_eq!(
            e("<Event>view_miniprogram</Event><EventKey>pages/index</EventKey><MenuId>1</MenuId>"),
            Event::ViewMiniprogram { pagepath: "pages/index".into(), menu_id: Some("1".into()) }
        );
        let m = parse("<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>200163836</MsgID><Status>success</Status>");
        assert_eq!(m.msg_id.as_deref(), Some("200163836"));
        assert_eq!(m.dedupe_key(), "job:TEMPLATESENDJOBFINISH:200163836");
        let m = parse(
            "<MsgType>event</MsgType><Event>MASSSENDJOBFINISH</Event><MsgID>1988</MsgID><Status>send success</Status><TotalCount>100</TotalCount><FilterCount>80</FilterCount><SentCount>75</SentCount><ErrorCount>5</ErrorCount>",
        );
        assert!(matches!(m.event(), Some(Event::MassSendJobFinish { sent_count: 75, .. })));
        assert_eq!(m.kind_label(), "MASSSENDJOBFINISH");
        assert!(matches!(
            e(
                "<Event>PUBLISHJOBFINISH</Event><PublishEventInfo><publish_id>2247503051</publish_id><publish_status>0</publish_status><article_id>b5O2</article_id></PublishEventInfo>"
            ),
            Event::PublishJobFinish { publish_status: 0, .. }
        ));
        assert_eq!(e("<Event>debug_demo</Event>"), Event::Unknown { event: "debug_demo".into(), key: None });
        assert_eq!(parse("<MsgType>event</MsgType><Event>debug_demo</Event>").kind_label(), "unknown_event");
    }

    #[test]
    fn events_in_the_same_second_get_distinct_keys() {
        let a = parse("<MsgType>event</MsgType><Event>CLICK</Event><EventKey>A</EventKey>");
        let b = parse("<MsgType>event</MsgType><Event>CLICK</Event><EventKey>B</EventKey>");
        assert_ne!(a.dedupe_key(), b.dedupe_key());
    }

    #[test]
    fn clear_errors() {
        assert_eq!(Inbound::parse(b"<root/>"), Err(ParseError::Root("root".into())));
        assert_eq!(
            Inbound::parse(b"<xml><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>"),
            Err(ParseError::Missing("FromUserName"))
        );
        assert!(matches!(
            Inbound::parse(wrap("<MsgType>location</MsgType><Location_X>north</Location_X>").as_bytes()),
            Err(ParseError::NotANumber { field: "Location_X", .. })
        ));
    }
}
