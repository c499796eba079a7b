//! The SIP2 wire codec, with no I/O: bytes in, typed [`Message`]s out, and back.
//!
//! A frame is `<2-digit command><fixed fields><variable fields>[AY<seq>AZ<checksum>]\r`.
//! [`Codec::encode`] writes one (with the error-detection trailer when given a sequence number);
//! [`Codec::decode`] reads one, verifying the checksum when the frame carries one, tolerating a
//! `\r\n` terminator (or none), and returning a typed [`DecodeError`] for anything it cannot
//! read. [`split_frame`] cuts frames out of a byte stream.
//!
//! Modules: [`message`] (the 31 message types), [`fixed`] (fixed-field types), [`date`] (SIP2
//! dates and lenient due-date parsing), [`charset`], [`checksum`], [`error`].

pub mod charset;
pub mod checksum;
pub mod date;
pub mod error;
pub mod fixed;
pub mod message;

#[cfg(test)]
mod tests;

pub use charset::Charset;
pub use date::{SipDate, Timestamp, parse_due_date};
pub use error::{DecodeError, EncodeError};
pub use fixed::{CirculationStatus, HoldMode, PatronFlag, PatronStatus, Summary, SummaryKind, Tristate};
pub use message::*;

/// A decoded frame: the message and its error-detection trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The message.
    pub message: Message,
    /// `AY` sequence number, if the frame had one.
    pub sequence: Option<u8>,
    /// `AZ` checksum (already verified), if the frame had one.
    pub checksum: Option<u16>,
}

/// Encoder/decoder for one partner: its character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Codec {
    /// Character set of variable-field values.
    pub charset: Charset,
}

impl Codec {
    /// A codec for `charset`.
    pub fn new(charset: Charset) -> Self {
        Codec { charset }
    }

    /// Encode `message` as one frame ending in `\r`.
    ///
    /// With `sequence = Some(n)` (0–9) the frame gets the error-detection trailer
    /// `AY<n>AZ<checksum>`; `96` and `97` get just `AZ<checksum>` (they carry no sequence).
    pub fn encode(&self, message: &Message, sequence: Option<u8>) -> Result<Vec<u8>, EncodeError> {
        let mut w = message::Writer::new(self.charset);
        message.write_body(&mut w)?;
        let mut out = w.out;
        if let Some(seq) = sequence {
            if seq > 9 {
                return Err(EncodeError::BadSequence(seq));
            }
            if !matches!(message, Message::RequestAcsResend(_) | Message::RequestScResend(_)) {
                out.extend_from_slice(b"AY");
                out.push(b'0' + seq);
            }
            out.extend_from_slice(b"AZ");
            let hex = checksum::checksum_hex(&out);
            out.extend_from_slice(&hex);
        }
        out.push(b'\r');
        Ok(out)
    }

    /// Decode one frame. The terminator may be `\r`, `\r\n` or missing; a leading `\n` (left
    /// over from a previous `\r\n`) is skipped.
    pub fn decode(&self, frame: &[u8]) -> Result<Frame, DecodeError> {
        let mut body = frame;
        while let [b'\n', rest @ ..] = body {
            body = rest;
        }
        if let [rest @ .., b'\n'] = body {
            body = rest;
        }
        if let [rest @ .., b'\r'] = body {
            body = rest;
        }
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(DecodeError::Empty);
        }
        if body.contains(&b'\r') {
            return Err(DecodeError::Garbage("CR inside a frame"));
        }
        if body.contains(&0) {
            return Err(DecodeError::Garbage("NUL byte"));
        }

        let (payload, sequence, checksum) = strip_trailer(body)?;
        let (Some(code), Some(rest)) = (payload.get(..2), payload.get(2..)) else {
            return Err(DecodeError::Garbage("shorter than a command id"));
        };
        let message = Message::read_body(code, rest, self.charset)?;
        Ok(Frame { message, sequence, checksum })
    }
}

/// A payload with its sequence number and checksum.
type Stripped<'a> = (&'a [u8], Option<u8>, Option<u16>);

/// Split off the `[AY<d>]AZ<hex4>` trailer, verifying the checksum.
fn strip_trailer(body: &[u8]) -> Result<Stripped<'_>, DecodeError> {
    let n = body.len();
    let trailer = n
        .checked_sub(6)
        .and_then(|start| body.get(start..))
        .filter(|t| t.starts_with(b"AZ"))
        .and_then(|t| t.get(2..))
        .and_then(checksum::parse_hex4);
    let Some(found) = trailer else {
        return Ok((body, None, None));
    };
    let through_az = body.get(..n - 4).unwrap_or_default();
    let expected = checksum::checksum(through_az);
    if expected != found {
        return Err(DecodeError::BadChecksum { expected, found });
    }
    let rest = body.get(..n - 6).unwrap_or_default();
    match rest {
        [head @ .., b'A', b'Y', d] if d.is_ascii_digit() => Ok((head, Some(d - b'0'), Some(found))),
        _ => Ok((rest, None, Some(found))),
    }
}

/// Cut the first complete frame (through its `\r`) off the front of `buf`.
///
/// Returns `Some(frame)` (without the `\r`, with any leading `\n` removed) and drains it from
/// `buf`; `None` if no `\r` has arrived yet.
pub fn split_frame(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let cr = buf.iter().position(|&b| b == b'\r')?;
    let mut frame: Vec<u8> = buf.drain(..=cr).collect();
    frame.pop();
    let lfs = frame.iter().take_while(|&&b| b == b'\n').count();
    frame.drain(..lfs);
    Some(frame)
}
