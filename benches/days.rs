//! Throughput of the day stage: regrouping parsed batches by local date, spilling past
//! the memory budget, and handing each day back sorted and deduplicated.
//!
//! `cargo bench --bench days` reports bytes of Arrow batches per second (criterion's
//! `Throughput::Bytes`, the batches' in-memory size as the parsers hand them over). The
//! input mimics `tenken gen` output as the pipeline sees it: 12 office files a day over 6
//! days, each file cut into 10,000-row chunks in time order, the files pushed office by
//! office so that every day is complete only at the end. Two budgets: one that holds
//! everything, and one of 8 MiB that spills most of it to the temporary folder, as a large
//! scan does. `gather` times only what the archive adds: each day's rows gathered into one
//! batch in its sorted order.

// The same allocator as the binary, so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;

use arrow_array::RecordBatch;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use tenken::days::{DayEvents, DayStore, DaysOptions};
use tenken::model::Op;
use tenken::normalize::{EventRow, batch_from_rows};
use tenken::time;

const DAYS: i64 = 6;
const OFFICES: usize = 12;
const EVENTS_PER_FILE: usize = 30_000;
const CHUNK: usize = 10_000;

/// Every chunk of every file, files in office-then-day order.
fn batches() -> Vec<RecordBatch> {
    let mut rng = Pcg64Mcg::seed_from_u64(7);
    let first = time::parse_day("2026-04-01").unwrap_or(0);
    let ops = [
        Op::Search,
        Op::View,
        Op::View,
        Op::Print,
        Op::Login,
        Op::Input,
    ];
    let mut out = Vec::new();
    for office in 0..OFFICES {
        for d in 0..DAYS {
            let midnight = time::jst_midnight(first + d as i32);
            // 08:00–18:30, ascending, as a terminal writes them.
            let mut ts: Vec<i64> = (0..EVENTS_PER_FILE)
                .map(|_| midnight + rng.random_range(8 * 3_600_000..18 * 3_600_000 + 1_800_000))
                .collect();
            ts.sort_unstable();
            let texts: Vec<[String; 6]> = (0..EVENTS_PER_FILE)
                .map(|i| {
                    [
                        format!("K{office:02}-2026040{}-{i:06}", d + 1),
                        format!("K{office:02}-T{:02}", rng.random_range(0..40)),
                        format!("OP{:05}", office * 100 + rng.random_range(0..60)),
                        format!("{:011}", rng.random_range(0..99_999_999_999u64)),
                        format!("REQ-2026-{:07}", rng.random_range(0..2_000_000)),
                        "住民票の写し 広域交付".to_owned(),
                    ]
                })
                .collect();
            let file = format!("logs/K{office:02}/2026-04-0{}.csv", d + 1);
            for (c, start) in (0..EVENTS_PER_FILE).step_by(CHUNK).enumerate() {
                let rows = (start..(start + CHUNK).min(EVENTS_PER_FILE)).map(|i| {
                    let t = &texts[i];
                    EventRow {
                        terminal_id: Some(&t[1]),
                        operator_id: Some(&t[2]),
                        auth_method: Some("VEIN"),
                        business_code: Some("W01"),
                        target_code: Some(&t[3]),
                        record_count: 1,
                        request_no: Some(&t[4]),
                        result: Some("OK"),
                        detail: Some(&t[5]),
                        line: (c * CHUNK + i + 2) as u64,
                        ..EventRow::new(&t[0], ts[i], ops[i % ops.len()])
                    }
                });
                if let Ok(batch) = batch_from_rows(&file, rows) {
                    out.push(batch);
                }
            }
        }
    }
    out
}

/// Pushes every batch into a store of `budget` bytes and hands out its days in order;
/// `false` if the store failed.
fn regroup(input: &[RecordBatch], budget: usize, mut each: impl FnMut(DayEvents)) -> bool {
    let mut store = DayStore::new(DaysOptions {
        memory_budget: budget,
        spill_dir: None,
    });
    if !input.iter().all(|batch| store.push(batch).is_ok()) {
        return false;
    }
    while let Ok(Some(day)) = store.pop_first() {
        each(day);
    }
    true
}

fn bench(c: &mut Criterion) {
    let input = batches();
    let bytes: usize = input.iter().map(RecordBatch::get_array_memory_size).sum();
    let mut g = c.benchmark_group("days");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    for (name, budget) in [("in_memory", usize::MAX), ("spilling_8MiB", 8 << 20)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut rows = 0;
                if !regroup(&input, budget, |day| rows += day.len()) {
                    return 0;
                }
                black_box(rows)
            })
        });
    }
    // The archive's copy of each day: its rows gathered into one sorted batch.
    g.bench_function("gather", |b| {
        b.iter_batched(
            || {
                let mut days = Vec::new();
                regroup(&input, usize::MAX, |day| days.push(day));
                days
            },
            |days| {
                let rows: usize = days
                    .into_iter()
                    .filter_map(|day| day.into_batch().ok())
                    .map(|batch| batch.num_rows())
                    .sum();
                black_box(rows)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
