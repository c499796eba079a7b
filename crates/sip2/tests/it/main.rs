//! Integration tests for the sip2 crate, one binary:
//!
//! - `raw_exchange`: byte-for-byte agreement with the real pysip2 exchange in
//!   `tests/fixtures/raw_exchange.txt` (recorded with the pysip2 toy server, copied from the
//!   project's reference shelf), for the codec and for the client's own requests.
//! - `peer`: the client against the real pysip2 server, the project's one SIP2 library system
//!   `tests/peers/sip2/sip2_backend.py` (at the repository root), with the toy server's data
//!   (`--data toy`) and with a richer set (`--data client`).
//! - `failures`: killing and stopping the server mid-conversation, the circuit breaker, and
//!   scripted misbehaving servers (garbage, bad checksums, `96`, hangs, wrong answers).
//!
//! The Python peer needs pysip2 0.1.0 in the repository's `.venv` (or `$WXLIB_PYTHON`); without
//! it the peer tests are skipped with a loud message, unless `CI` is set (then they fail).

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "a test may unwrap (a panic is the failure, with the value) and says on stderr why a peer test is skipped"
)]

mod common;
mod failures;
mod peer;
mod raw_exchange;
