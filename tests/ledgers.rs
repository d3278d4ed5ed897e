//! The sample ledger folder of `fixtures/ledgers/` loaded through the public API, as the
//! rule engine sees it. Expected values come from the fixture files and the calendar of
//! 2026, checked by hand (2026-04-01 is a Wednesday).

use std::path::{Path, PathBuf};

use tenken::ledger::{self, Designation, Ledgers, RequestMismatch};
use tenken::model::RuleId;
use tenken::time::{self, Day};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ledgers")
}

fn sample() -> Ledgers {
    Ledgers::load(&fixtures().join("sample")).unwrap()
}

fn day(s: &str) -> Day {
    time::parse_day(s).unwrap()
}

fn ts(s: &str) -> i64 {
    time::parse_timestamp(s.as_bytes()).unwrap()
}

/// Minutes after midnight as the milliseconds of `Calendar::open_interval`.
fn hm(h: i64, m: i64) -> i64 {
    (h * 60 + m) * 60_000
}

/// A copy of the sample folder in a temp dir, to alter one file.
fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures().join("sample")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

fn sorted(ops: &ledger::Operators) -> Vec<Designation> {
    let mut v: Vec<Designation> = ops.iter().cloned().collect();
    v.sort_by(|a, b| (&a.operator_id, a.from).cmp(&(&b.operator_id, b.from)));
    v
}

#[test]
fn sample_operators() {
    let l = sample();
    assert_eq!(l.operators.len(), 8);
    assert_eq!(l.operators.iter().count(), 9, "OP1003 has two rows");

    // Transfer: KW01 until 2026-03-31, KW02 from 2026-04-01 (lines 4 and 5).
    let before = l
        .operators
        .designation("OP1003", day("2026-03-31"))
        .unwrap();
    let after = l
        .operators
        .designation("OP1003", day("2026-04-01"))
        .unwrap();
    assert_eq!((before.office.as_str(), before.line), ("KW01", 4));
    assert_eq!((after.office.as_str(), after.line), ("KW02", 5));

    // Expired on 2025-03-31.
    assert!(
        l.operators
            .designation("OP1004", day("2025-03-31"))
            .is_some()
    );
    assert!(
        l.operators
            .designation("OP1004", day("2025-04-01"))
            .is_none()
    );

    // Late start on 2026-04-15.
    assert!(
        l.operators
            .designation("OP1005", day("2026-04-14"))
            .is_none()
    );
    let late = l
        .operators
        .designation("OP1005", day("2026-04-15"))
        .unwrap();
    assert!(late.terminals.allows(Some("KW01-T03")));
    assert!(!late.terminals.allows(Some("KW01-T01")));

    // The quoted cell of OP1002 is a plain list.
    let op2 = l
        .operators
        .designation("OP1002", day("2026-04-01"))
        .unwrap();
    assert!(op2.business_codes.allows(Some("L01")));
    assert!(!op2.business_codes.allows(Some("U01")));
    assert!(
        l.operators
            .designation("OP1001", day("2026-04-01"))
            .unwrap()
            .business_codes
            .is_any()
    );
    assert!(
        l.operators
            .designation("OP9999", day("2026-04-01"))
            .is_none()
    );
}

#[test]
fn sample_terminals_and_calendars() {
    let l = sample();
    assert_eq!(l.terminals.len(), 8);
    assert_eq!(l.terminals.get("KW01-T03").unwrap().calendar, "default");
    assert_eq!(l.terminals.get("KW02-T01").unwrap().office, "KW02");
    assert_eq!(
        l.calendars.names().collect::<Vec<_>>(),
        ["branch", "default"]
    );

    let h = &l.calendars.holidays;
    let kw01 = l.calendar_for(Some("KW01-T01"));
    let kw02 = l.calendar_for(Some("KW02-T02"));
    assert_eq!(kw01.name, "default");
    assert_eq!(kw02.name, "branch");
    // An unknown terminal is judged by `default`.
    assert_eq!(l.calendar_for(Some("XX-T99")).name, "default");

    // Wednesday 2026-04-01: 08:30-17:15 ± 30; branch 08:45-16:30 ± 15.
    assert_eq!(
        kw01.open_interval(day("2026-04-01"), h),
        Some((hm(8, 0), hm(17, 45)))
    );
    assert_eq!(
        kw02.open_interval(day("2026-04-01"), h),
        Some((hm(8, 30), hm(16, 45)))
    );
    // Thursday 2026-04-02: extended until 19:00 at KW01 only.
    assert_eq!(
        kw01.open_interval(day("2026-04-02"), h),
        Some((hm(8, 0), hm(19, 30)))
    );
    assert_eq!(
        kw02.open_interval(day("2026-04-02"), h),
        Some((hm(8, 30), hm(16, 45)))
    );
    // Sunday 2026-03-29 is an open day at KW01, closed at the branch.
    assert_eq!(
        kw01.open_interval(day("2026-03-29"), h),
        Some((hm(8, 0), hm(12, 30)))
    );
    assert_eq!(kw02.open_interval(day("2026-03-29"), h), None);
    // 2026-04-29 昭和の日 (Wednesday), 2026-05-06 振替休日, 年末 2026-12-29.
    for closed in ["2026-04-29", "2026-05-06", "2026-12-29", "2027-01-02"] {
        assert_eq!(kw01.open_interval(day(closed), h), None, "{closed}");
        assert_eq!(kw02.open_interval(day(closed), h), None, "{closed}");
    }
}

#[test]
fn sample_approvals_requests_watchlist_rules() {
    let l = sample();
    assert_eq!(l.approvals.len(), 3);
    // AP-2026-001: all of April by bare dates, L01, ≤ 500.
    let covers = |no, op, biz, t, n| l.approvals.covers(Some(no), Some(op), Some(biz), t, n);
    assert!(covers(
        "AP-2026-001",
        "OP1002",
        "L01",
        ts("2026-04-30T23:59:59.999+09:00"),
        500
    ));
    assert!(!covers(
        "AP-2026-001",
        "OP1002",
        "L01",
        ts("2026-05-01T00:00:00+09:00"),
        500
    ));
    assert!(!covers(
        "AP-2026-001",
        "OP1002",
        "L01",
        ts("2026-04-15T10:00:00+09:00"),
        501
    ));
    assert!(!covers(
        "AP-2026-001",
        "OP1001",
        "L01",
        ts("2026-04-15T10:00:00+09:00"),
        1
    ));
    // AP-2026-002: any business.
    assert!(covers(
        "AP-2026-002",
        "OP1008",
        "Z01",
        ts("2026-04-06T17:15:00+09:00"),
        2000
    ));
    assert!(!covers(
        "AP-2026-002",
        "OP1008",
        "Z01",
        ts("2026-04-06T17:15:00.001+09:00"),
        1
    ));
    // AP-2026-003: the local layout is JST.
    assert!(covers(
        "AP-2026-003",
        "OP1007",
        "W01",
        ts("2026-04-10T00:00:00Z"),
        150
    ));
    assert!(!covers(
        "AP-2026-003",
        "OP1007",
        "W01",
        ts("2026-04-10T03:00:00.001Z"),
        150
    ));

    let r = l.requests.as_ref().unwrap();
    assert_eq!(r.len(), 7);
    assert_eq!(
        r.check("R2026-0001", Some("01234567890"), day("2026-04-01")),
        Ok(())
    );
    assert_eq!(
        r.check("R2026-0001", Some("10987654321"), day("2026-04-01")),
        Err(RequestMismatch::OtherResident)
    );
    assert_eq!(
        r.check("R2026-0003", None, day("2026-04-01")),
        Err(RequestMismatch::ReceivedLater {
            received_on: day("2026-04-02")
        })
    );
    assert_eq!(
        r.check("R2026-0006", Some("34567890124"), day("2026-04-03")),
        Ok(())
    );
    assert_eq!(
        r.check("R2026-0005", Some("99999999999"), day("2026-04-03")),
        Ok(())
    );

    assert_eq!(l.watchlist.len(), 3);
    let dv = l.watchlist.get("45678901234").unwrap();
    assert!(dv.allowed_operators.contains("OP1007"));
    assert!(!dv.allowed_operators.contains("OP1002"));
    assert!(
        l.watchlist
            .get("56789012345")
            .unwrap()
            .allowed_operators
            .is_empty()
    );

    assert!(l.rules.request_exempt_business_codes.contains("Z01"));
    assert_eq!(l.rules.request_exempt_business_codes.len(), 1);
    assert_eq!(l.rules.mass_output_threshold, 100);
    assert_eq!(
        l.rules.session_timeout_minutes, 30,
        "absent key keeps the default"
    );
    assert!(RuleId::ALL.iter().all(|&id| l.rules.enabled(id)));
}

#[test]
fn cp932_register_reads_like_the_utf8_one() {
    let cp932 = fixtures().join("cp932/operators.csv");
    let bytes = std::fs::read(&cp932).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the fixture must not be UTF-8"
    );
    let utf8 = ledger::read_operators(&fixtures().join("sample/operators.csv")).unwrap();
    let sjis = ledger::read_operators(&cp932).unwrap();
    assert_eq!(sorted(&sjis), sorted(&utf8));
    assert_eq!(
        sjis.designation("OP1008", day("2026-04-01")).unwrap().name,
        "上丸子 七海"
    );

    // The same inside a whole folder, and with a UTF-8 BOM.
    let dir = sample_copy();
    std::fs::copy(&cp932, dir.path().join("operators.csv")).unwrap();
    let l = Ledgers::load(dir.path()).unwrap();
    assert_eq!(sorted(&l.operators), sorted(&utf8));
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend(std::fs::read(fixtures().join("sample/operators.csv")).unwrap());
    std::fs::write(dir.path().join("operators.csv"), with_bom).unwrap();
    let l = Ledgers::load(dir.path()).unwrap();
    assert_eq!(sorted(&l.operators), sorted(&utf8));
}

#[test]
fn a_bad_cell_anywhere_refuses_the_folder() {
    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "approvals.csv",
            ",150,",
            ",15O,",
            "approvals.csv:4:6: max_records: `15O` is not a whole number ≥ 0",
        ),
        (
            "requests.csv",
            "R2026-0004,2026-04-02,EX_OFFICIO",
            "R2026-0004,2026-04-02,EXOFFICIO",
            "requests.csv:5:3: kind: `EXOFFICIO` is not one of REQUEST, APPLICATION, \
             NOTIFICATION, EX_OFFICIO",
        ),
        (
            // A quote left open swallows the rest of the file: named where it opens, not
            // as the empty cells after it.
            "requests.csv",
            "R2026-0005,2026-04-03,REQUEST,L01,",
            "R2026-0005,2026-04-03,REQUEST,\"L01,",
            "requests.csv:6:4: a quoted cell is opened here and never closed",
        ),
        (
            "rules.toml",
            "disabled_rules = []",
            "disabled_rules = []\nsession_timeout = 10",
            "rules.toml:8:1: unknown field `session_timeout`",
        ),
        (
            "calendars.toml",
            "grace_minutes = 15",
            "grace_minutes = 15\nnational_holiday = true",
            "calendars.toml:25:1: unknown field `national_holiday`",
        ),
    ];
    for (file, from, to, want) in cases {
        let dir = sample_copy();
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} must contain {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let err = Ledgers::load(dir.path()).unwrap_err().to_string();
        let prefix = format!("{}/", dir.path().display());
        let got = err.strip_prefix(&prefix).unwrap_or(&err);
        assert!(got.starts_with(want), "{file}: {got}");
    }
}
