//! The outer body of encrypted callbacks: `<xml><ToUserName/><Encrypt/></xml>` inbound (plus the
//! plain fields in compatible mode) and `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`
//! outbound.

use crate::xml::{self, Element, XmlError, cdata};

/// Extracts `Encrypt` from a parsed inbound body, if present.
pub fn encrypt_field(root: &Element) -> Option<&str> {
    root.child_text("Encrypt").map(str::trim).filter(|s| !s.is_empty())
}

/// Parses an outbound encrypted reply (used by tests and the simulator, which play WeChat).
pub fn parse_encrypted_reply(body: &[u8]) -> Result<(String, String, String, String), XmlError> {
    let el = xml::parse(body)?;
    let get = |n: &str| el.child_text(n).unwrap_or_default().to_owned();
    Ok((get("Encrypt"), get("MsgSignature"), get("TimeStamp"), get("Nonce")))
}

/// Builds the encrypted reply body.
pub fn encrypted_reply(encrypt: &str, msg_signature: &str, timestamp: &str, nonce: &str) -> String {
    let mut out = String::with_capacity(encrypt.len() + 200);
    out.push_str("<xml><Encrypt>");
    cdata(&mut out, encrypt);
    out.push_str("</Encrypt><MsgSignature>");
    cdata(&mut out, msg_signature);
    out.push_str("</MsgSignature><TimeStamp>");
    out.push_str(timestamp);
    out.push_str("</TimeStamp><Nonce>");
    cdata(&mut out, nonce);
    out.push_str("</Nonce></xml>");
    out
}

/// Builds an inbound encrypted body, as WeChat sends it in safe mode (for tests and the simulator).
pub fn encrypted_request(to_user: &str, encrypt: &str) -> String {
    let mut out = String::from("<xml><ToUserName>");
    cdata(&mut out, to_user);
    out.push_str("</ToUserName><Encrypt>");
    cdata(&mut out, encrypt);
    out.push_str("</Encrypt></xml>");
    out
}
