//! Damaged input: the good records still load; each problem is reported with its
//! byte offset, record index and reason; nothing panics.

use marc::{ErrorReason, Reader, Record, RecordError};
use proptest::prelude::*;

use crate::common::read;

/// The first `n` records of the English LC file as separate byte vectors.
fn sample(n: usize) -> Vec<Vec<u8>> {
    let data = read("lc-books2016-en-4000.mrc");
    let mut out = Vec::new();
    let mut reader = Reader::new(&data);
    while let Some(Ok(r)) = reader.next_detailed() {
        out.push(data[r.offset..r.offset + r.length].to_vec());
        if out.len() == n {
            break;
        }
    }
    out
}

fn offsets(recs: &[Vec<u8>]) -> Vec<usize> {
    recs.iter()
        .scan(0, |acc, r| {
            let o = *acc;
            *acc += r.len();
            Some(o)
        })
        .collect()
}

fn read_all(data: &[u8]) -> (Vec<Record>, Vec<RecordError>, Vec<marc::Warning>) {
    let mut reader = Reader::new(data);
    let (mut ok, mut err) = (Vec::new(), Vec::new());
    for item in reader.by_ref() {
        match item {
            Ok(r) => ok.push(r),
            Err(e) => err.push(e),
        }
    }
    (ok, err, reader.take_warnings())
}

fn ids(recs: &[Record]) -> Vec<String> {
    recs.iter().map(|r| r.control_number().unwrap_or("").to_string()).collect()
}

fn clean_ids(recs: &[Vec<u8>]) -> Vec<String> {
    ids(&read_all(&recs.concat()).0)
}

#[test]
fn newlines_and_crlf_between_records_are_silent() {
    let recs = sample(10);
    let mut data = Vec::new();
    for r in &recs {
        data.extend_from_slice(r);
        data.extend_from_slice(b"\r\n");
    }
    let (ok, err, warn) = read_all(&data);
    assert_eq!(ids(&ok), clean_ids(&recs));
    assert!(err.is_empty() && warn.is_empty(), "{err:?} {warn:?}");
}

#[test]
fn junk_between_records_is_reported_and_skipped() {
    let recs = sample(10);
    let offs = offsets(&recs);
    let mut data = recs[..3].concat();
    data.extend_from_slice(b"GARBAGE\x01\xff!");
    data.extend_from_slice(&recs[3..].concat());
    let (ok, err, _) = read_all(&data);
    assert_eq!(ids(&ok), clean_ids(&recs));
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].offset, offs[3]);
    assert_eq!(err[0].index, 3, "junk carries the index of the record it precedes");
    assert_eq!(err[0].reason, ErrorReason::Junk { len: 10 });
    assert!(err[0].to_string().contains(&format!("offset {}", offs[3])));
}

#[test]
fn truncated_last_record() {
    let recs = sample(6);
    let offs = offsets(&recs);
    let mut data = recs.concat();
    let cut = offs[5] + recs[5].len() / 2;
    data.truncate(cut);
    let (ok, err, _) = read_all(&data);
    assert_eq!(ids(&ok), clean_ids(&recs[..5]));
    assert_eq!(err.len(), 1);
    assert_eq!((err[0].offset, err[0].index), (offs[5], 5));
    assert!(matches!(err[0].reason, ErrorReason::Truncated { available, .. } if available == cut - offs[5]));
    // Cut inside the leader too.
    let (ok, err, _) = read_all(&data[..offs[5] + 10]);
    assert_eq!(ok.len(), 5);
    assert!(matches!(err[..], [RecordError { reason: ErrorReason::Truncated { .. }, .. }]), "{err:?}");
}

#[test]
fn truncated_record_in_the_middle() {
    let recs = sample(8);
    let offs = offsets(&recs);
    let mut data = recs[..3].concat();
    data.extend_from_slice(&recs[3][..recs[3].len() - 200]);
    data.extend_from_slice(&recs[4..].concat());
    let (ok, err, _) = read_all(&data);
    let mut want = clean_ids(&recs);
    want.remove(3);
    assert_eq!(ids(&ok), want);
    assert_eq!(err.len(), 1, "{err:?}");
    assert_eq!((err[0].offset, err[0].index), (offs[3], 3));
    assert!(matches!(err[0].reason, ErrorReason::Truncated { .. }));
}

#[test]
fn wrong_record_length_falls_back_to_terminator() {
    let recs = sample(10);
    let offs = offsets(&recs);
    for bad in [&b"99999"[..], b"00100", b"00000"] {
        let mut data = recs.concat();
        data[offs[4]..offs[4] + 5].copy_from_slice(bad);
        let (ok, err, warn) = read_all(&data);
        assert_eq!(ids(&ok), clean_ids(&recs), "length {bad:?}");
        assert!(err.is_empty(), "{err:?}");
        assert_eq!(warn.len(), 1);
        assert_eq!((warn[0].offset, warn[0].index), (offs[4], 4));
        assert!(warn[0].message.contains("record length"), "{}", warn[0]);
    }
    // A leader that is not a leader any more: reported as junk, the rest loads.
    let mut data = recs.concat();
    data[offs[4]..offs[4] + 5].copy_from_slice(b"0x1?3");
    let (ok, err, _) = read_all(&data);
    assert_eq!(ok.len(), 9);
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].offset, offs[4]);
    assert_eq!(err[0].reason, ErrorReason::Junk { len: recs[4].len() });
}

#[test]
fn corrupt_directory_entry() {
    let recs = sample(10);
    let offs = offsets(&recs);
    // Wrong length/offset digits: recovered by splitting on field terminators.
    let mut data = recs.concat();
    let e = offs[6] + 24 + 12 * 2; // third directory entry
    data[e + 3..e + 12].copy_from_slice(b"999999999");
    let (ok, err, warn) = read_all(&data);
    assert!(err.is_empty(), "{err:?}");
    assert_eq!(ok.len(), 10);
    assert_eq!(ok[6], read_all(&recs[6]).0[0], "recovered record is identical");
    assert_eq!((warn.len(), warn[0].offset, warn[0].index), (1, offs[6], 6));
    assert!(warn[0].message.contains("entry 2"), "{}", warn[0]);

    // Destroyed tag: unrecoverable, reported with offset/index/reason.
    let mut data = recs.concat();
    data[e..e + 12].copy_from_slice(b"!!!!!!!!!!!!");
    let (ok, err, _) = read_all(&data);
    assert_eq!(ok.len(), 9);
    let mut want = clean_ids(&recs);
    want.remove(6);
    assert_eq!(ids(&ok), want);
    assert_eq!((err.len(), err[0].offset, err[0].index), (1, offs[6], 6));
    assert!(matches!(&err[0].reason, ErrorReason::BadDirectory(m) if m.contains("entry 2")), "{err:?}");

    // Directory/data mismatch (one field terminator removed): unrecoverable.
    let mut data = recs.concat();
    let rec = &recs[6];
    let base: usize = std::str::from_utf8(&rec[12..17]).unwrap().parse().unwrap();
    let ft = offs[6] + base + rec[base..].iter().position(|&b| b == 0x1e).unwrap();
    data[ft] = b' ';
    let (ok, err, _) = read_all(&data);
    assert_eq!((ok.len(), err.len()), (9, 1));
    assert!(matches!(err[0].reason, ErrorReason::BadDirectory(_)));
}

#[test]
fn wrong_base_address_is_recovered() {
    let recs = sample(3);
    let mut data = recs.concat();
    data[12..17].copy_from_slice(b"00031");
    let (ok, err, warn) = read_all(&data);
    assert_eq!(ids(&ok), clean_ids(&recs));
    assert!(err.is_empty());
    assert!(warn[0].message.contains("base address"));
}

#[test]
fn invalid_utf8_is_lossy_with_warning() {
    let recs = sample(1);
    let mut data = recs[0].clone();
    // First "$a" followed by a letter.
    let pos = data.windows(3).position(|w| w[0] == 0x1f && w[1] == b'a' && w[2].is_ascii_alphabetic()).unwrap_or(0);
    assert!(pos > 0);
    // Overwrite one character of some subfield value with an invalid byte.
    let mut rd = Reader::new(&data);
    let before = rd.next_detailed().unwrap().unwrap();
    assert!(before.warnings.is_empty());
    data[pos + 2] = 0xff;
    let mut rd = Reader::new(&data);
    let after = rd.next_detailed().unwrap().unwrap();
    assert_eq!(after.charset, marc::Charset::Utf8);
    assert_eq!(after.warnings.len(), 1, "{:?}", after.warnings);
    assert!(after.record.fields.iter().flat_map(|f| f.as_data()).flat_map(|d| &d.subfields).any(|s| s.value.contains('\u{FFFD}')));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Random byte flips, insertions and cuts: never a panic, always progress.
    #[test]
    fn mutated_files_never_panic(
        flips in proptest::collection::vec((0usize..20_000, any::<u8>()), 0..40),
        cut in 0usize..20_000,
    ) {
        let recs = sample(12);
        let mut data = recs.concat();
        for (pos, b) in flips {
            let len = data.len();
            data[pos % len] = b;
        }
        data.truncate(cut.max(1) + data.len() / 2);
        let mut n = 0;
        for item in Reader::new(&data) {
            let _ = item;
            n += 1;
            prop_assert!(n <= data.len());
        }
        for item in marc::XmlReader::new(&data) {
            let _ = item;
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        for item in Reader::new(&data) { let _ = item; }
        for cs in [marc::Charset::Marc8, marc::Charset::Gb18030, marc::Charset::Latin1] {
            let _ = marc::charset::decode(&data, cs);
        }
        for item in marc::XmlReader::new(&data) { let _ = item; }
    }
}
