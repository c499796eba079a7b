//! Integration tests for the `marc` crate (one binary, one module per concern).
//!
//! Real data comes from `$WXLIB_SHARED/data/marc/*.mrc` (default: the `shared/`
//! directory three levels above this crate, i.e. /work/shared).

mod charsets;
mod common;
mod corpus;
mod damaged;
mod roundtrip;
mod yaz;
