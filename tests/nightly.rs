//! The nightly job against one scan: for random splits of a `tenken gen` data set into
//! nights — files of earlier days arriving late, files handed over twice — the archive
//! ends up with exactly the findings of one `tenken scan` over everything, and after
//! `tenken rollup` every level holds each event exactly once. Then the same with the
//! process killed: at every step of the archive's write protocol, and with SIGKILL at
//! random moments; `tenken verify` must pass after every kill and a re-run must finish
//! the job.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use arrow_array::cast::AsArray;
use assert_cmd::Command;
use proptest::prelude::*;
use tenken::archive::{Archive, Kind, Level};
use tenken::normalize::schema::col;

/// (rule, event, timestamp, evidence)
type FindingKey = (String, String, String, String);

fn tenken() -> Command {
    Command::cargo_bin("tenken").unwrap()
}

/// A small generated data set (a week of three offices, every anomaly and reject kind).
fn generate(dir: &Path, seed: u64) -> PathBuf {
    let out = dir.join("gen");
    tenken()
        .args([
            "gen",
            "--days",
            "7",
            "--offices",
            "3",
            "--scale",
            "0.3",
            "--quiet",
            "--seed",
        ])
        .arg(seed.to_string())
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    out
}

fn log_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for office in std::fs::read_dir(root.join("logs")).unwrap() {
        for f in std::fs::read_dir(office.unwrap().path()).unwrap() {
            files.push(f.unwrap().path());
        }
    }
    files.sort();
    files
}

fn scan_findings(data: &Path) -> BTreeSet<FindingKey> {
    let out = data.join("scan-findings.csv");
    tenken()
        .arg("scan")
        .arg(data.join("logs"))
        .arg("--ledgers")
        .arg(data.join("ledgers"))
        .arg("--findings")
        .arg(&out)
        .arg("--quiet")
        .assert()
        .success();
    csv::Reader::from_path(&out)
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_owned(),
                r[2].to_owned(),
                r[3].to_owned(),
                r[8].to_owned(),
            )
        })
        .collect()
}

fn ingest(data: &Path, archive: &Path, files: &[PathBuf]) -> assert_cmd::assert::Assert {
    tenken()
        .arg("ingest")
        .args(files)
        .arg("--ledgers")
        .arg(data.join("ledgers"))
        .arg("--archive")
        .arg(archive)
        .arg("--quiet")
        .assert()
}

fn archived_findings(archive: &Path) -> BTreeSet<FindingKey> {
    let a = Archive::open_read(archive).unwrap();
    let mut out = BTreeSet::new();
    for day in a.days(Kind::Findings) {
        let batch = a.read_day(Kind::Findings, day).unwrap().unwrap();
        for f in tenken::findings::from_record_batch(&batch).unwrap() {
            let inserted = out.insert((
                f.rule.as_str().to_owned(),
                f.event_id.clone(),
                tenken::time::format_jst(f.timestamp),
                f.evidence.join(";"),
            ));
            assert!(
                inserted,
                "finding archived twice: {} {}",
                f.rule, f.event_id
            );
        }
    }
    out
}

/// Every archived rule-engine state is the one a single run over the archived events up
/// to its day ends with: a state left behind by a night that re-judged its day would make
/// a later night resume wrongly (the archive keeps states only at some days).
fn states_are_current(data: &Path, archive: &Path) {
    let ledgers =
        std::sync::Arc::new(tenken::ledger::Ledgers::load(&data.join("ledgers")).unwrap());
    let a = Archive::open_read(archive).unwrap();
    let states = a.state_days();
    assert!(!states.is_empty(), "no state archived");
    let last_events = a.days(Kind::Events).into_iter().next_back().unwrap();
    assert_eq!(
        states.iter().next_back(),
        Some(&last_events),
        "the state after the last archived day is kept"
    );
    let mut detector = tenken::detect::Detector::new(ledgers);
    for day in a.days(Kind::Events) {
        let batch = a.read_day(Kind::Events, day).unwrap().unwrap();
        let batch = arrow_array::RecordBatch::try_new(
            tenken::normalize::schema::event_schema(),
            batch.columns().to_vec(),
        )
        .unwrap();
        detector.judge_day(day, &batch).unwrap();
        if states.contains(&day) {
            let saved = tenken::detect::State::decode(&a.state(day).unwrap().unwrap()).unwrap();
            assert!(
                saved == detector.state(),
                "the state archived for {} is stale",
                tenken::time::format_day(day)
            );
        }
    }
}

/// Every event id held by one level, each with how many times it appears.
fn events_at(archive: &Path, level: Level) -> BTreeMap<String, usize> {
    let a = Archive::open_read(archive).unwrap();
    let mut ids = BTreeMap::new();
    for day in a.days(Kind::Events) {
        if let Some(batch) = a.read_day_at(Kind::Events, day, level).unwrap() {
            for id in batch
                .column(col::EVENT_ID)
                .as_string::<i32>()
                .iter()
                .flatten()
            {
                *ids.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    ids
}

fn verify(archive: &Path) {
    let out = tenken()
        .arg("verify")
        .arg("--archive")
        .arg(archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn nightly_runs_archive_exactly_one_scans_findings(
        seed in 1u64..1000,
        nights in 2usize..6,
        assignment in proptest::collection::vec(0usize..100, 64),
        repeats in proptest::collection::vec((0usize..100, 0usize..100), 0..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let data = generate(dir.path(), seed);
        let expected = scan_findings(&data);
        prop_assert!(!expected.is_empty());
        let files = log_files(&data);
        // Each file goes to a random night (so earlier days often arrive late), and a
        // few files are handed over again on a later night.
        let mut plan: Vec<Vec<PathBuf>> = vec![Vec::new(); nights];
        for (i, f) in files.iter().enumerate() {
            plan[assignment[i % assignment.len()] % nights].push(f.clone());
        }
        for (file, night) in &repeats {
            plan[night % nights].push(files[file % files.len()].clone());
        }
        let archive = dir.path().join("archive");
        for night in plan.iter().filter(|n| !n.is_empty()) {
            ingest(&data, &archive, night).success();
            states_are_current(&data, &archive);
        }
        verify(&archive);
        let got = archived_findings(&archive);
        let missing: Vec<_> = expected.difference(&got).take(5).collect();
        let extra: Vec<_> = got.difference(&expected).take(5).collect();
        prop_assert!(missing.is_empty() && extra.is_empty(), "missing {:?}\nextra {:?}", missing, extra);

        // Consolidate as of a month and a half after the data (dailies then age out) and
        // check that each remaining level holds exactly the archived events, once each.
        let daily = events_at(&archive, Level::Daily);
        prop_assert!(!daily.is_empty() && daily.values().all(|&n| n == 1));
        tenken().args(["rollup", "--quiet", "--now", "2026-05-20", "--archive"]).arg(&archive).assert().success();
        verify(&archive);
        prop_assert!(events_at(&archive, Level::Daily).is_empty(), "the dailies aged out");
        for level in [Level::Weekly, Level::Monthly] {
            let at = events_at(&archive, level);
            prop_assert!(at.values().all(|&n| n == 1), "{:?} holds an event twice", level);
            prop_assert!(at.keys().eq(daily.keys()), "{:?} does not hold the daily events", level);
        }
        prop_assert_eq!(archived_findings(&archive), expected, "findings after the rollup");
    }
}

#[test]
fn the_same_night_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), 7);
    let archive = dir.path().join("archive");
    let files = log_files(&data);
    ingest(&data, &archive, &files).success();
    let manifest = std::fs::read(archive.join("manifest.jsonl")).unwrap();
    ingest(&data, &archive, &files).success();
    assert_eq!(
        std::fs::read(archive.join("manifest.jsonl")).unwrap(),
        manifest,
        "no new transaction"
    );
}

#[test]
fn a_night_of_many_days_keeps_states_at_week_ends_and_its_last_day() {
    // gen's week starts on Wednesday 2026-04-01: Sunday is 04-05, the last day 04-07.
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), 5);
    let expected = scan_findings(&data);
    let files = log_files(&data);
    let (late, night): (Vec<PathBuf>, Vec<PathBuf>) = files
        .iter()
        .cloned()
        .partition(|f| f.to_string_lossy().contains("2026-04-03"));
    assert!(!late.is_empty() && !night.is_empty());
    let archive = dir.path().join("archive");
    let state_days = |archive: &Path| -> Vec<String> {
        Archive::open_read(archive)
            .unwrap()
            .state_days()
            .into_iter()
            .map(tenken::time::format_day)
            .collect()
    };
    ingest(&data, &archive, &night).success();
    assert_eq!(state_days(&archive), ["2026-04-05", "2026-04-07"]);
    states_are_current(&data, &archive);
    // A late day in the middle resumes from the start (no state before it) and replaces
    // the states it passes; none is added for the days in between.
    ingest(&data, &archive, &late).success();
    assert_eq!(state_days(&archive), ["2026-04-05", "2026-04-07"]);
    states_are_current(&data, &archive);
    verify(&archive);
    assert_eq!(archived_findings(&archive), expected);
}

#[test]
fn killed_at_every_protocol_step_the_archive_verifies_and_the_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), 11);
    let expected = scan_findings(&data);
    let files = log_files(&data);
    let (first, second) = files.split_at(files.len() / 2);
    for step in tenken::archive::FAILPOINTS {
        let archive = dir.path().join(format!("archive-{step}"));
        ingest(&data, &archive, first).success();
        // The second night dies at `step` of its one transaction.
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenken"))
            .arg("ingest")
            .args(second)
            .arg("--ledgers")
            .arg(data.join("ledgers"))
            .arg("--archive")
            .arg(&archive)
            .arg("--quiet")
            .env(tenken::archive::FAILPOINT_ENV, step)
            .output()
            .unwrap();
        assert!(!out.status.success(), "the failpoint {step} did not fire");
        verify(&archive);
        ingest(&data, &archive, second).success();
        verify(&archive);
        assert_eq!(
            archived_findings(&archive),
            expected,
            "after a crash at {step}"
        );
    }
}

#[test]
fn sigkill_at_random_moments_leaves_a_verifiable_archive() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), 13);
    let expected = scan_findings(&data);
    let files = log_files(&data);
    let archive = dir.path().join("archive");
    // A fixed spread of delays covers reading, judging and the write protocol.
    for (i, delay_ms) in [5u64, 20, 40, 60, 90, 120, 160, 220, 300, 400]
        .into_iter()
        .enumerate()
    {
        let night = &files[(i * 3) % files.len()..];
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("tenken"))
            .arg("ingest")
            .args(night)
            .arg("--ledgers")
            .arg(data.join("ledgers"))
            .arg("--archive")
            .arg(&archive)
            .arg("--quiet")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if archive.join("manifest.jsonl").exists() {
            verify(&archive);
        }
    }
    ingest(&data, &archive, &files).success();
    verify(&archive);
    assert_eq!(archived_findings(&archive), expected);
}
