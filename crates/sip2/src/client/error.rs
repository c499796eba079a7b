//! Client errors.

use std::time::Duration;

use thiserror::Error;

use crate::codec::{DecodeError, EncodeError};

/// What went wrong with a SIP2 call.
#[derive(Debug, Error)]
pub enum Error {
    /// The circuit breaker is open after repeated failures: the call was not attempted.
    #[error("SIP2 server unavailable (circuit open, next attempt in {retry_in:?})")]
    CircuitOpen {
        /// Time until the breaker lets a probe through.
        retry_in: Duration,
    },
    /// TCP connect failed.
    #[error("cannot connect to SIP2 server {addr}: {source}")]
    Connect {
        /// Address tried.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// TCP connect did not finish in time.
    #[error("connecting to SIP2 server {addr} timed out")]
    ConnectTimeout {
        /// Address tried.
        addr: String,
    },
    /// The server did not answer in time.
    #[error("SIP2 server did not answer within {0:?}")]
    Timeout(Duration),
    /// The whole call (pool wait, connect, login, exchange, one retry) took too long.
    #[error("SIP2 call did not finish within {0:?}")]
    Deadline(Duration),
    /// Read or write failed.
    #[error("SIP2 connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The server closed the connection.
    #[error("SIP2 server closed the connection")]
    Closed,
    /// A reply could not be decoded (garbage, bad checksum after the allowed resends, …).
    #[error("bad SIP2 reply: {0}")]
    Decode(#[from] DecodeError),
    /// The request could not be encoded (a value with `|`, a character the charset lacks, …).
    #[error("cannot encode SIP2 request: {0}")]
    Encode(#[from] EncodeError),
    /// A reply longer than the configured maximum and still without `\r`.
    #[error("SIP2 reply longer than {0} bytes")]
    FrameTooLong(usize),
    /// The server asked for a resend (`96`) more often than allowed.
    #[error("SIP2 server kept asking for a resend ({0} times)")]
    ResendLimit(u32),
    /// The server answered with a message that does not answer the request.
    #[error("SIP2 server answered {got} to a {sent} request")]
    UnexpectedResponse {
        /// Command id sent.
        sent: &'static str,
        /// Command id received.
        got: &'static str,
    },
    /// The server refused the SC login (`94` with ok = 0).
    #[error("SIP2 login refused for user {0:?}")]
    LoginRefused(String),
    /// All pooled connections stayed busy.
    #[error("no SIP2 connection free within {0:?}")]
    PoolTimeout(Duration),
}

impl Error {
    /// Whether this failure says something about the server's health (and so counts towards
    /// opening the circuit breaker). Our own encoding errors and a saturated pool do not.
    pub fn is_server_failure(&self) -> bool {
        !matches!(self, Error::Encode(_) | Error::CircuitOpen { .. } | Error::PoolTimeout(_))
    }

    /// A failure on a reused connection that means it was already dead before we used it:
    /// safe to retry once on a fresh connection.
    pub(crate) fn is_stale_connection(&self) -> bool {
        match self {
            Error::Closed => true,
            Error::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::NotConnected
                    | std::io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}
