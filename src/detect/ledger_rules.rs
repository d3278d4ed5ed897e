//! The rules that judge one event against the rule tables, with nothing carried between
//! events: `undesignated-operator`, `out-of-scope-business`, `unassigned-terminal`,
//! `output-without-request`, `unmatched-request`, `off-hours`, `unapproved-mass-output`,
//! `watchlist-access`.
//!
//! The ledgers are asked once per distinct value of the day, not once per row: each
//! operator's designation row on the day, each terminal's register row, calendar and open
//! interval, each business code's exemption; (operator, business) and (operator, terminal)
//! answers are cached as they first occur. A row is then a handful of array look-ups.

use super::columns::{DayCtx, NONE};
use super::predicate::covered;
use super::{State, Unit};
use crate::findings::{Facts, Finding, TerminalWhy};
use crate::ledger::{Allow, Designation, Terminal};
use crate::model::{Op, RuleId};

/// The ledger rules, as one unit.
#[derive(Debug, Clone, Default)]
pub struct LedgerRules;

/// Which rules are on, looked up once a day.
struct On {
    undesignated: bool,
    scope: bool,
    terminal: bool,
    request: bool,
    unmatched: bool,
    hours: bool,
    mass: bool,
    watch: bool,
}

/// The operations `out-of-scope-business` judges.
const SCOPED: u16 = bits(&[
    Op::Search,
    Op::View,
    Op::Extract,
    Op::Print,
    Op::Export,
    Op::Input,
    Op::Delete,
    Op::Correct,
    Op::Verify,
]);

const fn bits(ops: &[Op]) -> u16 {
    let mut m = 0u16;
    let mut i = 0;
    while i < ops.len() {
        m |= 1 << ops[i] as u16;
        i += 1;
    }
    m
}

/// Why a designated operator may not use a terminal, or `None` when they may.
fn terminal_why(
    des: &Designation,
    terminal: Option<&Terminal>,
    id: Option<&str>,
) -> Option<TerminalWhy> {
    let Some(term) = terminal else {
        return Some(TerminalWhy::NotRegistered);
    };
    match &des.terminals {
        Allow::Any if term.office != des.office => Some(TerminalWhy::OtherOffice {
            terminal_office: term.office.clone(),
            operator_office: des.office.clone(),
        }),
        Allow::Any => None,
        allow if !allow.allows(id) => Some(TerminalWhy::NotListed),
        _ => None,
    }
}

/// Small answers per (operator, other value) pair of the day, computed on first use.
/// An operator mostly uses one terminal and few business codes in a day, so the first
/// pair of each operator is kept in a flat array (one cache line serves several operators;
/// a list per operator cost two dependent cache misses per row) and the others in a map.
struct PairCache {
    first: Vec<Option<(u32, u32)>>,
    more: hashbrown::HashMap<u64, u32>,
}

impl PairCache {
    fn new(operators: usize) -> PairCache {
        PairCache {
            first: vec![None; operators],
            more: hashbrown::HashMap::new(),
        }
    }

    #[inline]
    fn get(&mut self, a: u32, b: u32, compute: impl FnOnce() -> u32) -> u32 {
        let Some(slot) = self.first.get_mut(a as usize) else {
            return compute();
        };
        match *slot {
            Some((k, v)) if k == b => return v,
            None => {
                let v = compute();
                *slot = Some((b, v));
                return v;
            }
            Some(_) => {}
        }
        *self
            .more
            .entry((u64::from(a) << 32) | u64::from(b))
            .or_insert_with(compute)
    }
}

/// Answers per (operator, business code) pair of the day: a flat table when the day's
/// operators times codes is small (it is: codes number a few dozen), else a [`PairCache`].
/// Operators use several codes a day, so most rows miss a first-pair cache; the table
/// is one index, no hashing.
enum PairTable {
    Flat {
        /// Codes per operator, plus one for an absent code.
        width: usize,
        /// [`UNKNOWN`] until computed.
        cells: Vec<u32>,
    },
    Sparse(PairCache),
}

const UNKNOWN: u32 = u32::MAX;
/// The largest flat table, in cells (1 MiB).
const FLAT_CELLS: usize = 1 << 18;

impl PairTable {
    fn new(operators: usize, values: usize) -> PairTable {
        let width = values + 1;
        match operators.checked_mul(width) {
            Some(n) if n <= FLAT_CELLS => PairTable::Flat {
                width,
                cells: vec![UNKNOWN; n],
            },
            _ => PairTable::Sparse(PairCache::new(operators)),
        }
    }

    #[inline]
    fn get(&mut self, a: u32, b: u32, compute: impl FnOnce() -> u32) -> u32 {
        match self {
            PairTable::Flat { width, cells } => {
                // An absent value (`NONE`) has the last column.
                let col = (b as usize).min(*width - 1);
                match cells.get_mut(a as usize * *width + col) {
                    Some(c) if *c != UNKNOWN => *c,
                    Some(c) => {
                        *c = compute();
                        *c
                    }
                    None => compute(),
                }
            }
            PairTable::Sparse(cache) => cache.get(a, b, compute),
        }
    }
}

impl Unit for LedgerRules {
    fn judge(&self, d: &DayCtx<'_>, _state: &mut State, out: &mut Vec<Finding>) {
        let l = d.ledgers;
        let cfg = &l.rules;
        let on = On {
            undesignated: cfg.enabled(RuleId::UndesignatedOperator),
            scope: cfg.enabled(RuleId::OutOfScopeBusiness),
            terminal: cfg.enabled(RuleId::UnassignedTerminal),
            request: cfg.enabled(RuleId::OutputWithoutRequest),
            unmatched: cfg.enabled(RuleId::UnmatchedRequest) && d.ledgers.requests.is_some(),
            hours: cfg.enabled(RuleId::OffHours),
            mass: cfg.enabled(RuleId::UnapprovedMassOutput),
            watch: cfg.enabled(RuleId::WatchlistAccess) && !d.index.watch.is_empty(),
        };

        // Per distinct value of the day.
        let desig: Vec<Option<&Designation>> = d
            .operator
            .values
            .iter()
            .map(|o| l.operators.designation(o, d.day))
            .collect();
        let terms: Vec<Option<&Terminal>> = d
            .terminal
            .values
            .iter()
            .map(|t| l.terminals.get(t))
            .collect();
        // Index `terms.len()` stands for an absent terminal: the default calendar.
        let calendars: Vec<&crate::ledger::Calendar> = d
            .terminal
            .values
            .iter()
            .map(|t| l.calendar_for(Some(t)))
            .chain(std::iter::once(l.calendar_for(None)))
            .collect();
        let intervals: Vec<Option<(i64, i64)>> = calendars
            .iter()
            .map(|c| c.open_interval(d.day, &l.calendars.holidays))
            .collect();
        let exempt: Vec<bool> = d
            .business
            .values
            .iter()
            .map(|b| cfg.request_exempt_business_codes.contains(*b))
            .collect();
        let mut scope_cache = PairTable::new(d.operator.len(), d.business.len());
        // 0: allowed; k: `whys[k - 1]`.
        let mut term_cache = PairCache::new(d.operator.len());
        let mut whys: Vec<TerminalWhy> = Vec::new();
        // `unmatched-request` asks the large register: the day's accesses are collected
        // in the pass below and looked up together afterwards, in the register's own order
        // (see `Requests::check_all`).
        let mut access_rows: Vec<usize> = Vec::new();
        let mut accesses: Vec<(&str, Option<&str>)> = Vec::new();

        for row in 0..d.len {
            let op = d.op[row];
            let ok = d.ok[row];
            let o = d.operator.syms[row];
            let t = d.terminal.syms[row];
            let des = if o == NONE { None } else { desig[o as usize] };
            let flag = |out: &mut Vec<Finding>, rule, facts| {
                out.push(d.finding(rule, row, vec![d.id(row).to_owned()], facts));
            };

            match des {
                None => {
                    if on.undesignated && op != Op::LoginFail {
                        let registered = d
                            .operator
                            .get(row)
                            .is_some_and(|o| !l.operators.rows(o).is_empty());
                        flag(
                            out,
                            RuleId::UndesignatedOperator,
                            Facts::UndesignatedOperator { op, registered },
                        );
                    }
                }
                Some(des) => {
                    if on.scope && SCOPED & (1 << op as u16) != 0 {
                        let b = d.business.syms[row];
                        let allowed = scope_cache.get(o, b, || {
                            u32::from(des.business_codes.allows(d.business.value(b)))
                        });
                        if allowed == 0 {
                            flag(
                                out,
                                RuleId::OutOfScopeBusiness,
                                Facts::OutOfScopeBusiness {
                                    op,
                                    business_code: d.business.value(b).map(str::to_owned),
                                },
                            );
                        }
                    }
                    if on.terminal && op != Op::LoginFail {
                        let code = term_cache.get(o, t, || {
                            let term = if t == NONE { None } else { terms[t as usize] };
                            match terminal_why(des, term, d.terminal.value(t)) {
                                None => 0,
                                Some(why) => {
                                    whys.push(why);
                                    whys.len() as u32
                                }
                            }
                        });
                        if let Some(why) = code.checked_sub(1).map(|k| &whys[k as usize]) {
                            flag(
                                out,
                                RuleId::UnassignedTerminal,
                                Facts::UnassignedTerminal {
                                    op,
                                    why: why.clone(),
                                },
                            );
                        }
                    }
                }
            }

            if on.hours {
                let ci = if t == NONE { terms.len() } else { t as usize };
                let ms = d.ts[row] - d.midnight;
                let inside = intervals[ci].is_some_and(|(lo, hi)| lo <= ms && ms <= hi);
                if !inside {
                    flag(
                        out,
                        RuleId::OffHours,
                        Facts::OffHours {
                            op,
                            calendar: calendars[ci].name.clone(),
                            open_interval: intervals[ci],
                        },
                    );
                }
            }

            if !ok {
                continue;
            }
            let output = op.is_output();
            let access = output || op == Op::View;
            // Each text column is read once per row (a read through the day's order is a
            // few dependent loads).
            let target = if access || on.watch {
                d.target.get(row)
            } else {
                None
            };
            if access {
                let request = d.request_no.get(row);
                if on.request && request.is_none() {
                    let needs = output
                        || (target.is_some() && {
                            let b = d.business.syms[row];
                            b == NONE || !exempt[b as usize]
                        });
                    if needs {
                        flag(
                            out,
                            RuleId::OutputWithoutRequest,
                            Facts::OutputWithoutRequest {
                                op,
                                record_count: d.record_count[row],
                            },
                        );
                    }
                }
                if on.unmatched
                    && let Some(no) = request
                {
                    access_rows.push(row);
                    accesses.push((no, target));
                }
            }
            if on.mass
                && output
                && d.record_count[row] >= cfg.mass_output_threshold
                && !covered(d, row)
            {
                flag(
                    out,
                    RuleId::UnapprovedMassOutput,
                    Facts::UnapprovedMassOutput {
                        op,
                        record_count: d.record_count[row],
                        threshold: cfg.mass_output_threshold,
                        approval_no: d.approval_no.get(row).map(str::to_owned),
                    },
                );
            }
            if on.watch
                && let Some(target) = target
                && d.index.watch.forbidden(target, d.operator.get(row))
            {
                flag(out, RuleId::WatchlistAccess, Facts::WatchlistAccess { op });
            }
        }

        // Findings are sorted when the day is done, so these may come last.
        if let Some(reqs) = d.ledgers.requests.as_ref().filter(|_| on.unmatched) {
            let answers = reqs.check_all(&accesses, d.day);
            for ((&row, &(no, _)), answer) in access_rows.iter().zip(&accesses).zip(answers) {
                if let Err(why) = answer {
                    out.push(d.finding(
                        RuleId::UnmatchedRequest,
                        row,
                        vec![d.id(row).to_owned()],
                        Facts::UnmatchedRequest {
                            op: d.op[row],
                            request_no: no.to_owned(),
                            why,
                        },
                    ));
                }
            }
        }
    }
}
