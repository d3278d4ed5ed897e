//! Measurements, not tests: run in release, by hand, and read the numbers.
//!
//! ```sh
//! cargo test --release --test archive_measure -- --ignored --nocapture --test-threads 1
//! ```
//!
//! `TENKEN_MEASURE_EVENTS` sets events per day (default 100 000 for the year, 10 000 for
//! the five years); `TENKEN_MEASURE_DIR` puts the archives somewhere other than the
//! system's temporary folder (they are deleted afterwards).

use std::path::PathBuf;
use std::time::Instant;

use tenken::archive::synthetic::{SynthDay, day_batch, resident_code};
use tenken::archive::{Archive, Kind, Level, verify};
use tenken::time::{self, Day};

fn events(default: usize) -> usize {
    std::env::var("TENKEN_MEASURE_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn workdir() -> tempfile::TempDir {
    match std::env::var_os("TENKEN_MEASURE_DIR") {
        Some(d) => tempfile::tempdir_in(PathBuf::from(d)).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

fn ingest(a: &mut Archive, days: impl Iterator<Item = Day>, shape: &SynthDay) -> (u64, f64) {
    let started = Instant::now();
    let mut rows = 0u64;
    for d in days {
        let b = day_batch(d, shape);
        rows += b.num_rows() as u64;
        let mut t = a.begin();
        t.put_day(Kind::Events, d, &b).unwrap();
        t.commit().unwrap();
    }
    (rows, started.elapsed().as_secs_f64())
}

fn mb(n: u64) -> f64 {
    n as f64 / 1e6
}

#[test]
#[ignore = "a measurement: run by hand in release"]
fn measure_rollup_of_a_year() {
    let shape = SynthDay {
        events: events(100_000),
        ..Default::default()
    };
    let dir = workdir();
    let mut a = Archive::open_write(dir.path(), None).unwrap();
    let first = time::parse_day("2026-01-01").unwrap();
    let last = time::parse_day("2026-12-31").unwrap();
    let (rows, secs) = ingest(&mut a, first..=last, &shape);
    let daily_bytes: u64 = a.files().map(|f| f.bytes).sum();
    println!(
        "ingest: 365 days × {} events = {rows} rows, {:.1} MB of daily files in {secs:.1} s",
        shape.events,
        mb(daily_bytes)
    );
    let started = Instant::now();
    let report = a.rollup(last + 1).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let per_level = |level: Level| {
        report
            .built
            .iter()
            .filter(|b| b.period.level() == level)
            .map(|b| (b.bytes, b.rows))
            .fold((0, 0u64), |(n, r), (b, rr)| (n + b, r + rr))
    };
    println!(
        "rollup as of 2027-01-01: {} files built, {:.1} MB written in {secs:.1} s ({:.1} MB/s written, {:.2} M rows/s consolidated)",
        report.built.len(),
        mb(report.bytes_written),
        mb(report.bytes_written) / secs,
        (3 * rows) as f64 / 1e6 / secs
    );
    for level in [Level::Weekly, Level::Monthly, Level::Yearly] {
        let (bytes, rows) = per_level(level);
        println!("  {level}: {rows} rows, {:.1} MB", mb(bytes));
    }
    println!("  removed {} files", report.removed.len());
    let started = Instant::now();
    let v = verify(dir.path()).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    println!(
        "verify: {} files, {:.1} MB in {:.1} s",
        v.files,
        mb(v.bytes),
        started.elapsed().as_secs_f64()
    );
}

#[test]
#[ignore = "a measurement: run by hand in release"]
fn measure_probe_of_a_five_year_archive() {
    let shape = SynthDay {
        events: events(10_000),
        ..Default::default()
    };
    let dir = workdir();
    let mut a = Archive::open_write(dir.path(), None).unwrap();
    let first = time::parse_day("2026-01-01").unwrap();
    let last = time::parse_day("2030-12-31").unwrap();
    let mut rows = 0;
    let started = Instant::now();
    // As the nightly job would: a day at a time, a rollup every Monday.
    for d in first..=last {
        rows += ingest(&mut a, d..=d, &shape).0;
        if tenken::ledger::weekday_index(d + 1) == 0 {
            a.rollup(d + 1).unwrap();
        }
    }
    a.rollup(last + 1).unwrap();
    println!(
        "five years × {} events/day = {rows} rows, built in {:.0} s",
        shape.events,
        started.elapsed().as_secs_f64()
    );
    for level in Level::ALL {
        println!("  {level}: {} files", a.periods(Kind::Events, level).len());
    }
    // A resident seen on some day of the second year, and one never seen.
    let some = day_batch(time::parse_day("2027-06-15").unwrap(), &shape);
    let code = arrow_array::cast::AsArray::as_string::<i32>(some.column(7))
        .iter()
        .flatten()
        .next()
        .unwrap()
        .to_owned();
    // Absent codes: one beyond every row group's min/max (statistics skip it), one inside
    // the range that no resident has (only the Bloom filters can skip it).
    let mut inside = resident_code(shape.residents / 2);
    inside.replace_range(10.., "X");
    for (what, value) in [
        ("a resident in the data", code.as_str()),
        (
            "a code above every resident's",
            &*resident_code(shape.residents + 12_345),
        ),
        (
            "a code inside the range, held by no resident",
            inside.as_str(),
        ),
    ] {
        let started = Instant::now();
        let s = a.probe(Kind::Events, "target_code", value).unwrap();
        println!(
            "probe target_code = {value} ({what}): {} files, {} row groups, {} pruned by statistics, {} by Bloom filter, {} read, {} rows matched, {:.0} ms",
            s.files,
            s.row_groups_total,
            s.pruned_by_stats,
            s.pruned_by_bloom,
            s.read,
            s.matched_rows,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let s = a.probe(Kind::Events, "operator_id", "OP0042").unwrap();
    println!(
        "probe operator_id = OP0042: {} row groups, {} skipped, {} read, {} rows matched",
        s.row_groups_total,
        s.pruned_by_stats + s.pruned_by_bloom,
        s.read,
        s.matched_rows
    );
}
