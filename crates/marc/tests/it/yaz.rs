//! Cross-check decoding against YAZ: our fields, rendered in `yaz-marcdump -o line`
//! format, must equal what `yaz-marcdump -f MARC-8 -t UTF-8 -o line FILE` prints
//! (MARC-8 files) or `yaz-marcdump -o line FILE` (UTF-8 files).
//!
//! yaz emits decomposed diacritics (o + U+0304) for MARC-8 input while we
//! NFC-normalise MARC-8 output, so yaz lines for MARC-8 files are NFC-normalised
//! before comparing (UTF-8 files are compared byte for byte).
//! Skipped, loudly, when yaz-marcdump is not installed (`apt-get install yaz`).

use std::process::Command;

use marc::{Field, Reader, Record, XmlReader};
use unicode_normalization::UnicodeNormalization;

use crate::common::{FILES, path, read};

fn yaz_lines(name: &str, marc8: bool) -> Option<Vec<Vec<String>>> {
    let mut cmd = Command::new("yaz-marcdump");
    if marc8 {
        cmd.args(["-f", "MARC-8", "-t", "UTF-8"]);
    }
    cmd.args(["-o", "line"]).arg(path(name));
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "\n!!!!!!!! SKIPPING yaz cross-check: cannot run yaz-marcdump ({e}).\n\
                 !!!!!!!! Install it with: apt-get install -y --no-install-recommends yaz\n"
            );
            return None;
        }
    };
    assert!(out.status.success(), "yaz-marcdump failed on {name}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("yaz output is UTF-8");
    // Records are separated by blank lines; yaz diagnostics ("(Length implementation
    // … Assuming 0)") come first, then the leader line, then one line per field.
    let recs = text
        .split("\n\n")
        .filter(|r| !r.trim().is_empty())
        .map(|r| {
            r.lines()
                .skip_while(|l| l.starts_with('('))
                .skip(1)
                .map(|l| if marc8 { l.nfc().collect::<String>() } else { l.to_string() })
                .collect()
        })
        .collect();
    Some(recs)
}

/// Render a record like `yaz-marcdump -o line`.
fn our_lines(r: &Record) -> Vec<String> {
    r.fields
        .iter()
        .map(|f| match f {
            Field::Control(c) => format!("{} {}", c.tag, c.value),
            Field::Data(d) => {
                let mut s = format!("{} {}{}", d.tag, d.ind1, d.ind2);
                for sf in &d.subfields {
                    s.push_str(&format!(" ${} {}", sf.code, sf.value));
                }
                s
            }
        })
        .collect()
}

#[test]
fn decoding_matches_yaz_marcdump() {
    let mut compared_245_880 = 0;
    let mut compared_lines = 0;
    for (name, _) in FILES {
        let marc8 = name.contains("marc8");
        let Some(yaz) = yaz_lines(name, marc8) else {
            return;
        };
        let data = read(name);
        let ours: Vec<Record> = Reader::new(&data).map(|r| r.expect("record")).collect();
        assert_eq!(yaz.len(), ours.len(), "{name}: record count");
        for (i, (y, o)) in yaz.iter().zip(&ours).enumerate() {
            let o = our_lines(o);
            assert_eq!(y.len(), o.len(), "{name} record {i}: field count\nyaz:  {y:#?}\nours: {o:#?}");
            for (yl, ol) in y.iter().zip(&o) {
                assert_eq!(yl, ol, "{name} record {i}");
                if yl.starts_with("245 ") || yl.starts_with("880 ") {
                    compared_245_880 += 1;
                }
                compared_lines += 1;
            }
        }
    }
    eprintln!("yaz cross-check: {compared_lines} field lines equal ({compared_245_880} of them 245/880)");
}

/// yaz's MARCXML output, read by our XML reader, equals our ISO 2709 reading.
#[test]
fn yaz_marcxml_reads_back_identically() {
    let mut n = 0;
    for (name, _) in FILES {
        let marc8 = name.contains("marc8");
        let mut cmd = Command::new("yaz-marcdump");
        if marc8 {
            cmd.args(["-f", "MARC-8", "-t", "UTF-8"]);
        }
        let out = match cmd.args(["-o", "marcxml"]).arg(path(name)).output() {
            Ok(o) => o,
            Err(e) => {
                eprintln!("\n!!!!!!!! SKIPPING yaz MARCXML cross-check: cannot run yaz-marcdump ({e}).\n");
                return;
            }
        };
        assert!(out.status.success(), "{name}");
        let from_xml: Vec<Record> = XmlReader::new(&out.stdout).map(|r| r.expect("yaz MARCXML record")).collect();
        let data = read(name);
        let ours: Vec<Record> = Reader::new(&data).map(|r| r.expect("record")).collect();
        assert_eq!(from_xml.len(), ours.len(), "{name}");
        for (x, o) in from_xml.iter().zip(&ours) {
            let mut x = x.clone();
            if marc8 {
                for f in &mut x.fields {
                    match f {
                        Field::Control(c) => c.value = c.value.nfc().collect(),
                        Field::Data(d) => d.subfields.iter_mut().for_each(|s| s.value = s.value.nfc().collect()),
                    }
                }
            }
            assert_eq!(x.fields, o.fields, "{name} {:?}", o.control_number());
            n += 1;
        }
    }
    eprintln!("yaz MARCXML cross-check: {n} records equal");
}
