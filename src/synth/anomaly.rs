//! The anomalies `tenken gen` injects, one builder per variant, each labelled with every
//! finding it causes under the exact semantics of `rules.md`.
//!
//! Every anomaly is a session of its own (`LOGIN` … `LOGOUT`, or a run of `LOGIN_FAIL`s)
//! by one operator, placed where it cannot mix with anything else:
//! * the operator is reserved for 70 minutes on each side ([`RESERVE_GAP_MS`]), longer
//!   than every rolling window, so no other output, view, session or failed log-in of the
//!   same operator id falls into any of its windows;
//! * a burst of failed log-ins also blocks its terminal for other `LOGIN_FAIL`s;
//! * everything that is not the point of the anomaly is clean: designated operator,
//!   business in scope, allowed terminal, inside the calendar's hours (not needing the
//!   grace), views and outputs on a registered request about the same resident received
//!   that day or before, residents not on the watch list, a `LOGOUT` at the end.
//!
//! Side effects are part of the label set: an off-hours session flags every one of its
//! events (`LOGIN_FAIL` included); an undesignated operator's or an unassigned terminal's
//! session flags every event but `LOGIN_FAIL`; a self-verified change is also an
//! unverified change unless a colleague verifies it too.
//!
//! Anomalies take turns through [`WORKING`] (working days) so that a small data set
//! already holds one of each rule: the first fifteen entries cover every rule but
//! `off-hours`, which closed days ([`CLOSED`]) and entry sixteen supply. A variant whose
//! preconditions the day cannot meet (no second office, no expired operator yet, …)
//! passes its turn to the next.

use std::sync::Arc;

use rand::RngExt;

use super::day::{DayCtx, Detail, Sb, VerifyReq, cal_hours, request_kind};
use super::text;
use super::world::{BUSINESS_CODES, EXEMPT, Row, limits};
use crate::ledger::Allow;
use crate::model::{Op, RuleId};
use crate::time;

/// One kind of injected anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `screen-hardcopy`: an OK `HARDCOPY` after a view. Flags the `HARDCOPY`.
    Hardcopy,
    /// `recording-device`: a `DEVICE_CONNECT` (OK, or NG when device control blocked it:
    /// any result counts). Flags the `DEVICE_CONNECT`.
    RecordingDevice,
    /// `undesignated-operator`: an id absent from the register logs in (sometimes after a
    /// failed attempt), searches and views. Flags every event but the `LOGIN_FAIL`.
    UndesignatedUnregistered,
    /// `out-of-scope-business`: a designated operator searches and views under a business
    /// code their row does not list. Flags the `SEARCH` and the `VIEW`.
    OutOfScope,
    /// `unassigned-terminal`: a session on a terminal absent from `terminals.csv` (judged by
    /// the `default` calendar, inside whose hours it stays). Flags every event.
    UnassignedUnregistered,
    /// `output-without-request`: a one-page `PRINT` of a viewed resident with no request
    /// number. Flags the `PRINT`.
    OutputWithoutRequestPrint,
    /// `unmatched-request`: a `VIEW` naming a request number absent from the register.
    /// Flags the `VIEW`.
    UnmatchedUnknown,
    /// `unapproved-mass-output`: an `EXTRACT` of 100–2000 records with no approval number.
    /// Flags the `EXTRACT`.
    UnapprovedNoApproval,
    /// `split-mass-output`: small uncovered outputs (20–60 records, a request each) within
    /// 45 minutes whose running total reaches 100. Flags each output at whose time the
    /// window's total is ≥ 100 (all earlier outputs lie inside its window).
    SplitMassOutput,
    /// `self-verification` + `unverified-change`: a `CORRECT`/`INPUT` verified by its own
    /// operator only. Flags the `VERIFY` (self-verification) and the change
    /// (unverified-change, or pending when the data ends within 24 hours).
    SelfVerification,
    /// `unverified-change`: a change nobody verifies. Flags the change.
    UnverifiedChange,
    /// `concurrent-terminals`: log-in on a second allowed terminal while the first session
    /// is open (its last event minutes before), then log-out of both. Flags the second
    /// `LOGIN`.
    ConcurrentTerminals,
    /// `auth-failure-burst`: 5–7 `LOGIN_FAIL`s of one non-existent id on one terminal within
    /// 7 minutes. Flags the fifth and every later one.
    AuthBurstUnknownId,
    /// `browsing-spike`: 50–56 distinct residents viewed (plus up to 3 repeat views) within
    /// 50 minutes, each on a valid request. Flags every view at whose time the distinct
    /// count in the window is ≥ 50, repeat views included.
    BrowsingSpike,
    /// `watchlist-access`: a designated operator not allowed for a watch-listed resident
    /// searches by code, views (on a valid request) and sometimes prints the record.
    /// Flags each of those events.
    WatchlistAccess,
    /// `off-hours`: a session at 20:30–22:30 on a working day (sometimes after a failed
    /// log-in). Flags every event, the `LOGIN_FAIL` included.
    OffHoursEvening,
    /// `undesignated-operator`: an operator whose designation expired before the day.
    /// Flags every event but `LOGIN_FAIL`.
    UndesignatedExpired,
    /// `undesignated-operator`: an operator whose designation starts after the day.
    /// Flags every event but `LOGIN_FAIL`.
    UndesignatedLateStart,
    /// `out-of-scope-business`: a search and a view with an empty business code (only `*`
    /// would allow it). Flags both.
    OutOfScopeEmpty,
    /// `unassigned-terminal`: a session on another office's terminal, at a time that
    /// terminal's calendar is open. Flags every event.
    UnassignedOtherOffice,
    /// `unassigned-terminal`: a session on an office terminal the row's list leaves out.
    /// Flags every event.
    UnassignedNotListed,
    /// `output-without-request`: a `VIEW` of a resident with no request number under a
    /// business that is not exempt. Flags the `VIEW`.
    OutputWithoutRequestView,
    /// `output-without-request`: a small list `EXTRACT` (5–40 records) with no request
    /// number. Flags the `EXTRACT`.
    OutputWithoutRequestExtract,
    /// `unmatched-request`: a `VIEW` and a `PRINT` of one resident on a request about
    /// another. Flags both.
    UnmatchedOtherResident,
    /// `unmatched-request`: a `VIEW` and a `PRINT` on a request received 1–5 days later.
    /// Flags both.
    UnmatchedReceivedLater,
    /// `unapproved-mass-output`: a mass output whose approval expired a minute earlier.
    /// Flags the output.
    UnapprovedExpired,
    /// `unapproved-mass-output`: a mass output above its approval's `max_records`. Flags
    /// the output.
    UnapprovedOverMax,
    /// `unapproved-mass-output`: a mass output naming a colleague's approval. Flags the
    /// output.
    UnapprovedOtherOperator,
    /// `self-verification`: a change verified by its own operator and, later, by a
    /// colleague. Flags the self `VERIFY` only (if no colleague can be found, the change
    /// is labelled unverified too).
    SelfVerificationAndColleague,
    /// `unverified-change`: a change whose only `VERIFY`, by a colleague, failed (`NG`).
    /// Flags the change.
    UnverifiedNgVerify,
    /// `auth-failure-burst`: 5–6 `LOGIN_FAIL`s of a real operator's id on one terminal,
    /// then a successful log-in and a clean session. Flags the fifth failure and later.
    AuthBurstKnownId,
    /// `auth-failure-burst`: 5–6 `LOGIN_FAIL`s of different non-existent ids on one
    /// terminal (counted by terminal). Flags the fifth failure and later.
    AuthBurstTerminal,
    /// `off-hours`: a session at 06:00–07:40 on a working day. Flags every event.
    OffHoursEarly,
    /// `off-hours`: a session on a closed day (weekend, holiday, year-end). Flags every
    /// event, `LOGIN_FAIL` included.
    OffHoursClosedDay,
}

/// Working-day variants, in the order they take turns.
pub const WORKING: [Variant; 33] = [
    Variant::Hardcopy,
    Variant::RecordingDevice,
    Variant::UndesignatedUnregistered,
    Variant::OutOfScope,
    Variant::UnassignedUnregistered,
    Variant::OutputWithoutRequestPrint,
    Variant::UnmatchedUnknown,
    Variant::UnapprovedNoApproval,
    Variant::SplitMassOutput,
    Variant::SelfVerification,
    Variant::UnverifiedChange,
    Variant::ConcurrentTerminals,
    Variant::AuthBurstUnknownId,
    Variant::BrowsingSpike,
    Variant::WatchlistAccess,
    Variant::OffHoursEvening,
    Variant::UndesignatedExpired,
    Variant::UndesignatedLateStart,
    Variant::OutOfScopeEmpty,
    Variant::UnassignedOtherOffice,
    Variant::UnassignedNotListed,
    Variant::OutputWithoutRequestView,
    Variant::OutputWithoutRequestExtract,
    Variant::UnmatchedOtherResident,
    Variant::UnmatchedReceivedLater,
    Variant::UnapprovedExpired,
    Variant::UnapprovedOverMax,
    Variant::UnapprovedOtherOperator,
    Variant::SelfVerificationAndColleague,
    Variant::UnverifiedNgVerify,
    Variant::AuthBurstKnownId,
    Variant::AuthBurstTerminal,
    Variant::OffHoursEarly,
];

/// Closed-day variants.
pub const CLOSED: [Variant; 1] = [Variant::OffHoursClosedDay];

impl Variant {
    /// The name in `anomalies.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Hardcopy => "screen-hardcopy",
            Variant::RecordingDevice => "recording-device",
            Variant::UndesignatedUnregistered => "undesignated-unregistered",
            Variant::OutOfScope => "out-of-scope-unlisted-code",
            Variant::UnassignedUnregistered => "unassigned-unregistered-terminal",
            Variant::OutputWithoutRequestPrint => "output-without-request-print",
            Variant::UnmatchedUnknown => "unmatched-request-unknown-number",
            Variant::UnapprovedNoApproval => "unapproved-mass-output-no-approval",
            Variant::SplitMassOutput => "split-mass-output",
            Variant::SelfVerification => "self-verification-only",
            Variant::UnverifiedChange => "unverified-change",
            Variant::ConcurrentTerminals => "concurrent-terminals",
            Variant::AuthBurstUnknownId => "auth-failure-burst-unknown-id",
            Variant::BrowsingSpike => "browsing-spike",
            Variant::WatchlistAccess => "watchlist-access",
            Variant::OffHoursEvening => "off-hours-evening",
            Variant::UndesignatedExpired => "undesignated-expired",
            Variant::UndesignatedLateStart => "undesignated-late-start",
            Variant::OutOfScopeEmpty => "out-of-scope-empty-code",
            Variant::UnassignedOtherOffice => "unassigned-other-office",
            Variant::UnassignedNotListed => "unassigned-not-listed",
            Variant::OutputWithoutRequestView => "output-without-request-view",
            Variant::OutputWithoutRequestExtract => "output-without-request-extract",
            Variant::UnmatchedOtherResident => "unmatched-request-other-resident",
            Variant::UnmatchedReceivedLater => "unmatched-request-received-later",
            Variant::UnapprovedExpired => "unapproved-mass-output-expired",
            Variant::UnapprovedOverMax => "unapproved-mass-output-over-max",
            Variant::UnapprovedOtherOperator => "unapproved-mass-output-other-operator",
            Variant::SelfVerificationAndColleague => "self-verification-and-colleague",
            Variant::UnverifiedNgVerify => "unverified-change-ng-verify",
            Variant::AuthBurstKnownId => "auth-failure-burst-known-id",
            Variant::AuthBurstTerminal => "auth-failure-burst-terminal",
            Variant::OffHoursEarly => "off-hours-early",
            Variant::OffHoursClosedDay => "off-hours-closed-day",
        }
    }
}

impl Variant {
    /// The rules whose findings the variant's events carry (`unverified-change` of a
    /// self-verification only when no colleague verifies; a burst of a known id adds no
    /// other rule because the following log-in is clean).
    pub fn rules(self) -> &'static [RuleId] {
        use RuleId::*;
        match self {
            Variant::Hardcopy => &[ScreenHardcopy],
            Variant::RecordingDevice => &[RecordingDevice],
            Variant::UndesignatedUnregistered
            | Variant::UndesignatedExpired
            | Variant::UndesignatedLateStart => &[UndesignatedOperator],
            Variant::OutOfScope | Variant::OutOfScopeEmpty => &[OutOfScopeBusiness],
            Variant::UnassignedUnregistered
            | Variant::UnassignedOtherOffice
            | Variant::UnassignedNotListed => &[UnassignedTerminal],
            Variant::OutputWithoutRequestPrint
            | Variant::OutputWithoutRequestView
            | Variant::OutputWithoutRequestExtract => &[OutputWithoutRequest],
            Variant::UnmatchedUnknown
            | Variant::UnmatchedOtherResident
            | Variant::UnmatchedReceivedLater => &[UnmatchedRequest],
            Variant::UnapprovedNoApproval
            | Variant::UnapprovedExpired
            | Variant::UnapprovedOverMax
            | Variant::UnapprovedOtherOperator => &[UnapprovedMassOutput],
            Variant::SplitMassOutput => &[SplitMassOutput],
            Variant::SelfVerification => &[SelfVerification, UnverifiedChange],
            Variant::SelfVerificationAndColleague => &[SelfVerification],
            Variant::UnverifiedChange | Variant::UnverifiedNgVerify => &[UnverifiedChange],
            Variant::ConcurrentTerminals => &[ConcurrentTerminals],
            Variant::AuthBurstUnknownId
            | Variant::AuthBurstKnownId
            | Variant::AuthBurstTerminal => &[AuthFailureBurst],
            Variant::BrowsingSpike => &[BrowsingSpike],
            Variant::WatchlistAccess => &[WatchlistAccess],
            Variant::OffHoursEvening | Variant::OffHoursEarly | Variant::OffHoursClosedDay => {
                &[OffHours]
            }
        }
    }
}

/// Injects one anomaly, starting with `list[first]` and passing the turn on while a
/// variant cannot be built on this day. Returns the variant built.
pub fn inject(ctx: &mut DayCtx<'_>, list: &[Variant], first: usize) -> Option<Variant> {
    (0..list.len())
        .map(|k| list[(first + k) % list.len()])
        .find(|&v| build(ctx, v).is_some())
}

fn build(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    match v {
        Variant::Hardcopy => hardcopy(ctx, v),
        Variant::RecordingDevice => recording_device(ctx, v),
        Variant::UndesignatedUnregistered
        | Variant::UndesignatedExpired
        | Variant::UndesignatedLateStart => undesignated(ctx, v),
        Variant::OutOfScope | Variant::OutOfScopeEmpty => out_of_scope(ctx, v),
        Variant::UnassignedUnregistered
        | Variant::UnassignedOtherOffice
        | Variant::UnassignedNotListed => unassigned(ctx, v),
        Variant::OutputWithoutRequestPrint
        | Variant::OutputWithoutRequestView
        | Variant::OutputWithoutRequestExtract => without_request(ctx, v),
        Variant::UnmatchedUnknown
        | Variant::UnmatchedOtherResident
        | Variant::UnmatchedReceivedLater => unmatched(ctx, v),
        Variant::UnapprovedNoApproval
        | Variant::UnapprovedExpired
        | Variant::UnapprovedOverMax
        | Variant::UnapprovedOtherOperator => unapproved(ctx, v),
        Variant::SplitMassOutput => split(ctx, v),
        Variant::SelfVerification
        | Variant::SelfVerificationAndColleague
        | Variant::UnverifiedChange
        | Variant::UnverifiedNgVerify => changes(ctx, v),
        Variant::ConcurrentTerminals => concurrent(ctx, v),
        Variant::AuthBurstUnknownId | Variant::AuthBurstKnownId | Variant::AuthBurstTerminal => {
            burst(ctx, v)
        }
        Variant::BrowsingSpike => browsing(ctx, v),
        Variant::WatchlistAccess => watchlist(ctx, v),
        Variant::OffHoursEvening | Variant::OffHoursEarly | Variant::OffHoursClosedDay => {
            off_hours(ctx, v)
        }
    }
}

/// Where an anomaly session goes: who, on which terminal, from when.
struct Slot {
    op: usize,
    row: Row,
    who: Arc<str>,
    terminal: Arc<str>,
    t0: i64,
}

/// A designated operator meeting `pred`, one of their allowed terminals and a start in
/// `[lo, hi − dur]` with the operator free around `[start, start + dur]`.
fn slot_in(
    ctx: &mut DayCtx<'_>,
    lo: i64,
    hi: i64,
    dur: i64,
    pred: impl Fn(&DayCtx<'_>, usize, &Row) -> bool,
) -> Option<Slot> {
    let hi = hi - dur;
    if hi <= lo {
        return None;
    }
    let cands: Vec<(usize, Row)> = ctx
        .active
        .iter()
        .filter(|(o, r)| pred(ctx, *o, r) && !ctx.w.allowed_terminals(r).is_empty())
        .cloned()
        .collect();
    if cands.is_empty() {
        return None;
    }
    let first = ctx.rng.random_range(0..cands.len());
    for k in 0..cands.len() {
        let (op, row) = &cands[(first + k) % cands.len()];
        let who = Arc::clone(&ctx.w.operators[*op].id);
        for _ in 0..8 {
            let t0 = ctx.instant(lo, hi);
            if ctx.is_free(&who, t0, t0 + dur) {
                let terms = ctx.w.allowed_terminals(row);
                let term = terms[ctx.rng.random_range(0..terms.len())];
                return Some(Slot {
                    op: *op,
                    row: row.clone(),
                    who,
                    terminal: Arc::clone(&ctx.w.terminals[term].id),
                    t0,
                });
            }
        }
    }
    None
}

/// [`slot_in`] inside the office's hours, five minutes clear of opening and closing.
fn slot(
    ctx: &mut DayCtx<'_>,
    dur_min: i64,
    pred: impl Fn(&DayCtx<'_>, usize, &Row) -> bool,
) -> Option<Slot> {
    let (open, close) = ctx.hours?;
    slot_in(
        ctx,
        open + 5 * 60_000,
        close - 5 * 60_000,
        dur_min * 60_000,
        pred,
    )
}

/// Reserves the session's operator, records the anomaly and adds the session.
fn commit(ctx: &mut DayCtx<'_>, v: Variant, operator: Option<usize>, sbs: Vec<Sb>) {
    let mut uids = Vec::new();
    for sb in sbs {
        if let (Some(a), Some(b)) = (sb.events.first(), sb.events.last()) {
            let (s, e) = (a.t, b.t);
            let who = Arc::clone(&sb.operator);
            ctx.reserve(&who, s, e);
        }
        uids.extend(sb.events.iter().map(|e| e.uid));
        ctx.push_session(operator, false, sb);
    }
    ctx.injected.push(super::day::Injected {
        variant: v.name(),
        uids,
    });
}

/// Business codes a row allows, except those in `but`.
fn codes_of(row: &Row, but: &[&str]) -> Vec<&'static str> {
    BUSINESS_CODES
        .iter()
        .copied()
        .filter(|c| row.business.allows(Some(c)) && !but.contains(c))
        .collect()
}

fn pick<T: Copy>(ctx: &mut DayCtx<'_>, v: &[T]) -> Option<T> {
    if v.is_empty() {
        None
    } else {
        Some(v[ctx.rng.random_range(0..v.len())])
    }
}

fn hardcopy(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let s = slot(ctx, 15, |_, _, _| true)?;
    let mut sb = Sb::new(s.who, s.terminal, s.t0);
    ctx.login(&mut sb, false, true);
    let biz = ctx.pick_business(&s.row);
    ctx.lead_in(&mut sb, biz);
    sb.t += ctx.step(5, 40);
    let d = pick(ctx, text::HARDCOPY)?;
    let e = ctx.ev(&mut sb, Op::Hardcopy);
    e.detail = Detail::One(d);
    e.flag(RuleId::ScreenHardcopy);
    ctx.logout(&mut sb);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

fn recording_device(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let s = slot(ctx, 15, |_, _, _| true)?;
    let mut sb = Sb::new(s.who, s.terminal, s.t0);
    ctx.login(&mut sb, false, true);
    sb.t += ctx.step(20, 120);
    let d = pick(ctx, text::DEVICE)?;
    let result = if d.contains("遮断") { "NG" } else { "OK" };
    let e = ctx.ev(&mut sb, Op::DeviceConnect);
    e.detail = Detail::One(d);
    e.result = result;
    e.flag(RuleId::RecordingDevice);
    let biz = ctx.pick_business(&s.row);
    sb.t += ctx.step(20, 90);
    ctx.search(&mut sb, Some(biz), None);
    ctx.logout(&mut sb);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

/// An operator of this office with no designation at all on the day, whose row here
/// ended before it (`expired`) or starts after it (`late`).
fn undesignated_candidates(ctx: &DayCtx<'_>, expired: bool) -> Vec<usize> {
    let w = ctx.w;
    w.offices[ctx.office]
        .operators
        .iter()
        .copied()
        .filter(|&op| w.designation(op, ctx.day).is_none())
        .filter(|&op| {
            w.operators[op].rows.iter().any(|r| {
                r.office == ctx.office
                    && if expired {
                        r.until.is_some_and(|u| u < ctx.day)
                    } else {
                        r.from > ctx.day
                    }
            })
        })
        .collect()
}

fn undesignated(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let (open, close) = ctx.hours?;
    let (who, operator) = match v {
        Variant::UndesignatedUnregistered => (ctx.unregistered_id(), None),
        _ => {
            let c = undesignated_candidates(ctx, v == Variant::UndesignatedExpired);
            let op = pick(ctx, &c)?;
            (Arc::clone(&ctx.w.operators[op].id), Some(op))
        }
    };
    let dur = 15 * 60_000;
    let t0 = ctx.instant(open + 5 * 60_000, close - 5 * 60_000 - dur);
    if !ctx.is_free(&who, t0, t0 + dur) {
        return None;
    }
    let terms = ctx.w.offices[ctx.office].terminals.clone();
    let term = pick(ctx, &terms)?;
    let terminal = Arc::clone(&ctx.w.terminals[term].id);
    let mut sb = Sb::new(who, terminal, t0);
    ctx.login(&mut sb, true, true);
    let biz = pick(ctx, &["W01", "W02", "U01"])?;
    ctx.lead_in(&mut sb, biz);
    ctx.logout(&mut sb);
    sb.flag_all(RuleId::UndesignatedOperator, false);
    commit(ctx, v, operator, vec![sb]);
    Some(())
}

fn out_of_scope(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let empty = v == Variant::OutOfScopeEmpty;
    let s = slot(ctx, 15, |_, _, r| match &r.business {
        Allow::Any => false,
        Allow::Only(set) => empty || set.len() < BUSINESS_CODES.len(),
    })?;
    let biz = if empty {
        None
    } else {
        let missing: Vec<&'static str> = BUSINESS_CODES
            .iter()
            .copied()
            .filter(|c| !s.row.business.allows(Some(c)))
            .collect();
        Some(pick(ctx, &missing)?)
    };
    let mut sb = Sb::new(s.who, s.terminal, s.t0);
    ctx.login(&mut sb, false, true);
    let target = ctx.resident();
    let req = ctx.request_for(biz.unwrap_or("W01"), Some(target));
    sb.t += ctx.step(20, 90);
    let d = pick(ctx, text::SEARCH)?;
    let e = ctx.ev(&mut sb, Op::Search);
    e.biz = biz;
    e.count = 1;
    e.detail = Detail::One(d);
    e.flag(RuleId::OutOfScopeBusiness);
    sb.t += ctx.step(10, 60);
    ctx.view(&mut sb, biz, target, Some(req));
    if let Some(e) = sb.events.last_mut() {
        e.flag(RuleId::OutOfScopeBusiness);
    }
    ctx.logout(&mut sb);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

/// Who may take an anomaly's slot.
type Pred = fn(&DayCtx<'_>, usize, &Row) -> bool;

fn unassigned(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let (open, close) = ctx.hours?;
    let w = ctx.w;
    let dur = 15 * 60_000;
    // The terminal, and the hours of the calendar it is judged by.
    let (terminal, hours, pred): (Arc<str>, (i64, i64), Pred) = match v {
        Variant::UnassignedUnregistered => {
            let k = ctx.rng.random_range(1..100);
            let id: Arc<str> = format!("{}-PC{k:02}", ctx.office_id).into();
            let h = cal_hours(&w.calendars[0], ctx.day, &w.holidays)?;
            (id, h, |_, _, _| true)
        }
        Variant::UnassignedOtherOffice => {
            let others: Vec<usize> = (0..w.offices.len()).filter(|&o| o != ctx.office).collect();
            let o2 = pick(ctx, &others)?;
            let h = w.hours(o2, ctx.day)?;
            let t = pick(ctx, &w.offices[o2].terminals)?;
            (Arc::clone(&w.terminals[t].id), h, |_, _, _| true)
        }
        _ => {
            // Chosen with the operator below.
            ("".into(), (open, close), |c, _, r| {
                c.w.allowed_terminals(r).len() < c.w.offices[c.office].terminals.len()
            })
        }
    };
    let lo = open.max(hours.0) + 5 * 60_000;
    let hi = close.min(hours.1) - 5 * 60_000;
    let s = slot_in(ctx, lo, hi, dur, pred)?;
    let terminal = if v == Variant::UnassignedNotListed {
        let allowed = w.allowed_terminals(&s.row);
        let others: Vec<usize> = w.offices[ctx.office]
            .terminals
            .iter()
            .copied()
            .filter(|t| !allowed.contains(t))
            .collect();
        Arc::clone(&w.terminals[pick(ctx, &others)?].id)
    } else {
        terminal
    };
    let mut sb = Sb::new(s.who, terminal, s.t0);
    ctx.login(&mut sb, false, false);
    let biz = ctx.pick_business(&s.row);
    ctx.lead_in(&mut sb, biz);
    ctx.logout(&mut sb);
    sb.flag_all(RuleId::UnassignedTerminal, false);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

fn without_request(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let s = slot(ctx, 15, |_, _, r| !codes_of(r, &[EXEMPT]).is_empty())?;
    let codes = codes_of(&s.row, &[EXEMPT]);
    let biz = pick(ctx, &codes)?;
    let mut sb = Sb::new(s.who, s.terminal, s.t0);
    ctx.login(&mut sb, false, true);
    match v {
        Variant::OutputWithoutRequestPrint => {
            let (target, _) = ctx.lead_in(&mut sb, biz);
            sb.t += ctx.step(10, 60);
            let e = ctx.ev(&mut sb, Op::Print);
            e.biz = Some(biz);
            e.target = Some(target);
            e.count = 1;
            e.detail = Detail::One(text::print_one(biz));
            e.flag(RuleId::OutputWithoutRequest);
        }
        Variant::OutputWithoutRequestView => {
            let target = ctx.resident();
            sb.t += ctx.step(20, 90);
            ctx.search(&mut sb, Some(biz), Some(target));
            sb.t += ctx.step(10, 60);
            ctx.view(&mut sb, Some(biz), target, None);
            if let Some(e) = sb.events.last_mut() {
                e.flag(RuleId::OutputWithoutRequest);
            }
        }
        _ => {
            sb.t += ctx.step(20, 90);
            let n = ctx.rng.random_range(5..=40);
            let e = ctx.ev(&mut sb, Op::Extract);
            e.biz = Some(biz);
            e.count = n;
            e.detail = Detail::One(text::list(biz));
            e.flag(RuleId::OutputWithoutRequest);
        }
    }
    ctx.logout(&mut sb);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

fn unmatched(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let s = slot(ctx, 15, |_, _, r| !codes_of(r, &[EXEMPT]).is_empty())?;
    let codes = codes_of(&s.row, &[EXEMPT]);
    let biz = pick(ctx, &codes)?;
    let target = ctx.resident();
    let req = match v {
        Variant::UnmatchedUnknown => ctx.unknown_request(),
        Variant::UnmatchedOtherResident => {
            let other = loop {
                let o = ctx.resident();
                if o != target {
                    break o;
                }
            };
            ctx.request_for(biz, Some(other))
        }
        _ => {
            let later = ctx.day + ctx.rng.random_range(1..=5);
            ctx.request(biz, Some(target), request_kind(biz, true), later)
        }
    };
    let mut sb = Sb::new(s.who, s.terminal, s.t0);
    ctx.login(&mut sb, false, true);
    sb.t += ctx.step(20, 90);
    ctx.search(&mut sb, Some(biz), Some(target));
    sb.t += ctx.step(10, 60);
    ctx.view(&mut sb, Some(biz), target, Some(Arc::clone(&req)));
    if let Some(e) = sb.events.last_mut() {
        e.flag(RuleId::UnmatchedRequest);
    }
    if v != Variant::UnmatchedUnknown {
        sb.t += ctx.step(10, 60);
        let e = ctx.ev(&mut sb, Op::Print);
        e.biz = Some(biz);
        e.target = Some(target);
        e.count = 1;
        e.request = Some(req);
        e.detail = Detail::One(text::print_one(biz));
        e.flag(RuleId::UnmatchedRequest);
    }
    ctx.logout(&mut sb);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

fn unapproved(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let s = slot(ctx, 15, |c, o, _| {
        v != Variant::UnapprovedOtherOperator || c.active.iter().any(|a| a.0 != o)
    })?;
    let lists: Vec<&'static str> = codes_of(&s.row, &[EXEMPT])
        .into_iter()
        .filter(|c| c.starts_with('L'))
        .collect();
    let biz = match pick(ctx, &lists) {
        Some(b) => b,
        None => ctx.pick_business(&s.row),
    };
    let mut sb = Sb::new(Arc::clone(&s.who), s.terminal, s.t0);
    ctx.login(&mut sb, false, true);
    sb.t += ctx.step(30, 120);
    let t = sb.t;
    let n = ctx.rng.random_range(300..=2000);
    let approval = match v {
        Variant::UnapprovedNoApproval => None,
        Variant::UnapprovedExpired => {
            let from = t - ctx.rng.random_range(1..=3) * 86_400_000;
            Some(ctx.approval(&s.who, Some(biz), from, t - 60_000, 2000))
        }
        Variant::UnapprovedOverMax => {
            let max = n - ctx.rng.random_range(1..=200);
            Some(ctx.approval(&s.who, Some(biz), t - 3_600_000, t + 86_400_000, max))
        }
        _ => {
            let others: Vec<usize> = ctx
                .active
                .iter()
                .map(|a| a.0)
                .filter(|&o| o != s.op)
                .collect();
            let o2 = pick(ctx, &others)?;
            let id = Arc::clone(&ctx.w.operators[o2].id);
            Some(ctx.approval(&id, Some(biz), t - 3_600_000, t + 86_400_000, 2000))
        }
    };
    let req = ctx.request_for(biz, None);
    let e = ctx.ev(&mut sb, Op::Extract);
    e.biz = Some(biz);
    e.count = n;
    e.request = Some(req);
    e.approval = approval;
    e.detail = Detail::Two(text::list(biz), text::MASS_OUTPUT);
    e.flag(RuleId::UnapprovedMassOutput);
    ctx.logout(&mut sb);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

fn split(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let s = slot(ctx, 55, |_, _, r| !codes_of(r, &[EXEMPT]).is_empty())?;
    let codes = codes_of(&s.row, &[EXEMPT]);
    let biz = pick(ctx, &codes)?;
    let mut sb = Sb::new(s.who, s.terminal, s.t0);
    ctx.login(&mut sb, false, true);
    let mut total = 0;
    let mut extra = ctx.rng.random_range(0..=2);
    let start = sb.t;
    loop {
        sb.t += ctx.step(180, 420);
        let n = ctx.rng.random_range(20..=60);
        total += n;
        let req = ctx.request_for(biz, None);
        let op = if ctx.rng.random_bool(0.5) {
            Op::Extract
        } else {
            Op::Print
        };
        let e = ctx.ev(&mut sb, op);
        e.biz = Some(biz);
        e.count = n;
        e.request = Some(req);
        e.detail = Detail::One(text::list(biz));
        if total >= limits::MASS {
            e.flag(RuleId::SplitMassOutput);
            if extra == 0 {
                break;
            }
            extra -= 1;
        }
    }
    // At most seven outputs seven minutes apart: all inside one window.
    debug_assert!(sb.t - start < limits::SPLIT_WINDOW_MS);
    ctx.logout(&mut sb);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

fn changes(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    // Only where the data reaches 24 hours past the change, so that it is judged.
    if ctx.day + 2 > ctx.last_day {
        return None;
    }
    const CHANGE_CODES: [&str; 3] = ["U01", "W03", "C01"];
    let (open, close) = ctx.hours?;
    // A colleague's verify comes from one of their later sessions: leave the afternoon.
    let colleague = matches!(
        v,
        Variant::SelfVerificationAndColleague | Variant::UnverifiedNgVerify
    );
    let hi = if colleague {
        open + (close - open) / 2
    } else {
        close - 5 * 60_000
    };
    let s = slot_in(ctx, open + 5 * 60_000, hi, 15 * 60_000, |_, _, r| {
        CHANGE_CODES.iter().any(|c| r.business.allows(Some(c)))
    })?;
    let codes: Vec<&'static str> = CHANGE_CODES
        .iter()
        .copied()
        .filter(|c| s.row.business.allows(Some(c)))
        .collect();
    let biz = pick(ctx, &codes)?;
    let op = match biz {
        "U01" => Op::Correct,
        _ => Op::Input,
    };
    let mut sb = Sb::new(s.who, s.terminal, s.t0);
    ctx.login(&mut sb, false, true);
    let (target, req) = ctx.lead_in(&mut sb, biz);
    sb.t += ctx.step(20, 120);
    let (uid, t) = ctx.change(&mut sb, op, biz, target, Some(req));
    if matches!(
        v,
        Variant::SelfVerification | Variant::SelfVerificationAndColleague
    ) {
        sb.t += ctx.step(30, 300);
        let d = pick(ctx, text::VERIFY)?;
        let e = ctx.ev(&mut sb, Op::Verify);
        e.biz = Some(biz);
        e.target = Some(target);
        e.count = 1;
        e.ref_uid = Some(uid);
        e.detail = Detail::One(d);
        e.flag(RuleId::SelfVerification);
    }
    if matches!(v, Variant::SelfVerification | Variant::UnverifiedChange) {
        if let Some(e) = sb.events.iter_mut().find(|e| e.uid == uid) {
            e.flag(RuleId::UnverifiedChange);
        }
    } else {
        ctx.verify_reqs.push(VerifyReq {
            change_uid: uid,
            t,
            changer: Some(s.op),
            biz,
            target,
            result: if v == Variant::UnverifiedNgVerify {
                "NG"
            } else {
                "OK"
            },
            clean: false,
            flag_if_missing: true,
        });
    }
    ctx.logout(&mut sb);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

fn concurrent(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let s = slot(ctx, 30, |c, _, r| c.w.allowed_terminals(r).len() >= 2)?;
    let terms = ctx.w.allowed_terminals(&s.row);
    let others: Vec<usize> = terms
        .iter()
        .copied()
        .filter(|&t| *ctx.w.terminals[t].id != *s.terminal)
        .collect();
    let t2 = Arc::clone(&ctx.w.terminals[pick(ctx, &others)?].id);
    let biz = ctx.pick_business(&s.row);
    let mut a = Sb::new(Arc::clone(&s.who), s.terminal, s.t0);
    ctx.login(&mut a, false, true);
    a.t += ctx.step(20, 120);
    ctx.search(&mut a, Some(biz), None);
    // The first session's last event is at most five minutes old: it is open.
    let mut b = Sb::new(Arc::clone(&s.who), t2, a.t + ctx.step(30, 300));
    ctx.login(&mut b, false, true);
    if let Some(e) = b.events.last_mut() {
        e.flag(RuleId::ConcurrentTerminals);
    }
    debug_assert!(b.t - a.t < limits::SESSION_TIMEOUT_MS);
    ctx.lead_in(&mut b, biz);
    ctx.logout(&mut b);
    a.t = b.t + ctx.step(20, 120);
    ctx.search(&mut a, Some(biz), None);
    ctx.logout(&mut a);
    commit(ctx, v, Some(s.op), vec![a, b]);
    Some(())
}

fn burst(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let (open, close) = ctx.hours?;
    let dur = 20 * 60_000;
    let known = v == Variant::AuthBurstKnownId;
    // The real operator's business, for the clean session after the burst.
    let (who, operator, terminal, t0, biz) = if known {
        let s = slot(ctx, 20, |_, _, _| true)?;
        let biz = ctx.pick_business(&s.row);
        (s.who, Some(s.op), s.terminal, s.t0, biz)
    } else {
        let terms = ctx.w.offices[ctx.office].terminals.clone();
        let t = pick(ctx, &terms)?;
        let t0 = ctx.instant(open + 5 * 60_000, close - 5 * 60_000 - dur);
        let who = ctx.unregistered_id();
        (who, None, Arc::clone(&ctx.w.terminals[t].id), t0, "W01")
    };
    if !ctx.fails_free(&terminal, t0, t0 + dur) {
        return None;
    }
    let k = if known {
        ctx.rng.random_range(5..=6)
    } else {
        ctx.rng.random_range(5..=7)
    };
    let mut sb = Sb::new(Arc::clone(&who), Arc::clone(&terminal), t0);
    let mut typed: Vec<Arc<str>> = Vec::new();
    for i in 0..k {
        if i > 0 {
            sb.t += ctx.step(15, 70);
        }
        let id = if v == Variant::AuthBurstTerminal && i > 0 {
            ctx.unregistered_id()
        } else {
            Arc::clone(&who)
        };
        typed.push(Arc::clone(&id));
        let d = pick(ctx, text::LOGIN_FAIL)?;
        let e = ctx.ev(&mut sb, Op::LoginFail);
        e.operator = id;
        e.auth = Some(if known { "VEIN" } else { "PIN" });
        e.result = "NG";
        e.detail = Detail::One(d);
        // Five failures in the window by id (or by terminal) from the fifth on.
        if i + 1 >= limits::AUTH_FAIL {
            e.flag(RuleId::AuthFailureBurst);
        }
    }
    let (s, e) = (t0, sb.t);
    ctx.block_fails(&terminal, s, e);
    if known {
        sb.t += ctx.step(20, 90);
        ctx.login(&mut sb, false, false);
        sb.t += ctx.step(20, 90);
        ctx.search(&mut sb, Some(biz), None);
        ctx.logout(&mut sb);
    }
    // Every typed id is reserved, so no other failure of it falls into the window.
    for id in typed.iter().skip(1) {
        ctx.reserve(id, s, e);
    }
    commit(ctx, v, operator, vec![sb]);
    Some(())
}

fn browsing(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let s = slot(ctx, 58, |_, _, r| !codes_of(r, &[EXEMPT]).is_empty())?;
    let codes = codes_of(&s.row, &[EXEMPT]);
    let biz = pick(ctx, &codes)?;
    let distinct = ctx.rng.random_range(limits::BROWSE..=limits::BROWSE + 6);
    let repeats = ctx.rng.random_range(0..=3usize);
    let mut sb = Sb::new(s.who, s.terminal, s.t0);
    ctx.login(&mut sb, false, true);
    let start = sb.t;
    let mut seen: Vec<(u64, Arc<str>)> = Vec::new();
    let mut repeats_left = repeats;
    while seen.len() < distinct || repeats_left > 0 {
        sb.t += ctx.step(25, 50);
        let repeat = repeats_left > 0
            && seen.len() >= 10
            && (seen.len() == distinct || ctx.rng.random_bool(0.1));
        let (target, req) = if repeat {
            repeats_left -= 1;
            seen[ctx.rng.random_range(0..seen.len())].clone()
        } else {
            let t = loop {
                let t = ctx.resident();
                if !seen.iter().any(|x| x.0 == t) {
                    break t;
                }
            };
            let r = ctx.request_for(biz, Some(t));
            seen.push((t, Arc::clone(&r)));
            (t, r)
        };
        ctx.view(&mut sb, Some(biz), target, Some(req));
        if seen.len() >= limits::BROWSE
            && let Some(e) = sb.events.last_mut()
        {
            e.flag(RuleId::BrowsingSpike);
        }
    }
    // 59 views at most, 50 seconds apart at most: one window holds them all.
    debug_assert!(sb.t - start < limits::BROWSE_WINDOW_MS);
    ctx.logout(&mut sb);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

fn watchlist(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let entries = ctx.w.offices[ctx.office].watch.clone();
    let s = slot(ctx, 15, |c, o, _| {
        entries.iter().any(|&i| !c.w.watch[i].allowed.contains(&o))
    })?;
    let open: Vec<usize> = entries
        .iter()
        .copied()
        .filter(|&i| !ctx.w.watch[i].allowed.contains(&s.op))
        .collect();
    let target = ctx.w.watch[pick(ctx, &open)?].target;
    let biz = ctx.pick_business(&s.row);
    let req = ctx.request_for(biz, Some(target));
    let mut sb = Sb::new(s.who, s.terminal, s.t0);
    ctx.login(&mut sb, false, true);
    sb.t += ctx.step(20, 90);
    let e = ctx.ev(&mut sb, Op::Search);
    e.biz = Some(biz);
    e.target = Some(target);
    e.count = 1;
    e.detail = Detail::One("住民票コード検索");
    e.flag(RuleId::WatchlistAccess);
    sb.t += ctx.step(10, 60);
    ctx.view(&mut sb, Some(biz), target, Some(Arc::clone(&req)));
    if let Some(e) = sb.events.last_mut() {
        e.flag(RuleId::WatchlistAccess);
    }
    if ctx.rng.random_bool(0.5) {
        sb.t += ctx.step(10, 60);
        let e = ctx.ev(&mut sb, Op::Print);
        e.biz = Some(biz);
        e.target = Some(target);
        e.count = 1;
        e.request = Some(req);
        e.detail = Detail::One(text::print_one(biz));
        e.flag(RuleId::WatchlistAccess);
    }
    ctx.logout(&mut sb);
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

fn off_hours(ctx: &mut DayCtx<'_>, v: Variant) -> Option<()> {
    let m = ctx.midnight();
    let h = 3_600_000;
    let (lo, hi) = match v {
        Variant::OffHoursEvening => {
            ctx.hours?;
            (m + 20 * h + 30 * 60_000, m + 22 * h + 30 * 60_000)
        }
        Variant::OffHoursEarly => {
            ctx.hours?;
            (m + 6 * h, m + 7 * h + 40 * 60_000)
        }
        _ => {
            if ctx.hours.is_some() {
                return None;
            }
            (m + 9 * h, m + 16 * h)
        }
    };
    let s = slot_in(ctx, lo, hi, 20 * 60_000, |_, _, _| true)?;
    let mut sb = Sb::new(s.who, s.terminal, s.t0);
    ctx.login(&mut sb, true, true);
    let biz = ctx.pick_business(&s.row);
    let (target, req) = ctx.lead_in(&mut sb, biz);
    if biz != EXEMPT && ctx.rng.random_bool(0.5) {
        sb.t += ctx.step(10, 60);
        let e = ctx.ev(&mut sb, Op::Print);
        e.biz = Some(biz);
        e.target = Some(target);
        e.count = 1;
        e.request = Some(req);
        e.detail = Detail::One(text::print_one(biz));
    }
    ctx.logout(&mut sb);
    sb.flag_all(RuleId::OffHours, true);
    debug_assert!(sb.events.iter().all(|e| time::jst_day(e.t) == ctx.day));
    commit(ctx, v, Some(s.op), vec![sb]);
    Some(())
}

/// The name of a closed day's kind, for `anomalies.csv`.
pub fn closed_day_kind(ctx: &DayCtx<'_>) -> &'static str {
    let (_, m, d) = time::civil_from_days(ctx.day);
    let cal = ctx.w.calendar(ctx.office);
    if cal.closed_yearly.contains(&(m, d)) {
        "year-end"
    } else if ctx.w.holidays.is_holiday(ctx.day) {
        "holiday"
    } else {
        match crate::ledger::weekday_index(ctx.day) {
            5 => "saturday",
            6 => "sunday",
            _ => "closed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::config::{Compress, Encoding, Format, GenParams};
    use crate::synth::day::{attach_verifies, clean_traffic, flatten};
    use crate::synth::world::{World, rng_for};

    #[test]
    fn working_list_takes_every_rule_but_off_hours_first() {
        let mut first: Vec<RuleId> = WORKING[..15].iter().map(|v| v.rules()[0]).collect();
        first.sort();
        first.dedup();
        let missing: Vec<RuleId> = RuleId::ALL
            .into_iter()
            .filter(|r| !first.contains(r))
            .collect();
        assert_eq!(missing, vec![RuleId::OffHours]);
        assert_eq!(WORKING[15].rules(), &[RuleId::OffHours]);
        let mut names: Vec<&str> = WORKING.iter().chain(&CLOSED).map(|v| v.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            WORKING.len() + CLOSED.len(),
            "names are unique"
        );
    }

    fn world() -> (crate::synth::config::GenConfig, World) {
        let cfg = GenParams {
            seed: 3,
            days: 10,
            start: "2026-04-01".into(),
            offices: 3,
            scale: 1.0,
            anomalies: 1.0,
            malformed: 0.0,
            formats: vec![Format::Csv],
            encodings: vec![Encoding::Utf8],
            compress: vec![Compress::None],
            duplicates: false,
            shuffle: false,
        }
        .build("x".into())
        .unwrap();
        let w = World::build(&cfg);
        (cfg, w)
    }

    /// Builds one variant alone on a day, with clean traffic around it, and returns the
    /// rules its events are labelled with (none from clean traffic).
    fn flagged(w: &World, office: usize, day: time::Day, v: Variant) -> Option<Vec<RuleId>> {
        let mut ctx = DayCtx::new(w, office, day, rng_for(5, 9, office as u64, day as u64));
        build(&mut ctx, v)?;
        clean_traffic(&mut ctx);
        let (dropped, unverified) = attach_verifies(&mut ctx);
        let n = ctx.uids();
        let sessions = std::mem::take(&mut ctx.sessions);
        let (evs, _) = flatten(sessions, &dropped, &unverified, n);
        let mut rules: Vec<RuleId> = evs.iter().flat_map(|e| e.rules()).collect();
        rules.sort();
        rules.dedup();
        Some(rules)
    }

    #[test]
    fn every_variant_flags_exactly_its_rules() {
        let (cfg, w) = world();
        // Monday 2026-04-06: after the transfer and the expiry, before the late start.
        let monday = cfg.start + 5;
        for v in WORKING {
            let built = (0..w.offices.len()).find_map(|o| flagged(&w, o, monday, v));
            let Some(rules) = built else {
                // Late start: nobody starts after the period's third day on this day.
                assert_eq!(v, Variant::UndesignatedLateStart);
                continue;
            };
            let mut want = v.rules().to_vec();
            want.sort();
            assert_eq!(rules, want, "{}", v.name());
        }
        // On the third day the late starter is not yet designated.
        assert!(flagged(&w, 0, cfg.start + 2, Variant::UndesignatedLateStart).is_some());
        // The branch office (KW03) is closed on Sunday 2026-04-05.
        let rules = flagged(&w, 2, cfg.start + 4, Variant::OffHoursClosedDay).unwrap();
        assert_eq!(rules, vec![RuleId::OffHours]);
        assert!(
            flagged(&w, 0, cfg.start + 4, Variant::OffHoursClosedDay).is_none(),
            "open Sunday"
        );
    }
}
