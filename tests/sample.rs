//! The bundled sample (`fixtures/sample/`, hand-written, see its README) and the order
//! independence of findings: files handed over in another order, with their lines
//! shuffled, give byte-identical findings.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn scan(inputs: &[PathBuf], ledgers: &Path, findings: &Path, rejects: &Path) {
    Command::cargo_bin("tenken")
        .unwrap()
        .arg("scan")
        .args(inputs)
        .arg("--ledgers")
        .arg(ledgers)
        .arg("--findings")
        .arg(findings)
        .arg("--rejects")
        .arg(rejects)
        .arg("--quiet")
        .assert()
        .success();
}

fn pairs(path: &Path, rule_col: usize, id_col: usize) -> BTreeSet<(String, String)> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[rule_col].to_owned(), r[id_col].to_owned())
        })
        .collect()
}

#[test]
fn the_sample_gives_its_hand_derived_findings_and_one_reject() {
    let out = tempfile::tempdir().unwrap();
    let (f, r) = (
        out.path().join("findings.csv"),
        out.path().join("rejects.csv"),
    );
    scan(
        &[root().join("fixtures/sample/logs")],
        &root().join("fixtures/ledgers/sample"),
        &f,
        &r,
    );
    assert_eq!(
        pairs(&f, 0, 2),
        pairs(&root().join("fixtures/sample/expected.csv"), 0, 1)
    );
    let rejects: Vec<csv::StringRecord> = csv::Reader::from_path(&r)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rejects.len(), 1);
    assert!(rejects[0][0].ends_with("2026-04-07.csv.gz"));
    assert_eq!((&rejects[0][1], &rejects[0][2]), ("4", "timestamp"));
}

/// A copy of `src` (a log file) with its lines after the header in a scrambled order.
fn scrambled(src: &Path, dir: &Path, name: &str) -> PathBuf {
    let bytes = std::fs::read(src).unwrap();
    let text = if src.extension().is_some_and(|e| e == "gz") {
        let mut d = flate2::read::GzDecoder::new(&bytes[..]);
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut s).unwrap();
        s
    } else {
        bytes
    };
    let mut lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let header = if lines[0].starts_with(b"event_id,") {
        Some(lines.remove(0))
    } else {
        None
    };
    // A fixed scramble: reverse, then interleave halves.
    lines.reverse();
    let (a, b) = lines.split_at(lines.len() / 2);
    let mut mixed: Vec<&[u8]> = Vec::new();
    for i in 0..a.len().max(b.len()) {
        mixed.extend(b.get(i));
        mixed.extend(a.get(i));
    }
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    if let Some(h) = header {
        f.write_all(h).unwrap();
        f.write_all(b"\n").unwrap();
    }
    for l in mixed {
        f.write_all(l).unwrap();
        f.write_all(b"\n").unwrap();
    }
    path
}

#[test]
fn findings_do_not_depend_on_file_order_or_line_order() {
    let mut cases: Vec<(Vec<PathBuf>, PathBuf)> = vec![(
        [
            "KW01/2026-04-06.csv",
            "KW02/2026-04-06.log",
            "KW01/2026-04-07.csv.gz",
        ]
        .iter()
        .map(|p| root().join("fixtures/sample/logs").join(p))
        .collect(),
        root().join("fixtures/ledgers/sample"),
    )];
    for rule in [
        "auth-failure-burst",
        "browsing-spike",
        "concurrent-terminals",
        "split-mass-output",
        "unverified-change",
    ] {
        let d = root().join("fixtures/rules").join(rule);
        cases.push((vec![d.join("logs.csv")], d.join("ledgers")));
    }
    for (files, ledgers) in cases {
        let out = tempfile::tempdir().unwrap();
        let (f1, r1) = (out.path().join("a.csv"), out.path().join("ra.csv"));
        scan(&files, &ledgers, &f1, &r1);
        let shuffled: Vec<PathBuf> = files
            .iter()
            .rev()
            .enumerate()
            .map(|(i, p)| {
                let ext = if p.to_string_lossy().contains(".log") {
                    "log"
                } else {
                    "csv"
                };
                scrambled(p, out.path(), &format!("s{i}.{ext}"))
            })
            .collect();
        let (f2, r2) = (out.path().join("b.csv"), out.path().join("rb.csv"));
        scan(&shuffled, &ledgers, &f2, &r2);
        let (a, b) = (
            std::fs::read_to_string(&f1).unwrap(),
            std::fs::read_to_string(&f2).unwrap(),
        );
        assert!(a.lines().count() > 1, "the case has findings: {files:?}");
        assert_eq!(a, b, "findings differ for {files:?}");
    }
}

/// `--help` teaches: every subcommand's long help ends with at least one example that
/// calls that subcommand.
#[test]
fn every_command_help_shows_an_example_of_itself() {
    for command in ["scan", "ingest", "rollup", "verify", "gen"] {
        let out = Command::cargo_bin("tenken")
            .unwrap()
            .args(["help", command])
            .output()
            .unwrap();
        assert!(out.status.success(), "help {command}");
        let help = String::from_utf8_lossy(&out.stdout);
        let example = format!("  tenken {command} ");
        assert!(
            help.lines().any(|line| line.starts_with(&example)),
            "`tenken help {command}` has no example line starting with {example:?}:\n{help}"
        );
    }
}
