//! A real library system over SIP2 (`circulation.system = "sip2"`), on the `sip2` crate's async
//! client: login (`93`) on every new connection, a small pool (`circulation.sip2.pool_size`),
//! per-request timeouts (`circulation.sip2.timeout_ms`), resend on `96`, and a circuit breaker.
//!
//! How wxlib's operations map to SIP2:
//!
//! | wxlib | SIP2 |
//! |---|---|
//! | `authenticate` | Patron Status `23` with the password (`AD`); `BL`/`CQ` ≠ `Y` → bad credentials |
//! | `account` | Patron Information `63` asking for charged items (`AU`), then for hold items (`AS`) and unavailable holds (`CD`) when their counts say there are any, then Item Information `17` for each barcode (due date `AH`, title, hold queue), in parallel over the pool |
//! | `renew` | Renew `29`; the screen messages (`AF`) are the reason when refused |
//! | `renew_all` | Renew All `65`; renewed (`BM`) and not renewed (`BN`) items, each refusal's reason from the `AF` messages that name its barcode; then `17` for titles and due dates |
//! | `place_hold` | Hold `15` mode `+` on a copy of the record: the record's first barcode in wxlib's `catalog_items`, hold type 2 (any copy of the title) |
//! | `cancel_hold` | Hold `15` mode `-` on the hold's item |
//! | `hot_titles` | not supported: SIP2 has no loan history |
//!
//! Titles come from wxlib's catalog when the barcode is in `catalog_items` (so they read the same
//! as in search results), else from the library system's `AJ`.
//!
//! **Patron passwords.** wxlib never stores a reader's password, so only `authenticate` (at
//! binding) sends one; every later call goes without `AD` and relies on the trust the library
//! system gives the SIP2 login (`circulation.sip2.login_user`), as Koha, Evergreen, FOLIO and most
//! Chinese systems do for a self-service account. A library system that insists on the patron
//! password for `63`/`29`/`65`/`15` answers those with a refusal ("invalid password"), which the
//! reader sees as the library system's words; such a system cannot be bridged without storing
//! passwords, which wxlib does not do.
//!
//! **Slowness and failures.** Read-only requests (`63`, `17`) that time out are tried again on a
//! fresh connection, up to three attempts, so a library system that stalls for a moment still
//! answers (chat tells the reader after `circulation.ils_timeout_ms` that the answer will follow as
//! a message, and it does). State-changing requests (`29`, `65`, `15`) are never repeated: if one
//! times out the reader is told its outcome is unknown and how to check. Timeouts, refused or lost
//! connections and the open breaker are [`IlsError::Unavailable`]. The breaker opens after 5
//! consecutive failures and stays open for 5 × `timeout_ms` (between 2 and 30 s), then lets one
//! probe through.

use std::future::Future;
use std::time::{Duration, Instant};

use futures::future::join_all;
use sip2::client::{Hold as SipHold, HoldTarget, ItemInfo};
use sip2::codec::{CirculationStatus, PatronFlag, SummaryKind, Timestamp};
use sip2::{Charset, Client, ClientConfig, Error as SipError};

use super::{
    Account, Capabilities, CopyState, CopyStatus, Hold, HotTitle, IlsError, IlsFuture, LibrarySystem, Loan, Pace, Patron,
    ReaderCircumstances, RenewOutcome, Renewal,
};
use crate::clock::{CST_OFFSET_SECS, DAY_SECS};
use crate::config::Sip2Config;
use crate::db::Db;

/// China Standard Time, the zone SIP2 dates with a blank zone are read in.
/// Attempts for a read-only request that timed out.
const READ_ATTEMPTS: u32 = 3;
/// Consecutive failures that open the circuit breaker.
const BREAKER_THRESHOLD: u32 = 5;
/// Shown when a SIP2 charged item has no usable due date (`9999-12-31`): never "overdue", never
/// reminded about.
const NO_DUE_DATE: i64 = 253_402_214_400;

pub struct Sip2Ils {
    client: Client,
    db: Db,
}

/// What wxlib's catalog knows about a barcode.
#[derive(Debug, Clone, Default)]
struct Known {
    record_id: Option<String>,
    title: Option<String>,
}

impl Sip2Ils {
    pub fn new(cfg: &Sip2Config, db: Db) -> Self {
        Self { client: Client::new(client_config(cfg)), db }
    }

    /// The SIP2 client (its breaker state, for diagnostics and tests).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A read-only request: tried again after a timeout (fresh connection), and briefly waited
    /// for while the breaker's half-open probe is in flight.
    async fn read<T, F, Fut>(&self, what: &'static str, f: F) -> Result<T, IlsError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SipError>>,
    {
        let started = Instant::now();
        let budget = self.client.config().call_timeout;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match f().await {
                Ok(v) => return Ok(v),
                Err(SipError::Timeout(_) | SipError::Deadline(_)) if attempt < READ_ATTEMPTS => {
                    tracing::info!(request = what, attempt, "SIP2 request timed out; trying again on a fresh connection");
                }
                Err(SipError::CircuitOpen { retry_in }) if retry_in.is_zero() && started.elapsed() < budget => {
                    // Another request is probing the half-open breaker: its outcome decides ours.
                    attempt -= 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(read_error(what, e)),
            }
        }
    }

    async fn patron(&self, card: &str, summary: SummaryKind) -> Result<sip2::client::PatronInfo, IlsError> {
        self.read("patron information", || self.client.patron_information(card, None, Some(summary))).await
    }

    async fn item(&self, barcode: &str) -> Result<ItemInfo, IlsError> {
        self.read("item information", || self.client.item_information(barcode)).await
    }

    async fn known(&self, barcode: &str) -> Result<Known, IlsError> {
        let row = self.db.item_record_and_title(barcode).await?;
        Ok(row
            .map(|(record_id, title)| Known { record_id: Some(record_id), title: title.filter(|t| !t.trim().is_empty()) })
            .unwrap_or_default())
    }

    /// wxlib's catalog entry of each barcode, then the library system's item information for
    /// each, in parallel (the pool bounds how many at once).
    async fn describe(&self, barcodes: &[String]) -> Result<Vec<(Known, ItemInfo)>, IlsError> {
        let mut known = Vec::with_capacity(barcodes.len());
        for b in barcodes {
            known.push(self.known(b).await?);
        }
        let infos = join_all(barcodes.iter().map(|b| self.item(b))).await;
        known.into_iter().zip(infos).map(|(k, i)| i.map(|i| (k, i))).collect()
    }

    async fn record_title(&self, record_id: &str) -> Result<Option<String>, IlsError> {
        Ok(self.db.record_title(record_id).await?.filter(|t| !t.trim().is_empty()))
    }

    async fn record_barcodes(&self, record_id: &str) -> Result<Vec<String>, IlsError> {
        Ok(self.db.item_barcodes(record_id).await?)
    }

    /// Title of a barcode for a renewal answer: wxlib's catalog, else the ACS's, else the barcode.
    async fn title_of(&self, barcode: &str, acs_title: &str) -> Result<String, IlsError> {
        Ok(self.known(barcode).await?.title.or_else(|| non_empty(acs_title)).unwrap_or_else(|| barcode.to_owned()))
    }
}

pub fn client_config(cfg: &Sip2Config) -> ClientConfig {
    let t = Duration::from_millis(cfg.timeout_ms.max(1));
    let mut c = ClientConfig::new(cfg.address.clone(), cfg.institution.clone());
    c.charset = if cfg.charset.eq_ignore_ascii_case("gbk") { Charset::Gbk } else { Charset::Utf8 };
    if !cfg.login_user.is_empty() {
        let location = non_empty(&cfg.location);
        c = c.with_login(cfg.login_user.clone(), cfg.login_password.clone(), location);
    }
    c.connect_timeout = t;
    c.request_timeout = t;
    // Connect, login and one exchange.
    c.call_timeout = t * 3;
    c.pool_size = cfg.pool_size.max(1);
    c.breaker_threshold = BREAKER_THRESHOLD;
    c.breaker_open_for = (t * 5).clamp(Duration::from_secs(2), Duration::from_secs(30));
    c
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn log_breaker(what: &str, e: &SipError) {
    if let SipError::CircuitOpen { retry_in } = e {
        tracing::info!(
            request = what,
            retry_in_ms = retry_in.as_millis() as u64,
            "SIP2 circuit breaker is open: library system not called"
        );
    }
}

/// A request that could not be written (a field SIP2 cannot carry).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode the SIP2 {what} request: {source}")]
struct EncodeFailed {
    what: String,
    source: sip2::EncodeError,
}

/// A read that failed: the library system is not answering (or answering nonsense).
fn read_error(what: &str, e: SipError) -> IlsError {
    log_breaker(what, &e);
    match e {
        SipError::Encode(e) => IlsError::internal(EncodeFailed { what: what.to_owned(), source: e }),
        other => IlsError::Unavailable(other.to_string()),
    }
}

/// A state-changing request that failed. If it may have reached the library system (sent, then
/// no answer), its outcome is unknown: say so instead of "try again", which could repeat it.
fn write_error(what: &str, e: SipError, check: &str) -> IlsError {
    log_breaker(what, &e);
    match e {
        SipError::Timeout(_) | SipError::Deadline(_) | SipError::Closed | SipError::Io(_) => {
            tracing::warn!(request = what, error = %e, "SIP2 request may or may not have been carried out");
            IlsError::Refused(format!("图书馆系统没有及时答复，无法确认{what}是否成功。请稍后回复“{check}”查看。"))
        }
        SipError::Encode(e) => IlsError::internal(EncodeFailed { what: what.to_owned(), source: e }),
        other => IlsError::Unavailable(other.to_string()),
    }
}

/// A SIP2 date as unix seconds: `AH` as the ACS wrote it; blank zone = China Standard Time,
/// `   Z` = UTC; a date without a time is due at the end of that day.
pub fn due_unix(raw: &str, parsed: Option<Timestamp>) -> Option<i64> {
    let ts = parsed?;
    let utc = raw.len() >= 12 && raw.get(8..12).is_some_and(|z| z.trim() == "Z");
    let (h, m, s) = ts.time.unwrap_or((23, 59, 59));
    let local = ts.days_since_epoch() * DAY_SECS + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
    Some(if utc { local } else { local - CST_OFFSET_SECS })
}

/// A copy's status from its Item Information.
pub fn copy_status(barcode: &str, i: &ItemInfo) -> CopyStatus {
    use CirculationStatus as C;
    let state = match i.circulation_status {
        C::Available => CopyState::Available,
        C::Charged | C::ChargedNotToBeRecalled | C::Recalled => CopyState::OnLoan,
        C::WaitingOnHoldShelf => CopyState::OnHoldShelf,
        C::WaitingToBeReshelved => CopyState::Reshelving,
        C::InTransit => CopyState::InTransit,
        C::InProcess | C::OnOrder => CopyState::InProcess,
        C::ClaimedReturned | C::Lost | C::Missing => CopyState::Missing,
        C::Other | C::Unknown(_) => CopyState::Other,
    };
    let due_at = if state == CopyState::OnLoan { item_due(i) } else { None };
    CopyStatus { barcode: barcode.to_owned(), state, due_at, hold_queue: i.hold_queue_length }
}

fn item_due(i: &ItemInfo) -> Option<i64> {
    i.due_date.as_ref().and_then(|d| due_unix(&d.raw, d.parsed))
}

/// `BV` ("12.50", "CNY 12.50", "-3.00") as cents owed; credits and nonsense count as 0.
pub fn fee_cents(s: Option<&str>) -> i64 {
    let Some(s) = s else { return 0 };
    let t: String = s.chars().filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-').collect();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
    let Ok(int) = int.parse::<i64>().or_else(|e| if int.is_empty() { Ok(0) } else { Err(e) }) else { return 0 };
    let frac: String = frac.chars().chain("00".chars()).take(2).collect();
    let cents = int.saturating_mul(100).saturating_add(frac.parse::<i64>().unwrap_or(0));
    if neg { 0 } else { cents }
}

fn block_text(f: PatronFlag) -> &'static str {
    match f {
        PatronFlag::ChargePrivilegesDenied => "借书权限已暂停",
        PatronFlag::RenewalPrivilegesDenied => "续借权限已暂停",
        PatronFlag::RecallPrivilegesDenied => "召回权限已暂停",
        PatronFlag::HoldPrivilegesDenied => "预约权限已暂停",
        PatronFlag::CardReportedLost => "卡已挂失",
        PatronFlag::TooManyItemsCharged => "在借图书已达上限",
        PatronFlag::TooManyItemsOverdue => "超期图书过多",
        PatronFlag::TooManyRenewals => "续借次数过多",
        PatronFlag::TooManyClaimsOfItemsReturned => "声称已还的图书过多",
        PatronFlag::TooManyItemsLost => "丢失图书过多",
        PatronFlag::ExcessiveOutstandingFines => "欠款过多",
        PatronFlag::ExcessiveOutstandingFees => "欠费过多",
        PatronFlag::RecallOverdue => "召回图书已超期",
        PatronFlag::TooManyItemsBilled => "待赔偿图书过多",
    }
}

fn joined(messages: &[String]) -> Option<String> {
    let s = messages.iter().map(|m| m.trim()).filter(|m| !m.is_empty()).collect::<Vec<_>>().join(" ");
    (!s.is_empty()).then_some(s)
}

/// The reason one item of a Renew All was refused, from wherever the library system put it:
/// the `AF` messages that name its barcode (without the barcode); else what its Item Information
/// after the attempt says (its own `AF` messages, another reader's hold, an overdue due date);
/// else the `AF` messages that name no item (a summary, which then speaks for each refused
/// item); else that the system did not agree.
pub fn renew_all_reason(barcode: &str, messages: &[String], items: &[String], info: Option<&ItemInfo>, now: i64) -> String {
    let mine: Vec<String> = messages
        .iter()
        .filter(|m| m.contains(barcode))
        .map(|m| {
            let rest = m.trim().strip_prefix(barcode).unwrap_or(m.trim());
            rest.trim_start_matches([':', '：', ' ', '-', ',', '，']).trim().to_owned()
        })
        .filter(|m| !m.is_empty())
        .collect();
    if !mine.is_empty() {
        return mine.join(" ");
    }
    if let Some(i) = info {
        if let Some(own) = joined(&i.messages) {
            return own;
        }
        if i.hold_queue_length.is_some_and(|n| n > 0) {
            return "有其他读者预约，不能续借".into();
        }
    }
    let summary: Vec<String> = messages.iter().filter(|m| !items.iter().any(|b| m.contains(b.as_str()))).cloned().collect();
    if let Some(all) = joined(&summary) {
        return all;
    }
    if info.and_then(item_due).is_some_and(|due| due < now) {
        return "已超期，图书馆系统未同意续借".into();
    }
    "图书馆系统未同意续借".into()
}

impl LibrarySystem for Sip2Ils {
    fn name(&self) -> &'static str {
        "sip2"
    }

    /// The open breaker says so without calling; else SC Status (`99`), which counts for the
    /// breaker like any request.
    fn probe(&self) -> IlsFuture<'_, ()> {
        Box::pin(async move {
            if let sip2::client::BreakerState::Open { remaining } = self.client.breaker_state() {
                return Err(IlsError::Unavailable(format!(
                    "circuit breaker open after repeated failures (next try in {} s)",
                    remaining.as_secs().max(1)
                )));
            }
            self.client.sc_status().await.map(|_| ()).map_err(|e| read_error("SC status", e))
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { renew: true, renew_all: true, hold: true, cancel_hold: true, fines: true, hot_list: false }
    }

    fn authenticate<'a>(&'a self, card: &'a str, password: &'a str) -> IlsFuture<'a, Patron> {
        Box::pin(async move {
            // Carries the password: never retried, never logged.
            let auth = match self.client.authenticate(card, password).await {
                Ok(a) => a,
                Err(e) => return Err(read_error("patron status", e)),
            };
            if !auth.ok() {
                return Err(IlsError::BadCredentials);
            }
            let name = non_empty(&auth.name).unwrap_or_else(|| card.to_owned());
            Ok(Patron { card: card.to_owned(), name })
        })
    }

    fn account<'a>(&'a self, card: &'a str) -> IlsFuture<'a, Account> {
        Box::pin(async move {
            // One request first (it may be the breaker's half-open probe), then the rest in parallel.
            let info = self.patron(card, SummaryKind::Charged).await?;
            if info.valid_patron == Some(false) {
                return Err(IlsError::Refused(format!("图书馆系统中没有卡号 {card} 的读者，请解绑后重新绑定。")));
            }
            let want_holds = info.hold_count.is_none_or(|n| n > 0);
            let want_unavailable = info.unavailable_hold_count.is_some_and(|n| n > 0);
            let (holds, unavailable, loans) = futures::join!(
                async { if want_holds { self.patron(card, SummaryKind::Hold).await.map(|p| p.hold_items) } else { Ok(Vec::new()) } },
                async {
                    if want_unavailable {
                        self.patron(card, SummaryKind::UnavailableHold).await.map(|p| p.unavailable_hold_items)
                    } else {
                        Ok(Vec::new())
                    }
                },
                self.describe(&info.charged_items),
            );
            let (hold_items, unavailable, loans) = (holds?, unavailable?, loans?);
            let mut hold_ids: Vec<String> = hold_items;
            for u in &unavailable {
                if !hold_ids.contains(u) {
                    hold_ids.push(u.clone());
                }
            }
            let held = self.describe(&hold_ids).await?;

            let mut out_loans: Vec<Loan> = loans
                .into_iter()
                .zip(&info.charged_items)
                .map(|((k, i), barcode)| {
                    let due = item_due(&i);
                    // SIP2 2.00 says nothing of renewal counts or limits, and an overdue loan may
                    // or may not be renewable: only what the item's own data shows is said.
                    let renewal = match (due, i.hold_queue_length) {
                        (None, _) => Renewal::Refused("图书馆系统未提供应还日期".to_owned()),
                        (_, Some(n)) if n > 0 => Renewal::Refused("有其他读者预约，可能不能续借".to_owned()),
                        _ => Renewal::Unknown,
                    };
                    Loan {
                        barcode: barcode.clone(),
                        record_id: k.record_id,
                        title: k.title.or_else(|| non_empty(&i.title)).unwrap_or_else(|| barcode.clone()),
                        due_at: due.unwrap_or(NO_DUE_DATE),
                        renewal,
                    }
                })
                .collect();
            out_loans.sort_by(|a, b| (a.due_at, &a.barcode).cmp(&(b.due_at, &b.barcode)));

            let out_holds = held
                .into_iter()
                .zip(&hold_ids)
                .map(|((k, i), id)| {
                    let found = !i.title.trim().is_empty() || k.record_id.is_some();
                    let ready = !unavailable.contains(id) && i.circulation_status == CirculationStatus::WaitingOnHoldShelf;
                    Hold {
                        id: id.clone(),
                        record_id: k.record_id,
                        title: k.title.or_else(|| non_empty(&i.title)).unwrap_or_else(|| id.clone()),
                        status: if ready && found { "ready" } else { "waiting" }.into(),
                        pickup: None,
                    }
                })
                .collect();

            let mut blocks: Vec<String> = info.blocks().into_iter().map(|f| block_text(f).to_owned()).collect();
            if !blocks.is_empty() {
                blocks.extend(info.messages.iter().filter_map(|m| non_empty(m)));
            }
            Ok(Account {
                patron: Patron { card: card.to_owned(), name: non_empty(&info.name).unwrap_or_else(|| card.to_owned()) },
                loans: out_loans,
                holds: out_holds,
                fines_cents: fee_cents(info.fee_amount.as_deref()),
                blocks,
            })
        })
    }

    fn renew<'a>(&'a self, card: &'a str, barcode: &'a str) -> IlsFuture<'a, RenewOutcome> {
        Box::pin(async move {
            let r = self.client.renew(card, None, barcode).await.map_err(|e| write_error("续借", e, "借阅"))?;
            let title = self.title_of(barcode, &r.title).await?;
            if !r.ok {
                let due_at = r.due_date.as_ref().and_then(|d| due_unix(&d.raw, d.parsed));
                return Ok(RenewOutcome {
                    barcode: barcode.to_owned(),
                    title,
                    ok: false,
                    due_at,
                    reason: Some(r.message.unwrap_or_else(|| "图书馆系统未同意续借".into())),
                });
            }
            let mut due_at = r.due_date.as_ref().and_then(|d| due_unix(&d.raw, d.parsed));
            if due_at.is_none() {
                // Renewed, but the answer has no readable due date: ask for it (best effort).
                due_at = self.item(barcode).await.ok().as_ref().and_then(item_due);
            }
            Ok(RenewOutcome { barcode: barcode.to_owned(), title, ok: true, due_at, reason: None })
        })
    }

    fn renew_all<'a>(&'a self, card: &'a str) -> IlsFuture<'a, Vec<RenewOutcome>> {
        Box::pin(async move {
            let r = self.client.renew_all(card, None).await.map_err(|e| write_error("续借", e, "借阅"))?;
            if r.renewed.is_empty() && r.unrenewed.is_empty() {
                if !r.ok {
                    return Err(IlsError::Refused(joined(&r.messages).unwrap_or_else(|| "图书馆系统未能办理续借".into())));
                }
                if r.renewed_count > 0 || r.unrenewed_count > 0 {
                    // Counts without the item lists: say what is known.
                    return Err(IlsError::Refused(format!(
                        "续借结果：成功 {} 册，未成功 {} 册。{}回复“借阅”查看应还日期。",
                        r.renewed_count,
                        r.unrenewed_count,
                        joined(&r.messages).map(|m| format!("{m}。")).unwrap_or_default()
                    )));
                }
                return Ok(Vec::new());
            }
            let all: Vec<String> = r.renewed.iter().chain(&r.unrenewed).cloned().collect();
            // Titles and due dates; the renewals are done, so a failure here only loses details.
            let infos = join_all(all.iter().map(|b| self.item(b))).await;
            let mut out = Vec::with_capacity(all.len());
            let now = crate::clock::unix_now();
            for (n, (barcode, info)) in all.iter().zip(infos).enumerate() {
                let info = info.ok();
                let ok = n < r.renewed.len();
                let title = self.title_of(barcode, info.as_ref().map(|i| i.title.as_str()).unwrap_or("")).await?;
                let due_at = info.as_ref().and_then(item_due);
                let reason = (!ok).then(|| renew_all_reason(barcode, &r.messages, &all, info.as_ref(), now));
                out.push(RenewOutcome { barcode: barcode.clone(), title, ok, due_at, reason });
            }
            Ok(out)
        })
    }

    fn place_hold<'a>(&'a self, card: &'a str, record_id: &'a str, pickup: Option<&'a str>) -> IlsFuture<'a, Hold> {
        Box::pin(async move {
            let Some(barcode) = self.record_barcodes(record_id).await?.into_iter().next() else {
                return Err(IlsError::Refused("本馆没有这本书的馆藏，可以荐购".into()));
            };
            let mut h = SipHold::place(HoldTarget::Item(barcode.clone()));
            h.hold_type = Some(2); // any copy of the title
            if let Some(p) = pickup {
                h = h.at(p);
            }
            let r = self.client.hold(card, None, &h).await.map_err(|e| write_error("预约", e, "我的预约"))?;
            if !r.ok {
                return Err(IlsError::Refused(joined(&r.messages).unwrap_or_else(|| "图书馆系统未接受这条预约".into())));
            }
            let title = match self.record_title(record_id).await? {
                Some(t) => t,
                None => r.title.as_deref().and_then(non_empty).unwrap_or_else(|| barcode.clone()),
            };
            Ok(Hold {
                id: r.barcode.as_deref().and_then(non_empty).unwrap_or(barcode),
                record_id: Some(record_id.to_owned()),
                title,
                status: "waiting".into(),
                pickup: r.pickup_location.or(pickup.map(str::to_owned)),
            })
        })
    }

    fn cancel_hold<'a>(&'a self, card: &'a str, hold_id: &'a str) -> IlsFuture<'a, ()> {
        Box::pin(async move {
            let h = SipHold::cancel(HoldTarget::Item(hold_id.to_owned()));
            let r = self.client.hold(card, None, &h).await.map_err(|e| write_error("取消预约", e, "我的预约"))?;
            if r.ok {
                Ok(())
            } else {
                Err(IlsError::Refused(joined(&r.messages).unwrap_or_else(|| "图书馆系统未能取消这条预约".into())))
            }
        })
    }

    fn hot_titles<'a>(&'a self, _since: i64, _limit: i64) -> IlsFuture<'a, Vec<HotTitle>> {
        Box::pin(async { Err(IlsError::NotSupported) })
    }

    fn remote_status(&self) -> bool {
        true
    }

    fn copy_status<'a>(&'a self, barcode: &'a str) -> IlsFuture<'a, CopyStatus> {
        Box::pin(async move {
            // One attempt: a status is asked again soon enough, and a stalled system must not
            // hold the pool for a page's worth of copies.
            let i = self.client.item_information(barcode).await.map_err(|e| read_error("item information", e))?;
            Ok(copy_status(barcode, &i))
        })
    }

    fn circumstances<'a>(&'a self, card: &'a str, pace: &'a Pace) -> IlsFuture<'a, ReaderCircumstances> {
        Box::pin(async move {
            pace.turn().await;
            let info = self.patron(card, SummaryKind::Charged).await?;
            let mut out = ReaderCircumstances::default();
            if info.hold_count.is_none_or(|n| n > 0) {
                pace.turn().await;
                let holds = self.patron(card, SummaryKind::Hold).await?;
                for id in &holds.hold_items {
                    if info.unavailable_hold_items.contains(id) {
                        continue;
                    }
                    pace.turn().await;
                    let i = self.item(id).await?;
                    if i.circulation_status == CirculationStatus::WaitingOnHoldShelf {
                        let title = self.title_of(id, &i.title).await?;
                        out.ready_holds.push((id.clone(), title, i.current_location.as_deref().and_then(non_empty)));
                    }
                }
            }
            for barcode in &info.charged_items {
                pace.turn().await;
                let i = self.item(barcode).await?;
                if i.hold_queue_length.is_some_and(|n| n > 0) {
                    let title = self.title_of(barcode, &i.title).await?;
                    out.reserved_loans.push((barcode.clone(), title, item_due(&i).unwrap_or(NO_DUE_DATE)));
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip2::codec::parse_due_date;

    #[test]
    fn due_dates_in_china_standard_time() {
        let raw = "20260110    235900";
        let t = due_unix(raw, parse_due_date(raw)).unwrap();
        assert_eq!(crate::clock::local_day(t), "2026-01-10");
        assert_eq!((t + CST_OFFSET_SECS) % DAY_SECS, 23 * 3600 + 59 * 60);
        let utc = "20260110   Z155900";
        assert_eq!(due_unix(utc, parse_due_date(utc)), Some(t));
        let bare = "2026-01-10";
        assert_eq!(crate::clock::local_day(due_unix(bare, parse_due_date(bare)).unwrap()), "2026-01-10");
        assert_eq!(due_unix("soon", parse_due_date("soon")), None);
    }

    #[test]
    fn fees() {
        assert_eq!(fee_cents(Some("12.50")), 1250);
        assert_eq!(fee_cents(Some("CNY 3.5")), 350);
        assert_eq!(fee_cents(Some("7")), 700);
        assert_eq!(fee_cents(Some("-2.00")), 0);
        assert_eq!(fee_cents(Some("")), 0);
        assert_eq!(fee_cents(None), 0);
    }

    fn info(messages: &[&str], hold_queue: Option<u32>, due: Option<&str>) -> ItemInfo {
        ItemInfo {
            barcode: "B001".into(),
            title: String::new(),
            circulation_status: CirculationStatus::Charged,
            due_date: due.map(|d| sip2::client::DueDate { raw: d.into(), parsed: parse_due_date(d) }),
            hold_queue_length: hold_queue,
            recall_date: None,
            hold_pickup_date: None,
            media_type: None,
            permanent_location: None,
            current_location: None,
            owner: None,
            fee_amount: None,
            messages: messages.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    #[test]
    fn renew_all_reasons() {
        let now = 1_800_000_000;
        let msgs = vec!["B001: 续借次数已达上限".to_owned(), "B004：该书已被其他读者预约".to_owned()];
        let items = vec!["B001".to_owned(), "B003".to_owned(), "B004".to_owned()];
        assert_eq!(renew_all_reason("B001", &msgs, &items, None, now), "续借次数已达上限");
        assert_eq!(renew_all_reason("B004", &msgs, &items, None, now), "该书已被其他读者预约");
        assert_eq!(renew_all_reason("B003", &msgs, &items, None, now), "图书馆系统未同意续借");
        // The AF summary, naming no item, speaks for each refused one.
        let summary = vec!["2 items not renewed: renewal limit reached".to_owned()];
        assert_eq!(renew_all_reason("B003", &summary, &items, None, now), "2 items not renewed: renewal limit reached");
        // Item information after the attempt: its own messages, then its hold queue, then its due date.
        let after = info(&["Item has holds"], Some(1), None);
        assert_eq!(renew_all_reason("B003", &[], &items, Some(&after), now), "Item has holds");
        let held = info(&[], Some(1), None);
        assert_eq!(renew_all_reason("B003", &summary, &items, Some(&held), now), "有其他读者预约，不能续借");
        let overdue = info(&[], Some(0), Some("20200101    235900"));
        assert_eq!(renew_all_reason("B003", &[], &items, Some(&overdue), now), "已超期，图书馆系统未同意续借");
        assert_eq!(renew_all_reason("B003", &[], &items, Some(&info(&[], Some(0), None)), now), "图书馆系统未同意续借");
    }

    #[test]
    fn client_settings_follow_the_config() {
        let cfg = Sip2Config {
            address: "127.0.0.1:6001".into(),
            login_user: "sc".into(),
            login_password: "pw".into(),
            institution: "UNIV".into(),
            location: "MAIN".into(),
            charset: "gbk".into(),
            timeout_ms: 1000,
            pool_size: 3,
        };
        let c = client_config(&cfg);
        assert_eq!(c.charset, Charset::Gbk);
        assert_eq!(c.request_timeout, Duration::from_secs(1));
        assert_eq!(c.pool_size, 3);
        assert_eq!(c.breaker_open_for, Duration::from_secs(5));
        assert_eq!(c.login.as_ref().map(|l| l.location_code.clone()), Some(Some("MAIN".into())));
        let c = client_config(&Sip2Config { login_user: String::new(), timeout_ms: 20_000, ..cfg });
        assert!(c.login.is_none());
        assert_eq!(c.breaker_open_for, Duration::from_secs(30));
    }
}
