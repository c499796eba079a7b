//! Federated search: a reader's search (a text and a field, as in chat and on the web) asked of
//! every enabled partner at once, each within its own timeout (never more than
//! `partners.max_timeout_ms`), the answers kept in the librarians' order of partners. The
//! library's own results come first; callers search the local catalog themselves.

use std::time::Instant;

use futures::future::join_all;
use serde::Serialize;

use super::Partner;
use super::sru_client::{self, RemoteResults, SruError};
use crate::catalog::SearchField;
use crate::services::Services;

/// What one partner answered.
#[derive(Debug, Clone, Serialize)]
pub struct PartnerAnswer {
    pub partner_id: i64,
    pub name: String,
    pub took_ms: u64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Answered(RemoteResults),
    /// The partner supports no index for this kind of search (e.g. call numbers).
    Unsupported,
    /// Down, slow, or its answer unusable: said to the reader, never fatal.
    Failed {
        reason: String,
        timed_out: bool,
    },
}

impl PartnerAnswer {
    pub fn results(&self) -> Option<&RemoteResults> {
        match &self.outcome {
            Outcome::Answered(r) => Some(r),
            _ => None,
        }
    }
}

/// The CQL index for a search field at a partner that supports `indexes` (`None`: it cannot do
/// this search). Fields a partner lacks fall back to its any-word index.
pub fn index_for(field: SearchField, indexes: &[String]) -> Option<Option<&'static str>> {
    let has = |i: &str| indexes.iter().any(|x| x.eq_ignore_ascii_case(i));
    let wanted = match field {
        SearchField::Title => Some("dc.title"),
        SearchField::Author => Some("dc.creator"),
        SearchField::Subject => Some("dc.subject"),
        SearchField::Isbn => Some("bath.isbn"),
        SearchField::Any => None,
        SearchField::CallNumber => return None, // call numbers are local to each library
    };
    if let Some(w) = wanted.filter(|w| has(w)) {
        return Some(Some(w));
    }
    if field == SearchField::Isbn {
        return None; // an ISBN in a title index finds nothing useful
    }
    if has("cql.anywhere") {
        Some(Some("cql.anywhere"))
    } else if has("cql.serverChoice") {
        Some(Some("cql.serverChoice"))
    } else {
        Some(None) // a bare term: the partner's server choice
    }
}

/// The CQL a partner gets for a reader's search: `index = "text"` (relevance-ranked at Zebra, all
/// words at wxlib). Masking characters are dropped: readers do not mean them.
pub fn cql_for(field: SearchField, text: &str, indexes: &[String]) -> Option<String> {
    let index = index_for(field, indexes)?;
    let term: String = text.chars().map(|c| if matches!(c, '*' | '?' | '^' | '\\') { ' ' } else { c }).collect();
    let term = term.split_whitespace().collect::<Vec<_>>().join(" ");
    if term.is_empty() {
        return None;
    }
    let clause = match index {
        Some(i) => cql::SearchClause::new(i, cql::Relation::symbol("="), term),
        None => cql::SearchClause::term(term),
    };
    Some(clause.to_string())
}

/// Asks every enabled partner in parallel for up to `max` records each.
pub async fn search_partners(s: &Services, text: &str, field: SearchField, max: usize) -> Vec<PartnerAnswer> {
    let partners = match s.partners().await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot load the partner list");
            return vec![];
        }
    };
    let cap = s.config.partners.max_timeout_ms;
    let asks = partners.iter().filter(|p| p.enabled).cloned().map(|mut p| {
        p.timeout_ms = p.timeout_ms.clamp(100, cap);
        async move { ask(&p, text, field, max).await }
    });
    join_all(asks).await
}

/// Asks one partner.
pub async fn ask(p: &Partner, text: &str, field: SearchField, max: usize) -> PartnerAnswer {
    let started = Instant::now();
    let outcome = match cql_for(field, text, &p.indexes) {
        None => Outcome::Unsupported,
        Some(q) => match sru_client::search(p, &q, max).await {
            Ok(r) => Outcome::Answered(r),
            Err(e) => {
                tracing::warn!(partner = %p.name, error = %e, "partner search failed");
                Outcome::Failed { timed_out: matches!(e, SruError::Timeout(_)), reason: e.to_string() }
            }
        },
    };
    let label = match &outcome {
        Outcome::Answered(_) => "answered",
        Outcome::Unsupported => "unsupported",
        Outcome::Failed { timed_out: true, .. } => "timeout",
        Outcome::Failed { .. } => "failed",
    };
    metrics::counter!("wxlib_partner_searches_total", "partner" => p.name.clone(), "outcome" => label).increment(1);
    metrics::histogram!("wxlib_partner_search_seconds").record(started.elapsed().as_secs_f64());
    PartnerAnswer { partner_id: p.id, name: p.name.clone(), took_ms: started.elapsed().as_millis() as u64, outcome }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_searches_become_cql_each_partner_understands() {
        let all: Vec<String> = ["dc.title", "dc.creator", "dc.subject", "cql.anywhere", "bath.isbn"].map(String::from).to_vec();
        assert_eq!(cql_for(SearchField::Title, "数据结构", &all).unwrap(), "dc.title = 数据结构");
        assert_eq!(cql_for(SearchField::Author, "Lu Xun", &all).unwrap(), "dc.creator = \"Lu Xun\"");
        assert_eq!(cql_for(SearchField::Any, "say \"hi\" *", &all).unwrap(), "cql.anywhere = \"say \\\"hi\\\"\"");
        assert_eq!(cql_for(SearchField::Isbn, "9787302147510", &all).unwrap(), "bath.isbn = 9787302147510");
        let titles_only: Vec<String> = vec!["dc.title".into()];
        assert_eq!(cql_for(SearchField::Author, "x", &titles_only).unwrap(), "x");
        assert_eq!(cql_for(SearchField::Isbn, "9787302147510", &titles_only), None);
        assert_eq!(cql_for(SearchField::CallNumber, "TP3", &all), None);
        assert_eq!(cql_for(SearchField::Any, "***", &all), None);
        // what we send parses as CQL
        assert!(cql::parse(&cql_for(SearchField::Any, "a \"b\" (c) = d", &all).unwrap()).is_ok());
    }
}
