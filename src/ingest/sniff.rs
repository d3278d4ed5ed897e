//! Telling a file's format and encoding from its content.
//!
//! Format: a first line that is the oplog-csv v1 header means CSV; otherwise a line among
//! the first few that starts with a timestamp and holds `key=value` pairs means key-value
//! lines. Encoding: a UTF-8 BOM means UTF-8; text that is all ASCII decides nothing (both
//! encodings read it the same); otherwise valid UTF-8 means UTF-8, and text that is not
//! but reads further as CP932 means CP932 (Windows terminals export CP932).

use encoding_rs::{DecoderResult, SHIFT_JIS};
use memchr::memchr_iter;

use crate::normalize::{Encoding, Format, csv, kv};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How many non-blank lines are looked at to recognise key-value lines.
const SNIFF_LINES: usize = 8;

/// What the start of a file says about its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Format(Format),
    /// Only blank lines (or nothing): an empty export, not an error.
    Empty,
    /// Neither a CSV header nor key-value lines.
    Unknown,
}

/// Recognises the format from the first block of a file.
pub fn format(block: &[u8]) -> Sniffed {
    let text = block.strip_prefix(BOM).unwrap_or(block);
    let mut start = 0;
    let mut seen = 0;
    let ends = memchr_iter(b'\n', text).chain(std::iter::once(text.len()));
    for end in ends {
        if start > text.len() {
            break;
        }
        let line = &text[start..end];
        start = end + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if seen == 0 && csv::is_header(line) {
            return Sniffed::Format(Format::Csv);
        }
        if kv::looks_like_kv(line) {
            return Sniffed::Format(Format::Kv);
        }
        seen += 1;
        if seen == SNIFF_LINES {
            break;
        }
    }
    if seen == 0 {
        Sniffed::Empty
    } else {
        Sniffed::Unknown
    }
}

/// The first non-blank line of a block, for error messages (lossy, shortened).
pub fn first_line(block: &[u8]) -> String {
    let text = block.strip_prefix(BOM).unwrap_or(block);
    let line = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.is_empty())
        .unwrap_or(b"");
    let s = String::from_utf8_lossy(line);
    s.chars().take(120).collect()
}

/// Non-ASCII lines looked at to decide an encoding.
const VOTING_LINES: usize = 256;

/// The encoding a block shows, or `None` when it cannot tell yet.
///
/// Each line holding non-ASCII bytes votes: valid UTF-8 for UTF-8 (CP932 text is almost
/// never valid UTF-8, so this is strong evidence), otherwise valid CP932 for CP932. A line
/// invalid in both (a corrupted line) does not vote; a block without votes decides nothing
/// and a later block will. Ties go to UTF-8.
pub fn encoding(block: &[u8], file_start: bool) -> Option<Encoding> {
    if file_start && block.starts_with(BOM) {
        return Some(Encoding::Utf8);
    }
    // No whole-block check first: a block that is valid UTF-8 votes UTF-8 line by line
    // anyway, and validating all of it (the decoder validates it again) cost 6% of a scan,
    // where the vote stops after a few hundred lines.
    let (mut utf8, mut cp932, mut seen) = (0usize, 0usize, 0usize);
    let mut start = 0;
    for end in memchr_iter(b'\n', block).chain(std::iter::once(block.len())) {
        if start >= block.len() {
            break;
        }
        let line = &block[start..end];
        start = end + 1;
        if line.is_ascii() {
            continue;
        }
        if simdutf8::basic::from_utf8(line).is_ok() {
            utf8 += 1;
        } else if cp932_valid(line) {
            cp932 += 1;
        }
        seen += 1;
        if seen == VOTING_LINES {
            break;
        }
    }
    match (utf8, cp932) {
        (0, 0) => None,
        (u, c) if u >= c => Some(Encoding::Utf8),
        _ => Some(Encoding::Cp932),
    }
}

/// Whether `bytes` decode as CP932 without error.
fn cp932_valid(bytes: &[u8]) -> bool {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 3 / 2 + 16);
    let (result, _) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    matches!(result, DecoderResult::InputEmpty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let header = csv::HEADER.join(",");
        assert_eq!(
            format(format!("\u{feff}{header}\r\nE1,...").as_bytes()),
            Sniffed::Format(Format::Csv)
        );
        assert_eq!(
            format(b"\n\n2026/04/01 08:45:12 id=E1 act=VIEW\n"),
            Sniffed::Format(Format::Kv)
        );
        assert_eq!(
            format(b"garbage\n2026/04/01 08:45:12 id=E1 act=VIEW\n"),
            Sniffed::Format(Format::Kv)
        );
        assert_eq!(format(b"\r\n\n"), Sniffed::Empty);
        assert_eq!(format(b""), Sniffed::Empty);
        assert_eq!(format(b"name,age\nbob,3\n"), Sniffed::Unknown);
        assert_eq!(first_line(b"\n  hello\r\nx"), "  hello");
    }

    #[test]
    fn encodings() {
        assert_eq!(encoding(b"\xEF\xBB\xBFabc", true), Some(Encoding::Utf8));
        assert_eq!(encoding(b"plain ascii\n", true), None);
        assert_eq!(encoding("住民票\n".as_bytes(), false), Some(Encoding::Utf8));
        let (sjis, _, _) = SHIFT_JIS.encode("住民票の写し,ソ\n");
        assert_eq!(encoding(&sjis, false), Some(Encoding::Cp932));
        // A UTF-8 file with one bad line stays UTF-8 (the line will be rejected).
        let mut bad = "住民票の写し\n".repeat(3).into_bytes();
        bad.extend_from_slice(b"x\xff\n");
        assert_eq!(encoding(&bad, false), Some(Encoding::Utf8));
        // A CP932 file whose first non-ASCII line is corrupted is still CP932.
        let mut cp = b"a\xff\xfe\n".to_vec();
        cp.extend_from_slice(&SHIFT_JIS.encode("住民票の写し\n").0);
        assert_eq!(encoding(&cp, false), Some(Encoding::Cp932));
        // Only corrupted lines: no decision yet.
        assert_eq!(encoding(b"a\xff\nb\xfe\n", false), None);
    }
}
