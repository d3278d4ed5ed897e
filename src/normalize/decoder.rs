//! The push-based decoder: bytes of log lines in, event batches and rejects out.
//!
//! Modelled on arrow-csv's decoder: the caller pushes bytes with
//! [`decode`](Decoder::decode) (which consumes complete lines only and says how much it
//! took), signals the end of the file with [`decode_final`](Decoder::decode_final), and
//! takes finished batches with [`flush`](Decoder::flush). Reading files, decompressing and
//! parallelism are the caller's business (`ingest`); this type turns lines into rows.
//!
//! Validation happens once per line, in a fixed order, so a line with several problems
//! always reports the same reason: field count or quoting, then `event_id`, timestamp,
//! operation, record count. Invalid bytes for the encoding are checked first of all.
//!
//! CSV lines of the common shape take a fast path (a structural cursor over the whole
//! text, fields validated, then appended by position); any line it does not take, or whose
//! fields do not validate, goes the general way, which gives every reject its reason.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use encoding_rs::SHIFT_JIS;
use memchr::{memchr, memchr_iter, memrchr};

use super::builder::{CsvSpans, EventBatchBuilder, EventRow, KvSpans};
use super::reject::{Reject, RejectReason, escape_bytes};
use super::{csv, kv};
use crate::model::Op;
use crate::time::TimestampParser;

/// The line length the string columns' room is sized by (log lines are 100–200 bytes; the
/// per-column estimates of the builder are per such line).
const TEXT_BYTES_PER_ROW: usize = 96;

/// Bytes of lines decoded together when a buffer holds a line that is not valid in its
/// encoding: small enough that few good lines share the slow path with the bad one.
const FALLBACK_WINDOW: usize = 16 * 1024;

/// The two built-in line formats of `oplog.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// oplog-csv v1: a header line, then RFC 4180 lines of 14 fields.
    Csv,
    /// oplog-kv v1: a timestamp, then `key=value` pairs.
    Kv,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Kv => "kv",
        }
    }
}

/// Text encodings of operation logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8 (a leading BOM is skipped).
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// CP932 / Windows-31J (Shift_JIS as Windows writes it).
    #[value(name = "cp932", alias = "shift_jis", alias = "sjis")]
    Cp932,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Cp932 => "cp932",
        }
    }
}

/// Line counts of one decoder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Lines read, header and blank lines included.
    pub lines: u64,
    /// Lines that became events.
    pub events: u64,
    /// Empty lines (nothing but a line end), skipped.
    pub blank: u64,
    /// The header line of a CSV file.
    pub header: u64,
    /// Lines rejected.
    pub rejected: u64,
}

impl DecodeStats {
    pub fn add(&mut self, o: &DecodeStats) {
        self.lines += o.lines;
        self.events += o.events;
        self.blank += o.blank;
        self.header += o.header;
        self.rejected += o.rejected;
    }
}

/// Configures a [`Decoder`].
#[derive(Debug, Clone)]
pub struct DecoderBuilder {
    format: Format,
    encoding: Encoding,
    source: Arc<str>,
    first_line: u64,
    file_start: bool,
    batch_rows: usize,
    row_capacity: Option<usize>,
    text_capacity: Option<usize>,
}

impl DecoderBuilder {
    /// A decoder for `format` lines of the file shown as `source` (the path as given).
    pub fn new(format: Format, source: impl Into<Arc<str>>) -> Self {
        DecoderBuilder {
            format,
            encoding: Encoding::Utf8,
            source: source.into(),
            first_line: 0,
            file_start: true,
            batch_rows: 8192,
            row_capacity: None,
            text_capacity: None,
        }
    }

    pub fn with_encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Lines of the file before the first byte pushed (line numbers continue from there).
    pub fn with_first_line(mut self, lines_before: u64) -> Self {
        self.first_line = lines_before;
        self
    }

    /// Whether the first byte pushed is the start of the file (a BOM and, for CSV, the
    /// header line may follow). Chunks cut from the middle of a file say `false`.
    pub fn with_file_start(mut self, file_start: bool) -> Self {
        self.file_start = file_start;
        self
    }

    /// Rows to allocate room for up front (default: the batch size, at most 8192). A
    /// caller that knows its input's size says so: unused room is memory held by every
    /// batch until it is dropped.
    pub fn with_row_capacity(mut self, rows: usize) -> Self {
        self.row_capacity = Some(rows.max(1));
        self
    }

    /// Bytes of text the rows come from, to size the string columns by (default: a
    /// typical share of a line per row of [`with_row_capacity`](Self::with_row_capacity)).
    /// With both known, the fixed-width columns get exactly their rows and the strings
    /// room for what the text can hold, not a string column that outgrows its room and
    /// doubles.
    pub fn with_text_capacity(mut self, bytes: usize) -> Self {
        self.text_capacity = Some(bytes);
        self
    }

    /// Rows per batch.
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    pub fn build(self) -> Decoder {
        Decoder {
            builder: {
                let rows = self.row_capacity.unwrap_or(self.batch_rows.min(8192));
                let text_rows = self
                    .text_capacity
                    .map_or(rows, |bytes| bytes / TEXT_BYTES_PER_ROW + 16);
                EventBatchBuilder::with_text_rows(&self.source, rows, text_rows)
            },
            format: self.format,
            encoding: self.encoding,
            source: self.source,
            line: self.first_line,
            at_start: self.file_start,
            batch_rows: self.batch_rows,
            ready: Vec::new(),
            rejects: Vec::new(),
            stats: DecodeStats::default(),
            spans: csv::Spans::default(),
            kv: kv::KvFields::default(),
            timestamps: TimestampParser::default(),
            scratch: String::new(),
        }
    }
}

/// Turns lines of one file into event batches and rejects. See the module docs.
#[derive(Debug)]
pub struct Decoder {
    format: Format,
    encoding: Encoding,
    source: Arc<str>,
    builder: EventBatchBuilder,
    /// Lines consumed so far (the number of the last line read).
    line: u64,
    at_start: bool,
    batch_rows: usize,
    ready: Vec<RecordBatch>,
    rejects: Vec<Reject>,
    stats: DecodeStats,
    spans: csv::Spans,
    kv: kv::KvFields,
    timestamps: TimestampParser,
    /// The unescaped text of a line's quoted fields that held doubled quotes.
    scratch: String,
}

impl Decoder {
    /// Decodes the complete lines at the start of `buf` and returns how many bytes it
    /// consumed (through the last `\n`); the caller pushes the rest again with more data.
    pub fn decode(&mut self, buf: &[u8]) -> Result<usize, ArrowError> {
        let end = memrchr(b'\n', buf).map_or(0, |k| k + 1);
        self.decode_lines(&buf[..end])?;
        Ok(end)
    }

    /// Decodes all of `buf`, the end of the file: a last line without `\n` counts.
    pub fn decode_final(&mut self, buf: &[u8]) -> Result<(), ArrowError> {
        self.decode_lines(buf)
    }

    /// The batches finished so far, including the rows not yet filling a batch.
    pub fn flush(&mut self) -> Result<Vec<RecordBatch>, ArrowError> {
        if !self.builder.is_empty() {
            let b = self.builder.finish()?;
            self.ready.push(b);
        }
        Ok(std::mem::take(&mut self.ready))
    }

    /// The rejects so far, in line order.
    pub fn take_rejects(&mut self) -> Vec<Reject> {
        std::mem::take(&mut self.rejects)
    }

    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// The number of the last line read.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn decode_lines(&mut self, mut buf: &[u8]) -> Result<(), ArrowError> {
        if buf.is_empty() {
            return Ok(());
        }
        if self.at_start && self.encoding == Encoding::Utf8 {
            buf = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf);
        }
        if self.text_block(buf)? {
            return Ok(());
        }
        // Some line is not valid in the encoding. Only the windows of lines that hold one
        // are decoded line by line; the others keep the fast path.
        let mut start = 0;
        while start < buf.len() {
            let end = match buf.get(start + FALLBACK_WINDOW..) {
                Some(tail) => {
                    memchr(b'\n', tail).map_or(buf.len(), |k| start + FALLBACK_WINDOW + k + 1)
                }
                None => buf.len(),
            };
            let window = &buf[start..end];
            if !self.text_block(window)? {
                match self.encoding {
                    Encoding::Utf8 => self.byte_lines(window, |line| {
                        simdutf8::basic::from_utf8(line).ok().map(Cow::Borrowed)
                    })?,
                    Encoding::Cp932 => self.byte_lines(window, |line| {
                        SHIFT_JIS.decode_without_bom_handling_and_without_replacement(line)
                    })?,
                }
            }
            start = end;
        }
        Ok(())
    }

    /// Decodes `buf` (whole lines) as text and its lines when it is valid in the
    /// encoding; `false` (nothing consumed) when it is not. Lines never share a
    /// character (`\n` is a single byte in both encodings and never part of another), so
    /// a valid block gives the same lines as decoding each line alone.
    fn text_block(&mut self, buf: &[u8]) -> Result<bool, ArrowError> {
        match self.encoding {
            Encoding::Utf8 => match simdutf8::basic::from_utf8(buf) {
                Ok(text) => self.text_lines(text).map(|()| true),
                Err(_) => Ok(false),
            },
            Encoding::Cp932 => {
                match SHIFT_JIS.decode_without_bom_handling_and_without_replacement(buf) {
                    Some(text) => self.text_lines(&text).map(|()| true),
                    None => Ok(false),
                }
            }
        }
    }

    /// Lines of valid text.
    fn text_lines(&mut self, text: &str) -> Result<(), ArrowError> {
        if self.format == Format::Csv {
            return self.csv_text_lines(text);
        }
        let mut start = 0;
        for nl in memchr_iter(b'\n', text.as_bytes()) {
            self.line_str(text, start, nl)?;
            start = nl + 1;
        }
        if start < text.len() {
            self.line_str(text, start, text.len())?;
        }
        Ok(())
    }

    /// Lines of valid CSV text. One structural cursor walks the whole text; a line of the
    /// common shape ([`csv::fast_line`]) whose fields validate goes straight into the
    /// builder, any other line (the header, blank lines, rejects, unusual quoting) takes
    /// [`line_str`](Self::line_str) as before, so the result is the same line by line.
    fn csv_text_lines(&mut self, text: &str) -> Result<(), ArrowError> {
        let bytes = text.as_bytes();
        let mut cursor = csv::Cursor::new(bytes);
        let mut fast = csv::FastLine::default();
        let mut start = 0;
        while start < bytes.len() {
            if !self.at_start
                && csv::fast_line(start, &mut cursor, &mut fast)
                && self.csv_fast(text, start, &fast)?
            {
                start = fast.newline + 1;
                continue;
            }
            let nl = memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |k| start + k);
            self.line_str(text, start, nl)?;
            start = nl + 1;
            cursor.skip_to(start.min(bytes.len()));
        }
        Ok(())
    }

    /// Validates and appends a line [`csv::fast_line`] split; `false` (nothing appended,
    /// no line counted) when a field does not validate, so that the caller rejects the
    /// line the usual way.
    #[inline]
    fn csv_fast(
        &mut self,
        text: &str,
        start: usize,
        fast: &csv::FastLine,
    ) -> Result<bool, ArrowError> {
        let b = text.as_bytes();
        let field = |i| fast.field(start, i);
        // `event_id`: 1–40 bytes here; a longer one may still be 40 characters, which
        // the general path counts.
        if !(1..=40).contains(&field(0).len()) {
            return Ok(false);
        }
        let Some(timestamp) = b.get(field(1)).and_then(|s| self.timestamps.parse(s)) else {
            return Ok(false);
        };
        let Some(operation) = b.get(field(5)).and_then(Op::parse) else {
            return Ok(false);
        };
        let Some(Ok(record_count)) = b.get(field(8)).map(record_count) else {
            return Ok(false);
        };
        let (from, to) = fast.detail;
        let detail = if from == to {
            None
        } else {
            let Some(raw) = text.get(from..to) else {
                return Ok(false);
            };
            if fast.n_twins == 0 {
                Some(raw)
            } else {
                let twins = fast.twins.get(..fast.n_twins).unwrap_or(&[]);
                if !csv::unescape_at(raw, from, twins, &mut self.scratch) {
                    return Ok(false);
                }
                opt(&self.scratch)
            }
        };
        self.line += 1;
        self.stats.lines += 1;
        self.stats.events += 1;
        let row = CsvSpans {
            start,
            fast,
            timestamp,
            operation,
            record_count,
            detail,
            line: self.line,
        };
        self.builder.push_csv(b, &row);
        if self.builder.len() >= self.batch_rows {
            let b = self.builder.finish()?;
            self.ready.push(b);
        }
        Ok(true)
    }

    /// Lines some of which are not valid in the encoding: each is decoded alone.
    fn byte_lines<'a>(
        &mut self,
        buf: &'a [u8],
        decode: impl Fn(&'a [u8]) -> Option<Cow<'a, str>>,
    ) -> Result<(), ArrowError> {
        let mut start = 0;
        let each = |this: &mut Self, line: &'a [u8]| match decode(line) {
            Some(text) => this.line_str(&text, 0, text.len()),
            None => {
                this.line += 1;
                this.stats.lines += 1;
                this.at_start = false;
                let raw = line.strip_suffix(b"\r").unwrap_or(line);
                let raw = match this.encoding {
                    Encoding::Utf8 => escape_bytes(raw),
                    Encoding::Cp932 => escape_cp932(raw),
                };
                this.reject_text(raw, RejectReason::Encoding);
                Ok(())
            }
        };
        for nl in memchr_iter(b'\n', buf) {
            each(self, &buf[start..nl])?;
            start = nl + 1;
        }
        if start < buf.len() {
            each(self, &buf[start..])?;
        }
        Ok(())
    }

    #[inline]
    /// The line `text[start..end]` (without its `\n`).
    fn line_str(&mut self, text: &str, start: usize, end: usize) -> Result<(), ArrowError> {
        let line = &text[start..end];
        self.line += 1;
        self.stats.lines += 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            self.stats.blank += 1;
            return Ok(());
        }
        if std::mem::take(&mut self.at_start)
            && self.format == Format::Csv
            && csv::is_header(line.as_bytes())
        {
            self.stats.header += 1;
            return Ok(());
        }
        let pushed = match self.format {
            Format::Csv => self.csv_line(line),
            Format::Kv => self.kv_line(text, start, line),
        };
        match pushed {
            Ok(()) => {
                self.stats.events += 1;
                if self.builder.len() >= self.batch_rows {
                    let b = self.builder.finish()?;
                    self.ready.push(b);
                }
            }
            Err(reason) => {
                let reason = if self.format == Format::Csv && csv::is_header(line.as_bytes()) {
                    RejectReason::Header
                } else {
                    reason
                };
                self.reject_text(line.to_owned(), reason);
            }
        }
        Ok(())
    }

    fn reject_text(&mut self, raw: String, reason: RejectReason) {
        self.stats.rejected += 1;
        self.rejects.push(Reject {
            file: Arc::clone(&self.source),
            line: self.line,
            reason,
            raw,
        });
    }

    #[inline]
    fn csv_line(&mut self, line: &str) -> Result<(), RejectReason> {
        csv::split(line.as_bytes(), &mut self.spans)?;
        let spans = &self.spans;
        let mut f: [&str; csv::FIELDS] = [""; csv::FIELDS];
        for (i, slot) in f.iter_mut().enumerate() {
            *slot = spans.get(line, i);
        }
        if spans.escaped != 0 {
            // Unescaped fields go into one reused buffer (no allocation per line), then
            // are borrowed from it once it is complete.
            let scratch = &mut self.scratch;
            scratch.clear();
            let mut ends = [0usize; csv::FIELDS];
            for (i, raw) in f.iter().enumerate() {
                if spans.is_escaped(i) {
                    csv::unescape_into(raw, scratch);
                    ends[i] = scratch.len();
                }
            }
            let mut start = 0;
            for (i, slot) in f.iter_mut().enumerate() {
                if spans.is_escaped(i) {
                    *slot = self.scratch.get(start..ends[i]).unwrap_or("");
                    start = ends[i];
                }
            }
        }
        let row = EventRow {
            event_id: event_id(f[0])?,
            timestamp: self
                .timestamps
                .parse(f[1].as_bytes())
                .ok_or(RejectReason::Timestamp)?,
            operation: Op::parse(f[5].as_bytes()).ok_or(RejectReason::Operation)?,
            record_count: record_count(f[8].as_bytes())?,
            terminal_id: opt(f[2]),
            operator_id: opt(f[3]),
            auth_method: opt(f[4]),
            business_code: opt(f[6]),
            target_code: opt(f[7]),
            request_no: opt(f[9]),
            approval_no: opt(f[10]),
            ref_event_id: opt(f[11]),
            result: opt(f[12]),
            detail: opt(f[13]),
            extras: None,
            line: self.line,
        };
        self.builder.push(&row);
        Ok(())
    }

    #[inline]
    fn kv_line(&mut self, text: &str, start: usize, line: &str) -> Result<(), RejectReason> {
        kv::parse(line, &mut self.kv)?;
        let k = &self.kv;
        event_id(k.get(line, 0).unwrap_or(""))?;
        let operation = k
            .get(line, 4)
            .and_then(|s| Op::parse(s.as_bytes()))
            .ok_or(RejectReason::Operation)?;
        let record_count = record_count(k.get(line, 7).unwrap_or("").as_bytes())?;
        let row = KvSpans {
            start,
            line,
            fields: k,
            operation,
            record_count,
            line_no: self.line,
        };
        self.builder.push_kv(text.as_bytes(), &row);
        Ok(())
    }
}

#[inline]
fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// `event_id`: 1–40 characters.
#[inline]
fn event_id(s: &str) -> Result<&str, RejectReason> {
    if s.is_empty() || (s.len() > 40 && s.chars().count() > 40) {
        return Err(RejectReason::EventId);
    }
    Ok(s)
}

/// `record_count`: an integer ≥ 0, empty = 0.
#[inline]
fn record_count(s: &[u8]) -> Result<i64, RejectReason> {
    if s.is_empty() {
        return Ok(0);
    }
    if s.len() > 18 {
        return Err(RejectReason::RecordCount);
    }
    let mut n = 0i64;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(RejectReason::RecordCount);
        }
        n = n * 10 + d as i64;
    }
    Ok(n)
}

/// Renders CP932 bytes as text, every byte the decoder rejects as `\xNN`.
pub fn escape_cp932(bytes: &[u8]) -> String {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 2);
    let mut rest = bytes;
    loop {
        let need = decoder
            .max_utf8_buffer_length_without_replacement(rest.len())
            .unwrap_or(rest.len() * 3 + 16);
        out.reserve(need);
        let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut out, true);
        match result {
            encoding_rs::DecoderResult::InputEmpty => return out,
            encoding_rs::DecoderResult::OutputFull => rest = &rest[read..],
            encoding_rs::DecoderResult::Malformed(bad, after) => {
                // The malformed bytes end `after` bytes before `read`.
                let end = read - after as usize;
                let start = end - bad as usize;
                for b in &rest[start..end] {
                    out.push_str(&format!("\\x{b:02X}"));
                }
                rest = &rest[read - after as usize..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, UInt64Type};

    use super::*;
    use crate::normalize::schema::col;

    const HEADER: &str = "event_id,timestamp,terminal_id,operator_id,auth_method,operation,business_code,target_code,record_count,request_no,approval_no,ref_event_id,result,detail";

    fn run(
        format: Format,
        encoding: Encoding,
        bytes: &[u8],
    ) -> (Vec<RecordBatch>, Vec<Reject>, DecodeStats) {
        let mut d = DecoderBuilder::new(format, "f.csv")
            .with_encoding(encoding)
            .with_batch_rows(2)
            .build();
        let used = d.decode(bytes).unwrap();
        d.decode_final(&bytes[used..]).unwrap();
        let batches = d.flush().unwrap();
        (batches, d.take_rejects(), d.stats())
    }

    fn ids(batches: &[RecordBatch]) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(col::EVENT_ID)
                    .as_string::<i32>()
                    .iter()
                    .map(|s| s.unwrap_or("").to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn lines(batches: &[RecordBatch]) -> Vec<u64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(col::SOURCE_LINE)
                    .as_primitive::<UInt64Type>()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    #[test]
    fn csv_with_bom_crlf_mixed_and_last_line_without_newline() {
        let text = format!(
            "\u{feff}{HEADER}\r\nE1,2026/04/01 08:45:12,T1,OP1,VEIN,LOGIN,,,,,,,OK,\nE2,2026-04-01T08:46:00+09:00,T1,OP1,,VIEW,W01,12345678901,1,R1,,,OK,\"住民票の写し, 広域\"\r\n\r\nE3,2026/04/01 08:47:00,T1,OP1,,LOGOUT,,,,,,,OK,"
        );
        let (batches, rejects, stats) = run(Format::Csv, Encoding::Utf8, text.as_bytes());
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(ids(&batches), ["E1", "E2", "E3"]);
        assert_eq!(lines(&batches), [2, 3, 5]);
        assert_eq!(
            stats,
            DecodeStats {
                lines: 5,
                events: 3,
                blank: 1,
                header: 1,
                rejected: 0
            }
        );
        let detail = batches[0].column(col::DETAIL).as_string::<i32>();
        assert!(detail.is_null(0));
        assert_eq!(detail.value(1), "住民票の写し, 広域");
    }

    #[test]
    fn every_csv_reject_reason_with_its_line() {
        let text = format!(
            "{HEADER}\n\
             ,2026/04/01 08:45:12,T1,OP1,,VIEW,,,,,,,OK,\n\
             E2,2026/04/31 08:45:12,T1,OP1,,VIEW,,,,,,,OK,\n\
             E3,2026/04/01 08:45:12,T1,OP1,,BROWSE,,,,,,,OK,\n\
             E4,2026/04/01 08:45:12,T1,OP1,,PRINT,,,-3,,,,OK,\n\
             E5,2026/04/01 08:45:12,T1,OP1,,PRINT,,,,,,,OK,\"open\n\
             E6,2026/04/01 08:45:12,T1\n\
             {HEADER}\n\
             E8,2026/04/01 08:45:12,T1,OP1,,PRINT,,,12,,,,OK,fine\n"
        );
        let (batches, rejects, stats) = run(Format::Csv, Encoding::Utf8, text.as_bytes());
        assert_eq!(ids(&batches), ["E8"]);
        let got: Vec<(u64, &str)> = rejects
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "event-id"),
                (3, "timestamp"),
                (4, "operation"),
                (5, "record-count"),
                (6, "quote"),
                (7, "field-count"),
                (8, "header")
            ]
        );
        assert_eq!(stats.lines, 9);
        assert_eq!(
            stats.events + stats.rejected + stats.header + stats.blank,
            stats.lines
        );
        assert_eq!(rejects[5].raw, "E6,2026/04/01 08:45:12,T1");
    }

    #[test]
    fn invalid_utf8_rejects_only_its_line() {
        let mut bytes =
            format!("{HEADER}\nE1,2026/04/01 08:45:12,T1,OP1,,VIEW,,,,,,,OK,a\n").into_bytes();
        bytes.extend_from_slice(b"E2,2026/04/01 08:45:12,T1,OP1,,VIEW,,,,,,,OK,\xff\xfe\n");
        bytes.extend_from_slice("E3,2026/04/01 08:45:12,T1,OP1,,VIEW,,,,,,,OK,住所\n".as_bytes());
        let (batches, rejects, _) = run(Format::Csv, Encoding::Utf8, &bytes);
        assert_eq!(ids(&batches), ["E1", "E3"]);
        assert_eq!(rejects.len(), 1);
        assert_eq!(
            (rejects[0].line, rejects[0].reason),
            (3, RejectReason::Encoding)
        );
        assert!(
            rejects[0].raw.ends_with("OK,\\xFF\\xFE"),
            "{}",
            rejects[0].raw
        );
    }

    #[test]
    fn cp932_lines_decode_and_bad_pairs_reject() {
        let good = "E1,2026/04/01 08:45:12,T1,OP1,,VIEW,W01,,1,R1,,,OK,住民票の写し ソ\r\n";
        let (enc, _, _) = SHIFT_JIS.encode(good);
        let mut bytes = format!("{HEADER}\r\n").into_bytes();
        bytes.extend_from_slice(&enc);
        // 0x82 followed by 0x20 is not a valid CP932 pair.
        bytes.extend_from_slice(b"E2,2026/04/01 08:45:12,T1,OP1,,VIEW,,,,,,,OK,\x82 x\r\n");
        let (batches, rejects, _) = run(Format::Csv, Encoding::Cp932, &bytes);
        assert_eq!(ids(&batches), ["E1"]);
        assert_eq!(
            batches[0].column(col::DETAIL).as_string::<i32>().value(0),
            "住民票の写し ソ"
        );
        assert_eq!(
            (rejects[0].line, rejects[0].reason),
            (3, RejectReason::Encoding)
        );
        assert!(rejects[0].raw.ends_with("OK,\\x82 x"), "{}", rejects[0].raw);
    }

    #[test]
    fn kv_lines_with_extras_and_rejects() {
        let text = "2026-04-01T08:45:12.345+09:00 id=K1 term=T1 op=OP1 act=VIEW tgt=12345678901 n=1 res=OK x=1 msg=\"a \\\"b\\\"\"\n\
                    id=K2 act=VIEW\n\
                    2026/04/01 08:45:13 id=K3 act=NOPE\n\
                    2026/04/01 08:45:14 act=VIEW\n\
                    2026/04/01 08:45:15 id=K5 act=PRINT n=x\n\
                    2026/04/01 08:45:16 id=K6 act=LOGOUT\n";
        let (batches, rejects, _) = run(Format::Kv, Encoding::Utf8, text.as_bytes());
        assert_eq!(ids(&batches), ["K1", "K6"]);
        let b = &batches[0];
        assert_eq!(b.column(col::EXTRAS).as_string::<i32>().value(0), "x=1");
        assert_eq!(b.column(col::DETAIL).as_string::<i32>().value(0), "a \"b\"");
        assert_eq!(
            b.column(col::RECORD_COUNT)
                .as_primitive::<arrow_array::types::Int64Type>()
                .value(0),
            1
        );
        let ops = b.column(col::OPERATION).as_dictionary::<Int32Type>();
        assert_eq!(
            ops.values()
                .as_string::<i32>()
                .value(ops.keys().value(0) as usize),
            "VIEW"
        );
        let got: Vec<(u64, &str)> = rejects
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "timestamp"),
                (3, "operation"),
                (4, "event-id"),
                (5, "record-count")
            ]
        );
    }

    #[test]
    fn decode_consumes_only_complete_lines_and_numbers_continue() {
        let text = format!(
            "{HEADER}\nE1,2026/04/01 08:45:12,T1,OP1,,VIEW,,,,,,,OK,\nE2,2026/04/01 08:45:12,T1"
        );
        let mut d = DecoderBuilder::new(Format::Csv, "f").build();
        let used = d.decode(text.as_bytes()).unwrap();
        assert_eq!(&text.as_bytes()[used..], b"E2,2026/04/01 08:45:12,T1");
        let rest = format!("{},OP1,,VIEW,,,,,,,OK,\n", &text[used..]);
        let used2 = d.decode(rest.as_bytes()).unwrap();
        assert_eq!(used2, rest.len());
        let batches = d.flush().unwrap();
        assert_eq!(ids(&batches), ["E1", "E2"]);
        assert_eq!(lines(&batches), [2, 3]);
        assert!(
            batches
                .iter()
                .all(|b| b.column(col::AUTH_METHOD).null_count() == b.num_rows())
        );
    }

    #[test]
    fn mid_file_chunks_do_not_skip_a_first_line() {
        let mut d = DecoderBuilder::new(Format::Csv, "f")
            .with_file_start(false)
            .with_first_line(10)
            .build();
        d.decode_final(b"E1,2026/04/01 08:45:12,T1,OP1,,VIEW,,,,,,,OK,\n")
            .unwrap();
        assert_eq!(lines(&d.flush().unwrap()), [11]);
    }

    #[test]
    fn escapes_cp932() {
        assert_eq!(escape_cp932(&SHIFT_JIS.encode("住民").0), "住民");
        assert_eq!(escape_cp932(b"a\x82 b\xff"), "a\\x82 b\\xFF");
    }
}
