//! Every rule's hand-written fixture, scanned by the real binary: the findings must be
//! exactly the hand-derived `expected.csv` (rule_id,event_id), all rules considered.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;

fn pairs(text: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split(',');
            (
                it.next().unwrap_or("").to_owned(),
                it.next().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The (rule_id, event_id) pairs of a findings CSV written by tenken (columns rule_id,
/// severity, event_id, …).
fn found(path: &Path) -> BTreeSet<(String, String)> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[0].to_owned(), rec[2].to_owned())
        })
        .collect()
}

#[test]
fn every_rule_fixture_gives_exactly_its_expected_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let out = tempfile::tempdir().unwrap();
        let findings = out.path().join("findings.csv");
        Command::cargo_bin("tenken")
            .unwrap()
            .arg("scan")
            .arg(dir.join("logs.csv"))
            .arg("--ledgers")
            .arg(dir.join("ledgers"))
            .arg("--findings")
            .arg(&findings)
            .arg("--quiet")
            .assert()
            .success();
        let expected = pairs(&std::fs::read_to_string(dir.join("expected.csv")).unwrap());
        assert_eq!(found(&findings), expected, "fixture {}", dir.display());
        checked += 1;
    }
    assert_eq!(checked, 16, "one fixture per rule of the catalogue");
}
