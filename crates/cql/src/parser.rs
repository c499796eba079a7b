//! Recursive descent over the tokens of [`crate::lexer`]. Nesting (parentheses and prefix
//! assignments) and the number of clauses are bounded, so a hostile query cannot exhaust the
//! stack of the parser or of the recursive `Display` and `Drop` of the tree.

use crate::ast::{BoolOp, Comparitor, Modifier, Node, Query, Relation, SearchClause, SortKey};
use crate::error::{ErrorKind, ParseError};
use crate::lexer::{Tok, tokenize};

/// Deepest nesting of parentheses and prefix assignments accepted.
pub const MAX_DEPTH: usize = 64;
/// Most search clauses in one query.
pub const MAX_CLAUSES: usize = 256;

/// Parses one CQL query.
pub fn parse(input: &str) -> Result<Query, ParseError> {
    let toks = tokenize(input)?;
    let mut p = Parser { toks, at: 0, clauses: 0 };
    if p.peek() == &Tok::Eof {
        return Err(ParseError { pos: 0, kind: ErrorKind::Empty });
    }
    let root = p.query(0)?;
    let mut sort = Vec::new();
    if matches!(p.peek(), Tok::Word(w) if w.eq_ignore_ascii_case("sortby")) {
        p.next();
        loop {
            match p.peek().clone() {
                Tok::Word(index) => {
                    p.next();
                    let modifiers = p.modifiers()?;
                    sort.push(SortKey { index, modifiers });
                }
                Tok::Eof if !sort.is_empty() => break,
                other => return Err(p.err(ErrorKind::ExpectedSortKey(other.describe()))),
            }
        }
    }
    match p.peek() {
        Tok::Eof => Ok(Query { root, sort }),
        Tok::RParen => Err(p.err(ErrorKind::Trailing("')' without a matching '('".into()))),
        other => Err(
            p.err(ErrorKind::Trailing(format!("unexpected {} after a complete query (a boolean: and, or, not, prox?)", other.describe())))
        ),
    }
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    clauses: usize,
}

fn is_keyword(w: &str) -> bool {
    BoolOp::from_word(w).is_some() || w.eq_ignore_ascii_case("sortby")
}

impl Parser {
    fn peek(&self) -> &Tok {
        // tokenize always ends with Eof and we never step past it
        &self.toks[self.at.min(self.toks.len() - 1)].1
    }

    fn peek2(&self) -> &Tok {
        &self.toks[(self.at + 1).min(self.toks.len() - 1)].1
    }

    fn pos(&self) -> usize {
        self.toks[self.at.min(self.toks.len() - 1)].0
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.at < self.toks.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn err(&self, kind: ErrorKind) -> ParseError {
        ParseError { pos: self.pos(), kind }
    }

    /// `prefixAssignment query | scopedClause`
    fn query(&mut self, depth: usize) -> Result<Node, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err(ErrorKind::TooDeep(MAX_DEPTH)));
        }
        if self.peek() == &Tok::Symbol(">") {
            self.next();
            let first = match self.next() {
                Tok::Word(w) | Tok::Quoted(w) => w,
                other => {
                    self.at -= 1;
                    return Err(self.err(ErrorKind::ExpectedPrefix(other.describe())));
                }
            };
            let (prefix, uri) = if self.peek() == &Tok::Symbol("=") {
                self.next();
                match self.next() {
                    Tok::Word(u) | Tok::Quoted(u) => (Some(first), u),
                    other => {
                        self.at -= 1;
                        return Err(self.err(ErrorKind::ExpectedPrefix(other.describe())));
                    }
                }
            } else {
                (None, first)
            };
            let node = self.query(depth + 1)?;
            return Ok(Node::Prefix { prefix, uri, node: Box::new(node) });
        }
        let mut left = self.search_clause(depth)?;
        while let Tok::Word(w) = self.peek() {
            let Some(op) = BoolOp::from_word(w) else {
                break;
            };
            self.next();
            let modifiers = self.modifiers()?;
            let right = self.search_clause(depth)?;
            left = Node::Boolean { op, modifiers, left: Box::new(left), right: Box::new(right) };
        }
        Ok(left)
    }

    /// `'(' query ')' | index relation term | term`
    fn search_clause(&mut self, depth: usize) -> Result<Node, ParseError> {
        if self.peek() == &Tok::LParen {
            self.next();
            let inner = self.query(depth + 1)?;
            if self.peek() != &Tok::RParen {
                return Err(self.err(ErrorKind::ExpectedCloseParen(self.peek().describe())));
            }
            self.next();
            return Ok(inner);
        }
        self.clauses += 1;
        if self.clauses > MAX_CLAUSES {
            return Err(self.err(ErrorKind::TooDeep(MAX_CLAUSES)));
        }
        let first = match self.peek().clone() {
            Tok::Word(w) => w,
            Tok::Quoted(q) => {
                // A quoted string is always a term.
                self.next();
                return Ok(Node::Clause(SearchClause::term(q)));
            }
            other => return Err(self.err(ErrorKind::ExpectedTerm(other.describe()))),
        };
        self.next();
        let comparitor = match self.peek().clone() {
            Tok::Symbol(s) => Comparitor::Symbol(s),
            Tok::Word(w) if !is_keyword(&w) => Comparitor::Named(w.to_ascii_lowercase()),
            Tok::Word(_) | Tok::RParen | Tok::Eof => {
                return Ok(Node::Clause(SearchClause::term(first)));
            }
            other => return Err(self.err(ErrorKind::ExpectedRelation(first, other.describe()))),
        };
        self.next();
        let modifiers = self.modifiers()?;
        let term = match self.peek().clone() {
            Tok::Word(w) => w,
            Tok::Quoted(q) => q,
            other => return Err(self.err(ErrorKind::ExpectedTerm(other.describe()))),
        };
        self.next();
        Ok(Node::Clause(SearchClause { index: Some(first), relation: Some(Relation { comparitor, modifiers }), term }))
    }

    /// `('/' name [symbol value])*`
    fn modifiers(&mut self) -> Result<Vec<Modifier>, ParseError> {
        let mut out = Vec::new();
        while self.peek() == &Tok::Slash {
            self.next();
            let name = match self.peek().clone() {
                Tok::Word(w) => w,
                other => return Err(self.err(ErrorKind::ExpectedModifier(other.describe()))),
            };
            self.next();
            let comparison = match (self.peek().clone(), self.peek2().clone()) {
                (Tok::Symbol(sym), Tok::Word(v) | Tok::Quoted(v)) => {
                    self.next();
                    self.next();
                    Some((sym, v))
                }
                (Tok::Symbol(_), other) => {
                    self.next();
                    return Err(self.err(ErrorKind::ExpectedModifierValue(other.describe())));
                }
                _ => None,
            };
            out.push(Modifier { name, comparison });
        }
        Ok(out)
    }
}
