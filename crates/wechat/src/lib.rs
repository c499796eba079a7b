//! The WeChat Official Account (公众号) protocol, as pure encode/decode with no network or
//! database inside, so every piece can be unit-tested against the published vectors and fuzzed.
//!
//! - [`signature`]: the SHA-1 "sort and concatenate" signatures (URL check, `msg_signature`).
//! - [`crypto`]: compatible/safe-mode message encryption (AES-256-CBC, 32-byte PKCS#7), key rotation,
//!   the WeCom-style encrypted `echostr`.
//! - [`xml`]: a small, DTD-refusing XML tree reader sized for callback bodies.
//! - [`message`]: typed inbound messages and events (unknown kinds are kept, not rejected).
//! - [`reply`]: typed passive replies and their XML, with WeChat's article-count rules.
//! - [`envelope`]: the outer `<xml><Encrypt>…` body of encrypted requests and replies.

pub mod crypto;
pub mod envelope;
pub mod message;
pub mod reply;
pub mod signature;
pub mod xml;

pub use crypto::{AesKey, CryptoError, MessageCrypto};
pub use message::{Event, Inbound, InboundKind, ParseError};
pub use reply::{Article, Reply, ReplyError};
