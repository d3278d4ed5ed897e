//! One office on one day: sessions of clean traffic, the anomalies of the day, and the
//! colleagues' verifications, merged into one time-ordered list of events.
//!
//! Generation runs in three phases so that every anomaly stays isolated and every label
//! is known by construction:
//! 1. anomalies ([`super::anomaly`]) pick their operator, terminal and time first and
//!    *reserve* the operator for [`RESERVE_GAP_MS`] on each side of their session, and the
//!    terminal's log-in failures for a burst;
//! 2. clean sessions fill each designated operator's working hours around the reservations,
//!    keeping every rolling window of `rules.md` well below its threshold;
//! 3. each change (`INPUT`/`CORRECT`/`DELETE`) gets its `VERIFY` from a colleague designated
//!    for the business, inserted into one of the colleague's own sessions minutes to hours
//!    later; a clean change no colleague can verify that day is left out.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use super::text;
use super::world::{self, BUSINESS_CODES, EXEMPT, Row, World, limits};
use crate::ledger::Allow;
use crate::model::{Op, RuleId};
use crate::time::{self, Day};

/// How far apart an anomaly's session and any other session of the same operator are
/// kept: longer than every rolling window of `rules.md` (60 minutes at most).
pub const RESERVE_GAP_MS: i64 = 70 * 60_000;

/// Free text of an event: one static string or two joined by a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    None,
    One(&'static str),
    Two(&'static str, &'static str),
}

/// One generated event. Ids are given after the day is sorted by time; `uid` is the
/// event's number at creation, which `ref_uid` (a `VERIFY`'s change) points at.
#[derive(Debug, Clone)]
pub struct Ev {
    pub uid: u32,
    /// Milliseconds since the epoch (UTC).
    pub t: i64,
    pub terminal: Arc<str>,
    pub operator: Arc<str>,
    pub auth: Option<&'static str>,
    pub op: Op,
    pub biz: Option<&'static str>,
    pub target: Option<u64>,
    pub count: i64,
    pub request: Option<Arc<str>>,
    pub approval: Option<Arc<str>>,
    pub ref_uid: Option<u32>,
    pub result: &'static str,
    pub detail: Detail,
    /// The findings this event must produce: bit `i` is `RuleId::ALL[i]`.
    pub labels: u32,
}

/// The bit of a rule in [`Ev::labels`].
pub fn bit(rule: RuleId) -> u32 {
    let i = RuleId::ALL.iter().position(|r| *r == rule).unwrap_or(0);
    1 << i
}

impl Ev {
    pub fn flag(&mut self, rule: RuleId) {
        self.labels |= bit(rule);
    }

    pub fn rules(&self) -> impl Iterator<Item = RuleId> + '_ {
        RuleId::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| self.labels & (1 << i) != 0)
            .map(|(_, r)| *r)
    }
}

/// A run of events of one operator on one terminal, `LOGIN` to `LOGOUT`.
#[derive(Debug, Clone)]
pub struct Session {
    /// Index into `World::operators`; `None` for an id absent from the register.
    pub operator: Option<usize>,
    /// Clean sessions take colleagues' verifications; anomaly sessions are left alone.
    pub clean: bool,
    /// The business codes of the operator's row (who may verify what).
    pub business: Allow,
    pub events: Vec<Ev>,
}

/// Events of one session being built.
#[derive(Debug)]
pub struct Sb {
    pub operator: Arc<str>,
    pub terminal: Arc<str>,
    /// The time of the next event.
    pub t: i64,
    pub events: Vec<Ev>,
}

impl Sb {
    pub fn new(operator: Arc<str>, terminal: Arc<str>, t: i64) -> Sb {
        Sb {
            operator,
            terminal,
            t,
            events: Vec::new(),
        }
    }

    /// Flags every event of the session with `rule`, `LOGIN_FAIL` too when `fails`.
    pub fn flag_all(&mut self, rule: RuleId, fails: bool) {
        for e in &mut self.events {
            if fails || e.op != Op::LoginFail {
                e.flag(rule);
            }
        }
    }

    pub fn last_t(&self) -> Option<i64> {
        self.events.last().map(|e| e.t)
    }
}

/// A change that needs a colleague's `VERIFY`.
#[derive(Debug, Clone)]
pub struct VerifyReq {
    pub change_uid: u32,
    pub t: i64,
    pub changer: Option<usize>,
    pub biz: &'static str,
    pub target: u64,
    /// `OK`, or a failed check that does not count.
    pub result: &'static str,
    /// A clean change: left out if nobody can verify it.
    pub clean: bool,
    /// An anomaly's change that becomes an `unverified-change` if no OK verify is found.
    pub flag_if_missing: bool,
}

/// An anomaly as injected, for `anomalies.csv`.
#[derive(Debug, Clone)]
pub struct Injected {
    pub variant: &'static str,
    pub uids: Vec<u32>,
}

/// Rolling windows of one operator's clean traffic.
#[derive(Debug, Default)]
struct Rolling {
    views: VecDeque<(i64, u64)>,
    outputs: VecDeque<(i64, i64)>,
    mass_today: bool,
    /// Reused for counting distinct residents.
    scratch: Vec<u64>,
}

impl Rolling {
    fn prune(&mut self, t: i64) {
        // A minute of margin beyond the rule windows.
        let horizon = t - limits::BROWSE_WINDOW_MS - 60_000;
        while self.views.front().is_some_and(|v| v.0 < horizon) {
            self.views.pop_front();
        }
        let horizon = t - limits::SPLIT_WINDOW_MS - 60_000;
        while self.outputs.front().is_some_and(|v| v.0 < horizon) {
            self.outputs.pop_front();
        }
    }

    fn may_view(&mut self, t: i64, target: u64) -> bool {
        self.prune(t);
        if self.views.iter().any(|v| v.1 == target) {
            return true;
        }
        self.scratch.clear();
        self.scratch.extend(self.views.iter().map(|v| v.1));
        self.scratch.sort_unstable();
        self.scratch.dedup();
        self.scratch.len() < limits::CLEAN_DISTINCT_VIEWS
    }

    fn may_output(&mut self, t: i64, n: i64) -> bool {
        self.prune(t);
        self.outputs.iter().map(|o| o.1).sum::<i64>() + n <= limits::CLEAN_OUTPUT_SUM
    }
}

/// One operator's clean day: who, under which row, and their rolling windows.
struct Worker {
    op: usize,
    who: Arc<str>,
    row: Row,
    /// The protected residents this operator may handle.
    watched: Vec<u64>,
    roll: Rolling,
    /// The last instant the current session's work may take.
    stop: i64,
}

/// Everything one office-day's generation works with.
pub struct DayCtx<'w> {
    pub w: &'w World,
    pub office: usize,
    pub office_id: Arc<str>,
    pub day: Day,
    /// `YYMMDD`, for request and approval numbers.
    pub yymmdd: String,
    /// `[open, close]` of the office's calendar, `None` on a closed day.
    pub hours: Option<(i64, i64)>,
    pub millis: bool,
    pub rng: Pcg64Mcg,
    /// Operators designated at this office today, with their row.
    pub active: Vec<(usize, Row)>,
    /// Per operator (or unregistered id), the sessions reserved by anomalies.
    reserved: HashMap<Arc<str>, Vec<(i64, i64)>>,
    /// Per terminal, intervals where no other `LOGIN_FAIL` may be written.
    fail_block: HashMap<Arc<str>, Vec<(i64, i64)>>,
    next_uid: u32,
    req_seq: u32,
    apv_seq: u32,
    pub unreg_seq: u32,
    /// Rows for `requests.csv` and `approvals.csv`.
    pub requests: String,
    pub approvals: String,
    pub sessions: Vec<Session>,
    pub verify_reqs: Vec<VerifyReq>,
    pub injected: Vec<Injected>,
    /// The last day of the data set.
    pub last_day: Day,
}

impl<'w> DayCtx<'w> {
    pub fn new(w: &'w World, office: usize, day: Day, rng: Pcg64Mcg) -> DayCtx<'w> {
        let (y, m, d) = time::civil_from_days(day);
        DayCtx {
            w,
            office,
            office_id: Arc::clone(&w.offices[office].id),
            day,
            yymmdd: format!("{:02}{m:02}{d:02}", y % 100),
            hours: w.hours(office, day),
            millis: w.offices[office].style.millis,
            rng,
            active: w
                .active(office, day)
                .into_iter()
                .map(|(o, r)| (o, r.clone()))
                .collect(),
            reserved: HashMap::new(),
            fail_block: HashMap::new(),
            next_uid: 0,
            req_seq: 0,
            apv_seq: 0,
            unreg_seq: 0,
            requests: String::new(),
            approvals: String::new(),
            sessions: Vec::new(),
            verify_reqs: Vec::new(),
            injected: Vec::new(),
            last_day: w.end,
        }
    }

    /// Local midnight of the day.
    pub fn midnight(&self) -> i64 {
        time::jst_midnight(self.day)
    }

    /// A random step of `lo_s..hi_s` seconds, in milliseconds; whole seconds when the
    /// office writes no milliseconds, so that every written time is exact.
    pub fn step(&mut self, lo_s: u32, hi_s: u32) -> i64 {
        let hi_s = hi_s.max(lo_s + 1);
        if self.millis {
            self.rng
                .random_range(lo_s as i64 * 1000..hi_s as i64 * 1000)
                .max(1)
        } else {
            self.rng.random_range(lo_s as i64..hi_s as i64).max(1) * 1000
        }
    }

    /// A random instant in `[lo, hi)`, whole seconds when the office writes no milliseconds.
    pub fn instant(&mut self, lo: i64, hi: i64) -> i64 {
        let t = self.rng.random_range(lo..hi.max(lo + 1));
        if self.millis {
            t
        } else {
            t - t.rem_euclid(1000)
        }
    }

    /// Adds an event at the session's current time and returns it.
    pub fn ev<'a>(&mut self, sb: &'a mut Sb, op: Op) -> &'a mut Ev {
        let uid = self.next_uid;
        self.next_uid += 1;
        sb.events.push(Ev {
            uid,
            t: sb.t,
            terminal: Arc::clone(&sb.terminal),
            operator: Arc::clone(&sb.operator),
            auth: None,
            op,
            biz: None,
            target: None,
            count: 0,
            request: None,
            approval: None,
            ref_uid: None,
            result: "OK",
            detail: Detail::None,
            labels: 0,
        });
        let last = sb.events.len() - 1;
        &mut sb.events[last]
    }

    /// A random resident who is not on the watch list.
    pub fn resident(&mut self) -> u64 {
        loop {
            let t = 10_000_000_000 + self.rng.random_range(0..90_000_000_000u64);
            if !self.w.is_watched(t) {
                return t;
            }
        }
    }

    /// Registers a request form (`requests.csv`) received on `received` and returns its
    /// number. Numbers carry the office and the day they were registered.
    pub fn request(
        &mut self,
        biz: &'static str,
        target: Option<u64>,
        kind: &'static str,
        received: Day,
    ) -> Arc<str> {
        self.req_seq += 1;
        let no = format!("REQ-{}-{}-{:05}", self.office_id, self.yymmdd, self.req_seq);
        use std::fmt::Write as _;
        let _ = write!(
            self.requests,
            "{no},{},{kind},{biz},",
            time::format_day(received)
        );
        if let Some(t) = target {
            let _ = write!(self.requests, "{t:011}");
        }
        self.requests.push('\n');
        no.into()
    }

    /// A request about `target` received today or up to three days before.
    pub fn request_for(&mut self, biz: &'static str, target: Option<u64>) -> Arc<str> {
        let kind = request_kind(biz, target.is_some());
        let received = self.day - self.rng.random_range(0..=3);
        self.request(biz, target, kind, received)
    }

    /// A request number that is not in the register: a four-digit sequence, where
    /// registered numbers have five.
    pub fn unknown_request(&mut self) -> Arc<str> {
        let n = self.rng.random_range(1..10_000);
        format!("REQ-{}-{}-{n:04}", self.office_id, self.yymmdd).into()
    }

    /// Registers an approval (`approvals.csv`) and returns its number.
    pub fn approval(
        &mut self,
        operator: &str,
        biz: Option<&'static str>,
        from: i64,
        until: i64,
        max: i64,
    ) -> Arc<str> {
        self.apv_seq += 1;
        let no = format!("APV-{}-{}-{:02}", self.office_id, self.yymmdd, self.apv_seq);
        let who = format!(
            "{} {}",
            text::APPROVERS[self.rng.random_range(0..text::APPROVERS.len())],
            text::SURNAMES[self.rng.random_range(0..text::SURNAMES.len())]
        );
        use std::fmt::Write as _;
        let _ = writeln!(
            self.approvals,
            "{no},{operator},{},{},{},{max},{who}",
            biz.unwrap_or("*"),
            time::format_jst(from),
            time::format_jst(until),
        );
        no.into()
    }

    /// An operator id absent from the register: eight characters, where registered ids
    /// have seven (`GenParams::build` keeps them below 100,000).
    pub fn unregistered_id(&mut self) -> Arc<str> {
        // Unique within the office-day (at most 20 anomalies of a few ids each); the
        // same ids on other days are hours apart, beyond every window.
        self.unreg_seq += 1;
        format!("OP9{:02}{:03}", self.office + 1, self.unreg_seq % 1000).into()
    }

    /// Whether `who` is free of reservations around `[s, e]`.
    pub fn is_free(&self, who: &str, s: i64, e: i64) -> bool {
        self.reserved.get(who).is_none_or(|v| {
            v.iter()
                .all(|r| e + RESERVE_GAP_MS < r.0 || s > r.1 + RESERVE_GAP_MS)
        })
    }

    pub fn reserve(&mut self, who: &Arc<str>, s: i64, e: i64) {
        self.reserved
            .entry(Arc::clone(who))
            .or_default()
            .push((s, e));
    }

    /// Whether a `LOGIN_FAIL` on `terminal` at `t` keeps every window far from a burst.
    pub fn fail_ok(&self, terminal: &str, t: i64) -> bool {
        self.fail_block
            .get(terminal)
            .is_none_or(|v| v.iter().all(|b| t < b.0 || t > b.1))
    }

    /// Records `LOGIN_FAIL`s on `terminal` over `[s, e]`: no other may come within a
    /// window and a minute of them.
    pub fn block_fails(&mut self, terminal: &Arc<str>, s: i64, e: i64) {
        let pad = limits::AUTH_FAIL_WINDOW_MS + 60_000;
        self.fail_block
            .entry(Arc::clone(terminal))
            .or_default()
            .push((s - pad, e + pad));
    }

    /// Whether a burst of log-in failures may take `terminal` over `[s, e]`.
    pub fn fails_free(&self, terminal: &str, s: i64, e: i64) -> bool {
        let pad = limits::AUTH_FAIL_WINDOW_MS + 60_000;
        self.fail_block
            .get(terminal)
            .is_none_or(|v| v.iter().all(|b| e + pad < b.0 || s - pad > b.1))
    }

    /// Adds a session's events as a session of `operator`.
    pub fn push_session(&mut self, operator: Option<usize>, clean: bool, sb: Sb) {
        let business = operator
            .and_then(|o| self.active.iter().find(|a| a.0 == o))
            .map(|a| a.1.business.clone())
            .unwrap_or(Allow::Only(Default::default()));
        self.sessions.push(Session {
            operator,
            clean,
            business,
            events: sb.events,
        });
    }

    /// Picks a business code the row allows, uniformly.
    pub fn pick_business(&mut self, row: &Row) -> &'static str {
        match &row.business {
            Allow::Any => BUSINESS_CODES[self.rng.random_range(0..BUSINESS_CODES.len())],
            Allow::Only(set) => {
                let codes: Vec<&'static str> = BUSINESS_CODES
                    .iter()
                    .copied()
                    .filter(|c| set.contains(*c))
                    .collect();
                if codes.is_empty() {
                    "W01"
                } else {
                    codes[self.rng.random_range(0..codes.len())]
                }
            }
        }
    }

    /// A `LOGIN` (sometimes after one failed attempt) at the session's time.
    pub fn login(&mut self, sb: &mut Sb, allow_fail: bool, terminal_blockable: bool) {
        let pin = self.rng.random_bool(0.15);
        if allow_fail && self.rng.random_bool(0.05) && self.fail_ok(&sb.terminal, sb.t) {
            let t = sb.t;
            let detail = text::LOGIN_FAIL[self.rng.random_range(0..text::LOGIN_FAIL.len())];
            let e = self.ev(sb, Op::LoginFail);
            e.auth = Some(if pin { "PIN" } else { "VEIN" });
            e.result = "NG";
            e.detail = Detail::One(detail);
            if terminal_blockable {
                let term = Arc::clone(&sb.terminal);
                // One failure blocks its terminal for a window: clean failures never add up.
                self.fail_block.entry(term).or_default().push((
                    t - limits::AUTH_FAIL_WINDOW_MS - 60_000,
                    t + limits::AUTH_FAIL_WINDOW_MS + 60_000,
                ));
            }
            sb.t += self.step(5, 40);
        }
        let e = self.ev(sb, Op::Login);
        e.auth = Some(if pin { "PIN" } else { "VEIN" });
        e.detail = Detail::One(text::login(pin));
    }

    /// A `LOGOUT` a few seconds after the last event.
    pub fn logout(&mut self, sb: &mut Sb) {
        sb.t = sb.last_t().unwrap_or(sb.t) + self.step(3, 30);
        let d = text::LOGOUT[self.rng.random_range(0..text::LOGOUT.len())];
        let e = self.ev(sb, Op::Logout);
        e.detail = Detail::One(d);
    }

    /// A successful search for a resident (by code half of the time).
    pub fn search(&mut self, sb: &mut Sb, biz: Option<&'static str>, target: Option<u64>) {
        let by_code = target.is_some() && self.rng.random_bool(0.5);
        let d = text::SEARCH[self.rng.random_range(0..text::SEARCH.len())];
        let hits = self.rng.random_range(1..=3);
        let e = self.ev(sb, Op::Search);
        e.biz = biz;
        e.target = if by_code { target } else { None };
        e.count = if by_code { 1 } else { hits };
        e.detail = Detail::One(if by_code {
            "住民票コード検索"
        } else {
            d
        });
    }

    /// A view of `target` on `request`.
    pub fn view(
        &mut self,
        sb: &mut Sb,
        biz: Option<&'static str>,
        target: u64,
        request: Option<Arc<str>>,
    ) {
        let e = self.ev(sb, Op::View);
        e.biz = biz;
        e.target = Some(target);
        e.count = 1;
        e.request = request;
        e.detail = Detail::One(text::view(biz.unwrap_or("")));
    }

    /// A change of `target`'s record, with a request form (a notification).
    pub fn change(
        &mut self,
        sb: &mut Sb,
        op: Op,
        biz: &'static str,
        target: u64,
        request: Option<Arc<str>>,
    ) -> (u32, i64) {
        let e = self.ev(sb, op);
        e.biz = Some(biz);
        e.target = Some(target);
        e.count = 1;
        e.request = request;
        e.detail = Detail::One(text::change(op, biz));
        (e.uid, e.t)
    }

    /// A typical piece of work on one resident before an anomaly: search, then view on a
    /// fresh request. Returns the resident and the request.
    pub fn lead_in(&mut self, sb: &mut Sb, biz: &'static str) -> (u64, Arc<str>) {
        let target = self.resident();
        let req = self.request_for(biz, Some(target));
        sb.t += self.step(20, 90);
        self.search(sb, Some(biz), Some(target));
        sb.t += self.step(10, 60);
        self.view(sb, Some(biz), target, Some(Arc::clone(&req)));
        (target, req)
    }
}

/// The request kind a business works from.
pub fn request_kind(biz: &str, about_resident: bool) -> &'static str {
    match biz {
        _ if !about_resident => "EX_OFFICIO",
        "W01" => "REQUEST",
        "W02" | "C01" => "APPLICATION",
        "W03" | "U01" => "NOTIFICATION",
        _ => "EX_OFFICIO",
    }
}

/// Plans and writes every clean session of the day.
pub fn clean_traffic(ctx: &mut DayCtx<'_>) {
    let Some((open, close)) = ctx.hours else {
        return;
    };
    let active = ctx.active.clone();
    for (op, row) in active {
        let terms = ctx.w.allowed_terminals(&row);
        if terms.is_empty() {
            continue;
        }
        let home = terms[op % terms.len()];
        let who = Arc::clone(&ctx.w.operators[op].id);
        let watched: Vec<u64> = ctx.w.offices[ctx.office]
            .watch
            .iter()
            .map(|&i| &ctx.w.watch[i])
            .filter(|w| w.allowed.contains(&op))
            .map(|w| w.target)
            .collect();
        let plan = plan_sessions(ctx, &who, open, close);
        let mut worker = Worker {
            op,
            who,
            row,
            watched,
            roll: Rolling::default(),
            stop: open,
        };
        for (s, e) in plan {
            let term = if ctx.rng.random_bool(0.8) {
                home
            } else {
                terms[ctx.rng.random_range(0..terms.len())]
            };
            let terminal = Arc::clone(&ctx.w.terminals[term].id);
            let sb = clean_session(ctx, &mut worker, terminal, s, e);
            ctx.push_session(Some(op), true, sb);
        }
    }
}

/// Session intervals of one operator: one to three, clear of the operator's reservations.
fn plan_sessions(ctx: &mut DayCtx<'_>, who: &str, open: i64, close: i64) -> Vec<(i64, i64)> {
    let activity = ctx.w.activity;
    let n = if activity < 0.5 {
        1
    } else {
        ctx.rng.random_range(1..=3)
    };
    let mut out = Vec::new();
    let first_hi = 60 + (1200.0 * activity) as u32;
    let mut cursor = open + ctx.step(60, first_hi);
    let last = close - 2 * 60_000;
    for _ in 0..n {
        let len = ((ctx.rng.random_range(40..150) as f64 * activity) as i64).max(8) * 60_000;
        let mut s = cursor;
        let mut guard = 0;
        while !ctx.is_free(who, s, s + len) && guard < 16 {
            let next = ctx
                .reserved
                .get(who)
                .and_then(|v| {
                    v.iter()
                        .filter(|r| !(s + len + RESERVE_GAP_MS < r.0 || s > r.1 + RESERVE_GAP_MS))
                        .map(|r| r.1)
                        .max()
                })
                .unwrap_or(s);
            s = next + RESERVE_GAP_MS + 60_000;
            guard += 1;
        }
        let e = (s + len).min(last);
        if e - s < 5 * 60_000 || !ctx.is_free(who, s, e) {
            break;
        }
        out.push((s, e));
        cursor = e + ctx.step(180, 2700);
    }
    out
}

/// One clean session: log-in, flows of work, log-out, all inside `[s, e]`.
fn clean_session(ctx: &mut DayCtx<'_>, w: &mut Worker, terminal: Arc<str>, s: i64, e: i64) -> Sb {
    let mut sb = Sb::new(Arc::clone(&w.who), terminal, s);
    ctx.login(&mut sb, true, true);
    let gap_hi = 60 + (180.0 / ctx.w.activity) as u32;
    w.stop = e - 60_000;
    loop {
        sb.t += ctx.step(15, gap_hi);
        if sb.t > w.stop {
            break;
        }
        flow(ctx, &mut sb, w);
    }
    ctx.logout(&mut sb);
    sb
}

/// Advances the session by a short step; `false` once the session must end.
fn next(ctx: &mut DayCtx<'_>, sb: &mut Sb, stop: i64) -> bool {
    sb.t += ctx.step(8, 70);
    sb.t <= stop
}

/// One piece of clean work, shaped by the business it is done for.
fn flow(ctx: &mut DayCtx<'_>, sb: &mut Sb, w: &mut Worker) {
    // Now and then an allowed operator handles a protected resident, on a proper request.
    if !w.watched.is_empty() && ctx.rng.random_bool(0.03) && w.row.business.allows(Some("W01")) {
        let target = w.watched[ctx.rng.random_range(0..w.watched.len())];
        return resident_flow(ctx, sb, w, "W01", target);
    }
    let biz = ctx.pick_business(&w.row);
    match biz {
        "W01" | "W02" | "W03" | "U01" | "C01" => {
            let target = ctx.resident();
            resident_flow(ctx, sb, w, biz, target)
        }
        "Z01" => {
            // Consistency checks: views without a request, which Z01 is exempt from.
            ctx.search(sb, Some(biz), None);
            for _ in 0..ctx.rng.random_range(1..=2) {
                if !next(ctx, sb, w.stop) {
                    return;
                }
                let target = ctx.resident();
                if !w.roll.may_view(sb.t, target) {
                    return;
                }
                w.roll.views.push_back((sb.t, target));
                ctx.view(sb, Some(EXEMPT), target, None);
            }
        }
        _ => list_flow(ctx, sb, biz, &mut w.roll),
    }
}

/// Search, view and print or change for one resident.
fn resident_flow(
    ctx: &mut DayCtx<'_>,
    sb: &mut Sb,
    w: &mut Worker,
    biz: &'static str,
    target: u64,
) {
    if ctx.rng.random_bool(0.06) {
        // A search that failed: nothing found or an error code.
        let d = text::SEARCH_FAIL[ctx.rng.random_range(0..text::SEARCH_FAIL.len())];
        let result = if ctx.rng.random_bool(0.5) {
            "NG"
        } else {
            "E102"
        };
        let e = ctx.ev(sb, Op::Search);
        e.biz = Some(biz);
        e.result = result;
        e.detail = Detail::One(d);
        return;
    }
    ctx.search(sb, Some(biz), Some(target));
    if !next(ctx, sb, w.stop) || !w.roll.may_view(sb.t, target) {
        return;
    }
    let req = ctx.request_for(biz, Some(target));
    w.roll.views.push_back((sb.t, target));
    ctx.view(sb, Some(biz), target, Some(Arc::clone(&req)));
    if !next(ctx, sb, w.stop) {
        return;
    }
    match biz {
        "W01" | "W02" if ctx.rng.random_bool(0.7) && w.roll.may_output(sb.t, 1) => {
            w.roll.outputs.push_back((sb.t, 1));
            let e = ctx.ev(sb, Op::Print);
            e.biz = Some(biz);
            e.target = Some(target);
            e.count = 1;
            e.request = Some(req);
            e.detail = Detail::One(text::print_one(biz));
        }
        _ if ctx.w.is_watched(target) => {}
        "W03" | "C01" | "U01" if ctx.rng.random_bool(0.55) => {
            let op = match biz {
                "U01" if ctx.rng.random_bool(0.25) => Op::Delete,
                "U01" => Op::Correct,
                _ => Op::Input,
            };
            let (uid, t) = ctx.change(sb, op, biz, target, Some(req));
            ctx.verify_reqs.push(VerifyReq {
                change_uid: uid,
                t,
                changer: Some(w.op),
                biz,
                target,
                result: "OK",
                clean: true,
                flag_if_missing: false,
            });
        }
        _ => {}
    }
}

/// A small list output, or now and then a mass output under an approval.
fn list_flow(ctx: &mut DayCtx<'_>, sb: &mut Sb, biz: &'static str, roll: &mut Rolling) {
    let mass_ok = matches!(biz, "L01" | "L03") && !roll.mass_today && ctx.rng.random_bool(0.08);
    let list = text::list(biz);
    if mass_ok {
        roll.mass_today = true;
        let n = ctx.rng.random_range(limits::MASS..=2000);
        let from = sb.t - ctx.rng.random_range(10 * 60_000..3 * 86_400_000);
        let until = sb.t + ctx.rng.random_range(10 * 60_000..5 * 86_400_000);
        let max = if ctx.rng.random_bool(0.5) {
            n
        } else {
            (n / 500 + 1) * 500
        };
        let scope = if ctx.rng.random_bool(0.3) {
            None
        } else {
            Some(biz)
        };
        let operator = Arc::clone(&sb.operator);
        let apv = ctx.approval(&operator, scope, from, until, max);
        let req = ctx.request_for(biz, None);
        let op = if biz == "L03" && ctx.rng.random_bool(0.3) {
            Op::Export
        } else if ctx.rng.random_bool(0.5) {
            Op::Print
        } else {
            Op::Extract
        };
        let e = ctx.ev(sb, op);
        e.biz = Some(biz);
        e.count = n;
        e.request = Some(req);
        e.approval = Some(apv);
        e.detail = Detail::Two(list, text::MASS_OUTPUT);
        return;
    }
    let n = ctx.rng.random_range(2..=25);
    if !roll.may_output(sb.t, n) {
        ctx.search(sb, Some(biz), None);
        return;
    }
    roll.outputs.push_back((sb.t, n));
    let req = ctx.request_for(biz, None);
    let cond = text::EXTRACT_CONDITIONS[ctx.rng.random_range(0..text::EXTRACT_CONDITIONS.len())];
    let op = if ctx.rng.random_bool(0.5) {
        Op::Extract
    } else {
        Op::Print
    };
    let e = ctx.ev(sb, op);
    e.biz = Some(biz);
    e.count = n;
    e.request = Some(req);
    e.detail = if op == Op::Extract {
        Detail::Two(list, cond)
    } else {
        Detail::One(list)
    };
}

/// Phase 3: inserts each requested `VERIFY` into a colleague's clean session. Returns the
/// uids of clean changes nobody could verify (to be left out) and of anomaly changes
/// that became unverified.
pub fn attach_verifies(ctx: &mut DayCtx<'_>) -> (HashSet<u32>, Vec<u32>) {
    let mut dropped = HashSet::new();
    let mut unverified = Vec::new();
    let reqs = std::mem::take(&mut ctx.verify_reqs);
    let n = ctx.sessions.len();
    for vr in reqs {
        let mut placed = false;
        if n > 0 {
            let offset = ctx.rng.random_range(0..n);
            for k in 0..n {
                let si = (offset + k) % n;
                let s = &ctx.sessions[si];
                if !s.clean || s.operator == vr.changer || !s.business.allows(Some(vr.biz)) {
                    continue;
                }
                let lo = vr.t + 60_000;
                let hi = vr.t + 6 * 3_600_000;
                // Between two events of the open session: after the LOGIN (not between a
                // failed attempt and it), before the LOGOUT.
                let spot = s.events.windows(2).position(|p| {
                    p[0].op != Op::LoginFail
                        && p[0].t >= lo
                        && p[1].t <= hi
                        && p[1].t - p[0].t >= 4_000
                });
                let Some(i) = spot else { continue };
                let (a, b) = (s.events[i].t, s.events[i + 1].t);
                let mut t = a + (b - a) / 2;
                if !ctx.millis {
                    t -= t.rem_euclid(1000);
                }
                let uid = ctx.next_uid;
                ctx.next_uid += 1;
                let proto = &s.events[i];
                let d = if vr.result == "OK" {
                    text::VERIFY[ctx.rng.random_range(0..text::VERIFY.len())]
                } else {
                    text::VERIFY_FAIL[ctx.rng.random_range(0..text::VERIFY_FAIL.len())]
                };
                let ev = Ev {
                    uid,
                    t,
                    terminal: Arc::clone(&proto.terminal),
                    operator: Arc::clone(&proto.operator),
                    auth: None,
                    op: Op::Verify,
                    biz: Some(vr.biz),
                    target: Some(vr.target),
                    count: 1,
                    request: None,
                    approval: None,
                    ref_uid: Some(vr.change_uid),
                    result: vr.result,
                    detail: Detail::One(d),
                    labels: 0,
                };
                ctx.sessions[si].events.insert(i + 1, ev);
                placed = true;
                break;
            }
        }
        if !placed && vr.clean {
            dropped.insert(vr.change_uid);
        }
        if (!placed || vr.result != "OK") && vr.flag_if_missing {
            unverified.push(vr.change_uid);
        }
    }
    (dropped, unverified)
}

/// The day's events in time order (stable), with the rank of each uid.
pub fn flatten(
    sessions: Vec<Session>,
    dropped: &HashSet<u32>,
    unverified: &[u32],
    n_uids: u32,
) -> (Vec<Ev>, Vec<u32>) {
    let mut evs: Vec<Ev> = Vec::with_capacity(sessions.iter().map(|s| s.events.len()).sum());
    for s in sessions {
        evs.extend(s.events.into_iter().filter(|e| !dropped.contains(&e.uid)));
    }
    evs.sort_by_key(|e| e.t);
    let mut rank = vec![u32::MAX; n_uids as usize];
    for (i, e) in evs.iter_mut().enumerate() {
        if unverified.contains(&e.uid) {
            e.flag(RuleId::UnverifiedChange);
        }
        if let Some(r) = rank.get_mut(e.uid as usize) {
            *r = i as u32;
        }
    }
    (evs, rank)
}

impl DayCtx<'_> {
    /// The number of uids handed out so far.
    pub fn uids(&self) -> u32 {
        self.next_uid
    }
}

/// Re-exported for the anomaly builders.
pub use world::cal_hours;
