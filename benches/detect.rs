//! Throughput of the rule engine: all 16 rules over one synthetic day built in code.
//!
//! `cargo bench --bench detect` reports events per second (criterion's
//! `Throughput::Elements`). The day mimics a large city's offices: 2,000 operators on 1,500
//! terminals, 08:00–18:30, mostly searches and views, with outputs, changes and their
//! verifies, log-ins and a few failures; a request register, approvals and a watch list
//! are loaded so that every ledger rule does its look-ups.
//!
//! Wall time is meaningless on a busy machine; `TENKEN_BENCH_COUNTS=1 cargo bench --bench
//! detect` also prints the findings per rule and the best thread CPU time of five runs.
//! Measured on the 2-core development machine (shared, load 3–6): ≈ 170 ns of CPU per
//! event for all 16 rules at 400,000 events a day (≈ 210 before the windows were swept
//! group by group, same session); callgrind counts ≈ 1,350 instructions per event for
//! `judge_day` (the ledger rules the largest share, then the pattern rules, sessions,
//! laying out the batch and pairing). The instruction count moved less than the time:
//! most of what was saved were cache misses.

// The same allocator as the binary, so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeSet;
use std::hint::black_box;
use std::sync::Arc;

use arrow_array::RecordBatch;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use tenken::detect::Detector;
use tenken::ledger::{
    Allow, Approval, Approvals, Calendar, Calendars, Designation, Holidays, Ledgers, Operators,
    RequestForm, RequestKind, Requests, RulesConfig, Terminal, Terminals, WatchEntry, Watchlist,
};
use tenken::model::Op;
use tenken::normalize::{EventBatchBuilder, EventRow};
use tenken::time;

const OPERATORS: usize = 2_000;
const TERMINALS: usize = 1_500;
const EVENTS: usize = 400_000;

fn day() -> time::Day {
    time::parse_day("2026-04-01").unwrap_or(0)
}

fn ledgers() -> Ledgers {
    let from = day() - 365;
    let operators = Operators::from_rows((0..OPERATORS).map(|i| Designation {
        operator_id: format!("OP{i:04}"),
        name: format!("職員{i}"),
        // The office of the operator's own terminal.
        office: format!("K{}", (i % TERMINALS) % 7),
        from,
        until: None,
        business_codes: if i % 3 == 0 {
            Allow::Any
        } else {
            Allow::parse("W01;W02;W03;L01;U01")
        },
        terminals: if i % 2 == 0 {
            Allow::Any
        } else {
            Allow::parse(&format!(
                "T{:04};T{:04}",
                i % TERMINALS,
                (i + 1) % TERMINALS
            ))
        },
        line: i as u64 + 2,
    }));
    let terminals = Terminals::from_rows((0..TERMINALS).map(|i| Terminal {
        terminal_id: format!("T{i:04}"),
        office: format!("K{}", i % 7),
        calendar: if i % 5 == 0 { "branch" } else { "default" }.into(),
    }));
    let branch = Calendar {
        name: "branch".into(),
        ..Calendar::builtin_default()
    };
    let requests = Requests::from_rows((0..20_000).map(|i| RequestForm {
        request_no: format!("R{i:06}"),
        received_on: day() - (i % 30),
        kind: RequestKind::Request,
        business_code: None,
        // Most forms are list outputs or name the resident only on paper.
        target_code: None,
    }));
    let approvals = Approvals::from_rows((0..50).map(|i| Approval {
        approval_no: format!("A{i:03}"),
        operator_id: format!("OP{i:04}"),
        business_code: None,
        valid_from: time::jst_midnight(day() - 10),
        valid_until: time::jst_midnight(day() + 10),
        max_records: 1000,
        approved_by: "MGR".into(),
    }));
    let watchlist = Watchlist::from_rows((0..500).map(|i| WatchEntry {
        target_code: format!("{:011}", 10_000_000_000u64 + 7 * i as u64),
        reason: "DV".into(),
        allowed_operators: BTreeSet::from([format!("OP{:04}", i % OPERATORS)]),
    }));
    Ledgers {
        operators,
        terminals,
        calendars: Calendars::new([Calendar::builtin_default(), branch], Holidays::default()),
        approvals,
        requests: Some(requests),
        watchlist,
        rules: RulesConfig::default(),
    }
}

/// One day of events, sorted by (timestamp, event_id).
fn synthetic_day(n: usize, seed: u64) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    // 08:15–17:50: a few events fall after the open interval (17:45).
    let start = time::jst_midnight(day()) + 8 * 3_600_000 + 15 * 60_000;
    let span = 9 * 3_600_000 + 35 * 60_000;
    let mut ts: Vec<i64> = (0..n).map(|_| start + rng.random_range(0..span)).collect();
    ts.sort_unstable();
    let mut b = EventBatchBuilder::new("bench.csv", n);
    let businesses = ["W01", "W02", "W03", "L01", "U01", "Z01"];
    // Verifies name one of the recent changes.
    let mut changes: Vec<String> = Vec::new();
    for (i, &t) in ts.iter().enumerate() {
        let op_i = rng.random_range(0..OPERATORS);
        // Operators stay on their own terminal, but for a rare visit to the next one.
        let term_i = (op_i + usize::from(rng.random_range(0..1000) == 0)) % TERMINALS;
        let roll = rng.random_range(0..1000);
        let op = match roll {
            0..350 => Op::View,
            350..600 => Op::Search,
            600..700 => Op::Print,
            700..740 => Op::Extract,
            740..750 => Op::Export,
            750..800 => Op::Input,
            800..820 => Op::Correct,
            820..830 => Op::Delete,
            830..900 => Op::Verify,
            900..950 => Op::Login,
            950..990 => Op::Logout,
            990..997 => Op::LoginFail,
            997..999 => Op::Hardcopy,
            _ => Op::DeviceConnect,
        };
        let id = format!("EV{i:08}");
        let operator = format!("OP{op_i:04}");
        let terminal = format!("T{term_i:04}");
        let target = format!(
            "{:011}",
            10_000_000_000u64 + rng.random_range(0..200_000u64)
        );
        let request = format!("R{:06}", rng.random_range(0..20_100));
        let reference = match changes.len() {
            0 => String::new(),
            n => changes[n - 1 - rng.random_range(0..n.min(200))].clone(),
        };
        if op.is_change() {
            changes.push(id.clone());
        }
        let touches = matches!(
            op,
            Op::View | Op::Input | Op::Correct | Op::Delete | Op::Verify
        ) || (op == Op::Search && roll % 2 == 0);
        let row = EventRow {
            terminal_id: Some(&terminal),
            operator_id: Some(&operator),
            business_code: Some(if roll % 100 == 0 {
                businesses[roll % businesses.len()]
            } else {
                "W01"
            }),
            target_code: touches.then_some(target.as_str()),
            record_count: if op.is_output() {
                if roll % 200 == 0 {
                    rng.random_range(100..400)
                } else {
                    rng.random_range(1..6)
                }
            } else {
                1
            },
            request_no: (op.is_output() || op == Op::View).then_some(request.as_str()),
            ref_event_id: (op == Op::Verify && !reference.is_empty()).then_some(reference.as_str()),
            result: Some(if roll % 50 == 0 { "NG" } else { "OK" }),
            detail: Some("住民票の写し 広域交付"),
            line: i as u64 + 2,
            ..EventRow::new(&id, t, op)
        };
        b.push(&row);
    }
    b.finish()
}

fn bench(c: &mut Criterion) {
    let mut ledgers = ledgers();
    if let Ok(off) = std::env::var("TENKEN_BENCH_DISABLE") {
        for r in off.split(',') {
            if r == "requests" {
                ledgers.requests = None;
            } else if let Ok(id) = r.parse() {
                ledgers.rules.disabled_rules.insert(id);
            }
        }
    }
    let ledgers = Arc::new(ledgers);
    let events = std::env::var("TENKEN_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(EVENTS);
    let batch = match synthetic_day(events, 7) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot build the synthetic day: {e}");
            return;
        }
    };
    if std::env::var_os("TENKEN_BENCH_COUNTS").is_some() {
        // With TENKEN_BENCH_REPS=0 and =5 under `perf stat -e instructions`, the difference
        // over 5 × EVENTS gives instructions per event, which a busy machine cannot skew.
        // CPU time of this thread (Linux): wall time is meaningless on a busy machine.
        let cpu_ns = || -> u64 {
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let mut best = u64::MAX;
        let mut f = Vec::new();
        let reps: usize = std::env::var("TENKEN_BENCH_REPS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(5);
        for _ in 0..reps {
            let mut det = Detector::new(Arc::clone(&ledgers));
            let t = cpu_ns();
            f = det.judge_day(day(), &batch).unwrap_or_default();
            best = best.min(cpu_ns() - t);
        }
        let mut counts = std::collections::BTreeMap::new();
        for x in &f {
            *counts.entry(x.rule.as_str()).or_insert(0usize) += 1;
        }
        if reps == 0 {
            return;
        }
        eprintln!(
            "{} events: {} findings, best CPU {:.1} ms = {:.0} ns/event; {counts:?}",
            events,
            f.len(),
            best as f64 / 1e6,
            best as f64 / events as f64
        );
    }
    let mut g = c.benchmark_group("detect");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events as u64));
    g.bench_function("judge_day/16_rules", |b| {
        b.iter_batched(
            || Detector::new(Arc::clone(&ledgers)),
            |mut det| black_box(det.judge_day(day(), &batch).map(|f| f.len())),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
