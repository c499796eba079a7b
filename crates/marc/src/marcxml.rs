//! MARCXML (MARC21 slim schema) reading and writing.
//!
//! Reading uses quick-xml, which never expands DTD-declared entities or fetches
//! external ones (no XXE, no billion laughs): a reference to an undeclared entity
//! makes that one record an error. Elements are matched by local name, so both the
//! default-namespace form and `marc:`-prefixed documents are read; a bare `<record>`
//! root works as well as `<collection>`.
//!
//! Writing produces the slim schema used by SRU responses. Characters XML 1.0
//! cannot carry (C0 controls other than tab/LF/CR, U+FFFE/U+FFFF) are replaced by
//! U+FFFD; CR is written as a character reference so it survives parsing.

use quick_xml::events::{BytesStart, Event};

use crate::error::{ErrorReason, RecordError};
use crate::record::{ControlField, DataField, Field, Leader, Record, Subfield};

/// MARC21 slim namespace URI.
pub const MARCXML_NS: &str = "http://www.loc.gov/MARC21/slim";

/// Iterator over the `<record>` elements of a MARCXML document.
///
/// Per-record problems (missing `tag`, unknown entity) yield an `Err` for that record
/// and reading continues; malformed XML yields one `Err` and ends the iteration,
/// since there is no reliable way to resynchronise inside broken markup.
pub struct XmlReader<'a> {
    reader: quick_xml::Reader<&'a [u8]>,
    index: usize,
    done: bool,
}

impl<'a> XmlReader<'a> {
    pub fn new(data: &'a [u8]) -> XmlReader<'a> {
        let mut reader = quick_xml::Reader::from_reader(data);
        let cfg = reader.config_mut();
        cfg.expand_empty_elements = true;
        cfg.trim_text(false);
        XmlReader { reader, index: 0, done: false }
    }

    fn pos(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn fail(&mut self, offset: usize, msg: String) -> RecordError {
        let index = self.index;
        self.index += 1;
        RecordError { offset, index, reason: ErrorReason::Xml(msg) }
    }

    /// Read the body of one `<record>` (its start tag already consumed).
    fn read_record(&mut self, offset: usize) -> Result<Record, RecordError> {
        let mut record = Record::new(Leader::from_bytes_lossy(b""));
        let mut problem: Option<String> = None;
        // Which element's text is being collected.
        enum Ctx {
            None,
            Leader,
            Control(String),
            Sub(char),
        }
        let mut ctx = Ctx::None;
        let mut text = String::new();
        let mut current: Option<DataField> = None;
        loop {
            let ev = match self.reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    self.done = true;
                    return Err(self.fail(offset, format!("malformed XML at byte {}: {e}", self.pos())));
                }
            };
            match ev {
                Event::Start(e) => {
                    let name = e.local_name();
                    match name.as_ref() {
                        b"leader" => {
                            ctx = Ctx::Leader;
                            text.clear();
                        }
                        b"controlfield" => {
                            let tag = attr(&e, b"tag");
                            if tag.is_none() {
                                problem.get_or_insert_with(|| "controlfield without tag".into());
                            }
                            ctx = Ctx::Control(tag.unwrap_or_default());
                            text.clear();
                        }
                        b"datafield" => {
                            let tag = attr(&e, b"tag");
                            if tag.is_none() {
                                problem.get_or_insert_with(|| "datafield without tag".into());
                            }
                            let ind = |n: &[u8]| attr(&e, n).and_then(|s| s.chars().next()).unwrap_or(' ');
                            current = Some(DataField {
                                tag: tag.unwrap_or_default(),
                                ind1: ind(b"ind1"),
                                ind2: ind(b"ind2"),
                                subfields: Vec::new(),
                            });
                        }
                        b"subfield" => {
                            let code = attr(&e, b"code").and_then(|s| s.chars().next());
                            if code.is_none() {
                                problem.get_or_insert_with(|| "subfield without code".into());
                            }
                            ctx = Ctx::Sub(code.unwrap_or('?'));
                            text.clear();
                        }
                        _ => {}
                    }
                }
                Event::Text(t) if !matches!(ctx, Ctx::None) => match t.unescape() {
                    Ok(s) => text.push_str(&s),
                    Err(e) => {
                        problem.get_or_insert_with(|| format!("bad text: {e}"));
                    }
                },
                Event::CData(c) if !matches!(ctx, Ctx::None) => {
                    text.push_str(&String::from_utf8_lossy(&c.into_inner()));
                }
                Event::End(e) => {
                    let name = e.local_name();
                    match name.as_ref() {
                        b"leader" => {
                            // A short or long leader keeps the record (padded/cut):
                            // in MARCXML the leader is advisory.
                            record.leader = Leader::from_bytes_lossy(text.as_bytes());
                            ctx = Ctx::None;
                        }
                        b"controlfield" => {
                            if let Ctx::Control(tag) = std::mem::replace(&mut ctx, Ctx::None) {
                                record.fields.push(Field::Control(ControlField { tag, value: std::mem::take(&mut text) }));
                            }
                        }
                        b"subfield" => {
                            if let Ctx::Sub(code) = std::mem::replace(&mut ctx, Ctx::None)
                                && let Some(df) = current.as_mut()
                            {
                                df.subfields.push(Subfield { code, value: std::mem::take(&mut text) });
                            }
                        }
                        b"datafield" => {
                            if let Some(df) = current.take() {
                                record.fields.push(Field::Data(df));
                            }
                        }
                        b"record" => break,
                        _ => {}
                    }
                }
                Event::Eof => {
                    self.done = true;
                    return Err(self.fail(offset, "end of document inside <record>".into()));
                }
                _ => {}
            }
        }
        match problem {
            Some(p) => Err(self.fail(offset, p)),
            None => {
                self.index += 1;
                Ok(record)
            }
        }
    }
}

fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes().flatten().find(|a| a.key.local_name().as_ref() == name).and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

impl Iterator for XmlReader<'_> {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let before = self.pos();
            match self.reader.read_event() {
                Ok(Event::Start(e)) if e.local_name().as_ref() == b"record" => {
                    return Some(self.read_record(before));
                }
                Ok(Event::Eof) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    let pos = self.pos();
                    return Some(Err(self.fail(before, format!("malformed XML at byte {pos}: {e}"))));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Writer

fn escape_into(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' if attr => out.push_str(if c == '\t' { "&#9;" } else { "&#10;" }),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
}

/// Append one `<record>` element. With `namespace`, the element carries
/// `xmlns="…MARC21/slim"` (for embedding in SRU `recordData`).
pub fn write_record(out: &mut String, rec: &Record, namespace: bool) {
    if namespace {
        out.push_str("<record xmlns=\"");
        out.push_str(MARCXML_NS);
        out.push_str("\">");
    } else {
        out.push_str("<record>");
    }
    out.push_str("<leader>");
    escape_into(out, rec.leader.as_str(), false);
    out.push_str("</leader>");
    for f in &rec.fields {
        match f {
            Field::Control(c) => {
                out.push_str("<controlfield tag=\"");
                escape_into(out, &c.tag, true);
                out.push_str("\">");
                escape_into(out, &c.value, false);
                out.push_str("</controlfield>");
            }
            Field::Data(d) => {
                out.push_str("<datafield tag=\"");
                escape_into(out, &d.tag, true);
                out.push_str("\" ind1=\"");
                escape_into(out, &d.ind1.to_string(), true);
                out.push_str("\" ind2=\"");
                escape_into(out, &d.ind2.to_string(), true);
                out.push_str("\">");
                for s in &d.subfields {
                    out.push_str("<subfield code=\"");
                    escape_into(out, &s.code.to_string(), true);
                    out.push_str("\">");
                    escape_into(out, &s.value, false);
                    out.push_str("</subfield>");
                }
                out.push_str("</datafield>");
            }
        }
    }
    out.push_str("</record>");
}

/// One record as a standalone `<record xmlns=…>` element (no XML declaration).
pub fn to_marcxml_record(rec: &Record) -> String {
    let mut out = String::new();
    write_record(&mut out, rec, true);
    out
}

/// A complete MARCXML document: declaration plus `<collection>`.
pub fn to_marcxml_collection(records: &[Record]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<collection xmlns=\"");
    out.push_str(MARCXML_NS);
    out.push_str("\">\n");
    for r in records {
        write_record(&mut out, r, false);
        out.push('\n');
    }
    out.push_str("</collection>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prefixed_and_escaped() {
        let xml = r#"<?xml version="1.0"?>
<marc:collection xmlns:marc="http://www.loc.gov/MARC21/slim">
 <marc:record>
  <marc:leader>00000nam a2200000   4500</marc:leader>
  <marc:controlfield tag="001">x&amp;y</marc:controlfield>
  <marc:datafield tag="245" ind1="1" ind2="0"><marc:subfield code="a">A &lt;b&gt; <![CDATA[c&d]]></marc:subfield></marc:datafield>
 </marc:record>
</marc:collection>"#;
        let recs: Vec<_> = XmlReader::new(xml.as_bytes()).collect();
        assert_eq!(recs.len(), 1);
        let r = recs.into_iter().next().and_then(Result::ok).expect("ok");
        assert_eq!(r.control("001"), Some("x&y"));
        assert_eq!(r.subfield("245", 'a'), Some("A <b> c&d"));
    }

    #[test]
    fn entities_are_not_expanded() {
        let xml = r#"<?xml version="1.0"?>
<!DOCTYPE collection [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY lol "lol">]>
<collection><record><leader>00000nam a2200000   4500</leader>
<controlfield tag="001">&xxe;&lol;</controlfield></record>
<record><leader>00000nam a2200000   4500</leader><controlfield tag="001">ok</controlfield></record></collection>"#;
        let recs: Vec<_> = XmlReader::new(xml.as_bytes()).collect();
        assert_eq!(recs.len(), 2);
        assert!(recs[0].is_err(), "{:?}", recs[0]);
        assert_eq!(recs[1].as_ref().ok().and_then(|r| r.control("001")), Some("ok"));
    }

    #[test]
    fn malformed_stops_with_error() {
        let recs: Vec<_> = XmlReader::new(b"<collection><record><leader>x</lead").collect();
        assert_eq!(recs.len(), 1);
        assert!(recs[0].is_err());
    }

    #[test]
    fn writer_escapes() {
        let mut r = Record::default();
        r.push_data(DataField::new("245", '1', '0').with('a', "a&b<c>\"\r\u{1}"));
        let x = to_marcxml_collection(std::slice::from_ref(&r));
        assert!(x.contains("a&amp;b&lt;c&gt;\"&#13;\u{FFFD}"));
        let back: Vec<_> = XmlReader::new(x.as_bytes()).collect();
        assert_eq!(back[0].as_ref().ok().and_then(|r| r.subfield("245", 'a')), Some("a&b<c>\"\r\u{FFFD}"));
    }
}
