//! Borrowing: one interface to the library system (the built-in one, or any real one over SIP2),
//! binding the campus card on a web page, loans, renewals, holds, the hot list and due-date
//! reminders in chat.
//!
//! wxlib stores only the binding (openid ↔ card number); card passwords go to the library system
//! once, when the reader binds, and are never stored or logged.

pub mod binding;
pub mod builtin;
pub mod chat;
pub mod load;
pub mod reminders;
pub mod sip2_ils;
pub mod store;

use std::sync::Arc;

use serde::Serialize;

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
    pub renewals: i64,
    /// Why it cannot be renewed now, if the system can tell in advance.
    pub not_renewable: Option<String>,
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
}

pub type Ils = Arc<dyn LibrarySystem>;
