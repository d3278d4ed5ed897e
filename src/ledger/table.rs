//! The one reader behind every `.csv` ledger: encoding detection, RFC 4180 records, the
//! header check, and cell errors that point at `path:line:column`.
//!
//! Offices keep their registers in spreadsheets and export them as CSV, in UTF-8 (with or
//! without a BOM) or in CP932 when the export is "CSV (comma separated)" of a Japanese
//! Excel. The reader decodes the whole file once (registers are small), then hands each
//! table parser rows of trimmed cells that know their 1-based line in the file, so every
//! validation error can name the exact cell a clerk has to correct.
//!
//! Conventions a reviewer would expect from a spreadsheet export, and that the parsers
//! rely on:
//! * the header is the first non-blank record, compared trimmed and in order with the
//!   column list of `ledgers.md`;
//! * blank lines, and records whose cells are all empty (`,,,` rows), are skipped;
//! * extra trailing cells are tolerated when empty and rejected otherwise;
//! * a row with fewer cells than the header reads the missing trailing cells as empty, so
//!   an optional last column (a terminal's `calendar`, a form's `target_code`) may be left
//!   out, and a missing required cell is reported by the column's own check;
//! * the column of an error is the 1-based cell number, as a spreadsheet counts columns.

use std::path::{Path, PathBuf};

use encoding_rs::SHIFT_JIS;

use super::LedgerError;
use crate::normalize::csv::Cursor;

/// The UTF-8 byte-order mark some spreadsheet exports start with.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes a ledger file: UTF-8 BOM → UTF-8; valid UTF-8 → UTF-8; else CP932.
///
/// `encoding_rs::SHIFT_JIS` is the WHATWG Shift_JIS decoder, which is the Windows-31J
/// (CP932) mapping, NEC and IBM extensions included. Bytes that neither encoding accepts
/// are an error naming the first line that holds them.
///
/// Takes the bytes by value so that UTF-8 (the common case) becomes text without a copy:
/// a request register can be a hundred megabytes.
pub(crate) fn decode(path: &Path, mut bytes: Vec<u8>) -> Result<String, LedgerError> {
    if bytes.starts_with(UTF8_BOM) {
        // A BOM is an explicit claim of UTF-8: do not fall back to CP932 behind it.
        bytes.drain(..UTF8_BOM.len());
        return String::from_utf8(bytes).map_err(|e| LedgerError::Line {
            path: path.to_owned(),
            line: line_of(e.as_bytes(), e.utf8_error().valid_up_to()),
            message: "invalid UTF-8 after a UTF-8 byte-order mark".into(),
        });
    }
    let bytes = match String::from_utf8(bytes) {
        Ok(s) => return Ok(s),
        Err(e) => e.into_bytes(),
    };
    let bytes = bytes.as_slice();
    if let Some(s) = SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes) {
        return Ok(s.into_owned());
    }
    // Locate the first bad line. Splitting at `\n` is safe in CP932: 0x0A is never the
    // second byte of a double-byte character.
    let mut line = 1;
    for (i, chunk) in bytes.split(|&b| b == b'\n').enumerate() {
        if SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(chunk)
            .is_none()
        {
            line = i as u64 + 1;
            break;
        }
    }
    Err(LedgerError::Line {
        path: path.to_owned(),
        line,
        message: "bytes that are neither UTF-8 nor CP932 (Shift_JIS)".into(),
    })
}

/// The 1-based line holding byte `offset` of `bytes`.
fn line_of(bytes: &[u8], offset: usize) -> u64 {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

/// Reads a file and decodes it as [`decode`] does.
pub(crate) fn read_text(path: &Path) -> Result<String, LedgerError> {
    let bytes = std::fs::read(path).map_err(|source| LedgerError::Io {
        path: path.to_owned(),
        source,
    })?;
    decode(path, bytes)
}

/// One data row: its cells (trimmed when read), as many as the header has columns.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// 1-based line of the row's first character in the file (the header is line 1).
    pub line: u64,
    record: csv::StringRecord,
    columns: usize,
}

impl Row {
    /// The trimmed cell of 0-based column `col` (empty past the row's end).
    pub fn cell(&self, col: usize) -> &str {
        if col >= self.columns {
            return "";
        }
        self.record.get(col).map_or("", str::trim)
    }
}

/// A CSV ledger after the header check: its rows and what is needed to name a cell.
#[derive(Debug)]
pub(crate) struct Table {
    pub path: PathBuf,
    pub columns: &'static [&'static str],
    pub rows: Vec<Row>,
}

impl Table {
    /// Reads, decodes and splits `path`, checking the header against `columns`.
    pub fn read(path: &Path, columns: &'static [&'static str]) -> Result<Table, LedgerError> {
        let text = read_text(path)?;
        Table::parse(path, &text, columns)
    }

    /// Splits already decoded text (a leading BOM, if still there, is ignored).
    pub fn parse(
        path: &Path,
        text: &str,
        columns: &'static [&'static str],
    ) -> Result<Table, LedgerError> {
        let mut rows = Vec::new();
        let mut table = Table::scan(path, text, columns, |_, row| {
            rows.push(row.clone());
            Ok(())
        })?;
        table.rows = rows;
        Ok(table)
    }

    /// Reads `path` row by row without keeping the rows: for registers of millions of rows
    /// (the request register), where a `Vec` of every cell would cost gigabytes. The
    /// returned table has no rows.
    pub fn stream(
        path: &Path,
        columns: &'static [&'static str],
        each: impl FnMut(&Table, &Row) -> Result<(), LedgerError>,
    ) -> Result<Table, LedgerError> {
        let text = read_text(path)?;
        Table::scan(path, &text, columns, each)
    }

    fn scan(
        path: &Path,
        text: &str,
        columns: &'static [&'static str],
        mut each: impl FnMut(&Table, &Row) -> Result<(), LedgerError>,
    ) -> Result<Table, LedgerError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let table = Table {
            path: path.to_owned(),
            columns,
            rows: Vec::new(),
        };
        let mut header_seen = false;
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(table.csv_error(&e)),
            }
            let start = record.position();
            let line = start.map_or(1, |p| record_line(text.as_bytes(), p));
            // The `csv` reader ends a quoted cell left open at the end of the file without
            // an error, so the rest of the file becomes that cell and the row's later cells
            // read as empty. Name the quote, not the empty cells it swallowed.
            if reader.position().byte() >= text.len() as u64
                && let Some(start) = start.map(|p| p.byte() as usize)
                && let Some((at, column)) =
                    unclosed_quote(text.as_bytes().get(start..).unwrap_or_default())
            {
                let at = start + at;
                return Err(table.error(
                    line_of(text.as_bytes(), at),
                    column,
                    "a quoted cell is opened here and never closed: add the closing `\"`".into(),
                ));
            }
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if !header_seen {
                let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
                table.check_header(line, &cells)?;
                header_seen = true;
                continue;
            }
            let row = table.row(line, std::mem::take(&mut record))?;
            each(&table, &row)?;
            record = row.record;
        }
        if !header_seen {
            return Err(LedgerError::File {
                path: path.to_owned(),
                message: format!(
                    "the file is empty; expected the header `{}`",
                    columns.join(",")
                ),
            });
        }
        Ok(table)
    }

    fn check_header(&self, line: u64, cells: &[String]) -> Result<(), LedgerError> {
        let found = trim_trailing_empty(cells);
        if found.len() == self.columns.len() && found.iter().zip(self.columns).all(|(f, c)| f == c)
        {
            return Ok(());
        }
        let column = found
            .iter()
            .zip(self.columns)
            .position(|(f, c)| f != c)
            .unwrap_or(found.len().min(self.columns.len()));
        Err(LedgerError::Cell {
            path: self.path.clone(),
            line,
            column: column as u64 + 1,
            message: format!(
                "header: expected `{}`, found `{}`",
                self.columns.join(","),
                found.join(",")
            ),
        })
    }

    fn row(&self, line: u64, record: csv::StringRecord) -> Result<Row, LedgerError> {
        let n = self.columns.len();
        if let Some(extra) = record.iter().skip(n).position(|c| !c.trim().is_empty()) {
            let col = n + extra;
            return Err(self.error(
                line,
                col,
                format!(
                    "unexpected value `{}` after the last column `{}` ({} columns expected)",
                    record.get(col).unwrap_or("").trim(),
                    self.columns[n - 1],
                    n
                ),
            ));
        }
        Ok(Row {
            line,
            record,
            columns: n,
        })
    }

    fn csv_error(&self, e: &csv::Error) -> LedgerError {
        match e.position() {
            Some(pos) => LedgerError::Line {
                path: self.path.clone(),
                line: pos.line(),
                message: format!("unreadable CSV: {e}"),
            },
            None => LedgerError::File {
                path: self.path.clone(),
                message: format!("unreadable CSV: {e}"),
            },
        }
    }

    /// An error at `line`, 0-based column `col`.
    pub fn error(&self, line: u64, col: usize, message: String) -> LedgerError {
        LedgerError::Cell {
            path: self.path.clone(),
            line,
            column: col as u64 + 1,
            message,
        }
    }

    /// An error about the value of `row`'s column `col`: ``column_name: `value` what``.
    pub fn bad(&self, row: &Row, col: usize, what: &str) -> LedgerError {
        let name = self.columns.get(col).copied().unwrap_or("?");
        self.error(row.line, col, format!("{name}: `{}` {what}", row.cell(col)))
    }

    /// The cell of `col`, which must not be empty.
    pub fn required<'r>(&self, row: &'r Row, col: usize) -> Result<&'r str, LedgerError> {
        let v = row.cell(col);
        if v.is_empty() {
            let name = self.columns.get(col).copied().unwrap_or("?");
            return Err(self.error(
                row.line,
                col,
                format!("{name}: empty (a value is required)"),
            ));
        }
        Ok(v)
    }

    /// The cell of `col` as a date: `YYYY-MM-DD`, or `YYYY/M/D` as spreadsheets re-save it.
    pub fn day(&self, row: &Row, col: usize) -> Result<crate::time::Day, LedgerError> {
        let v = self.required(row, col)?;
        crate::time::parse_day(v).ok_or_else(|| self.bad(row, col, "is not a date (YYYY-MM-DD)"))
    }
}

/// What [`stream_plain`] made of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plain {
    /// Every row was handed over and accepted.
    Done,
    /// The file needs the full reader: the caller starts over with [`Table::stream`],
    /// which reads it exactly and reports any error with its line and column.
    Declined,
}

/// The block size of [`stream_plain`]: large enough that a read is cheap, small enough
/// that a register of a hundred megabytes never sits in memory whole.
const PLAIN_BLOCK: usize = 1 << 20;

/// A fast reader for the plain registers spreadsheets export: printable ASCII without
/// quotes, lines ending in LF or CRLF, an optional UTF-8 byte-order mark. Such a file
/// reads the same in UTF-8 and CP932, and each of its lines is one record whose cells
/// are the text between commas, so it can be read in blocks and split without decoding
/// or the `csv` state machine.
///
/// `each` gets the data rows' cells, trimmed, exactly `columns.len()` of them (missing
/// trailing cells empty), and returns `false` for a row it would reject. The reader
/// gives up ([`Plain::Declined`]) on anything else: a byte outside that set, a header
/// that does not match, a non-empty cell after the last column, an unreadable or empty
/// file, or a row `each` rejected. It never reports an error itself, so that messages
/// stay those of [`Table::stream`]; rows already handed over must then be thrown away.
pub(crate) fn stream_plain(
    path: &Path,
    columns: &'static [&'static str],
    mut each: impl FnMut(&[&str]) -> bool,
) -> Plain {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Plain::Declined;
    };
    let mut header_seen = false;
    let mut buf = vec![0u8; PLAIN_BLOCK];
    // `buf[..kept]` holds the start of a line whose end has not been read yet.
    let mut kept = 0;
    let mut at_start = true;
    loop {
        if kept == buf.len() {
            // A line longer than the block: the block grows to hold it.
            buf.resize(buf.len() * 2, 0);
        }
        let n = match file.read(&mut buf[kept..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Plain::Declined,
        };
        let end = kept + n;
        let mut start = 0;
        if at_start && (end >= UTF8_BOM.len() || n == 0) {
            at_start = false;
            if buf[..end].starts_with(UTF8_BOM) {
                start = UTF8_BOM.len();
            }
        }
        if at_start {
            kept = end;
            continue;
        }
        // At the end of the file the last line may lack its line break.
        let complete = if n == 0 {
            end
        } else {
            match memchr::memrchr(b'\n', &buf[start..end]) {
                Some(i) => start + i + 1,
                None => {
                    buf.copy_within(start..end, 0);
                    kept = end - start;
                    continue;
                }
            }
        };
        let Some(text) = plain_text(&buf[start..complete]) else {
            return Plain::Declined;
        };
        let mut cells: Vec<&str> = Vec::with_capacity(columns.len() + 1);
        let has_cr = memchr::memchr(b'\r', text.as_bytes()).is_some();
        // One structural scan of the block finds every comma and line break in order
        // (the text has no quotes), instead of a newline search per line and a comma
        // search per cell.
        let bytes = text.as_bytes();
        let mut cursor = Cursor::new(bytes);
        let mut cell_start = 0;
        loop {
            let at = cursor.any();
            let Some(cell) = text.get(cell_start..at) else {
                return Plain::Declined;
            };
            let line_ends = bytes.get(at) != Some(&b',');
            // The `csv` reader ends a record at `\r`, `\n` or `\r\n`; a `\r` anywhere
            // else is left to it.
            let cell = if has_cr && line_ends {
                cell.strip_suffix('\r').unwrap_or(cell)
            } else {
                cell
            };
            if has_cr && cell.contains('\r') {
                return Plain::Declined;
            }
            // Space is the only whitespace left, so trimming spaces is `str::trim` here.
            // The text is ASCII, so every comma is a character boundary.
            cells.push(cell.trim_matches(' '));
            cell_start = at + 1;
            if line_ends {
                if !plain_record(&mut cells, columns, &mut header_seen, &mut each) {
                    return Plain::Declined;
                }
                cells.clear();
                if at >= bytes.len() {
                    break;
                }
            }
        }
        if n == 0 {
            return if header_seen {
                Plain::Done
            } else {
                Plain::Declined
            };
        }
        buf.copy_within(complete..end, 0);
        kept = end - complete;
    }
}

/// A block of whole lines as text, if it is plain: printable ASCII but `"`, and line
/// breaks.
fn plain_text(block: &[u8]) -> Option<&str> {
    // One pass over the block without early exit, which the compiler vectorises.
    let odd = block.iter().fold(false, |odd, &b| {
        odd | !((b' '..=b'~').contains(&b) && b != b'"' || b == b'\n' || b == b'\r')
    });
    if odd {
        return None;
    }
    std::str::from_utf8(block).ok()
}

/// Handles one record of a plain file as [`Table::stream`] does; `false` to give up.
fn plain_record(
    cells: &mut Vec<&str>,
    columns: &[&str],
    header_seen: &mut bool,
    each: &mut impl FnMut(&[&str]) -> bool,
) -> bool {
    if cells.iter().all(|c| c.is_empty()) {
        return true;
    }
    if !*header_seen {
        *header_seen = true;
        let end = cells
            .iter()
            .rposition(|c| !c.is_empty())
            .map_or(0, |i| i + 1);
        return cells[..end] == *columns;
    }
    if cells.iter().skip(columns.len()).any(|c| !c.is_empty()) {
        return false;
    }
    cells.resize(columns.len(), "");
    each(cells)
}

/// The 1-based line where a record really starts. The `csv` crate positions a record
/// where the read began, i.e. before the previous record's line terminator and any blank
/// lines it skipped, so those line breaks are stepped over here.
fn record_line(text: &[u8], pos: &csv::Position) -> u64 {
    let start = usize::try_from(pos.byte()).unwrap_or(usize::MAX);
    let skipped = text
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .filter(|&&b| b == b'\n')
        .count() as u64;
    pos.line() + skipped
}

/// The opening quote of a cell that the end of `record` leaves open, as its offset in
/// `record` and its 0-based cell number; `record` is the text of one CSV record to the
/// end of the file. As the `csv` reader reads it, a quote opens a quoted cell only as the
/// cell's very first character (` "a"` is text); elsewhere it is text, and inside a
/// quoted cell `""` is a quote.
fn unclosed_quote(record: &[u8]) -> Option<(usize, usize)> {
    let mut cell = 0;
    let mut at_cell_start = true;
    let mut open: Option<usize> = None;
    let mut i = 0;
    while let Some(&b) = record.get(i) {
        match (open, b) {
            (Some(_), b'"') if record.get(i + 1) == Some(&b'"') => i += 1,
            (Some(_), b'"') => open = None,
            (Some(_), _) => {}
            (None, b'"') if at_cell_start => open = Some(i),
            (None, b',') => {
                cell += 1;
                at_cell_start = true;
                i += 1;
                continue;
            }
            (None, b'\n' | b'\r') => return None,
            (None, _) => {}
        }
        at_cell_start = false;
        i += 1;
    }
    open.map(|at| (at, cell))
}

fn trim_trailing_empty(cells: &[String]) -> &[String] {
    let end = cells
        .iter()
        .rposition(|c| !c.is_empty())
        .map_or(0, |i| i + 1);
    &cells[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[&str] = &["a", "b", "c"];

    fn parse(text: &str) -> Result<Table, LedgerError> {
        Table::parse(Path::new("t.csv"), text, COLS)
    }

    fn cells(t: &Table) -> Vec<(u64, Vec<&str>)> {
        t.rows
            .iter()
            .map(|r| (r.line, (0..3).map(|i| r.cell(i)).collect()))
            .collect()
    }

    #[test]
    fn decodes_utf8_bom_and_cp932() {
        let p = Path::new("x.csv");
        assert_eq!(decode(p, "川崎".as_bytes().to_vec()).unwrap(), "川崎");
        assert_eq!(decode(p, b"\xEF\xBB\xBFa,b".to_vec()).unwrap(), "a,b");
        // 川崎 in CP932 is 90 EC 8D E8.
        assert_eq!(decode(p, b"\x90\xEC\x8D\xE8".to_vec()).unwrap(), "川崎");
        // NEC special character ① (CP932 0x8740) is part of Windows-31J.
        assert_eq!(decode(p, b"\x87\x40".to_vec()).unwrap(), "①");
    }

    #[test]
    fn undecodable_bytes_name_the_line() {
        // 0x85 0x20 is no character in CP932 (0x85 lead byte, invalid trail) nor UTF-8.
        let err = decode(Path::new("x.csv"), b"a,b\r\nc,d\r\ne,\x85\x20\r\n".to_vec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.csv:3: bytes that are neither UTF-8 nor CP932 (Shift_JIS)"
        );
        let err = decode(Path::new("x.csv"), b"\xEF\xBB\xBFa\n\x90\xEC".to_vec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.csv:2: invalid UTF-8 after a UTF-8 byte-order mark"
        );
    }

    #[test]
    fn rows_know_their_lines() {
        let t = parse("a,b,c\r\n\r\n1, 2 ,3\r\n,,\r\n\"x\ny\",,\r\n4,5,6,,\r\n").unwrap();
        assert_eq!(
            cells(&t),
            vec![
                (3, vec!["1", "2", "3"]),
                (5, vec!["x\ny", "", ""]),
                (7, vec!["4", "5", "6"]),
            ]
        );
    }

    #[test]
    fn short_rows_read_as_empty_cells() {
        let t = parse("a,b,c\n1\n").unwrap();
        assert_eq!(cells(&t), vec![(2, vec!["1", "", ""])]);
    }

    #[test]
    fn header_is_checked_trimmed_in_order() {
        assert!(parse(" a , b ,c,,\n").is_ok());
        let err = parse("a,c,b\n").unwrap_err().to_string();
        assert_eq!(err, "t.csv:1:2: header: expected `a,b,c`, found `a,c,b`");
        let err = parse("a,b\n").unwrap_err().to_string();
        assert_eq!(err, "t.csv:1:3: header: expected `a,b,c`, found `a,b`");
        let err = parse("\n\n").unwrap_err().to_string();
        assert!(err.contains("empty") && err.contains("`a,b,c`"), "{err}");
    }

    #[test]
    fn non_empty_extra_cells_are_rejected() {
        let err = parse("a,b,c\n1,2,3,,x\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "t.csv:2:5: unexpected value `x` after the last column `c` (3 columns expected)"
        );
    }

    #[test]
    fn cell_errors_quote_the_value() {
        let t = parse("a,b,c\n1,2026-13-01,\n").unwrap();
        let row = &t.rows[0];
        let err = t.day(row, 1).unwrap_err().to_string();
        assert_eq!(err, "t.csv:2:2: b: `2026-13-01` is not a date (YYYY-MM-DD)");
        let err = t.required(row, 2).unwrap_err().to_string();
        assert_eq!(err, "t.csv:2:3: c: empty (a value is required)");
    }

    #[test]
    fn a_quote_left_open_at_the_end_names_its_cell() {
        // The quote of line 3, cell 2, swallows the rest of the file.
        let err = parse("a,b,c\n1,2,3\n4,\"five\n\n6,7,8\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "t.csv:3:2: a quoted cell is opened here and never closed: add the closing `\"`"
        );
        // An escaped quote does not close the cell; without a final line break too.
        let err = parse("a,b,c\n\"x\"\"").unwrap_err().to_string();
        assert!(err.starts_with("t.csv:2:1: a quoted cell"), "{err}");
        // The header line is a record like the others.
        let err = parse("a,\"b,c\n").unwrap_err().to_string();
        assert!(err.starts_with("t.csv:1:2: a quoted cell"), "{err}");
    }

    #[test]
    fn quotes_that_close_or_are_text_read_as_before() {
        let t = parse("a,b,c\n\"x\ny\",\"q\"\"\"").unwrap();
        assert_eq!(cells(&t), vec![(2, vec!["x\ny", "q\"", ""])]);
        // A quote inside a cell, or after a space, is text, even at the very end.
        let t = parse("a,b,c\n1,ab\"c, \"d").unwrap();
        assert_eq!(cells(&t), vec![(2, vec!["1", "ab\"c", "\"d"])]);
    }
}
