//! A small XML tree reader for callback bodies. WeChat's XML is shallow and tiny, so a tree of
//! elements with text is all we need. DTDs are refused outright (XXE, billion laughs), only the
//! predefined entities are resolved, and depth and element count are capped.

use quick_xml::Reader;
use quick_xml::events::Event;

const MAX_DEPTH: usize = 16;
const MAX_ELEMENTS: usize = 2_000;

/// Why a body is not acceptable XML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML at byte {position}: {reason}")]
    Malformed { position: u64, reason: String },
    #[error("DOCTYPE declarations are not allowed")]
    Doctype,
    #[error("XML nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("XML has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("no root element")]
    Empty,
    #[error("text after the root element")]
    TrailingContent,
}

/// One element: its name, concatenated text/CDATA, and child elements in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Text of the first child with this name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Follows a path of child names.
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |el, n| el.child(n))
    }
}

/// Parses a document into its root element.
pub fn parse(input: &[u8]) -> Result<Element, XmlError> {
    let mut reader = Reader::from_reader(input);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let malformed = |reader: &Reader<&[u8]>, reason: String| XmlError::Malformed { position: reader.buffer_position(), reason };
    loop {
        // Events borrow from the input: nothing is copied until it lands in an element.
        let event = reader.read_event().map_err(|e| malformed(&reader, e.to_string()))?;
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(XmlError::TrailingContent);
            }
            Event::Start(start) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooManyElements);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                let name = String::from_utf8(start.name().as_ref().to_vec())
                    .map_err(|_| malformed(&reader, "element name is not UTF-8".into()))?;
                stack.push(Element { name, ..Default::default() });
            }
            Event::Empty(start) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError::TooManyElements);
                }
                let name = String::from_utf8(start.name().as_ref().to_vec())
                    .map_err(|_| malformed(&reader, "element name is not UTF-8".into()))?;
                let el = Element { name, ..Default::default() };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| malformed(&reader, "unexpected end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(text) => {
                let unescaped = text.unescape().map_err(|e| malformed(&reader, e.to_string()))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&unescaped),
                    None if unescaped.trim().is_empty() => {}
                    None => {
                        return Err(if root.is_some() {
                            XmlError::TrailingContent
                        } else {
                            malformed(&reader, "text outside the root element".into())
                        });
                    }
                }
            }
            Event::CData(data) => {
                let s = std::str::from_utf8(&data).map_err(|_| malformed(&reader, "CDATA is not UTF-8".into()))?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(s),
                    None => return Err(malformed(&reader, "CDATA outside the root element".into())),
                }
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(&reader, "unclosed element at end of input".into()));
    }
    root.ok_or(XmlError::Empty)
}

/// Writes `s` as CDATA, splitting any `]]>` so the section cannot be closed early.
pub fn cdata(out: &mut String, s: &str) {
    out.push_str("<![CDATA[");
    // Copied in runs between the `]]>`s found, which are rare; the scan is memchr's for `]`
    // (`]]>` is ASCII, so every index is a char boundary).
    let bytes = s.as_bytes();
    let (mut copied, mut from) = (0, 0);
    while let Some(i) = memchr::memchr(b']', &bytes[from..]).map(|j| from + j) {
        if bytes[i..].starts_with(b"]]>") {
            out.push_str(&s[copied..i]);
            out.push_str("]]]]><![CDATA[>");
            copied = i + 3;
        }
        from = i + 1;
    }
    out.push_str(&s[copied..]);
    out.push_str("]]>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_cdata_and_text() {
        let el = parse(b"<xml><A><![CDATA[x]]]]><![CDATA[>y]]></A><B>1 &amp; 2</B><C><D>d</D></C><E/></xml>").unwrap();
        assert_eq!(el.child_text("A"), Some("x]]>y"));
        assert_eq!(el.child_text("B"), Some("1 & 2"));
        assert_eq!(el.path(&["C", "D"]).map(|e| e.text.as_str()), Some("d"));
        assert_eq!(el.child_text("E"), Some(""));
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let bomb = b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><xml><A>&lol;</A></xml>";
        assert_eq!(parse(bomb), Err(XmlError::Doctype));
        assert!(parse(b"<xml><A>&lol;</A></xml>").is_err());
    }

    #[test]
    fn refuses_broken_documents() {
        for bad in [&b""[..], b"<xml>", b"<xml></yml>", b"<xml></xml><xml></xml>", b"plain text", b"<xml><a></xml>"] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert_eq!(parse(deep.as_bytes()), Err(XmlError::TooDeep));
    }

    #[test]
    fn cdata_escapes_terminator() {
        let mut s = String::new();
        cdata(&mut s, "a]]>b");
        let el = parse(format!("<x>{s}</x>").as_bytes()).unwrap();
        assert_eq!(el.text, "a]]>b");
        for text in ["]]>", "]]>]]>", "x]]]>y", "中]]>文", ""] {
            let mut s = String::new();
            cdata(&mut s, text);
            assert_eq!(parse(format!("<x>{s}</x>").as_bytes()).unwrap().text, text);
        }
    }
}
