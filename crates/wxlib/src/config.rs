//! The one typed configuration: a TOML file (see `config.example.toml` at the repository root)
//! overlaid with `WXLIB_<SECTION>__<KEY>` environment variables. Passed around as a value, never a
//! global, so tests build their own.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(Default)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub wechat: WeChatConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub catalog: CatalogConfig,
    #[serde(default)]
    pub circulation: CirculationConfig,
    #[serde(default)]
    pub library: LibraryConfig,
    #[serde(default)]
    pub simulator: SimulatorConfig,
    #[serde(default)]
    pub consultation: ConsultationConfig,
    #[serde(default)]
    pub partners: PartnersConfig,
    #[serde(default)]
    pub activities: ActivitiesConfig,
    #[serde(default)]
    pub broadcasts: BroadcastsConfig,
    #[serde(default)]
    pub reach: ReachConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsultationConfig {
    /// After "人工"/"咨询" or the 咨询馆员 menu item, every message of the reader goes to the
    /// librarians' inbox for this many minutes (counted from the reader's last message).
    pub session_minutes: i64,
    /// The librarians' working days, ISO weekdays (1 = Monday … 7 = Sunday): "1-5" or "1,2,3,6".
    pub working_days: String,
    /// The librarians' working hours (China Standard Time), "HH:MM-HH:MM"; outside them readers
    /// are told a librarian will answer in working hours.
    pub working_hours: String,
}

impl Default for ConsultationConfig {
    fn default() -> Self {
        Self { session_minutes: 30, working_days: "1-5".into(), working_hours: "08:30-17:30".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReachConfig {
    /// A TrueType font (.ttf, not .ttc) with Chinese glyphs, embedded in printable posters.
    pub poster_font: String,
    /// A TrueType font for what the CJK font lacks (Latin letters, punctuation); empty for none.
    pub poster_font_fallback: String,
    /// WeChat's own daily figures (datacube) are fetched and shown beside wxlib's.
    pub datacube: bool,
}

impl Default for ReachConfig {
    fn default() -> Self {
        Self {
            poster_font: "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf".into(),
            poster_font_fallback: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf".into(),
            datacube: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActivitiesConfig {
    /// Readers with a place are reminded on the day before, from this hour (China Standard Time).
    pub remind_hour: u32,
    /// The template message of that reminder (fields thing1 title, time2 start, thing3 place).
    pub remind_template_id: String,
    /// The template message telling a waiting reader they got a place, when their
    /// customer-service window is closed (thing1, time2, thing3, thing4).
    pub promoted_template_id: String,
    /// Check-in by scanning the activity's code opens this many minutes before the start.
    pub checkin_opens_minutes: i64,
    /// WeChat's QR image address for a ticket (`?ticket=` is appended).
    pub showqrcode_url: String,
}

impl Default for ActivitiesConfig {
    fn default() -> Self {
        Self {
            remind_hour: 10,
            remind_template_id: "activity_reminder".into(),
            promoted_template_id: "activity_promoted".into(),
            checkin_opens_minutes: 60,
            showqrcode_url: "https://mp.weixin.qq.com/cgi-bin/showqrcode".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BroadcastsConfig {
    /// Openids per `mass/send` call when sending a news message (WeChat allows 2–10 000). A send
    /// interrupted by a crash resumes at the first batch not recorded as sent.
    pub batch_size: usize,
    /// Mass messages the account may send a month (service accounts: 4), shown in the console.
    pub monthly_quota: i64,
    /// How a message goes out: "openid_batches" (`mass/send` to the frozen recipients,
    /// `batch_size` a call: resumable between batches; service accounts) or "sendall" (one
    /// `sendall` to all followers or the tag; what subscription accounts can use).
    pub send_by: String,
}

impl Default for BroadcastsConfig {
    fn default() -> Self {
        Self { batch_size: 10_000, monthly_quota: 4, send_by: "openid_batches".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LibraryConfig {
    /// The library's name, as readers see it.
    pub name: String,
    /// The "About us" answer.
    pub about: String,
}

impl Default for LibraryConfig {
    fn default() -> Self {
        Self {
            name: "大学图书馆".into(), about: "大学图书馆微信公众号：馆藏检索、借阅查询与续借、活动与资源通知。".into()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorConfig {
    /// Serve "WeChat in a box" (the phone at /sim and WeChat's API at /sim/api) from this server.
    /// For trying the account and for tests; never on a production account.
    pub enabled: bool,
    /// The simulated account's original id (`ToUserName` of what the phone sends).
    pub gh_id: String,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self { enabled: false, gh_id: "gh_wxlibdemo0001".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CirculationConfig {
    /// Which library system answers for loans: "builtin" (wxlib's own tables) or "sip2".
    pub system: String,
    /// Built-in system: days of a new loan.
    pub loan_days: i64,
    /// Built-in system: days a renewal adds, counted from the renewal.
    pub renew_days: i64,
    /// Built-in system: renewals allowed per loan.
    pub max_renewals: i64,
    /// Built-in system: an item overdue by more than this many days cannot be renewed.
    pub renew_overdue_limit_days: i64,
    /// Built-in system: holds a reader may have at once.
    pub max_holds: i64,
    /// How long wxlib waits for the library system before telling the reader it will message later.
    pub ils_timeout_ms: u64,
    /// Unfollowing the account also unbinds the card.
    pub unbind_on_unsubscribe: bool,
    /// Binding attempts allowed per reader and per card in `bind_window_secs` (a successful one
    /// is not counted).
    pub bind_max_failures: i64,
    pub bind_window_secs: i64,
    /// Binding attempts allowed from one client address (all readers and cards) in
    /// `bind_window_secs`: generous, since a campus network shows many readers as one address.
    pub bind_max_attempts_per_address: i64,
    /// The hot list counts loans of the last this many days.
    pub hot_days: i64,
    /// Reminders: loans due within this many days (or overdue) get a reminder.
    pub remind_days_before: i64,
    /// Reminders: the hour of the day (China Standard Time) the daily run starts.
    pub remind_hour: u32,
    /// Reminders: the template message id (service accounts) for the digest.
    pub remind_template_id: String,
    /// Reminders: which of the template's fields carries what (`books`: the due titles, `due`:
    /// the first due date, `count`: how many are due, `note`: how to renew); each value is a
    /// field key of the account's template (`thing1`, `time2`, …), checked against the template's
    /// definition from WeChat at start. A role left out is not sent.
    pub remind_template_fields: BTreeMap<String, String>,
    /// Live availability: a copy's status read from the library system is reused for this long
    /// (per node) before it is asked again.
    pub status_ttl_secs: u64,
    /// Live availability: how long a page or a chat answer waits for the library system's
    /// statuses; copies not answered by then show their last known status, marked as such.
    pub status_budget_ms: u64,
    /// Notices from the library system (hold ready, cannot renew, back on the shelf).
    pub notices: NoticesConfig,
    /// SIP2 connection, when `system = "sip2"`.
    pub sip2: Sip2Config,
}

/// A template message: its id in the account and which of its fields carries what (role → the
/// field's key, e.g. `title = "thing1"`). An empty id: no template message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TemplateConfig {
    pub id: String,
    pub fields: BTreeMap<String, String>,
}

impl TemplateConfig {
    fn new(id: &str, fields: &[(&str, &str)]) -> Self {
        Self { id: id.to_owned(), fields: fields.iter().map(|(r, k)| ((*r).to_owned(), (*k).to_owned())).collect() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoticesConfig {
    /// Poll the library system and send the notices.
    pub enabled: bool,
    /// A round over the bound readers and the shelf watches starts this often (one node at a
    /// time); the built-in library system also starts one when its loans or holds change.
    pub poll_interval_secs: u64,
    /// At most this many library-system requests a second during a round (SIP2), so a round over
    /// thousands of readers is spread out instead of a storm.
    pub requests_per_sec: u32,
    /// At most this many library-system requests at once during a round.
    pub parallelism: usize,
    /// The template message of "your hold is ready" when the customer-service window is closed
    /// (roles: `title`, `pickup`, `date`).
    pub hold_ready_template: TemplateConfig,
    /// "You can no longer renew: another reader reserved it" (roles: `title`, `due`, `note`).
    pub renew_blocked_template: TemplateConfig,
    /// 到书提醒, "a copy is back on the shelf" (roles: `title`, `location`, `date`).
    pub available_template: TemplateConfig,
}

impl Default for NoticesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval_secs: 300,
            requests_per_sec: 10,
            parallelism: 2,
            hold_ready_template: TemplateConfig::new("hold_ready", &[("title", "thing1"), ("pickup", "thing2"), ("date", "time3")]),
            renew_blocked_template: TemplateConfig::default(),
            available_template: TemplateConfig::default(),
        }
    }
}

impl Default for CirculationConfig {
    fn default() -> Self {
        Self {
            system: "builtin".into(),
            loan_days: 30,
            renew_days: 30,
            max_renewals: 2,
            renew_overdue_limit_days: 0,
            max_holds: 5,
            ils_timeout_ms: 3000,
            unbind_on_unsubscribe: true,
            bind_max_failures: 5,
            bind_window_secs: 900,
            bind_max_attempts_per_address: 30,
            hot_days: 90,
            remind_days_before: 3,
            remind_hour: 9,
            remind_template_id: "due_reminder".into(),
            remind_template_fields: [("books", "thing1"), ("due", "time2"), ("count", "number3"), ("note", "thing4")]
                .into_iter()
                .map(|(r, k)| (r.to_owned(), k.to_owned()))
                .collect(),
            status_ttl_secs: 60,
            status_budget_ms: 1000,
            notices: NoticesConfig::default(),
            sip2: Sip2Config::default(),
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sip2Config {
    /// host:port of the library system's SIP2 service.
    pub address: String,
    /// SIP2 login (message 93); empty skips login.
    pub login_user: String,
    pub login_password: String,
    /// Institution id (AO) and location code (CP).
    pub institution: String,
    pub location: String,
    /// "utf-8" or "gbk" (many Chinese systems).
    pub charset: String,
    pub timeout_ms: u64,
    pub pool_size: usize,
}

impl Default for Sip2Config {
    fn default() -> Self {
        Self {
            address: String::new(),
            login_user: String::new(),
            login_password: String::new(),
            institution: String::new(),
            location: String::new(),
            charset: "utf-8".into(),
            timeout_ms: 2000,
            pool_size: 4,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartnersConfig {
    /// A JSON file of partner libraries added or updated (by name) at startup; empty: none.
    pub seed_file: String,
    /// Serve our catalog over SRU at `/sru` for partners.
    pub sru_enabled: bool,
    /// Records per SRU response when the client asks for none (`maximumRecords` absent).
    pub sru_default_records: usize,
    /// The most records one SRU response carries.
    pub sru_max_records: usize,
    /// Upper bound of every partner's timeout: chat must answer within WeChat's 5 seconds.
    pub max_timeout_ms: u64,
    /// Records shown per partner in a chat answer.
    pub chat_hits_per_partner: usize,
}

impl Default for PartnersConfig {
    fn default() -> Self {
        Self {
            seed_file: String::new(),
            sru_enabled: true,
            sru_default_records: 10,
            sru_max_records: 50,
            max_timeout_ms: 3000,
            chat_hits_per_partner: 3,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Where this node keeps its search index; empty means `<data_dir>/index`.
    pub index_dir: String,
    /// Results per page in chat (WeChat messages are short; 5 reads well on a phone).
    pub chat_page_size: usize,
    /// A reader's search mode and last results are forgotten after this many seconds of silence.
    pub dialog_timeout_secs: i64,
    /// Harvesting the catalog from the library system over OAI-PMH.
    pub harvest: HarvestConfig,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self { index_dir: String::new(), chat_page_size: 5, dialog_timeout_secs: 900, harvest: HarvestConfig::default() }
    }
}

/// `[catalog.harvest]`: where the library system publishes its catalog over OAI-PMH.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HarvestConfig {
    /// The OAI-PMH base URL (Koha: `…/cgi-bin/koha/oai.pl`); empty: no harvesting.
    pub url: String,
    /// Which metadata format to ask for; it must be MARCXML ("marc21" on most systems,
    /// "marcxml" on some).
    pub metadata_prefix: String,
    /// Only this set (a setSpec); empty: the whole repository.
    pub set: String,
    /// Seconds between the server's harvests; 0: only on demand (console or `wxlib harvest`).
    pub interval_secs: u64,
    /// Tries per request before the run fails (network errors and 5xx answers, with a doubling
    /// wait from a second; a 503's Retry-After is waited, up to two minutes).
    pub max_attempts: u32,
    /// Seconds one request may take.
    pub timeout_secs: u64,
}

impl Default for HarvestConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            metadata_prefix: "marc21".into(),
            set: String::new(),
            interval_secs: 900,
            max_attempts: 5,
            timeout_secs: 120,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// Where the embedded database and search index live.
    pub data_dir: PathBuf,
    /// Largest callback body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The address readers' phones reach this server at (links in chat point here).
    pub public_url: String,
    /// The proxies in front (CIDRs or addresses, e.g. `["127.0.0.1/32"]`) whose
    /// `X-Forwarded-For` says who the client is; from anyone else the header is ignored and the
    /// socket's address is the client's (sign-in limits and the audit log count by it).
    pub trusted_proxies: Vec<String>,
    /// A request's head must arrive within this many seconds, or the connection is closed (an
    /// idle keep-alive connection too: a proxy's upstream keep-alive must be shorter).
    pub header_read_timeout_secs: u64,
    /// A page (anything but the callback, which has its own deadline) that takes longer than
    /// this many seconds is answered 408.
    pub page_timeout_secs: u64,
    /// A second address serving only `/metrics`, without a token (e.g. `127.0.0.1:9464`, for a
    /// Prometheus on the machine or a private network); empty: none.
    pub metrics_listen: String,
    /// `/metrics` on the main listener answers only `Authorization: Bearer <this>` (at least 16
    /// characters); empty: the main listener has no `/metrics` (404). Best set by the
    /// environment (`WXLIB_SERVER__METRICS_TOKEN`).
    pub metrics_token: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080))),
            data_dir: PathBuf::from("./data"),
            max_body_bytes: 64 * 1024,
            public_url: "http://127.0.0.1:8080".into(),
            trusted_proxies: Vec::new(),
            header_read_timeout_secs: 5,
            page_timeout_secs: 30,
            metrics_listen: String::new(),
            metrics_token: String::new(),
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("public_url", &self.public_url)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("header_read_timeout_secs", &self.header_read_timeout_secs)
            .field("page_timeout_secs", &self.page_timeout_secs)
            .field("metrics_listen", &self.metrics_listen)
            .field("metrics_token", &redact(&self.metrics_token))
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeChatConfig {
    pub app_id: String,
    pub app_secret: String,
    /// The Token set in the account's server configuration (3–32 letters and digits).
    pub token: String,
    /// The EncodingAESKey (43 characters); empty means plain mode only.
    pub encoding_aes_key: String,
    /// The account's message encryption mode (消息加解密方式), as set in its server configuration:
    /// "safe" (安全模式: only encrypted callbacks are accepted; a plain one, even signed with the
    /// token, is refused), "compatible" (兼容模式: plain and encrypted callbacks are both accepted,
    /// each answered in kind; for switching modes) or "plain" (明文模式, no key). Empty: "safe"
    /// when `encoding_aes_key` is set, else "plain".
    pub message_mode: String,
    /// The key before the last reset, still accepted during rotation.
    pub previous_encoding_aes_key: String,
    /// Base URL of WeChat's server API; tests and the simulator point it at a local server.
    pub api_base: String,
    /// Base URL of WeChat's web authorisation page (`/connect/oauth2/authorize`).
    pub oauth_base: String,
    /// How long a handler may run before the callback is answered `success` and the real answer
    /// goes out later as a customer-service message. WeChat gives up at 5 s.
    pub reply_deadline_ms: u64,
    /// Reject callbacks whose timestamp is further than this from our clock (replay window):
    /// 1–3600 seconds, never off.
    pub timestamp_tolerance_secs: i64,
    /// Language of reader-facing text: "zh-CN" (default) or "en".
    pub lang: String,
}

impl Default for WeChatConfig {
    fn default() -> Self {
        Self {
            app_id: String::new(),
            app_secret: String::new(),
            token: String::new(),
            encoding_aes_key: String::new(),
            message_mode: String::new(),
            previous_encoding_aes_key: String::new(),
            api_base: "https://api.weixin.qq.com".into(),
            oauth_base: "https://open.weixin.qq.com".into(),
            reply_deadline_ms: 4500,
            timestamp_tolerance_secs: 300,
            lang: "zh-CN".into(),
        }
    }
}

/// Which callbacks the account accepts: `wechat.message_mode`, resolved against the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageMode {
    /// 明文模式: plain callbacks only (no key is configured).
    Plain,
    /// 兼容模式: plain and encrypted callbacks, each answered in kind.
    Compatible,
    /// 安全模式: encrypted callbacks only.
    Safe,
}

impl WeChatConfig {
    /// The effective message mode (validation has refused "safe" or "compatible" without a key,
    /// and "plain" with one).
    pub fn message_mode(&self) -> MessageMode {
        match self.message_mode.as_str() {
            "plain" => MessageMode::Plain,
            "compatible" => MessageMode::Compatible,
            "safe" => MessageMode::Safe,
            _ if self.encoding_aes_key.is_empty() => MessageMode::Plain,
            _ => MessageMode::Safe,
        }
    }
}

/// What a secret is shown as wherever the configuration is printed or logged (`check-config`,
/// `Debug`): whether it is set, never its value.
pub fn redact(secret: &str) -> &'static str {
    if secret.is_empty() { "" } else { "<redacted>" }
}

/// `url` with the password in it (`scheme://user:PASSWORD@host`, or a `password=` query
/// parameter) replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let mut out = match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    };
    if let Some(q) = out.find('?') {
        let query = out[q + 1..]
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out.truncate(q + 1);
        out.push_str(&query);
    }
    out
}

impl std::fmt::Debug for WeChatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeChatConfig")
            .field("app_id", &self.app_id)
            .field("app_secret", &redact(&self.app_secret))
            .field("token", &redact(&self.token))
            .field("encoding_aes_key", &redact(&self.encoding_aes_key))
            .field("message_mode", &self.message_mode)
            .field("previous_encoding_aes_key", &redact(&self.previous_encoding_aes_key))
            .field("api_base", &redact_url(&self.api_base))
            .field("oauth_base", &redact_url(&self.oauth_base))
            .field("reply_deadline_ms", &self.reply_deadline_ms)
            .field("timestamp_tolerance_secs", &self.timestamp_tolerance_secs)
            .field("lang", &self.lang)
            .finish()
    }
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig").field("url", &redact_url(&self.url)).finish()
    }
}

impl std::fmt::Debug for Sip2Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sip2Config")
            .field("address", &self.address)
            .field("login_user", &self.login_user)
            .field("login_password", &redact(&self.login_password))
            .field("institution", &self.institution)
            .field("location", &self.location)
            .field("charset", &self.charset)
            .field("timeout_ms", &self.timeout_ms)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl std::fmt::Debug for HarvestConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HarvestConfig")
            .field("url", &redact_url(&self.url))
            .field("metadata_prefix", &self.metadata_prefix)
            .field("set", &self.set)
            .field("interval_secs", &self.interval_secs)
            .field("max_attempts", &self.max_attempts)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `postgres://…` for PostgreSQL, `sqlite://…` for a given SQLite file; empty means
    /// `sqlite://<data_dir>/wxlib.db`.
    pub url: String,
}

/// A configuration problem, naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("configuration: {0}")]
    Parse(String),
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl Config {
    /// Loads `path` (if given) and the environment, then validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(p) = path {
            if !p.exists() {
                return Err(ConfigError::File {
                    path: p.to_owned(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found"),
                });
            }
            fig = fig.merge(Toml::file_exact(p));
        }
        // Only `WXLIB_<SECTION>__<KEY>` variables are configuration; others (WXLIB_LOG_FORMAT,
        // WXLIB_TEST_PG…) belong to other tools.
        fig = fig.merge(Env::prefixed("WXLIB_").split("__").filter(|k| k.as_str().contains('.')));
        let cfg: Config = fig.extract().map_err(|e| ConfigError::Parse(describe_figment(e)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let w = &self.wechat;
        let invalid = |key, reason: &str| Err(ConfigError::Invalid { key, reason: reason.to_owned() });
        if !(3..=32).contains(&w.token.len()) || !w.token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return invalid("wechat.token", "must be 3–32 letters or digits, as in the account's server settings");
        }
        for (key, value) in
            [("wechat.encoding_aes_key", &w.encoding_aes_key), ("wechat.previous_encoding_aes_key", &w.previous_encoding_aes_key)]
        {
            if !value.is_empty()
                && let Err(e) = wechat::AesKey::from_encoding_aes_key(value)
            {
                return invalid(key, &e.to_string());
            }
        }
        if !w.previous_encoding_aes_key.is_empty() && w.encoding_aes_key.is_empty() {
            return invalid("wechat.previous_encoding_aes_key", "set only together with wechat.encoding_aes_key");
        }
        match (w.message_mode.as_str(), w.encoding_aes_key.is_empty()) {
            ("" | "safe" | "compatible", false) | ("" | "plain", true) => {}
            ("safe" | "compatible", true) => {
                return invalid("wechat.message_mode", "\"safe\" and \"compatible\" need wechat.encoding_aes_key");
            }
            ("plain", false) => {
                return invalid(
                    "wechat.message_mode",
                    "\"plain\" takes no wechat.encoding_aes_key: remove the key, or choose \"compatible\" while the account switches modes",
                );
            }
            _ => {
                return invalid(
                    "wechat.message_mode",
                    "must be \"safe\", \"compatible\" or \"plain\" (or empty: safe with a key, plain without)",
                );
            }
        }
        if !w.encoding_aes_key.is_empty() && w.app_id.is_empty() {
            return invalid("wechat.app_id", "required when wechat.encoding_aes_key is set (it is checked inside every encrypted message)");
        }
        if !(w.api_base.starts_with("http://") || w.api_base.starts_with("https://")) {
            return invalid("wechat.api_base", "must be an http:// or https:// URL");
        }
        if !(1..=3600).contains(&w.timestamp_tolerance_secs) {
            return invalid(
                "wechat.timestamp_tolerance_secs",
                "must be between 1 and 3600 seconds (the replay window; it cannot be turned off)",
            );
        }
        match reqwest::Url::parse(&w.oauth_base) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.query().is_none() && u.fragment().is_none() => {}
            Ok(_) => return invalid("wechat.oauth_base", "must be an absolute http:// or https:// URL without a query or fragment"),
            Err(e) => return invalid("wechat.oauth_base", &format!("is not an absolute URL: {e}")),
        }
        if !(100..=4800).contains(&w.reply_deadline_ms) {
            return invalid("wechat.reply_deadline_ms", "must be between 100 and 4800: WeChat drops the request at 5000");
        }
        if !matches!(w.lang.as_str(), "zh-CN" | "en") {
            return invalid("wechat.lang", "must be \"zh-CN\" or \"en\"");
        }
        let url = &self.storage.url;
        if !(url.is_empty() || url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return invalid("storage.url", "must start with sqlite: or postgres://, or be empty for the embedded default");
        }
        if !(self.server.public_url.starts_with("http://") || self.server.public_url.starts_with("https://")) {
            return invalid("server.public_url", "must be an http:// or https:// URL");
        }
        if !(1..=10).contains(&self.catalog.chat_page_size) {
            return invalid("catalog.chat_page_size", "must be between 1 and 10");
        }
        let h = &self.catalog.harvest;
        if !h.url.is_empty() {
            match reqwest::Url::parse(&h.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                Ok(_) => return invalid("catalog.harvest.url", "must be an http:// or https:// URL"),
                Err(e) => return invalid("catalog.harvest.url", &format!("is not a URL: {e}")),
            }
            if h.metadata_prefix.trim().is_empty() {
                return invalid("catalog.harvest.metadata_prefix", "must name the provider's MARCXML format, e.g. \"marc21\"");
            }
        }
        if !(1..=20).contains(&h.max_attempts) {
            return invalid("catalog.harvest.max_attempts", "must be between 1 and 20");
        }
        if !(1..=3600).contains(&h.timeout_secs) {
            return invalid("catalog.harvest.timeout_secs", "must be between 1 and 3600");
        }
        let c = &self.circulation;
        if !matches!(c.system.as_str(), "builtin" | "sip2") {
            return invalid("circulation.system", "must be \"builtin\" or \"sip2\"");
        }
        if c.system == "sip2" && c.sip2.address.is_empty() {
            return invalid("circulation.sip2.address", "required when circulation.system = \"sip2\" (host:port)");
        }
        if !matches!(c.sip2.charset.as_str(), "utf-8" | "gbk") {
            return invalid("circulation.sip2.charset", "must be \"utf-8\" or \"gbk\"");
        }
        if !(100..=4000).contains(&c.ils_timeout_ms) {
            return invalid("circulation.ils_timeout_ms", "must be between 100 and 4000, so replies still leave within WeChat's 5 seconds");
        }
        if c.remind_hour > 23 {
            return invalid("circulation.remind_hour", "must be 0–23");
        }
        if c.bind_max_failures < 1 || c.bind_max_attempts_per_address < 1 {
            return invalid("circulation.bind_max_failures", "and bind_max_attempts_per_address must be at least 1");
        }
        if !(60..=crate::db::limits::LONGEST_WINDOW_SECS).contains(&c.bind_window_secs) {
            return invalid("circulation.bind_window_secs", "must be between 60 and 86400");
        }
        if !(1..=86_400).contains(&c.status_ttl_secs) {
            return invalid("circulation.status_ttl_secs", "must be between 1 and 86400");
        }
        if !(50..=3000).contains(&c.status_budget_ms) {
            return invalid(
                "circulation.status_budget_ms",
                "must be between 50 and 3000, so answers still leave within WeChat's 5 seconds",
            );
        }
        for role in c.remind_template_fields.keys() {
            if !matches!(role.as_str(), "books" | "due" | "count" | "note") {
                return invalid("circulation.remind_template_fields", "roles are books, due, count and note");
            }
        }
        let n = &c.notices;
        if n.poll_interval_secs < 1 {
            return invalid("circulation.notices.poll_interval_secs", "must be at least 1");
        }
        if !(1..=1000).contains(&n.requests_per_sec) {
            return invalid("circulation.notices.requests_per_sec", "must be between 1 and 1000");
        }
        if !(1..=32).contains(&n.parallelism) {
            return invalid("circulation.notices.parallelism", "must be between 1 and 32");
        }
        for (key, t, roles) in [
            ("circulation.notices.hold_ready_template", &n.hold_ready_template, &["title", "pickup", "date"]),
            ("circulation.notices.renew_blocked_template", &n.renew_blocked_template, &["title", "due", "note"]),
            ("circulation.notices.available_template", &n.available_template, &["title", "location", "date"]),
        ] {
            if let Some(bad) = t.fields.keys().find(|r| !roles.contains(&r.as_str())) {
                return Err(ConfigError::Invalid { key, reason: format!("unknown role {bad:?}; the roles are {}", roles.join(", ")) });
            }
        }
        if !(1..=24 * 60).contains(&self.consultation.session_minutes) {
            return invalid("consultation.session_minutes", "must be between 1 and 1440");
        }
        if let Err(reason) = crate::working_hours::WorkingHours::parse(&self.consultation.working_days, &self.consultation.working_hours) {
            return invalid("consultation.working_hours", &reason);
        }
        let p = &self.partners;
        if !(100..=4000).contains(&p.max_timeout_ms) {
            return invalid(
                "partners.max_timeout_ms",
                "must be between 100 and 4000, so chat answers still leave within WeChat's 5 seconds",
            );
        }
        if !(1..=1000).contains(&p.sru_max_records) {
            return invalid("partners.sru_max_records", "must be between 1 and 1000");
        }
        if p.sru_default_records > p.sru_max_records {
            return invalid("partners.sru_default_records", "must not exceed partners.sru_max_records");
        }
        if !(1..=10).contains(&p.chat_hits_per_partner) {
            return invalid("partners.chat_hits_per_partner", "must be between 1 and 10");
        }
        let a = &self.activities;
        if a.remind_hour > 23 {
            return invalid("activities.remind_hour", "must be 0–23");
        }
        if !(0..=24 * 60).contains(&a.checkin_opens_minutes) {
            return invalid("activities.checkin_opens_minutes", "must be between 0 and 1440");
        }
        if !(a.showqrcode_url.starts_with("http://") || a.showqrcode_url.starts_with("https://")) {
            return invalid("activities.showqrcode_url", "must be an http:// or https:// URL");
        }
        if !(2..=10_000).contains(&self.broadcasts.batch_size) {
            return invalid("broadcasts.batch_size", "must be between 2 and 10000 (openids per mass/send call)");
        }
        if !matches!(self.broadcasts.send_by.as_str(), "openid_batches" | "sendall") {
            return invalid("broadcasts.send_by", "must be \"openid_batches\" or \"sendall\"");
        }
        if let Err(reason) = crate::web::client::TrustedProxies::parse(&self.server.trusted_proxies) {
            return invalid("server.trusted_proxies", &reason);
        }
        if !(1..=60).contains(&self.server.header_read_timeout_secs) {
            return invalid("server.header_read_timeout_secs", "must be between 1 and 60");
        }
        if !(1..=600).contains(&self.server.page_timeout_secs) {
            return invalid("server.page_timeout_secs", "must be between 1 and 600");
        }
        if self.server.max_body_bytes < 1024 {
            return invalid("server.max_body_bytes", "must be at least 1024");
        }
        if !self.server.metrics_listen.is_empty() && self.server.metrics_listen.parse::<SocketAddr>().is_err() {
            return invalid("server.metrics_listen", "must be an address and port, e.g. \"127.0.0.1:9464\", or empty for none");
        }
        let token = &self.server.metrics_token;
        if !token.is_empty() && (token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic())) {
            return invalid("server.metrics_token", "must be at least 16 printable characters without spaces, or empty for none");
        }
        Ok(())
    }

    /// The effective database URL.
    pub fn database_url(&self) -> String {
        if self.storage.url.is_empty() {
            format!("sqlite://{}", self.server.data_dir.join("wxlib.db").display())
        } else {
            self.storage.url.clone()
        }
    }

    /// The effective search index directory.
    pub fn index_dir(&self) -> PathBuf {
        if self.catalog.index_dir.is_empty() { self.server.data_dir.join("index") } else { PathBuf::from(&self.catalog.index_dir) }
    }

    /// Builds the account's crypto from the configured keys, if encryption is configured.
    pub fn message_crypto(&self) -> Option<wechat::MessageCrypto> {
        let w = &self.wechat;
        let current = wechat::AesKey::from_encoding_aes_key(&w.encoding_aes_key).ok()?;
        let previous = wechat::AesKey::from_encoding_aes_key(&w.previous_encoding_aes_key).ok();
        Some(wechat::MessageCrypto::new(w.token.clone(), w.app_id.clone(), current, previous))
    }
}

/// Figment's errors already name the key path and the source (file or env var); keep every one.
fn describe_figment(err: figment::Error) -> String {
    err.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Config {
        let mut c = Config::default();
        c.wechat.token = "libtoken".into();
        c
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut c = valid();
        c.wechat.token = "x".into();
        assert!(c.validate().unwrap_err().to_string().contains("wechat.token"));
        let mut c = valid();
        c.wechat.encoding_aes_key = "short".into();
        assert!(c.validate().unwrap_err().to_string().contains("wechat.encoding_aes_key"));
        let mut c = valid();
        c.storage.url = "mysql://x".into();
        assert!(c.validate().unwrap_err().to_string().contains("storage.url"));
        assert!(valid().validate().is_ok());
    }

    /// Safe mode is strict unless compatible mode is chosen, and a mode the key cannot serve is
    /// refused at start.
    #[test]
    fn message_mode_follows_the_key_and_is_checked_against_it() {
        let key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let with_key = |mode: &str| {
            let mut c = valid();
            c.wechat.app_id = "wx1234567890abcdef".into();
            c.wechat.encoding_aes_key = key.into();
            c.wechat.message_mode = mode.into();
            c
        };
        let without_key = |mode: &str| {
            let mut c = valid();
            c.wechat.message_mode = mode.into();
            c
        };
        assert_eq!(with_key("").wechat.message_mode(), MessageMode::Safe);
        assert_eq!(with_key("safe").wechat.message_mode(), MessageMode::Safe);
        assert_eq!(with_key("compatible").wechat.message_mode(), MessageMode::Compatible);
        assert_eq!(without_key("").wechat.message_mode(), MessageMode::Plain);
        assert_eq!(without_key("plain").wechat.message_mode(), MessageMode::Plain);
        for c in [with_key(""), with_key("safe"), with_key("compatible"), without_key(""), without_key("plain")] {
            c.validate().unwrap_or_else(|e| panic!("{:?}: {e}", c.wechat.message_mode));
        }
        for c in [with_key("plain"), without_key("safe"), without_key("compatible"), with_key("Safe"), with_key("aes")] {
            let err = c.validate().expect_err(&c.wechat.message_mode).to_string();
            assert!(err.contains("wechat.message_mode"), "{err}");
        }
    }

    /// Issue 18: a negative `timestamp_tolerance_secs` silently turned replay protection off,
    /// and `oauth_base` was taken as it came.
    #[test]
    fn the_replay_window_and_the_oauth_base_are_checked() {
        for secs in [i64::MIN, -1, 0, 3601, i64::MAX] {
            let mut c = valid();
            c.wechat.timestamp_tolerance_secs = secs;
            assert!(c.validate().unwrap_err().to_string().contains("wechat.timestamp_tolerance_secs"), "{secs}");
        }
        for secs in [1, 300, 3600] {
            let mut c = valid();
            c.wechat.timestamp_tolerance_secs = secs;
            c.validate().unwrap();
        }
        for bad in [
            "",
            "open.weixin.qq.com",
            "/connect",
            "//open.weixin.qq.com",
            "javascript:alert(1)",
            "ftp://open.weixin.qq.com",
            "https://",
            "https://open.weixin.qq.com/?x=1",
            "https://open.weixin.qq.com#frag",
            "https://open.weixin.qq.com\r\nX: y",
        ] {
            let mut c = valid();
            c.wechat.oauth_base = bad.into();
            let err = c.validate().expect_err(bad).to_string();
            assert!(err.contains("wechat.oauth_base"), "{bad}: {err}");
        }
        for good in ["https://open.weixin.qq.com", "http://127.0.0.1:8080/sim/api", "https://sso.example.edu/wx/"] {
            let mut c = valid();
            c.wechat.oauth_base = good.into();
            c.validate().unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    #[test]
    fn file_and_environment_layers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wxlib.toml");
        std::fs::write(&path, "[wechat]\ntoken = \"fromfile\"\nunknown_key = 1\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("unknown_key"), "{err}");
        std::fs::write(&path, "[wechat]\ntoken = \"fromfile\"\nreply_deadline_ms = \"soon\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("reply_deadline_ms"), "{err}");
    }
}

#[cfg(test)]
mod example_file {
    /// The documented example must stay a valid configuration with every key present.
    #[test]
    fn example_config_parses_and_documents_every_key() {
        let text = include_str!("../../../config.example.toml");
        let parsed: super::Config = toml_like(text);
        parsed.validate().expect("example validates");
        for key in [
            "listen",
            "data_dir",
            "max_body_bytes",
            "app_id",
            "app_secret",
            "token",
            "encoding_aes_key",
            "message_mode",
            "previous_encoding_aes_key",
            "api_base",
            "reply_deadline_ms",
            "timestamp_tolerance_secs",
            "lang",
            "url",
            "oauth_base",
            "system",
            "loan_days",
            "renew_days",
            "max_renewals",
            "remind_template_id",
            "address",
            "charset",
            "name",
            "about",
            "enabled",
            "gh_id",
            "public_url",
            "trusted_proxies",
            "header_read_timeout_secs",
            "page_timeout_secs",
            "metrics_listen",
            "metrics_token",
            "index_dir",
            "chat_page_size",
            "dialog_timeout_secs",
            "session_minutes",
            "working_days",
            "working_hours",
            "promoted_template_id",
            "checkin_opens_minutes",
            "showqrcode_url",
            "batch_size",
            "monthly_quota",
            "send_by",
        ] {
            assert!(text.lines().any(|l| l.trim_start().starts_with(&format!("{key} ="))), "config.example.toml lacks {key}");
        }
    }

    fn toml_like(text: &str) -> super::Config {
        use figment::providers::{Format, Toml};
        figment::Figment::new().merge(Toml::string(text)).extract().expect("example parses")
    }
}
