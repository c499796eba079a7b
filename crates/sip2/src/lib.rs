//! SIP2 (3M Standard Interchange Protocol 2.00) for a library system's WeChat bridge.
//!
//! Two layers:
//!
//! - [`codec`]: the wire format with no I/O. Typed requests and responses for all 31 SIP2 2.00
//!   messages ([`codec::Message`]), fixed-length and variable fields, repeated fields, unknown
//!   (vendor) fields kept in order, the `AY` sequence number and `AZ` checksum, and a
//!   per-partner character set ([`Charset`]: UTF-8, GBK, GB18030, Windows-1252). It turns bytes
//!   into values and back and never panics on input: every problem is a [`DecodeError`] or an
//!   [`EncodeError`].
//! - [`client`] (feature `client`, on by default): an async tokio client with login, a small
//!   connection pool, per-request and per-call timeouts, resend on `96`, `97` on a bad checksum,
//!   a circuit breaker, and the high-level calls a bridge needs (authenticate, patron
//!   information, item information, renew, renew all, hold, end session).
//!
//! ```
//! use sip2::codec::{Codec, Message, ScStatusRequest};
//! use sip2::Charset;
//!
//! let codec = Codec::new(Charset::Utf8);
//! let msg = Message::ScStatusRequest(ScStatusRequest {
//!     status_code: 0,
//!     max_print_width: 80,
//!     protocol_version: "2.00".into(),
//!     extra: vec![],
//! });
//! let bytes = codec.encode(&msg, Some(1)).unwrap();
//! assert_eq!(bytes, b"9900802.00AY1AZFCA0\r");
//! let frame = codec.decode(&bytes).unwrap();
//! assert_eq!(frame.message, msg);
//! assert_eq!(frame.sequence, Some(1));
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod codec;

#[cfg(feature = "client")]
pub mod client;

pub use codec::{Charset, Codec, DecodeError, EncodeError, Frame, Message, SipDate};

#[cfg(feature = "client")]
pub use client::{Client, ClientConfig, Error};
