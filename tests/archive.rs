//! The archive through its library API: layout and Parquet properties, rollups and late
//! logs, retention over six simulated years, tamper detection, locking, states, probes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, Date32Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use tenken::archive::digest::digest_batches;
use tenken::archive::{
    Archive, ArchiveError, Kind, Level, Period, VerifyReport, probe, synthetic, verify,
};
use tenken::model::Op;
use tenken::normalize::{EventRow, batch_from_rows};
use tenken::time::{self, Day};

mod common;
use common::copy_dir;

fn day(s: &str) -> Day {
    time::parse_day(s).unwrap()
}

/// `n` events on `d`, at 09:00 + i minutes; `tag` makes ids and details distinct, so a
/// re-written day has other content.
fn events(d: Day, n: usize, tag: &str) -> RecordBatch {
    let ids: Vec<String> = (0..n)
        .map(|i| format!("{tag}-{}-{i}", time::format_day(d)))
        .collect();
    let codes: Vec<String> = (0..n).map(|i| format!("{:011}", 10_000 + i % 7)).collect();
    let detail = format!("detail {tag}");
    let rows = (0..n).map(|i| EventRow {
        operator_id: Some(if i % 2 == 0 { "OP1" } else { "OP2" }),
        terminal_id: Some("T1"),
        target_code: Some(codes[i].as_str()),
        detail: Some(detail.as_str()),
        line: i as u64 + 1,
        ..EventRow::new(
            &ids[i],
            time::jst_midnight(d) + 9 * 3_600_000 + i as i64 * 60_000,
            Op::View,
        )
    });
    batch_from_rows("logs/a.csv", rows).unwrap()
}

fn findings_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("rule_id", DataType::Utf8, false),
        Field::new("event_id", DataType::Utf8, false),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("operator_id", DataType::Utf8, true),
        Field::new(
            "evidence",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new("judged_on", DataType::Date32, false),
    ]))
}

/// `n` findings judged on `d`, the first flagging an event of the day before (a finding
/// that needed later data), so findings of one day are not all on that day.
fn findings(d: Day, n: usize) -> RecordBatch {
    let mut evidence = ListBuilder::new(StringBuilder::new());
    let mut ids = Vec::new();
    let mut ts = Vec::new();
    for i in 0..n {
        let id = format!("F-{}-{i}", time::format_day(d));
        evidence.values().append_value(&id);
        evidence.values().append_value("E-other");
        evidence.append(true);
        ids.push(id);
        let on = if i == 0 { d - 1 } else { d };
        ts.push(time::jst_midnight(on) + 10 * 3_600_000 + i as i64);
    }
    RecordBatch::try_new(
        findings_schema(),
        vec![
            Arc::new(StringArray::from(vec!["off-hours"; n])),
            Arc::new(StringArray::from(ids)),
            Arc::new(TimestampMillisecondArray::from(ts).with_timezone("UTC")),
            Arc::new(StringArray::from(vec![Some("OP1"); n])),
            Arc::new(evidence.finish()),
            Arc::new(Date32Array::from(vec![d; n])),
        ],
    )
    .unwrap()
}

fn digest_of(b: &RecordBatch) -> (u64, String) {
    digest_batches(b.schema(), [b]).unwrap()
}

fn put_days(a: &mut Archive, days: impl IntoIterator<Item = Day>, n: usize, tag: &str) {
    let mut t = a.begin();
    for d in days {
        t.put_day(Kind::Events, d, &events(d, n, tag)).unwrap();
    }
    t.commit().unwrap();
}

fn assert_ok(r: &VerifyReport) {
    assert!(r.ok(), "verify failed: {:#?}", r.problems);
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_day_is_stored_where_and_how_archive_md_says() {
    use parquet::basic::{Compression, Encoding, LogicalType, TimeUnit as PTimeUnit};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("arc");
    let mut a = Archive::open_write(&root, None).unwrap();
    let d = day("2026-04-01");
    let batch = events(d, 5, "a");
    let mut t = a.begin();
    t.put_day(Kind::Events, d, &batch).unwrap();
    t.commit().unwrap();

    let rel = "events/daily/year=2026/month=4/day=1/part-0.parquet";
    let file = root.join(rel);
    assert!(file.is_file());
    assert!(!root.join(".staging").join("txn-1").exists());
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&root.join("manifest.jsonl")), 0o600);
    for dir in [
        &root,
        &root.join("events"),
        &file.parent().unwrap().to_path_buf(),
    ] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }

    // Read back: the same values (the digest compares every column by value).
    let back = a.read_day(Kind::Events, d).unwrap().unwrap();
    assert_eq!(back.num_rows(), 5);
    assert_eq!(digest_of(&back), digest_of(&batch));
    assert_eq!(back.column(0).as_string::<i32>().value(4), "a-2026-04-01-4");
    assert_eq!(a.days(Kind::Events).into_iter().collect::<Vec<_>>(), [d]);
    let entry = a.file(rel).unwrap();
    assert_eq!(entry.rows, Some(5));
    assert_eq!(entry.min_ts, Some(time::jst_midnight(d) + 9 * 3_600_000));
    assert_eq!(
        entry.max_ts,
        Some(time::jst_midnight(d) + 9 * 3_600_000 + 4 * 60_000)
    );

    // The Parquet file itself.
    let reader = SerializedFileReader::new(fs::File::open(&file).unwrap()).unwrap();
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    let ts = schema.column(1);
    assert_eq!(ts.name(), "timestamp");
    assert_eq!(
        ts.logical_type_ref(),
        Some(&LogicalType::timestamp(true, PTimeUnit::MILLIS)),
        "TIMESTAMP(MILLIS, isAdjustedToUTC = true)"
    );
    let kv: Vec<(String, String)> = meta
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
        .collect();
    for want in [
        ("tenken.schema_version", "1"),
        ("tenken.kind", "events"),
        ("tenken.level", "daily"),
        ("tenken.period", "2026-04-01"),
    ] {
        assert!(
            kv.iter().any(|(k, v)| k == want.0 && v == want.1),
            "{want:?} in {kv:?}"
        );
    }
    let rg = meta.row_group(0);
    let col = |name: &str| {
        (0..rg.num_columns())
            .map(|i| rg.column(i))
            .find(|c| c.column_path().string() == name)
            .unwrap()
    };
    for c in rg.columns() {
        assert!(
            matches!(c.compression(), Compression::ZSTD(_)),
            "{}",
            c.column_path()
        );
        assert!(
            c.statistics().is_some(),
            "statistics on {}",
            c.column_path()
        );
        assert!(
            c.column_index_offset().is_some(),
            "page index on {}",
            c.column_path()
        );
    }
    for name in ["target_code", "operator_id"] {
        assert!(col(name).bloom_filter_offset().is_some(), "bloom on {name}");
    }
    assert!(col("detail").bloom_filter_offset().is_none());
    let dict = |name: &str| col(name).encodings().any(|e| e == Encoding::RLE_DICTIONARY);
    assert!(dict("operator_id") && dict("terminal_id") && dict("operation"));
    assert!(!dict("event_id") && !dict("target_code"));
    let sorting = rg.sorting_columns().unwrap();
    assert_eq!(sorting[0].column_idx, 1, "sorted by timestamp");
    assert_ok(&verify(&root).unwrap());
}

#[test]
fn put_day_refuses_rows_of_another_day_or_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Archive::open_write(dir.path(), None).unwrap();
    let d = day("2026-04-01");
    let mut t = a.begin();
    let err = t
        .put_day(Kind::Events, d + 1, &events(d, 2, "x"))
        .unwrap_err();
    assert!(err.to_string().contains("is not on 2026-04-02"), "{err}");
    // 23:59:59.999 JST belongs to the day, 00:00 the next does not.
    let late = EventRow::new("late", time::jst_midnight(d + 1) - 1, Op::View);
    let next = EventRow::new("next", time::jst_midnight(d + 1), Op::View);
    assert!(
        t.put_day(Kind::Events, d, &batch_from_rows("f", [late]).unwrap())
            .is_ok()
    );
    assert!(
        t.put_day(Kind::Events, d, &batch_from_rows("f", [next]).unwrap())
            .is_err()
    );
    let a1 = EventRow::new("a", time::jst_midnight(d) + 10, Op::View);
    let a0 = EventRow::new("b", time::jst_midnight(d) + 5, Op::View);
    let err = t
        .put_day(Kind::Events, d, &batch_from_rows("f", [a1, a0]).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("sorted by time"), "{err}");
    drop(t);
    assert!(
        !dir.path().join(".staging").join("txn-1").exists(),
        "a dropped transaction leaves nothing staged"
    );
    assert!(!dir.path().join("manifest.jsonl").exists());
    assert!(a.days(Kind::Events).is_empty());
}

#[test]
fn rollups_hold_every_day_once_and_follow_late_logs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut a = Archive::open_write(root, None).unwrap();
    // 2026-03-28 (Sat) .. 2026-04-07 (Tue): ISO weeks 13 (ends Sun 03-29), 14 (03-30 ..
    // 04-05), 15 (from 04-06); months March and April.
    let first = day("2026-03-28");
    let days: Vec<Day> = (first..=day("2026-04-07")).collect();
    put_days(&mut a, days.iter().copied(), 4, "a");
    let mut t = a.begin();
    for &d in &days {
        t.put_day(Kind::Findings, d, &findings(d, 2)).unwrap();
    }
    t.commit().unwrap();

    let r = a.rollup(day("2026-04-08")).unwrap();
    let built: Vec<String> = r
        .built
        .iter()
        .map(|b| format!("{} {}", b.kind, b.period))
        .collect();
    // Complete periods only: weeks 13 and 14 and March; week 15, April, 2026 not yet.
    assert_eq!(
        built,
        [
            "events 2026-W13",
            "events 2026-W14",
            "findings 2026-W13",
            "findings 2026-W14",
            "events 2026-03",
            "findings 2026-03"
        ]
    );
    assert!(r.built.iter().all(|b| !b.rebuilt));
    assert!(r.removed.is_empty(), "nothing is old enough");
    assert_eq!(r.built[1].days, 7);
    assert_eq!(r.built[1].rows, 28);
    assert_eq!(r.built[4].days, 4, "March 28..31");

    // Any level read alone gives the day's rows.
    for &d in &days {
        for kind in Kind::ALL {
            let daily = a.read_day_at(kind, d, Level::Daily).unwrap().unwrap();
            for level in [Level::Weekly, Level::Monthly] {
                if let Some(b) = a.read_day_at(kind, d, level).unwrap() {
                    assert_eq!(digest_of(&b), digest_of(&daily), "{kind} {d} {level}");
                }
            }
        }
    }
    assert!(
        a.read_day_at(Kind::Events, day("2026-04-06"), Level::Weekly)
            .unwrap()
            .is_none()
    );
    // A second run finds nothing to do.
    let again = a.rollup(day("2026-04-08")).unwrap();
    assert!(again.built.is_empty() && again.removed.is_empty());

    // Late logs: 04-02 re-written with more rows, 03-25 arrives for the first time.
    let late = day("2026-04-02");
    put_days(&mut a, [late], 6, "late");
    put_days(&mut a, [day("2026-03-25")], 3, "new");
    let v = verify(root).unwrap();
    assert_ok(&v);
    assert!(
        v.notes.iter().any(|n| n.contains("stale")),
        "a stale weekly is a note: {:?}",
        v.notes
    );
    let r = a.rollup(day("2026-04-08")).unwrap();
    let rebuilt: Vec<String> = r
        .built
        .iter()
        .map(|b| format!("{} {} {}", b.kind, b.period, b.rebuilt))
        .collect();
    assert_eq!(
        rebuilt,
        [
            "events 2026-W13 true",
            "events 2026-W14 true",
            "events 2026-03 true"
        ]
    );
    let weekly = a
        .read_day_at(Kind::Events, late, Level::Weekly)
        .unwrap()
        .unwrap();
    assert_eq!(weekly.num_rows(), 6);
    assert_eq!(digest_of(&weekly), digest_of(&events(late, 6, "late")));
    let march = a
        .read_day_at(Kind::Events, day("2026-03-25"), Level::Monthly)
        .unwrap()
        .unwrap();
    assert_eq!(
        digest_of(&march),
        digest_of(&events(day("2026-03-25"), 3, "new"))
    );
    let v = verify(root).unwrap();
    assert_ok(&v);
    assert!(
        !v.notes.iter().any(|n| n.contains("stale")),
        "{:?}",
        v.notes
    );

    // The findings that flag an event of the day before stay with the day that judged them.
    let f = a
        .read_day_at(Kind::Findings, day("2026-04-01"), Level::Weekly)
        .unwrap()
        .unwrap();
    let ts = f.column(2).as_primitive::<TimestampMillisecondType>();
    assert_eq!(time::jst_day(ts.value(0)), day("2026-03-31"));
    assert_eq!(f.column(4).as_list::<i32>().value(0).len(), 2);
}

#[test]
fn a_yearly_file_is_built_from_monthlies_after_dailies_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("archive.toml"),
        "[retention]\ndaily_days = 3\nweekly_weeks = 1\nmonthly_months = 1\n",
    )
    .unwrap();
    let mut a = Archive::open_write(root, None).unwrap();
    let days: Vec<Day> = (day("2026-12-01")..=day("2026-12-31")).collect();
    put_days(&mut a, days.iter().copied(), 2, "y");
    // End of December: weeklies built, dailies of complete weeks dropped, no monthly yet.
    a.rollup(day("2026-12-31")).unwrap();
    assert!(a.periods(Kind::Events, Level::Daily).len() < 31);
    // 2027-01-02: December is complete; its monthly holds every day. The last week
    // (2026-W53, 12-28 .. 2027-01-03) is not complete, so its dailies stay.
    a.rollup(day("2027-01-02")).unwrap();
    assert_eq!(
        a.periods(Kind::Events, Level::Monthly),
        [Period::Month {
            year: 2026,
            month: 12
        }]
    );
    // 2027-02-10: the yearly 2026 is built; the monthly (aged out, one month) and the
    // weeklies go; the yearly holds all 31 days.
    a.rollup(day("2027-02-10")).unwrap();
    assert_eq!(a.periods(Kind::Events, Level::Yearly), [Period::Year(2026)]);
    assert!(a.periods(Kind::Events, Level::Daily).is_empty());
    assert!(a.periods(Kind::Events, Level::Weekly).is_empty());
    assert!(a.periods(Kind::Events, Level::Monthly).is_empty());
    for &d in &days {
        let locs = a.locations(Kind::Events, d);
        assert_eq!(locs.len(), 1);
        assert_eq!(locs[0].level, Level::Yearly);
        let b = a.read_day(Kind::Events, d).unwrap().unwrap();
        assert_eq!(digest_of(&b), digest_of(&events(d, 2, "y")));
    }
    assert_ok(&verify(root).unwrap());
}

/// The expected number of files per level at `now` with days `start .. now − 1` ingested
/// and rolled up every Monday — worked out from the rules (see the comments), not from
/// the code: a daily stays 31 days (its week is always complete and rolled up by then),
/// a complete week stays 70 days after its Sunday, a complete month 13 months after it,
/// a complete year 5 years after it.
fn expected_counts(start: Day, last_ingested: Day, now: Day) -> [usize; 4] {
    let held: Vec<Day> = (start..=last_ingested).collect();
    let mut daily = 0;
    let mut weeks = std::collections::BTreeSet::new();
    let mut months = std::collections::BTreeSet::new();
    let mut years = std::collections::BTreeSet::new();
    for &d in &held {
        if now - d <= 31 {
            daily += 1;
        }
        let w = Level::Weekly.period_of(d);
        if w.last_day() < now && now - w.last_day() <= 70 {
            weeks.insert(w);
        }
        let (y, m, _) = time::civil_from_days(d);
        let (ny, nm, _) = time::civil_from_days(now);
        let months_after = (ny * 12 + nm as i32) - (y * 12 + m as i32);
        if (1..=13).contains(&months_after) {
            months.insert((y, m));
        }
        if ny > y && ny - y <= 5 {
            years.insert(y);
        }
    }
    [daily, weeks.len(), months.len(), years.len()]
}

fn counts(a: &Archive, kind: Kind) -> [usize; 4] {
    Level::ALL.map(|l| a.periods(kind, l).len())
}

/// A temporary folder in memory when the machine has one: the six-year test commits about
/// a thousand transactions, and on a disk their fsyncs, not the archive, set its pace.
fn memory_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(d) = tempfile::tempdir_in(shm)
    {
        return d;
    }
    tempfile::tempdir().unwrap()
}

#[test]
fn retention_over_six_simulated_years() {
    let dir = memory_tempdir();
    let root = dir.path();
    let start = day("2026-01-01");
    let end = day("2031-12-31");
    let mut a = Archive::open_write(root, None).unwrap();
    // Mondays: 2026-01-05 is the first Monday after the start.
    let mut now = day("2026-01-05");
    let mut next = start;
    let mut checked_yearly_reads = 0;
    while now <= day("2032-01-12") {
        // The nightly job: every day up to yesterday, with its rule state.
        let upto = (now - 1).min(end);
        if next <= upto {
            let mut t = a.begin();
            for d in next..=upto {
                t.put_day(Kind::Events, d, &events(d, 2, "r")).unwrap();
                t.put_state(d, format!("state after {d}").as_bytes())
                    .unwrap();
            }
            t.commit().unwrap();
            next = upto + 1;
        }
        a.rollup(now).unwrap();

        let last = next - 1;
        assert_eq!(
            counts(&a, Kind::Events),
            expected_counts(start, last, now),
            "files per level as of {}",
            time::format_day(now)
        );
        // Every event is held by some level unless its year has aged out.
        for d in start..=last {
            let locs = a.locations(Kind::Events, d);
            let year_gone = time::civil_from_days(now).0 - time::civil_from_days(d).0 > 5;
            if year_gone {
                assert!(locs.is_empty(), "{} still held", time::format_day(d));
            } else {
                assert!(
                    !locs.is_empty(),
                    "{} lost as of {}",
                    time::format_day(d),
                    time::format_day(now)
                );
                assert!(locs.iter().all(|l| l.rows == 2));
            }
        }
        // States: exactly those of the kept dailies (always including the newest).
        let states = a.state_days();
        let dailies: std::collections::BTreeSet<Day> = a
            .periods(Kind::Events, Level::Daily)
            .into_iter()
            .map(|p| p.first_day())
            .collect();
        assert_eq!(states, dailies, "as of {}", time::format_day(now));
        // Each new year: read back one day a week from whatever level holds it.
        if time::civil_from_days(now).1 == 1 && time::civil_from_days(now).2 <= 7 {
            for d in (start..=last).step_by(7) {
                if let Some(b) = a.read_day(Kind::Events, d).unwrap() {
                    assert_eq!(digest_of(&b), digest_of(&events(d, 2, "r")));
                    checked_yearly_reads += 1;
                }
            }
            assert_ok(&verify(root).unwrap());
            // Re-open now and then, as the nightly job does every night.
            drop(a);
            a = Archive::open_write(root, None).unwrap();
        }
        now += 7;
    }
    assert!(checked_yearly_reads > 100);
    // Hand-computed end state as of 2032-01-12 (a Monday): dailies 2031-12-12 .. 12-31
    // (now − d ≤ 31 reaches back to 12-12), 20 of them; weeklies whose Sunday is within
    // 70 days: Sundays 2031-11-09 .. 2032-01-11 minus the ones past the data's end… the
    // week of 2032-01-05 .. 01-11 has no data, so Sundays 11-09 .. 2032-01-04: 9 weeks;
    // monthlies 2030-12 .. 2031-12 = 13; yearlies 2027 .. 2031 = 5, 2026 gone.
    assert_eq!(counts(&a, Kind::Events), [20, 9, 13, 5]);
    assert_eq!(
        a.periods(Kind::Events, Level::Yearly).first(),
        Some(&Period::Year(2027))
    );
    assert!(a.days(Kind::Events).iter().all(|&d| d >= day("2027-01-01")));
    assert_eq!(
        a.days(Kind::Events).len(),
        (day("2027-01-01")..=end).count()
    );
    assert_ok(&verify(root).unwrap());
}

#[test]
fn findings_outlive_events_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("archive.toml"),
        "[retention]\nyearly_years = 1\nfindings_years = 2\n",
    )
    .unwrap();
    let mut a = Archive::open_write(root, None).unwrap();
    let days: Vec<Day> = (day("2026-06-01")..=day("2026-06-10")).collect();
    let mut t = a.begin();
    for &d in &days {
        t.put_day(Kind::Events, d, &events(d, 1, "e")).unwrap();
        t.put_day(Kind::Findings, d, &findings(d, 1)).unwrap();
    }
    t.commit().unwrap();
    a.rollup(day("2027-03-01")).unwrap();
    assert_eq!(counts(&a, Kind::Events), [0, 0, 1, 1]);
    // 2028: events' 2026 is 2 years old (> 1): gone; findings keep 2 years.
    a.rollup(day("2028-01-01")).unwrap();
    assert!(a.days(Kind::Events).is_empty());
    assert_eq!(a.days(Kind::Findings).len(), 10);
    a.rollup(day("2029-01-01")).unwrap();
    assert!(a.days(Kind::Findings).is_empty());
    assert_ok(&verify(root).unwrap());
}

/// A small archive with every level and a state, for the tamper tests.
fn sample_archive(root: &Path) {
    let mut a = Archive::open_write(root, None).unwrap();
    let days: Vec<Day> = (day("2026-03-28")..=day("2026-04-07")).collect();
    for chunk in days.chunks(4) {
        put_days(&mut a, chunk.iter().copied(), 3, "t");
    }
    let mut t = a.begin();
    t.put_state(day("2026-04-07"), b"state").unwrap();
    t.commit().unwrap();
    a.rollup(day("2026-04-08")).unwrap();
}

fn tampered(base: &Path, name: &str, f: impl FnOnce(&Path)) -> VerifyReport {
    let root = base.join(name);
    copy_dir(&base.join("clean"), &root);
    f(&root);
    verify(&root).unwrap()
}

fn manifest_lines(root: &Path) -> Vec<String> {
    fs::read_to_string(root.join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(root: &Path, lines: &[String]) {
    fs::write(root.join("manifest.jsonl"), lines.join("\n") + "\n").unwrap();
}

fn has(r: &VerifyReport, path: &str, words: &str) -> bool {
    r.problems
        .iter()
        .any(|p| p.path == path && p.message.contains(words))
}

#[test]
fn verify_catches_every_kind_of_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    sample_archive(&base.join("clean"));
    let clean = verify(&base.join("clean")).unwrap();
    assert_ok(&clean);
    // Days on two levels or more: 03-28 .. 03-31 (daily, weekly, monthly) and
    // 04-01 .. 04-05 (daily, weekly); 04-06 and 04-07 are only daily.
    assert_eq!(clean.days_compared, 9, "{clean:?}");
    let weekly = "events/weekly/year=2026/week=14/part-0.parquet";
    let daily = "events/daily/year=2026/month=4/day=2/part-0.parquet";

    // A flipped byte in a Parquet file.
    let r = tampered(base, "flip", |root| {
        let p = root.join(weekly);
        let mut bytes = fs::read(&p).unwrap();
        bytes[100] ^= 0x01;
        fs::write(&p, bytes).unwrap();
    });
    assert!(has(&r, weekly, "SHA-256"), "{:?}", r.problems);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);

    // A removed file.
    let r = tampered(base, "removed", |root| {
        fs::remove_file(root.join(daily)).unwrap()
    });
    assert!(has(&r, daily, "is missing"), "{:?}", r.problems);

    // An added file, even a copy of a genuine one.
    let added = "events/daily/year=2026/month=4/day=20/part-0.parquet";
    let r = tampered(base, "added", |root| {
        fs::create_dir_all(root.join(added).parent().unwrap()).unwrap();
        fs::copy(root.join(daily), root.join(added)).unwrap();
    });
    assert!(has(&r, added, "not in the manifest"), "{:?}", r.problems);
    let r = tampered(base, "added-review", |root| {
        fs::create_dir_all(root.join("reviews/2026")).unwrap();
        fs::write(root.join("reviews/2026/x.json"), "{}").unwrap();
    });
    assert!(has(&r, "reviews/2026/x.json", "not in the manifest"));

    // An edited manifest line, field by field.
    for (field, from, to) in [
        ("rows", "\"rows\":3,", "\"rows\":4,"),
        ("sha256", "\"sha256\":\"", "\"sha256\":\"0"),
        ("time", "\"time\":\"2", "\"time\":\"1"),
        ("note", "\"note\":\"", "\"note\":\"x"),
        ("seq", "{\"seq\":2,", "{\"seq\":7,"),
    ] {
        let r = tampered(base, &format!("edit-{field}"), |root| {
            let mut lines = manifest_lines(root);
            assert!(lines[1].contains(from), "{field}: {}", lines[1]);
            lines[1] = lines[1].replacen(from, to, 1);
            write_lines(root, &lines);
        });
        assert!(
            has(&r, "manifest.jsonl:2", "the line was edited"),
            "{field}: {:?}",
            r.problems
        );
    }
    let r = tampered(base, "edit-prev", |root| {
        let mut lines = manifest_lines(root);
        let at = lines[1].find("\"prev\":\"").unwrap() + 8;
        // Always a different hex digit: writing `f` over an `f` would change nothing.
        let other = if &lines[1][at..at + 1] == "f" {
            "0"
        } else {
            "f"
        };
        lines[1].replace_range(at..at + 1, other);
        write_lines(root, &lines);
    });
    assert!(
        has(&r, "manifest.jsonl:2", "chain is broken"),
        "{:?}",
        r.problems
    );
    let r = tampered(base, "edit-hash", |root| {
        let mut lines = manifest_lines(root);
        let at = lines[1].find("\"hash\":\"").unwrap() + 8;
        // Always a different hex digit: writing `f` over an `f` would change nothing.
        let other = if &lines[1][at..at + 1] == "f" {
            "0"
        } else {
            "f"
        };
        lines[1].replace_range(at..at + 1, other);
        write_lines(root, &lines);
    });
    assert!(has(&r, "manifest.jsonl:2", "the line was edited"));
    assert!(has(&r, "manifest.jsonl:3", "chain is broken"));

    // A deleted line, in the middle and at the end.
    let r = tampered(base, "delete-line", |root| {
        let mut lines = manifest_lines(root);
        lines.remove(1);
        write_lines(root, &lines);
    });
    assert!(
        has(&r, "manifest.jsonl:2", "sequence number is 3 where 2"),
        "{:?}",
        r.problems
    );
    assert!(has(&r, "manifest.jsonl:2", "chain is broken"));
    let r = tampered(base, "delete-last", |root| {
        let mut lines = manifest_lines(root);
        lines.pop();
        write_lines(root, &lines);
    });
    assert!(
        !r.ok(),
        "the files of the last transaction are then unlisted or missing"
    );

    // Two swapped lines.
    let r = tampered(base, "swap", |root| {
        let mut lines = manifest_lines(root);
        lines.swap(1, 2);
        write_lines(root, &lines);
    });
    assert!(
        has(&r, "manifest.jsonl:2", "sequence number is 3 where 2"),
        "{:?}",
        r.problems
    );
    assert!(has(&r, "manifest.jsonl:3", "chain is broken"));

    // A manifest entry pointing outside the layout.
    let r = tampered(base, "path", |root| {
        let mut lines = manifest_lines(root);
        lines[0] = lines[0].replacen("events/daily/", "events/daily/../../", 1);
        write_lines(root, &lines);
    });
    assert!(
        r.problems
            .iter()
            .any(|p| p.message.contains("outside the archive layout"))
    );

    // A writer refuses a damaged manifest instead of extending it.
    let err = Archive::open_write(&base.join("swap"), None).unwrap_err();
    assert!(matches!(err, ArchiveError::Broken { .. }), "{err}");
    assert!(err.to_string().contains("tenken verify"), "{err}");
}

#[test]
fn verify_finds_levels_that_disagree_even_with_a_valid_chain() {
    use tenken::archive::manifest::{Entry, GENESIS, parse_line};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sample_archive(root);
    // Rewrite the chain as a buggy writer would have: the weekly records another digest
    // for one day. Every hash is recomputed, so only the level check can catch it.
    let mut prev = GENESIS.to_owned();
    let mut out = Vec::new();
    for (i, line) in manifest_lines(root).iter().enumerate() {
        let mut e: Entry = parse_line(Path::new("m"), i + 1, line).unwrap();
        for op in &mut e.ops {
            if op.path == "events/weekly/year=2026/week=14/part-0.parquet" {
                op.days[2].digest = "0".repeat(64);
            }
        }
        e.prev = prev.clone();
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        out.push(e.to_line().trim_end().to_owned());
    }
    write_lines(root, &out);
    let r = verify(root).unwrap();
    assert!(
        has(
            &r,
            "events/weekly/year=2026/week=14/part-0.parquet",
            "the levels disagree: events of 2026-04-01"
        ),
        "{:?}",
        r.problems
    );
}

#[test]
fn a_torn_manifest_line_is_ignored_then_cut() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sample_archive(root);
    let before = fs::read(root.join("manifest.jsonl")).unwrap();
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(root.join("manifest.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"seq\":99,\"time\":\"20").unwrap();
    drop(f);
    let r = verify(root).unwrap();
    assert_ok(&r);
    assert!(r.notes.iter().any(|n| n.contains("unfinished line")));
    let a = Archive::open_read(root).unwrap();
    assert!(!a.days(Kind::Events).is_empty());
    drop(a);
    drop(Archive::open_write(root, None).unwrap());
    assert_eq!(fs::read(root.join("manifest.jsonl")).unwrap(), before);
}

#[test]
fn one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let first = Archive::open_write(root, None).unwrap();
    let err = Archive::open_write(root, None).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("is being written by another tenken (pid ")
            && msg.contains(&std::process::id().to_string())
            && msg.contains("since 20"),
        "{msg}"
    );
    let err = Archive::open_write(root, Some(Duration::from_millis(300))).unwrap_err();
    assert!(matches!(err, ArchiveError::LockTimeout { .. }), "{err}");
    // Readers take no lock.
    assert!(Archive::open_read(root).is_ok());
    // A waiting writer gets in once the first one is done.
    let waiter = std::thread::spawn({
        let root = root.to_path_buf();
        move || Archive::open_write(&root, Some(Duration::from_secs(30))).map(|_| ())
    });
    std::thread::sleep(Duration::from_millis(200));
    drop(first);
    waiter.join().unwrap().unwrap();
    // And a read-only handle cannot write.
    let mut ro = Archive::open_read(root).unwrap();
    let d = day("2026-04-01");
    let err = ro
        .begin()
        .put_day(Kind::Events, d, &events(d, 1, "x"))
        .unwrap_err();
    assert!(matches!(err, ArchiveError::ReadOnly { .. }), "{err}");
}

#[test]
fn states_round_trip_and_empty_review_folders_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut a = Archive::open_write(root, None).unwrap();
    let d = day("2026-04-01");
    let state: Vec<u8> = (0..10_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    let mut t = a.begin();
    t.put_state(d, &state).unwrap();
    t.put_day(Kind::Events, d, &events(d, 0, "empty")).unwrap();
    t.commit().unwrap();
    assert_eq!(a.state(d).unwrap().as_deref(), Some(state.as_slice()));
    assert_eq!(a.state(d + 1).unwrap(), None);
    assert_eq!(a.state_days().into_iter().collect::<Vec<_>>(), [d]);
    // An empty day is a day held with no rows.
    let empty = a.read_day(Kind::Events, d).unwrap().unwrap();
    assert_eq!(empty.num_rows(), 0);
    assert_eq!(empty.num_columns(), 17);
    fs::create_dir_all(root.join("reviews/2026")).unwrap();
    assert_ok(&verify(root).unwrap());
    a.rollup(day("2026-06-01")).unwrap();
    assert_ok(&verify(root).unwrap());
    // The newest state is kept even though its daily aged out.
    assert_eq!(a.state_days().len(), 1);
    // A state file altered on disk is refused rather than handed to the rule engine.
    let path: PathBuf = root.join("state/2026-04-01.state.zst");
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&path, bytes).unwrap();
    assert!(a.state(d).is_err());
}

#[test]
fn a_lookup_reads_only_row_groups_whose_bloom_filter_admits_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(
        root.join("archive.toml"),
        "[parquet]\nrow_group_rows = 256\n",
    )
    .unwrap();
    let mut a = Archive::open_write(root, None).unwrap();
    let shape = synthetic::SynthDay {
        events: 1_000,
        residents: 1_000_000,
        ..Default::default()
    };
    let days: Vec<Day> = (day("2026-01-01")..day("2026-03-10")).collect();
    let mut t = a.begin();
    let mut batches = Vec::new();
    for &d in &days {
        let b = synthetic::day_batch(d, &shape);
        t.put_day(Kind::Events, d, &b).unwrap();
        batches.push(b);
    }
    t.commit().unwrap();
    a.rollup(day("2026-03-10")).unwrap();
    assert_ok(&verify(root).unwrap());
    // A resident who appears in the data, and how often, counted straight from the batches.
    let needle = batches[10]
        .column(7)
        .as_string::<i32>()
        .iter()
        .flatten()
        .next()
        .unwrap()
        .to_owned();
    let expected: u64 = batches
        .iter()
        .map(|b| {
            b.column(7)
                .as_string::<i32>()
                .iter()
                .filter(|v| *v == Some(needle.as_str()))
                .count() as u64
        })
        .sum();
    let s = probe(root, Kind::Events, "target_code", &needle).unwrap();
    assert_eq!(s.matched_rows, expected);
    assert_eq!(
        s.row_groups_total,
        s.pruned_by_stats + s.pruned_by_bloom + s.read
    );
    // 68 days × 1000 rows in row groups of 256: about 4 row groups a day.
    assert!(s.row_groups_total >= 68 * 4, "{s:?}");
    assert!(s.read <= 5 + expected as usize, "{s:?}");
    assert!(s.pruned_by_bloom > s.row_groups_total * 9 / 10, "{s:?}");
    // Beyond every row group's max: statistics alone skip everything.
    let beyond = probe(root, Kind::Events, "target_code", "99999999999").unwrap();
    assert_eq!(beyond.matched_rows, 0);
    assert_eq!(
        beyond.pruned_by_stats, beyond.row_groups_total,
        "{beyond:?}"
    );
    // Inside the range but held by no one: only the Bloom filters can skip, and at a 1 %
    // false-positive rate they let through a handful at most.
    let seen: std::collections::HashSet<&str> = batches
        .iter()
        .flat_map(|b| b.column(7).as_string::<i32>().iter().flatten())
        .collect();
    let absent = (500_000..)
        .map(synthetic::resident_code)
        .find(|c| !seen.contains(c.as_str()))
        .unwrap();
    let s = probe(root, Kind::Events, "target_code", &absent).unwrap();
    assert_eq!(s.matched_rows, 0);
    assert_eq!(s.pruned_by_stats, 0, "{s:?}");
    assert!(s.read <= s.row_groups_total / 20, "{s:?}");
    let op = probe(root, Kind::Events, "operator_id", "OP0007").unwrap();
    assert!(op.matched_rows > 0);
}
