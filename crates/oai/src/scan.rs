//! Reading a page whose XML is broken somewhere: find the records by their tags and read each one
//! on its own, so one bad record costs only itself.
//!
//! An OAI-PMH `<record>` is recognised as a `record` start tag whose next tag is a `header` start
//! tag; that tells it from a MARCXML `<record>` inside the metadata, which has no header. A
//! record runs to the start of the next one, or to the page's `resumptionToken` / end of
//! `ListRecords`. Only used after a strict read failed; on well-formed pages both reads agree
//! (tested below).

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::datestamp::Datestamp;
use crate::response::{ListRecordsPage, ResumptionToken, attr, record};

/// A tag found by scanning: where its `<` is, where it ends (after `>`), its local name, and
/// whether it is an end tag.
#[derive(Debug, Clone, Copy)]
struct Tag<'a> {
    start: usize,
    end: usize,
    local: &'a [u8],
    closing: bool,
    empty: bool,
}

/// Every tag in `xml`, skipping comments, CDATA sections, processing instructions and
/// declarations. A `<` that does not start a name (a stray `<` in text) is skipped.
fn tags(xml: &[u8]) -> impl Iterator<Item = Tag<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            let lt = at + xml.get(at..)?.iter().position(|&b| b == b'<')?;
            let rest = &xml[lt..];
            let skip_to = |pat: &[u8]| find(rest, pat).map(|i| lt + i + pat.len());
            if rest.starts_with(b"<!--") {
                at = skip_to(b"-->")?;
                continue;
            }
            if rest.starts_with(b"<![CDATA[") {
                at = skip_to(b"]]>")?;
                continue;
            }
            if rest.starts_with(b"<?") || rest.starts_with(b"<!") {
                at = skip_to(b">")?;
                continue;
            }
            let closing = rest.get(1) == Some(&b'/');
            let name_from = lt + 1 + usize::from(closing);
            let name_len = xml[name_from..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || b"_:.-".contains(&b)).count();
            if name_len == 0 {
                at = lt + 1;
                continue;
            }
            let name = &xml[name_from..name_from + name_len];
            let local = match name.iter().rposition(|&b| b == b':') {
                Some(colon) => &name[colon + 1..],
                None => name,
            };
            let gt = name_from
                + name_len
                + xml[name_from + name_len..].iter().position(|&b| b == b'>').unwrap_or(xml.len() - name_from - name_len);
            let end = (gt + 1).min(xml.len());
            let empty = gt > 0 && xml.get(gt - 1) == Some(&b'/');
            at = end;
            return Some(Tag { start: lt, end, local, closing, empty });
        }
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The page read record by record, or `None` when it does not even look like a `ListRecords`
/// page (then the strict reader's error stands).
pub(crate) fn lenient_page(xml: &[u8]) -> Option<ListRecordsPage> {
    let all: Vec<Tag<'_>> = tags(xml).collect();
    let root = all.iter().find(|t| !t.closing)?;
    if root.local != b"OAI-PMH" {
        return None;
    }
    let list = all.iter().position(|t| !t.closing && t.local == b"ListRecords")?;
    let response_date = all.iter().position(|t| !t.closing && t.local == b"responseDate").and_then(|i| {
        let open = all[i];
        let close = all[i + 1..].iter().find(|t| t.closing && t.local == b"responseDate")?;
        Datestamp::parse(&String::from_utf8_lossy(&xml[open.end..close.start]))
    });
    let tail = &all[list..];
    let starts: Vec<usize> = tail
        .windows(2)
        .filter(|w| !w[0].closing && !w[0].empty && w[0].local == b"record" && !w[1].closing && w[1].local == b"header")
        .map(|w| w[0].start)
        .collect();
    let token_tag = tail.iter().find(|t| !t.closing && t.local == b"resumptionToken").copied();
    let list_end = tail.iter().rev().find(|t| t.closing && t.local == b"ListRecords").map(|t| t.start);
    let stop = token_tag.map(|t| t.start).or(list_end).unwrap_or(xml.len());
    let records = starts
        .iter()
        .enumerate()
        .map(|(i, &from)| {
            let to = starts.get(i + 1).copied().unwrap_or(stop).max(from);
            record(&xml[from..to], i, from)
        })
        .collect();
    let resumption_token = token_tag.and_then(|t| resumption_token(xml, t, tail));
    Some(ListRecordsPage { response_date, records, resumption_token })
}

fn resumption_token(xml: &[u8], open: Tag<'_>, tail: &[Tag<'_>]) -> Option<ResumptionToken> {
    let end =
        if open.empty { open.end } else { tail.iter().find(|t| t.closing && t.local == b"resumptionToken" && t.start >= open.end)?.end };
    let mut reader = Reader::from_reader(&xml[open.start..end]);
    let mut token = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(s) | Event::Empty(s) if token.is_none() => {
                token = Some(ResumptionToken {
                    token: String::new(),
                    complete_list_size: attr(&s, b"completeListSize").and_then(|v| v.trim().parse().ok()),
                    cursor: attr(&s, b"cursor").and_then(|v| v.trim().parse().ok()),
                    expiration_date: attr(&s, b"expirationDate").and_then(|v| Datestamp::parse(&v)),
                });
            }
            Event::Text(t) => {
                if let Some(tok) = token.as_mut() {
                    tok.token.push_str(t.unescape().ok()?.trim());
                }
            }
            Event::Eof => return token,
            _ => {}
        }
    }
}

/// The first `<identifier>` text in a record's XML, for naming a broken record.
pub(crate) fn identifier_in(xml: &[u8]) -> Option<String> {
    let mut it = tags(xml);
    let open = it.find(|t| !t.closing && t.local == b"identifier")?;
    let close = it.find(|t| t.closing && t.local == b"identifier")?;
    let raw = String::from_utf8_lossy(xml.get(open.end..close.start)?);
    let text = quick_xml::escape::unescape(&raw).map(|s| s.into_owned()).unwrap_or_else(|_| raw.into_owned());
    Some(text.trim().to_owned()).filter(|s| !s.is_empty())
}
