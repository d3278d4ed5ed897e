//! Test helpers: events and ledgers built in code.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::RecordBatch;

use crate::detect::Detector;
use crate::findings::Finding;
use crate::ledger::{
    Allow, Approval, Approvals, Calendar, Calendars, Designation, Holidays, Ledgers, Operators,
    RequestForm, RequestKind, Requests, RulesConfig, Terminal, Terminals, WatchEntry, Watchlist,
};
use crate::model::{Op, RuleId};
use crate::normalize::{EventRow, batch_from_rows};
use crate::time::{self, Day};

/// An instant from `YYYY-MM-DD HH:MM:SS[.fff]` in Japan Standard Time.
pub fn at(s: &str) -> i64 {
    time::parse_timestamp(s.as_bytes()).unwrap_or_else(|| panic!("bad test time {s}"))
}

pub fn day(s: &str) -> Day {
    time::parse_day(s).unwrap_or_else(|| panic!("bad test day {s}"))
}

/// One event; defaults keep every ledger rule quiet: OP1 on T1, OK, business W01,
/// request R1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E {
    pub id: String,
    pub ts: i64,
    pub op: Op,
    pub operator: Option<String>,
    pub terminal: Option<String>,
    pub result: Option<String>,
    pub business: Option<String>,
    pub target: Option<String>,
    pub count: i64,
    pub request: Option<String>,
    pub approval: Option<String>,
    pub reference: Option<String>,
    pub detail: Option<String>,
}

pub fn e(id: &str, when: &str, op: Op) -> E {
    E {
        id: id.into(),
        ts: at(when),
        op,
        operator: Some("OP1".into()),
        terminal: Some("T1".into()),
        result: Some("OK".into()),
        business: Some("W01".into()),
        target: None,
        count: 0,
        request: Some("R1".into()),
        approval: None,
        reference: None,
        detail: None,
    }
}

impl E {
    pub fn by(mut self, operator: &str) -> E {
        self.operator = Some(operator.into());
        self
    }
    pub fn no_operator(mut self) -> E {
        self.operator = None;
        self
    }
    pub fn on(mut self, terminal: &str) -> E {
        self.terminal = Some(terminal.into());
        self
    }
    pub fn res(mut self, r: &str) -> E {
        self.result = Some(r.into());
        self
    }
    pub fn biz(mut self, b: Option<&str>) -> E {
        self.business = b.map(Into::into);
        self
    }
    pub fn target(mut self, t: &str) -> E {
        self.target = Some(t.into());
        self
    }
    pub fn count(mut self, n: i64) -> E {
        self.count = n;
        self
    }
    pub fn req(mut self, r: Option<&str>) -> E {
        self.request = r.map(Into::into);
        self
    }
    pub fn apv(mut self, a: &str) -> E {
        self.approval = Some(a.into());
        self
    }
    pub fn refs(mut self, id: &str) -> E {
        self.reference = Some(id.into());
        self
    }
    pub fn at_ms(mut self, ts: i64) -> E {
        self.ts = ts;
        self
    }

    pub fn row(&self) -> EventRow<'_> {
        EventRow {
            terminal_id: self.terminal.as_deref(),
            operator_id: self.operator.as_deref(),
            business_code: self.business.as_deref(),
            target_code: self.target.as_deref(),
            record_count: self.count,
            request_no: self.request.as_deref(),
            approval_no: self.approval.as_deref(),
            ref_event_id: self.reference.as_deref(),
            result: self.result.as_deref(),
            detail: self.detail.as_deref(),
            ..EventRow::new(&self.id, self.ts, self.op)
        }
    }
}

pub fn designation(operator: &str, office: &str, from: &str, until: Option<&str>) -> Designation {
    Designation {
        operator_id: operator.into(),
        name: format!("name of {operator}"),
        office: office.into(),
        from: day(from),
        until: until.map(day),
        business_codes: Allow::Any,
        terminals: Allow::Any,
        line: 2,
    }
}

pub fn terminal(id: &str, office: &str, calendar: &str) -> Terminal {
    Terminal {
        terminal_id: id.into(),
        office: office.into(),
        calendar: calendar.into(),
    }
}

/// OP1–OP4 designated at office K1 from 2026-01-01 with `*` everywhere; T1–T4 at K1 on
/// the default calendar; no holidays; default thresholds.
pub fn ledgers() -> Ledgers {
    Ledgers {
        operators: Operators::from_rows(
            ["OP1", "OP2", "OP3", "OP4"].map(|o| designation(o, "K1", "2026-01-01", None)),
        ),
        terminals: Terminals::from_rows(["T1", "T2", "T3", "T4"].map(|t| terminal(t, "K1", ""))),
        calendars: Calendars::new([Calendar::builtin_default()], Holidays::default()),
        approvals: Approvals::default(),
        requests: None,
        watchlist: Watchlist::default(),
        rules: RulesConfig::default(),
    }
}

pub fn approval(no: &str, operator: &str, from: &str, until: &str, max: i64) -> Approval {
    Approval {
        approval_no: no.into(),
        operator_id: operator.into(),
        business_code: None,
        valid_from: at(from),
        valid_until: at(until),
        max_records: max,
        approved_by: "MGR".into(),
    }
}

pub fn with_approvals(mut l: Ledgers, rows: Vec<Approval>) -> Ledgers {
    l.approvals = Approvals::from_rows(rows);
    l
}

pub fn with_requests(mut l: Ledgers, rows: Vec<(&str, &str, Option<&str>)>) -> Ledgers {
    l.requests = Some(Requests::from_rows(rows.into_iter().map(
        |(no, received, target)| RequestForm {
            request_no: no.into(),
            received_on: day(received),
            kind: RequestKind::Request,
            business_code: None,
            target_code: target.map(Into::into),
        },
    )));
    l
}

pub fn with_watch(mut l: Ledgers, target: &str, allowed: &[&str]) -> Ledgers {
    l.watchlist = Watchlist::from_rows([WatchEntry {
        target_code: target.into(),
        reason: "DV".into(),
        allowed_operators: allowed.iter().map(|s| (*s).to_owned()).collect(),
    }]);
    l
}

pub fn disabled(mut l: Ledgers, rules: &[RuleId]) -> Ledgers {
    l.rules.disabled_rules = rules.iter().copied().collect::<BTreeSet<_>>();
    l
}

/// Events sorted as the day stage sorts them, one batch per local day.
pub fn days(events: &[E]) -> Vec<(Day, RecordBatch)> {
    let mut evs = events.to_vec();
    evs.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
    let mut out: Vec<(Day, Vec<E>)> = Vec::new();
    for ev in evs {
        let d = time::jst_day(ev.ts);
        match out.last_mut() {
            Some((last, v)) if *last == d => v.push(ev),
            _ => out.push((d, vec![ev])),
        }
    }
    out.into_iter()
        .map(|(d, v)| {
            let batch = batch_from_rows("test.csv", v.iter().map(E::row)).expect("batch");
            (d, batch)
        })
        .collect()
}

/// Judges every day of `events` with one detector.
pub fn run_with(l: Ledgers, events: &[E]) -> (Vec<Finding>, Detector) {
    let mut det = Detector::new(Arc::new(l));
    let mut all = Vec::new();
    for (d, batch) in days(events) {
        all.extend(det.judge_day(d, &batch).expect("judge_day"));
    }
    (all, det)
}

pub fn run(l: Ledgers, events: &[E]) -> Vec<Finding> {
    run_with(l, events).0
}

/// The flagged event ids of one rule, in findings order.
pub fn hits(findings: &[Finding], rule: RuleId) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.event_id.clone())
        .collect()
}

pub fn only(findings: &[Finding], rule: RuleId) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .cloned()
        .collect()
}

pub fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}
