//! Rendering a day's events as an office's log file: oplog-csv v1 or oplog-kv v1 lines,
//! UTF-8 (with or without a byte-order mark) or CP932, LF or CRLF, plain, gzip or zstd;
//! with malformed lines inserted between the real ones.
//!
//! Each malformed line has exactly one defect, so that its reject reason is unambiguous,
//! and carries an event id of its own (`…-J00001`) so that a reader that wrongly accepted
//! it could not confuse it with a real event.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use super::config::{Compress, Encoding, Format};
use super::day::{Detail, Ev};
use super::world::{FileStyle, Layout, LineEnd};
use crate::normalize::RejectReason;
use crate::time;

/// The CSV header of oplog-csv v1.
pub const CSV_HEADER: &str = "event_id,timestamp,terminal_id,operator_id,auth_method,operation,business_code,target_code,record_count,request_no,approval_no,ref_event_id,result,detail";

/// Stands for the invalid bytes of an `encoding` junk line until the line is encoded.
const BAD_BYTES: char = '\u{E000}';

/// Appends `n` in decimal, zero-padded to `width` digits (a hand-written `{:0width$}`:
/// `write!` costs a tenth of the generator's time on big data sets).
pub fn push_num(out: &mut String, mut n: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for _ in (buf.len() - i)..width {
        out.push('0');
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

/// One line of a file: a real event (its position in the day's time order) or junk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Event(u32),
    Junk(RejectReason),
}

/// The reject reasons a format can produce, in the order they take turns.
pub fn junk_reasons(format: Format) -> &'static [RejectReason] {
    match format {
        Format::Csv => &[
            RejectReason::FieldCount,
            RejectReason::Timestamp,
            RejectReason::Operation,
            RejectReason::RecordCount,
            RejectReason::Quote,
            RejectReason::Encoding,
            RejectReason::EventId,
        ],
        Format::Kv => &[
            RejectReason::Timestamp,
            RejectReason::Operation,
            RejectReason::RecordCount,
            RejectReason::Quote,
            RejectReason::Encoding,
            RejectReason::EventId,
        ],
    }
}

/// What one file holds once rendered.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The decompressed bytes.
    pub bytes: Vec<u8>,
    /// The 1-based line of each event, by position in the day's time order
    /// (0: not in this file).
    pub event_line: Vec<u64>,
    /// The junk lines: line and reason.
    pub junk: Vec<(u64, RejectReason)>,
}

/// Renders one file.
pub struct Renderer<'a> {
    pub style: FileStyle,
    pub office: &'a str,
    /// `YYYYMMDD`, for event ids.
    pub ymd: String,
    /// `YYYY-MM-DD` and `YYYY/MM/DD`.
    iso_date: String,
    local_date: String,
    pub rng: Pcg64Mcg,
    junk_seq: u32,
    fields: [String; 14],
    line: String,
}

impl<'a> Renderer<'a> {
    pub fn new(style: FileStyle, office: &'a str, day: time::Day, rng: Pcg64Mcg) -> Self {
        let (y, m, d) = time::civil_from_days(day);
        Renderer {
            style,
            office,
            ymd: format!("{y:04}{m:02}{d:02}"),
            iso_date: format!("{y:04}-{m:02}-{d:02}"),
            local_date: format!("{y:04}/{m:02}/{d:02}"),
            rng,
            junk_seq: 0,
            fields: Default::default(),
            line: String::with_capacity(256),
        }
    }

    /// The event id of the `pos`-th event of the day (0-based, time order).
    pub fn event_id(&self, pos: u32) -> String {
        format!("{}-{}-{:06}", self.office, self.ymd, pos + 1)
    }

    fn push_event_id(out: &mut String, office: &str, ymd: &str, pos: u32) {
        out.push_str(office);
        out.push('-');
        out.push_str(ymd);
        out.push('-');
        push_num(out, pos as u64 + 1, 6);
    }

    /// Writes an instant (of this file's day) in the office's layout.
    fn push_time(&mut self, out_field: usize, t: i64) {
        let local = matches!(self.style.layout, Layout::Local)
            || (self.style.layout == Layout::Mixed && self.rng.random_bool(0.4));
        let ms = time::jst_ms_of_day(t);
        let (h, mi, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        let out = &mut self.fields[out_field];
        if local {
            out.push_str(&self.local_date);
            out.push(' ');
        } else {
            out.push_str(&self.iso_date);
            out.push('T');
        }
        push_num(out, h as u64, 2);
        out.push(':');
        push_num(out, mi as u64, 2);
        out.push(':');
        push_num(out, s as u64, 2);
        if self.style.millis {
            out.push('.');
            push_num(out, f as u64, 3);
        }
        if !local {
            out.push_str("+09:00");
        }
    }

    /// Fills the fourteen fields of an event.
    fn fill(&mut self, evs: &[Ev], rank: &[u32], pos: u32) {
        for f in &mut self.fields {
            f.clear();
        }
        let e = &evs[pos as usize];
        Self::push_event_id(&mut self.fields[0], self.office, &self.ymd, pos);
        self.push_time(1, e.t);
        let f = &mut self.fields;
        f[2].push_str(&e.terminal);
        f[3].push_str(&e.operator);
        if let Some(a) = e.auth {
            f[4].push_str(a);
        }
        f[5].push_str(e.op.as_str());
        if let Some(b) = e.biz {
            f[6].push_str(b);
        }
        if let Some(t) = e.target {
            push_num(&mut f[7], t, 11);
        }
        if e.count > 0 {
            push_num(&mut f[8], e.count as u64, 1);
        }
        if let Some(r) = &e.request {
            f[9].push_str(r);
        }
        if let Some(a) = &e.approval {
            f[10].push_str(a);
        }
        if let Some(r) = e.ref_uid
            && let Some(&p) = rank.get(r as usize)
        {
            Self::push_event_id(&mut f[11], self.office, &self.ymd, p);
        }
        f[12].push_str(e.result);
        match e.detail {
            Detail::None => {}
            Detail::One(a) => f[13].push_str(a),
            Detail::Two(a, b) => {
                f[13].push_str(a);
                if !b.is_empty() {
                    f[13].push(' ');
                    f[13].push_str(b);
                }
            }
        }
    }

    /// Turns the filled fields into one malformed line with exactly one defect.
    fn corrupt(&mut self, reason: RejectReason) {
        self.junk_seq += 1;
        let f = &mut self.fields;
        f[0].clear();
        let _ = write!(f[0], "{}-{}-J{:05}", self.office, self.ymd, self.junk_seq);
        // Keep the rest of the line ordinary: a plain view with a count.
        f[5].clear();
        f[5].push_str("VIEW");
        f[8].clear();
        f[8].push('1');
        f[12].clear();
        f[12].push_str("OK");
        if f[13].is_empty() {
            f[13].push_str("住民票の写し 照会");
        }
        let pick = self.rng.random_range(0..3);
        match reason {
            RejectReason::Timestamp => {
                let date = &self.iso_date;
                f[1].clear();
                match pick {
                    0 => f[1].push_str("2026/04/31 10:12:00"),
                    1 => {
                        let _ = write!(f[1], "{date}T25:10:00+09:00");
                    }
                    _ => f[1].push_str("不明"),
                }
            }
            RejectReason::Operation => {
                f[5].clear();
                f[5].push_str(["VIEWW", "view", "照会"][pick]);
            }
            RejectReason::RecordCount => {
                f[8].clear();
                f[8].push_str(["１２", "3件", "-1"][pick]);
            }
            RejectReason::EventId => {
                f[0].clear();
                if pick == 0 {
                    let _ = write!(f[0], "{}-{}-{}", self.office, self.ymd, "0".repeat(40));
                }
            }
            RejectReason::Encoding => {
                f[13].clear();
                f[13].push_str("住民票");
                f[13].push(BAD_BYTES);
                f[13].push_str("の写し");
            }
            // Field count and quotes are shaped when the line is written.
            _ => {}
        }
    }

    /// Writes the filled fields as one line (without its end) into `self.line`.
    fn csv_line(&mut self, junk: Option<RejectReason>) {
        let quote_all = self.style.quote_all;
        self.line.clear();
        let n_fields = match junk {
            Some(RejectReason::FieldCount) => [9, 13, 15][self.rng.random_range(0..3)],
            _ => 14,
        };
        for i in 0..n_fields {
            if i > 0 {
                self.line.push(',');
            }
            let v: &str = if i < 14 {
                &self.fields[i]
            } else {
                "余分な列"
            };
            if junk == Some(RejectReason::Quote) && i == 13 {
                // An unterminated quoted detail: the line ends inside the quotes.
                self.line.push('"');
                self.line.push_str(&v.replace('"', "\"\""));
                continue;
            }
            let needs = v.contains([',', '"']);
            let quote = needs || quote_all || (i == 13 && self.rng.random_bool(0.3));
            if quote {
                self.line.push('"');
                for c in v.chars() {
                    if c == '"' {
                        self.line.push('"');
                    }
                    self.line.push(c);
                }
                self.line.push('"');
            } else {
                self.line.push_str(v);
            }
        }
    }

    /// Writes the filled fields as one key-value line into `self.line`.
    fn kv_line(&mut self, junk: Option<RejectReason>) {
        const KEYS: [&str; 14] = [
            "id", "", "term", "op", "auth", "act", "biz", "tgt", "n", "req", "apv", "ref", "res",
            "msg",
        ];
        self.line.clear();
        if junk != Some(RejectReason::Timestamp) || self.rng.random_bool(0.5) {
            self.line.push_str(&self.fields[1]);
            self.line.push(' ');
        }
        let mut order: [usize; 13] = [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
        if self.rng.random_bool(0.03) {
            // Keys may come in any order.
            let a = self.rng.random_range(1..12);
            order.swap(a, a + 1);
        }
        let mut first = true;
        for &i in &order {
            let v = &self.fields[i];
            let required = matches!(i, 0 | 5);
            if v.is_empty() && self.style.kv_omit_empty && !required {
                continue;
            }
            if !first {
                self.line.push(' ');
            }
            first = false;
            self.line.push_str(KEYS[i]);
            self.line.push('=');
            if i == 13 {
                self.line.push('"');
                for c in v.chars() {
                    if c == '"' || c == '\\' {
                        self.line.push('\\');
                    }
                    self.line.push(c);
                }
                if junk != Some(RejectReason::Quote) {
                    self.line.push('"');
                }
            } else {
                self.line.push_str(v);
            }
        }
        if self.rng.random_bool(0.03) {
            // A key this format does not know: kept as an extra, never an error.
            let _ = write!(
                self.line,
                " sid={:06X}",
                self.rng.random_range(0..0xFF_FFFFu32)
            );
        }
        if junk == Some(RejectReason::Timestamp)
            && self.line.starts_with(&self.fields[1])
            && !self.fields[1].is_empty()
        {
            // Already written with a bad timestamp.
        }
    }

    /// Appends `self.line` in the file's encoding, then the line end.
    fn emit(&mut self, out: &mut Vec<u8>) {
        let cp932 = self.style.encoding == Encoding::Cp932;
        if !cp932 && !self.line.contains(BAD_BYTES) {
            out.extend_from_slice(self.line.as_bytes());
        } else {
            self.emit_parts(out, cp932);
        }
        let crlf = match self.style.line_end {
            LineEnd::Lf => false,
            LineEnd::Crlf => true,
            LineEnd::Mixed => self.rng.random_bool(0.1),
        };
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }

    /// Encodes `self.line` piece by piece, the invalid bytes of a junk line between pieces.
    fn emit_parts(&self, out: &mut Vec<u8>, cp932: bool) {
        let mut parts = self.line.split(BAD_BYTES);
        let mut first = true;
        for part in &mut parts {
            if !first {
                out.extend_from_slice(if cp932 { b"\x81\x20" } else { b"\xFF" });
            }
            first = false;
            if cp932 {
                let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(part);
                out.extend_from_slice(&bytes);
            } else {
                out.extend_from_slice(part.as_bytes());
            }
        }
    }

    /// Renders `lines` (events by time-order position, or junk modelled on the event
    /// before them) into one file's decompressed bytes.
    pub fn render(&mut self, evs: &[Ev], rank: &[u32], lines: &[Line]) -> Rendered {
        let mut r = Rendered {
            bytes: Vec::with_capacity(lines.len() * 170 + 256),
            event_line: vec![0; evs.len()],
            junk: Vec::new(),
        };
        if self.style.encoding == Encoding::Utf8Bom {
            r.bytes.extend_from_slice(b"\xEF\xBB\xBF");
        }
        let mut n: u64 = 0;
        if self.style.format == Format::Csv {
            self.line.clear();
            self.line.push_str(CSV_HEADER);
            self.emit(&mut r.bytes);
            n += 1;
        }
        let mut model: u32 = 0;
        for &line in lines {
            n += 1;
            let junk = match line {
                Line::Event(pos) => {
                    model = pos;
                    self.fill(evs, rank, pos);
                    r.event_line[pos as usize] = n;
                    None
                }
                Line::Junk(reason) => {
                    self.fill(evs, rank, model);
                    self.corrupt(reason);
                    r.junk.push((n, reason));
                    Some(reason)
                }
            };
            match self.style.format {
                Format::Csv => self.csv_line(junk),
                Format::Kv => self.kv_line(junk),
            }
            self.emit(&mut r.bytes);
        }
        r
    }
}

/// Writes `bytes` to `path`, compressed as asked; returns the bytes written.
pub fn write_file(path: &Path, bytes: &[u8], compress: Compress) -> std::io::Result<u64> {
    let file = File::create(path)?;
    match compress {
        Compress::None => {
            let mut w = BufWriter::new(file);
            w.write_all(bytes)?;
            w.flush()?;
        }
        Compress::Gz => {
            let mut enc =
                flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast());
            enc.write_all(bytes)?;
            enc.finish()?.flush()?;
        }
        Compress::Zst => {
            let mut enc = zstd::stream::write::Encoder::new(BufWriter::new(file), 3)?;
            enc.write_all(bytes)?;
            enc.finish()?.flush()?;
        }
    }
    Ok(std::fs::metadata(path)?.len())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rand::SeedableRng;

    use super::*;
    use crate::model::Op;

    fn ev(t: i64) -> Ev {
        Ev {
            uid: 0,
            t,
            terminal: Arc::from("KW01-T01"),
            operator: Arc::from("OP00001"),
            auth: None,
            op: Op::View,
            biz: Some("W01"),
            target: Some(12_345_678_901),
            count: 1,
            request: Some(Arc::from("REQ-KW01-260401-00001")),
            approval: None,
            ref_uid: None,
            result: "OK",
            detail: Detail::One("検索条件: 氏名=\"ヤマダ タロウ\", 性別=男"),
            labels: 0,
        }
    }

    fn style(format: Format, encoding: Encoding) -> FileStyle {
        FileStyle {
            format,
            encoding,
            millis: true,
            layout: Layout::Iso,
            line_end: LineEnd::Lf,
            quote_all: false,
            kv_omit_empty: false,
        }
    }

    fn render(format: Format, encoding: Encoding, lines: &[Line]) -> Rendered {
        let day = time::parse_day("2026-04-01").unwrap();
        let t = time::parse_timestamp(b"2026-04-01T08:45:12.345+09:00").unwrap();
        let evs = vec![ev(t), ev(t + 1000)];
        let mut r = Renderer::new(
            style(format, encoding),
            "KW01",
            day,
            Pcg64Mcg::seed_from_u64(3),
        );
        r.render(&evs, &[0, 1], lines)
    }

    #[test]
    fn csv_lines_quote_detail_and_number_lines() {
        let out = render(
            Format::Csv,
            Encoding::Utf8,
            &[
                Line::Event(0),
                Line::Junk(RejectReason::Quote),
                Line::Event(1),
            ],
        );
        let text = String::from_utf8(out.bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        // Expected line written out by hand from the event above.
        assert_eq!(
            lines[1],
            "KW01-20260401-000001,2026-04-01T08:45:12.345+09:00,KW01-T01,OP00001,,VIEW,W01,\
             12345678901,1,REQ-KW01-260401-00001,,,OK,\
             \"検索条件: 氏名=\"\"ヤマダ タロウ\"\", 性別=男\""
        );
        assert!(lines[2].starts_with("KW01-20260401-J00001,"));
        assert!(
            lines[2].ends_with("性別=男"),
            "unterminated quote: {}",
            lines[2]
        );
        assert_eq!(out.event_line, vec![2, 4]);
        assert_eq!(out.junk, vec![(3, RejectReason::Quote)]);
    }

    #[test]
    fn kv_lines_escape_quotes() {
        let out = render(Format::Kv, Encoding::Utf8, &[Line::Event(0)]);
        let text = String::from_utf8(out.bytes).unwrap();
        assert!(text.starts_with("2026-04-01T08:45:12.345+09:00 id=KW01-20260401-000001 "));
        assert!(text.contains(" act=VIEW "));
        assert!(text.contains("msg=\"検索条件: 氏名=\\\"ヤマダ タロウ\\\", 性別=男\""));
        assert_eq!(out.event_line, vec![1, 0]);
    }

    #[test]
    fn encoding_junk_is_invalid_only_where_meant() {
        let out = render(
            Format::Csv,
            Encoding::Cp932,
            &[Line::Event(0), Line::Junk(RejectReason::Encoding)],
        );
        let lines: Vec<&[u8]> = out.bytes.split(|&b| b == b'\n').collect();
        let (_, bad1) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(lines[1]);
        let (_, bad2) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(lines[2]);
        assert!(!bad1 && bad2);
        let out = render(
            Format::Kv,
            Encoding::Utf8,
            &[Line::Event(0), Line::Junk(RejectReason::Encoding)],
        );
        let lines: Vec<&[u8]> = out.bytes.split(|&b| b == b'\n').collect();
        assert!(std::str::from_utf8(lines[0]).is_ok());
        assert!(std::str::from_utf8(lines[1]).is_err());
    }

    #[test]
    fn junk_timestamps_do_not_parse() {
        for _ in 0..10 {
            let out = render(
                Format::Csv,
                Encoding::Utf8,
                &[Line::Event(0), Line::Junk(RejectReason::Timestamp)],
            );
            let text = String::from_utf8(out.bytes).unwrap();
            let junk = text.lines().nth(2).unwrap();
            let ts = junk.split(',').nth(1).unwrap();
            assert!(time::parse_timestamp(ts.as_bytes()).is_none(), "{ts}");
        }
    }
}
