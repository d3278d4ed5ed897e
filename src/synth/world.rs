//! The fixed world of a data set: offices, terminals, operators with their designation
//! periods, calendars and the watch list, built once from the master seed, and the
//! ledger files (`ledgers.md`) that describe it.
//!
//! Who is who, by position in an office's list of operators (`j`):
//! * `j = 0`: the chief (係長), designated for every business (`*`) on every terminal (`*`);
//!   there is always a colleague who can verify a change.
//! * `j = 1`: with two offices or more, transferred to the next office half-way through the
//!   period (two rows: office A until the day before, office B from the transfer day).
//! * `j = n − 1`: designation expired a third of the way through the period; the operator
//!   simply stops working.
//! * `j = n − 2`: late start, designated from a third of the way through the period.
//! * everyone else: open-ended designations, some with an older closed row (re-designation).
//!
//! Business codes come from a role (counter, records, lists, mixed) plus sometimes one
//! extra code, or `*`; terminals are `*` or a list of one to three of the office's.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use super::config::{Encoding, Format, GenConfig};
use super::text;
use crate::ledger::{Allow, Calendar, Holidays, Hours, weekday_index};
use crate::time::{self, Day};

/// The business codes of `ledgers.md`.
pub const BUSINESS_CODES: [&str; 9] = [
    "W01", "W02", "W03", "L01", "L02", "L03", "U01", "C01", "Z01",
];

/// Business codes whose views need no request form (`request_exempt_business_codes`).
pub const EXEMPT: &str = "Z01";

/// Roles: the business codes an operator of that role is designated for.
const ROLES: [&[&str]; 4] = [
    &["W01", "W02", "W03", "Z01"],
    &["U01", "C01", "W03", "Z01"],
    &["L01", "L02", "L03", "Z01"],
    &["W01", "U01", "L01", "L03"],
];

/// splitmix64: a strong 64-bit mix, used to derive independent seeds.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A generator for one purpose (`stream`) and one place (`a`, `b`), independent of every
/// other: each office-day draws from its own, so threads never share state.
pub fn rng_for(seed: u64, stream: u64, a: u64, b: u64) -> Pcg64Mcg {
    use rand::SeedableRng;
    Pcg64Mcg::seed_from_u64(mix(mix(mix(seed ^ mix(stream)) ^ a) ^ b))
}

/// Streams of [`rng_for`].
pub mod stream {
    pub const WORLD: u64 = 1;
    pub const DAY: u64 = 2;
    pub const WRITE: u64 = 3;
}

/// How an office's terminals write timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `2026-04-01T08:45:12.345+09:00`.
    Iso,
    /// `2026/04/01 08:45:12.345`.
    Local,
    /// Either, line by line (two systems feeding one export).
    Mixed,
}

/// Line ends of an office's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnd {
    Lf,
    Crlf,
    /// Mostly LF with some CRLF lines (files edited on two systems).
    Mixed,
}

/// How an office's terminals export their logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStyle {
    pub format: Format,
    pub encoding: Encoding,
    /// Timestamps carry milliseconds (else whole seconds, and event times are whole seconds).
    pub millis: bool,
    pub layout: Layout,
    pub line_end: LineEnd,
    /// CSV: every field quoted (else only those that need it, and `detail` now and then).
    pub quote_all: bool,
    /// Key-value lines: absent values are left out (else written as `key=`).
    pub kv_omit_empty: bool,
}

#[derive(Debug, Clone)]
pub struct Office {
    pub id: Arc<str>,
    /// Index into [`World::calendars`].
    pub calendar: usize,
    /// Indices into [`World::terminals`].
    pub terminals: Vec<usize>,
    pub style: FileStyle,
    /// Indices into [`World::watch`].
    pub watch: Vec<usize>,
    /// Indices into [`World::operators`] of everyone with a row at this office.
    pub operators: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct TerminalRec {
    pub id: Arc<str>,
    pub office: usize,
}

/// One designation period (a row of `operators.csv`).
#[derive(Debug, Clone)]
pub struct Row {
    pub office: usize,
    pub from: Day,
    pub until: Option<Day>,
    pub business: Allow,
    pub terminals: Allow,
}

impl Row {
    pub fn contains(&self, day: Day) -> bool {
        day >= self.from && self.until.is_none_or(|u| day <= u)
    }
}

#[derive(Debug, Clone)]
pub struct OperatorRec {
    pub id: Arc<str>,
    pub name: String,
    /// By start date, never overlapping.
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone)]
pub struct WatchRec {
    pub target: u64,
    pub reason: &'static str,
    /// Indices into [`World::operators`].
    pub allowed: Vec<usize>,
}

/// Everything that stays fixed over the period.
#[derive(Debug, Clone)]
pub struct World {
    pub end: Day,
    pub offices: Vec<Office>,
    pub terminals: Vec<TerminalRec>,
    pub operators: Vec<OperatorRec>,
    pub calendars: Vec<Calendar>,
    pub holidays: Holidays,
    pub watch: Vec<WatchRec>,
    /// Every watch-listed resident, for a quick test.
    pub watched: HashSet<u64>,
    /// How much of the day operators spend in sessions, 0.05 to 1.
    pub activity: f64,
}

/// The national holidays the calendars judge by.
pub fn holidays() -> Holidays {
    Holidays::builtin()
}

fn cal_default(start: Day, end: Day) -> Calendar {
    let mut c = Calendar::builtin_default();
    // The first Sunday of the period (or the one after it) is a special open day (休日開庁),
    // as wards open on Sundays in the moving season.
    let mut sunday = start;
    while weekday_index(sunday) != 6 {
        sunday += 1;
    }
    let _ = end;
    c.open_days.insert(
        sunday,
        Hours {
            open_min: 8 * 60 + 30,
            close_min: 12 * 60,
        },
    );
    c.weekday_hours[3] = Some(Hours {
        open_min: 8 * 60 + 30,
        close_min: 19 * 60,
    });
    c
}

fn cal_branch() -> Calendar {
    let mut c = Calendar::builtin_default();
    c.name = "branch".into();
    c.hours = Hours {
        open_min: 8 * 60 + 45,
        close_min: 16 * 60 + 30,
    };
    c.grace_minutes = 15;
    c
}

/// The (format, encoding) pairs offices take in turn: the first three cover both formats
/// and all three encodings.
const STYLES: [(Format, Encoding); 6] = [
    (Format::Csv, Encoding::Utf8Bom),
    (Format::Kv, Encoding::Utf8),
    (Format::Csv, Encoding::Cp932),
    (Format::Csv, Encoding::Utf8),
    (Format::Kv, Encoding::Cp932),
    (Format::Kv, Encoding::Utf8Bom),
];

impl World {
    pub fn build(cfg: &GenConfig) -> World {
        let p = &cfg.params;
        let mut rng = rng_for(p.seed, stream::WORLD, 0, 0);
        let start = cfg.start;
        let end = cfg.end();
        let n_offices = p.offices as usize;
        let per_office = ((8.0 * p.scale).round() as usize).max(5);
        // Small scales shrink the work per operator too, gently: fixtures stay readable.
        let activity = p.scale.sqrt().clamp(0.15, 1.0);
        let calendars = vec![cal_default(start, end), cal_branch()];
        let styles: Vec<(Format, Encoding)> = STYLES
            .into_iter()
            .filter(|(f, e)| p.formats.contains(f) && p.encodings.contains(e))
            .collect();

        let mut offices = Vec::with_capacity(n_offices);
        let mut terminals = Vec::new();
        for o in 0..n_offices {
            let id: Arc<str> = format!("KW{:02}", o + 1).into();
            let calendar = usize::from(n_offices >= 2 && o == n_offices - 1);
            let n_term = per_office.div_ceil(2).max(2);
            let mut ts = Vec::with_capacity(n_term);
            for k in 0..n_term {
                ts.push(terminals.len());
                terminals.push(TerminalRec {
                    id: format!("{id}-T{:02}", k + 1).into(),
                    office: o,
                });
            }
            let (format, encoding) = styles[o % styles.len()];
            let line_end = match encoding {
                Encoding::Cp932 | Encoding::Utf8Bom => LineEnd::Crlf,
                Encoding::Utf8 if rng.random_bool(0.3) => LineEnd::Mixed,
                Encoding::Utf8 => LineEnd::Lf,
            };
            let layout = match o % 3 {
                0 => Layout::Iso,
                1 => Layout::Mixed,
                _ => Layout::Local,
            };
            let style = FileStyle {
                format,
                encoding,
                millis: o % 2 == 0 || rng.random_bool(0.5),
                layout,
                line_end,
                quote_all: format == Format::Csv && rng.random_bool(0.5),
                kv_omit_empty: rng.random_bool(0.5),
            };
            offices.push(Office {
                id,
                calendar,
                terminals: ts,
                style,
                watch: Vec::new(),
                operators: Vec::new(),
            });
        }

        let days = p.days as i32;
        let third = start + days / 3;
        let transfer_day = start + (days / 2).max(1);
        let mut operators: Vec<OperatorRec> = Vec::new();
        for o in 0..n_offices {
            for j in 0..per_office {
                let id: Arc<str> = format!("OP{:05}", operators.len() + 1).into();
                let name = format!(
                    "{} {}",
                    pick(&mut rng, text::SURNAMES),
                    pick(&mut rng, text::GIVEN_NAMES)
                );
                let business = if j == 0 || rng.random_bool(0.12) {
                    Allow::Any
                } else {
                    let mut set: BTreeSet<String> = ROLES[(j - 1) % ROLES.len()]
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect();
                    if rng.random_bool(0.3) {
                        set.insert(
                            BUSINESS_CODES[rng.random_range(0..BUSINESS_CODES.len())].into(),
                        );
                    }
                    Allow::Only(set)
                };
                let terms = |rng: &mut Pcg64Mcg, office: &Office| -> Allow {
                    if j == 0 || rng.random_bool(0.5) {
                        return Allow::Any;
                    }
                    let n = office.terminals.len();
                    let k = rng.random_range(1..=n.min(3));
                    let first = (j + rng.random_range(0..n)) % n;
                    Allow::Only(
                        (0..k)
                            .map(|i| {
                                let t = office.terminals[(first + i) % n];
                                terminals[t].id.to_string()
                            })
                            .collect(),
                    )
                };
                let from = start - rng.random_range(60..2500);
                let mut rows = Vec::new();
                if j >= 2 && rng.random_bool(0.2) {
                    // An earlier designation that ended: re-designated since.
                    let old_from = from - rng.random_range(800..1500);
                    rows.push(Row {
                        office: o,
                        from: old_from,
                        until: Some(from - rng.random_range(30..300)),
                        business: business.clone(),
                        terminals: terms(&mut rng, &offices[o]),
                    });
                }
                if j == 1 && n_offices >= 2 && o + 1 < n_offices {
                    let first_terms = terms(&mut rng, &offices[o]);
                    let second_terms = terms(&mut rng, &offices[o + 1]);
                    rows.push(Row {
                        office: o,
                        from,
                        until: Some(transfer_day - 1),
                        business: business.clone(),
                        terminals: first_terms,
                    });
                    rows.push(Row {
                        office: o + 1,
                        from: transfer_day,
                        until: None,
                        business,
                        terminals: second_terms,
                    });
                } else if j == per_office - 1 {
                    rows.push(Row {
                        office: o,
                        from,
                        until: Some(third.max(start)),
                        business,
                        terminals: terms(&mut rng, &offices[o]),
                    });
                } else if j == per_office - 2 {
                    rows.push(Row {
                        office: o,
                        from: (third + 1).max(start + 1),
                        until: None,
                        business,
                        terminals: terms(&mut rng, &offices[o]),
                    });
                } else {
                    rows.push(Row {
                        office: o,
                        from,
                        until: None,
                        business,
                        terminals: terms(&mut rng, &offices[o]),
                    });
                }
                let idx = operators.len();
                for r in &rows {
                    if !offices[r.office].operators.contains(&idx) {
                        offices[r.office].operators.push(idx);
                    }
                }
                operators.push(OperatorRec { id, name, rows });
            }
        }

        let mut watch = Vec::new();
        for (o, office) in offices.iter_mut().enumerate() {
            let base = o * per_office;
            let entries: [Vec<usize>; 3] = [vec![base, base + 2], vec![], vec![base + 3]];
            for allowed in entries {
                let target = loop {
                    let t = 10_000_000_000 + rng.random_range(0..90_000_000_000u64);
                    if !watch.iter().any(|w: &WatchRec| w.target == t) {
                        break t;
                    }
                };
                office.watch.push(watch.len());
                watch.push(WatchRec {
                    target,
                    reason: text::WATCH_REASONS[rng.random_range(0..text::WATCH_REASONS.len())],
                    allowed,
                });
            }
        }

        World {
            end,
            offices,
            terminals,
            operators,
            calendars,
            holidays: holidays(),
            watched: watch.iter().map(|w| w.target).collect(),
            watch,
            activity,
        }
    }

    /// The row of `operator` that applies on `day`, if any.
    pub fn designation(&self, operator: usize, day: Day) -> Option<&Row> {
        self.operators[operator]
            .rows
            .iter()
            .find(|r| r.contains(day))
    }

    /// Operators designated at `office` on `day`, with their row.
    pub fn active(&self, office: usize, day: Day) -> Vec<(usize, &Row)> {
        self.offices[office]
            .operators
            .iter()
            .filter_map(|&op| {
                self.designation(op, day)
                    .filter(|r| r.office == office)
                    .map(|r| (op, r))
            })
            .collect()
    }

    /// The terminals a row allows (indices into [`World::terminals`]).
    pub fn allowed_terminals(&self, row: &Row) -> Vec<usize> {
        self.offices[row.office]
            .terminals
            .iter()
            .copied()
            .filter(|&t| match &row.terminals {
                Allow::Any => true,
                Allow::Only(set) => set.contains(&*self.terminals[t].id),
            })
            .collect()
    }

    /// The office's calendar.
    pub fn calendar(&self, office: usize) -> &Calendar {
        &self.calendars[self.offices[office].calendar]
    }

    /// The absolute `[open, close]` (no grace) of `office` on `day`, or `None` when closed.
    pub fn hours(&self, office: usize, day: Day) -> Option<(i64, i64)> {
        cal_hours(self.calendar(office), day, &self.holidays)
    }

    /// Whether a resident is on the watch list.
    pub fn is_watched(&self, target: u64) -> bool {
        self.watched.contains(&target)
    }
}

/// The absolute `[open, close]` (no grace) of a calendar on `day`, or `None` when closed.
pub fn cal_hours(cal: &Calendar, day: Day, holidays: &Holidays) -> Option<(i64, i64)> {
    let h = cal.working_hours(day, holidays)?;
    let m = time::jst_midnight(day);
    Some((
        m + h.open_min as i64 * 60_000,
        m + h.close_min as i64 * 60_000,
    ))
}

fn pick(rng: &mut Pcg64Mcg, list: &'static [&'static str]) -> &'static str {
    list[rng.random_range(0..list.len())]
}

fn allow_cell(a: &Allow) -> String {
    match a {
        Allow::Any => "*".into(),
        Allow::Only(set) => set.iter().map(String::as_str).collect::<Vec<_>>().join(";"),
    }
}

/// `operators.csv`, UTF-8 with a byte-order mark (what spreadsheet software saves).
pub fn operators_csv(w: &World) -> Vec<u8> {
    let mut s = String::from(
        "\u{feff}operator_id,name,office,designated_from,designated_until,business_codes,terminals\n",
    );
    for op in &w.operators {
        for r in &op.rows {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{}",
                op.id,
                op.name,
                w.offices[r.office].id,
                time::format_day(r.from),
                r.until.map(time::format_day).unwrap_or_default(),
                allow_cell(&r.business),
                allow_cell(&r.terminals),
            );
        }
    }
    s.into_bytes()
}

/// `terminals.csv`. The first office leaves `calendar` empty (= `default`).
pub fn terminals_csv(w: &World) -> Vec<u8> {
    let mut s = String::from("terminal_id,office,calendar\n");
    for t in &w.terminals {
        let office = &w.offices[t.office];
        let cal = if t.office == 0 {
            ""
        } else {
            w.calendars[office.calendar].name.as_str()
        };
        let _ = writeln!(s, "{},{},{}", t.id, office.id, cal);
    }
    s.into_bytes()
}

fn hours_text(h: Hours) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        h.open_min / 60,
        h.open_min % 60,
        h.close_min / 60,
        h.close_min % 60
    )
}

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `calendars.toml`, written by hand from the calendars the generator itself uses.
pub fn calendars_toml(w: &World) -> Vec<u8> {
    let mut s = String::from("# Operation plan hours (運用計画): generated by tenken gen.\n");
    for c in &w.calendars {
        let quoted = |v: Vec<String>| {
            v.iter()
                .map(|x| format!("\"{x}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let weekdays: Vec<String> = (0..7)
            .filter(|&i| c.weekdays[i])
            .map(|i| WEEKDAY_NAMES[i].to_owned())
            .collect();
        let yearly: Vec<String> = c
            .closed_yearly
            .iter()
            .map(|(m, d)| format!("{m:02}-{d:02}"))
            .collect();
        let dates: Vec<String> = c
            .closed_dates
            .iter()
            .map(|d| time::format_day(*d))
            .collect();
        let _ = write!(
            s,
            "\n[{}]\nweekdays = [{}]\nhours = \"{}\"\ngrace_minutes = {}\nnational_holidays = {}\n\
             closed_yearly = [{}]\nclosed_dates = [{}]\n",
            c.name,
            quoted(weekdays),
            hours_text(c.hours),
            c.grace_minutes,
            c.national_holidays,
            quoted(yearly),
            quoted(dates),
        );
        for (day, h) in &c.open_days {
            let _ = write!(
                s,
                "\n[[{}.open_days]]   # 休日開庁\ndate = \"{}\"\nhours = \"{}\"\n",
                c.name,
                time::format_day(*day),
                hours_text(*h)
            );
        }
        for (i, h) in c.weekday_hours.iter().enumerate() {
            if let Some(h) = h {
                let _ = write!(
                    s,
                    "\n[[{}.weekday_hours]]\nweekday = \"{}\"\nhours = \"{}\"\n",
                    c.name,
                    WEEKDAY_NAMES[i],
                    hours_text(*h)
                );
            }
        }
    }
    s.into_bytes()
}

/// `watchlist.csv`, in CP932 with CRLF: the protected list is kept by another section on
/// a Windows machine.
pub fn watchlist_csv(w: &World) -> Vec<u8> {
    let mut s = String::from("target_code,reason,allowed_operators\r\n");
    for e in &w.watch {
        let allowed: Vec<&str> = e.allowed.iter().map(|&o| &*w.operators[o].id).collect();
        let _ = write!(s, "{:011},{},{}\r\n", e.target, e.reason, allowed.join(";"));
    }
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&s);
    bytes.into_owned()
}

/// `rules.toml`: the defaults of `ledgers.md`, written out, with `Z01` exempt from requests.
pub fn rules_toml() -> Vec<u8> {
    format!(
        "# Thresholds (tenken gen): the defaults of ledgers.md, with {EXEMPT} views exempt.\n\
         mass_output_threshold = 100\n\
         split_output_window_minutes = 60\n\
         browse_threshold = 50\n\
         browse_window_minutes = 60\n\
         auth_fail_threshold = 5\n\
         auth_fail_window_minutes = 10\n\
         session_timeout_minutes = 30\n\
         verify_within_hours = 24\n\
         request_exempt_business_codes = [\"{EXEMPT}\"]\n\
         disabled_rules = []\n"
    )
    .into_bytes()
}

/// The header of `requests.csv`.
pub const REQUESTS_HEADER: &str = "request_no,received_on,kind,business_code,target_code\n";
/// The header of `approvals.csv`.
pub const APPROVALS_HEADER: &str =
    "approval_no,operator_id,business_code,valid_from,valid_until,max_records,approved_by\n";

/// The thresholds the generator keeps clean traffic under and anomalies over; the same
/// values `rules_toml` writes.
pub mod limits {
    pub const MASS: i64 = 100;
    pub const SPLIT_WINDOW_MS: i64 = 60 * 60_000;
    pub const BROWSE: usize = 50;
    pub const BROWSE_WINDOW_MS: i64 = 60 * 60_000;
    pub const AUTH_FAIL: usize = 5;
    pub const AUTH_FAIL_WINDOW_MS: i64 = 10 * 60_000;
    pub const SESSION_TIMEOUT_MS: i64 = 30 * 60_000;
    pub const VERIFY_WITHIN_MS: i64 = 24 * 3_600_000;
    /// Clean traffic keeps an operator's uncovered small outputs per window at or below this.
    pub const CLEAN_OUTPUT_SUM: i64 = 80;
    /// Clean traffic keeps an operator's distinct viewed residents per window below this.
    pub const CLEAN_DISTINCT_VIEWS: usize = 30;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::config::{Compress, GenParams};

    pub(crate) fn cfg(offices: u32, scale: f64) -> GenConfig {
        GenParams {
            seed: 7,
            days: 9,
            start: "2026-04-01".into(),
            offices,
            scale,
            anomalies: 1.0,
            malformed: 0.0,
            formats: vec![Format::Csv, Format::Kv],
            encodings: vec![Encoding::Utf8, Encoding::Utf8Bom, Encoding::Cp932],
            compress: vec![Compress::None],
            duplicates: true,
            shuffle: true,
        }
        .build("x".into())
        .unwrap()
    }

    #[test]
    fn designation_periods_have_the_promised_shapes() {
        let c = cfg(3, 1.0);
        let w = World::build(&c);
        assert_eq!(w.operators.len(), 24);
        // Office 0, j = 1: transferred to office 1 on start + 4 (9 days / 2).
        let t = &w.operators[1];
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].office, 0);
        assert_eq!(t.rows[1].office, 1);
        assert_eq!(t.rows[1].from, c.start + 4);
        assert_eq!(t.rows[0].until, Some(c.start + 3));
        // j = 7 expires on start + 3; j = 6 starts on start + 4.
        let exp = &w.operators[7];
        assert_eq!(exp.rows.last().unwrap().until, Some(c.start + 3));
        let late = &w.operators[6];
        assert_eq!(late.rows.last().unwrap().from, c.start + 4);
        assert!(w.designation(6, c.start + 3).is_none());
        assert!(w.designation(6, c.start + 4).is_some());
        // The transferred operator works at office 1 after the transfer only.
        let at1: Vec<usize> = w.active(1, c.start + 4).iter().map(|a| a.0).collect();
        assert!(at1.contains(&1));
        let at0: Vec<usize> = w.active(0, c.start + 4).iter().map(|a| a.0).collect();
        assert!(!at0.contains(&1));
        // Rows of one operator never overlap.
        for op in &w.operators {
            for pair in op.rows.windows(2) {
                assert!(pair[0].until.unwrap() < pair[1].from);
            }
        }
    }

    #[test]
    fn offices_cover_formats_and_encodings() {
        let w = World::build(&cfg(3, 1.0));
        let styles: Vec<(Format, Encoding)> = w
            .offices
            .iter()
            .map(|o| (o.style.format, o.style.encoding))
            .collect();
        assert_eq!(styles, STYLES[..3].to_vec());
        assert_eq!(
            w.offices[2].calendar, 1,
            "last office on the branch calendar"
        );
    }

    #[test]
    fn calendars_have_open_sunday_and_long_thursday() {
        let c = cfg(2, 1.0);
        let w = World::build(&c);
        let sunday = time::parse_day("2026-04-05").unwrap();
        let thursday = time::parse_day("2026-04-02").unwrap();
        let (o, cl) = w.hours(0, sunday).unwrap();
        assert_eq!(cl - o, 210 * 60_000);
        assert!(w.hours(1, sunday).is_none(), "branch closed on Sunday");
        let (o, cl) = w.hours(0, thursday).unwrap();
        assert_eq!(cl - o, (19 * 60 - 510) * 60_000);
        let toml = String::from_utf8(calendars_toml(&w)).unwrap();
        assert!(toml.contains("[[default.open_days]]"));
        assert!(toml.contains("date = \"2026-04-05\""));
        assert!(toml.contains("weekday = \"thu\""));
        assert!(toml.contains("[branch]"));
    }
}
