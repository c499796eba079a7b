//! Integration tests for the sip2 crate, one binary:
//!
//! - `raw_exchange`: byte-for-byte agreement with the real pysip2 exchange in
//!   `tests/fixtures/raw_exchange.txt` (copied from `../shared/peers/sip2/raw_exchange.txt`),
//!   for the codec and for the client's own requests.
//! - `peer`: the client against the real pysip2 server: the unmodified toy server from
//!   `../shared/peers/sip2/sip2_toy_server.py` and our richer backend `tests/sip2_backend.py`.
//! - `failures`: killing and stopping the server mid-conversation, the circuit breaker, and
//!   scripted misbehaving servers (garbage, bad checksums, `96`, hangs, wrong answers).
//!
//! The Python peer needs pysip2 0.1.0 in `/work/main/.venv` (or `$WXLIB_PYTHON`); without it the
//! peer tests are skipped with a loud message, unless `CI` is set (then they fail).

mod common;
mod failures;
mod peer;
mod raw_exchange;
