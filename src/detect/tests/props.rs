//! Properties over random small event sets:
//!
//! * judging day by day with one detector, or with the state serialized, deserialized and
//!   resumed at every day boundary, gives the same findings, the same final state and the
//!   same state bytes;
//! * the stateful rules agree with a brute-force reading of `rules.md` (quadratic, over
//!   the whole event set at once, no state, no incremental windows).

use std::sync::Arc;

use proptest::prelude::*;

use super::support::*;
use crate::detect::{Detector, State};
use crate::findings::Finding;
use crate::ledger::{Ledgers, RulesConfig};
use crate::model::{Op, RuleId};
use crate::normalize::batch_from_rows;
use crate::time::{self, Day};

fn config() -> Ledgers {
    let mut l = with_approvals(
        ledgers(),
        vec![approval(
            "A1",
            "OP1",
            "2026-04-01 00:00:00",
            "2026-04-30 00:00:00",
            120,
        )],
    );
    l.rules = RulesConfig {
        mass_output_threshold: 100,
        split_output_window_minutes: 60,
        browse_threshold: 2,
        browse_window_minutes: 30,
        auth_fail_threshold: 2,
        auth_fail_window_minutes: 10,
        session_timeout_minutes: 30,
        verify_within_hours: 24,
        self_verification_lookback_days: 1,
        ..RulesConfig::default()
    };
    l
}

fn pick<T: Clone + std::fmt::Debug>(v: &[T]) -> impl Strategy<Value = T> + use<T> {
    let v = v.to_vec();
    (0..v.len()).prop_map(move |i| v[i].clone())
}

/// Random events over two days, clustered so that windows, sessions and pairs interact:
/// times on a coarse grid of 5 minutes (many equal timestamps) in a morning and around
/// midnight, the operations biased towards the stateful rules.
fn events() -> impl Strategy<Value = Vec<E>> {
    let one = (
        0..2i64,
        prop_oneof![0..4i64, 100..118i64, 284..288i64],
        prop_oneof![
            pick(&Op::ALL),
            pick(&[
                Op::Login,
                Op::LoginFail,
                Op::Logout,
                Op::View,
                Op::Print,
                Op::Input,
                Op::Verify
            ]),
        ],
        pick(&[Some("OP1"), Some("OP2"), Some("OP3"), None]),
        pick(&[Some("T1"), Some("T2"), Some("TX"), None]),
        pick(&["OK", "OK", "OK", "NG"]),
        pick(&[
            None,
            Some("10000000001"),
            Some("10000000002"),
            Some("10000000003"),
        ]),
        0..160i64,
        pick(&[None, Some("A1")]),
        0..64usize,
    );
    proptest::collection::vec(one, 1..120).prop_map(|raw| {
        let n = raw.len();
        raw.into_iter()
            .enumerate()
            .map(
                |(i, (d, slot, op, who, term, res, target, count, apv, refi))| {
                    let ts = at("2026-04-01 00:00:00") + d * time::DAY_MS + slot * 5 * 60_000;
                    let mut ev = e(&format!("e{i:02}"), "2026-04-01 00:00:00", op)
                        .at_ms(ts)
                        .res(res)
                        .count(count);
                    ev.operator = who.map(Into::into);
                    ev.terminal = term.map(Into::into);
                    ev.target = target.map(Into::into);
                    ev.approval = apv.map(Into::into);
                    if op == Op::Verify {
                        ev.reference = Some(format!("e{:02}", refi % n));
                    }
                    ev
                },
            )
            .collect()
    })
}

fn judge_straight(l: &Ledgers, evs: &[E]) -> (Vec<Finding>, State) {
    let (f, det) = run_with(l.clone(), evs);
    (f, det.state())
}

fn judge_resumed(l: &Ledgers, evs: &[E]) -> (Vec<Finding>, State) {
    let ledgers = Arc::new(l.clone());
    let mut bytes = Detector::new(Arc::clone(&ledgers))
        .state()
        .encode()
        .unwrap();
    let mut all = Vec::new();
    for (d, batch) in days(evs) {
        let state = State::decode(&bytes).unwrap();
        let mut det = Detector::resume(Arc::clone(&ledgers), state).unwrap();
        all.extend(det.judge_day(d, &batch).unwrap());
        bytes = det.state().encode().unwrap();
    }
    (all, State::decode(&bytes).unwrap())
}

#[test]
fn a_saved_state_of_another_format_is_refused_with_its_number() {
    let mut bytes = State::default().encode().unwrap();
    assert!(bytes.starts_with(crate::detect::STATE_TAG));
    bytes[crate::detect::STATE_TAG.len()] = 9;
    let err = State::decode(&bytes).unwrap_err().to_string();
    assert!(err.contains("file format 9"), "{err}");
    let err = State::decode(b"\x28\xb5junk").unwrap_err().to_string();
    assert!(err.contains("not a tenken rule-engine state"), "{err}");
    let mut long = State::default().encode().unwrap();
    long.push(0);
    assert!(State::decode(&long).is_err(), "trailing bytes are refused");
}

/// Judges each day from its rows dealt round-robin into `k` batches (each with its own
/// dictionaries, so symbols must be reconciled across parts) and an order pointing back
/// into them, as the day store hands days to `scan`.
fn judge_in_parts(l: &Ledgers, evs: &[E], k: usize) -> (Vec<Finding>, State) {
    let mut sorted = evs.to_vec();
    sorted.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
    let mut det = Detector::new(Arc::new(l.clone()));
    let mut all = Vec::new();
    let mut rest = sorted.as_slice();
    while let Some(first) = rest.first() {
        let d = time::jst_day(first.ts);
        let n = rest.iter().take_while(|e| time::jst_day(e.ts) == d).count();
        let (today, later) = rest.split_at(n);
        rest = later;
        // Dealt in reverse, so a part's row order is not the day's order.
        let mut dealt: Vec<Vec<&E>> = vec![Vec::new(); k];
        let mut order = vec![(0u32, 0u32); n];
        for (row, ev) in today.iter().enumerate().rev() {
            let p = row % k;
            order[row] = (p as u32, dealt[p].len() as u32);
            dealt[p].push(ev);
        }
        let parts: Vec<_> = dealt
            .iter()
            .map(|evs| batch_from_rows("test.csv", evs.iter().map(|e| e.row())).unwrap())
            .collect();
        let rows = crate::detect::DayRows {
            parts: &parts,
            order: Some(&order),
        };
        all.extend(det.judge_rows(d, rows).unwrap());
    }
    (all, det.state())
}

/// (rule, flagged event, evidence, judged_on) of the stateful rules.
type Key = (RuleId, String, Vec<String>, Day);

const STATEFUL: [RuleId; 6] = [
    RuleId::AuthFailureBurst,
    RuleId::BrowsingSpike,
    RuleId::SplitMassOutput,
    RuleId::ConcurrentTerminals,
    RuleId::SelfVerification,
    RuleId::UnverifiedChange,
];

fn keys(f: &[Finding]) -> Vec<Key> {
    let mut v: Vec<Key> = f
        .iter()
        .filter(|x| STATEFUL.contains(&x.rule))
        .map(|x| (x.rule, x.event_id.clone(), x.evidence.clone(), x.judged_on))
        .collect();
    v.sort();
    v
}

/// `rules.md` read literally, over all events at once.
fn brute_force(l: &Ledgers, evs: &[E]) -> Vec<Key> {
    let mut evs = evs.to_vec();
    evs.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
    let r = &l.rules;
    let min = 60_000;
    let ok = |x: &E| x.result.as_deref() == Some("OK");
    let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
    let order = |mut v: Vec<&E>, first: &E| -> Vec<String> {
        v.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
        let mut out = vec![first.id.clone()];
        out.extend(v.iter().filter(|x| x.id != first.id).map(|x| x.id.clone()));
        out
    };
    let within = |x: &E, e: &E, w: i64| x.ts > e.ts - w && x.ts <= e.ts;
    let mut out = Vec::new();
    let flag = |out: &mut Vec<Key>, rule, e: &E, ev: Vec<String>| {
        out.push((rule, e.id.clone(), ev, time::jst_day(e.ts)))
    };

    for e in &evs {
        if e.op == Op::LoginFail {
            let w = r.auth_fail_window_minutes * min;
            let by_op: Vec<&E> = evs
                .iter()
                .filter(|x| {
                    x.op == Op::LoginFail && same(&x.operator, &e.operator) && within(x, e, w)
                })
                .collect();
            let by_term: Vec<&E> = evs
                .iter()
                .filter(|x| {
                    x.op == Op::LoginFail && same(&x.terminal, &e.terminal) && within(x, e, w)
                })
                .collect();
            let t = r.auth_fail_threshold as usize;
            if by_op.len() >= t || by_term.len() >= t {
                let set = if by_op.len() >= by_term.len() {
                    by_op
                } else {
                    by_term
                };
                flag(&mut out, RuleId::AuthFailureBurst, e, order(set, e));
            }
        }
        let view = |x: &E| x.op == Op::View && ok(x) && x.target.is_some();
        if view(e) {
            let w = r.browse_window_minutes * min;
            let set: Vec<&E> = evs
                .iter()
                .filter(|x| view(x) && same(&x.operator, &e.operator) && within(x, e, w))
                .collect();
            let mut targets: Vec<_> = set.iter().map(|x| x.target.clone()).collect();
            targets.sort();
            targets.dedup();
            if set.iter().any(|x| x.id == e.id) && targets.len() >= r.browse_threshold as usize {
                flag(&mut out, RuleId::BrowsingSpike, e, order(set, e));
            }
        }
        let small = |x: &E| {
            x.op.is_output()
                && ok(x)
                && x.count < r.mass_output_threshold
                && !l.approvals.covers(
                    x.approval.as_deref(),
                    x.operator.as_deref(),
                    x.business.as_deref(),
                    x.ts,
                    x.count,
                )
        };
        if small(e) && e.operator.is_some() {
            let w = r.split_output_window_minutes * min;
            let set: Vec<&E> = evs
                .iter()
                .filter(|x| small(x) && same(&x.operator, &e.operator) && within(x, e, w))
                .collect();
            if set.iter().map(|x| x.count).sum::<i64>() >= r.mass_output_threshold {
                flag(&mut out, RuleId::SplitMassOutput, e, order(set, e));
            }
        }
        if e.op == Op::Login && ok(e) && e.operator.is_some() && e.terminal.is_some() {
            let t = e.ts;
            let mut open: Vec<&E> = Vec::new();
            for s in &evs {
                let a = &s.terminal;
                if !(s.op == Op::Login && ok(s) && same(&s.operator, &e.operator))
                    || a.is_none()
                    || a == &e.terminal
                    || s.ts >= t
                {
                    continue;
                }
                let t0 = s.ts;
                let on_a = |x: &&E| same(&x.operator, &e.operator) && &x.terminal == a;
                let closed = evs.iter().filter(on_a).any(|x| {
                    x.ts > t0 && x.ts < t && (x.op == Op::Logout || (x.op == Op::Login && ok(x)))
                });
                let last = evs
                    .iter()
                    .filter(on_a)
                    .filter(|x| x.op != Op::LoginFail && x.ts >= t0 && x.ts < t)
                    .map(|x| x.ts)
                    .max()
                    .unwrap_or(t0);
                if !closed && t - last <= r.session_timeout_minutes * min {
                    open.push(s);
                }
            }
            if !open.is_empty() {
                flag(&mut out, RuleId::ConcurrentTerminals, e, order(open, e));
            }
        }
        if e.op == Op::Verify
            && ok(e)
            && let Some(c) = evs
                .iter()
                .find(|c| Some(&c.id) == e.reference.as_ref() && c.op.is_change())
        {
            let (dv, dc) = (time::jst_day(e.ts), time::jst_day(c.ts));
            if same(&e.operator, &c.operator)
                && ((dv - dc).abs() as i64) <= r.self_verification_lookback_days
            {
                out.push((
                    RuleId::SelfVerification,
                    e.id.clone(),
                    vec![e.id.clone(), c.id.clone()],
                    dv.max(dc),
                ));
            }
        }
        if e.op.is_change() && ok(e) {
            let due = e.ts + r.verify_within_hours * 3_600_000;
            let verified = evs.iter().any(|v| {
                v.op == Op::Verify
                    && ok(v)
                    && v.reference.as_ref() == Some(&e.id)
                    && v.operator.is_some()
                    && v.operator != e.operator
                    && v.ts >= e.ts
                    && v.ts <= due
            });
            if !verified && let Some(reach) = evs.iter().find(|x| x.ts >= due) {
                out.push((
                    RuleId::UnverifiedChange,
                    e.id.clone(),
                    vec![e.id.clone()],
                    time::jst_day(reach.ts),
                ));
            }
        }
    }
    out.sort();
    out
}

proptest! {
    #[test]
    fn saved_ids_sort_in_plain_string_order(
        mut ids in proptest::collection::vec("[A\\x00-]{0,3}[KW0-9-]{0,30}", 0..64)
    ) {
        let mut by_prefix = ids.clone();
        by_prefix.sort_by(|a, b| {
            crate::detect::prefix_key(a)
                .cmp(&crate::detect::prefix_key(b))
                .then_with(|| a.cmp(b))
        });
        ids.sort();
        prop_assert_eq!(by_prefix, ids);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn resumed_run_equals_straight_run(evs in events()) {
        let l = config();
        let (f1, s1) = judge_straight(&l, &evs);
        let (f2, s2) = judge_resumed(&l, &evs);
        prop_assert_eq!(&f1, &f2);
        prop_assert_eq!(s1.to_json().unwrap(), s2.to_json().unwrap());
        prop_assert_eq!(s1.encode().unwrap(), s2.encode().unwrap());
        // A state saved as format 1 JSON by an earlier tenken reads back the same.
        prop_assert_eq!(&State::decode(&s1.to_json().unwrap()).unwrap(), &s1);
        prop_assert_eq!(s1, s2);
    }

    #[test]
    fn judging_parts_in_order_equals_judging_one_batch(evs in events(), k in 1..4usize) {
        let l = config();
        let (f1, s1) = judge_straight(&l, &evs);
        let (f2, s2) = judge_in_parts(&l, &evs, k);
        prop_assert_eq!(f1, f2);
        prop_assert_eq!(s1, s2);
    }

    #[test]
    fn stateful_rules_match_brute_force(evs in events()) {
        let l = config();
        let (f, _) = judge_straight(&l, &evs);
        prop_assert_eq!(keys(&f), brute_force(&l, &evs));
    }
}

#[test]
fn state_is_pruned_to_the_windows() {
    // After a quiet week only sessions (which may reopen) and activity remain.
    let l = config();
    let evs = [
        e("A", "2026-04-01 09:00:00", Op::LoginFail).by("OP2"),
        e("B", "2026-04-01 09:01:00", Op::View).target("10000000001"),
        e("C", "2026-04-01 09:02:00", Op::Input).target("10000000001"),
        e("D", "2026-04-01 09:03:00", Op::Login),
        e("Z", "2026-04-08 09:00:00", Op::Logout).by("OP3"),
    ];
    let (_, det) = run_with(l, &evs);
    let s = det.state();
    assert!(
        s.windows.values().flatten().all(|w| w.groups.is_empty()),
        "{s:?}"
    );
    assert!(
        s.changes.is_empty() && s.orphan_verifies.is_empty(),
        "{s:?}"
    );
    assert_eq!(s.sessions.len(), 1);
    assert_eq!(s.sessions[0].logins, vec!["D".to_owned()]);
}
