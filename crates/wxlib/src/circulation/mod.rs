//! Borrowing: one interface to the library system (the built-in one, or any real one over SIP2),
//! binding the campus card on a web page, loans, renewals, holds, the hot list and due-date
//! reminders in chat, the copies' live statuses ([`status`]), and the notices the library
//! system's changes call for ([`notices`], [`shelf_watch`]).
//!
//! wxlib stores only the binding (openid ↔ card number); card passwords go to the library system
//! once, when the reader binds, and are never stored or logged.

pub mod binding;
pub mod builtin;
pub mod chat;
pub mod load;
pub mod notices;
pub mod reminders;
pub mod shelf_watch;
pub mod sip2_ils;
pub mod status;
pub mod store;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// What a library system can do; chat only offers what it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub renew: bool,
    pub renew_all: bool,
    pub hold: bool,
    pub cancel_hold: bool,
    pub fines: bool,
    pub hot_list: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Patron {
    pub card: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loan {
    pub barcode: String,
    pub record_id: Option<String>,
    pub title: String,
    /// Unix seconds.
    pub due_at: i64,
    /// Whether it can be renewed, as far as the library system tells in advance.
    pub renewal: Renewal,
}

/// What is known in advance about renewing a loan. SIP2 2.00 carries no renewal count and no
/// rule, so over SIP2 only a refusal the system's own data shows (another reader's hold) is
/// known; otherwise the renewal's answer says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Renewal {
    /// It can be renewed; renewed this often so far.
    Allowed { renewals: i64 },
    /// It cannot (the reason in the system's or our words).
    Refused(String),
    /// The library system does not say before it is asked to renew.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hold {
    pub id: String,
    pub record_id: Option<String>,
    pub title: String,
    /// `waiting` or `ready` (to pick up).
    pub status: String,
    pub pickup: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub patron: Patron,
    pub loans: Vec<Loan>,
    pub holds: Vec<Hold>,
    pub fines_cents: i64,
    pub blocks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenewOutcome {
    pub barcode: String,
    pub title: String,
    pub ok: bool,
    pub due_at: Option<i64>,
    /// Why it was refused (the library system's words where it gives them).
    pub reason: Option<String>,
}

/// Where a copy is, in the library system's words (SIP2's circulation statuses, folded to what a
/// reader needs to know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyState {
    /// On the shelf: can be borrowed now.
    Available,
    /// Lent (charged, recalled).
    OnLoan,
    /// Waiting on the hold shelf for the reader who reserved it.
    OnHoldShelf,
    /// Returned, not yet back on the shelf.
    Reshelving,
    InTransit,
    /// Being processed (cataloguing, binding, repair) or on order.
    InProcess,
    /// Missing, lost or claimed returned.
    Missing,
    /// Anything else the library system says.
    Other,
    /// Nothing is known: the library system has not answered about it yet.
    Unknown,
}

impl CopyState {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyState::Available => "available",
            CopyState::OnLoan => "on_loan",
            CopyState::OnHoldShelf => "on_hold_shelf",
            CopyState::Reshelving => "reshelving",
            CopyState::InTransit => "in_transit",
            CopyState::InProcess => "in_process",
            CopyState::Missing => "missing",
            CopyState::Other => "other",
            CopyState::Unknown => "unknown",
        }
    }

    /// The state a stored status names (`catalog_items.status`, `copy_status.status`); what is
    /// not one of ours is `Other`.
    pub fn parse(s: &str) -> CopyState {
        match s {
            "available" => CopyState::Available,
            "on_loan" => CopyState::OnLoan,
            "on_hold_shelf" => CopyState::OnHoldShelf,
            "reshelving" => CopyState::Reshelving,
            "in_transit" => CopyState::InTransit,
            "in_process" => CopyState::InProcess,
            "missing" => CopyState::Missing,
            "unknown" => CopyState::Unknown,
            _ => CopyState::Other,
        }
    }

    /// What a reader is shown.
    pub fn label(self, lang: crate::lang::Lang) -> &'static str {
        use crate::lang::Lang::{En, Zh};
        match (lang, self) {
            (Zh, CopyState::Available) => "在架",
            (Zh, CopyState::OnLoan) => "已借出",
            (Zh, CopyState::OnHoldShelf) => "预约保留中",
            (Zh, CopyState::Reshelving) => "归还待上架",
            (Zh, CopyState::InTransit) => "运送中",
            (Zh, CopyState::InProcess) => "加工中",
            (Zh, CopyState::Missing) => "暂不可借",
            (Zh, CopyState::Other) => "不可借",
            (Zh, CopyState::Unknown) => "状态未知",
            (En, CopyState::Available) => "on the shelf",
            (En, CopyState::OnLoan) => "on loan",
            (En, CopyState::OnHoldShelf) => "on the hold shelf",
            (En, CopyState::Reshelving) => "being reshelved",
            (En, CopyState::InTransit) => "in transit",
            (En, CopyState::InProcess) => "in process",
            (En, CopyState::Missing) => "not available",
            (En, CopyState::Other) => "not for loan",
            (En, CopyState::Unknown) => "status unknown",
        }
    }
}

/// One copy's status as the library system gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyStatus {
    pub barcode: String,
    pub state: CopyState,
    /// When a copy on loan is due back (unix seconds), if the system says.
    pub due_at: Option<i64>,
    /// Readers waiting for it, if the system says.
    pub hold_queue: Option<u32>,
}

/// What a reader's holds and loans call for telling them about (the notices poll it): holds
/// ready to pick up, and loans another reader reserved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderCircumstances {
    /// (hold id, title, pickup place).
    pub ready_holds: Vec<(String, String, Option<String>)>,
    /// Loans another reader is waiting for: (barcode, title, due at).
    pub reserved_loans: Vec<(String, String, i64)>,
}

/// A title and how often it was borrowed lately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HotTitle {
    pub record_id: String,
    pub loans: i64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum IlsError {
    /// The library system did not answer (down, slow, connection lost).
    #[error("the library system is not answering: {0}")]
    Unavailable(String),
    /// Wrong card number or password, or an unknown card.
    #[error("card or password not accepted")]
    BadCredentials,
    /// The request was understood and refused.
    #[error("{0}")]
    Refused(String),
    #[error("the library system does not support this")]
    NotSupported,
    /// Our side failed (the store, a task); the cause is kept for the log.
    #[error("internal error: {0}")]
    Internal(Arc<dyn std::error::Error + Send + Sync>),
}

impl IlsError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        IlsError::Internal(Arc::new(e))
    }
}

impl From<crate::db::DbError> for IlsError {
    fn from(e: crate::db::DbError) -> Self {
        IlsError::internal(e)
    }
}

pub type IlsFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, IlsError>> + Send + 'a>>;

/// The one interface wxlib uses to talk to a library system.
pub trait LibrarySystem: Send + Sync {
    fn name(&self) -> &'static str;
    fn capabilities(&self) -> Capabilities;
    /// Checks a card number and password (used once, when binding).
    fn authenticate<'a>(&'a self, card: &'a str, password: &'a str) -> IlsFuture<'a, Patron>;
    /// Loans, holds, fines and blocks of a card.
    fn account<'a>(&'a self, card: &'a str) -> IlsFuture<'a, Account>;
    fn renew<'a>(&'a self, card: &'a str, barcode: &'a str) -> IlsFuture<'a, RenewOutcome>;
    fn renew_all<'a>(&'a self, card: &'a str) -> IlsFuture<'a, Vec<RenewOutcome>>;
    fn place_hold<'a>(&'a self, card: &'a str, record_id: &'a str, pickup: Option<&'a str>) -> IlsFuture<'a, Hold>;
    fn cancel_hold<'a>(&'a self, card: &'a str, hold_id: &'a str) -> IlsFuture<'a, ()>;
    /// The most-borrowed titles since `since` (unix seconds).
    fn hot_titles<'a>(&'a self, since: i64, limit: i64) -> IlsFuture<'a, Vec<HotTitle>>;
    /// Whether copy statuses live elsewhere and must be asked for ([`LibrarySystem::copy_status`],
    /// cached by [`status::CopyStatuses`]); `false` when the system keeps them in wxlib's own
    /// store, where the catalog's counts already are the system's.
    fn remote_status(&self) -> bool;
    /// One copy's status now.
    fn copy_status<'a>(&'a self, barcode: &'a str) -> IlsFuture<'a, CopyStatus>;
    /// What a reader's holds and loans call for telling them about now; every request to a
    /// remote system waits for its turn on `pace`.
    fn circumstances<'a>(&'a self, card: &'a str, pace: &'a Pace) -> IlsFuture<'a, ReaderCircumstances>;
    /// Whether the system answers now, for `/readyz`: a cheap probe (SIP2's SC Status), or at
    /// once when the system is wxlib's own store (the default).
    fn probe(&self) -> IlsFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// Spaces requests to the library system out: at most `per_sec` a second, whoever asks (the
/// notice poller's rounds over many readers).
pub struct Pace {
    gap: std::time::Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pace {
    pub fn per_sec(per_sec: u32) -> Self {
        Self { gap: std::time::Duration::from_secs(1) / per_sec.max(1), next: tokio::sync::Mutex::new(tokio::time::Instant::now()) }
    }

    /// Waits for the next request's turn.
    pub async fn turn(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let at = (*next).max(now);
            *next = at + self.gap;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

pub type Ils = Arc<dyn LibrarySystem>;
