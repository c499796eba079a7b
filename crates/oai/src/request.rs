//! Requests: the query string of an OAI-PMH GET (`verb=…&metadataPrefix=…`).

use crate::datestamp::{Datestamp, Granularity};

/// The arguments of a first `ListRecords` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListArgs {
    pub metadata_prefix: String,
    /// Only records changed at or after this time (sent at `granularity`).
    pub from: Option<Datestamp>,
    pub until: Option<Datestamp>,
    /// A set spec; empty or `None` harvests everything.
    pub set: Option<String>,
    pub granularity: Granularity,
}

/// What the harvester asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Identify,
    ListRecords(ListArgs),
    /// The next page of a list: a resumption token is the request's only argument.
    ResumeListRecords {
        token: String,
    },
}

impl Request {
    /// The query string (without `?`), arguments percent-encoded.
    pub fn query(&self) -> String {
        let mut q = Query::default();
        match self {
            Request::Identify => q.push("verb", "Identify"),
            Request::ListRecords(a) => {
                q.push("verb", "ListRecords");
                q.push("metadataPrefix", &a.metadata_prefix);
                if let Some(from) = a.from {
                    q.push("from", &from.format(a.granularity));
                }
                if let Some(until) = a.until {
                    q.push("until", &until.format(a.granularity));
                }
                if let Some(set) = a.set.as_deref().filter(|s| !s.is_empty()) {
                    q.push("set", set);
                }
            }
            Request::ResumeListRecords { token } => {
                q.push("verb", "ListRecords");
                q.push("resumptionToken", token);
            }
        }
        q.0
    }

    /// `base_url` with this request's query appended (`?` or `&` as the URL needs).
    pub fn url(&self, base_url: &str) -> String {
        let sep = if base_url.contains('?') { '&' } else { '?' };
        format!("{base_url}{sep}{}", self.query())
    }
}

#[derive(Default)]
struct Query(String);

impl Query {
    fn push(&mut self, key: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(key);
        self.0.push('=');
        for b in value.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => self.0.push(char::from(b)),
                _ => self.0.push_str(&format!("%{b:02X}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_encode_their_arguments() {
        assert_eq!(Request::Identify.url("http://h/oai"), "http://h/oai?verb=Identify");
        let first = Request::ListRecords(ListArgs {
            metadata_prefix: "marc21".into(),
            from: Datestamp::parse("2026-12-07T01:02:03Z"),
            until: None,
            set: Some("books:zh".into()),
            granularity: Granularity::Seconds,
        });
        assert_eq!(first.query(), "verb=ListRecords&metadataPrefix=marc21&from=2026-12-07T01%3A02%3A03Z&set=books%3Azh");
        let day = Request::ListRecords(ListArgs {
            metadata_prefix: "marc21".into(),
            from: Datestamp::parse("2026-12-07T01:02:03Z"),
            until: None,
            set: Some(String::new()),
            granularity: Granularity::Day,
        });
        assert_eq!(day.url("http://h/cgi?db=x"), "http://h/cgi?db=x&verb=ListRecords&metadataPrefix=marc21&from=2026-12-07");
        let next = Request::ResumeListRecords { token: "a b/c+d=".into() };
        assert_eq!(next.query(), "verb=ListRecords&resumptionToken=a%20b%2Fc%2Bd%3D");
    }
}
