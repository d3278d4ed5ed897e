//! Pattern rules: a condition on the event, optionally with rolling windows.
//!
//! The rules of the catalogue that need no ledger, no session and no pairing are written
//! in this one shape — `screen-hardcopy`, `recording-device`, `auth-failure-burst`,
//! `browsing-spike`, `split-mass-output` — and user-defined rules will be too:
//!
//! * without windows, every event matching `filter` is flagged;
//! * with windows, the events matching `filter` enter every window (grouped by the
//!   window's key), and a matching event `e` is flagged when, once every matching event at
//!   `t(e)` has been added, the aggregate of `(t(e) − W, t(e)]` in `e`'s group reaches the
//!   threshold in at least one window. Evidence: `e`, then the other events of the window
//!   with the most events (the first declared on a tie), by `(timestamp, event_id)`.

use super::columns::DayCtx;
use super::predicate::{Field, Predicate};
use super::window::{Aggregate, DayWindow, Reading, WindowSpec};
use super::{State, Unit};
use crate::findings::{BurstKey, Facts, Finding};
use crate::ledger::RulesConfig;
use crate::model::{Op, RuleId};

/// What a flagged event's windows read, for its facts.
pub struct Flag<'x> {
    /// The window whose events are the evidence (`None` for a rule without windows).
    pub window: Option<usize>,
    /// One reading per window, in declaration order.
    pub readings: &'x [(i64, usize)],
    pub specs: &'x [WindowSpec],
}

/// A condition, optionally counted over rolling windows.
#[derive(Debug, Clone)]
pub struct PatternRule {
    pub rule: RuleId,
    pub filter: Predicate,
    pub windows: Vec<WindowSpec>,
    /// The facts of a finding's message.
    pub facts: fn(&Flag<'_>) -> Facts,
}

const MINUTE_MS: i64 = 60_000;

impl PatternRule {
    /// The built-in pattern rules that `config` enables.
    pub fn builtins(config: &RulesConfig) -> Vec<PatternRule> {
        let threshold = config.mass_output_threshold;
        let all = vec![
            PatternRule {
                rule: RuleId::SplitMassOutput,
                filter: Predicate::All(vec![
                    Predicate::ops(&[Op::Extract, Op::Print, Op::Export]),
                    Predicate::ok(),
                    Predicate::Cmp(Field::RecordCount, super::predicate::CmpOp::Lt, threshold),
                    Predicate::Not(Box::new(Predicate::Covered)),
                ]),
                windows: vec![WindowSpec {
                    key: Field::OperatorId,
                    width_ms: config.split_output_window_minutes * MINUTE_MS,
                    aggregate: Aggregate::Sum(Field::RecordCount),
                    threshold,
                }],
                facts: |f| Facts::SplitMassOutput {
                    total: f.readings[0].0,
                    outputs: f.readings[0].1,
                    window_minutes: f.specs[0].width_ms / MINUTE_MS,
                    threshold: f.specs[0].threshold,
                },
            },
            PatternRule {
                rule: RuleId::ScreenHardcopy,
                filter: Predicate::All(vec![Predicate::ops(&[Op::Hardcopy]), Predicate::ok()]),
                windows: vec![],
                facts: |_| Facts::ScreenHardcopy,
            },
            PatternRule {
                rule: RuleId::AuthFailureBurst,
                filter: Predicate::ops(&[Op::LoginFail]),
                windows: [Field::OperatorId, Field::TerminalId]
                    .into_iter()
                    .map(|key| WindowSpec {
                        key,
                        width_ms: config.auth_fail_window_minutes * MINUTE_MS,
                        aggregate: Aggregate::Count,
                        threshold: config.auth_fail_threshold as i64,
                    })
                    .collect(),
                facts: |f| {
                    let w = f.window.unwrap_or(0);
                    Facts::AuthFailureBurst {
                        count: f.readings[w].1,
                        by: if w == 0 {
                            BurstKey::Operator
                        } else {
                            BurstKey::Terminal
                        },
                        window_minutes: f.specs[w].width_ms / MINUTE_MS,
                    }
                },
            },
            PatternRule {
                rule: RuleId::RecordingDevice,
                filter: Predicate::ops(&[Op::DeviceConnect]),
                windows: vec![],
                facts: |_| Facts::RecordingDevice,
            },
            PatternRule {
                rule: RuleId::BrowsingSpike,
                filter: Predicate::All(vec![
                    Predicate::ops(&[Op::View]),
                    Predicate::ok(),
                    Predicate::Present(Field::TargetCode),
                ]),
                windows: vec![WindowSpec {
                    key: Field::OperatorId,
                    width_ms: config.browse_window_minutes * MINUTE_MS,
                    aggregate: Aggregate::Distinct(Field::TargetCode),
                    threshold: config.browse_threshold as i64,
                }],
                facts: |f| Facts::BrowsingSpike {
                    distinct: f.readings[0].0 as usize,
                    window_minutes: f.specs[0].width_ms / MINUTE_MS,
                    threshold: f.specs[0].threshold as u32,
                },
            },
        ];
        all.into_iter().filter(|r| config.enabled(r.rule)).collect()
    }
}

impl Unit for PatternRule {
    fn judge(&self, d: &DayCtx<'_>, state: &mut State, out: &mut Vec<Finding>) {
        let filter = self.filter.bind(d);
        let mask = filter.op_mask();
        let matches = |row: usize| mask & (1 << d.op[row] as u16) != 0 && filter.eval(d, row);
        if self.windows.is_empty() {
            for row in 0..d.len {
                if matches(row) {
                    out.push(d.finding(
                        self.rule,
                        row,
                        vec![d.id(row).to_owned()],
                        (self.facts)(&Flag {
                            window: None,
                            readings: &[],
                            specs: &[],
                        }),
                    ));
                }
            }
            return;
        }
        let saved = state.windows.remove(self.rule.as_str()).unwrap_or_default();
        // Column-at-a-time: the matching rows first, then each window over all of them
        // (see `DayWindow`), then the findings in day order.
        let rows: Vec<u32> = (0..d.len)
            .filter(|&row| matches(row))
            .map(|row| row as u32)
            .collect();
        let windows: Vec<DayWindow<'_>> = self
            .windows
            .iter()
            .enumerate()
            .map(|(i, spec)| DayWindow::new(spec, saved.get(i), d, &rows))
            .collect();
        let mut readings: Vec<(i64, usize)> = vec![(0, 0); windows.len()];
        for (i, &r) in rows.iter().enumerate() {
            let r = r as usize;
            let mut flagged = false;
            let mut best: Option<usize> = None;
            for (k, w) in windows.iter().enumerate() {
                let Reading { value, count } = w.read(i);
                readings[k] = (value, count);
                if count > 0 && value >= w.spec().threshold {
                    flagged = true;
                }
                if best.is_none_or(|b| count > readings[b].1) {
                    best = Some(k);
                }
            }
            if flagged {
                let k = best.unwrap_or(0);
                let evidence = windows[k].evidence(d, &rows, i, d.id(r));
                let facts = (self.facts)(&Flag {
                    window: Some(k),
                    readings: &readings,
                    specs: &self.windows,
                });
                out.push(d.finding(self.rule, r, evidence, facts));
            }
        }
        let saved_now: Vec<_> = windows.iter().map(|w| w.save(d, &rows)).collect();
        drop(windows);
        state
            .windows
            .insert(self.rule.as_str().to_owned(), saved_now);
    }
}
