//! CQL onto our own search, so `/sru` ranks exactly as readers' searches do.
//!
//! Each search clause becomes a catalog search ([`search::Query`]: the reader's query model, a
//! text and a field) or a publication-year filter; booleans combine the ranked sets (`and`
//! intersects and adds scores, `or` unites and adds, `not` removes). A query of one text clause
//! — what partners and most clients send — is exactly one catalog search, paged by the index.
//!
//! Indexes: `dc.title`, `dc.creator`, `dc.subject`, `cql.anywhere` / `cql.serverChoice` (and a
//! bare term), `bath.isbn`, `dc.date`; prefixes may be rebound with `> p = "uri"`. Relations:
//! `=`, `==`, `all`, `adj` (all words required, the whole phrase ranks first), `any` (any word);
//! `dc.date` takes `= == <> < > <= >=` and `any`. Anything else is an SRU diagnostic: unknown
//! context set 15, index 16, relation 19, relation modifier 20, empty term 27, date not a year
//! 36, `prox` 37, `sortby` 80.

use std::collections::HashMap;

use search::{Field, MAX_WINDOW};

use crate::catalog::{Catalog, CatalogError};

pub const DC_SET: &str = "info:srw/cql-context-set/1/dc-v1.1";
pub const CQL_SET: &str = "info:srw/cql-context-set/1/cql-v1.2";
pub const BATH_SET: &str = "http://zing.z3950.org/cql/bath/2.0/";

/// Why a query cannot run here: an SRU diagnostic number and its details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SRU diagnostic {code}: {details}")]
pub struct Unsupported {
    pub code: u32,
    pub details: String,
}

fn unsupported<T>(code: u32, details: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported { code, details: details.into() })
}

/// A year comparison on `dc.date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// What a query asks of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// A catalog search: every word of `text` in `field`, ranked.
    Text {
        field: Field,
        text: String,
    },
    Year {
        op: YearOp,
        year: i64,
    },
    And(Box<Plan>, Box<Plan>),
    Or(Box<Plan>, Box<Plan>),
    Not(Box<Plan>, Box<Plan>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Index {
    Text(Field),
    Date,
}

fn set_of_uri(uri: &str) -> Option<&'static str> {
    match uri.trim_end_matches('/') {
        "info:srw/cql-context-set/1/dc-v1.1" | "http://purl.org/dc/elements/1.1" => Some("dc"),
        "info:srw/cql-context-set/1/cql-v1.2" | "info:srw/cql-context-set/1/cql-v1.1" => Some("cql"),
        "http://zing.z3950.org/cql/bath/2.0" => Some("bath"),
        _ => None,
    }
}

fn index_in(set: &str, name: &str) -> Option<Index> {
    Some(match (set, name.to_ascii_lowercase().as_str()) {
        ("dc", "title") => Index::Text(Field::Title),
        ("dc", "creator") => Index::Text(Field::Author),
        ("dc", "subject") => Index::Text(Field::Subject),
        ("dc", "date") => Index::Date,
        ("cql", "anywhere" | "serverchoice") => Index::Text(Field::Any),
        ("bath", "isbn") => Index::Text(Field::Isbn),
        _ => return None,
    })
}

fn resolve(index: &str, scope: &[(Option<&str>, &str)]) -> Result<Index, Unsupported> {
    let (prefix, name) = match index.rsplit_once('.') {
        Some((p, n)) => (Some(p), n),
        None => (None, index),
    };
    // the innermost binding of this prefix (or of the default set) wins
    let bound = scope.iter().rev().find(|(p, _)| match (p, prefix) {
        (Some(p), Some(q)) => p.eq_ignore_ascii_case(q),
        (None, None) => true,
        _ => false,
    });
    let sets: Vec<&str> = match (bound, prefix) {
        (Some((_, uri)), _) => match set_of_uri(uri) {
            Some(s) => vec![s],
            None => return unsupported(15, *uri),
        },
        (None, Some(p)) => match p.to_ascii_lowercase().as_str() {
            "dc" => vec!["dc"],
            "cql" => vec!["cql"],
            "bath" => vec!["bath"],
            _ => return unsupported(15, p),
        },
        // No prefix and no default bound: our default context set is the union of the three.
        (None, None) => vec!["dc", "cql", "bath"],
    };
    sets.iter().find_map(|s| index_in(s, name)).map_or_else(|| unsupported(16, index), Ok)
}

const RELATION_MODIFIERS: &[&str] = &["relevant", "stem", "ignorecase", "respectcase", "ignoreaccents", "string", "word"];

/// A term as our search takes it: CQL masking and anchoring (`*`, `?`, `^`) dropped, escapes
/// resolved (the index matches words, and treats punctuation as a separator anyway).
fn plain_term(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    let mut chars = term.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '*' | '?' | '^' => out.push(' '),
            c => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn or_all(mut plans: Vec<Plan>) -> Option<Plan> {
    let first = plans.pop()?;
    Some(plans.into_iter().rev().fold(first, |acc, p| Plan::Or(Box::new(p), Box::new(acc))))
}

fn clause_plan(c: &cql::SearchClause, scope: &[(Option<&str>, &str)]) -> Result<Plan, Unsupported> {
    let index = match &c.index {
        Some(i) => resolve(i, scope)?,
        None => Index::Text(Field::Any),
    };
    let relation = c.relation.clone().unwrap_or_else(|| cql::Relation::symbol("="));
    for m in &relation.modifiers {
        let name = m.name.to_ascii_lowercase();
        let name = name.strip_prefix("cql.").unwrap_or(&name);
        if !RELATION_MODIFIERS.contains(&name) {
            return unsupported(20, &m.name);
        }
    }
    let rel = relation.name().to_ascii_lowercase();
    let rel = rel.strip_prefix("cql.").unwrap_or(&rel).to_owned();
    let term = plain_term(&c.term);
    if term.is_empty() {
        return unsupported(27, c.index.clone().unwrap_or_else(|| "cql.serverChoice".into()));
    }
    match index {
        Index::Text(field) => match rel.as_str() {
            "=" | "==" | "all" | "adj" | "scr" | "exact" => Ok(Plan::Text { field, text: term }),
            "any" => Ok(or_all(term.split_whitespace().map(|w| Plan::Text { field, text: w.to_owned() }).collect())
                .unwrap_or(Plan::Text { field, text: term })),
            _ => unsupported(19, relation.name()),
        },
        Index::Date => {
            let year = |t: &str| t.parse::<i64>().ok().filter(|y| (0..=9999).contains(y)).map_or_else(|| unsupported(36, t), Ok);
            let op = match rel.as_str() {
                "=" | "==" => YearOp::Eq,
                "<>" => YearOp::Ne,
                "<" => YearOp::Lt,
                ">" => YearOp::Gt,
                "<=" => YearOp::Le,
                ">=" => YearOp::Ge,
                "any" => {
                    let years =
                        term.split_whitespace()
                            .map(|t| year(t).map(|y| Plan::Year { op: YearOp::Eq, year: y }))
                            .collect::<Result<Vec<_>, _>>()?;
                    return Ok(or_all(years).unwrap_or(Plan::Year { op: YearOp::Eq, year: -1 }));
                }
                _ => return unsupported(19, relation.name()),
            };
            Ok(Plan::Year { op, year: year(&term)? })
        }
    }
}

fn node_plan<'a>(n: &'a cql::Node, scope: &mut Vec<(Option<&'a str>, &'a str)>) -> Result<Plan, Unsupported> {
    match n {
        cql::Node::Clause(c) => clause_plan(c, scope),
        cql::Node::Boolean { op, left, right, .. } => {
            let l = Box::new(node_plan(left, scope)?);
            let r = Box::new(node_plan(right, scope)?);
            match op {
                cql::BoolOp::And => Ok(Plan::And(l, r)),
                cql::BoolOp::Or => Ok(Plan::Or(l, r)),
                cql::BoolOp::Not => Ok(Plan::Not(l, r)),
                cql::BoolOp::Prox => unsupported(37, "prox"),
            }
        }
        cql::Node::Prefix { prefix, uri, node } => {
            scope.push((prefix.as_deref(), uri.as_str()));
            let p = node_plan(node, scope);
            scope.pop();
            p
        }
    }
}

/// The plan of a parsed query, or the diagnostic saying why it cannot run here.
pub fn plan(q: &cql::Query) -> Result<Plan, Unsupported> {
    if !q.sort.is_empty() {
        // ordering is by relevance, as in our own search
        return unsupported(80, q.sort.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" "));
    }
    node_plan(&q.root, &mut Vec::new())
}

/// One page of record ids, best first, and how many records match in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranked {
    pub total: usize,
    pub ids: Vec<String>,
}

fn index_error(e: search::Error) -> CatalogError {
    CatalogError::Index(e)
}

/// Runs a plan: `offset`/`limit` page the ranked result (limit 0 counts only).
pub async fn run(catalog: &Catalog, plan: &Plan, offset: usize, limit: usize) -> Result<Ranked, CatalogError> {
    if let Plan::Text { field, text } = plan {
        let offset = offset.min(MAX_WINDOW);
        let q = search::Query {
            text: text.clone(),
            field: *field,
            sort: search::Sort::Relevance,
            offset,
            limit: limit.min(MAX_WINDOW - offset),
        };
        let r = catalog.index.search(&q).map_err(index_error)?;
        return Ok(Ranked { total: r.total, ids: r.hits.into_iter().map(|h| h.id).collect() });
    }
    let scores = scored(catalog, plan).await?;
    let mut all: Vec<(String, f32)> = scores.into_iter().collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total = all.len();
    Ok(Ranked { total, ids: all.into_iter().skip(offset).take(limit).map(|(id, _)| id).collect() })
}

/// Every matching record with its score (year filters score nothing).
fn scored<'a>(catalog: &'a Catalog, plan: &'a Plan) -> futures::future::BoxFuture<'a, Result<HashMap<String, f32>, CatalogError>> {
    Box::pin(async move {
        Ok(match plan {
            Plan::Text { field, text } => {
                let q = search::Query { text: text.clone(), field: *field, sort: search::Sort::Relevance, offset: 0, limit: MAX_WINDOW };
                catalog.index.search(&q).map_err(index_error)?.hits.into_iter().map(|h| (h.id, h.score)).collect()
            }
            Plan::Year { op, year } => catalog.db.record_ids_by_year(*op, *year).await?.into_iter().map(|id| (id, 0.0)).collect(),
            Plan::And(l, r) => {
                let l = scored(catalog, l).await?;
                let r = scored(catalog, r).await?;
                l.into_iter().filter_map(|(id, s)| r.get(&id).map(|t| (id, s + t))).collect()
            }
            Plan::Or(l, r) => {
                let mut l = scored(catalog, l).await?;
                for (id, s) in scored(catalog, r).await? {
                    *l.entry(id).or_insert(0.0) += s;
                }
                l
            }
            Plan::Not(l, r) => {
                let l = scored(catalog, l).await?;
                let r = scored(catalog, r).await?;
                l.into_iter().filter(|(id, _)| !r.contains_key(id)).collect()
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Result<Plan, Unsupported> {
        plan(&cql::parse(q).expect(q))
    }

    fn text(field: Field, t: &str) -> Plan {
        Plan::Text { field, text: t.into() }
    }

    #[test]
    fn indexes_and_relations_map_to_the_search_model() {
        assert_eq!(p("三体").unwrap(), text(Field::Any, "三体"));
        assert_eq!(p("dc.title = \"数据结构\"").unwrap(), text(Field::Title, "数据结构"));
        assert_eq!(p("title all \"economic policy\"").unwrap(), text(Field::Title, "economic policy"));
        assert_eq!(p("dc.creator adj 鲁迅").unwrap(), text(Field::Author, "鲁迅"));
        assert_eq!(p("DC.SUBJECT == china").unwrap(), text(Field::Subject, "china"));
        assert_eq!(p("cql.serverChoice = x").unwrap(), text(Field::Any, "x"));
        assert_eq!(p("bath.isbn = 9787302147510").unwrap(), text(Field::Isbn, "9787302147510"));
        assert_eq!(p("dc.title any \"a b\"").unwrap(), Plan::Or(Box::new(text(Field::Title, "a")), Box::new(text(Field::Title, "b"))));
        assert_eq!(p("dc.date >= 2000").unwrap(), Plan::Year { op: YearOp::Ge, year: 2000 });
        assert_eq!(p("dc.title = comput*").unwrap(), text(Field::Title, "comput"));
        assert!(matches!(p("a and b not c").unwrap(), Plan::Not(..)));
        let q = format!("> t = \"{DC_SET}\" t.title = fish");
        assert_eq!(p(&q).unwrap(), text(Field::Title, "fish"));
    }

    #[test]
    fn what_we_cannot_do_is_a_diagnostic() {
        let code = |q: &str| p(q).unwrap_err().code;
        assert_eq!(code("dc.foo = bar"), 16);
        assert_eq!(code("foo.title = bar"), 15);
        assert_eq!(code("> dc = \"http://example.org/other\" dc.title = x"), 15);
        assert_eq!(code("dc.title within x"), 19);
        assert_eq!(code("dc.title <> x"), 19);
        assert_eq!(code("dc.title =/fuzzy x"), 20);
        assert_eq!(code("dc.title = \"\""), 27);
        assert_eq!(code("dc.date = soon"), 36);
        assert_eq!(code("a prox b"), 37);
        assert_eq!(code("a sortby dc.date"), 80);
        assert_eq!(p("dc.foo = bar").unwrap_err().details, "dc.foo");
    }
}
