//! Why a query is not CQL: the kind of mistake and its byte position.

/// Why a query is not CQL, and where (`pos` is a byte offset into the query).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {pos}")]
pub struct ParseError {
    pub pos: usize,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("empty query")]
    Empty,
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    #[error("expected a search term, found {0}")]
    ExpectedTerm(String),
    #[error("expected a relation or boolean after {0:?}, found {1}")]
    ExpectedRelation(String, String),
    #[error("expected ')', found {0}")]
    ExpectedCloseParen(String),
    #[error("{0}")]
    Trailing(String),
    #[error("expected a modifier name after '/', found {0}")]
    ExpectedModifier(String),
    #[error("expected a value after the modifier's comparison, found {0}")]
    ExpectedModifierValue(String),
    #[error("expected a prefix and URI after '>', found {0}")]
    ExpectedPrefix(String),
    #[error("expected an index to sort by, found {0}")]
    ExpectedSortKey(String),
    #[error("query nested deeper than {0} levels")]
    TooDeep(usize),
}
