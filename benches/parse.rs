//! Parse + normalize throughput of one core: bytes of log text to Arrow batches.
//!
//! Two kinds of input: lines built here that imitate `tenken gen` output (ids, both
//! timestamp layouts, Japanese detail, some quoted with commas), and the real files of a
//! small `tenken gen --seed 1` set (half its offices quote every field), decoded file by
//! file as the pipeline decodes them. The `dates` group times the date pass that runs
//! before parsing (`ingest::dates`: each plain file's span of local dates, which orders
//! the reading) on the same inputs. Run: `cargo bench --bench parse`.

// The same allocator as the binary, so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use encoding_rs::SHIFT_JIS;
use tenken::ingest::dates::{DaySpan, span_of_text};
use tenken::normalize::{DecoderBuilder, Encoding, Format};
use tenken::synth::{self, GenParams};

const OPS: [&str; 8] = [
    "VIEW", "SEARCH", "VIEW", "PRINT", "VIEW", "INPUT", "VERIFY", "LOGIN",
];
const DETAILS: [&str; 4] = [
    "住民票の写し 広域交付",
    "\"本人確認情報照会, 転入\"",
    "転出証明書",
    "\"帳票 \"\"至急\"\" 出力\"",
];

fn csv_text(lines: usize) -> String {
    let mut s = String::from(
        "event_id,timestamp,terminal_id,operator_id,auth_method,operation,business_code,target_code,record_count,request_no,approval_no,ref_event_id,result,detail\n",
    );
    for i in 0..lines {
        let ts = if i % 3 == 0 {
            format!(
                "2026/04/01 {:02}:{:02}:{:02}",
                8 + i / 3600 % 9,
                i / 60 % 60,
                i % 60
            )
        } else {
            format!(
                "2026-04-01T{:02}:{:02}:{:02}.{:03}+09:00",
                8 + i / 3600 % 9,
                i / 60 % 60,
                i % 60,
                i % 1000
            )
        };
        s.push_str(&format!(
            "KW{:02}-20260401-{:06},{ts},KW{:02}-T{:02},OP{:05},{},{},W0{},{:011},{},REQ-2026-{:06},,,OK,{}\n",
            i % 7,
            i,
            i % 7,
            i % 12,
            i % 140,
            if i % 50 == 0 { "VEIN" } else { "" },
            OPS[i % OPS.len()],
            1 + i % 3,
            10_000_000_000u64 + (i as u64 * 7919) % 89_999_999_999,
            i % 4,
            i,
            DETAILS[i % DETAILS.len()],
        ));
    }
    s
}

fn kv_text(lines: usize) -> String {
    let mut s = String::new();
    for i in 0..lines {
        s.push_str(&format!(
            "2026-04-01T{:02}:{:02}:{:02}.{:03}+09:00 id=KW01-{i:07} term=KW01-T{:02} op=OP{:05} auth= act={} biz=W01 tgt={:011} n=1 req=REQ-2026-{i:06} apv= ref= res=OK msg=\"住民票の写し 広域交付\"\n",
            8 + i / 3600 % 9,
            i / 60 % 60,
            i % 60,
            i % 1000,
            i % 12,
            i % 140,
            OPS[i % OPS.len()],
            10_000_000_000u64 + i as u64,
        ));
    }
    s
}

/// The UTF-8 CSV day files of a small generated set (ten offices, two days), each with
/// its header, read into memory; `None` (and a message) when generating fails.
fn gen_files() -> Option<Vec<Vec<u8>>> {
    let dir = tempfile::tempdir()
        .map_err(|e| eprintln!("no temporary folder: {e}"))
        .ok()?;
    let params = GenParams {
        seed: 1,
        days: 2,
        start: "2026-04-01".into(),
        offices: 10,
        scale: 2.0,
        anomalies: 1.0,
        malformed: 0.001,
        formats: vec![synth::Format::Csv],
        encodings: vec![synth::Encoding::Utf8],
        compress: vec![synth::Compress::None],
        duplicates: false,
        shuffle: false,
    };
    let mut cfg = params
        .build(dir.path().to_path_buf())
        .map_err(|e| eprintln!("gen parameters: {e}"))
        .ok()?;
    cfg.quiet = true;
    synth::generate(&cfg, false)
        .map_err(|e| eprintln!("gen: {e}"))
        .ok()?;
    let mut files = Vec::new();
    let mut dirs = vec![dir.path().join("logs")];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(std::fs::read(&path).ok()?);
            }
        }
    }
    Some(files)
}

fn decode_gen(c: &mut Criterion) {
    let Some(files) = gen_files() else { return };
    let name: Arc<str> = "bench.csv".into();
    let bytes: usize = files.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("gen-csv-utf8", |b| {
        b.iter(|| {
            let mut rows = 0;
            for file in &files {
                let mut d = DecoderBuilder::new(Format::Csv, Arc::clone(&name))
                    .with_batch_rows(usize::MAX)
                    .build();
                d.decode_final(black_box(file)).unwrap();
                rows += d
                    .flush()
                    .unwrap()
                    .iter()
                    .map(|b| b.num_rows())
                    .sum::<usize>();
            }
            black_box(rows)
        })
    });
    group.finish();
}

fn decode(c: &mut Criterion) {
    let name: Arc<str> = "bench.csv".into();
    let csv = csv_text(20_000);
    let kv = kv_text(20_000);
    let cp932 = SHIFT_JIS.encode(&csv).0.into_owned();
    let mut group = c.benchmark_group("decode");
    let cases: [(&str, &[u8], Format, Encoding); 3] = [
        ("csv-utf8", csv.as_bytes(), Format::Csv, Encoding::Utf8),
        ("csv-cp932", &cp932, Format::Csv, Encoding::Cp932),
        ("kv-utf8", kv.as_bytes(), Format::Kv, Encoding::Utf8),
    ];
    for (label, bytes, format, encoding) in cases {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(label, |b| {
            b.iter(|| {
                let mut d = DecoderBuilder::new(format, Arc::clone(&name))
                    .with_encoding(encoding)
                    .with_batch_rows(usize::MAX)
                    .build();
                d.decode_final(black_box(bytes)).unwrap();
                black_box(d.flush().unwrap())
            })
        });
    }
    group.finish();
}

fn date_pass(c: &mut Criterion) {
    let csv = csv_text(20_000);
    let kv = kv_text(20_000);
    let mut group = c.benchmark_group("dates");
    let cases: [(&str, &[u8]); 2] = [("csv-utf8", csv.as_bytes()), ("kv-utf8", kv.as_bytes())];
    for (label, bytes) in cases {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(label, |b| {
            b.iter(|| black_box(span_of_text(black_box(bytes))))
        });
    }
    if let Some(files) = gen_files() {
        let bytes: usize = files.iter().map(Vec::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function("gen-csv-utf8", |b| {
            b.iter(|| {
                files
                    .iter()
                    .map(|f| span_of_text(black_box(f)))
                    .filter(|s| matches!(s, DaySpan::Days { .. }))
                    .count()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode, decode_gen, date_pass);
criterion_main!(benches);
