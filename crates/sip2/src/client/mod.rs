//! Async SIP2 client (tokio).
//!
//! [`Client`] is cheap to clone and shares one pool and one circuit breaker. Every call:
//!
//! 1. asks the [`CircuitBreaker`] (open → [`Error::CircuitOpen`] at once);
//! 2. within [`ClientConfig::call_timeout`] takes a pool slot, an idle connection or a new one
//!    (TCP connect with [`ClientConfig::connect_timeout`], then SC login `93` if configured);
//! 3. sends the request with the next sequence number and waits at most
//!    [`ClientConfig::request_timeout`] for the answer, resending on `96` and asking for a resend
//!    (`97`) on a bad checksum, up to [`ClientConfig::max_resends`] times;
//! 4. returns the connection to the pool on success and drops it on any failure. A read-only
//!    request that fails because a pooled connection turned out to be dead is retried once on a
//!    fresh connection; requests that change state (renew, hold, checkout …) are not.
//!
//! The high-level methods ([`Client::authenticate`], [`Client::patron_information`],
//! [`Client::item_information`], [`Client::renew`], [`Client::renew_all`], [`Client::hold`],
//! [`Client::end_session`], [`Client::loans`]) build the request, check the answer and return
//! plain result types. Negative answers from the library system (renewal refused, wrong PIN)
//! are results, not errors.

mod breaker;
mod conn;
mod error;
mod pool;

use std::sync::Arc;
use std::time::Duration;

pub use breaker::{BreakerState, CircuitBreaker};
pub use error::Error;

use crate::codec::message::yes;
use crate::codec::{
    AcsStatusResponse, Charset, CirculationStatus, EndPatronSessionRequest, HoldMode, HoldRequest, ItemInformationRequest, Message,
    PatronFlag, PatronInformationRequest, PatronStatus, PatronStatusRequest, RenewAllRequest, RenewRequest, ScStatusRequest, SipDate,
    Summary, SummaryKind, Timestamp, parse_due_date,
};
use conn::Connection;
use pool::Pool;

/// SC login (`93`) credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// `CN` login user id.
    pub user: String,
    /// `CO` login password.
    pub password: String,
    /// `CP` location code.
    pub location_code: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("location_code", &self.location_code)
            .finish()
    }
}

/// Client settings. Start from [`ClientConfig::new`] and change what differs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` of the ACS.
    pub addr: String,
    /// `AO` institution id sent with every request.
    pub institution_id: String,
    /// Character set of the partner (default UTF-8; GBK for many Chinese systems).
    pub charset: Charset,
    /// Send `AY`/`AZ` and expect them back (default on).
    pub error_detection: bool,
    /// SC login sent on every new connection (default none).
    pub login: Option<Login>,
    /// `AC` terminal password (default empty).
    pub terminal_password: String,
    /// Language code for 23/63 (default `019` Chinese).
    pub language: u16,
    /// Transaction dates in local time at this offset from UTC with a blank zone
    /// (default `Some(8 h)`, China); `None` = UTC with zone `   Z`.
    pub utc_offset_secs: Option<i32>,
    /// TCP connect timeout (default 2 s).
    pub connect_timeout: Duration,
    /// Wait for one answer (default 2 s).
    pub request_timeout: Duration,
    /// Bound on a whole call: pool wait, connect, login, exchange, one retry (default 4 s).
    pub call_timeout: Duration,
    /// Resends on `96` / `97` requests on bad checksums, per request (default 3).
    pub max_resends: u32,
    /// Connections at most (default 2).
    pub pool_size: usize,
    /// Consecutive failures that open the circuit breaker (default 5).
    pub breaker_threshold: u32,
    /// How long it stays open before a probe (default 30 s).
    pub breaker_open_for: Duration,
    /// Longest reply accepted (default 64 KiB).
    pub max_frame_bytes: usize,
    /// Send SC Status (`99`) after login on every new connection (default off).
    pub sc_status_on_connect: bool,
}

impl ClientConfig {
    /// Defaults for an ACS at `addr` (`host:port`) with institution id `institution_id`.
    pub fn new(addr: impl Into<String>, institution_id: impl Into<String>) -> Self {
        ClientConfig {
            addr: addr.into(),
            institution_id: institution_id.into(),
            charset: Charset::Utf8,
            error_detection: true,
            login: None,
            terminal_password: String::new(),
            language: 19,
            utc_offset_secs: Some(8 * 3600),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(2),
            call_timeout: Duration::from_secs(4),
            max_resends: 3,
            pool_size: 2,
            breaker_threshold: 5,
            breaker_open_for: Duration::from_secs(30),
            max_frame_bytes: 64 * 1024,
            sc_status_on_connect: false,
        }
    }

    /// Set the SC login.
    pub fn with_login(mut self, user: impl Into<String>, password: impl Into<String>, location: Option<String>) -> Self {
        self.login = Some(Login { user: user.into(), password: password.into(), location_code: location });
        self
    }
}

/// Result of [`Client::authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatronAuth {
    /// Card number asked about.
    pub card: String,
    /// `BL` = Y. Missing counts as no.
    pub valid_patron: bool,
    /// `CQ` = Y. Missing counts as no.
    pub valid_password: bool,
    /// `AE` personal name.
    pub name: String,
    /// Patron status flags (blocks).
    pub status: PatronStatus,
    /// `BV` fee amount.
    pub fee_amount: Option<String>,
    /// `BH` currency.
    pub currency: Option<String>,
    /// `AF` screen messages.
    pub messages: Vec<String>,
}

impl PatronAuth {
    /// A known patron with the right password.
    pub fn ok(&self) -> bool {
        self.valid_patron && self.valid_password
    }
}

/// Result of [`Client::patron_information`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatronInfo {
    /// `AA`.
    pub card: String,
    /// `AE` personal name.
    pub name: String,
    /// `BL` (None if the ACS did not say).
    pub valid_patron: Option<bool>,
    /// `CQ` (None if the ACS did not say or no password was sent).
    pub valid_password: Option<bool>,
    /// Patron status flags.
    pub status: PatronStatus,
    /// Counts (hold, overdue, charged, fine, recall, unavailable holds); `None` = not given.
    pub hold_count: Option<u16>,
    /// Overdue count.
    pub overdue_count: Option<u16>,
    /// Charged count.
    pub charged_count: Option<u16>,
    /// Fine items count.
    pub fine_count: Option<u16>,
    /// Recall count.
    pub recall_count: Option<u16>,
    /// Unavailable holds count.
    pub unavailable_hold_count: Option<u16>,
    /// `AU` charged items (barcodes, or whatever the ACS puts there).
    pub charged_items: Vec<String>,
    /// `AS` hold items.
    pub hold_items: Vec<String>,
    /// `AT` overdue items.
    pub overdue_items: Vec<String>,
    /// `AV` fine items.
    pub fine_items: Vec<String>,
    /// `BU` recall items.
    pub recall_items: Vec<String>,
    /// `CD` unavailable hold items.
    pub unavailable_hold_items: Vec<String>,
    /// `BV` fee amount.
    pub fee_amount: Option<String>,
    /// `BH` currency.
    pub currency: Option<String>,
    /// `CC` fee limit.
    pub fee_limit: Option<String>,
    /// `CB` charged items limit.
    pub charged_items_limit: Option<String>,
    /// `BE`.
    pub email: Option<String>,
    /// `BF`.
    pub phone: Option<String>,
    /// `BD`.
    pub address: Option<String>,
    /// `AF` screen messages.
    pub messages: Vec<String>,
}

impl PatronInfo {
    /// The blocks set in the patron status.
    pub fn blocks(&self) -> Vec<PatronFlag> {
        self.status.flags()
    }
}

/// A due date as the ACS wrote it, and as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDate {
    /// The `AH` text.
    pub raw: String,
    /// Parsed leniently ([`parse_due_date`]).
    pub parsed: Option<Timestamp>,
}

impl DueDate {
    fn from_field(raw: &str) -> Option<DueDate> {
        if raw.trim().is_empty() {
            return None;
        }
        Some(DueDate { raw: raw.to_owned(), parsed: parse_due_date(raw) })
    }
}

/// Result of [`Client::item_information`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInfo {
    /// `AB`.
    pub barcode: String,
    /// `AJ` title.
    pub title: String,
    /// Circulation status.
    pub circulation_status: CirculationStatus,
    /// `AH` due date.
    pub due_date: Option<DueDate>,
    /// `CF` hold queue length.
    pub hold_queue_length: Option<u32>,
    /// `CJ` recall date.
    pub recall_date: Option<DueDate>,
    /// `CM` hold pickup date.
    pub hold_pickup_date: Option<DueDate>,
    /// `CK` media type.
    pub media_type: Option<String>,
    /// `AQ` permanent location.
    pub permanent_location: Option<String>,
    /// `AP` current location.
    pub current_location: Option<String>,
    /// `BG` owner.
    pub owner: Option<String>,
    /// `BV` fee amount.
    pub fee_amount: Option<String>,
    /// `AF` screen messages.
    pub messages: Vec<String>,
}

/// Result of [`Client::renew`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewResult {
    /// `ok` = 1: renewed.
    pub ok: bool,
    /// `renewal ok` flag.
    pub renewal_ok: bool,
    /// `AB`.
    pub barcode: String,
    /// `AJ`.
    pub title: String,
    /// `AH` (new) due date.
    pub due_date: Option<DueDate>,
    /// `AF` screen messages joined with a space: the reason when refused.
    pub message: Option<String>,
    /// `AF` screen messages.
    pub messages: Vec<String>,
    /// `BV` fee for the renewal, if any.
    pub fee_amount: Option<String>,
}

/// Result of [`Client::renew_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewAllResult {
    /// `ok` = 1: the request was processed.
    pub ok: bool,
    /// `BM` renewed items.
    pub renewed: Vec<String>,
    /// `BN` items not renewed.
    pub unrenewed: Vec<String>,
    /// Renewed count as sent.
    pub renewed_count: u16,
    /// Unrenewed count as sent.
    pub unrenewed_count: u16,
    /// `AF` screen messages.
    pub messages: Vec<String>,
}

/// What a hold is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldTarget {
    /// `AB` this copy.
    Item(String),
    /// `AJ` any copy of this title.
    Title(String),
}

/// A hold to place, cancel or change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Place (`+`), cancel (`-`), change (`*`).
    pub mode: HoldMode,
    /// The item or title.
    pub target: HoldTarget,
    /// `BS` pickup location.
    pub pickup_location: Option<String>,
    /// `BW` expiry.
    pub expires: Option<SipDate>,
    /// `BY` hold type (1 other, 2 any copy of title, 3 this copy, 4 any copy at a branch).
    pub hold_type: Option<u8>,
}

impl Hold {
    /// Place a hold on `target`.
    pub fn place(target: HoldTarget) -> Hold {
        Hold { mode: HoldMode::Add, target, pickup_location: None, expires: None, hold_type: None }
    }
    /// Cancel the hold on `target`.
    pub fn cancel(target: HoldTarget) -> Hold {
        Hold { mode: HoldMode::Delete, ..Hold::place(target) }
    }
    /// With a pickup location.
    pub fn at(mut self, pickup_location: impl Into<String>) -> Hold {
        self.pickup_location = Some(pickup_location.into());
        self
    }
}

/// Result of [`Client::hold`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldResult {
    /// `ok` = 1.
    pub ok: bool,
    /// Item available now.
    pub available: bool,
    /// `BR` queue position.
    pub queue_position: Option<u32>,
    /// `BS`.
    pub pickup_location: Option<String>,
    /// `BW`.
    pub expires: Option<DueDate>,
    /// `AB`.
    pub barcode: Option<String>,
    /// `AJ`.
    pub title: Option<String>,
    /// `AF` screen messages.
    pub messages: Vec<String>,
}

fn joined(messages: &[String]) -> Option<String> {
    let s = messages.iter().map(|m| m.trim()).filter(|m| !m.is_empty()).collect::<Vec<_>>().join(" ");
    (!s.is_empty()).then_some(s)
}

fn number(field: &Option<String>) -> Option<u32> {
    field.as_deref().and_then(|s| s.trim().parse().ok())
}

fn is_idempotent(msg: &Message) -> bool {
    matches!(
        msg,
        Message::LoginRequest(_)
            | Message::ScStatusRequest(_)
            | Message::PatronStatusRequest(_)
            | Message::PatronInformationRequest(_)
            | Message::ItemInformationRequest(_)
            | Message::EndPatronSessionRequest(_)
            | Message::RequestAcsResend(_)
    )
}

/// The SIP2 client. Clone it freely.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cfg: ClientConfig,
    pool: Pool,
    breaker: CircuitBreaker,
}

macro_rules! expect {
    ($msg:expr, $variant:ident, $sent:expr) => {
        match $msg {
            Message::$variant(r) => r,
            other => return Err(Error::UnexpectedResponse { sent: $sent, got: other.code() }),
        }
    };
}

impl Client {
    /// A client; connects lazily on the first call.
    pub fn new(cfg: ClientConfig) -> Client {
        let pool = Pool::new(cfg.pool_size);
        let breaker = CircuitBreaker::new(cfg.breaker_threshold, cfg.breaker_open_for);
        Client { inner: Arc::new(Inner { cfg, pool, breaker }) }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    /// The circuit breaker's state.
    pub fn breaker_state(&self) -> BreakerState {
        self.inner.breaker.state()
    }

    /// Idle pooled connections.
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.idle_len()
    }

    /// Close idle connections.
    pub fn close_idle(&self) {
        self.inner.pool.clear();
    }

    fn now(&self) -> SipDate {
        SipDate::now(self.inner.cfg.utc_offset_secs)
    }

    fn ac(&self) -> Option<String> {
        Some(self.inner.cfg.terminal_password.clone())
    }

    /// Send any request and return the answer (low level; the breaker, pool and timeouts apply).
    pub async fn call(&self, msg: Message) -> Result<Message, Error> {
        let permit = self.inner.breaker.try_acquire().map_err(|retry_in| Error::CircuitOpen { retry_in })?;
        let limit = self.inner.cfg.call_timeout;
        let result = match tokio::time::timeout(limit, self.call_inner(&msg, limit)).await {
            Ok(r) => r,
            Err(_) => Err(Error::Deadline(limit)),
        };
        match &result {
            Ok(_) => permit.success(),
            Err(e) if e.is_server_failure() => {
                tracing::warn!(command = msg.code(), error = %e, "SIP2 call failed");
                permit.failure()
            }
            Err(_) => permit.neutral(),
        }
        result
    }

    async fn call_inner(&self, msg: &Message, limit: Duration) -> Result<Message, Error> {
        let pool = &self.inner.pool;
        let _slot = pool.slot(limit).await?;
        let idle = pool.take_idle();
        let (mut conn, reused) = match idle {
            Some(c) => (c, true),
            None => (Connection::open(&self.inner.cfg).await?, false),
        };
        match conn.exchange(msg).await {
            Ok(resp) => {
                pool.put(conn);
                Ok(resp)
            }
            Err(e @ Error::Encode(_)) => {
                pool.put(conn);
                Err(e)
            }
            Err(e) if reused && e.is_stale_connection() && is_idempotent(msg) => {
                tracing::debug!(error = %e, "pooled SIP2 connection was dead, retrying on a new one");
                drop(conn);
                let mut fresh = Connection::open(&self.inner.cfg).await?;
                let resp = fresh.exchange(msg).await?;
                pool.put(fresh);
                Ok(resp)
            }
            Err(e) => Err(e),
        }
    }

    /// SC Status (`99`) → the ACS status (`98`): a cheap health probe.
    pub async fn sc_status(&self) -> Result<AcsStatusResponse, Error> {
        let req = ScStatusRequest { status_code: 0, max_print_width: 80, protocol_version: "2.00".into(), extra: Vec::new() };
        Ok(expect!(self.call(req.into()).await?, AcsStatusResponse, "99"))
    }

    /// Check a card number and password with Patron Status (`23` with `AD`).
    pub async fn authenticate(&self, card: &str, password: &str) -> Result<PatronAuth, Error> {
        let cfg = &self.inner.cfg;
        let req = PatronStatusRequest {
            language: cfg.language,
            transaction_date: self.now(),
            institution_id: cfg.institution_id.clone(),
            patron_identifier: card.to_owned(),
            terminal_password: cfg.terminal_password.clone(),
            patron_password: password.to_owned(),
            extra: Vec::new(),
        };
        let r = expect!(self.call(req.into()).await?, PatronStatusResponse, "23");
        Ok(PatronAuth {
            card: card.to_owned(),
            valid_patron: yes(&r.valid_patron) == Some(true),
            valid_password: yes(&r.valid_patron_password) == Some(true),
            name: r.personal_name,
            status: r.patron_status,
            fee_amount: r.fee_amount,
            currency: r.currency_type,
            messages: r.screen_message,
        })
    }

    /// Patron Information (`63`) asking for one item list (`summary`); all items.
    pub async fn patron_information(&self, card: &str, password: Option<&str>, summary: Option<SummaryKind>) -> Result<PatronInfo, Error> {
        self.patron_information_page(card, password, summary, None).await
    }

    /// Patron Information with `BP`/`BQ` paging (1-based, inclusive).
    pub async fn patron_information_page(
        &self,
        card: &str,
        password: Option<&str>,
        summary: Option<SummaryKind>,
        range: Option<(u32, u32)>,
    ) -> Result<PatronInfo, Error> {
        let cfg = &self.inner.cfg;
        let req = PatronInformationRequest {
            language: cfg.language,
            transaction_date: self.now(),
            summary: summary.map(Summary::of).unwrap_or(Summary::NONE),
            institution_id: cfg.institution_id.clone(),
            patron_identifier: card.to_owned(),
            terminal_password: self.ac(),
            patron_password: password.map(str::to_owned),
            start_item: range.map(|r| r.0.to_string()),
            end_item: range.map(|r| r.1.to_string()),
            extra: Vec::new(),
        };
        let r = expect!(self.call(req.into()).await?, PatronInformationResponse, "63");
        Ok(PatronInfo {
            card: r.patron_identifier,
            name: r.personal_name,
            valid_patron: yes(&r.valid_patron),
            valid_password: yes(&r.valid_patron_password),
            status: r.patron_status,
            hold_count: r.hold_items_count,
            overdue_count: r.overdue_items_count,
            charged_count: r.charged_items_count,
            fine_count: r.fine_items_count,
            recall_count: r.recall_items_count,
            unavailable_hold_count: r.unavailable_holds_count,
            charged_items: r.charged_items,
            hold_items: r.hold_items,
            overdue_items: r.overdue_items,
            fine_items: r.fine_items,
            recall_items: r.recall_items,
            unavailable_hold_items: r.unavailable_hold_items,
            fee_amount: r.fee_amount,
            currency: r.currency_type,
            fee_limit: r.fee_limit,
            charged_items_limit: r.charged_items_limit,
            email: r.email_address,
            phone: r.home_phone_number,
            address: r.home_address,
            messages: r.screen_message,
        })
    }

    /// Item Information (`17`).
    pub async fn item_information(&self, barcode: &str) -> Result<ItemInfo, Error> {
        let cfg = &self.inner.cfg;
        let req = ItemInformationRequest {
            transaction_date: self.now(),
            institution_id: cfg.institution_id.clone(),
            item_identifier: barcode.to_owned(),
            terminal_password: self.ac(),
            extra: Vec::new(),
        };
        let r = expect!(self.call(req.into()).await?, ItemInformationResponse, "17");
        Ok(ItemInfo {
            barcode: r.item_identifier,
            title: r.title_identifier,
            circulation_status: r.circulation_status,
            due_date: r.due_date.as_deref().and_then(DueDate::from_field),
            hold_queue_length: number(&r.hold_queue_length),
            recall_date: r.recall_date.as_deref().and_then(DueDate::from_field),
            hold_pickup_date: r.hold_pickup_date.as_deref().and_then(DueDate::from_field),
            media_type: r.media_type,
            permanent_location: r.permanent_location,
            current_location: r.current_location,
            owner: r.owner,
            fee_amount: r.fee_amount,
            messages: r.screen_message,
        })
    }

    /// The patron's charged items with their item information (one `63`, then one `17` per
    /// item): what a "my loans" page shows.
    pub async fn loans(&self, card: &str, password: Option<&str>) -> Result<Vec<ItemInfo>, Error> {
        let info = self.patron_information(card, password, Some(SummaryKind::Charged)).await?;
        let mut out = Vec::with_capacity(info.charged_items.len());
        for barcode in &info.charged_items {
            out.push(self.item_information(barcode).await?);
        }
        Ok(out)
    }

    /// Renew (`29`) one item.
    pub async fn renew(&self, card: &str, password: Option<&str>, barcode: &str) -> Result<RenewResult, Error> {
        let cfg = &self.inner.cfg;
        let now = self.now();
        let req = RenewRequest {
            third_party_allowed: false,
            no_block: false,
            transaction_date: now,
            // Strict ACSs (pysip2) refuse a blank no-block due date.
            nb_due_date: now,
            institution_id: cfg.institution_id.clone(),
            patron_identifier: card.to_owned(),
            patron_password: password.map(str::to_owned),
            item_identifier: Some(barcode.to_owned()),
            title_identifier: None,
            terminal_password: self.ac(),
            item_properties: None,
            fee_acknowledged: Some("N".into()),
            extra: Vec::new(),
        };
        let r = expect!(self.call(req.into()).await?, RenewResponse, "29");
        Ok(RenewResult {
            ok: r.ok,
            renewal_ok: r.renewal_ok,
            barcode: r.item_identifier,
            title: r.title_identifier,
            due_date: DueDate::from_field(&r.due_date),
            message: joined(&r.screen_message),
            messages: r.screen_message,
            fee_amount: r.fee_amount,
        })
    }

    /// Renew All (`65`).
    pub async fn renew_all(&self, card: &str, password: Option<&str>) -> Result<RenewAllResult, Error> {
        let cfg = &self.inner.cfg;
        let req = RenewAllRequest {
            transaction_date: self.now(),
            institution_id: cfg.institution_id.clone(),
            patron_identifier: card.to_owned(),
            patron_password: password.map(str::to_owned),
            terminal_password: self.ac(),
            fee_acknowledged: Some("N".into()),
            extra: Vec::new(),
        };
        let r = expect!(self.call(req.into()).await?, RenewAllResponse, "65");
        Ok(RenewAllResult {
            ok: r.ok,
            renewed: r.renewed_items,
            unrenewed: r.unrenewed_items,
            renewed_count: r.renewed_count,
            unrenewed_count: r.unrenewed_count,
            messages: r.screen_message,
        })
    }

    /// Hold (`15`): place, cancel or change.
    pub async fn hold(&self, card: &str, password: Option<&str>, hold: &Hold) -> Result<HoldResult, Error> {
        let cfg = &self.inner.cfg;
        let (item, title) = match &hold.target {
            HoldTarget::Item(b) => (Some(b.clone()), None),
            HoldTarget::Title(t) => (None, Some(t.clone())),
        };
        let req = HoldRequest {
            hold_mode: hold.mode,
            transaction_date: self.now(),
            expiration_date: hold.expires.map(|d| d.as_str().to_owned()),
            pickup_location: hold.pickup_location.clone(),
            hold_type: hold.hold_type.map(|t| t.to_string()),
            institution_id: cfg.institution_id.clone(),
            patron_identifier: card.to_owned(),
            patron_password: password.map(str::to_owned),
            item_identifier: item,
            title_identifier: title,
            terminal_password: self.ac(),
            fee_acknowledged: None,
            extra: Vec::new(),
        };
        let r = expect!(self.call(req.into()).await?, HoldResponse, "15");
        Ok(HoldResult {
            ok: r.ok,
            available: r.available,
            queue_position: number(&r.queue_position),
            pickup_location: r.pickup_location,
            expires: r.expiration_date.as_deref().and_then(DueDate::from_field),
            barcode: r.item_identifier,
            title: r.title_identifier,
            messages: r.screen_message,
        })
    }

    /// End Patron Session (`35`). `true` if the ACS says the session ended.
    pub async fn end_session(&self, card: &str, password: Option<&str>) -> Result<bool, Error> {
        let cfg = &self.inner.cfg;
        let req = EndPatronSessionRequest {
            transaction_date: self.now(),
            institution_id: cfg.institution_id.clone(),
            patron_identifier: card.to_owned(),
            terminal_password: self.ac(),
            patron_password: password.map(str::to_owned),
            extra: Vec::new(),
        };
        let r = expect!(self.call(req.into()).await?, EndSessionResponse, "35");
        Ok(r.end_session)
    }
}
