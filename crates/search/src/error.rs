//! Errors of the search crate.

/// What can go wrong opening, writing or searching the index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// tantivy failed (I/O, corrupt files, bad regex…).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory cannot be opened.
    #[error("search index directory: {0}")]
    Directory(String),
    #[error("search index I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The index on disk was built by another schema or analysis version: rebuild it.
    #[error("search index is incompatible ({0}); rebuild it")]
    Incompatible(String),
    /// Another writer (this or another process) holds the index lock.
    #[error("search index is locked by another writer")]
    WriterBusy,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
