//! Splitting one oplog-csv v1 line into its 14 fields (RFC 4180).
//!
//! This module only finds field boundaries; turning fields into typed columns is the
//! decoder's job. A valid line has exactly 14 fields; any field may be quoted, and a quoted
//! field never spans lines. The id fields are short, so they are scanned byte by byte;
//! the last field (`detail`) is the long free text and is searched with SIMD (`memchr`),
//! which keeps the common line — ids unquoted, detail maybe quoted — at memory speed.

use memchr::memchr;

use super::reject::RejectReason;

/// The header of oplog-csv v1, in order.
pub const HEADER: [&str; FIELDS] = [
    "event_id",
    "timestamp",
    "terminal_id",
    "operator_id",
    "auth_method",
    "operation",
    "business_code",
    "target_code",
    "record_count",
    "request_no",
    "approval_no",
    "ref_event_id",
    "result",
    "detail",
];

/// Fields in a line of oplog-csv v1.
pub const FIELDS: usize = 14;

/// The byte ranges of one line's fields, without their quotes.
#[derive(Debug, Clone, Default)]
pub struct Spans {
    pub start: [u32; FIELDS],
    pub end: [u32; FIELDS],
    /// Bit `i` set: field `i` holds doubled quotes (`""`) that must be unescaped.
    pub escaped: u16,
}

impl Spans {
    /// The raw text of field `i` (still with doubled quotes if `escaped` says so).
    #[inline]
    pub fn get<'a>(&self, line: &'a str, i: usize) -> &'a str {
        &line[self.start[i] as usize..self.end[i] as usize]
    }

    #[inline]
    pub fn is_escaped(&self, i: usize) -> bool {
        self.escaped & (1 << i) != 0
    }
}

/// Splits `line` (without its line end) into exactly [`FIELDS`] fields.
///
/// Errors: [`RejectReason::FieldCount`] for more or fewer fields,
/// [`RejectReason::Quote`] for an unterminated quoted field or text after a closing quote.
#[inline]
pub fn split(line: &[u8], spans: &mut Spans) -> Result<(), RejectReason> {
    spans.escaped = 0;
    let n = line.len();
    let mut pos = 0usize;
    // Fields 0..13: short ids, scanned inline.
    for field in 0..FIELDS - 1 {
        if line.get(pos) == Some(&b'"') {
            pos = quoted(line, pos, field, spans)?;
            match line.get(pos) {
                Some(b',') => pos += 1,
                Some(_) => return Err(RejectReason::Quote),
                None => return Err(RejectReason::FieldCount),
            }
            continue;
        }
        let start = pos;
        loop {
            match line.get(pos) {
                Some(b',') => break,
                Some(_) => pos += 1,
                None => return Err(RejectReason::FieldCount),
            }
        }
        spans.start[field] = start as u32;
        spans.end[field] = pos as u32;
        pos += 1;
    }
    // The last field: the rest of the line.
    let last = FIELDS - 1;
    if line.get(pos) == Some(&b'"') {
        let end = quoted(line, pos, last, spans)?;
        if end != n {
            return Err(if line[end] == b',' {
                RejectReason::FieldCount
            } else {
                RejectReason::Quote
            });
        }
    } else {
        let rest = &line[pos..];
        // A quote inside an unquoted field is taken literally (as spreadsheet software
        // does); only a comma makes a fifteenth field.
        if memchr(b',', rest).is_some() {
            return Err(RejectReason::FieldCount);
        }
        spans.start[last] = pos as u32;
        spans.end[last] = n as u32;
    }
    Ok(())
}

/// Parses the quoted field that opens at `line[open]`; records its span (inside the
/// quotes) and returns the position just after the closing quote.
#[inline]
fn quoted(
    line: &[u8],
    open: usize,
    field: usize,
    spans: &mut Spans,
) -> Result<usize, RejectReason> {
    let mut i = open + 1;
    loop {
        let q = i + memchr(b'"', &line[i..]).ok_or(RejectReason::Quote)?;
        if line.get(q + 1) == Some(&b'"') {
            spans.escaped |= 1 << field;
            i = q + 2;
            continue;
        }
        spans.start[field] = (open + 1) as u32;
        spans.end[field] = q as u32;
        return Ok(q + 1);
    }
}

/// Undoes doubled quotes: `a""b` → `a"b`, appended to `out`.
pub fn unescape_into(field: &str, out: &mut String) {
    let mut rest = field;
    while let Some(k) = memchr(b'"', rest.as_bytes()) {
        out.push_str(&rest[..=k]);
        // The quote at k is the first of a pair (the splitter checked), skip its twin.
        rest = rest.get(k + 2..).unwrap_or("");
    }
    out.push_str(rest);
}

/// Whether `line` is the oplog-csv v1 header (names may be quoted or padded with spaces).
pub fn is_header(line: &[u8]) -> bool {
    let mut spans = Spans::default();
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    if split(line, &mut spans).is_err() {
        return false;
    }
    HEADER
        .iter()
        .enumerate()
        .all(|(i, name)| spans.get(text, i).trim() == *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Result<Vec<String>, RejectReason> {
        let mut s = Spans::default();
        split(line.as_bytes(), &mut s)?;
        Ok((0..FIELDS)
            .map(|i| {
                let raw = s.get(line, i);
                if s.is_escaped(i) {
                    let mut out = String::new();
                    unescape_into(raw, &mut out);
                    out
                } else {
                    raw.to_owned()
                }
            })
            .collect())
    }

    const PLAIN: &str =
        "E1,2026-04-01T08:45:12+09:00,T1,OP1,,VIEW,W01,12345678901,1,R1,,,OK,住民票";

    #[test]
    fn plain_line() {
        let f = fields(PLAIN).unwrap();
        assert_eq!(f[0], "E1");
        assert_eq!(f[4], "");
        assert_eq!(f[5], "VIEW");
        assert_eq!(f[13], "住民票");
    }

    #[test]
    fn quoted_fields_anywhere() {
        let line = r#""E1","2026/04/01 08:45:12",T1,OP1,,"VIEW",W01,,0,,,,OK,"住民票の写し, 広域交付 ""至急""""#;
        let f = fields(line).unwrap();
        assert_eq!(f[0], "E1");
        assert_eq!(f[1], "2026/04/01 08:45:12");
        assert_eq!(f[5], "VIEW");
        assert_eq!(f[13], r#"住民票の写し, 広域交付 "至急""#);
    }

    #[test]
    fn empty_quoted_and_trailing_empty() {
        let f = fields(r#"E1,t,,"",,VIEW,,,,,,,,"#).unwrap();
        assert_eq!(f[3], "");
        assert_eq!(f[13], "");
    }

    #[test]
    fn field_counts() {
        assert_eq!(fields("a,b,c"), Err(RejectReason::FieldCount));
        assert_eq!(
            fields(&format!("{PLAIN},extra")),
            Err(RejectReason::FieldCount)
        );
        assert_eq!(
            fields(r#"E1,t,,,,VIEW,,,,,,,,"x",y"#),
            Err(RejectReason::FieldCount)
        );
        assert_eq!(fields(""), Err(RejectReason::FieldCount));
    }

    #[test]
    fn quote_errors() {
        assert_eq!(
            fields(r#"E1,t,,,,VIEW,,,,,,,,"unterminated"#),
            Err(RejectReason::Quote)
        );
        assert_eq!(
            fields(r#"E1,"t"x,,,,VIEW,,,,,,,,d"#),
            Err(RejectReason::Quote)
        );
        assert_eq!(
            fields(r#"E1,t,,,,VIEW,,,,,,,,"a"b"#),
            Err(RejectReason::Quote)
        );
        assert_eq!(
            fields(r#""E1,t,,,,VIEW,,,,,,,,d"#),
            Err(RejectReason::Quote)
        );
    }

    #[test]
    fn literal_quote_in_unquoted_field() {
        let f = fields(r#"E1,t,,,,VIEW,,,,,,,,he said "hi""#).unwrap();
        assert_eq!(f[13], r#"he said "hi""#);
    }

    #[test]
    fn header_detection() {
        assert!(is_header(HEADER.join(",").as_bytes()));
        let quoted: Vec<String> = HEADER.iter().map(|h| format!("\"{h}\"")).collect();
        assert!(is_header(quoted.join(",").as_bytes()));
        assert!(!is_header(PLAIN.as_bytes()));
        assert!(!is_header(HEADER[..13].join(",").as_bytes()));
    }
}
