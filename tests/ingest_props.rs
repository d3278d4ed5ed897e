//! Properties of the readers over generated input: any byte soup is read without a panic
//! and every line is accounted for (event, reject, blank or header); valid lines mixed
//! with junk in any encoding, line ending and compression all come out as events with
//! their own line numbers — not one valid line lost; the date pass that orders files
//! (`ingest::dates`) never misses the date of an event the readers produce.

use std::io::Write;
use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMillisecondType, UInt64Type};
use proptest::prelude::*;
use tenken::ingest::dates::{self, DaySpan};
use tenken::ingest::{self, Message, ReadOptions};
use tenken::normalize::DecodeStats;
use tenken::normalize::schema::col;

const HEADER: &str = "event_id,timestamp,terminal_id,operator_id,auth_method,operation,business_code,target_code,record_count,request_no,approval_no,ref_event_id,result,detail";

struct Outcome {
    events: Vec<(String, u64)>,
    /// The local date of every event.
    days: Vec<tenken::time::Day>,
    stats: DecodeStats,
    rejects: usize,
    errors: usize,
}

fn read(path: &PathBuf, block: usize, chunk: usize) -> Outcome {
    let (files, errors) = ingest::discover(std::slice::from_ref(path));
    assert!(errors.is_empty());
    let mut out = Outcome {
        events: Vec::new(),
        days: Vec::new(),
        stats: DecodeStats::default(),
        rejects: 0,
        errors: 0,
    };
    let options = ReadOptions {
        block_size: block,
        chunk_size: chunk,
        ..ReadOptions::default()
    };
    ingest::read_files(
        &files,
        &options,
        &ingest::pipeline::counter(),
        |msg| -> Result<(), ()> {
            match msg {
                Message::Data {
                    batches, rejects, ..
                } => {
                    out.rejects += rejects.len();
                    for b in batches {
                        let ids = b.column(col::EVENT_ID).as_string::<i32>();
                        let lines = b.column(col::SOURCE_LINE).as_primitive::<UInt64Type>();
                        let ts = b
                            .column(col::TIMESTAMP)
                            .as_primitive::<TimestampMillisecondType>();
                        for i in 0..b.num_rows() {
                            out.events.push((ids.value(i).to_owned(), lines.value(i)));
                            out.days.push(tenken::time::jst_day(ts.value(i)));
                        }
                    }
                }
                Message::Done { report, error, .. } => {
                    out.stats.add(&report.stats);
                    out.errors += error.is_some() as usize;
                }
            }
            Ok(())
        },
    )
    .unwrap();
    out
}

#[derive(Debug, Clone)]
enum Line {
    Valid { minute: u32, detail: String },
    Junk(Vec<u8>),
}

fn line_strategy() -> impl Strategy<Value = Line> {
    prop_oneof![
        3 => (0u32..600, "[a-z 住民票の写し,\"]{0,12}").prop_map(|(minute, detail)| Line::Valid { minute, detail }),
        // Junk as corrupted exports look: printable garbage, sometimes with a byte that no
        // encoding accepts. (Arbitrary bytes are the other property's job.)
        1 => ("[ -~]{0,40}", any::<bool>()).prop_map(|(s, bad)| {
            let mut b = s.into_bytes();
            if bad {
                b.insert(b.len() / 2, 0xff);
            }
            Line::Junk(b)
        }),
    ]
}

/// Whether a file's date span admits every event date the readers produced.
fn covers(span: DaySpan, days: &[tenken::time::Day]) -> bool {
    match span {
        DaySpan::Unknown => true,
        DaySpan::Empty => days.is_empty(),
        DaySpan::Days { first, last } => days.iter().all(|d| (first..=last).contains(d)),
    }
}

/// A timestamp in one of the written forms, on one of a few days around midnight.
fn timestamp_strategy() -> impl Strategy<Value = String> {
    (0u32..4, 0u32..24, 0u32..60, 0u8..8).prop_map(|(d, h, m, form)| {
        let day = 1 + d;
        match form {
            0 => format!("2026-04-{day:02}T{h:02}:{m:02}:05.123+09:00"),
            1 => format!("2026-04-{day:02}T{h:02}:{m:02}:05Z"),
            2 => format!("2026-04-{day:02}T{h:02}:{m:02}:05-05:00"),
            3 => format!("2026/04/{day:02} {h:02}:{m:02}:05"),
            4 => format!("2026/4/{day} {h}:{m:02}:05.5"),
            5 => format!("2026-04-{day:02} {h:02}:{m:02}:05"),
            6 => format!("2026-04-{day:02}T{:02}:{m:02}:05+09:00", h + 24),
            _ => format!("2026-04-{day:02}T{h:02}:{m:02}:05+14:00"),
        }
    })
}

fn render(i: usize, line: &Line, kv: bool) -> Vec<u8> {
    match line {
        Line::Valid { minute, detail } => {
            let ts = format!(
                "2026-04-01T{:02}:{:02}:00+09:00",
                8 + minute / 60,
                minute % 60
            );
            if kv {
                let msg = detail.replace('\\', "\\\\").replace('"', "\\\"");
                format!("{ts} id=V{i} term=T1 op=OP1 act=VIEW res=OK msg=\"{msg}\"").into_bytes()
            } else {
                let d = detail.replace('"', "\"\"");
                format!("V{i},{ts},T1,OP1,,VIEW,W01,,1,,,,OK,\"{d}\"").into_bytes()
            }
        }
        Line::Junk(b) => b.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn byte_soup_never_panics_and_every_line_is_accounted_for(
        soup in proptest::collection::vec(any::<u8>(), 0..3000),
        csv_header in any::<bool>(),
        chunk in 16usize..512,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("soup.csv");
        let mut bytes = Vec::new();
        if csv_header {
            bytes.extend_from_slice(HEADER.as_bytes());
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(&soup);
        std::fs::write(&path, &bytes).unwrap();
        let out = read(&path, 4096, chunk);
        let span = dates::span(&ingest::discover(std::slice::from_ref(&path)).0[0], true, 4096);
        prop_assert!(covers(span, &out.days), "{:?} {:?}", span, out.days);
        if out.errors == 0 {
            let s = out.stats;
            prop_assert_eq!(s.events + s.rejected + s.blank + s.header, s.lines);
            prop_assert_eq!(s.events as usize, out.events.len());
            prop_assert_eq!(s.rejected as usize, out.rejects);
            let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            let last_unterminated = !bytes.is_empty() && bytes.last() != Some(&b'\n');
            prop_assert_eq!(s.lines, newlines + last_unterminated as u64);
        }
    }

    #[test]
    fn valid_lines_among_junk_are_never_lost(
        lines in proptest::collection::vec(line_strategy(), 1..120),
        kv in any::<bool>(),
        cp932 in any::<bool>(),
        crlf in any::<bool>(),
        compression in 0u8..3,
        chunk in 64usize..2048,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut text: Vec<u8> = Vec::new();
        let mut line_no = 0u64;
        let mut expected = Vec::new();
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        if !kv {
            text.extend_from_slice(HEADER.as_bytes());
            text.extend_from_slice(eol);
            line_no += 1;
        }
        for (i, l) in lines.iter().enumerate() {
            line_no += 1;
            let mut rendered = render(i, l, kv);
            if cp932 && matches!(l, Line::Valid { .. }) {
                let s = String::from_utf8(rendered).unwrap();
                rendered = encoding_rs::SHIFT_JIS.encode(&s).0.into_owned();
            }
            if matches!(l, Line::Valid { .. }) {
                expected.push((format!("V{i}"), line_no));
            }
            text.extend_from_slice(&rendered);
            text.extend_from_slice(eol);
        }
        let (name, bytes) = match compression {
            0 => ("log.csv", text.clone()),
            1 => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&text).unwrap();
                ("log.csv.gz", e.finish().unwrap())
            }
            _ => ("log.csv.zst", zstd::encode_all(&text[..], 1).unwrap()),
        };
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = read(&path, 1024, chunk);
        // A key-value file has no header: its format is told by a key-value line among
        // its first eight lines that are not blank (`ingest::sniff`). Without one the
        // file is reported as of unknown format and none of it is read.
        let sniffable = !kv
            || lines
                .iter()
                .filter(|l| !matches!(l, Line::Junk(b) if b.is_empty()))
                .take(8)
                .any(|l| matches!(l, Line::Valid { .. }));
        if !sniffable {
            prop_assert_eq!(out.errors, 1);
            prop_assert!(out.events.is_empty());
            return Ok(());
        }
        prop_assert_eq!(out.errors, 0);
        let s = out.stats;
        prop_assert_eq!(s.events + s.rejected + s.blank + s.header, s.lines);
        prop_assert_eq!(s.lines, line_no);
        // Every valid line is an event with its own line number. (Junk is far too random
        // to form a valid line by chance; if it did, it would be an extra event.)
        let valid: Vec<(String, u64)> = out.events.iter().filter(|e| e.0.starts_with('V')).cloned().collect();
        prop_assert_eq!(valid, expected);
    }

    #[test]
    fn the_date_pass_covers_every_event(
        lines in proptest::collection::vec(
            (timestamp_strategy(), 0u8..4, any::<bool>(), "[a-z,\"]{0,6}", any::<bool>()),
            1..80,
        ),
        kv in any::<bool>(),
        cp932 in any::<bool>(),
        crlf in any::<bool>(),
        block in 200usize..3000,
        mmap in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let eol: &str = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        if !kv {
            text += HEADER;
            text += eol;
        }
        for (i, (ts, quoting, quote_ts, detail, junk)) in lines.iter().enumerate() {
            if *junk {
                // A line that is almost an event: the timestamp where it belongs but the
                // rest broken, or glued to other text.
                text += &format!("J{i}{detail},{ts}{detail}");
            } else if kv {
                text += &format!("{ts} id=V{i} term=T1 op=OP1 act=VIEW msg=\"住民{}\"", detail.replace('"', ""));
            } else {
                let id = match quoting {
                    0 => format!("V{i}"),
                    1 => format!("\"V{i}\""),
                    2 => format!("\"V{i}\"\"q\""),
                    _ => format!("\"V,{i}\""),
                };
                let ts = if *quote_ts { format!("\"{ts}\"") } else { ts.clone() };
                text += &format!("{id},{ts},T1,OP1,,VIEW,W01,,1,,,,OK,\"住民{}\"", detail.replace('"', "\"\""));
            }
            text += eol;
        }
        let bytes = if cp932 {
            encoding_rs::SHIFT_JIS.encode(&text).0.into_owned()
        } else {
            text.into_bytes()
        };
        let path = dir.path().join("log.csv");
        std::fs::write(&path, &bytes).unwrap();
        let out = read(&path, 1024, 256);
        let file = &ingest::discover(std::slice::from_ref(&path)).0[0];
        let span = dates::span(file, mmap, block);
        prop_assert!(covers(span, &out.days), "{:?} {:?}", span, out.days);
        // A plain file of a known format always gets a span: nothing here is unknown.
        if !kv {
            prop_assert!(span != DaySpan::Unknown);
        }
    }
}
