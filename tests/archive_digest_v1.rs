//! An archive written before day digest version 2 (`fixtures/archive-v1/`, see its
//! README) under the current tenken: it verifies as it is, its days compare with days
//! rewritten since (the older side re-digested at the newer version), rollups and
//! retention treat it as before, and late logs merge into it with the same result as
//! ingesting everything into a new archive.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use tenken::archive::digest::{Version, digest_batches};
use tenken::archive::manifest::{self, Entry};
use tenken::archive::{Archive, FAILPOINT_ENV, Kind, Level, VerifyOptions, verify_with};
use tenken::time::{self, Day};

mod common;
use common::copy_dir;

fn day(s: &str) -> Day {
    time::parse_day(s).unwrap()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A private copy of the fixture (the tests write to it).
fn v1_archive() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("arc");
    copy_dir(&repo().join("fixtures/archive-v1"), &root);
    (dir, root)
}

fn deep(root: &Path) -> tenken::archive::VerifyReport {
    verify_with(root, VerifyOptions { deep: true }).unwrap()
}

/// Every manifest day of every live file: (path, day, digest version).
fn versions(root: &Path) -> Vec<(String, String, u32)> {
    let a = Archive::open_read(root).unwrap();
    let mut out = Vec::new();
    for op in a.files() {
        for d in &op.days {
            out.push((op.path.clone(), time::format_day(d.day.0), d.digest_version));
        }
    }
    out
}

/// Every day's rows as a reader sees them, at every level, by value.
fn contents(root: &Path) -> BTreeMap<(Kind, Day, Level), (u64, String)> {
    let a = Archive::open_read(root).unwrap();
    let mut out = BTreeMap::new();
    for kind in Kind::ALL {
        for d in a.days(kind) {
            for loc in a.locations(kind, d) {
                let b = a.read_day_at(kind, d, loc.level).unwrap().unwrap();
                out.insert(
                    (kind, d, loc.level),
                    digest_batches(b.schema(), [&b]).unwrap(),
                );
            }
        }
    }
    out
}

/// Ingests sample logs the way the fixture was written: from the repository, paths as
/// given relative to it (they are stored in `source_file`).
fn ingest(root: &Path, logs: &[&str]) {
    let mut c = Command::cargo_bin("tenken").unwrap();
    c.env_remove(FAILPOINT_ENV)
        .current_dir(repo())
        .arg("ingest");
    for l in logs {
        c.arg(format!("fixtures/sample/logs/{l}"));
    }
    let out = c
        .arg("--ledgers")
        .arg("fixtures/ledgers/sample")
        .arg("--archive")
        .arg(root)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_version_1_fixture_verifies_as_it_is() {
    let (_dir, root) = v1_archive();
    let v = versions(&root);
    assert_eq!(v.len(), 4, "{v:?}");
    assert!(v.iter().all(|(_, _, n)| *n == 1), "{v:?}");
    for r in [tenken::archive::verify(&root).unwrap(), deep(&root)] {
        assert!(r.ok(), "{:?}", r.problems);
        assert!(r.notes.is_empty(), "{:?}", r.notes);
        assert_eq!(r.days_compared, 2);
    }
    // Nothing to build or remove: the weekly of 2026-W15 holds the one day.
    let mut a = Archive::open_write(&root, None).unwrap();
    let report = a.rollup(day("2026-04-13")).unwrap();
    assert!(
        report.built.is_empty() && report.removed.is_empty(),
        "{report:?}"
    );
}

#[test]
fn a_day_rewritten_with_the_same_rows_agrees_with_its_version_1_rollup() {
    let (_dir, root) = v1_archive();
    fs::write(root.join("archive.toml"), "[retention]\ndaily_days = 3\n").unwrap();
    let d = day("2026-04-06");
    let before = contents(&root);
    let mut a = Archive::open_write(&root, None).unwrap();
    let old: Vec<_> = Kind::ALL
        .iter()
        .map(|&k| a.locations(k, d)[0].digest.clone())
        .collect();
    let mut t = a.begin();
    for kind in Kind::ALL {
        let rows = t
            .archive()
            .read_day_at(kind, d, Level::Daily)
            .unwrap()
            .unwrap();
        t.put_day(kind, d, &rows).unwrap();
    }
    t.commit().unwrap();
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        let locs = a.locations(kind, d);
        assert_eq!(locs.len(), 2);
        let (daily, weekly) = (&locs[0], &locs[1]);
        assert_eq!(
            (daily.digest_version, weekly.digest_version),
            (Version::CURRENT.number(), 1)
        );
        assert_ne!(
            daily.digest, old[i],
            "{kind}: the daily is digested anew, at the current version"
        );
        assert_eq!(weekly.digest, old[i]);
        assert!(daily.seq > weekly.seq);
    }
    // Two versions of one day's digest: compared by decoding, they agree — no stale
    // rollup, no problem, nothing rebuilt.
    for r in [tenken::archive::verify(&root).unwrap(), deep(&root)] {
        assert!(r.ok(), "{:?}", r.problems);
        assert!(r.notes.is_empty(), "{:?}", r.notes);
        assert_eq!(r.days_compared, 2);
    }
    // The week has ended and the dailies have aged out (now − 2026-04-06 > 3 days): the
    // weekly is not rebuilt, and holds the days as the dailies do, so they go.
    let report = a.rollup(day("2026-04-13")).unwrap();
    assert!(report.built.is_empty(), "{report:?}");
    let removed: Vec<_> = report
        .removed
        .iter()
        .map(|r| (r.kind.as_str(), r.level))
        .collect();
    assert!(
        removed.contains(&("events", Some(Level::Daily))),
        "{removed:?}"
    );
    assert!(
        removed.contains(&("findings", Some(Level::Daily))),
        "{removed:?}"
    );
    drop(a);
    let r = deep(&root);
    assert!(r.ok(), "{:?}", r.problems);
    let after = contents(&root);
    for kind in Kind::ALL {
        assert_eq!(
            after[&(kind, d, Level::Weekly)],
            before[&(kind, d, Level::Daily)]
        );
    }
}

#[test]
fn a_day_rewritten_with_other_rows_makes_its_version_1_rollup_stale() {
    let (_dir, root) = v1_archive();
    let d = day("2026-04-06");
    let mut a = Archive::open_write(&root, None).unwrap();
    let mut t = a.begin();
    let rows = t
        .archive()
        .read_day_at(Kind::Findings, d, Level::Daily)
        .unwrap()
        .unwrap();
    // The same number of rows, one fewer distinct: only the digests can tell.
    let changed = arrow_select::concat::concat_batches(
        &rows.schema(),
        [&rows.slice(0, rows.num_rows() - 1), &rows.slice(0, 1)],
    )
    .unwrap();
    t.put_day(Kind::Findings, d, &changed).unwrap();
    t.commit().unwrap();
    let r = tenken::archive::verify(&root).unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert!(
        r.notes.iter().any(|n| n.contains("stale")),
        "the weekly is older than the daily: {:?}",
        r.notes
    );
    let report = a.rollup(day("2026-04-13")).unwrap();
    let built: Vec<_> = report.built.iter().map(|b| (b.kind, b.rebuilt)).collect();
    assert_eq!(built, [(Kind::Findings, true)]);
    drop(a);
    let r = deep(&root);
    assert!(
        r.ok() && r.notes.is_empty(),
        "{:?} {:?}",
        r.problems,
        r.notes
    );
    let v = versions(&root);
    assert!(
        v.contains(&(
            "findings/weekly/year=2026/week=15/part-0.parquet".into(),
            "2026-04-06".into(),
            Version::CURRENT.number()
        )),
        "the rebuilt weekly copies the current-version daily: {v:?}"
    );
}

#[test]
fn late_logs_merge_into_a_version_1_archive_as_into_a_new_one() {
    let (dir, root) = v1_archive();
    ingest(&root, &["KW01/2026-04-07.csv.gz"]);
    let mut a = Archive::open_write(&root, None).unwrap();
    let report = a.rollup(day("2026-04-13")).unwrap();
    assert_eq!(report.built.len(), 2, "both weeklies rebuilt: {report:?}");
    assert!(report.built.iter().all(|b| b.rebuilt && b.days == 2));
    drop(a);
    let r = deep(&root);
    assert!(r.ok(), "{:?}", r.problems);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    // The new day is digested at the current version; the weekly copies each day at its
    // daily's version.
    let v: BTreeMap<_, _> = versions(&root)
        .into_iter()
        .map(|(p, d, n)| ((p, d), n))
        .collect();
    let events_weekly = "events/weekly/year=2026/week=15/part-0.parquet".to_owned();
    assert_eq!(v[&(events_weekly.clone(), "2026-04-06".into())], 1);
    assert_eq!(
        v[&(events_weekly, "2026-04-07".into())],
        Version::CURRENT.number()
    );

    // The same logs into a new archive: the same rows at every level.
    let fresh = dir.path().join("fresh");
    ingest(
        &fresh,
        &[
            "KW01/2026-04-06.csv",
            "KW02/2026-04-06.log",
            "KW01/2026-04-07.csv.gz",
        ],
    );
    let mut a = Archive::open_write(&fresh, None).unwrap();
    a.rollup(day("2026-04-13")).unwrap();
    drop(a);
    let current = Version::CURRENT.number();
    assert!(versions(&fresh).iter().all(|(_, _, n)| *n == current));
    assert_eq!(contents(&root), contents(&fresh));
}

#[test]
fn a_digest_version_this_tenken_does_not_know_is_a_problem() {
    let (_dir, root) = v1_archive();
    // Rewrite the chain with the weekly's day recorded at version 9 (a future tenken).
    let path = root.join("manifest.jsonl");
    let text = fs::read_to_string(&path).unwrap();
    let mut prev = manifest::GENESIS.to_owned();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut e: Entry = manifest::parse_line(&path, i + 1, line).unwrap();
        for op in &mut e.ops {
            if op.path.starts_with("events/weekly/") {
                op.days[0].digest_version = 9;
            }
        }
        e.prev = prev;
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        out.push_str(&e.to_line());
    }
    fs::write(&path, out).unwrap();
    let r = deep(&root);
    let weekly: Vec<_> = r
        .problems
        .iter()
        .filter(|p| p.path.starts_with("events/weekly/"))
        .collect();
    assert!(
        weekly.len() == 2 && weekly.iter().all(|p| p.message.contains("version 9")),
        "deep check and level comparison both name it: {:?}",
        r.problems
    );
    assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
    assert_eq!(Version::from_number(9), None);
    let mut a = Archive::open_write(&root, None).unwrap();
    let err = a.rollup(day("2026-04-13")).unwrap_err().to_string();
    assert!(err.contains("version 9"), "{err}");
}
