//! CQL, the Contextual Query Language of SRU (CQL 1.2 as in the SRU 1.2 / 2.0 standards): a
//! parser into an AST, and a [`Display`](std::fmt::Display) that writes the AST back as CQL which
//! parses to the same AST (round trip). No I/O, no knowledge of any catalog: which indexes and
//! relations a server supports is its own business (see [`Query::clauses`]).
//!
//! ```
//! let q = cql::parse(r#"dc.title = "数据结构" and (dc.creator any "严蔚敏 吴伟民" or bath.isbn=9787302147510)"#)?;
//! assert_eq!(q.to_string(), r#"dc.title = 数据结构 and (dc.creator any "严蔚敏 吴伟民" or bath.isbn = 9787302147510)"#);
//! let err = cql::parse("dc.title = (").unwrap_err();
//! assert_eq!(err.pos, 11);
//! # Ok::<(), cql::ParseError>(())
//! ```
//!
//! Grammar (CQL 1.2): `query ::= prefixAssignment query | scopedClause [sortby sortSpec]`;
//! `scopedClause ::= scopedClause boolean [modifiers] searchClause | searchClause` (left
//! associative, all booleans one precedence); `searchClause ::= '(' query ')' | [index relation]
//! term`; relations `= == <> < > <= >=` or a named one (`all any adj within encloses exact`…);
//! modifiers `/name` or `/name<sym>value`; prefix assignments `> prefix = "uri"` or `> "uri"`.
//! Keywords and named relations are case-insensitive (kept lower-case in the AST).

mod ast;
mod error;
mod lexer;
mod parser;

pub use ast::{Binding, BoolOp, Comparitor, Modifier, Node, Query, Relation, ScopedClause, SearchClause, SortKey};
pub use error::{ErrorKind, ParseError};
pub use parser::{MAX_DEPTH, parse};
