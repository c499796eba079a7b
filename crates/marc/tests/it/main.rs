//! Integration tests for the `marc` crate (one binary, one module per concern).
//!
//! Real data comes from the repository's `tests/data/marc/*.mrc` (origin and licence in its
//! README).

mod charsets;
mod common;
mod corpus;
mod damaged;
mod roundtrip;
mod yaz;
