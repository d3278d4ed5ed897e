//! Archive throughput: writing one day (Arrow in, Parquet + manifest out, fsynced),
//! rolling a week of days up into a weekly file, and the day digest alone at each
//! version (no I/O: the CPU part that the fsyncs of the first two hide). Throughput is the
//! Parquet bytes of the day or week, so the numbers compare with disk bandwidth.
//!
//! `cargo bench --bench archive` (the day size: `TENKEN_BENCH_EVENTS`, default 50 000).

// The same allocator as the binary, so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tenken::archive::digest::{Version, digest_batches_with};
use tenken::archive::synthetic::{SynthDay, day_batch};
use tenken::archive::{Archive, Kind, Level};
use tenken::time;

fn events_per_day() -> usize {
    std::env::var("TENKEN_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn write_day(c: &mut Criterion) {
    let shape = SynthDay {
        events: events_per_day(),
        ..Default::default()
    };
    let d = time::parse_day("2026-04-01").unwrap();
    let batch = day_batch(d, &shape);
    // The size of one day's file, for the throughput.
    let probe = tempfile::tempdir().unwrap();
    let mut a = Archive::open_write(probe.path(), None).unwrap();
    let mut t = a.begin();
    t.put_day(Kind::Events, d, &batch).unwrap();
    t.commit().unwrap();
    let bytes = a.files().map(|f| f.bytes).sum::<u64>();
    drop(a);

    let mut g = c.benchmark_group("archive");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    for version in [Version::V1, Version::V2] {
        g.bench_function(format!("digest {version:?} {} events", shape.events), |b| {
            b.iter(|| digest_batches_with(version, batch.schema(), [black_box(&batch)]).unwrap());
        });
    }
    g.bench_function(format!("put_day {} events", shape.events), |b| {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Archive::open_write(dir.path(), None).unwrap();
        b.iter(|| {
            let mut t = a.begin();
            t.put_day(Kind::Events, d, black_box(&batch)).unwrap();
            t.commit().unwrap();
        });
    });
    g.finish();
}

fn rollup_week(c: &mut Criterion) {
    let shape = SynthDay {
        events: events_per_day(),
        ..Default::default()
    };
    // 2026-04-06 .. 04-12 is ISO week 15, inside April: only the weekly file is built.
    let first = time::parse_day("2026-04-06").unwrap();
    let template = tempfile::tempdir().unwrap();
    let mut a = Archive::open_write(template.path(), None).unwrap();
    for d in first..first + 7 {
        let mut t = a.begin();
        t.put_day(Kind::Events, d, &day_batch(d, &shape)).unwrap();
        t.commit().unwrap();
    }
    drop(a);
    // The size of the weekly file, for the throughput.
    let sizing = tempfile::tempdir().unwrap();
    copy_dir(template.path(), sizing.path());
    let mut a = Archive::open_write(sizing.path(), None).unwrap();
    let report = a.rollup(first + 7).unwrap();
    assert_eq!(a.periods(Kind::Events, Level::Weekly).len(), 1);
    let bytes = report.bytes_written;
    drop(a);

    let mut g = c.benchmark_group("archive");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function(
        format!("rollup week of 7 × {} events", shape.events),
        |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    copy_dir(template.path(), dir.path());
                    dir
                },
                |dir| {
                    let mut a = Archive::open_write(dir.path(), None).unwrap();
                    black_box(a.rollup(first + 7).unwrap());
                    dir
                },
                BatchSize::PerIteration,
            );
        },
    );
    g.finish();
}

criterion_group!(benches, write_day, rollup_week);
criterion_main!(benches);
