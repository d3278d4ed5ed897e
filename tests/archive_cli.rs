//! `tenken rollup` and `tenken verify` as processes: crashes at every step of the write
//! protocol, exit statuses, the lock, file modes under any umask, and DuckDB reading the
//! archive as downstream engines will.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use tenken::archive::digest::digest_batches;
use tenken::archive::{Archive, FAILPOINT_ENV, FAILPOINTS, Kind, synthetic, verify};
use tenken::model::Op;
use tenken::normalize::{EventRow, batch_from_rows};
use tenken::time::{self, Day};

mod common;
use common::copy_dir;

fn day(s: &str) -> Day {
    time::parse_day(s).unwrap()
}

fn events(d: Day, n: usize, tag: &str) -> arrow_array::RecordBatch {
    let ids: Vec<String> = (0..n)
        .map(|i| format!("{tag}-{}-{i}", time::format_day(d)))
        .collect();
    let rows = (0..n).map(|i| EventRow {
        operator_id: Some("OP1"),
        target_code: Some("12345678901"),
        ..EventRow::new(
            &ids[i],
            time::jst_midnight(d) + 9 * 3_600_000 + i as i64 * 1000,
            Op::Search,
        )
    });
    batch_from_rows("logs/x.csv", rows).unwrap()
}

fn memory_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(d) = tempfile::tempdir_in(shm)
    {
        return d;
    }
    tempfile::tempdir().unwrap()
}

fn tenken() -> Command {
    let mut c = Command::cargo_bin("tenken").unwrap();
    c.env_remove(FAILPOINT_ENV);
    c
}

fn rollup(root: &Path, now: &str, failpoint: Option<&str>) -> Output {
    let mut c = tenken();
    c.args(["rollup", "--archive"])
        .arg(root)
        .args(["--now", now]);
    if let Some(f) = failpoint {
        c.env(FAILPOINT_ENV, f);
    }
    c.output().unwrap()
}

/// An archive with a weekly already built and then made stale by a late day, so that the
/// next rollup replaces a file, adds files and removes files (daily_days = 3).
fn base_archive(root: &Path) {
    fs::create_dir_all(root).unwrap();
    fs::write(root.join("archive.toml"), "[retention]\ndaily_days = 3\n").unwrap();
    let mut a = Archive::open_write(root, None).unwrap();
    let mut t = a.begin();
    for d in day("2026-03-28")..=day("2026-04-07") {
        t.put_day(Kind::Events, d, &events(d, 3, "a")).unwrap();
        t.put_state(d, b"state").unwrap();
    }
    t.commit().unwrap();
    let mut t = a.begin();
    for d in day("2026-03-30")..=day("2026-04-03") {
        t.put_day(Kind::Findings, d, &events(d, 1, "f")).unwrap();
    }
    t.commit().unwrap();
    a.rollup(day("2026-03-31")).unwrap();
    let mut t = a.begin();
    t.put_day(
        Kind::Events,
        day("2026-03-29"),
        &events(day("2026-03-29"), 5, "late"),
    )
    .unwrap();
    t.commit().unwrap();
}

/// What an archive holds, independent of file bytes: per live file, its rows and days.
fn holdings(root: &Path) -> BTreeMap<String, Vec<(String, u64, String)>> {
    let a = Archive::open_read(root).unwrap();
    a.files()
        .map(|op| {
            (
                op.path.clone(),
                op.days
                    .iter()
                    .map(|d| (time::format_day(d.day.0), d.rows, d.digest.clone()))
                    .collect(),
            )
        })
        .collect()
}

/// Every day's rows as a reader sees them.
fn contents(root: &Path) -> BTreeMap<(Kind, Day), String> {
    let a = Archive::open_read(root).unwrap();
    let mut out = BTreeMap::new();
    for kind in Kind::ALL {
        for d in a.days(kind) {
            let b = a.read_day(kind, d).unwrap().unwrap();
            out.insert((kind, d), digest_batches(b.schema(), [&b]).unwrap().1);
        }
    }
    out
}

#[test]
fn a_rollup_killed_at_any_step_leaves_an_archive_that_verifies_and_is_finished_next_time() {
    let dir = memory_tempdir();
    let base = dir.path().join("base");
    base_archive(&base);
    let before = contents(&base);
    let reference = dir.path().join("reference");
    copy_dir(&base, &reference);
    let out = rollup(&reference, "2026-04-09", None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Events W13 rebuilt, events W14, findings W14, events and findings March, then
    // retention: 5 transactions with files to rename, 1 that only removes files.
    assert!(
        stdout.contains("rebuilt events weekly 2026-W13"),
        "{stdout}"
    );
    assert!(
        stdout.contains("removed events daily 2026-04-02"),
        "{stdout}"
    );
    let want = holdings(&reference);
    let want_contents = contents(&reference);
    assert_eq!(
        want_contents.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "rollup keeps every day"
    );

    let mut crashes = 0;
    for point in FAILPOINTS {
        for nth in 1..=6 {
            let root = dir.path().join(format!("{point}-{nth}"));
            copy_dir(&base, &root);
            let spec = format!("{point}:{nth}");
            let out = rollup(&root, "2026-04-09", Some(&spec));
            if !out.status.success() {
                crashes += 1;
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    stderr.contains(&format!("failpoint {point}")),
                    "{spec}: {stderr}"
                );
            }
            // Whatever the moment, the archive verifies and reads as before or after.
            let r = verify(&root).unwrap();
            assert!(r.ok(), "{spec}: {:#?}", r.problems);
            let seen = contents(&root);
            for (key, digest) in &seen {
                assert!(
                    before.get(key) == Some(digest) || want_contents.get(key) == Some(digest),
                    "{spec}: {key:?} reads as neither before nor after"
                );
            }
            assert_eq!(seen.len(), before.len(), "{spec}: a day went missing");
            // The next run finishes the work.
            let out = rollup(&root, "2026-04-09", None);
            assert!(
                out.status.success(),
                "{spec}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(holdings(&root), want, "{spec}");
            let r = verify(&root).unwrap();
            assert!(r.ok() && r.notes.is_empty(), "{spec}: {r:#?}");
            assert!(
                !root.join(".staging").exists()
                    || fs::read_dir(root.join(".staging"))
                        .unwrap()
                        .next()
                        .is_none(),
                "{spec}: staging left behind"
            );
        }
    }
    // Each failpoint fires in each of the 6 transactions, except `renamed-one` in the
    // remove-only one: 5 × 6 + 5.
    assert_eq!(crashes, 35);
}

#[test]
fn verify_exits_0_on_a_sound_archive_and_2_naming_the_damage() {
    let dir = memory_tempdir();
    let root = dir.path().join("a");
    base_archive(&root);
    let out = tenken()
        .args(["verify", "--archive"])
        .arg(&root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("OK "), "{stdout}");
    assert!(stdout.contains("stale"), "the late day is noted: {stdout}");

    let target = "events/daily/year=2026/month=4/day=3/part-0.parquet";
    let p = root.join(target);
    let mut bytes = fs::read(&p).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    fs::write(&p, bytes).unwrap();
    let out = tenken()
        .args(["verify", "--deep", "--archive"])
        .arg(&root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(&format!("FAIL {target}: SHA-256")),
        "{stdout}"
    );
    assert!(stdout.contains("FAILED"), "{stdout}");

    let help = tenken().args(["verify", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("a failed verification is an error"), "{help}");
}

#[test]
fn a_second_writer_is_refused_with_the_holders_pid() {
    let dir = memory_tempdir();
    let root = dir.path().join("a");
    base_archive(&root);
    let held = Archive::open_write(&root, None).unwrap();
    let out = rollup(&root, "2026-04-09", None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "is being written by another tenken (pid {}",
            std::process::id()
        )),
        "{stderr}"
    );
    drop(held);
    let out = rollup(&root, "2026-04-09", None);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("rollup as of 2026-04-09: 5 built (1 rebuilt)"),
        "{stdout}"
    );
}

#[test]
fn a_rollup_of_a_missing_folder_or_a_file_fails_and_creates_nothing() {
    let dir = memory_tempdir();
    let root = dir.path().join("archvie");
    let out = rollup(&root, "2026-04-09", None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("archvie: no archive here"), "{stderr}");
    assert!(!root.exists());
    // An existing folder is an archive with nothing to roll up yet.
    std::fs::create_dir(&root).unwrap();
    assert!(rollup(&root, "2026-04-09", None).status.success());
    // A file where the archive should be is named as such, not by the lock beneath it.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let err = Archive::open_write(&file, None).unwrap_err().to_string();
    assert!(
        err.ends_with("a-file: not a folder: --archive names the archive's root folder"),
        "{err}"
    );
}

#[test]
fn files_are_private_whatever_the_umask() {
    let dir = memory_tempdir();
    let root = dir.path().join("a");
    base_archive(&root);
    let bin = assert_cmd::cargo::cargo_bin("tenken");
    let status = Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" rollup --quiet --archive \"$1\" --now 2026-04-09")
        .arg(&bin)
        .arg(&root)
        .env_remove(FAILPOINT_ENV)
        .output()
        .unwrap();
    assert!(status.status.success());
    let mut seen = 0;
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let mode = e.metadata().unwrap().permissions().mode() & 0o777;
            if e.file_type().unwrap().is_dir() {
                assert_eq!(mode, 0o700, "{}", e.path().display());
                stack.push(e.path());
            } else if e.file_name() != "archive.toml" {
                assert_eq!(mode, 0o600, "{}", e.path().display());
                seen += 1;
            }
        }
    }
    assert!(seen > 10);
}

/// DuckDB, as a downstream engine, reads each level with Hive partitioning. Needs the
/// `duckdb` Python package (`pip install duckdb`); skipped without it, except in CI.
#[test]
fn duckdb_reads_the_archive_with_hive_partitioning() {
    let has_duckdb = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_duckdb {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must provide DuckDB: pip install duckdb"
        );
        eprintln!("skipped: python3 -c 'import duckdb' failed");
        return;
    }
    let dir = memory_tempdir();
    let root = dir.path().join("a");
    let mut a = Archive::open_write(&root, None).unwrap();
    let shape = synthetic::SynthDay {
        events: 50,
        ..Default::default()
    };
    let days: Vec<Day> = (day("2026-03-28")..=day("2026-04-07")).collect();
    let mut t = a.begin();
    for &d in &days {
        t.put_day(Kind::Events, d, &synthetic::day_batch(d, &shape))
            .unwrap();
    }
    t.commit().unwrap();
    a.rollup(day("2026-04-09")).unwrap();
    drop(a);
    let script = r#"
import duckdb, json, sys
root = sys.argv[1]
con = duckdb.connect()
def scan(level):
    return f"read_parquet('{root}/events/{level}/**/*.parquet', hive_partitioning = true)"
out = {}
for level in ["daily", "weekly", "monthly"]:
    out[level] = con.execute(f"select count(*) from {scan(level)}").fetchone()[0]
    out[level + "_columns"] = {r[0]: r[1] for r in con.execute(f"describe select * from {scan(level)}").fetchall()}
out["per_day"] = con.execute(
    f"select year, month, day, count(*) from {scan('daily')} group by all order by all").fetchall()
out["weekly_days"] = con.execute(
    f"select week, count(distinct cast(timezone('Asia/Tokyo', timestamp) as date)) from {scan('weekly')} group by all order by all").fetchall()
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // 11 days of 50 events; weeks 13 (2 days) and 14 (7) are complete, March (4 days).
    assert_eq!(v["daily"], 550);
    assert_eq!(v["weekly"], 450);
    assert_eq!(v["monthly"], 200);
    let daily = &v["daily_columns"];
    assert_eq!(daily["timestamp"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(daily["event_id"], "VARCHAR");
    assert_eq!(daily["target_code"], "VARCHAR");
    assert_eq!(daily["record_count"], "BIGINT");
    for key in ["year", "month", "day"] {
        assert_eq!(daily[key], "BIGINT", "partition {key} typed as an integer");
    }
    assert_eq!(v["weekly_columns"]["week"], "BIGINT");
    let per_day = v["per_day"].as_array().unwrap();
    assert_eq!(per_day.len(), 11);
    assert_eq!(per_day[0], serde_json::json!([2026, 3, 28, 50]));
    assert_eq!(per_day[10], serde_json::json!([2026, 4, 7, 50]));
    assert_eq!(v["weekly_days"], serde_json::json!([[13, 2], [14, 7]]));
}
