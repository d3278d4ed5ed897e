//! The readers on the hand-written fixtures of `fixtures/logs/` (see its README): every
//! encoding, format, compression and malformation, through the library and through the
//! real binary.

use std::path::{Path, PathBuf};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMillisecondType, UInt64Type};
use assert_cmd::Command;
use tenken::ingest::{self, InputError, Message, ReadOptions};
use tenken::normalize::schema::col;
use tenken::normalize::{DecodeStats, Reject};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/logs")
        .join(name)
}

fn ledgers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ledgers/sample")
}

/// (event_id, timestamp, line, detail, extras)
type Event = (String, i64, u64, Option<String>, Option<String>);

#[derive(Debug, Default)]
struct Read {
    events: Vec<Event>,
    rejects: Vec<Reject>,
    stats: DecodeStats,
    errors: Vec<String>,
}

fn read_with(paths: &[PathBuf], options: &ReadOptions) -> Read {
    let (files, errors) = ingest::discover(paths);
    let mut out = Read {
        errors: errors.iter().map(|e| e.to_string()).collect(),
        ..Read::default()
    };
    let counter = ingest::pipeline::counter();
    ingest::read_files(&files, options, &counter, |msg| -> Result<(), ()> {
        match msg {
            Message::Data {
                batches, rejects, ..
            } => {
                for b in batches {
                    let ids = b.column(col::EVENT_ID).as_string::<i32>();
                    let ts = b
                        .column(col::TIMESTAMP)
                        .as_primitive::<TimestampMillisecondType>();
                    let lines = b.column(col::SOURCE_LINE).as_primitive::<UInt64Type>();
                    let detail = b.column(col::DETAIL).as_string::<i32>();
                    let extras = b.column(col::EXTRAS).as_string::<i32>();
                    for i in 0..b.num_rows() {
                        let opt = |a: &arrow_array::StringArray| {
                            (!a.is_null(i)).then(|| a.value(i).to_owned())
                        };
                        out.events.push((
                            ids.value(i).to_owned(),
                            ts.value(i),
                            lines.value(i),
                            opt(detail),
                            opt(extras),
                        ));
                    }
                }
                out.rejects.extend(rejects);
            }
            Message::Done { report, error, .. } => {
                out.stats.add(&report.stats);
                if let Some(e) = error {
                    out.errors.push(e.to_string());
                }
            }
        }
        Ok(())
    })
    .unwrap();
    out
}

fn read(names: &[&str]) -> Read {
    let paths: Vec<PathBuf> = names.iter().map(|n| fixture(n)).collect();
    read_with(&paths, &ReadOptions::default())
}

fn ids(r: &Read) -> Vec<&str> {
    r.events.iter().map(|e| e.0.as_str()).collect()
}

fn reasons(r: &Read) -> Vec<(u64, &'static str)> {
    r.rejects
        .iter()
        .map(|x| (x.line, x.reason.as_str()))
        .collect()
}

fn ts(s: &str) -> i64 {
    tenken::time::parse_timestamp(s.as_bytes()).unwrap()
}

#[test]
fn utf8_csv_with_quotes_and_both_timestamp_layouts() {
    let r = read(&["utf8.csv"]);
    assert_eq!(ids(&r), ["U1", "U2", "U3", "U4", "U5"]);
    assert!(r.rejects.is_empty() && r.errors.is_empty());
    let lines: Vec<u64> = r.events.iter().map(|e| e.2).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6]);
    assert_eq!(r.events[0].1, ts("2026-04-01T08:45:12.345+09:00"));
    assert_eq!(r.events[3].1, ts("2026-04-01T08:48:00.500+09:00"));
    // 23:49 UTC on March 31 is 08:49 JST on April 1.
    assert_eq!(r.events[4].1, ts("2026-04-01T08:49:00+09:00"));
    assert_eq!(r.events[1].3.as_deref(), Some("氏名検索, 前方一致"));
    assert_eq!(r.events[2].3.as_deref(), Some("住民票の写し \"広域交付\""));
    assert_eq!(r.events[0].3, None, "empty detail is absent");
}

#[test]
fn bom_crlf_mixed_blank_line_and_no_final_newline() {
    let r = read(&["utf8-bom-crlf.csv"]);
    assert_eq!(ids(&r), ["B1", "B2", "B3"]);
    assert_eq!(r.events.iter().map(|e| e.2).collect::<Vec<_>>(), [2, 3, 5]);
    assert_eq!(r.stats.blank, 1);
    assert_eq!(r.events[1].3.as_deref(), Some("転出証明書"));
}

#[test]
fn cp932_is_detected_and_decoded() {
    let r = read(&["cp932.csv"]);
    assert_eq!(ids(&r), ["C1", "C2", "C3"]);
    assert_eq!(r.events[1].3.as_deref(), Some("ソフト表示, 本人確認情報"));
    assert_eq!(r.events[2].3.as_deref(), Some("ログアウト"));
    // Forcing UTF-8 instead turns every line with Japanese into an encoding reject.
    let forced = read_with(
        &[fixture("cp932.csv")],
        &ReadOptions {
            encoding: Some(tenken::normalize::Encoding::Utf8),
            ..ReadOptions::default()
        },
    );
    assert_eq!(ids(&forced), ["C1"]);
    assert_eq!(reasons(&forced), [(3, "encoding"), (4, "encoding")]);
}

#[test]
fn key_value_lines() {
    let r = read(&["kv.log"]);
    assert_eq!(ids(&r), ["K1", "K2", "K3"]);
    assert_eq!(r.events[1].3.as_deref(), Some("住民票の写し \"至急\""));
    assert_eq!(r.events[1].4.as_deref(), Some("vendor=abc"));
    assert_eq!(r.events[2].1, ts("2026-04-04T08:32:00.250+09:00"));
}

#[test]
fn compressed_files_read_like_plain_ones() {
    for (plain, packed) in [("utf8.csv", "utf8.csv.gz"), ("kv.log", "kv.log.zst")] {
        let (a, b) = (read(&[plain]), read(&[packed]));
        assert_eq!(a.events, b.events, "{packed}");
        assert!(b.errors.is_empty());
    }
}

#[test]
fn mapped_and_read_files_agree() {
    let names: Vec<PathBuf> = ["utf8.csv", "cp932.csv", "malformed.csv"]
        .iter()
        .map(|n| fixture(n))
        .collect();
    let mut a = read_with(&names, &ReadOptions::default());
    let mut b = read_with(
        &names,
        &ReadOptions {
            mmap: false,
            ..ReadOptions::default()
        },
    );
    // Files are read concurrently: compare as sets (each file's own order is tested above).
    a.events.sort();
    b.events.sort();
    assert_eq!(a.events, b.events);
    let (mut ra, mut rb) = (reasons(&a), reasons(&b));
    ra.sort();
    rb.sort();
    assert_eq!(ra, rb);
}

#[test]
fn every_csv_malformation_is_a_reject_with_its_line() {
    let r = read(&["malformed.csv"]);
    assert_eq!(ids(&r), ["M1", "M10"]);
    assert_eq!(
        reasons(&r),
        [
            (3, "field-count"),
            (4, "timestamp"),
            (5, "operation"),
            (6, "record-count"),
            (7, "quote"),
            (8, "encoding"),
            (9, "event-id"),
            (10, "header")
        ]
    );
    assert!(r.rejects[5].raw.contains("bad \\xFF byte"));
    let s = r.stats;
    assert_eq!(s.lines, 11);
    assert_eq!(
        s.events + s.rejected + s.header + s.blank,
        s.lines,
        "every line accounted for"
    );
}

#[test]
fn every_key_value_malformation_is_a_reject_with_its_line() {
    let r = read(&["malformed.log"]);
    assert_eq!(ids(&r), ["N1", "N8"]);
    assert_eq!(
        reasons(&r),
        [
            (2, "timestamp"),
            (3, "operation"),
            (4, "record-count"),
            (5, "quote"),
            (6, "syntax"),
            (7, "event-id")
        ]
    );
}

#[test]
fn an_invalid_cp932_pair_rejects_its_line_only() {
    let r = read(&["malformed-cp932.csv"]);
    assert_eq!(ids(&r), ["P1", "P3"]);
    assert_eq!(reasons(&r), [(3, "encoding")]);
    assert!(
        r.rejects[0].raw.contains("\\x82 broken"),
        "{}",
        r.rejects[0].raw
    );
    assert_eq!(r.events[0].3.as_deref(), Some("ログイン"));
}

#[test]
fn unreadable_files_are_errors_and_the_others_are_read() {
    let r = read(&[
        "truncated.csv.gz",
        "not-a-log.csv",
        "missing.csv",
        "utf8.csv",
    ]);
    assert_eq!(r.errors.len(), 3, "{:?}", r.errors);
    assert!(r.errors.iter().any(|e| e.contains("missing.csv")));
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("truncated.csv.gz") && e.contains("gzip"))
    );
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("not-a-log.csv") && e.contains("not an operation log"))
    );
    // utf8.csv was read in full; the truncated stream gave the lines before the cut.
    assert!(ids(&r).iter().filter(|i| i.starts_with('U')).count() == 5);
    let truncated = r.events.iter().filter(|e| e.0.starts_with('T')).count();
    assert!(
        truncated > 0 && truncated < 3000,
        "{truncated} rows before the cut"
    );
}

#[test]
fn folders_are_walked_for_log_files() {
    let (files, errors) = ingest::discover(&[fixture("")]);
    assert!(errors.is_empty());
    let names: Vec<String> = files
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"kv.log.zst".to_owned()));
    assert!(!names.contains(&"README.md".to_owned()));
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "sorted");
}

#[test]
fn input_error_names_the_file() {
    let e = InputError::NoLogs {
        path: PathBuf::from("/x/y"),
    };
    assert!(e.to_string().contains("/x/y"));
}

// The binary: rejects file, summary, exit statuses.

fn scan(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("tenken")
        .unwrap()
        .arg("scan")
        .args(args)
        .arg("--ledgers")
        .arg(ledgers())
        .assert()
}

#[test]
fn the_rejects_file_lists_every_malformed_line() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let a = fixture("malformed.csv");
    let b = fixture("malformed.log");
    scan(&[
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
        "--quiet",
    ])
    .success();
    let mut r = csv::Reader::from_path(&rejects).unwrap();
    assert_eq!(r.headers().unwrap(), vec!["file", "line", "reason", "raw"]);
    let rows: Vec<(String, u64, String)> = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            (
                Path::new(&x[0])
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                x[1].parse().unwrap(),
                x[2].to_owned(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 14);
    // Input order: malformed.csv's rejects first, in line order.
    assert_eq!(
        rows[0],
        ("malformed.csv".to_owned(), 3, "field-count".to_owned())
    );
    assert_eq!(
        rows[13],
        ("malformed.log".to_owned(), 7, "event-id".to_owned())
    );
}

#[test]
fn summary_counts_rejects_by_reason_in_both_languages() {
    let a = fixture("malformed.csv");
    let out = scan(&[a.to_str().unwrap(), "--lang", "en"])
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("rejected   8 lines"), "{text}");
    assert!(text.contains("field-count 1"), "{text}");
    assert!(text.contains("events     2 over 1 day;"), "{text}");
    let out = scan(&[a.to_str().unwrap()])
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("不正行     8 件"), "{text}");
}

#[test]
fn an_unreadable_input_exits_2_after_reading_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let findings = dir.path().join("f.csv");
    let t = fixture("truncated.csv.gz");
    let u = fixture("utf8.csv");
    let assert = scan(&[
        t.to_str().unwrap(),
        u.to_str().unwrap(),
        "--findings",
        findings.to_str().unwrap(),
        "--lang",
        "en",
    ])
    .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("truncated.csv.gz"), "{stderr}");
    assert!(
        findings.exists(),
        "the findings of the readable inputs are still written"
    );
}

#[test]
fn bad_flags_exit_2() {
    Command::cargo_bin("tenken")
        .unwrap()
        .args(["scan", "--no-such-flag"])
        .assert()
        .code(2);
    let u = fixture("utf8.csv");
    scan(&[u.to_str().unwrap(), "--findings", "/tmp/x.txt", "--quiet"]).code(2);
}

#[test]
fn an_error_names_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-ledgers");
    let u = fixture("utf8.csv");
    let assert = Command::cargo_bin("tenken")
        .unwrap()
        .args(["scan", u.to_str().unwrap(), "--quiet", "--ledgers"])
        .arg(&missing)
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
    assert_eq!(stderr.matches("(os error 2)").count(), 1, "{stderr}");
}

#[test]
fn duplicate_event_ids_are_counted_once() {
    // The same file handed twice: every event is a duplicate of itself.
    let u = fixture("utf8.csv");
    let out = scan(&[u.to_str().unwrap(), u.to_str().unwrap(), "--lang", "en"])
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("events     5 over 1 day; 5 duplicate event ids kept once"),
        "{text}"
    );
}
