//! The five CSV registers of `ledgers.md`, validated row by row into the runtime types
//! of [`super::model`].
//!
//! Each reader takes the file's path, reads it with the shared [`Table`] reader (encoding,
//! header, blank lines, extra cells) and checks every cell once. Readings chosen where
//! `ledgers.md` is silent, each what a municipal reviewer would expect:
//! * identifiers (`operator_id`, `office`, `terminal_id`, `approval_no`, `request_no`,
//!   `target_code` of the watch list) must not be empty: a row nobody can refer to is a
//!   clerical slip, not an intention;
//! * `target_code` is a 住民票コード, 11 digits as in `oplog.md`. A spreadsheet that
//!   stored the column as numbers drops leading zeros; such a code would never match a
//!   log line, so it is an error that says so, not a silently dead row;
//! * `business_code` of an approval must be a code or `*`: an empty cell is not read as
//!   "any", since widening an approval by omission is the wrong way to fail;
//! * `*` in `allowed_operators` of the watch list is an error: "everyone may touch this
//!   protected record" defeats the row, and the rule engine compares operator ids;
//! * rows of one approval number or one request number may repeat (an approval per
//!   business, a form about several residents); a terminal or a watched resident may not.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::LedgerError;
use super::model::{
    Allow, Approval, Approvals, Calendars, Designation, Operators, RequestKind, Requests,
    RequestsBuilder, Terminal, Terminals, WatchEntry, Watchlist,
};
use super::table::{Plain, Row, Table, stream_plain};
use crate::time::{self, Day};

/// The columns of `operators.csv`, in order.
pub const OPERATORS_COLUMNS: &[&str] = &[
    "operator_id",
    "name",
    "office",
    "designated_from",
    "designated_until",
    "business_codes",
    "terminals",
];
/// The columns of `terminals.csv`, in order.
pub const TERMINALS_COLUMNS: &[&str] = &["terminal_id", "office", "calendar"];
/// The columns of `approvals.csv`, in order.
pub const APPROVALS_COLUMNS: &[&str] = &[
    "approval_no",
    "operator_id",
    "business_code",
    "valid_from",
    "valid_until",
    "max_records",
    "approved_by",
];
/// The columns of `requests.csv`, in order.
pub const REQUESTS_COLUMNS: &[&str] = &[
    "request_no",
    "received_on",
    "kind",
    "business_code",
    "target_code",
];
/// The columns of `watchlist.csv`, in order.
pub const WATCHLIST_COLUMNS: &[&str] = &["target_code", "reason", "allowed_operators"];

/// Reads `operators.csv` (操作者指定簿).
///
/// Two rows of one operator whose periods overlap are an error naming both lines:
/// `ledgers.md` speaks of *the* row that applies on a day, so a day covered twice would
/// make the operator's scope depend on row order.
pub fn read_operators(path: &Path) -> Result<Operators, LedgerError> {
    let table = Table::read(path, OPERATORS_COLUMNS)?;
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let from = table.day(row, 3)?;
        let until = match row.cell(4) {
            "" => None,
            _ => Some(table.day(row, 4)?),
        };
        if let Some(u) = until
            && u < from
        {
            return Err(table.bad(
                row,
                4,
                &format!("is before designated_from `{}`", row.cell(3)),
            ));
        }
        rows.push(Designation {
            operator_id: table.required(row, 0)?.to_owned(),
            name: row.cell(1).to_owned(),
            office: table.required(row, 2)?.to_owned(),
            from,
            until,
            business_codes: Allow::parse(row.cell(5)),
            terminals: Allow::parse(row.cell(6)),
            line: row.line,
        });
    }
    check_overlaps(&table, &rows)?;
    Ok(Operators::from_rows(rows))
}

fn period(from: Day, until: Option<Day>) -> String {
    format!(
        "{}..{}",
        time::format_day(from),
        until.map_or_else(|| "(open)".to_owned(), time::format_day)
    )
}

fn check_overlaps(table: &Table, rows: &[Designation]) -> Result<(), LedgerError> {
    let mut by_id: HashMap<&str, Vec<&Designation>> = HashMap::new();
    for r in rows {
        by_id.entry(&r.operator_id).or_default().push(r);
    }
    let mut found: Option<(&Designation, &Designation)> = None;
    for list in by_id.values_mut() {
        list.sort_by_key(|r| (r.from, r.line));
        // Sorted by start, any overlap shows between neighbours: if rows i < j overlap,
        // row i reaches row j's start, hence row i+1's start too.
        for pair in list.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.until.is_none_or(|u| u >= b.from) {
                // Report the overlap whose later line comes first in the file, so the
                // message does not depend on hash order.
                let (first, second) = if a.line < b.line { (a, b) } else { (b, a) };
                if found.is_none_or(|(_, s)| second.line < s.line) {
                    found = Some((first, second));
                }
            }
        }
    }
    match found {
        None => Ok(()),
        Some((first, second)) => Err(table.error(
            second.line,
            3,
            format!(
                "operator `{}`: designation {} overlaps the one at line {} ({}); \
                 the periods of one operator must not overlap",
                second.operator_id,
                period(second.from, second.until),
                first.line,
                period(first.from, first.until),
            ),
        )),
    }
}

/// Reads `terminals.csv`. An empty `calendar` is `default`; a calendar `calendars`
/// does not define is an error on the terminal's line.
pub fn read_terminals(path: &Path, calendars: &Calendars) -> Result<Terminals, LedgerError> {
    let table = Table::read(path, TERMINALS_COLUMNS)?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let id = table.required(row, 0)?;
        if let Some(first) = seen.get(id) {
            return Err(table.error(
                row.line,
                0,
                format!("terminal `{id}` is listed twice (first at line {first})"),
            ));
        }
        seen.insert(id.to_owned(), row.line);
        let office = table.required(row, 1)?;
        let calendar = match row.cell(2) {
            "" => "default",
            name => name,
        };
        if calendars.get(calendar).is_none() {
            let defined: Vec<&str> = calendars.names().collect();
            return Err(table.bad(
                row,
                2,
                &format!(
                    "is not defined in calendars.toml (defined: {})",
                    defined.join(", ")
                ),
            ));
        }
        rows.push(Terminal {
            terminal_id: id.to_owned(),
            office: office.to_owned(),
            calendar: calendar.to_owned(),
        });
    }
    Ok(Terminals::from_rows(rows))
}

/// A `valid_from`/`valid_until` cell: a timestamp as in `oplog.md`, or a bare date that
/// stands for its first (`end == false`) or last millisecond in Japan Standard Time.
fn instant(s: &str, end: bool) -> Option<i64> {
    if let Some(ms) = time::parse_timestamp(s.as_bytes()) {
        return Some(ms);
    }
    let day = time::parse_day(s)?;
    Some(if end {
        time::jst_midnight(day + 1) - 1
    } else {
        time::jst_midnight(day)
    })
}

/// Reads `approvals.csv` (大量出力承認簿).
pub fn read_approvals(path: &Path) -> Result<Approvals, LedgerError> {
    const WHEN: &str = "is neither a date-time (2026-04-01T08:30:00+09:00, \
                        2026/04/01 08:30:00) nor a date (2026-04-01)";
    let table = Table::read(path, APPROVALS_COLUMNS)?;
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let approval_no = table.required(row, 0)?;
        let operator_id = table.required(row, 1)?;
        let business_code = match table.required(row, 2)? {
            "*" => None,
            code => Some(code.to_owned()),
        };
        let valid_from =
            instant(table.required(row, 3)?, false).ok_or_else(|| table.bad(row, 3, WHEN))?;
        let valid_until =
            instant(table.required(row, 4)?, true).ok_or_else(|| table.bad(row, 4, WHEN))?;
        if valid_until < valid_from {
            return Err(table.bad(row, 4, &format!("is before valid_from `{}`", row.cell(3))));
        }
        let max_records = table
            .required(row, 5)?
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| table.bad(row, 5, "is not a whole number ≥ 0"))?;
        rows.push(Approval {
            approval_no: approval_no.to_owned(),
            operator_id: operator_id.to_owned(),
            business_code,
            valid_from,
            valid_until,
            max_records,
            approved_by: row.cell(6).to_owned(),
        });
    }
    Ok(Approvals::from_rows(rows))
}

/// Whether `s` is a 住民票コード as `oplog.md` writes it: exactly 11 ASCII digits.
fn is_resident_code(s: &str) -> bool {
    s.len() == 11 && s.bytes().all(|b| b.is_ascii_digit())
}

const RESIDENT_CODE: &str = "is not an 11-digit 住民票コード (if leading zeros are \
                             missing, store the column as text in the spreadsheet)";

/// Reads `requests.csv` (帳票等管理台帳).
///
/// A register as spreadsheets export it (plain ASCII, no quotes) is read in blocks by
/// [`stream_plain`]; anything else, and any register with an error, is read again by the
/// full reader, which decodes CP932 and names the line and column of the error.
pub fn read_requests(path: &Path) -> Result<Requests, LedgerError> {
    // A register row is rarely under 48 bytes (`R2026-0000001,2026-04-01,REQUEST,W01,…`).
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    let capacity = (bytes / 48) as usize;
    let mut rows = RequestsBuilder::with_capacity(capacity);
    // Consecutive rows are mostly received on one day: parse each date text once.
    let (mut last_text, mut last_day) = (String::new(), None);
    let plain = stream_plain(path, REQUESTS_COLUMNS, |cells| {
        let [request_no, received_on, kind, _, target_code] = cells else {
            return false;
        };
        if request_no.is_empty() || RequestKind::parse(kind).is_none() {
            return false;
        }
        let day = match last_day {
            Some(day) if last_text == *received_on => day,
            _ => {
                let Some(day) = time::parse_day(received_on) else {
                    return false;
                };
                last_text.clear();
                last_text.push_str(received_on);
                last_day = Some(day);
                day
            }
        };
        let target_code = match *target_code {
            "" => None,
            t if is_resident_code(t) => Some(t),
            _ => return false,
        };
        rows.push(request_no, day, target_code);
        true
    });
    if plain == Plain::Declined {
        // The rows read so far go first: the full reader needs the room.
        drop(rows);
        rows = read_requests_exactly(path, capacity)?;
    }
    Ok(rows.build())
}

/// Reads `requests.csv` with the full reader: any encoding, quoting, and errors that
/// name the cell.
fn read_requests_exactly(path: &Path, capacity: usize) -> Result<RequestsBuilder, LedgerError> {
    let mut rows = RequestsBuilder::with_capacity(capacity);
    Table::stream(path, REQUESTS_COLUMNS, |table, row| {
        let request_no = table.required(row, 0)?;
        let received_on = table.day(row, 1)?;
        // Checked, not kept: no rule asks about the kind of form.
        RequestKind::parse(table.required(row, 2)?).ok_or_else(|| {
            table.bad(
                row,
                2,
                "is not one of REQUEST, APPLICATION, NOTIFICATION, EX_OFFICIO",
            )
        })?;
        let target_code = match row.cell(4) {
            "" => None,
            t if is_resident_code(t) => Some(t),
            _ => return Err(table.bad(row, 4, RESIDENT_CODE)),
        };
        rows.push(request_no, received_on, target_code);
        Ok(())
    })?;
    Ok(rows)
}

/// Reads `watchlist.csv` (支援措置対象者等).
pub fn read_watchlist(path: &Path) -> Result<Watchlist, LedgerError> {
    let table = Table::read(path, WATCHLIST_COLUMNS)?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rows = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let target = table.required(row, 0)?;
        if !is_resident_code(target) {
            return Err(table.bad(row, 0, RESIDENT_CODE));
        }
        if let Some(first) = seen.get(target) {
            return Err(table.error(
                row.line,
                0,
                format!("resident `{target}` is listed twice (first at line {first})"),
            ));
        }
        seen.insert(target.to_owned(), row.line);
        rows.push(WatchEntry {
            target_code: target.to_owned(),
            reason: row.cell(1).to_owned(),
            allowed_operators: allowed_operators(&table, row)?,
        });
    }
    Ok(Watchlist::from_rows(rows))
}

fn allowed_operators(table: &Table, row: &Row) -> Result<BTreeSet<String>, LedgerError> {
    let mut set = BTreeSet::new();
    for op in row
        .cell(2)
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if op == "*" {
            return Err(table.bad(
                row,
                2,
                "may not contain `*`: list the operators who may touch this protected record",
            ));
        }
        set.insert(op.to_owned());
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::model::Calendar;

    struct Dir(tempfile::TempDir);

    impl Dir {
        fn new() -> Dir {
            Dir(tempfile::tempdir().unwrap())
        }

        fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
            let p = self.0.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        }
    }

    fn day(s: &str) -> Day {
        time::parse_day(s).unwrap()
    }

    /// The error message without the temp-dir prefix: `name:line:col: message`.
    fn err_at(p: &Path, e: LedgerError) -> String {
        let s = e.to_string();
        let dir = format!("{}/", p.parent().unwrap().display());
        s.strip_prefix(&dir).map(str::to_owned).unwrap_or(s)
    }

    const OPS_HEADER: &str =
        "operator_id,name,office,designated_from,designated_until,business_codes,terminals\n";

    #[test]
    fn operators_happy_path() {
        let d = Dir::new();
        let p = d.write(
            "operators.csv",
            &format!(
                "{OPS_HEADER}A1,山田,KW01,2025-04-01,2026-03-31,W01;W02,T1;T2\n\
                 A1,山田,KW02,2026-04-01,,*,*\n\
                 B2,,KW01,2024/4/1,,,\n"
            ),
        );
        let ops = read_operators(&p).unwrap();
        assert_eq!(ops.len(), 2);
        let a = ops.designation("A1", day("2026-03-31")).unwrap();
        assert_eq!((a.office.as_str(), a.line), ("KW01", 2));
        assert!(a.business_codes.allows(Some("W02")));
        assert!(!a.terminals.allows(Some("T3")));
        let a = ops.designation("A1", day("2026-04-01")).unwrap();
        assert_eq!((a.office.as_str(), a.line), ("KW02", 3));
        assert!(a.terminals.is_any());
        assert!(ops.designation("A1", day("2025-03-31")).is_none());
        let b = ops.designation("B2", day("2030-01-01")).unwrap();
        assert_eq!(b.business_codes, Allow::Only(BTreeSet::new()));
    }

    #[test]
    fn operator_cell_errors() {
        let d = Dir::new();
        for (row, want) in [
            (
                "A1,山田,KW01,2025-02-30,,*,*",
                "operators.csv:2:4: designated_from: `2025-02-30` is not a date (YYYY-MM-DD)",
            ),
            (
                "A1,山田,KW01,2025-04-01,2025-03-31,*,*",
                "operators.csv:2:5: designated_until: `2025-03-31` is before designated_from `2025-04-01`",
            ),
            (
                "A1,山田,,2025-04-01,,*,*",
                "operators.csv:2:3: office: empty (a value is required)",
            ),
            (
                ",山田,KW01,2025-04-01,,*,*",
                "operators.csv:2:1: operator_id: empty (a value is required)",
            ),
            (
                "A1,山田,KW01,2025-04-01,,*,*,,oops",
                "operators.csv:2:9: unexpected value `oops` after the last column `terminals` (7 columns expected)",
            ),
        ] {
            let p = d.write("operators.csv", &format!("{OPS_HEADER}{row}\n"));
            assert_eq!(err_at(&p, read_operators(&p).unwrap_err()), want);
        }
    }

    #[test]
    fn overlapping_designations_name_both_lines() {
        let d = Dir::new();
        let p = d.write(
            "operators.csv",
            &format!(
                "{OPS_HEADER}A1,山田,KW02,2026-04-01,,*,*\n\
                 B2,佐藤,KW01,2020-04-01,,*,*\n\
                 A1,山田,KW01,2025-04-01,2026-04-01,*,*\n"
            ),
        );
        assert_eq!(
            err_at(&p, read_operators(&p).unwrap_err()),
            "operators.csv:4:4: operator `A1`: designation 2025-04-01..2026-04-01 overlaps \
             the one at line 2 (2026-04-01..(open)); the periods of one operator must not overlap"
        );
        // Back to back is fine.
        let p = d.write(
            "operators.csv",
            &format!(
                "{OPS_HEADER}A1,山田,KW02,2026-04-01,,*,*\n\
                 A1,山田,KW01,2025-04-01,2026-03-31,*,*\n"
            ),
        );
        assert!(read_operators(&p).is_ok());
    }

    fn calendars() -> Calendars {
        let mut branch = Calendar::builtin_default();
        branch.name = "branch".into();
        Calendars::new([branch], Default::default())
    }

    #[test]
    fn terminals_happy_path_and_errors() {
        let d = Dir::new();
        let p = d.write(
            "terminals.csv",
            "terminal_id,office,calendar\nT1,KW01,\nT2,KW02,branch\nT3,KW01\n",
        );
        let t = read_terminals(&p, &calendars()).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.get("T1").unwrap().calendar, "default");
        assert_eq!(t.get("T2").unwrap().calendar, "branch");
        assert_eq!(t.get("T3").unwrap().calendar, "default");

        let p = d.write(
            "terminals.csv",
            "terminal_id,office,calendar\nT1,KW01,\nT1,KW02,branch\n",
        );
        assert_eq!(
            err_at(&p, read_terminals(&p, &calendars()).unwrap_err()),
            "terminals.csv:3:1: terminal `T1` is listed twice (first at line 2)"
        );
        let p = d.write(
            "terminals.csv",
            "terminal_id,office,calendar\nT1,KW01,night\n",
        );
        assert_eq!(
            err_at(&p, read_terminals(&p, &calendars()).unwrap_err()),
            "terminals.csv:2:3: calendar: `night` is not defined in calendars.toml \
             (defined: branch, default)"
        );
    }

    const APV_HEADER: &str =
        "approval_no,operator_id,business_code,valid_from,valid_until,max_records,approved_by\n";

    #[test]
    fn approvals_happy_path() {
        let d = Dir::new();
        let p = d.write(
            "approvals.csv",
            &format!(
                "{APV_HEADER}AP1,A1,*,2026-04-01,2026-04-02,100,課長\n\
                 AP2,A1,L01,2026-04-01T09:00:00+09:00,2026/04/01 10:00:00,0,\n"
            ),
        );
        let a = read_approvals(&p).unwrap();
        assert_eq!(a.len(), 2);
        let ts = |s: &str| time::parse_timestamp(s.as_bytes()).unwrap();
        // A bare date covers the whole of both days in JST.
        let first = ts("2026-04-01T00:00:00.000+09:00");
        let last = ts("2026-04-02T23:59:59.999+09:00");
        assert!(a.covers(Some("AP1"), Some("A1"), None, first, 100));
        assert!(a.covers(Some("AP1"), Some("A1"), Some("W01"), last, 1));
        assert!(!a.covers(Some("AP1"), Some("A1"), None, first - 1, 1));
        assert!(!a.covers(Some("AP1"), Some("A1"), None, last + 1, 1));
        assert!(!a.covers(Some("AP1"), Some("A1"), None, first, 101));
        let t = ts("2026-04-01T10:00:00+09:00");
        assert!(a.covers(Some("AP2"), Some("A1"), Some("L01"), t, 0));
        assert!(!a.covers(Some("AP2"), Some("A1"), Some("L02"), t, 0));
        assert!(!a.covers(Some("AP2"), Some("A1"), Some("L01"), t + 1, 0));
    }

    #[test]
    fn approval_cell_errors() {
        let d = Dir::new();
        for (row, want) in [
            (
                "AP1,A1,*,2026-04-01,2026-03-31,100,x",
                "approvals.csv:2:5: valid_until: `2026-03-31` is before valid_from `2026-04-01`",
            ),
            (
                "AP1,A1,*,2026-04-01 9:00,2026-04-02,100,x",
                "approvals.csv:2:4: valid_from: `2026-04-01 9:00` is neither a date-time \
                 (2026-04-01T08:30:00+09:00, 2026/04/01 08:30:00) nor a date (2026-04-01)",
            ),
            (
                "AP1,A1,*,2026-04-01,2026-04-02,-1,x",
                "approvals.csv:2:6: max_records: `-1` is not a whole number ≥ 0",
            ),
            (
                "AP1,A1,*,2026-04-01,2026-04-02,1.5,x",
                "approvals.csv:2:6: max_records: `1.5` is not a whole number ≥ 0",
            ),
            (
                "AP1,A1,,2026-04-01,2026-04-02,1,x",
                "approvals.csv:2:3: business_code: empty (a value is required)",
            ),
        ] {
            let p = d.write("approvals.csv", &format!("{APV_HEADER}{row}\n"));
            assert_eq!(err_at(&p, read_approvals(&p).unwrap_err()), want);
        }
    }

    const REQ_HEADER: &str = "request_no,received_on,kind,business_code,target_code\n";

    #[test]
    fn requests_happy_path_and_errors() {
        let d = Dir::new();
        let p = d.write(
            "requests.csv",
            &format!(
                "{REQ_HEADER}R1,2026-04-01,REQUEST,W01,01234567890\n\
                 R1,2026-04-01,REQUEST,W01,01234567891\n\
                 R2,2026-04-02,EX_OFFICIO,,\n"
            ),
        );
        let r = read_requests(&p).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            r.check("R1", Some("01234567891"), day("2026-04-01")),
            Ok(())
        );
        assert_eq!(
            r.check("R2", Some("99999999999"), day("2026-04-02")),
            Ok(())
        );

        for (row, want) in [
            (
                "R1,2026-04-01,request,W01,",
                "requests.csv:2:3: kind: `request` is not one of REQUEST, APPLICATION, \
                 NOTIFICATION, EX_OFFICIO",
            ),
            (
                "R1,1.4.2026,REQUEST,W01,",
                "requests.csv:2:2: received_on: `1.4.2026` is not a date (YYYY-MM-DD)",
            ),
            (
                "R1,2026-04-01,REQUEST,W01,1234567890",
                "requests.csv:2:5: target_code: `1234567890` is not an 11-digit 住民票コード \
                 (if leading zeros are missing, store the column as text in the spreadsheet)",
            ),
        ] {
            let p = d.write("requests.csv", &format!("{REQ_HEADER}{row}\n"));
            assert_eq!(err_at(&p, read_requests(&p).unwrap_err()), want);
        }
    }

    /// Every answer `check` can give about numbers `R0`…`R4` and a few residents and days.
    fn answers(r: &Requests) -> Vec<Result<(), crate::ledger::RequestMismatch>> {
        let mut out = Vec::new();
        for no in ["R0", "R1", "R2", "R3", "R4", "R 5"] {
            for target in [None, Some("01234567890"), Some("01234567891")] {
                for d in ["2026-03-31", "2026-04-01", "2026-04-02", "2026-04-03"] {
                    out.push(r.check(no, target, day(d)));
                }
            }
        }
        out
    }

    /// Reads `text` as `requests.csv` both ways; the two registers must agree.
    fn read_both(d: &Dir, text: &str) -> (Plain, Requests) {
        let p = d.write("requests.csv", text);
        let plain = stream_plain(&p, REQUESTS_COLUMNS, |_| true);
        let fast = read_requests(&p).unwrap();
        let exact = read_requests_exactly(&p, 0).unwrap().build();
        assert_eq!(fast.len(), exact.len());
        assert_eq!(answers(&fast), answers(&exact));
        (plain, fast)
    }

    #[test]
    fn plain_requests_read_as_the_full_reader_reads_them() {
        let d = Dir::new();
        let rows = "R1,2026-04-01,REQUEST,W01,01234567890\n\
                    \n\
                    ,, ,,\n\
                    R2 , 2026/4/2 ,EX_OFFICIO,,,,\n\
                    R 5,2026-04-02,NOTIFICATION,W01\n\
                    R3,2026-04-03,APPLICATION,W01,01234567891\n";
        let lf = format!("{REQ_HEADER}{rows}");
        let (plain, r) = read_both(&d, &lf);
        assert_eq!(plain, Plain::Done);
        assert_eq!(r.len(), 4);
        assert_eq!(
            r.check("R2", Some("01234567891"), day("2026-04-02")),
            Ok(())
        );
        assert_eq!(r.check("R 5", None, day("2026-04-02")), Ok(()));

        // CRLF line ends, a BOM, no line break at the end.
        let crlf = format!("\u{feff}{REQ_HEADER}{rows}").replace('\n', "\r\n");
        let crlf = crlf.strip_suffix("\r\n").unwrap();
        let (plain, r2) = read_both(&d, crlf);
        assert_eq!(plain, Plain::Done);
        assert_eq!(answers(&r), answers(&r2));

        // Quotes are left to the full reader, which still reads the file.
        let quoted = format!("{REQ_HEADER}\"R1\",2026-04-01,REQUEST,\"W,01\",01234567890\n{rows}");
        let (plain, r3) = read_both(&d, &quoted);
        assert_eq!(plain, Plain::Declined);
        assert_eq!(r3.len(), 5);
        // So is a register in CP932 (ＡＢ is 82 60 82 61).
        let p = d.write("requests.csv", "");
        std::fs::write(
            &p,
            [
                REQ_HEADER.as_bytes(),
                b"\x82\x60\x82\x61,2026-04-01,REQUEST,W01,\n",
            ]
            .concat(),
        )
        .unwrap();
        assert_eq!(
            stream_plain(&p, REQUESTS_COLUMNS, |_| true),
            Plain::Declined
        );
        let r4 = read_requests(&p).unwrap();
        assert_eq!(r4.check("ＡＢ", None, day("2026-04-01")), Ok(()));
    }

    #[test]
    fn plain_requests_span_blocks() {
        let d = Dir::new();
        // More than one block of rows, and one number longer than a block.
        let mut text = String::from(REQ_HEADER);
        for i in 0..40_000 {
            text.push_str(&format!("N{i},2026-04-01,REQUEST,W01,{i:011}\n"));
        }
        let long = "L".repeat(3 << 20);
        text.push_str(&format!("{long},2026-04-02,REQUEST,W01,\n"));
        let p = d.write("requests.csv", &text);
        let mut seen = 0;
        assert_eq!(
            stream_plain(&p, REQUESTS_COLUMNS, |_| {
                seen += 1;
                true
            }),
            Plain::Done
        );
        assert_eq!(seen, 40_001);
        let r = read_requests(&p).unwrap();
        assert_eq!(r.len(), 40_001);
        for i in [0, 1, 29_999, 39_999] {
            let code = format!("{i:011}");
            assert_eq!(
                r.check(&format!("N{i}"), Some(&code), day("2026-04-01")),
                Ok(())
            );
        }
        assert_eq!(r.check(&long, None, day("2026-04-02")), Ok(()));
        assert_eq!(
            r.check(&long[1..], None, day("2026-04-02")),
            Err(crate::ledger::RequestMismatch::NotInRegister)
        );
    }

    #[test]
    fn plain_reader_declines_a_lone_carriage_return_and_keeps_each_prefix() {
        use crate::ledger::RequestMismatch::{NotInRegister, ReceivedLater};
        let d = Dir::new();
        // A `\r` inside a cell, in the middle of the line or in its last cell.
        for rows in [
            "R1,2026-04-01,REQ\rUEST,W01,\r\n",
            "R1,2026-04-01,REQUEST,W01,0123\r4567890\r\n",
        ] {
            let p = d.write("requests.csv", &format!("{REQ_HEADER}{rows}"));
            assert_eq!(
                stream_plain(&p, REQUESTS_COLUMNS, |_| true),
                Plain::Declined,
                "{rows:?}"
            );
        }
        // Prefixes that alternate and come back each keep their own numbers.
        let (plain, r) = read_both(
            &d,
            &format!(
                "{REQ_HEADER}A-1,2026-04-01,REQUEST,W01,\n\
                 B-1,2026-04-02,REQUEST,W01,\n\
                 A-2,2026-04-03,REQUEST,W01,\n\
                 A-3,2026-04-01,REQUEST,W01,\n\
                 B-2,2026-04-01,REQUEST,W01,\n"
            ),
        );
        assert_eq!(plain, Plain::Done);
        assert_eq!(r.check("A-1", None, day("2026-04-01")), Ok(()));
        assert_eq!(
            r.check("B-1", None, day("2026-04-01")),
            Err(ReceivedLater {
                received_on: day("2026-04-02")
            })
        );
        assert_eq!(
            r.check("A-2", None, day("2026-04-02")),
            Err(ReceivedLater {
                received_on: day("2026-04-03")
            })
        );
        assert_eq!(r.check("A-3", None, day("2026-04-01")), Ok(()));
        assert_eq!(r.check("B-2", None, day("2026-04-01")), Ok(()));
        assert_eq!(r.check("B-3", None, day("2026-04-09")), Err(NotInRegister));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Whatever a register holds, the block reader either gives up or reads what the
        /// full reader reads, and a register the full reader rejects is rejected with the
        /// same message. Most rows are well formed (so that whole registers often are);
        /// the others may hold `\r` inside a cell, quotes, bad values or extra cells, and
        /// lines end in `\n`, `\r\n`, a blank line, a lone `\r` or nothing.
        #[test]
        fn plain_reader_reads_as_the_full_reader_or_declines(
            rows in proptest::collection::vec(
                (
                    proptest::bool::weighted(0.85),
                    proptest::array::uniform7(0..16usize),
                    3..8usize,
                    proptest::sample::select(vec!["\n", "\n", "\r\n", "\n\n", "\r", ""]),
                ),
                0..8,
            ),
        ) {
            let mut text = String::from(REQ_HEADER);
            for (clean, picks, width, end) in &rows {
                let width = if *clean { (*width).clamp(4, 6) } else { *width };
                let line: Vec<&str> = (0..width)
                    .map(|c| {
                        let (good, odd) = REGISTER_CELLS[c.min(5)];
                        let k = picks[c];
                        match (k % (good.len() + odd.len())).checked_sub(good.len()) {
                            Some(j) if !*clean => odd[j],
                            _ => good[k % good.len()],
                        }
                    })
                    .collect();
                text.push_str(&line.join(","));
                text.push_str(end);
            }
            let d = Dir::new();
            let p = d.write("requests.csv", &text);
            let fast = read_requests(&p);
            let exact = read_requests_exactly(&p, 0).map(RequestsBuilder::build);
            match (fast, exact) {
                (Ok(fast), Ok(exact)) => {
                    proptest::prop_assert_eq!(fast.len(), exact.len());
                    proptest::prop_assert_eq!(answers(&fast), answers(&exact));
                }
                (Err(fast), Err(exact)) => {
                    proptest::prop_assert_eq!(fast.to_string(), exact.to_string());
                }
                (fast, exact) => proptest::prop_assert!(
                    false,
                    "{text:?}: plain {:?}, full {:?}",
                    fast.map(|r| r.len()),
                    exact.map(|r| r.len())
                ),
            }
        }
    }

    /// For each column of `requests.csv` (the sixth stands for any cell after the last),
    /// values the register accepts and values it does not or that the block reader must
    /// leave to the full reader.
    const REGISTER_CELLS: [(&[&str], &[&str]); 6] = [
        (&["R1", "R2", "R 5", " R3 ", "R0"], &["a\rb", "\"R4\"", ""]),
        (
            &["2026-04-01", "2026/4/2", " 2026-04-03"],
            &["2026-02-30", "a\rb", ""],
        ),
        (&["REQUEST", "EX_OFFICIO", "NOTIFICATION"], &["request"]),
        (&["W01", "", "Z01"], &["a\rb", "\"W,01\""]),
        (
            &["01234567890", "01234567891", "", " 01234567890"],
            &["123", "a\rb"],
        ),
        (&["", " "], &["x"]),
    ];

    #[test]
    fn plain_register_errors_are_the_full_readers() {
        let d = Dir::new();
        for (rows, want) in [
            (
                "R1,2026-04-01,REQUEST,W01,\r\nR2,2026-02-30,REQUEST,W01,\r\n",
                "requests.csv:3:2: received_on: `2026-02-30` is not a date (YYYY-MM-DD)",
            ),
            (
                "R1,2026-04-01,REQUEST,W01,\nR1,,REQUEST,W01,\n",
                "requests.csv:3:2: received_on: empty (a value is required)",
            ),
            (
                "\n\nR1,2026-04-01,REQUEST,W01,,x\n",
                "requests.csv:4:6: unexpected value `x` after the last column `target_code` \
                 (5 columns expected)",
            ),
        ] {
            let p = d.write("requests.csv", &format!("{REQ_HEADER}{rows}"));
            assert_eq!(err_at(&p, read_requests(&p).unwrap_err()), want);
        }
        let p = d.write("requests.csv", "request_no,received_on,kind,target_code\n");
        assert_eq!(
            err_at(&p, read_requests(&p).unwrap_err()),
            "requests.csv:1:4: header: expected \
             `request_no,received_on,kind,business_code,target_code`, \
             found `request_no,received_on,kind,target_code`"
        );
        let p = d.write("requests.csv", "\r\n");
        assert!(
            read_requests(&p)
                .unwrap_err()
                .to_string()
                .contains("the file is empty")
        );
    }

    #[test]
    fn repeated_request_numbers_answer_by_the_nearest_miss_in_any_order() {
        use crate::ledger::RequestMismatch::{OtherResident, ReceivedLater};
        // R1 and R2: one form about another resident, one about 01234567890 received late,
        // in both orders; R3: two late forms about him; R4: only other residents' forms.
        let rows = [
            "R1,2026-04-01,REQUEST,W01,01234567891",
            "R2,2026-04-03,REQUEST,W01,01234567890",
            "R1,2026-04-03,REQUEST,W01,01234567890",
            "R2,2026-04-01,REQUEST,W01,01234567891",
            "R1,2026-04-03,REQUEST,W01,01234567892",
            "R3,2026-04-05,REQUEST,W01,01234567890",
            "R4,2026-04-01,REQUEST,W01,01234567891",
            "R3,2026-04-04,REQUEST,W01,01234567890",
            "R4,2026-04-01,REQUEST,W01,01234567892",
        ];
        let him = Some("01234567890");
        let late = |d: &str| {
            Err(ReceivedLater {
                received_on: day(d),
            })
        };
        for reversed in [false, true] {
            let d = Dir::new();
            let mut lines = rows.to_vec();
            if reversed {
                lines.reverse();
            }
            let (plain, r) = read_both(&d, &format!("{REQ_HEADER}{}\n", lines.join("\n")));
            assert_eq!(plain, Plain::Done);
            let on = day("2026-04-02");
            assert_eq!(r.check("R1", him, on), late("2026-04-03"), "{reversed}");
            assert_eq!(r.check("R2", him, on), late("2026-04-03"), "{reversed}");
            assert_eq!(r.check("R3", him, on), late("2026-04-04"), "{reversed}");
            assert_eq!(r.check("R4", him, on), Err(OtherResident), "{reversed}");
            // Any row that explains the access explains it.
            assert_eq!(r.check("R1", him, day("2026-04-03")), Ok(()));
            assert_eq!(r.check("R2", Some("01234567891"), on), Ok(()));
            assert_eq!(r.check("R3", him, day("2026-04-04")), Ok(()));
            assert_eq!(r.check("R4", Some("01234567892"), on), Ok(()));
        }
    }

    #[test]
    fn watchlist_happy_path_and_errors() {
        let d = Dir::new();
        let p = d.write(
            "watchlist.csv",
            "target_code,reason,allowed_operators\n\
             01234567890,DV等支援措置,A1; B2\n\
             11111111111,職員,\n",
        );
        let w = read_watchlist(&p).unwrap();
        assert_eq!(w.len(), 2);
        let e = w.get("01234567890").unwrap();
        assert_eq!(
            e.allowed_operators,
            ["A1", "B2"].map(str::to_owned).into_iter().collect()
        );
        assert!(w.get("11111111111").unwrap().allowed_operators.is_empty());

        for (rows, want) in [
            (
                "01234567890,DV,A1\n01234567890,職員,\n",
                "watchlist.csv:3:1: resident `01234567890` is listed twice (first at line 2)",
            ),
            (
                "01234567890,DV,A1;*\n",
                "watchlist.csv:2:3: allowed_operators: `A1;*` may not contain `*`: \
                 list the operators who may touch this protected record",
            ),
            (
                "1234567890,DV,\n",
                "watchlist.csv:2:1: target_code: `1234567890` is not an 11-digit 住民票コード \
                 (if leading zeros are missing, store the column as text in the spreadsheet)",
            ),
        ] {
            let p = d.write(
                "watchlist.csv",
                &format!("target_code,reason,allowed_operators\n{rows}"),
            );
            assert_eq!(err_at(&p, read_watchlist(&p).unwrap_err()), want);
        }
    }
}
