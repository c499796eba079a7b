//! The CQL syntax tree and its writer. [`Display`] adds parentheses only where the grammar needs
//! them (booleans are left-associative) and quotes a term only when it has to, so
//! `parse(q.to_string()) == q` for every parsed `q`, and the text nests no deeper than the query.

use std::fmt::{self, Display, Formatter};

use crate::lexer::is_word_char;

/// A whole query: the tree and its sort keys (`sortby`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub root: Node,
    pub sort: Vec<SortKey>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Clause(SearchClause),
    Boolean {
        op: BoolOp,
        modifiers: Vec<Modifier>,
        left: Box<Node>,
        right: Box<Node>,
    },
    /// `> prefix = "uri" node` (or `> "uri" node`, the default context set): binds a short name
    /// for a context set within `node`.
    Prefix {
        prefix: Option<String>,
        uri: String,
        node: Box<Node>,
    },
}

/// `index relation term`, or a bare `term` (both `index` and `relation` are `None`; the server
/// picks the index: `cql.serverChoice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchClause {
    pub index: Option<String>,
    pub relation: Option<Relation>,
    pub term: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoolOp {
    And,
    Or,
    Not,
    Prox,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub comparitor: Comparitor,
    pub modifiers: Vec<Modifier>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparitor {
    /// `=`, `==`, `<>`, `<`, `>`, `<=`, `>=`.
    Symbol(&'static str),
    /// A named relation, lower-cased: `all`, `any`, `adj`, `within`, `encloses`, `exact`, or a
    /// prefixed one (`cql.all`).
    Named(String),
}

/// `/name` or `/name <symbol> value`, on a relation, a boolean or a sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modifier {
    pub name: String,
    pub comparison: Option<(&'static str, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub index: String,
    pub modifiers: Vec<Modifier>,
}

impl SearchClause {
    /// A bare term (`cql.serverChoice`).
    pub fn term(term: impl Into<String>) -> Self {
        SearchClause { index: None, relation: None, term: term.into() }
    }

    pub fn new(index: impl Into<String>, relation: Relation, term: impl Into<String>) -> Self {
        SearchClause { index: Some(index.into()), relation: Some(relation), term: term.into() }
    }
}

impl Relation {
    pub fn symbol(s: &'static str) -> Self {
        Relation { comparitor: Comparitor::Symbol(s), modifiers: vec![] }
    }

    pub fn named(name: &str) -> Self {
        Relation { comparitor: Comparitor::Named(name.to_ascii_lowercase()), modifiers: vec![] }
    }

    /// The relation's name as written (`=`, `all`…).
    pub fn name(&self) -> &str {
        match &self.comparitor {
            Comparitor::Symbol(s) => s,
            Comparitor::Named(n) => n,
        }
    }
}

impl BoolOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BoolOp::And => "and",
            BoolOp::Or => "or",
            BoolOp::Not => "not",
            BoolOp::Prox => "prox",
        }
    }

    pub fn from_word(w: &str) -> Option<BoolOp> {
        Some(match w.to_ascii_lowercase().as_str() {
            "and" => BoolOp::And,
            "or" => BoolOp::Or,
            "not" => BoolOp::Not,
            "prox" => BoolOp::Prox,
            _ => return None,
        })
    }
}

/// A prefix binding in scope: (prefix, or `None` for the default context set; its URI).
pub type Binding<'a> = (Option<&'a str>, &'a str);
/// A search clause with the bindings in scope where it stands (innermost last).
pub type ScopedClause<'a> = (&'a SearchClause, Vec<Binding<'a>>);

impl Node {
    /// Every search clause in the tree, left to right, with the prefix bindings in scope
    /// (innermost last) — what a server checks against the indexes it supports.
    pub fn clauses(&self) -> Vec<ScopedClause<'_>> {
        let mut out = Vec::new();
        let mut scope = Vec::new();
        collect(self, &mut scope, &mut out);
        out
    }
}

fn collect<'a>(n: &'a Node, scope: &mut Vec<Binding<'a>>, out: &mut Vec<ScopedClause<'a>>) {
    match n {
        Node::Clause(c) => out.push((c, scope.clone())),
        Node::Boolean { left, right, .. } => {
            collect(left, scope, out);
            collect(right, scope, out);
        }
        Node::Prefix { prefix, uri, node } => {
            scope.push((prefix.as_deref(), uri.as_str()));
            collect(node, scope, out);
            scope.pop();
        }
    }
}

impl Query {
    /// Every search clause of the query (see [`Node::clauses`]).
    pub fn clauses(&self) -> Vec<ScopedClause<'_>> {
        self.root.clauses()
    }
}

/// Whether `s` must be quoted to read back as one term.
fn needs_quotes(s: &str) -> bool {
    s.is_empty() || !s.chars().all(is_word_char) || BoolOp::from_word(s).is_some() || s.eq_ignore_ascii_case("sortby")
}

/// A term (or modifier value, or URI), quoted when needed.
pub(crate) struct Term<'a>(pub &'a str);

impl Display for Term<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if !needs_quotes(self.0) {
            return f.write_str(self.0);
        }
        f.write_str("\"")?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

impl Display for Modifier {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.name)?;
        if let Some((sym, value)) = &self.comparison {
            write!(f, "{sym}{}", Term(value))?;
        }
        Ok(())
    }
}

impl Display for Relation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        self.modifiers.iter().try_for_each(|m| write!(f, "{m}"))
    }
}

impl Display for SearchClause {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let (Some(index), Some(relation)) = (&self.index, &self.relation) {
            write!(f, "{index} {relation} ")?;
        }
        write!(f, "{}", Term(&self.term))
    }
}

/// Where a node is written: parentheses are added only where the grammar needs them, so that
/// reading the text back nests no deeper than the query it came from (the parser bounds depth).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The whole query, or the inside of parentheses or of a prefix assignment.
    Top,
    /// The left operand of a boolean: booleans are left-associative, so a boolean needs none.
    Left,
    /// The right operand of a boolean: a search clause, or parentheses.
    Right,
}

fn write_node(n: &Node, place: Place, f: &mut Formatter<'_>) -> fmt::Result {
    match n {
        Node::Clause(c) => write!(f, "{c}"),
        Node::Boolean { op, modifiers, left, right } => {
            let parens = place == Place::Right;
            if parens {
                f.write_str("(")?;
            }
            write_node(left, Place::Left, f)?;
            write!(f, " {}", op.as_str())?;
            modifiers.iter().try_for_each(|m| write!(f, "{m}"))?;
            f.write_str(" ")?;
            write_node(right, Place::Right, f)?;
            if parens {
                f.write_str(")")?;
            }
            Ok(())
        }
        Node::Prefix { prefix, uri, node } => {
            // As an operand it must be parenthesised, or it would scope over the whole rest.
            let parens = place != Place::Top;
            f.write_str(if parens { "(> " } else { "> " })?;
            if let Some(p) = prefix {
                write!(f, "{} = ", Term(p))?;
            }
            write!(f, "{} ", Term(uri))?;
            write_node(node, Place::Top, f)?;
            if parens {
                f.write_str(")")?;
            }
            Ok(())
        }
    }
}

impl Display for Node {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_node(self, Place::Top, f)
    }
}

impl Display for SortKey {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.index)?;
        self.modifiers.iter().try_for_each(|m| write!(f, "{m}"))
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)?;
        if !self.sort.is_empty() {
            f.write_str(" sortby")?;
            for k in &self.sort {
                write!(f, " {k}")?;
            }
        }
        Ok(())
    }
}
