//! Splitting one oplog-kv v1 line: a timestamp, then `key=value` pairs.
//!
//! ```text
//! 2026-04-01T08:45:12.345+09:00 id=KW01-0000123 term=KW01-T03 act=VIEW msg="住民票の写し"
//! ```
//!
//! Keys come in any order. A value may be double-quoted, and then holds spaces, `\"` and
//! `\\` (any other backslash stays as written). Unknown keys are kept verbatim in the
//! `extras` column, never an error. When a key repeats, the last value wins (a vendor
//! appending a corrected value is the likely cause).

use memchr::{memchr, memchr2};

use super::reject::RejectReason;
use crate::time::TimestampParser;

/// Known keys, in the order of the CSV columns they map to.
pub const KEYS: [&str; 13] = [
    "id", "term", "op", "auth", "act", "biz", "tgt", "n", "req", "apv", "ref", "res", "msg",
];

/// Index of a key in [`KEYS`].
#[inline]
fn key_index(key: &[u8]) -> Option<usize> {
    Some(match key {
        b"id" => 0,
        b"term" => 1,
        b"op" => 2,
        b"auth" => 3,
        b"act" => 4,
        b"biz" => 5,
        b"tgt" => 6,
        b"n" => 7,
        b"req" => 8,
        b"apv" => 9,
        b"ref" => 10,
        b"res" => 11,
        b"msg" => 12,
        _ => return None,
    })
}

/// Where a value's text is: in the line itself or, when it had escapes, in the scratch
/// buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Line(u32, u32),
    Scratch(u32, u32),
}

/// The parsed parts of one key-value line.
#[derive(Debug, Clone, Default)]
pub struct KvFields {
    pub timestamp: i64,
    /// Values of [`KEYS`], `None` when the key is missing.
    pub values: [Option<Span>; 13],
    /// The unknown `key=value` tokens, as written, joined by single spaces.
    pub extras: String,
    /// Unescaped quoted values.
    pub scratch: String,
    /// Remembers the last date, as the CSV decoder's parser does: lines of one file share
    /// a handful of dates.
    timestamps: TimestampParser,
}

impl KvFields {
    /// The text of value `i`, `None` when missing or empty.
    #[inline]
    pub fn get<'a>(&'a self, line: &'a str, i: usize) -> Option<&'a str> {
        let s = match self.values[i]? {
            Span::Line(a, b) => &line[a as usize..b as usize],
            Span::Scratch(a, b) => &self.scratch[a as usize..b as usize],
        };
        (!s.is_empty()).then_some(s)
    }
}

/// Parses `line` (without its line end).
///
/// Errors: [`RejectReason::Timestamp`] when the line does not start with a timestamp,
/// [`RejectReason::Quote`] for an unterminated quoted value or text glued to its closing
/// quote, [`RejectReason::Syntax`] for a token without `=`.
pub fn parse(line: &str, out: &mut KvFields) -> Result<(), RejectReason> {
    out.values = [None; 13];
    out.extras.clear();
    out.scratch.clear();
    let b = line.as_bytes();
    let (ts, mut pos) = timestamp(b, &mut out.timestamps).ok_or(RejectReason::Timestamp)?;
    out.timestamp = ts;
    let n = b.len();
    loop {
        while pos < n && (b[pos] == b' ' || b[pos] == b'\t') {
            pos += 1;
        }
        if pos == n {
            return Ok(());
        }
        let key_start = pos;
        let eq = match memchr2(b'=', b' ', &b[pos..]) {
            Some(k) if b[pos + k] == b'=' && k > 0 => pos + k,
            _ => return Err(RejectReason::Syntax),
        };
        let key = &b[key_start..eq];
        pos = eq + 1;
        let span = if b.get(pos) == Some(&b'"') {
            let (span, end) = quoted(line, pos, &mut out.scratch)?;
            pos = end;
            span
        } else {
            let end = memchr(b' ', &b[pos..]).map_or(n, |k| pos + k);
            let span = Span::Line(pos as u32, end as u32);
            pos = end;
            span
        };
        match key_index(key) {
            Some(i) => out.values[i] = Some(span),
            None => {
                if !out.extras.is_empty() {
                    out.extras.push(' ');
                }
                out.extras.push_str(&line[key_start..pos]);
            }
        }
    }
}

/// The timestamp [`parse`] takes from the start of `line`, if any (for the date pass of
/// `ingest::dates`, which must agree with the decoder line by line).
#[inline]
pub fn leading_timestamp(line: &[u8], parser: &mut TimestampParser) -> Option<i64> {
    timestamp(line, parser).map(|(ts, _)| ts)
}

/// The timestamp at the start of the line and the position after it. The ISO form is
/// one token; the local form `2026/04/01 08:45:12` is two.
fn timestamp(b: &[u8], parser: &mut TimestampParser) -> Option<(i64, usize)> {
    let first = memchr(b' ', b).unwrap_or(b.len());
    if let Some(ts) = parser.parse(&b[..first]) {
        return Some((ts, first));
    }
    if first == b.len() {
        return None;
    }
    let second = memchr(b' ', &b[first + 1..]).map_or(b.len(), |k| first + 1 + k);
    parser.parse(&b[..second]).map(|ts| (ts, second))
}

/// Parses a quoted value opening at `line[open]`; returns its span and the position after
/// the closing quote (which must be followed by a space or the end of the line).
fn quoted(line: &str, open: usize, scratch: &mut String) -> Result<(Span, usize), RejectReason> {
    let b = line.as_bytes();
    let start = open + 1;
    let mut i = start;
    let mut unescaped: Option<usize> = None;
    loop {
        let k = i + memchr2(b'"', b'\\', &b[i..]).ok_or(RejectReason::Quote)?;
        if b[k] == b'\\' {
            // Text before the first escape is copied here too, since `i` is still `start`.
            unescaped.get_or_insert(scratch.len());
            scratch.push_str(&line[i..k]);
            match b.get(k + 1) {
                Some(&c @ (b'"' | b'\\')) => {
                    scratch.push(c as char);
                    i = k + 2;
                }
                Some(_) => {
                    scratch.push('\\');
                    i = k + 1;
                }
                None => return Err(RejectReason::Quote),
            }
            continue;
        }
        // The closing quote.
        let end = k + 1;
        if end < b.len() && b[end] != b' ' && b[end] != b'\t' {
            return Err(RejectReason::Quote);
        }
        let span = match unescaped {
            Some(s0) => {
                scratch.push_str(&line[i..k]);
                Span::Scratch(s0 as u32, scratch.len() as u32)
            }
            None => Span::Line(start as u32, k as u32),
        };
        return Ok((span, end));
    }
}

/// Whether a line looks like oplog-kv v1 (a timestamp, then at least one `key=value`);
/// used to tell the format of a file from its first lines.
pub fn looks_like_kv(line: &[u8]) -> bool {
    match timestamp(line, &mut TimestampParser::default()) {
        Some((_, pos)) => memchr(b'=', &line[pos..]).is_some(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp;

    fn parsed(line: &str) -> Result<(KvFields, Vec<Option<String>>), RejectReason> {
        let mut f = KvFields::default();
        parse(line, &mut f)?;
        let vals = (0..13).map(|i| f.get(line, i).map(str::to_owned)).collect();
        Ok((f, vals))
    }

    #[test]
    fn spec_example() {
        let line = r#"2026-04-01T08:45:12.345+09:00 id=KW01-0000123 term=KW01-T03 op=OP00123 auth= act=VIEW biz=W01 tgt=12345678901 n=1 req=REQ-2026-004512 apv= ref= res=OK msg="住民票の写し 広域交付""#;
        let (f, v) = parsed(line).unwrap();
        assert_eq!(
            f.timestamp,
            parse_timestamp(b"2026-04-01T08:45:12.345+09:00").unwrap()
        );
        assert_eq!(v[0].as_deref(), Some("KW01-0000123"));
        assert_eq!(v[3], None, "empty auth is absent");
        assert_eq!(v[4].as_deref(), Some("VIEW"));
        assert_eq!(v[12].as_deref(), Some("住民票の写し 広域交付"));
        assert!(f.extras.is_empty());
    }

    #[test]
    fn local_timestamp_any_order_unknown_keys_and_escapes() {
        let line =
            r#"2026/04/01 08:45:12 act=PRINT vendor=x1 id=E2 msg="say \"hi\" \\ \n" zone="a b""#;
        let (f, v) = parsed(line).unwrap();
        assert_eq!(
            f.timestamp,
            parse_timestamp(b"2026/04/01 08:45:12").unwrap()
        );
        assert_eq!(v[0].as_deref(), Some("E2"));
        assert_eq!(v[4].as_deref(), Some("PRINT"));
        assert_eq!(v[12].as_deref(), Some(r#"say "hi" \ \n"#));
        assert_eq!(f.extras, r#"vendor=x1 zone="a b""#);
    }

    #[test]
    fn last_value_wins() {
        let (_, v) = parsed("2026/04/01 08:45:12 id=A id=B").unwrap();
        assert_eq!(v[0].as_deref(), Some("B"));
    }

    #[test]
    fn errors() {
        assert_eq!(
            parsed("id=E1 act=VIEW").err(),
            Some(RejectReason::Timestamp)
        );
        assert_eq!(
            parsed("2026/04/01 08:45:12 id=E1 msg=\"open").err(),
            Some(RejectReason::Quote)
        );
        assert_eq!(
            parsed("2026/04/01 08:45:12 msg=\"a\"b").err(),
            Some(RejectReason::Quote)
        );
        assert_eq!(
            parsed("2026/04/01 08:45:12 id=E1 garbage").err(),
            Some(RejectReason::Syntax)
        );
        assert_eq!(
            parsed("2026/04/01 08:45:12 =x").err(),
            Some(RejectReason::Syntax)
        );
        assert_eq!(
            parsed("2026/04/01 08:45:12 msg=\"ends with \\").err(),
            Some(RejectReason::Quote)
        );
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_kv(b"2026/04/01 08:45:12 id=E1"));
        assert!(looks_like_kv(b"2026-04-01T08:45:12Z id=E1"));
        assert!(!looks_like_kv(b"event_id,timestamp"));
        assert!(!looks_like_kv(b"2026/04/01 08:45:12 nothing"));
    }
}
