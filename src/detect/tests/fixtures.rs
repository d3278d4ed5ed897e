//! The rule fixtures of `fixtures/rules/<rule-id>/`, judged by the engine.
//!
//! The real loaders (logs, ledgers) belong to other parts of tenken; this test reads the
//! fixtures with a deliberately small reader of its own so that the expected findings,
//! derived by hand, are checked against the engine now. Only the ledger files and
//! `rules.toml` keys the fixtures use are understood.

use std::collections::BTreeSet;
use std::path::Path;

use super::support::*;
use crate::ledger::{
    Allow, Approval, Approvals, Designation, Ledgers, Operators, RequestForm, RequestKind,
    Requests, Terminal, Terminals, WatchEntry, Watchlist,
};
use crate::model::{Op, RuleId};
use crate::time;

fn rows(path: &Path) -> Vec<csv::StringRecord> {
    if !path.exists() {
        return Vec::new();
    }
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(Result::unwrap).collect()
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn load_ledgers(dir: &Path) -> Ledgers {
    let mut l = ledgers();
    l.operators = Operators::from_rows(rows(&dir.join("operators.csv")).iter().enumerate().map(
        |(i, r)| Designation {
            operator_id: r[0].into(),
            name: r[1].into(),
            office: r[2].into(),
            from: day(&r[3]),
            until: opt(&r[4]).map(|d| day(&d)),
            business_codes: Allow::parse(&r[5]),
            terminals: Allow::parse(&r[6]),
            line: i as u64 + 2,
        },
    ));
    l.terminals = Terminals::from_rows(rows(&dir.join("terminals.csv")).iter().map(|r| Terminal {
        terminal_id: r[0].into(),
        office: r[1].into(),
        calendar: opt(&r[2]).unwrap_or_else(|| "default".into()),
    }));
    l.approvals = Approvals::from_rows(rows(&dir.join("approvals.csv")).iter().map(|r| Approval {
        approval_no: r[0].into(),
        operator_id: r[1].into(),
        business_code: (&r[2] != "*").then(|| r[2].to_owned()),
        valid_from: time::parse_timestamp(r[3].as_bytes()).unwrap(),
        valid_until: time::parse_timestamp(r[4].as_bytes()).unwrap(),
        max_records: r[5].parse().unwrap(),
        approved_by: r[6].into(),
    }));
    if dir.join("requests.csv").exists() {
        l.requests = Some(Requests::from_rows(
            rows(&dir.join("requests.csv")).iter().map(|r| RequestForm {
                request_no: r[0].into(),
                received_on: day(&r[1]),
                kind: RequestKind::parse(&r[2]).unwrap(),
                business_code: opt(&r[3]),
                target_code: opt(&r[4]),
            }),
        ));
    }
    l.watchlist = Watchlist::from_rows(rows(&dir.join("watchlist.csv")).iter().map(|r| {
        WatchEntry {
            target_code: r[0].into(),
            reason: r[1].into(),
            allowed_operators: r[2]
                .split(';')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }));
    if let Ok(text) = std::fs::read_to_string(dir.join("rules.toml")) {
        let table: toml::Table = text.parse().unwrap();
        for (key, value) in table {
            match key.as_str() {
                "browse_threshold" => l.rules.browse_threshold = value.as_integer().unwrap() as u32,
                "browse_window_minutes" => {
                    l.rules.browse_window_minutes = value.as_integer().unwrap()
                }
                "request_exempt_business_codes" => {
                    l.rules.request_exempt_business_codes = value
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_owned())
                        .collect()
                }
                other => panic!("fixture rules.toml key {other} not understood by this test"),
            }
        }
    }
    l
}

fn load_logs(path: &Path) -> Vec<E> {
    let mut r = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>().join(","),
        "event_id,timestamp,terminal_id,operator_id,auth_method,operation,business_code,\
         target_code,record_count,request_no,approval_no,ref_event_id,result,detail"
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let mut ev = e(
                &rec[0],
                "2026-01-01 00:00:00",
                Op::parse(rec[5].as_bytes()).unwrap(),
            )
            .at_ms(time::parse_timestamp(rec[1].as_bytes()).unwrap());
            ev.terminal = opt(&rec[2]);
            ev.operator = opt(&rec[3]);
            ev.business = opt(&rec[6]);
            ev.target = opt(&rec[7]);
            ev.count = if rec[8].is_empty() {
                0
            } else {
                rec[8].parse().unwrap()
            };
            ev.request = opt(&rec[9]);
            ev.approval = opt(&rec[10]);
            ev.reference = opt(&rec[11]);
            ev.result = opt(&rec[12]);
            ev.detail = opt(&rec[13]);
            ev
        })
        .collect()
}

#[test]
fn every_rule_fixture_gives_its_expected_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules");
    let mut seen = BTreeSet::new();
    for rule in RuleId::ALL {
        let dir = root.join(rule.as_str());
        assert!(dir.is_dir(), "missing fixture {}", dir.display());
        let l = load_ledgers(&dir.join("ledgers"));
        let f = run(l, &load_logs(&dir.join("logs.csv")));
        let got: BTreeSet<(String, String)> = f
            .iter()
            .map(|x| (x.rule.as_str().to_owned(), x.event_id.clone()))
            .collect();
        let expected: BTreeSet<(String, String)> = rows(&dir.join("expected.csv"))
            .iter()
            .map(|r| (r[0].to_owned(), r[1].to_owned()))
            .collect();
        assert_eq!(got, expected, "fixture {rule}");
        assert!(got.iter().any(|(r, _)| r == rule.as_str()), "{rule} fires");
        seen.insert(rule);
    }
    assert_eq!(seen.len(), 16);
}
