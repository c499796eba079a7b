//! The console's one CSV writer. Every export goes through [`Sheet`], which neutralises formula
//! cells: readers type search queries, suggestion titles and questions, and a spreadsheet opening
//! the export would run a cell such as `=HYPERLINK("http://x","y")` or `@SUM(1)` as a formula
//! (CSV injection). As OWASP's guidance says, a cell that starts with `=`, `+`, `-`, `@`, a tab or
//! a carriage return (or their full-width forms, which some spreadsheets read alike) gets a single
//! quote in front, so it is shown as the text it is.

use std::borrow::Cow;

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::ConsoleError;

/// The characters a spreadsheet may read as the start of a formula.
const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];

/// `cell` as it is safe to put in an export: with a `'` in front when it could start a formula.
/// A plain number (`-3`, `-0.5`) is no formula and stays a number.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    let plain_number = cell
        .strip_prefix('-')
        .is_some_and(|d| d.starts_with(|c: char| c.is_ascii_digit()) && d.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    if cell.starts_with(FORMULA_STARTS) && !plain_number { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// A CSV export being written: rows of neutralised cells.
pub struct Sheet {
    w: csv::Writer<Vec<u8>>,
    rows: usize,
    bom: bool,
}

impl Sheet {
    /// A sheet without a byte-order mark.
    pub fn new() -> Self {
        Self { w: csv::Writer::from_writer(Vec::new()), rows: 0, bom: false }
    }

    /// A sheet that starts with a UTF-8 byte-order mark, so that spreadsheet programs read the
    /// Chinese in it correctly.
    pub fn with_bom() -> Self {
        Self { bom: true, ..Self::new() }
    }

    /// Writes one row, every cell neutralised.
    pub fn row<I, S>(&mut self, cells: I) -> Result<(), ConsoleError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells.into_iter().map(|c| neutralise(c.as_ref()).into_owned()).collect();
        self.w.write_record(&cells)?;
        self.rows += 1;
        Ok(())
    }

    /// The rows written so far, the header included.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The bytes of the sheet.
    pub fn into_bytes(self) -> Result<Vec<u8>, ConsoleError> {
        let bytes = self.w.into_inner()?;
        if !self.bom {
            return Ok(bytes);
        }
        let mut body = "\u{feff}".as_bytes().to_vec();
        body.extend(bytes);
        Ok(body)
    }

    /// The sheet as a `text/csv` response, a download named `filename` when given.
    pub fn into_response(self, filename: Option<&str>) -> Result<Response, ConsoleError> {
        let body = self.into_bytes()?;
        let mut r = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response();
        if let Some(name) = filename
            && let Ok(v) = header::HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        {
            r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        Ok(r)
    }
}

impl Default for Sheet {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_get_a_quote_and_plain_text_and_numbers_do_not() {
        for cell in ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(1)", "+1", "-1+2", "\tx", "\rx", "＝1+1", "＋1", "－1", "＠SUM(1)", "-"] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell:?}");
        }
        for cell in ["图书馆", "a=1", "", "12", "-3", "-0.5", "'already"] {
            assert_eq!(neutralise(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn a_sheet_quotes_as_csv_after_neutralising() {
        let mut s = Sheet::with_bom();
        s.row(["query", "count"]).unwrap();
        s.row(["=HYPERLINK(\"http://x\",\"y\")", "2"]).unwrap();
        assert_eq!(s.rows(), 2);
        let text = String::from_utf8(s.into_bytes().unwrap()).unwrap();
        assert_eq!(text, "\u{feff}query,count\n\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",2\n");
    }
}
