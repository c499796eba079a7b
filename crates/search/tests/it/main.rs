//! Integration tests of the search crate (one binary): the analyzer, index behaviour,
//! and relevance on the judged query set over the real MARC records of the
//! repository's `tests/data/marc`.

mod analyzer;
mod common;
mod facets;
mod index;
mod isbn;
mod pinyin;
mod relevance;
mod suggest;
