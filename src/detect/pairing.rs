//! `self-verification` and `unverified-change`: pairing a `VERIFY` with the change its
//! `ref_event_id` names.
//!
//! * A *change* is an `INPUT`, `DELETE` or `CORRECT` event of any result: `rules.md`
//!   defines Change by operation only, so a failed change verified by its own author is
//!   still a self-verification. Only OK changes need a verify (`unverified-change`).
//! * The change may be logged before or after the verify, on another day. Changes, and OK
//!   verifies whose change has not been seen, are remembered for
//!   `rules.self_verification_lookback_days` local days: a verify and its change are
//!   paired when their local dates are at most that many days apart (tenken's documented
//!   extension: `rules.md` sets no limit, but memory must stay bounded).
//! * An OK change is *pending* until an OK verify by a different operator names it within
//!   `[t(c), t(c) + verify_within_hours]` (it is then settled), or until the data reaches
//!   the deadline: before the events at time `T` are taken, every pending change with a
//!   deadline before `T` is judged; at the end of a day, every one with a deadline at or
//!   before the latest event time so far. The judgment point depends on the events only,
//!   so day-by-day runs and one run agree.
//! * An absent operator is nobody: it is never "the same operator", and a verify without
//!   an operator verifies nothing. A verify by an operator of a change without one is by
//!   a different operator.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::columns::{DayCtx, office_of};
use super::{State, Unit};
use crate::findings::{Facts, Finding};
use crate::model::{Op, RuleId};
use crate::time::{self, Day};

/// A change remembered between days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeState {
    pub timestamp: i64,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub terminal: Option<String>,
    pub op: Op,
    pub ok: bool,
    /// The deadline of a pending OK change; `None` once settled or judged.
    #[serde(default)]
    pub due: Option<i64>,
}

/// An OK verify whose change has not been seen yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyState {
    pub event_id: String,
    pub timestamp: i64,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub terminal: Option<String>,
}

/// A change not yet judgeable by `unverified-change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    pub event_id: String,
    pub timestamp: i64,
    pub operator: Option<String>,
    pub terminal: Option<String>,
    pub op: Op,
    /// `timestamp + verify_within_hours`: judged once the data reaches it.
    pub due: i64,
}

/// Both pairing rules, as one unit.
#[derive(Debug, Clone)]
pub struct Pairing {
    pub self_verification: bool,
    pub unverified: bool,
    pub within_ms: i64,
    pub within_hours: i64,
    pub lookback_days: i64,
}

fn same_operator(a: Option<&str>, b: Option<&str>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a == b)
}

impl Pairing {
    /// The first instant whose local date is within the lookback of `day`: an event at
    /// `ts` is within it exactly when `ts >= lookback_start(day)` (one comparison per
    /// remembered change instead of a date computation).
    fn lookback_start(&self, day: Day) -> i64 {
        (day as i64 - self.lookback_days)
            .saturating_mul(time::DAY_MS)
            .saturating_sub(time::JST_OFFSET_MS)
    }

    /// Drops what no verify or change of `first_day` or later can pair with.
    fn prune(&self, state: &mut State, first_day: Day) {
        let start = self.lookback_start(first_day);
        let keep = |ts: i64| self.self_verification && ts >= start;
        state
            .changes
            .retain(|_, c| c.due.is_some() || keep(c.timestamp));
        state.orphan_verifies.retain(|_, vs| {
            vs.retain(|v| keep(v.timestamp));
            !vs.is_empty()
        });
    }

    /// Judges the pending changes whose deadline satisfies `reached`.
    fn judge_due(
        &self,
        d: &DayCtx<'_>,
        state: &mut State,
        queue: &mut VecDeque<(i64, Cow<'_, str>)>,
        reached: impl Fn(i64) -> bool,
        out: &mut Vec<Finding>,
    ) {
        while let Some((due, _)) = queue.front() {
            if !reached(*due) {
                break;
            }
            let Some((due, id)) = queue.pop_front() else {
                break;
            };
            // Settled changes stay in the queue until their deadline passes.
            let Some(c) = state.changes.get_mut(&*id).filter(|c| c.due == Some(due)) else {
                continue;
            };
            c.due = None;
            let id = id.into_owned();
            out.push(Finding {
                rule: RuleId::UnverifiedChange,
                event_id: id.clone(),
                timestamp: c.timestamp,
                operator_id: c.operator.clone(),
                terminal_id: c.terminal.clone(),
                office: office_of(
                    d.ledgers,
                    c.terminal.as_deref(),
                    c.operator.as_deref(),
                    time::jst_day(c.timestamp),
                ),
                evidence: vec![id],
                facts: Facts::UnverifiedChange {
                    op: c.op,
                    within_hours: self.within_hours,
                },
                judged_on: d.day,
            });
        }
    }
}

/// A self-verification finding on a verify logged before its change was seen.
fn self_verification_late(
    d: &DayCtx<'_>,
    v: &VerifyState,
    change_id: &str,
    change_op: Op,
) -> Finding {
    Finding {
        rule: RuleId::SelfVerification,
        event_id: v.event_id.clone(),
        timestamp: v.timestamp,
        operator_id: v.operator.clone(),
        terminal_id: v.terminal.clone(),
        office: office_of(
            d.ledgers,
            v.terminal.as_deref(),
            v.operator.as_deref(),
            time::jst_day(v.timestamp),
        ),
        evidence: vec![v.event_id.clone(), change_id.to_owned()],
        facts: Facts::SelfVerification {
            change_event_id: change_id.to_owned(),
            change_op,
        },
        judged_on: d.day,
    }
}

impl Unit for Pairing {
    fn judge(&self, d: &DayCtx<'_>, state: &mut State, out: &mut Vec<Finding>) {
        self.prune(state, d.day);
        // Pending changes by deadline. Deadlines of new changes ascend with time; a saved
        // state made with another `verify_within_hours` may not, hence the sorted insert.
        // Today's changes borrow their ids from the day's batch.
        let mut pending: Vec<(i64, Cow<'_, str>)> = state
            .changes
            .iter()
            .filter_map(|(id, c)| c.due.map(|due| (due, Cow::Owned(id.clone()))))
            .collect();
        pending.sort_unstable();
        let mut queue: VecDeque<(i64, Cow<'_, str>)> = pending.into();
        let lookback_start = self.lookback_start(d.day);
        let relevant = |r: usize| d.op[r].is_change() || (d.op[r] == Op::Verify && d.ok[r]);
        let mut row = 0;
        while row < d.len {
            if !relevant(row) {
                row += 1;
                continue;
            }
            let t = d.ts[row];
            let end = d.group_end(row);
            self.judge_due(d, state, &mut queue, |due| due < t, out);
            // Changes at `t` first: a verify at the same instant may name one of them.
            for r in (row..end).filter(|&r| d.op[r].is_change()) {
                let id = d.id(r);
                let operator = d.operator.get(r);
                if self.self_verification
                    && let Some(verifies) = state.orphan_verifies.remove(id)
                {
                    for v in verifies
                        .iter()
                        .filter(|v| same_operator(v.operator.as_deref(), operator))
                    {
                        out.push(self_verification_late(d, v, id, d.op[r]));
                    }
                }
                let due = (self.unverified && d.ok[r]).then_some(t + self.within_ms);
                if !self.self_verification && due.is_none() {
                    continue;
                }
                if let Some(due) = due {
                    if queue.back().is_none_or(|(last, _)| *last <= due) {
                        queue.push_back((due, Cow::Borrowed(id)));
                    } else {
                        let at = queue.partition_point(|(q, _)| *q <= due);
                        queue.insert(at, (due, Cow::Borrowed(id)));
                    }
                }
                state.changes.insert(
                    id.to_owned(),
                    ChangeState {
                        timestamp: t,
                        operator: operator.map(str::to_owned),
                        terminal: d.terminal.get(r).map(str::to_owned),
                        op: d.op[r],
                        ok: d.ok[r],
                        due,
                    },
                );
            }
            for r in (row..end).filter(|&r| d.op[r] == Op::Verify && d.ok[r]) {
                let Some(target) = d.ref_event_id.get(r) else {
                    continue;
                };
                let operator = d.operator.get(r);
                match state.changes.get_mut(target) {
                    Some(c) => {
                        // A change kept only because it is pending may be older than the
                        // lookback: it no longer pairs for self-verification.
                        let in_lookback = c.timestamp >= lookback_start;
                        if self.self_verification
                            && in_lookback
                            && same_operator(operator, c.operator.as_deref())
                        {
                            out.push(d.finding(
                                RuleId::SelfVerification,
                                r,
                                vec![d.id(r).to_owned(), target.to_owned()],
                                Facts::SelfVerification {
                                    change_event_id: target.to_owned(),
                                    change_op: c.op,
                                },
                            ));
                        }
                        if let Some(due) = c.due
                            && operator.is_some()
                            && operator != c.operator.as_deref()
                            && (c.timestamp..=due).contains(&t)
                        {
                            c.due = None;
                        }
                    }
                    None if self.self_verification => {
                        state
                            .orphan_verifies
                            .entry(target.to_owned())
                            .or_default()
                            .push(VerifyState {
                                event_id: d.id(r).to_owned(),
                                timestamp: t,
                                operator: operator.map(str::to_owned),
                                terminal: d.terminal.get(r).map(str::to_owned),
                            });
                    }
                    None => {}
                }
            }
            row = end;
        }
        if let Some(latest) = d.latest {
            self.judge_due(d, state, &mut queue, |due| due <= latest, out);
        }
        self.prune(state, d.day + 1);
    }
}

/// The pending changes of a saved state, by deadline then event id.
pub(crate) fn pending<H>(changes: &HashMap<String, ChangeState, H>) -> Vec<PendingChange> {
    let mut v: Vec<PendingChange> = changes
        .iter()
        .filter_map(|(id, c)| {
            c.due.map(|due| PendingChange {
                event_id: id.clone(),
                timestamp: c.timestamp,
                operator: c.operator.clone(),
                terminal: c.terminal.clone(),
                op: c.op,
                due,
            })
        })
        .collect();
    v.sort_by(|a, b| (a.due, &a.event_id).cmp(&(b.due, &b.event_id)));
    v
}
