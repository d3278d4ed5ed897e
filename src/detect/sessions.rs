//! `concurrent-terminals`: sessions of `rules.md`, carried across days.
//!
//! Per (operator, terminal) only the latest OK `LOGIN` can hold an open session: an earlier
//! one has that later login in `(t0, t)`. So the unit keeps, per pair, the time `t0` of the
//! latest login (every OK login at that very instant, which are all open together), and
//! `last`, the latest time of an event by the operator on the terminal other than
//! `LOGIN_FAIL`. A `LOGOUT` after `t0` ends the session for good, so it is dropped.
//! A session idle longer than the timeout is *not* dropped: by the definition it is open
//! again as soon as its operator acts on that terminal again (with no new login), so its
//! memory is bounded by the (operator, terminal) pairs, not by time.
//!
//! All OK `LOGIN`s at `t` are judged against the sessions as they stood before `t`
//! (events at exactly `t` neither refresh `last` nor close a session at `t`); then the
//! events at `t` update the sessions. Events without an operator or a terminal belong to
//! no session.

use serde::{Deserialize, Serialize};

use super::columns::{DayCtx, NONE};
use super::{State, Unit};
use crate::findings::{Facts, Finding};
use crate::model::{Op, RuleId};

/// A session between days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionState {
    pub operator: String,
    pub terminal: String,
    /// The time of the login(s) that opened it.
    pub login_time: i64,
    /// The OK `LOGIN` events at `login_time`, by event id.
    pub logins: Vec<String>,
    /// The latest time of an event by the operator on the terminal, `LOGIN_FAIL` excepted.
    pub last: i64,
}

/// A session during a day.
#[derive(Debug, Clone)]
struct Live<'a> {
    terminal: &'a str,
    /// The terminal's symbol in the day's dictionary ([`NONE`] if absent today).
    term: u32,
    t0: i64,
    logins: Vec<&'a str>,
    last: i64,
}

/// The `concurrent-terminals` rule.
#[derive(Debug, Clone)]
pub struct Sessions {
    pub timeout_ms: i64,
}

impl Unit for Sessions {
    fn judge(&self, d: &DayCtx<'_>, state: &mut State, out: &mut Vec<Finding>) {
        let saved = std::mem::take(&mut state.sessions);
        // Sessions per operator, the operator's index by dictionary symbol.
        let mut operators: Vec<&str> = Vec::new();
        let mut by_op: Vec<Vec<Live<'_>>> = Vec::new();
        let mut index: hashbrown::HashMap<&str, usize> = hashbrown::HashMap::new();
        let term_sym: hashbrown::HashMap<&str, u32> = d
            .terminal
            .values
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, i as u32))
            .collect();
        for s in &saved {
            let i = *index.entry(s.operator.as_str()).or_insert_with(|| {
                operators.push(&s.operator);
                by_op.push(Vec::new());
                by_op.len() - 1
            });
            by_op[i].push(Live {
                terminal: &s.terminal,
                term: term_sym.get(s.terminal.as_str()).copied().unwrap_or(NONE),
                t0: s.login_time,
                logins: s.logins.iter().map(String::as_str).collect(),
                last: s.last,
            });
        }
        let slot_of_sym: Vec<usize> = d
            .operator
            .values
            .iter()
            .map(|&o| {
                *index.entry(o).or_insert_with(|| {
                    operators.push(o);
                    by_op.push(Vec::new());
                    by_op.len() - 1
                })
            })
            .collect();

        let mut open: Vec<(i64, &str, &str)> = Vec::new();
        let mut row = 0;
        while row < d.len {
            let t = d.ts[row];
            let end = d.group_end(row);
            // Judge the group's logins against the sessions as they stood before `t`.
            for r in row..end {
                if d.op[r] != Op::Login || !d.ok[r] {
                    continue;
                }
                let (o, b) = (d.operator.syms[r], d.terminal.syms[r]);
                if o == NONE || b == NONE {
                    continue;
                }
                open.clear();
                for s in &by_op[slot_of_sym[o as usize]] {
                    if s.term != b && s.t0 < t && t - s.last <= self.timeout_ms {
                        open.extend(s.logins.iter().map(|id| (s.t0, *id, s.terminal)));
                    }
                }
                if open.is_empty() {
                    continue;
                }
                open.sort_unstable();
                let mut evidence = vec![d.id(r).to_owned()];
                evidence.extend(open.iter().map(|(_, id, _)| (*id).to_owned()));
                let facts = Facts::ConcurrentTerminals {
                    other_terminal: open[0].2.to_owned(),
                    other_login: open[0].0,
                };
                out.push(d.finding(RuleId::ConcurrentTerminals, r, evidence, facts));
            }
            // Then let the group's events update them.
            for r in row..end {
                let op = d.op[r];
                let (o, a) = (d.operator.syms[r], d.terminal.syms[r]);
                if op == Op::LoginFail || o == NONE || a == NONE {
                    continue;
                }
                let term = d.terminal.values[a as usize];
                let list = &mut by_op[slot_of_sym[o as usize]];
                let pos = list.iter().position(|s| s.term == a);
                match (op, pos) {
                    (Op::Login, _) if d.ok[r] => match pos {
                        Some(p) if list[p].t0 == t => list[p].logins.push(d.id(r)),
                        Some(p) => {
                            list[p] = Live {
                                terminal: term,
                                term: a,
                                t0: t,
                                logins: vec![d.id(r)],
                                last: t,
                            }
                        }
                        None => list.push(Live {
                            terminal: term,
                            term: a,
                            t0: t,
                            logins: vec![d.id(r)],
                            last: t,
                        }),
                    },
                    // A logout at the login's own instant is not in `(t0, t)`.
                    (Op::Logout, Some(p)) if list[p].t0 < t => {
                        list.swap_remove(p);
                    }
                    (_, Some(p)) => list[p].last = list[p].last.max(t),
                    (_, None) => {}
                }
            }
            row = end;
        }

        let mut sessions: Vec<SessionState> = Vec::new();
        for (operator, list) in operators.iter().zip(&by_op) {
            for s in list {
                sessions.push(SessionState {
                    operator: (*operator).to_owned(),
                    terminal: s.terminal.to_owned(),
                    login_time: s.t0,
                    logins: s.logins.iter().map(|id| (*id).to_owned()).collect(),
                    last: s.last,
                });
            }
        }
        sessions.sort_by(|a, b| (&a.operator, &a.terminal).cmp(&(&b.operator, &b.terminal)));
        drop(by_op);
        drop(operators);
        state.sessions = sessions;
    }
}
