//! Rejected lines: every line that cannot become an event, with where it came from and why.
//!
//! A reject is never an error of the run: the line is counted, written to the rejects
//! file (`file,line,reason,raw`) and every other line is still processed.

use std::fmt;
use std::sync::Arc;

/// Why a line was rejected. The text forms are the `reason` column of the rejects file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Not the 14 fields of oplog-csv v1.
    FieldCount,
    /// Missing or unparsable timestamp (a key-value line must start with one).
    Timestamp,
    /// Missing or unknown operation code.
    Operation,
    /// `record_count` is not an integer ≥ 0.
    RecordCount,
    /// Unterminated quote, or a quote inside an unquoted field.
    Quote,
    /// Bytes that are not valid in the file's encoding.
    Encoding,
    /// Missing `event_id`, or longer than 40 characters.
    EventId,
    /// A CSV header line again after the first line (files concatenated).
    Header,
    /// A key-value line with a token that is not `key=value`.
    Syntax,
}

impl RejectReason {
    pub const ALL: [RejectReason; 9] = [
        RejectReason::FieldCount,
        RejectReason::Timestamp,
        RejectReason::Operation,
        RejectReason::RecordCount,
        RejectReason::Quote,
        RejectReason::Encoding,
        RejectReason::EventId,
        RejectReason::Header,
        RejectReason::Syntax,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::FieldCount => "field-count",
            RejectReason::Timestamp => "timestamp",
            RejectReason::Operation => "operation",
            RejectReason::RecordCount => "record-count",
            RejectReason::Quote => "quote",
            RejectReason::Encoding => "encoding",
            RejectReason::EventId => "event-id",
            RejectReason::Header => "header",
            RejectReason::Syntax => "syntax",
        }
    }

    pub fn parse(s: &str) -> Option<RejectReason> {
        RejectReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The source file as given (path).
    pub file: Arc<str>,
    /// 1-based line number in the decompressed text.
    pub line: u64,
    pub reason: RejectReason,
    /// The raw line without its line end, as text: decoded in the file's encoding, every
    /// byte that is not valid in it written as `\xNN`.
    pub raw: String,
}

/// Renders bytes as text, escaping every byte that is not part of valid UTF-8 as `\xNN`
/// (and a backslash as `\\`, so that the escaping can be undone).
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn escapes_invalid_bytes_only() {
        assert_eq!(escape_bytes("住民,a\\b".as_bytes()), "住民,a\\\\b");
        assert_eq!(escape_bytes(b"a\x82\xa0b"), "a\\x82\\xA0b");
    }
}
