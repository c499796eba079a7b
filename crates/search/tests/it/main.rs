//! Integration tests of the search crate (one binary): the analyzer, index behaviour,
//! and relevance on the judged query set over the real shared MARC records.

mod analyzer;
mod common;
mod index;
mod relevance;
