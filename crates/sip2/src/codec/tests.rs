//! Property tests: every message type round-trips (encode → decode → equal) in every character
//! set with and without error detection; arbitrary, truncated and corrupted bytes give errors,
//! never panics.

use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const CHARSETS: [Charset; 3] = [Charset::Utf8, Charset::Gbk, Charset::Gb18030];

fn roundtrip(msg: &Message, charset: Charset, seq: Option<u8>) -> Result<(), TestCaseError> {
    let codec = Codec::new(charset);
    let bytes = codec.encode(msg, seq).map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
    prop_assert_eq!(bytes.last(), Some(&b'\r'));
    let frame = codec.decode(&bytes).map_err(|e| TestCaseError::fail(format!("decode {:?}: {e}", String::from_utf8_lossy(&bytes))))?;
    prop_assert_eq!(&frame.message, msg);
    let resend = matches!(msg, Message::RequestAcsResend(_) | Message::RequestScResend(_));
    prop_assert_eq!(frame.sequence, if resend { None } else { seq });
    prop_assert_eq!(frame.checksum.is_some(), seq.is_some());
    // Canonical: encoding again gives the same bytes.
    prop_assert_eq!(codec.encode(&frame.message, frame.sequence.or(seq)).unwrap(), bytes.clone());
    // CRLF and a missing terminator are tolerated.
    let mut crlf = bytes.clone();
    crlf.push(b'\n');
    prop_assert_eq!(&codec.decode(&crlf).unwrap().message, msg);
    prop_assert_eq!(&codec.decode(&bytes[..bytes.len() - 1]).unwrap().message, msg);
    Ok(())
}

#[test]
fn every_message_type_round_trips() {
    let each = Message::arb_each();
    assert_eq!(each.len(), 31, "all SIP2 2.00 messages");
    for (name, strategy) in each {
        let mut runner = TestRunner::new(Config { cases: 96, ..Config::default() });
        let strat = (strategy, proptest::option::of(0u8..=9), 0usize..CHARSETS.len());
        runner.run(&strat, |(msg, seq, cs)| roundtrip(&msg, CHARSETS[cs], seq)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

proptest! {
    #![proptest_config(Config { cases: 512, ..Config::default() })]

    #[test]
    fn any_message_round_trips(msg in Message::arb(), seq in proptest::option::of(0u8..=9)) {
        for cs in CHARSETS {
            roundtrip(&msg, cs, seq)?;
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for cs in [Charset::Utf8, Charset::Gbk, Charset::Gb18030, Charset::Windows1252] {
            if let Ok(frame) = Codec::new(cs).decode(&bytes) {
                let _ = Codec::new(cs).encode(&frame.message, frame.sequence);
            }
        }
    }

    #[test]
    fn sip_looking_bytes_never_panic(code in proptest::sample::select(Message::CODES), rest in "[ -~张]{0,120}") {
        let bytes = format!("{code}{rest}").into_bytes();
        for cs in CHARSETS {
            if let Ok(frame) = Codec::new(cs).decode(&bytes) {
                let again = Codec::new(cs).encode(&frame.message, None).unwrap();
                prop_assert_eq!(Codec::new(cs).decode(&again).unwrap().message, frame.message);
            }
        }
    }

    #[test]
    fn prefixes_are_errors_or_messages(msg in Message::arb(), seq in proptest::option::of(0u8..=9)) {
        let codec = Codec::new(Charset::Utf8);
        let bytes = codec.encode(&msg, seq).unwrap();
        for cut in 0..bytes.len() {
            let _ = codec.decode(&bytes[..cut]);
        }
    }

    #[test]
    fn corrupted_checksummed_frames_are_rejected(msg in Message::arb(), seq in 0u8..=9, pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let codec = Codec::new(Charset::Utf8);
        let mut bytes = codec.encode(&msg, Some(seq)).unwrap();
        let body_len = bytes.len() - 1; // keep the CR
        let i = pos.index(body_len);
        let before = bytes[i];
        bytes[i] = bytes[i].wrapping_add(delta);
        // Checksum digits are read as hex in either case (some systems send lower case), so
        // flipping a hex letter's case is no corruption.
        prop_assume!(!(before.is_ascii_hexdigit() && bytes[i].is_ascii_hexdigit() && before.eq_ignore_ascii_case(&bytes[i])));
        // Either the trailer is no longer recognisable (then the frame may parse as a message
        // without error detection, or fail), or it is and the sum is off.
        match codec.decode(&bytes) {
            Err(_) => {}
            Ok(frame) => prop_assert!(frame.checksum.is_none(), "corruption at {i} accepted: {:?}", String::from_utf8_lossy(&bytes)),
        }
    }
}

#[test]
fn typed_errors() {
    let c = Codec::new(Charset::Utf8);
    assert!(matches!(c.decode(b"941AY0AZFDFE\r"), Err(DecodeError::BadChecksum { expected: 0xFDFD, found: 0xFDFE })));
    assert!(matches!(c.decode(b"XX\r"), Err(DecodeError::UnknownCommand(_))));
    assert!(matches!(c.decode(b"42\r"), Err(DecodeError::UnknownCommand(_))));
    assert!(matches!(c.decode(b"\r"), Err(DecodeError::Empty)));
    assert!(matches!(c.decode(b""), Err(DecodeError::Empty)));
    assert!(matches!(c.decode(b"9"), Err(DecodeError::Garbage(_))));
    assert!(matches!(
        c.decode(b"6400120261128"),
        Err(DecodeError::Truncated { command: "64", field: "patron_status", .. }) | Err(DecodeError::MalformedFixed { .. })
    ));
    assert!(matches!(
        c.decode(b"24              00120261128"),
        Err(DecodeError::Truncated { command: "24", field: "transaction_date", needed: 18, available: 8 })
    ));
    assert!(matches!(c.decode(b"94X\r"), Err(DecodeError::MalformedFixed { command: "94", field: "ok", .. })));
    assert!(matches!(
        c.decode(b"18xx0201xxxxxxxx    125723AB1|AJt|\r"),
        Err(DecodeError::MalformedFixed { field: "circulation_status", .. })
    ));
    assert!(matches!(c.decode(b"941\rjunk\r"), Err(DecodeError::Garbage(_))));
    assert!(matches!(c.decode(b"94\x001\r"), Err(DecodeError::Garbage(_))));
    assert!(matches!(c.decode(b"36Y20261128    125723AO\xff|AA1|\r"), Err(DecodeError::BadCharset { .. })));
    assert!(matches!(c.decode(b"36Y20261128    125723\xe5\xbc|AA1|\r"), Err(DecodeError::Garbage(_))));
    // Valid GBK is not valid UTF-8, and vice versa for stray lead bytes.
    let gbk = Codec::new(Charset::Gbk);
    assert!(matches!(gbk.decode(b"36Y20261128    125723AE\x81|\r"), Ok(_) | Err(DecodeError::BadCharset { .. })));
    assert!(matches!(gbk.decode(b"36Y20261128    125723AO\x81"), Err(DecodeError::BadCharset { .. })));
}

#[test]
fn lenient_reading() {
    let c = Codec::new(Charset::Utf8);
    // Last field without '|' before the trailer, unknown fields, a stray '|', CRLF.
    let mut body = b"36Y20261128    125723AOUNIV||AA2021001|ZZvendor|AFbye".to_vec();
    body.extend_from_slice(b"AY3AZ");
    let ck = checksum::checksum_hex(&body);
    body.extend_from_slice(&ck);
    body.extend_from_slice(b"\r\n");
    let f = c.decode(&body).unwrap();
    assert_eq!(f.sequence, Some(3));
    let Message::EndSessionResponse(m) = f.message else { panic!() };
    assert!(m.end_session);
    assert_eq!(m.institution_id, "UNIV");
    assert_eq!(m.patron_identifier, "2021001");
    assert_eq!(m.screen_message, vec!["bye".to_string()]);
    assert_eq!(m.extra, vec![("ZZ".to_string(), "vendor".to_string())]);
    // Missing required fields read as empty; duplicates of a single field go to `extra`.
    let f = c.decode(b"36N20261128    125723AA1|AA2|\r").unwrap();
    let Message::EndSessionResponse(m) = f.message else { panic!() };
    assert_eq!(m.institution_id, "");
    assert_eq!(m.patron_identifier, "1");
    assert_eq!(m.extra, vec![("AA".to_string(), "2".to_string())]);
    // Trailing blanks before the CR.
    let f = c.decode(b"36Y20261128    125723AOUNIV|AA1|  \r").unwrap();
    assert_eq!(f.message.extra(), &[]);
    // Lower-case checksum, blank counts, space-padded numbers.
    let f = c.decode(b"941AY0AZfdfd\r").unwrap();
    assert_eq!(f.checksum, Some(0xFDFD));
    let f = c.decode(b"64              00120261128    125723        0002  1 00000000AOX|AAY|AEZ|\r").unwrap();
    let Message::PatronInformationResponse(m) = f.message else { panic!() };
    assert_eq!(m.hold_items_count, None);
    assert_eq!(m.overdue_items_count, None);
    assert_eq!(m.charged_items_count, Some(2));
    assert_eq!(m.fine_items_count, Some(1));
}

#[test]
fn encode_rejects_what_cannot_be_sent() {
    let c = Codec::new(Charset::Gbk);
    let mut m = ItemInformationRequest { item_identifier: "39|01".into(), ..Default::default() };
    assert!(matches!(c.encode(&m.clone().into(), None), Err(EncodeError::ForbiddenCharacter { .. })));
    m.item_identifier = "😀".into();
    assert!(matches!(c.encode(&m.clone().into(), None), Err(EncodeError::Unencodable { .. })));
    m.item_identifier = "ok".into();
    m.extra = vec![("A".into(), "x".into())];
    assert!(matches!(c.encode(&m.clone().into(), None), Err(EncodeError::BadFieldId(_))));
    m.extra.clear();
    assert!(matches!(c.encode(&m.clone().into(), Some(10)), Err(EncodeError::BadSequence(10))));
    let s = ScStatusRequest { protocol_version: "2.0".into(), ..Default::default() };
    assert!(matches!(c.encode(&s.into(), None), Err(EncodeError::BadFixed { .. })));
    let s = ScStatusRequest { status_code: 10, protocol_version: "2.00".into(), ..Default::default() };
    assert!(matches!(c.encode(&s.into(), None), Err(EncodeError::BadFixed { .. })));
}

#[test]
fn resend_messages() {
    let c = Codec::new(Charset::Utf8);
    assert_eq!(c.encode(&RequestScResend::default().into(), Some(4)).unwrap(), b"96AZFEF6\r");
    assert_eq!(c.encode(&RequestAcsResend::default().into(), Some(4)).unwrap(), b"97AZFEF5\r");
    assert_eq!(c.encode(&RequestAcsResend::default().into(), None).unwrap(), b"97\r");
    assert_eq!(c.decode(b"96AZFEF6\r").unwrap().message, RequestScResend::default().into());
}

#[test]
fn stream_splitting() {
    let mut buf = b"941AY0AZFDFD\r\n98YY".to_vec();
    assert_eq!(split_frame(&mut buf).unwrap(), b"941AY0AZFDFD");
    assert_eq!(buf, b"\n98YY");
    assert!(split_frame(&mut buf).is_none());
    buf.extend_from_slice(b"\r");
    assert_eq!(split_frame(&mut buf).unwrap(), b"98YY");
    assert!(buf.is_empty());
}
