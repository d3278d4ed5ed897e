//! Which local dates a file's events can fall on, read before the file is parsed.
//!
//! Rules judge a day only once all of its events are in, and files arrive in any order:
//! without knowing which files may still hold events of a day, every day stays open until
//! the last file is read, and a large run regroups its whole input through a spill file.
//! This pass reads each plain file once, cheaply — the timestamp field of every line and
//! nothing else — so that files can be read in date order and each day handed to the
//! rules as soon as every file that may hold it is done.
//!
//! The span is exact or wider, never narrower: the timestamp is taken from a line with
//! the decoder's own functions (`csv::split`'s field 1, `kv`'s leading timestamp, the
//! same parser), so a line the decoder turns into an event yields its date here; a line
//! the decoder would reject may widen the span, which only delays a day. Compressed files
//! and files this pass cannot read get [`DaySpan::Unknown`]: they are read first, and no
//! day is released before they are done.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use memchr::{memchr, memchr_iter, memchr2_iter};

use super::sniff::{self, Sniffed};
use super::source::Blocks;
use super::walk::InputFile;
use crate::normalize::{Format, csv, kv};
use crate::time::{Day, TimestampParser, jst_day};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The local dates a file's events may have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DaySpan {
    /// No line of the file can be an event.
    #[default]
    Empty,
    /// Every event of the file is dated `first..=last`.
    Days { first: Day, last: Day },
    /// Not known before the file is parsed (compressed, unreadable, unusual).
    Unknown,
}

impl DaySpan {
    /// The earliest date an event of the file may have: the key files are read in, and
    /// the first date still open while the file is unread.
    pub fn first(self) -> Day {
        match self {
            DaySpan::Empty => Day::MAX,
            DaySpan::Days { first, .. } => first,
            DaySpan::Unknown => Day::MIN,
        }
    }

    fn add(&mut self, day: Day) {
        *self = match *self {
            DaySpan::Empty => DaySpan::Days {
                first: day,
                last: day,
            },
            DaySpan::Days { first, last } => DaySpan::Days {
                first: first.min(day),
                last: last.max(day),
            },
            DaySpan::Unknown => DaySpan::Unknown,
        };
    }
}

/// The span of `file`, reading it the way the pipeline will (mapped unless `mmap` is
/// off, in blocks of `block_size`). Compressed files are not decompressed twice: their
/// span is [`DaySpan::Unknown`].
pub fn span(file: &InputFile, mmap: bool, block_size: usize) -> DaySpan {
    let Ok(mut blocks) = Blocks::open(file, mmap, block_size, Arc::new(AtomicU64::new(0))) else {
        return DaySpan::Unknown;
    };
    if blocks.compression() != super::Compression::None {
        return DaySpan::Unknown;
    }
    let mut scanner = Scanner::default();
    loop {
        match blocks.next_block() {
            Ok(Some(block)) => {
                if !scanner.block(&block) {
                    return DaySpan::Unknown;
                }
            }
            Ok(None) => return scanner.span,
            Err(_) => return DaySpan::Unknown,
        }
    }
}

/// The span of the lines in `text` as one whole file (for tests and fuzzing).
pub fn span_of_text(text: &[u8]) -> DaySpan {
    let mut scanner = Scanner::default();
    if scanner.block(text) {
        scanner.span
    } else {
        DaySpan::Unknown
    }
}

/// The state of one file's pass between blocks (which end at newlines).
#[derive(Default)]
struct Scanner {
    format: Option<Format>,
    started: bool,
    span: DaySpan,
    timestamps: TimestampParser,
    spans: csv::Spans,
    /// The date bytes of the last timestamp in Japan Standard Time, and its day.
    last: Option<([u8; 10], Day)>,
}

impl Scanner {
    /// Adds the dates of one block; `false` when the file's format cannot be told from
    /// its first block (as the pipeline tells it).
    fn block(&mut self, block: &[u8]) -> bool {
        let mut text = block;
        if !std::mem::replace(&mut self.started, true) {
            text = text.strip_prefix(BOM).unwrap_or(text);
        }
        let format = match self.format {
            Some(f) => f,
            None => match sniff::format(block) {
                Sniffed::Format(f) => *self.format.insert(f),
                // All blank so far, or not a log: the pipeline decides later or fails.
                Sniffed::Empty | Sniffed::Unknown => return false,
            },
        };
        let mut start = 0;
        for end in memchr_iter(b'\n', text).chain(std::iter::once(text.len())) {
            if start >= text.len() {
                break;
            }
            let line = &text[start..end];
            start = end + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let day = match format {
                Format::Csv => self.csv_day(line),
                Format::Kv => kv::leading_timestamp(line, &mut self.timestamps).map(jst_day),
            };
            if let Some(day) = day {
                self.span.add(day);
            }
        }
        true
    }

    /// The date the CSV decoder would give `line`, if it could be an event.
    #[inline]
    fn csv_day(&mut self, line: &[u8]) -> Option<Day> {
        let field = match simple_timestamp_field(line) {
            Some(f) => f,
            None => {
                csv::split(line, &mut self.spans).ok()?;
                // Doubled quotes leave a quote in the field, which no timestamp holds.
                if self.spans.is_escaped(1) {
                    return None;
                }
                self.spans.bytes(line, 1)
            }
        };
        self.day(field)
    }

    /// The local date of a timestamp field. Lines of one file mostly repeat the date of
    /// the line before in Japan Standard Time: then the date is known without parsing
    /// (a timestamp the decoder would reject on that date can only repeat a date already
    /// in the span).
    #[inline]
    fn day(&mut self, field: &[u8]) -> Option<Day> {
        if let Some((prefix, day)) = self.last
            && field.len() >= 19
            && field[..10] == prefix
            && (field.ends_with(b"+09:00") || (field[4] == b'/' && field[10] == b' '))
        {
            return Some(day);
        }
        let day = jst_day(self.timestamps.parse(field)?);
        let local = field.ends_with(b"+09:00") || (field.len() >= 19 && field[4] == b'/');
        if local && let Ok(prefix) = <[u8; 10]>::try_from(&field[..10]) {
            self.last = Some((prefix, day));
        }
        Some(day)
    }
}

/// The timestamp field (field 1) of a CSV line of the common shapes, as `csv::split`
/// would give it: the first two fields both plain (no quote up to the second comma) or
/// both quoted without doubled quotes (`"…","…",`). `None` for any other shape.
#[inline]
fn simple_timestamp_field(line: &[u8]) -> Option<&[u8]> {
    if line.first() == Some(&b'"') {
        let close0 = 1 + memchr(b'"', &line[1..])?;
        if line.get(close0 + 1..close0 + 3) != Some(b",\"") {
            return None;
        }
        let open1 = close0 + 3;
        let close1 = open1 + memchr(b'"', line.get(open1..)?)?;
        return (line.get(close1 + 1) == Some(&b',')).then(|| &line[open1..close1]);
    }
    let mut hits = memchr2_iter(b',', b'"', line);
    match (hits.next(), hits.next()) {
        (Some(a), Some(b)) if line[a] == b',' && line[b] == b',' => Some(&line[a + 1..b]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_timestamp;

    fn day(s: &str) -> Day {
        jst_day(parse_timestamp(s.as_bytes()).unwrap())
    }

    const HEADER: &str = "event_id,timestamp,terminal_id,operator_id,auth_method,operation,business_code,target_code,record_count,request_no,approval_no,ref_event_id,result,detail\n";

    #[test]
    fn csv_span_covers_every_line_in_local_time() {
        let text = format!(
            "\u{FEFF}{HEADER}E1,2026-04-02T09:00:00+09:00,T,O,PW,VIEW,,,,,,,OK,\r\n\
             \"E2\",\"2026-04-01T15:30:00Z\",T,O,PW,VIEW,,,,,,,OK,\n\
             \n\
             E3,2026/04/03 08:00:00,T,O,PW,VIEW,,,,,,,OK,\"a \"\"b\"\"\"\n\
             E4,not a time,T,O,PW,VIEW,,,,,,,OK,\n\
             E5,\"2026-04-09T00:00:00+09:00\"x,T\n"
        );
        // 15:30Z on April 1 is 00:30 JST on April 2; E5 is malformed quoting: no event.
        assert_eq!(
            span_of_text(text.as_bytes()),
            DaySpan::Days {
                first: day("2026-04-02T00:00:00+09:00"),
                last: day("2026-04-03T00:00:00+09:00"),
            }
        );
    }

    #[test]
    fn kv_span_reads_both_timestamp_forms() {
        let text = b"2026-04-01T23:59:59.999+09:00 id=E1 op=VIEW\n2026/04/05 08:00:00 id=E2 op=VIEW\ngarbage\n";
        assert_eq!(
            span_of_text(text),
            DaySpan::Days {
                first: day("2026-04-01T00:00:00+09:00"),
                last: day("2026-04-05T00:00:00+09:00"),
            }
        );
    }

    #[test]
    fn empty_and_unknown_files() {
        assert_eq!(span_of_text(HEADER.as_bytes()), DaySpan::Empty);
        assert_eq!(span_of_text(b""), DaySpan::Unknown);
        assert_eq!(span_of_text(b"hello world\n"), DaySpan::Unknown);
        assert_eq!(DaySpan::Unknown.first(), Day::MIN);
        assert_eq!(DaySpan::Empty.first(), Day::MAX);
    }
}
