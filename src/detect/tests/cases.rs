//! One hand-written scenario per rule, positives and near misses. 2026-04-01 is a
//! Wednesday; the default calendar's open interval is 08:00:00.000–17:45:00.000.

use std::sync::Arc;

use super::support::*;
use crate::detect::{DetectError, Detector, State};
use crate::findings::{BurstKey, Facts, TerminalWhy};
use crate::ledger::{Allow, Calendar, Calendars, Holidays, Hours, Operators, RequestMismatch};
use crate::model::{Op, RuleId};
use crate::normalize::batch_from_rows;

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn off_hours_boundaries_are_inclusive() {
    let mut l = ledgers();
    let branch = Calendar {
        name: "branch".into(),
        hours: Hours {
            open_min: 8 * 60 + 45,
            close_min: 16 * 60 + 30,
        },
        grace_minutes: 15,
        ..Calendar::builtin_default()
    };
    l.calendars = Calendars::new(
        [Calendar::builtin_default(), branch],
        Holidays::from_days([(day("2026-04-29"), "昭和の日".to_owned())]),
    );
    let mut terms: Vec<_> = ["T1", "T2", "T3", "T4"]
        .map(|t| terminal(t, "K1", "default"))
        .into();
    terms.push(terminal("T5", "K1", "branch"));
    l.terminals = crate::ledger::Terminals::from_rows(terms);
    let evs = [
        e("A", "2026-04-01 08:00:00.000", Op::Logout), // open − grace: inside
        e("B", "2026-04-01 07:59:59.999", Op::Logout), // 1 ms before: outside
        e("C", "2026-04-01 17:45:00.000", Op::Logout), // close + grace: inside
        e("D", "2026-04-01 17:45:00.001", Op::Logout), // 1 ms after: outside
        e("E", "2026-04-04 10:00:00", Op::Logout),     // Saturday: closed
        e("F", "2026-04-29 10:00:00", Op::Logout),     // national holiday: closed
        e("G", "2026-04-01 07:00:00", Op::LoginFail).on("TX"), // unknown: default
        e("H", "2026-04-01 08:29:59.999", Op::Logout).on("T5"), // branch opens 08:30
        e("I", "2026-04-01 16:45:00.000", Op::Logout).on("T5"), // branch closes 16:45
        e("J", "2026-04-01 12:00:00", Op::Logout).no_operator(),
    ];
    let f = run(l, &evs);
    assert_eq!(
        sorted(hits(&f, RuleId::OffHours)),
        ids(&["B", "D", "E", "F", "G", "H"])
    );
    let b = only(&f, RuleId::OffHours)
        .into_iter()
        .find(|f| f.event_id == "B")
        .unwrap();
    assert_eq!(
        b.facts,
        Facts::OffHours {
            op: Op::Logout,
            calendar: "default".into(),
            open_interval: Some((480 * 60_000, 1065 * 60_000)),
        }
    );
    assert_eq!(b.office.as_deref(), Some("K1"));
    let e = only(&f, RuleId::OffHours)
        .into_iter()
        .find(|f| f.event_id == "E")
        .unwrap();
    assert!(matches!(
        e.facts,
        Facts::OffHours {
            open_interval: None,
            ..
        }
    ));
}

#[test]
fn auth_failure_burst_threshold_and_window_edge() {
    // threshold 5 within 10 minutes. OPX fails on four terminals, so only the operator
    // window can reach 5.
    let fail = |id: &str, at: &str, t: &str| e(id, at, Op::LoginFail).by("OPX").on(t);
    let evs = [
        fail("F1", "2026-04-01 09:00:00", "T1"),
        fail("F2", "2026-04-01 09:01:00", "T2").res("NG"),
        fail("F3", "2026-04-01 09:02:00", "T3").res("E102"),
        fail("F4", "2026-04-01 09:03:00", "T4"), // 4: one below
        fail("F5", "2026-04-01 09:09:59.999", "T1"), // 5: exactly the threshold
        // (09:01, 09:11]: F2 is exactly 10 minutes before, out: F3 F4 F5 F6 = 4.
        fail("F6", "2026-04-01 09:11:00", "T2"),
    ];
    let f = run(ledgers(), &evs);
    let burst = only(&f, RuleId::AuthFailureBurst);
    assert_eq!(hits(&f, RuleId::AuthFailureBurst), ids(&["F5"]));
    assert_eq!(burst[0].evidence, ids(&["F5", "F1", "F2", "F3", "F4"]));
    assert_eq!(
        burst[0].facts,
        Facts::AuthFailureBurst {
            count: 5,
            by: BurstKey::Operator,
            window_minutes: 10
        }
    );
    // LOGIN_FAIL is never judged as undesignated or unassigned.
    assert!(hits(&f, RuleId::UndesignatedOperator).is_empty());
}

#[test]
fn auth_failure_burst_by_terminal_and_tie() {
    // Five typed ids on T1: only the terminal window reaches 5.
    let mut evs: Vec<E> = ["A", "B", "C", "D", "E"]
        .iter()
        .enumerate()
        .map(|(i, who)| {
            e(
                &format!("T{i}"),
                &format!("2026-04-01 10:0{i}:00"),
                Op::LoginFail,
            )
            .by(who)
            .on("T1")
        })
        .collect();
    // Five fails of OPY on T2: both windows hold the same 5 events (a tie: operator set),
    // and each event is flagged once.
    evs.extend((0..5).map(|i| {
        e(
            &format!("Y{i}"),
            &format!("2026-04-01 11:0{i}:00"),
            Op::LoginFail,
        )
        .by("OPY")
        .on("T2")
    }));
    let f = only(&run(ledgers(), &evs), RuleId::AuthFailureBurst);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0].event_id, "T4");
    assert_eq!(f[0].evidence, ids(&["T4", "T0", "T1", "T2", "T3"]));
    assert!(matches!(
        f[0].facts,
        Facts::AuthFailureBurst {
            by: BurstKey::Terminal,
            count: 5,
            ..
        }
    ));
    assert_eq!(f[1].event_id, "Y4");
    assert!(matches!(
        f[1].facts,
        Facts::AuthFailureBurst {
            by: BurstKey::Operator,
            ..
        }
    ));
}

#[test]
fn unapproved_mass_output_and_approvals() {
    let l = with_approvals(
        ledgers(),
        vec![
            // Expired one minute before M3.
            approval(
                "A1",
                "OP1",
                "2026-04-01 00:00:00",
                "2026-04-01 09:59:00",
                1000,
            ),
            // Valid until exactly M4 (inclusive).
            approval(
                "A1B",
                "OP1",
                "2026-04-01 00:00:00",
                "2026-04-01 11:00:00",
                1000,
            ),
            approval(
                "A2",
                "OP1",
                "2026-04-01 00:00:00",
                "2026-04-30 00:00:00",
                200,
            ),
            approval(
                "A3",
                "OP2",
                "2026-04-01 00:00:00",
                "2026-04-30 00:00:00",
                1000,
            ),
        ],
    );
    let out = |id: &str, at: &str, n: i64| e(id, at, Op::Export).count(n);
    let evs = [
        out("M1", "2026-04-01 09:00:00", 100), // at the threshold
        out("M2", "2026-04-01 09:30:00", 99).by("OP3"), // below
        out("M3", "2026-04-01 10:00:00", 150).apv("A1"), // expired a minute earlier
        out("M4", "2026-04-01 11:00:00", 150).apv("A1B"), // covered
        out("M5", "2026-04-01 12:00:00", 201).apv("A2"), // record_count > max_records
        out("M5B", "2026-04-01 13:00:00", 200).apv("A2"), // = max_records: covered
        out("M6", "2026-04-01 14:00:00", 150).apv("A3"), // another operator's approval
        out("M7", "2026-04-01 15:00:00", 500).res("NG"), // not OK
        e("M8", "2026-04-01 16:00:00", Op::Search).count(500), // not an output
    ];
    let f = run(l, &evs);
    assert_eq!(
        hits(&f, RuleId::UnapprovedMassOutput),
        ids(&["M1", "M3", "M5", "M6"])
    );
    assert!(hits(&f, RuleId::SplitMassOutput).is_empty());
    let m3 = only(&f, RuleId::UnapprovedMassOutput)
        .into_iter()
        .find(|f| f.event_id == "M3")
        .unwrap();
    assert_eq!(
        m3.facts,
        Facts::UnapprovedMassOutput {
            op: Op::Export,
            record_count: 150,
            threshold: 100,
            approval_no: Some("A1".into())
        }
    );
}

#[test]
fn split_mass_output_sums_only_uncovered_small_ok_outputs() {
    let l = with_approvals(
        ledgers(),
        vec![approval(
            "A1",
            "OP1",
            "2026-04-01 00:00:00",
            "2026-04-02 00:00:00",
            1000,
        )],
    );
    let out = |id: &str, at: &str, n: i64| e(id, at, Op::Print).count(n);
    let evs = [
        out("S1", "2026-04-01 09:00:00", 40),
        out("S2", "2026-04-01 09:30:00", 30),
        out("S3", "2026-04-01 09:40:00", 50).apv("A1"), // covered: not summed
        out("S4", "2026-04-01 09:45:00", 120),          // at/above threshold: not summed
        out("S5", "2026-04-01 09:50:00", 50).res("NG"), // not OK
        out("SO", "2026-04-01 09:55:00", 50).by("OP2"), // another operator
        out("S6", "2026-04-01 09:59:59.999", 30),       // 40 + 30 + 30 = 100: flagged
        // (09:00, 10:00]: S1 exactly 60 minutes before is out: 30 + 30 + 1 = 61.
        out("S7", "2026-04-01 10:00:00", 1),
        // Two outputs at one instant both see the whole group: 50 + 50.
        out("G1", "2026-04-01 11:30:00", 50).by("OP3"),
        out("G2", "2026-04-01 11:30:00", 50).by("OP3"),
    ];
    let f = run(l, &evs);
    let split = only(&f, RuleId::SplitMassOutput);
    assert_eq!(hits(&f, RuleId::SplitMassOutput), ids(&["S6", "G1", "G2"]));
    assert_eq!(split[0].evidence, ids(&["S6", "S1", "S2"]));
    assert_eq!(
        split[0].facts,
        Facts::SplitMassOutput {
            total: 100,
            outputs: 3,
            window_minutes: 60,
            threshold: 100
        }
    );
    assert_eq!(split[1].evidence, ids(&["G1", "G2"]));
    assert_eq!(split[2].evidence, ids(&["G2", "G1"]));
    assert_eq!(hits(&f, RuleId::UnapprovedMassOutput), ids(&["S4"]));
}

#[test]
fn browsing_spike_counts_distinct_targets() {
    let mut l = ledgers();
    l.rules.browse_threshold = 3;
    let view = |id: &str, at: &str, t: &str| e(id, at, Op::View).target(t);
    let evs = [
        view("V1", "2026-04-01 09:00:00", "10000000001"),
        view("V2", "2026-04-01 09:10:00", "10000000002"),
        view("V3", "2026-04-01 09:20:00", "10000000001"), // same resident again
        view("V4", "2026-04-01 09:30:00", "10000000003"), // 3 distinct: flagged
        view("V5", "2026-04-01 09:35:00", "10000000004").res("NG"), // not OK
        e("V6", "2026-04-01 09:36:00", Op::View),         // no target
        view("VO", "2026-04-01 09:31:00", "10000000005").by("OP2"),
        // (09:10, 10:10]: V2 exactly 60 minutes before is out: residents 1 and 3.
        view("V7", "2026-04-01 10:10:00", "10000000001"),
    ];
    let f = run(l, &evs);
    let spike = only(&f, RuleId::BrowsingSpike);
    assert_eq!(hits(&f, RuleId::BrowsingSpike), ids(&["V4"]));
    assert_eq!(spike[0].evidence, ids(&["V4", "V1", "V2", "V3"]));
    assert_eq!(
        spike[0].facts,
        Facts::BrowsingSpike {
            distinct: 3,
            window_minutes: 60,
            threshold: 3
        }
    );
}

#[test]
fn hardcopy_and_recording_device() {
    let evs = [
        e("H1", "2026-04-01 09:00:00", Op::Hardcopy),
        e("H2", "2026-04-01 09:01:00", Op::Hardcopy).res("NG"),
        e("D1", "2026-04-01 09:02:00", Op::DeviceConnect),
        e("D2", "2026-04-01 09:03:00", Op::DeviceConnect).res("E102"),
    ];
    let f = run(ledgers(), &evs);
    assert_eq!(hits(&f, RuleId::ScreenHardcopy), ids(&["H1"]));
    assert_eq!(hits(&f, RuleId::RecordingDevice), ids(&["D1", "D2"]));
    assert_eq!(only(&f, RuleId::RecordingDevice)[0].evidence, ids(&["D1"]));
}

fn many_operators() -> crate::ledger::Ledgers {
    let mut l = ledgers();
    l.operators = Operators::from_rows(
        (1..=9).map(|i| designation(&format!("OP{i}"), "K1", "2026-01-01", None)),
    );
    l
}

#[test]
fn concurrent_terminals_sessions() {
    let login = |id: &str, at: &str, who: &str, t: &str| e(id, at, Op::Login).by(who).on(t);
    let evs = [
        // 30 minutes after the last event on T1: still open.
        login("L1", "2026-04-01 09:00:00", "OP1", "T1"),
        login("L2", "2026-04-01 09:30:00", "OP1", "T2"),
        // 31 minutes: timed out.
        login("L3", "2026-04-01 09:00:00", "OP2", "T1"),
        login("L4", "2026-04-01 09:31:00", "OP2", "T2"),
        // A LOGOUT at exactly the new login's time does not close the session yet.
        login("L5", "2026-04-01 09:00:00", "OP3", "T1"),
        e("O5", "2026-04-01 09:10:00", Op::Logout)
            .by("OP3")
            .on("T1"),
        login("L6", "2026-04-01 09:10:00", "OP3", "T2"),
        // By 09:20 the T1 session is closed; T2's is open.
        login("L7", "2026-04-01 09:20:00", "OP3", "T3"),
        // A session idle for two hours is open again once its operator acts on it.
        login("L8", "2026-04-01 08:00:00", "OP4", "T1"),
        e("V8", "2026-04-01 10:00:00", Op::View).by("OP4").on("T1"),
        login("L9", "2026-04-01 10:05:00", "OP4", "T2"),
        // LOGIN_FAIL does not refresh a session.
        login("L10", "2026-04-01 09:00:00", "OP5", "T1"),
        e("F10", "2026-04-01 09:40:00", Op::LoginFail)
            .by("OP5")
            .on("T1"),
        login("L11", "2026-04-01 09:45:00", "OP5", "T2"),
        // Logins at one instant do not see each other; a later one sees both.
        login("L12", "2026-04-01 09:00:00", "OP6", "T1"),
        login("L13", "2026-04-01 09:00:00", "OP6", "T2"),
        login("L14", "2026-04-01 09:05:00", "OP6", "T3"),
        // A failed LOGIN opens nothing; a re-login on the same terminal is not concurrent.
        login("L15", "2026-04-01 09:00:00", "OP7", "T1").res("NG"),
        login("L16", "2026-04-01 09:05:00", "OP7", "T2"),
        login("L17", "2026-04-01 09:06:00", "OP7", "T2"),
    ];
    let f = run(many_operators(), &evs);
    let c = only(&f, RuleId::ConcurrentTerminals);
    assert_eq!(
        sorted(hits(&f, RuleId::ConcurrentTerminals)),
        ids(&["L14", "L2", "L6", "L7", "L9"])
    );
    let by = |id: &str| c.iter().find(|f| f.event_id == id).unwrap();
    assert_eq!(by("L2").evidence, ids(&["L2", "L1"]));
    assert_eq!(
        by("L2").facts,
        Facts::ConcurrentTerminals {
            other_terminal: "T1".into(),
            other_login: at("2026-04-01 09:00:00"),
        }
    );
    assert_eq!(by("L6").evidence, ids(&["L6", "L5"]));
    assert_eq!(by("L7").evidence, ids(&["L7", "L6"]));
    assert_eq!(by("L9").evidence, ids(&["L9", "L8"]));
    assert_eq!(by("L14").evidence, ids(&["L14", "L12", "L13"]));
}

#[test]
fn concurrent_terminals_across_midnight() {
    // A session opened before midnight is carried to the next day.
    let evs = [
        e("A", "2026-04-01 23:50:00", Op::Login).on("T1"),
        e("B", "2026-04-02 00:10:00", Op::Login).on("T2"),
    ];
    let f = run(ledgers(), &evs);
    assert_eq!(hits(&f, RuleId::ConcurrentTerminals), ids(&["B"]));
}

#[test]
fn self_verification_and_unverified_change() {
    let ch = |id: &str, at: &str, op: Op, who: &str| e(id, at, op).by(who).target("10000000001");
    let verify = |id: &str, at: &str, who: &str, r: &str| {
        e(id, at, Op::Verify).by(who).target("10000000001").refs(r)
    };
    let evs = [
        // Verified by its own author: self-verification, and still unverified.
        ch("C1", "2026-04-01 10:00:00", Op::Input, "OP1"),
        verify("V1", "2026-04-01 11:00:00", "OP1", "C1"),
        // Verified by someone else at exactly +24h: verified.
        ch("C2", "2026-04-01 10:00:00", Op::Correct, "OP1"),
        verify("V2", "2026-04-02 10:00:00", "OP2", "C2"),
        // ... at +24h + 1 ms: too late.
        ch("C3", "2026-04-01 10:30:00", Op::Delete, "OP1"),
        verify("V3", "2026-04-02 10:30:00.001", "OP2", "C3"),
        // A failed change verified by its author is a self-verification (change by
        // operation only) but needs no verify.
        ch("C5", "2026-04-01 13:00:00", Op::Input, "OP2").res("NG"),
        verify("V5", "2026-04-01 14:00:00", "OP2", "C5"),
        // Verifies logged before their change: the author's is a self-verification, and
        // neither verifies it (not within [t(c), t(c) + 24h]).
        verify("V6", "2026-04-01 09:00:00", "OP3", "C6"),
        verify("V6B", "2026-04-01 09:10:00", "OP4", "C6"),
        ch("C6", "2026-04-01 09:30:00", Op::Input, "OP3"),
        // Settled by OP1, then verified again by its author two days later.
        ch("C7", "2026-04-01 15:00:00", Op::Input, "OP4"),
        verify("V7A", "2026-04-01 15:30:00", "OP1", "C7"),
        verify("V7", "2026-04-03 09:00:00", "OP4", "C7"),
        // A verify one day, its change the next.
        verify("V8", "2026-04-01 16:00:00", "OP2", "C8"),
        ch("C8", "2026-04-02 09:00:00", Op::Input, "OP2"),
        // A failed verify by someone else verifies nothing: C9 judged unverified.
        ch("C9", "2026-04-01 16:30:00", Op::Input, "OP1"),
        verify("V9", "2026-04-01 16:40:00", "OP2", "C9").res("NG"),
        // Young change at the end of the data: pending.
        ch("C4", "2026-04-02 11:00:00", Op::Input, "OP1"),
        e("Z", "2026-04-02 12:00:00", Op::Logout).by("OP3"),
    ];
    let (f, det) = run_with(ledgers(), &evs);
    let sv = only(&f, RuleId::SelfVerification);
    assert_eq!(
        sorted(hits(&f, RuleId::SelfVerification)),
        ids(&["V1", "V5", "V6", "V7", "V8"])
    );
    let by = |id: &str| sv.iter().find(|f| f.event_id == id).unwrap();
    assert_eq!(by("V1").evidence, ids(&["V1", "C1"]));
    assert_eq!(
        by("V1").facts,
        Facts::SelfVerification {
            change_event_id: "C1".into(),
            change_op: Op::Input
        }
    );
    // Found when the change arrives: flagged on the verify, judged on the change's day.
    assert_eq!(by("V6").timestamp, at("2026-04-01 09:00:00"));
    assert_eq!(by("V8").timestamp, at("2026-04-01 16:00:00"));
    assert_eq!(by("V8").judged_on, day("2026-04-02"));
    assert_eq!(by("V8").evidence, ids(&["V8", "C8"]));
    assert_eq!(by("V7").judged_on, day("2026-04-03"));

    let uv = only(&f, RuleId::UnverifiedChange);
    // C8 (due 04-03 09:00) is reached by V7 at exactly 04-03 09:00.
    assert_eq!(
        sorted(hits(&f, RuleId::UnverifiedChange)),
        ids(&["C1", "C3", "C6", "C8", "C9"])
    );
    let by = |id: &str| uv.iter().find(|f| f.event_id == id).unwrap();
    assert_eq!(by("C1").judged_on, day("2026-04-02"));
    assert_eq!(by("C1").timestamp, at("2026-04-01 10:00:00"));
    assert_eq!(by("C1").evidence, ids(&["C1"]));
    assert_eq!(by("C8").judged_on, day("2026-04-03"));
    assert_eq!(
        by("C3").facts,
        Facts::UnverifiedChange {
            op: Op::Delete,
            within_hours: 24
        }
    );
    let pending: Vec<_> = det
        .pending_changes()
        .into_iter()
        .map(|p| (p.event_id, p.due))
        .collect();
    assert_eq!(pending, vec![("C4".to_owned(), at("2026-04-03 11:00:00"))]);
}

#[test]
fn pending_change_is_judged_once_the_data_reaches_it() {
    let evs = [
        e("C", "2026-04-01 10:00:00", Op::Input).target("10000000001"),
        e("Z", "2026-04-02 09:59:59.999", Op::Logout),
    ];
    let (f, det) = run_with(ledgers(), &evs);
    assert!(hits(&f, RuleId::UnverifiedChange).is_empty());
    assert_eq!(det.pending_changes().len(), 1);
    assert_eq!(det.pending_changes()[0].event_id, "C");
    // Exactly at the deadline: the data has reached it.
    let evs2 = [evs[0].clone(), e("Z", "2026-04-02 10:00:00", Op::Logout)];
    let (f, det) = run_with(ledgers(), &evs2);
    assert_eq!(hits(&f, RuleId::UnverifiedChange), ids(&["C"]));
    assert!(det.pending_changes().is_empty());
}

#[test]
fn self_verification_lookback_limits_pairing() {
    let mut l = ledgers();
    l.rules.self_verification_lookback_days = 2;
    let evs = [
        e("C1", "2026-04-01 10:00:00", Op::Input).target("10000000001"),
        e("V1", "2026-04-03 10:00:00", Op::Verify).refs("C1"), // 2 days apart: paired
        e("C2", "2026-04-01 11:00:00", Op::Input).target("10000000001"),
        e("V2", "2026-04-04 10:00:00", Op::Verify).refs("C2"), // 3 days apart: forgotten
    ];
    let f = run(l, &evs);
    assert_eq!(hits(&f, RuleId::SelfVerification), ids(&["V1"]));
}

#[test]
fn output_without_request_and_exempt_views() {
    let mut l = ledgers();
    l.rules.request_exempt_business_codes = ["Z01".to_owned()].into();
    let evs = [
        e("R1", "2026-04-01 09:00:00", Op::Extract).req(None),
        e("R2", "2026-04-01 09:01:00", Op::Print)
            .req(None)
            .res("NG"),
        e("R3", "2026-04-01 09:02:00", Op::View)
            .target("10000000001")
            .req(None),
        e("R4", "2026-04-01 09:03:00", Op::View)
            .target("10000000001")
            .req(None)
            .biz(Some("Z01")), // exempt business
        e("R5", "2026-04-01 09:04:00", Op::View).req(None), // no target
        e("R6", "2026-04-01 09:05:00", Op::View).target("10000000001"),
        e("R7", "2026-04-01 09:06:00", Op::View)
            .target("10000000001")
            .req(None)
            .biz(None),
        e("R8", "2026-04-01 09:07:00", Op::Search)
            .target("10000000001")
            .req(None),
    ];
    let f = run(l, &evs);
    assert_eq!(
        hits(&f, RuleId::OutputWithoutRequest),
        ids(&["R1", "R3", "R7"])
    );
}

#[test]
fn unmatched_request_only_with_a_register() {
    let evs = [
        e("U1", "2026-04-01 09:00:00", Op::View)
            .target("11111111111")
            .req(Some("REQ1")),
        e("U2", "2026-04-01 09:01:00", Op::View)
            .target("22222222222")
            .req(Some("REQ1")), // another resident
        e("U3", "2026-04-01 09:02:00", Op::Print).req(Some("REQ9")), // not registered
        e("U4", "2026-04-01 09:03:00", Op::Export).req(Some("REQ2")), // received later
        e("U5", "2026-04-02 09:03:00", Op::Print).req(Some("REQ2")),
        e("U6", "2026-04-01 09:04:00", Op::Search).req(Some("REQ9")), // not judged
        e("U7", "2026-04-01 09:05:00", Op::View)
            .target("11111111111")
            .req(Some("REQ9"))
            .res("NG"),
    ];
    let l = with_requests(
        ledgers(),
        vec![
            ("REQ1", "2026-04-01", Some("11111111111")),
            ("REQ2", "2026-04-02", None),
        ],
    );
    let f = run(l, &evs);
    let u = only(&f, RuleId::UnmatchedRequest);
    assert_eq!(hits(&f, RuleId::UnmatchedRequest), ids(&["U2", "U3", "U4"]));
    assert!(matches!(
        &u[0].facts,
        Facts::UnmatchedRequest { why: RequestMismatch::OtherResident, request_no, .. } if request_no == "REQ1"
    ));
    assert!(matches!(
        &u[1].facts,
        Facts::UnmatchedRequest {
            why: RequestMismatch::NotInRegister,
            ..
        }
    ));
    assert!(matches!(
        &u[2].facts,
        Facts::UnmatchedRequest {
            why: RequestMismatch::ReceivedLater { .. },
            ..
        }
    ));
    // Without requests.csv the rule is not judged.
    assert!(hits(&run(ledgers(), &evs), RuleId::UnmatchedRequest).is_empty());
}

#[test]
fn watchlist_access_by_allowed_and_other_operators() {
    let l = with_watch(ledgers(), "99999999999", &["OP2"]);
    let evs = [
        e("W1", "2026-04-01 09:00:00", Op::View)
            .by("OP2")
            .target("99999999999"),
        e("W2", "2026-04-01 09:01:00", Op::View).target("99999999999"),
        e("W3", "2026-04-01 09:02:00", Op::View)
            .target("99999999999")
            .res("NG"),
        e("W4", "2026-04-01 09:03:00", Op::Input)
            .by("OP3")
            .target("99999999999"),
        e("W5", "2026-04-01 09:04:00", Op::View)
            .no_operator()
            .target("99999999999"),
        e("W6", "2026-04-01 09:05:00", Op::View).target("99999999990"),
    ];
    let f = run(l, &evs);
    assert_eq!(hits(&f, RuleId::WatchlistAccess), ids(&["W2", "W4", "W5"]));
    assert_eq!(
        only(&f, RuleId::WatchlistAccess)[0].facts,
        Facts::WatchlistAccess { op: Op::View }
    );
}

#[test]
fn undesignated_after_designated_until() {
    let mut l = ledgers();
    l.operators = Operators::from_rows([
        designation("OP1", "K1", "2026-01-01", None),
        designation("OP7", "K1", "2026-01-01", Some("2026-03-31")),
    ]);
    let evs = [
        e("U1", "2026-03-31 10:00:00", Op::View).by("OP7"), // last designated day
        e("U2", "2026-04-01 10:00:00", Op::View).by("OP7"), // the day after
        e("U3", "2026-04-01 10:01:00", Op::View).by("OPX"), // not in the register
        e("U4", "2026-04-01 10:02:00", Op::LoginFail).by("OPX"),
        e("U5", "2026-04-01 10:03:00", Op::Logout).no_operator(),
    ];
    let f = run(l, &evs);
    let u = only(&f, RuleId::UndesignatedOperator);
    assert_eq!(
        hits(&f, RuleId::UndesignatedOperator),
        ids(&["U2", "U3", "U5"])
    );
    assert_eq!(
        u[0].facts,
        Facts::UndesignatedOperator {
            op: Op::View,
            registered: true
        }
    );
    assert_eq!(
        u[1].facts,
        Facts::UndesignatedOperator {
            op: Op::View,
            registered: false
        }
    );
    // An undesignated operator is not judged by the row-based rules.
    assert!(hits(&f, RuleId::UnassignedTerminal).is_empty());
    assert!(hits(&f, RuleId::OutOfScopeBusiness).is_empty());
}

#[test]
fn unassigned_terminal_transfer_list_and_register() {
    let mut l = ledgers();
    let mut rows = vec![
        designation("OP8", "K1", "2026-01-01", Some("2026-03-31")),
        designation("OP8", "K2", "2026-04-01", None),
    ];
    let mut listed = designation("OP9", "K1", "2026-01-01", None);
    listed.terminals = Allow::parse("T2");
    rows.push(listed);
    l.operators = Operators::from_rows(rows);
    let mut terms: Vec<_> = ["T1", "T2"].map(|t| terminal(t, "K1", "")).into();
    terms.push(terminal("T5", "K2", ""));
    l.terminals = crate::ledger::Terminals::from_rows(terms);
    let evs = [
        e("A1", "2026-03-31 10:00:00", Op::View).by("OP8").on("T1"), // before the transfer
        e("A2", "2026-04-01 10:00:00", Op::View).by("OP8").on("T1"), // old office's terminal
        e("A3", "2026-04-01 10:01:00", Op::View).by("OP8").on("T5"),
        e("A4", "2026-04-01 10:02:00", Op::View).by("OP9").on("T1"), // not listed
        e("A5", "2026-04-01 10:03:00", Op::View).by("OP9").on("T2"),
        e("A6", "2026-04-01 10:04:00", Op::View).by("OP9").on("TX"), // not registered
        e("A7", "2026-04-01 10:05:00", Op::LoginFail)
            .by("OP9")
            .on("TX"),
    ];
    let f = run(l, &evs);
    let u = only(&f, RuleId::UnassignedTerminal);
    assert_eq!(
        hits(&f, RuleId::UnassignedTerminal),
        ids(&["A2", "A4", "A6"])
    );
    assert_eq!(
        u[0].facts,
        Facts::UnassignedTerminal {
            op: Op::View,
            why: TerminalWhy::OtherOffice {
                terminal_office: "K1".into(),
                operator_office: "K2".into()
            }
        }
    );
    assert_eq!(u[0].office.as_deref(), Some("K1"), "the terminal's office");
    assert!(matches!(
        u[1].facts,
        Facts::UnassignedTerminal {
            why: TerminalWhy::NotListed,
            ..
        }
    ));
    assert!(matches!(
        u[2].facts,
        Facts::UnassignedTerminal {
            why: TerminalWhy::NotRegistered,
            ..
        }
    ));
    assert_eq!(
        u[2].office.as_deref(),
        Some("K1"),
        "unknown terminal: the operator's office"
    );
}

#[test]
fn out_of_scope_business() {
    let mut l = ledgers();
    let mut row = designation("OP2", "K1", "2026-01-01", None);
    row.business_codes = Allow::parse("W01;W02");
    l.operators = Operators::from_rows([designation("OP1", "K1", "2026-01-01", None), row]);
    let evs = [
        e("B1", "2026-04-01 09:00:00", Op::View).by("OP2"),
        e("B2", "2026-04-01 09:01:00", Op::View)
            .by("OP2")
            .biz(Some("W03")),
        e("B3", "2026-04-01 09:02:00", Op::View).by("OP2").biz(None),
        e("B4", "2026-04-01 09:03:00", Op::Login)
            .by("OP2")
            .biz(Some("W03")), // LOGIN is not judged
        e("B5", "2026-04-01 09:04:00", Op::Search)
            .by("OP2")
            .biz(Some("W03"))
            .res("NG"), // any result
        e("B6", "2026-04-01 09:05:00", Op::View).biz(None), // `*` allows empty
    ];
    let f = run(l, &evs);
    assert_eq!(
        hits(&f, RuleId::OutOfScopeBusiness),
        ids(&["B2", "B3", "B5"])
    );
}

/// One event set that makes every rule fire at least once.
fn everything() -> (crate::ledger::Ledgers, Vec<E>) {
    let mut l = with_requests(
        with_watch(many_operators(), "99999999999", &["OP2"]),
        vec![("R1", "2026-01-01", None)],
    );
    l.rules.browse_threshold = 2;
    let mut narrow = designation("OP9", "K1", "2026-01-01", None);
    narrow.business_codes = Allow::parse("W01");
    l.operators = Operators::from_rows(
        (1..=8)
            .map(|i| designation(&format!("OP{i}"), "K1", "2026-01-01", None))
            .chain([narrow]),
    );
    let evs = vec![
        e("a1", "2026-04-01 09:00:00", Op::View).by("OPX"),
        e("a2", "2026-04-01 09:01:00", Op::View)
            .biz(Some("W9"))
            .by("OP9")
            .on("T9"),
        e("a3", "2026-04-01 09:02:00", Op::Extract).req(None),
        e("a4", "2026-04-01 09:03:00", Op::Print).req(Some("R404")),
        e("a5", "2026-04-01 07:00:00", Op::Logout),
        e("a6", "2026-04-01 09:05:00", Op::Export).count(100),
        e("a7", "2026-04-01 09:06:00", Op::Export)
            .count(60)
            .by("OP3"),
        e("a8", "2026-04-01 09:07:00", Op::Export)
            .count(60)
            .by("OP3"),
        e("a9", "2026-04-01 09:08:00", Op::Hardcopy),
        e("b1", "2026-04-01 09:09:00", Op::Input).target("10000000001"),
        e("b2", "2026-04-01 09:10:00", Op::Verify).refs("b1"),
        e("b3", "2026-04-01 09:11:00", Op::Login).by("OP4").on("T1"),
        e("b4", "2026-04-01 09:12:00", Op::Login).by("OP4").on("T2"),
        e("b5", "2026-04-01 09:13:00", Op::DeviceConnect),
        e("b6", "2026-04-01 09:14:00", Op::View)
            .by("OP5")
            .target("10000000001"),
        e("b7", "2026-04-01 09:15:00", Op::View)
            .by("OP5")
            .target("10000000002"),
        e("b8", "2026-04-01 09:16:00", Op::View).target("99999999999"),
        e("z", "2026-04-02 10:00:00", Op::Logout),
    ];
    let mut evs = evs;
    evs.extend((0..5).map(|i| {
        e(
            &format!("f{i}"),
            &format!("2026-04-01 10:0{i}:00"),
            Op::LoginFail,
        )
        .by("OP6")
    }));
    (l, evs)
}

#[test]
fn every_rule_fires_and_each_can_be_disabled() {
    let (l, evs) = everything();
    let all = run(l.clone(), &evs);
    for rule in RuleId::ALL {
        assert!(
            all.iter().any(|f| f.rule == rule),
            "{rule} should fire in the combined scenario"
        );
        let without = run(disabled(l.clone(), &[rule]), &evs);
        assert!(hits(&without, rule).is_empty(), "{rule} disabled");
        let expected: Vec<_> = all.iter().filter(|f| f.rule != rule).cloned().collect();
        assert_eq!(without, expected, "disabling {rule} changes nothing else");
    }
    let none = run(disabled(l, &RuleId::ALL), &evs);
    assert!(none.is_empty());
}

#[test]
fn findings_carry_the_flagged_event_and_office() {
    let (l, evs) = everything();
    let f = run(l, &evs);
    for x in &f {
        assert_eq!(x.evidence[0], x.event_id, "{x:?}");
        let src = evs.iter().find(|e| e.id == x.event_id).unwrap();
        assert_eq!(x.timestamp, src.ts);
        assert_eq!(x.operator_id, src.operator);
        assert_eq!(x.terminal_id, src.terminal);
    }
    let mut keys: Vec<_> = f.iter().map(|x| (x.rule, x.event_id.clone())).collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "one finding per (rule, event)");
}

#[test]
fn days_must_ascend_and_batches_must_be_sorted() {
    let mut det = Detector::new(Arc::new(ledgers()));
    let d1 = days(&[e("A", "2026-04-02 09:00:00", Op::Logout)]);
    det.judge_day(d1[0].0, &d1[0].1).unwrap();
    let err = det.judge_day(d1[0].0, &d1[0].1).unwrap_err();
    assert!(matches!(err, DetectError::OutOfOrder { .. }), "{err}");
    let d0 = days(&[e("B", "2026-04-01 09:00:00", Op::Logout)]);
    assert!(matches!(
        det.judge_day(d0[0].0, &d0[0].1),
        Err(DetectError::OutOfOrder { .. })
    ));

    let rows = [
        e("B", "2026-04-03 09:00:00", Op::Logout),
        e("A", "2026-04-03 09:00:00", Op::Logout),
    ];
    let batch = batch_from_rows("x.csv", rows.iter().map(E::row)).unwrap();
    let err = det.judge_day(day("2026-04-03"), &batch).unwrap_err();
    assert!(matches!(err, DetectError::Unsorted { .. }), "{err}");
    assert!(err.to_string().contains("x.csv"), "{err}");

    let rows = [e("A", "2026-04-04 09:00:00", Op::Logout)];
    let batch = batch_from_rows("x.csv", rows.iter().map(E::row)).unwrap();
    let err = det.judge_day(day("2026-04-03"), &batch).unwrap_err();
    assert!(matches!(err, DetectError::WrongDay { .. }), "{err}");
    // A failed call leaves the detector as it was.
    assert_eq!(det.state().last_day, Some(day("2026-04-02")));

    let dup = [
        e("A", "2026-04-03 09:00:00", Op::Logout),
        e("A", "2026-04-03 09:00:00", Op::Logout),
    ];
    let batch = batch_from_rows("x.csv", dup.iter().map(E::row)).unwrap();
    assert!(matches!(
        det.judge_day(day("2026-04-03"), &batch),
        Err(DetectError::Unsorted { .. })
    ));
}

#[test]
fn resume_rejects_another_state_version() {
    let state = State {
        version: 99,
        ..State::default()
    };
    assert!(matches!(
        Detector::resume(Arc::new(ledgers()), state),
        Err(DetectError::State { .. })
    ));
}

#[test]
fn activity_histograms_and_percentiles() {
    let mut evs = Vec::new();
    // OP1: 3, 5, 1 events on three days; OP2: 2 on the last day. LOGIN_FAIL not counted.
    for (d, n) in [("2026-04-01", 3), ("2026-04-02", 5), ("2026-04-03", 1)] {
        for i in 0..n {
            evs.push(e(
                &format!("{d}-{i}"),
                &format!("{d} 10:0{i}:00"),
                Op::Search,
            ));
        }
    }
    evs.push(e("x1", "2026-04-03 11:00:00", Op::Search).by("OP2"));
    evs.push(e("x2", "2026-04-03 11:01:00", Op::Search).by("OP2"));
    evs.push(e("x3", "2026-04-03 11:02:00", Op::LoginFail).by("OP2"));
    let (_, det) = run_with(ledgers(), &evs);
    let a = det.activity();
    assert_eq!(a.day(), Some(day("2026-04-03")));
    assert_eq!(a.get("OP1").unwrap().today, 1);
    assert_eq!(a.get("OP1").unwrap().history.len(), 3);
    // History {1, 3, 5}: 5 is at or above all three days, 3 above two, 1 above one.
    assert_eq!(a.percentile("OP1", 5), Some(100.0));
    assert!((a.percentile("OP1", 3).unwrap() - 200.0 / 3.0).abs() < 1e-9);
    assert!((a.percentile("OP1", 1).unwrap() - 100.0 / 3.0).abs() < 1e-9);
    assert_eq!(a.percentile("OPZ", 1), None);
    let busy = a.busiest(5);
    assert_eq!(
        busy.iter()
            .map(|b| (b.operator.as_str(), b.volume))
            .collect::<Vec<_>>(),
        vec![("OP2", 2), ("OP1", 1)]
    );
    assert_eq!(busy[0].percentile, 100.0);
    // The saved state rebuilds the same histograms.
    let resumed = Detector::resume(Arc::new(ledgers()), det.state()).unwrap();
    assert_eq!(resumed.state(), det.state());
    assert_eq!(
        resumed.activity().percentile("OP1", 3),
        a.percentile("OP1", 3)
    );
}

#[test]
fn messages_never_show_resident_codes() {
    let (l, evs) = everything();
    let f = run(l, &evs);
    let targets: Vec<&str> = evs.iter().filter_map(|e| e.target.as_deref()).collect();
    assert!(!targets.is_empty());
    for x in &f {
        for lang in [crate::findings::Lang::Ja, crate::findings::Lang::En] {
            let m = crate::findings::message(x, lang);
            assert!(!targets.iter().any(|t| m.contains(t)), "{m}");
            assert!(m.contains(x.rule.regulation()), "{m}");
        }
    }
}

#[test]
fn an_empty_day_changes_nothing() {
    let (l, mut evs) = everything();
    // Move the last day to 04-03 so that 04-02 can be judged empty in between.
    for ev in &mut evs {
        if crate::time::jst_day(ev.ts) == day("2026-04-02") {
            ev.ts += crate::time::DAY_MS;
        }
    }
    let (straight, det1) = run_with(l.clone(), &evs);
    let mut det = Detector::new(Arc::new(l));
    let mut with_gap = Vec::new();
    for (d, batch) in days(&evs) {
        if d == day("2026-04-03") {
            let empty = batch_from_rows("x.csv", std::iter::empty()).unwrap();
            with_gap.extend(det.judge_day(day("2026-04-02"), &empty).unwrap());
        }
        with_gap.extend(det.judge_day(d, &batch).unwrap());
    }
    assert!(!straight.is_empty());
    assert_eq!(with_gap, straight);
    assert_eq!(det.state(), det1.state());
}
