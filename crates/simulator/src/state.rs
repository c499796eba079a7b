//! The simulator's in-memory world: clock, credentials, followers and their customer-service
//! windows, and every record the tests look at. All of it sits behind one mutex in [`Simulator`].
//!
//! [`Simulator`]: crate::sim::Simulator

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use rand::distributions::Alphanumeric;
use serde::Serialize;
use serde_json::Value;

use crate::errcode::{self, ApiErr, err};

/// A user message opens a 48-hour window with 5 customer-service sends (reference §5).
pub const MESSAGE_WINDOW_MS: i64 = 48 * 3600 * 1000;
pub const MESSAGE_WINDOW_SENDS: u32 = 5;
/// A menu click, scan or follow opens a 1-minute window with 3 sends.
pub const EVENT_WINDOW_MS: i64 = 60 * 1000;
pub const EVENT_WINDOW_SENDS: u32 = 3;
/// Access tokens (classic and stable) live 7200 s.
pub const TOKEN_TTL_MS: i64 = 7200 * 1000;
/// The stable token is rotated when less than this remains; the classic one keeps its predecessor
/// valid this long.
pub const TOKEN_OVERLAP_MS: i64 = 300 * 1000;
/// OAuth2 codes: valid 5 minutes, once.
pub const OAUTH_CODE_TTL_MS: i64 = 300 * 1000;

/// One follow or unfollow as the analytics API counts it.
#[derive(Debug, Clone, Serialize)]
pub struct FollowLogEntry {
    /// Unix seconds, simulated clock.
    pub at: i64,
    pub follow: bool,
    /// `user_source` of the follow it belongs to: 30 through a QR code, 1 by search.
    pub source: u32,
}

/// A follower (or, with `ever_subscribed == false`, a WeChat user who only opened an OAuth page).
#[derive(Debug, Clone, Serialize)]
pub struct Follower {
    pub openid: String,
    pub subscribed: bool,
    pub ever_subscribed: bool,
    /// Unix seconds (simulated clock) of the latest follow.
    pub subscribe_time: i64,
    /// `ADD_SCENE_QR_CODE` when followed through a parametric QR code, else `ADD_SCENE_SEARCH`.
    pub subscribe_scene: String,
    pub qr_scene: u64,
    pub qr_scene_str: String,
    pub tagid_list: Vec<u64>,
    pub remark: String,
    /// The WeChat ID (微信号) used by `mass/preview` `towxname`, if the test gave one.
    pub wxname: Option<String>,
    #[serde(skip)]
    pub window: ServiceWindow,
}

/// The customer-service windows of one follower.
#[derive(Debug, Clone, Default)]
pub struct ServiceWindow {
    pub message_at: Option<i64>,
    pub message_used: u32,
    pub event_at: Option<i64>,
    pub event_used: u32,
}

/// What kind of push reached a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    /// `message/custom/send`
    Custom,
    /// `message/template/send`
    Template,
    /// `message/subscribe/bizsend`
    Subscribe,
    /// `message/mass/sendall` or `message/mass/send`
    Mass,
    /// `message/mass/preview`
    MassPreview,
}

/// One message delivered to a reader, in delivery order.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    /// Global delivery order across all readers.
    pub seq: u64,
    pub kind: PushKind,
    /// The JSON as the API received it (for mass `mpnews`, with the draft's `articles` resolved).
    pub body: Value,
    /// Unix seconds, simulated clock.
    pub at: i64,
    /// `msgid` (template) or `msg_id` (mass) when the API returned one.
    pub msg_id: Option<u64>,
}

/// One API call as the simulator saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ApiCall {
    pub seq: u64,
    /// Unix seconds, simulated clock.
    pub at: i64,
    pub method: String,
    /// WeChat's path, e.g. `/cgi-bin/menu/create` (without any mount prefix).
    pub path: String,
    pub query: String,
    /// The request body (lossy UTF-8, at most 64 KiB).
    pub body: String,
    /// The `errcode` answered (0 for success), `None` for non-JSON answers (images, redirects).
    pub errcode: Option<i64>,
    /// The injected fault that shaped the answer, if any.
    pub fault: Option<String>,
}

/// A parametric QR code created through `qrcode/create`.
#[derive(Debug, Clone, Serialize)]
pub struct QrCode {
    pub ticket: String,
    /// The URL the image encodes (`http://weixin.qq.com/q/…`).
    pub url: String,
    pub action_name: String,
    pub scene_id: Option<u64>,
    pub scene_str: Option<String>,
    pub permanent: bool,
    /// Unix seconds of expiry for temporary codes.
    pub expire_at: Option<i64>,
    pub created_at: i64,
}

impl QrCode {
    /// The scene as it appears in `EventKey` (`qrscene_<scene>` on follow, `<scene>` on SCAN).
    pub fn scene(&self) -> String {
        match (&self.scene_id, &self.scene_str) {
            (Some(id), _) => id.to_string(),
            (None, Some(s)) => s.clone(),
            (None, None) => String::new(),
        }
    }
}

/// One mass-send job.
#[derive(Debug, Clone, Serialize)]
pub struct MassJob {
    pub msg_id: u64,
    pub msg_data_id: Option<u64>,
    /// `sendall`, `send` (openid list) or `preview`.
    pub via: String,
    pub msgtype: String,
    pub body: Value,
    pub clientmsgid: Option<String>,
    /// Followers it reached.
    pub recipients: Vec<String>,
    /// `SEND_SUCCESS` or `DELETE`.
    pub status: String,
    pub created_at: i64,
    #[serde(skip)]
    pub created_ms: i64,
}

/// A reader opening article `idx` (0-based) of mass job `msg_id` inside WeChat; `original` when
/// they tapped 阅读原文 (the article's `content_source_url`) rather than the article page itself.
#[derive(Debug, Clone, Serialize)]
pub struct ArticleRead {
    pub msg_id: u64,
    pub idx: usize,
    pub openid: String,
    pub original: bool,
    pub at: i64,
}

/// A draft (`draft/add`).
#[derive(Debug, Clone, Serialize)]
pub struct Draft {
    pub media_id: String,
    pub articles: Vec<Value>,
    pub create_time: i64,
    pub update_time: i64,
}

/// An uploaded file: temporary media, permanent material, or an article image (`uploadimg`).
#[derive(Debug, Clone)]
pub struct Media {
    pub media_id: String,
    pub kind: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub permanent: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub title: String,
    /// The field keys, in order (`thing1`, `time2`, …).
    pub fields: Vec<String>,
    /// Each field's label in the template's content (`借阅图书` in `借阅图书:{{thing1.DATA}}`).
    pub labels: Vec<String>,
}

impl Template {
    /// The content as `template/get_all_private_template` gives it: one `label:{{key.DATA}}` line
    /// per field (the form of WeChat's category templates).
    pub fn content(&self) -> String {
        self.fields
            .iter()
            .zip(&self.labels)
            .map(|(f, l)| if l.is_empty() { format!("{{{{{f}.DATA}}}}") } else { format!("{l}:{{{{{f}.DATA}}}}") })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Debug, Clone)]
pub struct TokenRec {
    pub expires_ms: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct OAuthCode {
    pub openid: String,
    pub scope: String,
    pub created_ms: i64,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub struct SnsToken {
    pub openid: String,
    pub scope: String,
    pub expires_ms: i64,
}

/// A fault to inject into matching API calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer `{"errcode":N,"errmsg":"… rid: …"}` (HTTP 200) without doing anything.
    Error(i64),
    /// Wait this long before handling the call normally.
    Delay(Duration),
    /// Answer with this HTTP status and a plain-text body (a broken gateway).
    HttpStatus(u16),
}

#[derive(Debug, Clone)]
pub struct FaultRule {
    pub prefix: String,
    pub fault: Fault,
    pub remaining: usize,
}

pub struct SimState {
    pub cfg: SimConfig,
    pub offset_ms: i64,
    pub seq: u64,
    pub tokens: HashMap<String, TokenRec>,
    pub stable_token: Option<String>,
    pub classic_token: Option<String>,
    pub followers: HashMap<String, Follower>,
    /// Follow order (for `user/get`).
    pub follower_order: Vec<String>,
    /// Every follow and unfollow, for the analytics API (`datacube`).
    pub follow_log: Vec<FollowLogEntry>,
    pub menu: Option<Value>,
    pub templates: BTreeMap<String, Template>,
    /// (openid, client_msg_id) → (msgid, at ms) for template idempotency (10 minutes).
    pub template_client_ids: HashMap<(String, String), (u64, i64)>,
    /// (openid, template_id) → remaining one-time subscription authorizations.
    pub subscribe_grants: HashMap<(String, String), u32>,
    pub next_msgid: u64,
    pub mass_jobs: Vec<MassJob>,
    /// Every time a reader opened a mass-sent article (or its 阅读原文 link), for `datacube`.
    pub article_reads: Vec<ArticleRead>,
    pub drafts: BTreeMap<String, Draft>,
    pub media: HashMap<String, Media>,
    pub qr_codes: Vec<QrCode>,
    pub tags: BTreeMap<u64, String>,
    pub next_tag_id: u64,
    pub oauth_codes: HashMap<String, OAuthCode>,
    pub sns_tokens: HashMap<String, SnsToken>,
    pub linked_miniprograms: HashSet<String>,
    pub inbox: HashMap<String, Vec<Pushed>>,
    pub calls: Vec<ApiCall>,
    pub faults: Vec<FaultRule>,
}

pub fn random_string(n: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect()
}

/// WeChat's `rid`, e.g. `6613e0e2-5c1a3f5d-0b7c4f09`.
pub fn rid() -> String {
    let mut r = rand::thread_rng();
    format!("{:08x}-{:08x}-{:08x}", r.r#gen::<u32>(), r.r#gen::<u32>(), r.r#gen::<u32>())
}

/// (year, month) of a unix time in China Standard Time (UTC+8), for the monthly mass-send quota.
pub fn china_year_month(unix_secs: i64) -> (i64, u32) {
    let days = (unix_secs + 8 * 3600).div_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m)
}

impl SimState {
    pub fn new(cfg: SimConfig) -> Self {
        let mut st = SimState {
            cfg,
            offset_ms: 0,
            seq: 0,
            tokens: HashMap::new(),
            stable_token: None,
            classic_token: None,
            followers: HashMap::new(),
            follower_order: Vec::new(),
            follow_log: Vec::new(),
            menu: None,
            templates: BTreeMap::new(),
            template_client_ids: HashMap::new(),
            subscribe_grants: HashMap::new(),
            next_msgid: 2_900_000_001,
            mass_jobs: Vec::new(),
            article_reads: Vec::new(),
            drafts: BTreeMap::new(),
            media: HashMap::new(),
            qr_codes: Vec::new(),
            tags: BTreeMap::new(),
            next_tag_id: 100,
            oauth_codes: HashMap::new(),
            sns_tokens: HashMap::new(),
            linked_miniprograms: HashSet::new(),
            inbox: HashMap::new(),
            calls: Vec::new(),
            faults: Vec::new(),
        };
        // WeChat's one reserved tag that shows up in tags/get.
        st.tags.insert(2, "星标组".to_owned());
        st.add_template("due_reminder", "借阅到期提醒", &["借阅图书:thing1", "应还日期:time2", "到期数量:number3", "温馨提示:thing4"]);
        st.add_template("hold_ready", "预约到馆通知", &["预约图书:thing1", "取书地点:thing2", "到馆日期:time3"]);
        st.add_template("overdue_notice", "图书逾期通知", &["thing1", "time2", "number3", "amount4"]);
        st.add_template("activity_reminder", "活动开始提醒", &["thing1", "time2", "thing3"]);
        st.add_template("activity_promoted", "活动报名成功通知", &["thing1", "time2", "thing3", "thing4"]);
        st
    }

    pub fn now_ms(&self) -> i64 {
        let real = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        real + self.offset_ms
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn next_msgid(&mut self) -> u64 {
        self.next_msgid += 1;
        self.next_msgid
    }

    /// Registers a template; a field is its key (`thing1`) or `label:key` (`借阅图书:thing1`).
    pub fn add_template(&mut self, id: &str, title: &str, fields: &[&str]) {
        let (labels, keys) = fields
            .iter()
            .map(|f| match f.rsplit_once(':') {
                Some((label, key)) => (label.to_owned(), key.to_owned()),
                None => (String::new(), (*f).to_owned()),
            })
            .unzip();
        self.templates.insert(id.to_owned(), Template { title: title.to_owned(), fields: keys, labels });
    }

    // ---- tokens ----

    pub fn new_token(&mut self, ttl_ms: i64) -> String {
        let token = format!("SIM_{}", random_string(120));
        let expires_ms = self.now_ms() + ttl_ms;
        self.tokens.insert(token.clone(), TokenRec { expires_ms, revoked: false });
        token
    }

    pub fn check_credentials(&self, grant_type: Option<&str>, appid: Option<&str>, secret: Option<&str>) -> Result<(), ApiErr> {
        match grant_type {
            Some("client_credential") => {}
            _ => return err(errcode::INVALID_GRANT_TYPE),
        }
        match appid {
            None | Some("") => return err(errcode::APPID_MISSING),
            Some(a) if a != self.cfg.app_id => return err(errcode::INVALID_APPID),
            _ => {}
        }
        match secret {
            None | Some("") => err(errcode::APPSECRET_MISSING),
            Some(s) if s != self.cfg.app_secret => err(errcode::INVALID_APPSECRET),
            _ => Ok(()),
        }
    }

    /// `stable_token`: the same token while more than 5 minutes remain; `force` revokes it.
    pub fn stable_token(&mut self, force: bool) -> (String, i64) {
        let now = self.now_ms();
        if let Some(current) = self.stable_token.clone() {
            if force {
                if let Some(rec) = self.tokens.get_mut(&current) {
                    rec.revoked = true;
                }
            } else if let Some(rec) = self.tokens.get(&current)
                && !rec.revoked
                && rec.expires_ms - now > TOKEN_OVERLAP_MS
            {
                return (current, (rec.expires_ms - now) / 1000);
            }
        }
        let token = self.new_token(TOKEN_TTL_MS);
        self.stable_token = Some(token.clone());
        (token, TOKEN_TTL_MS / 1000)
    }

    /// Classic `token`: every call issues a new one; the previous stays valid 5 more minutes.
    pub fn classic_token(&mut self) -> (String, i64) {
        let now = self.now_ms();
        if let Some(prev) = self.classic_token.clone()
            && let Some(rec) = self.tokens.get_mut(&prev)
        {
            rec.expires_ms = rec.expires_ms.min(now + TOKEN_OVERLAP_MS);
        }
        let token = self.new_token(TOKEN_TTL_MS);
        self.classic_token = Some(token.clone());
        (token, TOKEN_TTL_MS / 1000)
    }

    /// The `access_token` query check every API does: 41001 missing, 40001 unknown or replaced,
    /// 42001 expired.
    pub fn check_token(&self, token: Option<&str>) -> Result<(), ApiErr> {
        let token = match token {
            None | Some("") => return err(errcode::ACCESS_TOKEN_MISSING),
            Some(t) => t,
        };
        match self.tokens.get(token) {
            None => err(errcode::INVALID_CREDENTIAL),
            Some(rec) if rec.revoked => err(errcode::INVALID_CREDENTIAL),
            Some(rec) if rec.expires_ms <= self.now_ms() => err(errcode::ACCESS_TOKEN_EXPIRED),
            Some(_) => Ok(()),
        }
    }

    // ---- followers ----

    fn user_entry(&mut self, openid: &str) -> &mut Follower {
        if !self.followers.contains_key(openid) {
            self.follower_order.push(openid.to_owned());
            self.followers.insert(
                openid.to_owned(),
                Follower {
                    openid: openid.to_owned(),
                    subscribed: false,
                    ever_subscribed: false,
                    subscribe_time: 0,
                    subscribe_scene: String::new(),
                    qr_scene: 0,
                    qr_scene_str: String::new(),
                    tagid_list: Vec::new(),
                    remark: String::new(),
                    wxname: None,
                    window: ServiceWindow::default(),
                },
            );
        }
        self.followers.get_mut(openid).expect("just inserted")
    }

    /// Makes sure WeChat knows this user (an OAuth visitor who never followed).
    pub fn know_user(&mut self, openid: &str) {
        self.user_entry(openid);
    }

    pub fn follow(&mut self, openid: &str, scene: Option<&str>) {
        let now = self.now_secs();
        let now_ms = self.now_ms();
        let f = self.user_entry(openid);
        f.subscribed = true;
        f.ever_subscribed = true;
        f.subscribe_time = now;
        match scene {
            Some(s) if !s.is_empty() => {
                f.subscribe_scene = "ADD_SCENE_QR_CODE".to_owned();
                match s.parse::<u64>() {
                    Ok(n) => {
                        f.qr_scene = n;
                        f.qr_scene_str = String::new();
                    }
                    Err(_) => {
                        f.qr_scene = 0;
                        f.qr_scene_str = s.to_owned();
                    }
                }
            }
            _ => {
                f.subscribe_scene = "ADD_SCENE_SEARCH".to_owned();
                f.qr_scene = 0;
                f.qr_scene_str = String::new();
            }
        }
        // A follow is an interaction: 3 customer-service sends within a minute.
        f.window = ServiceWindow { event_at: Some(now_ms), ..ServiceWindow::default() };
        let source = if f.subscribe_scene == "ADD_SCENE_QR_CODE" { 30 } else { 1 };
        self.follow_log.push(FollowLogEntry { at: now, follow: true, source });
    }

    pub fn unfollow(&mut self, openid: &str) {
        let now = self.now_secs();
        if let Some(f) = self.followers.get_mut(openid) {
            if f.subscribed {
                let source = if f.subscribe_scene == "ADD_SCENE_QR_CODE" { 30 } else { 1 };
                self.follow_log.push(FollowLogEntry { at: now, follow: false, source });
            }
            let f = self.followers.get_mut(openid).expect("just found");
            f.subscribed = false;
            f.window = ServiceWindow::default();
        }
    }

    pub fn note_user_message(&mut self, openid: &str) {
        let now = self.now_ms();
        if let Some(f) = self.followers.get_mut(openid) {
            f.window.message_at = Some(now);
            f.window.message_used = 0;
        }
    }

    pub fn note_event(&mut self, openid: &str) {
        let now = self.now_ms();
        if let Some(f) = self.followers.get_mut(openid) {
            f.window.event_at = Some(now);
            f.window.event_used = 0;
        }
    }

    /// Spends one customer-service send: 45015 when no window is open, 45047 when the open ones
    /// are used up. The 48-hour message window is spent before the 1-minute event window.
    pub fn spend_window(&mut self, openid: &str) -> Result<(), ApiErr> {
        let now = self.now_ms();
        let f = self.followers.get_mut(openid).ok_or_else(|| ApiErr::new(errcode::INVALID_OPENID))?;
        let w = &mut f.window;
        let msg_open = w.message_at.is_some_and(|at| now < at + MESSAGE_WINDOW_MS);
        let event_open = w.event_at.is_some_and(|at| now < at + EVENT_WINDOW_MS);
        if msg_open && w.message_used < MESSAGE_WINDOW_SENDS {
            w.message_used += 1;
            return Ok(());
        }
        if event_open && w.event_used < EVENT_WINDOW_SENDS {
            w.event_used += 1;
            return Ok(());
        }
        if msg_open || event_open { err(errcode::OUT_OF_RESPONSE_COUNT_LIMIT) } else { err(errcode::RESPONSE_OUT_OF_TIME) }
    }

    /// Any interaction within the last `ms` (for `custom/typing`).
    pub fn interacted_within(&self, openid: &str, ms: i64) -> bool {
        let now = self.now_ms();
        self.followers
            .get(openid)
            .is_some_and(|f| f.window.message_at.is_some_and(|at| now < at + ms) || f.window.event_at.is_some_and(|at| now < at + ms))
    }

    /// 40003 for an unknown openid, 43004 for one that does not follow (now).
    pub fn require_follower(&self, openid: &str) -> Result<&Follower, ApiErr> {
        match self.followers.get(openid) {
            None => err(errcode::INVALID_OPENID),
            Some(f) if !f.subscribed => err(errcode::REQUIRE_SUBSCRIBE),
            Some(f) => Ok(f),
        }
    }

    pub fn push(&mut self, openid: &str, kind: PushKind, body: Value, msg_id: Option<u64>) {
        let seq = self.next_seq();
        let at = self.now_secs();
        self.inbox.entry(openid.to_owned()).or_default().push(Pushed { seq, kind, body, at, msg_id });
    }

    /// Consumes a matching fault rule set: the delays to wait, then the error or status to answer.
    pub fn take_faults(&mut self, path: &str) -> (Vec<Duration>, Option<Fault>) {
        let mut delays = Vec::new();
        let mut answer = None;
        for rule in self.faults.iter_mut() {
            if rule.remaining == 0 || !path_matches(path, &rule.prefix) {
                continue;
            }
            match &rule.fault {
                Fault::Delay(d) => {
                    delays.push(*d);
                    rule.remaining = rule.remaining.saturating_sub(1);
                }
                other => {
                    if answer.is_none() {
                        answer = Some(other.clone());
                        rule.remaining = rule.remaining.saturating_sub(1);
                    }
                }
            }
        }
        self.faults.retain(|r| r.remaining > 0);
        (delays, answer)
    }
}

/// A fault prefix matches WeChat's path with or without the leading slash; empty or `/` matches all.
fn path_matches(path: &str, prefix: &str) -> bool {
    let p = prefix.trim_start_matches('/');
    p.is_empty() || path.trim_start_matches('/').starts_with(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_months() {
        // 2024-01-31T16:00:00Z is 2024-02-01 00:00 in Beijing.
        assert_eq!(china_year_month(1_706_716_800), (2024, 2));
        assert_eq!(china_year_month(1_706_716_799), (2024, 1));
        assert_eq!(china_year_month(0), (1970, 1));
        // 2000-02-29T12:00:00Z
        assert_eq!(china_year_month(951_825_600), (2000, 2));
        // 2023-12-31T16:00:00Z → 2024-01-01 Beijing
        assert_eq!(china_year_month(1_704_038_400), (2024, 1));
    }

    #[test]
    fn prefixes() {
        assert!(path_matches("/cgi-bin/message/custom/send", "/cgi-bin/message/custom"));
        assert!(path_matches("/cgi-bin/message/custom/send", "cgi-bin/message"));
        assert!(path_matches("/cgi-bin/menu/create", ""));
        assert!(!path_matches("/cgi-bin/menu/create", "/cgi-bin/message"));
    }
}

/// The simulated account's settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub app_id: String,
    pub app_secret: String,
    /// Mass messages (sendall + send) each follower may receive per calendar month: 4 for a
    /// service account, as WeChat.
    pub mass_quota_per_month: u32,
    /// The public base URL of the API router (`http://host:port/sim/api`) used in URLs it hands
    /// out (uploadimg, material, draft article links). `None`: taken from each request's `Host`
    /// header and the mount prefix.
    pub public_base: Option<String>,
    /// 网页授权域名: hosts the OAuth `redirect_uri` may point to. Empty: any.
    pub oauth_domains: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            app_id: "wx5157ad5e0c0ffee0".to_owned(),
            app_secret: "5ec7e75157ad5e0c0ffee0000000beef".to_owned(),
            mass_quota_per_month: 4,
            public_base: None,
            oauth_domains: Vec::new(),
        }
    }
}
