//! Partner libraries, both ways over SRU (search/retrieve over HTTP with CQL queries, the way
//! Zebra, Koha, Evergreen, FOLIO and union catalogs open their catalogs to each other):
//!
//! * [`sru_server`]: `/sru` answers explain and searchRetrieve (SRU 1.2 and 2.0) over our
//!   catalog, ranked by our own search ([`cql_map`] maps CQL onto it), records as MARCXML or
//!   Dublin Core, with the standard's diagnostics;
//! * [`sru_client`] and [`federated`]: a reader's search also asks every partner in parallel,
//!   each within its own timeout, and merges the answers labelled by library (ours first); a
//!   partner that is down, slow or sends garbage is named and skipped, never breaks the answer;
//! * [`chat`] (zero local hits, or "其他馆") and [`web`] (a tab per library on `/opac/search`).
//!
//! The partner list lives in the `partners` table, seeded from `partners.seed_file`, managed with
//! `wxlib partners` and in the console ([`console`], `/console/partners`).

pub mod chat;
pub mod console;
pub mod cql_map;
pub mod federated;
pub mod sru_client;
pub mod sru_server;
pub mod store;
pub mod web;

use serde::{Deserialize, Serialize};

use crate::db::{Db, DbError};

/// The CQL indexes a partner may support, in the order they are offered in forms.
pub const KNOWN_INDEXES: &[&str] = &["dc.title", "dc.creator", "dc.subject", "cql.anywhere", "cql.serverChoice", "bath.isbn", "dc.date"];

#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("cannot read the partner file {path}: {source}")]
    SeedFile { path: String, source: std::io::Error },
    #[error("the partner file {path} is not a list of partners: {source}")]
    SeedJson { path: String, source: serde_json::Error },
    #[error("the partner file {path}: partner {name:?}: {source}")]
    SeedPartner { path: String, name: String, source: Box<PartnerError> },
}

/// A partner library as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    #[serde(default)]
    pub id: i64,
    /// The library's name as readers see it ("厦门大学图书馆").
    pub name: String,
    /// The SRU endpoint, e.g. `http://sru.example.edu/sru` or Zebra's `http://host:210`.
    pub base_url: String,
    /// Appended to the base URL as a path segment when not empty (Zebra's `Default`).
    #[serde(default)]
    pub database: String,
    /// CQL indexes it supports (from its explain); searches on others fall back to
    /// `cql.anywhere`/`cql.serverChoice`, or skip this partner.
    pub indexes: Vec<String>,
    /// `marcxml` or `dc`.
    #[serde(default = "default_schema")]
    pub record_schema: String,
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_schema() -> String {
    "marcxml".into()
}
fn default_timeout() -> u64 {
    2000
}
fn default_true() -> bool {
    true
}

impl Partner {
    /// The URL searchRetrieve requests go to.
    pub fn endpoint(&self) -> String {
        let base = self.base_url.trim_end_matches('/');
        if self.database.is_empty() { base.to_owned() } else { format!("{base}/{}", self.database.trim_matches('/')) }
    }

    /// Checks what a librarian (or a seed file) typed; `max_timeout_ms` is `partners.max_timeout_ms`.
    pub fn validate(&self, max_timeout_ms: u64) -> Result<(), PartnerError> {
        let invalid = |field, reason: &str| Err(PartnerError::Invalid { field, reason: reason.to_owned() });
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return invalid("name", "is required, at most 60 characters");
        }
        let url = self.base_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 500 || url.chars().any(|c| c.is_whitespace()) {
            return invalid("base_url", "must be an http:// or https:// URL without spaces");
        }
        if reqwest::Url::parse(url).is_err() {
            return invalid("base_url", "is not a valid URL");
        }
        if self.database.len() > 100 || !self.database.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return invalid("database", "may only hold letters, digits, '-', '_' and '.'");
        }
        if self.indexes.is_empty() {
            return invalid("indexes", "choose at least one index the partner supports");
        }
        if let Some(bad) = self.indexes.iter().find(|i| !KNOWN_INDEXES.contains(&i.as_str())) {
            return Err(PartnerError::Invalid {
                field: "indexes",
                reason: format!("unknown index {bad:?}; known: {}", KNOWN_INDEXES.join(", ")),
            });
        }
        if !matches!(self.record_schema.as_str(), "marcxml" | "dc") {
            return invalid("record_schema", "must be marcxml or dc");
        }
        if !(100..=max_timeout_ms).contains(&self.timeout_ms) {
            return Err(PartnerError::Invalid {
                field: "timeout_ms",
                reason: format!("must be between 100 and {max_timeout_ms} (partners.max_timeout_ms)"),
            });
        }
        Ok(())
    }
}

/// Reads a JSON list of partners (the `partners.seed_file` format), validating each.
pub fn read_seed_file(path: &str, max_timeout_ms: u64) -> Result<Vec<Partner>, PartnerError> {
    let text = std::fs::read_to_string(path).map_err(|source| PartnerError::SeedFile { path: path.to_owned(), source })?;
    let list: Vec<Partner> = serde_json::from_str(&text).map_err(|source| PartnerError::SeedJson { path: path.to_owned(), source })?;
    for p in &list {
        p.validate(max_timeout_ms).map_err(|e| PartnerError::SeedPartner {
            path: path.to_owned(),
            name: p.name.clone(),
            source: Box::new(e),
        })?;
    }
    Ok(list)
}

/// Adds or updates the partners of `partners.seed_file` (startup). Returns how many.
pub async fn seed(db: &Db, config: &crate::config::Config) -> Result<usize, PartnerError> {
    let path = &config.partners.seed_file;
    if path.is_empty() {
        return Ok(0);
    }
    let list = read_seed_file(path, config.partners.max_timeout_ms)?;
    for p in &list {
        db.upsert_partner(p).await?;
    }
    Ok(list.len())
}
