//! Integration tests for the `marc` crate (one binary, one module per concern).
//!
//! Real data comes from the repository's `tests/data/marc/*.mrc` (origin and licence in its
//! README).

#![allow(clippy::print_stderr, reason = "a test says on stderr why it skipped (yaz-marcdump missing)")]

mod charsets;
mod common;
mod corpus;
mod damaged;
mod roundtrip;
mod yaz;
