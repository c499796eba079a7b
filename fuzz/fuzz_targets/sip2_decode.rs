//! Arbitrary bytes into the SIP2 codec (`crates/sip2`), as a reply from a library system reaches
//! the client. The first byte picks the character set (UTF-8, GBK, GB18030, Windows-1252).
//!
//! Asserts: decoding never panics; a decoded message re-encodes without panicking (with and
//! without error detection), and when it re-encodes, decoding that gives the same message back
//! (with a verified checksum when one was written); stream splitting and the lenient date
//! readers never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip2::codec::{Charset, Codec, SipDate, parse_due_date, split_frame};

const CHARSETS: [Charset; 4] = [Charset::Utf8, Charset::Gbk, Charset::Gb18030, Charset::Windows1252];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else { return };
    let codec = Codec::new(CHARSETS[usize::from(selector) % CHARSETS.len()]);

    if let Ok(frame) = codec.decode(input) {
        for seq in [None, frame.sequence, Some(selector % 10)] {
            if let Ok(bytes) = codec.encode(&frame.message, seq) {
                let again = codec.decode(&bytes).unwrap_or_else(|e| panic!("re-encoded frame does not decode: {e}: {bytes:?}"));
                assert_eq!(again.message, frame.message, "round trip changed the message: {bytes:?}");
                assert_eq!(again.checksum.is_some(), seq.is_some());
            }
        }
    }

    // The client's framing: cut frames out of a stream and decode each.
    let mut buf = input.to_vec();
    while let Some(f) = split_frame(&mut buf) {
        let _ = codec.decode(&f);
    }

    // Date readers.
    if let Ok(text) = std::str::from_utf8(input)
        && let Some(ts) = parse_due_date(text)
    {
        let _ = ts.to_iso();
        let _ = ts.days_since_epoch();
    }
    if let Some(d) = input.get(..18).and_then(SipDate::from_bytes) {
        let _ = d.timestamp();
    }
});
