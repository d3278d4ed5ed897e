//! The rule tables as the rule engine sees them, and the questions it asks of them.
//!
//! These are runtime types, built and validated once by the loaders in this module's
//! siblings (`ledgers.md` is the contract). Every query here is exact to `rules.md`: the
//! detect stage never re-interprets a ledger cell.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::buckets;
use crate::model::RuleId;
use crate::time::{self, Day};

/// A `;` list of a ledger cell where `*` means "any".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow {
    /// The list held `*`.
    Any,
    /// Exactly these values (possibly none).
    Only(BTreeSet<String>),
}

impl Allow {
    /// Parses a `;`-separated cell. Blank items are ignored; `*` anywhere means any.
    pub fn parse(cell: &str) -> Allow {
        let mut set = BTreeSet::new();
        for item in cell.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                return Allow::Any;
            }
            set.insert(item.to_owned());
        }
        Allow::Only(set)
    }

    /// Whether the list allows `value`; `*` allows anything, an absent value included.
    pub fn allows(&self, value: Option<&str>) -> bool {
        match (self, value) {
            (Allow::Any, _) => true,
            (Allow::Only(set), Some(v)) => set.contains(v),
            _ => false,
        }
    }

    pub fn is_any(&self) -> bool {
        matches!(self, Allow::Any)
    }
}

/// One row of `operators.csv`: one designation period of one operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Designation {
    pub operator_id: String,
    pub name: String,
    pub office: String,
    pub from: Day,
    /// `None`: still designated.
    pub until: Option<Day>,
    pub business_codes: Allow,
    pub terminals: Allow,
    /// The 1-based line of the row in `operators.csv`, for messages.
    pub line: u64,
}

impl Designation {
    pub fn contains(&self, day: Day) -> bool {
        day >= self.from && self.until.is_none_or(|u| day <= u)
    }
}

/// The operator register (操作者指定簿).
#[derive(Debug, Clone, Default)]
pub struct Operators {
    by_id: HashMap<String, Vec<Designation>>,
}

impl Operators {
    /// Builds the register from rows already checked not to overlap per operator.
    pub fn from_rows(rows: impl IntoIterator<Item = Designation>) -> Operators {
        let mut by_id: HashMap<String, Vec<Designation>> = HashMap::new();
        for row in rows {
            by_id.entry(row.operator_id.clone()).or_default().push(row);
        }
        for rows in by_id.values_mut() {
            rows.sort_by_key(|r| r.from);
        }
        Operators { by_id }
    }

    /// The designation row that applies to `operator` on `day`, if any.
    pub fn designation(&self, operator: &str, day: Day) -> Option<&Designation> {
        self.by_id.get(operator)?.iter().find(|r| r.contains(day))
    }

    /// Every row of one operator, by start date.
    pub fn rows(&self, operator: &str) -> &[Designation] {
        self.by_id.get(operator).map_or(&[], Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Designation> {
        self.by_id.values().flatten()
    }
}

/// One row of `terminals.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    pub terminal_id: String,
    pub office: String,
    /// The calendar's name (`default` when the cell was empty).
    pub calendar: String,
}

/// The terminal register.
#[derive(Debug, Clone, Default)]
pub struct Terminals {
    by_id: HashMap<String, Terminal>,
}

impl Terminals {
    pub fn from_rows(rows: impl IntoIterator<Item = Terminal>) -> Terminals {
        Terminals {
            by_id: rows
                .into_iter()
                .map(|t| (t.terminal_id.clone(), t))
                .collect(),
        }
    }

    pub fn get(&self, terminal: &str) -> Option<&Terminal> {
        self.by_id.get(terminal)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Terminal> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// Open and close of a working day, in minutes after local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub open_min: u32,
    pub close_min: u32,
}

impl Hours {
    /// Parses `HH:MM-HH:MM` (open before close).
    pub fn parse(s: &str) -> Option<Hours> {
        let (a, b) = s.trim().split_once('-')?;
        let hm = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m <= 59 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
        };
        let (open_min, close_min) = (hm(a)?, hm(b)?);
        (open_min < close_min).then_some(Hours {
            open_min,
            close_min,
        })
    }
}

/// One named calendar of `calendars.toml` (運用計画の稼働時間).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub name: String,
    /// Working weekdays, Monday first.
    pub weekdays: [bool; 7],
    pub hours: Hours,
    pub grace_minutes: u32,
    pub national_holidays: bool,
    /// Other hours on one weekday, Monday first.
    pub weekday_hours: [Option<Hours>; 7],
    /// Special open days (休日開庁): they override everything else.
    pub open_days: BTreeMap<Day, Hours>,
    /// Closed `(month, day)` every year (年末年始).
    pub closed_yearly: BTreeSet<(u32, u32)>,
    pub closed_dates: BTreeSet<Day>,
}

impl Calendar {
    /// The `default` calendar of `ledgers.md`, used when `calendars.toml` is missing.
    pub fn builtin_default() -> Calendar {
        Calendar {
            name: "default".into(),
            weekdays: [true, true, true, true, true, false, false],
            hours: Hours {
                open_min: 8 * 60 + 30,
                close_min: 17 * 60 + 15,
            },
            grace_minutes: 30,
            national_holidays: true,
            weekday_hours: [None; 7],
            open_days: BTreeMap::new(),
            closed_yearly: [(12, 29), (12, 30), (12, 31), (1, 2), (1, 3)]
                .into_iter()
                .collect(),
            closed_dates: BTreeSet::new(),
        }
    }

    /// The hours of `day` if it is a working day, `None` on a closed day.
    pub fn working_hours(&self, day: Day, holidays: &Holidays) -> Option<Hours> {
        if let Some(h) = self.open_days.get(&day) {
            return Some(*h);
        }
        let wd = weekday_index(day);
        if !self.weekdays[wd] {
            return None;
        }
        if self.national_holidays && holidays.is_holiday(day) {
            return None;
        }
        let (_, m, d) = time::civil_from_days(day);
        if self.closed_yearly.contains(&(m, d)) || self.closed_dates.contains(&day) {
            return None;
        }
        Some(self.weekday_hours[wd].unwrap_or(self.hours))
    }

    /// The inclusive open interval `[open − grace, close + grace]` of `day`, in
    /// milliseconds after local midnight of `day`; `None` on a non-working day.
    pub fn open_interval(&self, day: Day, holidays: &Holidays) -> Option<(i64, i64)> {
        let h = self.working_hours(day, holidays)?;
        let g = self.grace_minutes as i64;
        Some((
            (h.open_min as i64 - g) * 60_000,
            (h.close_min as i64 + g) * 60_000,
        ))
    }

    /// Whether the instant `ms` lies in the open interval of its own local date, both
    /// ends included (`off-hours` flags the events for which this is false). An event
    /// after midnight is judged by the calendar of its new date, as `rules.md` says.
    pub fn is_open_at(&self, ms: i64, holidays: &Holidays) -> bool {
        let t = time::jst_ms_of_day(ms);
        self.open_interval(time::jst_day(ms), holidays)
            .is_some_and(|(open, close)| (open..=close).contains(&t))
    }
}

/// Monday = 0 … Sunday = 6. 1970-01-01 was a Thursday.
pub fn weekday_index(day: Day) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// Japanese national holidays (国民の祝日・休日).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holidays {
    days: BTreeMap<Day, String>,
}

impl Holidays {
    pub fn from_days(days: impl IntoIterator<Item = (Day, String)>) -> Holidays {
        Holidays {
            days: days.into_iter().collect(),
        }
    }

    pub fn is_holiday(&self, day: Day) -> bool {
        self.days.contains_key(&day)
    }

    pub fn name(&self, day: Day) -> Option<&str> {
        self.days.get(&day).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Day, &str)> {
        self.days.iter().map(|(d, n)| (*d, n.as_str()))
    }

    /// Replaces every holiday of the years `other` covers with `other`'s.
    pub fn override_with(&mut self, other: &Holidays) {
        let years: BTreeSet<i32> = other
            .days
            .keys()
            .map(|&d| time::civil_from_days(d).0)
            .collect();
        self.days
            .retain(|&d, _| !years.contains(&time::civil_from_days(d).0));
        self.days
            .extend(other.days.iter().map(|(d, n)| (*d, n.clone())));
    }
}

/// The calendars of `calendars.toml`, with the holidays they judge by.
#[derive(Debug, Clone)]
pub struct Calendars {
    by_name: BTreeMap<String, Calendar>,
    pub holidays: Holidays,
}

impl Calendars {
    /// Calendars by name; a `default` calendar is added if missing.
    pub fn new(calendars: impl IntoIterator<Item = Calendar>, holidays: Holidays) -> Calendars {
        let mut by_name: BTreeMap<String, Calendar> =
            calendars.into_iter().map(|c| (c.name.clone(), c)).collect();
        by_name
            .entry("default".into())
            .or_insert_with(Calendar::builtin_default);
        Calendars { by_name, holidays }
    }

    pub fn get(&self, name: &str) -> Option<&Calendar> {
        self.by_name.get(name)
    }

    /// The `default` calendar (always present).
    pub fn default_calendar(&self) -> &Calendar {
        // `new` guarantees the entry; the builtin is a total fallback.
        static FALLBACK: std::sync::LazyLock<Calendar> =
            std::sync::LazyLock::new(Calendar::builtin_default);
        self.by_name.get("default").unwrap_or(&FALLBACK)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

/// One row of `approvals.csv` (大量出力承認簿).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub approval_no: String,
    pub operator_id: String,
    /// `None` for `*`.
    pub business_code: Option<String>,
    /// Inclusive validity, instants (ms UTC).
    pub valid_from: i64,
    pub valid_until: i64,
    pub max_records: i64,
    pub approved_by: String,
}

impl Approval {
    /// Whether this approval covers an output (`ledgers.md`).
    pub fn covers(
        &self,
        approval_no: &str,
        operator: Option<&str>,
        business: Option<&str>,
        ts: i64,
        record_count: i64,
    ) -> bool {
        self.approval_no == approval_no
            && operator == Some(self.operator_id.as_str())
            && self
                .business_code
                .as_deref()
                .is_none_or(|b| business == Some(b))
            && (self.valid_from..=self.valid_until).contains(&ts)
            && record_count <= self.max_records
    }
}

/// The mass-output approvals.
///
/// One vector sorted by number, searched by halves: a register of tens of thousands of
/// approvals, each number mostly once, cost about 480 bytes an approval as a map of
/// small vectors (each starts with room for four) and costs its rows alone this way.
#[derive(Debug, Clone, Default)]
pub struct Approvals {
    /// By `approval_no`; rows of one number in file order.
    rows: Vec<Approval>,
}

impl Approvals {
    pub fn from_rows(rows: impl IntoIterator<Item = Approval>) -> Approvals {
        let mut rows: Vec<Approval> = rows.into_iter().collect();
        rows.sort_by(|a, b| a.approval_no.cmp(&b.approval_no));
        rows.shrink_to_fit();
        Approvals { rows }
    }

    /// Whether some approval covers an output with these fields.
    pub fn covers(
        &self,
        approval_no: Option<&str>,
        operator: Option<&str>,
        business: Option<&str>,
        ts: i64,
        record_count: i64,
    ) -> bool {
        let Some(no) = approval_no else { return false };
        let from = self.rows.partition_point(|a| a.approval_no.as_str() < no);
        self.rows
            .iter()
            .skip(from)
            .take_while(|a| a.approval_no == no)
            .any(|a| a.covers(no, operator, business, ts, record_count))
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// `kind` of `requests.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Request,
    Application,
    Notification,
    ExOfficio,
}

impl RequestKind {
    pub fn parse(s: &str) -> Option<RequestKind> {
        Some(match s {
            "REQUEST" => RequestKind::Request,
            "APPLICATION" => RequestKind::Application,
            "NOTIFICATION" => RequestKind::Notification,
            "EX_OFFICIO" => RequestKind::ExOfficio,
            _ => return None,
        })
    }
}

/// One row of `requests.csv` (帳票等管理台帳).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestForm {
    pub request_no: String,
    pub received_on: Day,
    pub kind: RequestKind,
    pub business_code: Option<String>,
    pub target_code: Option<String>,
}

/// Why an access is not explained by the request register.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RequestMismatch {
    /// The form number is not in the register.
    NotInRegister,
    /// The form is about another resident.
    OtherResident,
    /// The form was received after the access.
    ReceivedLater { received_on: Day },
}

/// Short text kept inline (no pointer to follow), longer text on the heap. Request
/// numbers and resident codes are short, and the request register is asked about almost
/// every view and output, so a lookup should cost about one cache miss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShortKey {
    Inline(u8, [u8; 22]),
    Heap(Box<str>),
}

impl std::hash::Hash for ShortKey {
    /// The text's bytes only: one hasher call.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
    }
}

impl ShortKey {
    #[inline]
    pub fn new(s: &str) -> ShortKey {
        let b = s.as_bytes();
        if b.len() <= 22 {
            let mut a = [0u8; 22];
            a[..b.len()].copy_from_slice(b);
            ShortKey::Inline(b.len() as u8, a)
        } else {
            ShortKey::Heap(s.into())
        }
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            ShortKey::Inline(n, a) => &a[..*n as usize],
            ShortKey::Heap(s) => s.as_bytes(),
        }
    }
}

/// The request-form register, compact: a city's register has millions of rows and must
/// not cost more memory than the scan it serves, nor more time to consult than the rules
/// that consult it.
///
/// Each distinct number is one 16-byte [`NumberRow`]: the number, and one of its rows
/// (resident, day received) in a second word; further rows of a number (a form about
/// several residents) are kept in `more`. A number is packed into a `u64` when it is text
/// ending in at most 11 digits (`REQ-KW01-260401-00001`): the text before the digits is
/// kept once in `prefixes`, the digits as their count and value. Other numbers go to an
/// arena as bytes and are found through a small map. Target codes, 11 digits, are packed
/// as their value ([`form_word`]).
///
/// Which row of a number is kept in `numbers` follows from the rows' contents, not their
/// order in the file, so nothing needs to remember register order: the answer for an
/// access is the same for a register in any row order ([`Requests::check`]).
///
/// Packed numbers are laid out in the order of a bijective mix of their key, with a
/// directory on the mix's top bits: a lookup reads one directory slot and one or two rows,
/// and a day's lookups sorted by the mix ([`Requests::check_all`]) walk both arrays front
/// to back instead of missing the cache at random twice per access.
///
/// The `kind` and `business_code` columns are checked when the file is read but not
/// kept: no rule asks about them.
#[derive(Debug, Clone, Default)]
pub struct Requests {
    /// Packed numbers in mix order, then the arena numbers.
    numbers: Vec<NumberRow>,
    /// `numbers[dir[b]..dir[b + 1]]` are the packed numbers whose mix starts with `b`.
    dir: Vec<u32>,
    /// The mix is shifted right by this to give its directory slot.
    shift: u32,
    /// Arena numbers: their bytes to their index in `numbers`.
    unpacked: hashbrown::HashMap<Box<[u8]>, u32>,
    /// The other rows of numbers with several, by the index of their number in `numbers`.
    more: Vec<MoreRow>,
    /// The text before the trailing digits of packed numbers, by id.
    prefixes: hashbrown::HashMap<Box<[u8]>, u32>,
    /// Target codes that are not 11 digits: only registers built in code hold them (the
    /// file reader rejects such codes).
    odd_targets: Vec<Box<str>>,
}

/// Collects the rows of a register; [`RequestsBuilder::build`] lays them out for lookups.
#[derive(Debug, Default)]
pub struct RequestsBuilder {
    /// Every row as pushed.
    rows: Vec<NumberRow>,
    prefixes: hashbrown::HashMap<Box<[u8]>, u32>,
    /// The prefix last looked up and its id: registers list one office's forms of a day
    /// together, so consecutive numbers mostly share it and skip the hash.
    last_prefix: Option<(Box<[u8]>, u32)>,
    /// Numbers that do not pack, each as its length (LEB128) then its bytes.
    arena: Vec<u8>,
    odd_targets: Vec<Box<str>>,
}

/// A number and one of its rows.
#[derive(Debug, Clone, Copy)]
struct NumberRow {
    /// A packed number, or [`UNPACKED`] | its offset in the builder's arena.
    key: u64,
    /// The row, as [`form_word`] packs it.
    form: u64,
}

/// A further row of a number with several.
#[derive(Debug, Clone, Copy)]
struct MoreRow {
    /// The number's index in `numbers`.
    owner: u32,
    /// As [`form_word`] packs it.
    form: u64,
}

// The word of a row: the target in bits 0–37, the day received in bits 38–62.
const TARGET_MASK: u64 = (1 << 38) - 1;
/// No target: the form is a list output's.
const NO_TARGET: u64 = TARGET_MASK;
/// Above every 11-digit value (10^11 < 2^37): the rest is an index into `odd_targets`.
const ODD_TARGET: u64 = 1 << 37;
const DAY_SHIFT: u32 = 38;
const DAY_MASK: u64 = (1 << 25) - 1;
/// 0000-01-01, the earliest day a four-digit year can write; 2^25 days on from it reach far
/// past 9999-12-31, so every day read from a file is kept exactly.
const FIRST_DAY: i64 = time::days_from_civil(0, 1, 1) as i64;
const UNPACKED: u64 = 1 << 63;
/// A packed number: prefix id (20 bits), digit count (4 bits), digits' value (37 bits).
const PREFIX_IDS: usize = 1 << 20;
const MAX_DIGITS: usize = 11;
/// The widest directory: 2^24 slots (64 MiB) serve 32 M numbers at two or more per slot.
const MAX_DIR_BITS: u32 = 24;

/// A bijection of packed keys whose top bits spread even runs of consecutive numbers
/// evenly (Fibonacci hashing): the order numbers are laid out in.
#[inline]
fn mix(key: u64) -> u64 {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// An 11-digit text as its value: with the length fixed, the value is the text.
#[inline]
fn eleven_digits(s: &[u8]) -> Option<u64> {
    if s.len() != 11 {
        return None;
    }
    s.iter().try_fold(0u64, |v, &b| {
        b.is_ascii_digit().then(|| v * 10 + u64::from(b - b'0'))
    })
}

/// A number split into the text before its trailing digits, and those digits packed as
/// count and value; `None` when there are more than [`MAX_DIGITS`] of them.
#[inline]
fn split_number(no: &[u8]) -> Option<(&[u8], u64)> {
    let digits = no.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if digits > MAX_DIGITS {
        return None;
    }
    let (prefix, tail) = no.split_at(no.len() - digits);
    let value = tail.iter().fold(0u64, |v, &b| v * 10 + u64::from(b - b'0'));
    Some((prefix, ((digits as u64) << 37) | value))
}

/// A register row as one word: its target (`NO_TARGET`, an 11-digit code as its value,
/// or `ODD_TARGET` | an index) and its day. Only registers built in code can hold days
/// outside four-digit years; those are clamped to the nearest day the word holds, which
/// keeps every comparison with a day a timestamp can name.
#[inline]
fn form_word(target: u64, received_on: Day) -> u64 {
    let day = (i64::from(received_on) - FIRST_DAY).clamp(0, DAY_MASK as i64) as u64;
    (target & TARGET_MASK) | (day << DAY_SHIFT)
}

#[inline]
fn word_day(form: u64) -> Day {
    // Within i32: FIRST_DAY + 2^25 is far below i32::MAX.
    (((form >> DAY_SHIFT) & DAY_MASK) as i64 + FIRST_DAY) as Day
}

/// Of two reasons a number's rows give for not explaining an access, the one to report:
/// a form about this resident received too late says more than a form about another
/// resident, and of two late forms the earlier is the nearer miss.
fn nearest_miss(a: RequestMismatch, b: RequestMismatch) -> RequestMismatch {
    use RequestMismatch::ReceivedLater;
    match (a, b) {
        (ReceivedLater { received_on: x }, ReceivedLater { received_on: y }) => ReceivedLater {
            received_on: x.min(y),
        },
        (late @ ReceivedLater { .. }, _) | (_, late @ ReceivedLater { .. }) => late,
        (a, _) => a,
    }
}

/// `items` ordered by the top bits of their first field, in one counting pass: look-ups
/// only need to meet the register's directory roughly in order to stream through it, and a
/// full comparison sort of a day's look-ups cost more than the look-ups themselves.
fn by_top_bits<T: Copy>(items: Vec<(u64, T)>) -> Vec<(u64, T)> {
    // About one bucket per item.
    let bits = buckets::bits_for(items.len(), 0);
    buckets::scatter(items, 1 << bits, |&(m, _)| buckets::top(m, bits)).0
}

/// `rows` reordered for [`RequestsBuilder::build`]: the packed rows by `mix(key)`, then
/// the arena rows in the order they were pushed. Sorting millions of rows by comparison
/// was most of loading a large register; a scatter by the mix's top bits leaves buckets of
/// a few dozen rows to sort. It works in place, since a second copy of the rows doubled
/// the register's peak memory.
fn packed_first(mut rows: Vec<NumberRow>) -> Vec<NumberRow> {
    // One bucket per 32 rows or so, and the arena rows in one bucket after them. The bucket
    // count only sizes the buckets (the order is the same for any), so it is taken from
    // all rows rather than counting the packed ones first.
    let bits = buckets::bits_for(rows.len(), 5);
    // In two rounds of at most 256 buckets: one round into 2^16 buckets swaps across the
    // whole register and cost twice the copying scatter it replaces.
    let outer = bits.min(8);
    let inner = bits - outer;
    let arena = 1 << outer;
    let starts = buckets::scatter_in_place(&mut rows, arena + 1, |n| {
        if n.key & UNPACKED == 0 {
            buckets::top(mix(n.key), outer)
        } else {
            arena
        }
    });
    // The scatter in place does not keep the order rows came in. Nothing depends on it but
    // the arena rows, whose offsets grow in that order.
    for (b, w) in starts.windows(2).enumerate() {
        let Some(part) = rows.get_mut(w[0]..w[1]) else {
            continue;
        };
        if b == arena {
            part.sort_unstable_by_key(|n| n.key);
            continue;
        }
        let within = buckets::scatter_in_place(part, 1 << inner, |n| {
            buckets::top(mix(n.key) << outer, inner)
        });
        for v in within.windows(2) {
            if let Some(small) = part.get_mut(v[0]..v[1]) {
                small.sort_unstable_by_key(|n| mix(n.key));
            }
        }
    }
    rows
}

/// The number stored at `at` of the arena.
#[inline]
fn arena_number(arena: &[u8], at: u64) -> &[u8] {
    let mut len = 0usize;
    let mut shift = 0;
    let mut i = at as usize;
    while let Some(&b) = arena.get(i) {
        i += 1;
        len |= usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    arena.get(i..i + len).unwrap_or_default()
}

/// The resident an access touched, as a lookup compares it.
#[derive(Clone, Copy)]
enum Target<'a> {
    None,
    /// 11 digits: their value, and the text.
    Eleven(u64, &'a str),
    Other(&'a str),
}

impl<'a> Target<'a> {
    #[inline]
    fn of(target: Option<&'a str>) -> Target<'a> {
        match target {
            None => Target::None,
            Some(t) => match eleven_digits(t.as_bytes()) {
                Some(v) => Target::Eleven(v, t),
                None => Target::Other(t),
            },
        }
    }
}

/// A number as a lookup sees it.
enum Number<'a> {
    Packed(u64),
    Bytes(&'a [u8]),
}

impl RequestsBuilder {
    /// An empty register with room for about `rows` rows (growing a vector of millions of
    /// rows by doubling costs more time and memory than the rows themselves).
    pub fn with_capacity(rows: usize) -> RequestsBuilder {
        RequestsBuilder {
            rows: Vec::with_capacity(rows),
            ..RequestsBuilder::default()
        }
    }

    /// `no` packed, its prefix given an id if it has none yet and ids are left.
    fn pack_new(&mut self, no: &[u8]) -> Option<u64> {
        let (prefix, digits) = split_number(no)?;
        let id = match &self.last_prefix {
            Some((last, id)) if **last == *prefix => *id,
            _ => {
                let id = self.prefix_id(prefix)?;
                self.last_prefix = Some((prefix.into(), id));
                id
            }
        };
        Some((u64::from(id) << 41) | digits)
    }

    /// The id of `prefix`, a new one if it has none yet and ids are left.
    fn prefix_id(&mut self, prefix: &[u8]) -> Option<u32> {
        if let Some(&id) = self.prefixes.get(prefix) {
            return Some(id);
        }
        if self.prefixes.len() >= PREFIX_IDS {
            return None;
        }
        let id = self.prefixes.len() as u32;
        self.prefixes.insert(prefix.into(), id);
        Some(id)
    }

    /// Adds one row.
    pub fn push(&mut self, request_no: &str, received_on: Day, target_code: Option<&str>) {
        let target = match target_code {
            None => NO_TARGET,
            Some(t) => eleven_digits(t.as_bytes()).unwrap_or_else(|| {
                self.odd_targets.push(t.into());
                ODD_TARGET | (self.odd_targets.len() - 1) as u64
            }),
        };
        let no = request_no.as_bytes();
        let key = match self.pack_new(no) {
            Some(key) => key,
            None => {
                let at = self.arena.len() as u64;
                let mut len = no.len();
                loop {
                    let low = (len & 0x7f) as u8;
                    len >>= 7;
                    if len == 0 {
                        self.arena.push(low);
                        break;
                    }
                    self.arena.push(low | 0x80);
                }
                self.arena.extend_from_slice(no);
                UNPACKED | at
            }
        };
        self.rows.push(NumberRow {
            key,
            form: form_word(target, received_on),
        });
    }

    /// Lays the rows out for lookups: one row of each number in `numbers`, the others
    /// in `more`.
    pub fn build(self) -> Requests {
        let RequestsBuilder {
            rows,
            prefixes,
            arena,
            odd_targets,
            ..
        } = self;
        let mut rows = packed_first(rows);
        let mut more: Vec<MoreRow> = Vec::new();
        // Distinct packed numbers are compacted to the front of `rows` in place.
        let mut kept = 0;
        let mut read = 0;
        while let Some(&n) = rows.get(read).filter(|n| n.key & UNPACKED == 0) {
            read += 1;
            while let Some(other) = rows.get(read).filter(|o| o.key == n.key) {
                more.push(MoreRow {
                    owner: kept as u32,
                    form: other.form,
                });
                read += 1;
            }
            rows[kept] = n;
            kept += 1;
        }
        let packed = kept;
        let mut unpacked: hashbrown::HashMap<Box<[u8]>, u32> = hashbrown::HashMap::new();
        while let Some(&row) = rows.get(read) {
            read += 1;
            let bytes = arena_number(&arena, row.key & !UNPACKED);
            match unpacked.get(bytes) {
                Some(&i) => {
                    more.push(MoreRow {
                        owner: i,
                        form: row.form,
                    });
                }
                None => {
                    unpacked.insert(bytes.into(), kept as u32);
                    rows[kept] = NumberRow {
                        key: UNPACKED,
                        form: row.form,
                    };
                    kept += 1;
                }
            }
        }
        rows.truncate(kept);
        rows.shrink_to_fit();
        // Arena numbers' rows arrive out of owner order.
        more.sort_unstable_by_key(|m| m.owner);
        more.shrink_to_fit();

        // One directory slot per two to four numbers: at 16 bytes a number, a slot's share
        // one or two cache lines, and the directory costs 1–2 bytes a number, not 2–4.
        let bits = (usize::BITS - packed.leading_zeros())
            .saturating_sub(2)
            .clamp(1, MAX_DIR_BITS);
        let shift = u64::BITS - bits;
        let mut dir = vec![0u32; (1usize << bits) + 1];
        for n in &rows[..packed] {
            dir[(mix(n.key) >> shift) as usize + 1] += 1;
        }
        for b in 1..dir.len() {
            dir[b] += dir[b - 1];
        }
        Requests {
            numbers: rows,
            dir,
            shift,
            unpacked,
            more,
            prefixes,
            odd_targets,
        }
    }
}

impl Requests {
    pub fn from_rows(rows: impl IntoIterator<Item = RequestForm>) -> Requests {
        let mut out = RequestsBuilder::default();
        for r in rows {
            out.push(&r.request_no, r.received_on, r.target_code.as_deref());
        }
        out.build()
    }

    /// How `no` is stored, if it is stored at all: a number whose prefix is not known is
    /// in the arena (or nowhere).
    #[inline]
    fn number<'a>(&self, no: &'a [u8]) -> Number<'a> {
        match split_number(no) {
            Some((prefix, digits)) => match self.prefixes.get(prefix) {
                Some(&id) => Number::Packed((u64::from(id) << 41) | digits),
                None => Number::Bytes(no),
            },
            None => Number::Bytes(no),
        }
    }

    /// The index of a packed number in `numbers`.
    #[inline]
    fn find_packed(&self, key: u64) -> Option<usize> {
        let b = (mix(key) >> self.shift) as usize;
        let (lo, hi) = (*self.dir.get(b)? as usize, *self.dir.get(b + 1)? as usize);
        let at = self
            .numbers
            .get(lo..hi)?
            .iter()
            .position(|n| n.key == key)?;
        Some(lo + at)
    }

    /// The index of `no` in `numbers`.
    #[inline]
    fn find(&self, number: &Number) -> Option<usize> {
        match *number {
            Number::Packed(key) => self.find_packed(key),
            Number::Bytes(b) => self.unpacked.get(b).map(|&i| i as usize),
        }
    }

    /// Why the row `form` does not explain an access to `target` on `day`; `None` if it
    /// does.
    #[inline]
    fn mismatch(&self, form: u64, target: &Target, day: Day) -> Option<RequestMismatch> {
        let row_target = form & TARGET_MASK;
        let other = match *target {
            Target::None => false,
            _ if row_target == NO_TARGET => false,
            Target::Eleven(_, t) | Target::Other(t) if row_target & ODD_TARGET != 0 => self
                .odd_targets
                .get((row_target & !ODD_TARGET) as usize)
                .is_none_or(|s| **s != *t),
            // An 11-digit row matches only an equal 11-digit text.
            Target::Eleven(v, _) => v != row_target,
            Target::Other(_) => true,
        };
        let received_on = word_day(form);
        if other {
            Some(RequestMismatch::OtherResident)
        } else if received_on > day {
            Some(RequestMismatch::ReceivedLater { received_on })
        } else {
            None
        }
    }

    /// [`Requests::check`] of an access whose number is already looked up.
    fn check_row(
        &self,
        at: Option<usize>,
        target: &Target,
        day: Day,
    ) -> Result<(), RequestMismatch> {
        let Some((owner, n)) = at.and_then(|i| Some((i as u32, self.numbers.get(i)?))) else {
            return Err(RequestMismatch::NotInRegister);
        };
        let Some(mut why) = self.mismatch(n.form, target, day) else {
            return Ok(());
        };
        let from = self.more.partition_point(|m| m.owner < owner);
        for m in self.more.iter().skip(from).take_while(|m| m.owner == owner) {
            match self.mismatch(m.form, target, day) {
                None => return Ok(()),
                Some(other) => why = nearest_miss(why, other),
            }
        }
        Err(why)
    }

    /// Checks an access naming `request_no` that touched `target` on `day`
    /// (`unmatched-request`). When a number has several rows (a form about several
    /// residents), the access is explained if any row explains it; otherwise by the
    /// nearest miss ([`nearest_miss`]), so the order of the rows in the file does not
    /// matter.
    #[inline]
    pub fn check(
        &self,
        request_no: &str,
        target: Option<&str>,
        day: Day,
    ) -> Result<(), RequestMismatch> {
        let number = self.number(request_no.as_bytes());
        self.check_row(self.find(&number), &Target::of(target), day)
    }

    /// [`Requests::check`] of many accesses on `day`, each `(request_no, target)`; the
    /// answers in the order of the accesses. The lookups are made in the register's
    /// layout order, so a day's worth of them streams through memory.
    pub fn check_all(
        &self,
        accesses: &[(&str, Option<&str>)],
        day: Day,
    ) -> Vec<Result<(), RequestMismatch>> {
        let mut out = vec![Ok(()); accesses.len()];
        // Everything the lookups need is taken from `accesses` in their order first: read
        // in register order, they would be one more random access each.
        let mut packed: Vec<(u64, (u64, Target, u32))> = Vec::with_capacity(accesses.len());
        for (i, &(no, target)) in accesses.iter().enumerate() {
            let target = Target::of(target);
            match self.number(no.as_bytes()) {
                Number::Packed(key) => packed.push((mix(key), (key, target, i as u32))),
                bytes => out[i] = self.check_row(self.find(&bytes), &target, day),
            }
        }
        for (_, (key, target, i)) in by_top_bits(packed) {
            if let Some(slot) = out.get_mut(i as usize) {
                *slot = self.check_row(self.find_packed(key), &target, day);
            }
        }
        out
    }

    /// Rows in the register.
    pub fn len(&self) -> usize {
        self.numbers.len() + self.more.len()
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }
}

/// One row of `watchlist.csv` (支援措置対象者等).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEntry {
    pub target_code: String,
    pub reason: String,
    pub allowed_operators: BTreeSet<String>,
}

/// The protected residents.
#[derive(Debug, Clone, Default)]
pub struct Watchlist {
    by_target: HashMap<String, WatchEntry>,
}

impl Watchlist {
    pub fn from_rows(rows: impl IntoIterator<Item = WatchEntry>) -> Watchlist {
        Watchlist {
            by_target: rows
                .into_iter()
                .map(|w| (w.target_code.clone(), w))
                .collect(),
        }
    }

    pub fn get(&self, target: &str) -> Option<&WatchEntry> {
        self.by_target.get(target)
    }

    /// Every protected resident (in no order).
    pub fn iter(&self) -> impl Iterator<Item = &WatchEntry> {
        self.by_target.values()
    }

    pub fn len(&self) -> usize {
        self.by_target.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_target.is_empty()
    }
}

/// The thresholds of `rules.toml`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesConfig {
    pub mass_output_threshold: i64,
    pub split_output_window_minutes: i64,
    pub browse_threshold: u32,
    pub browse_window_minutes: i64,
    pub auth_fail_threshold: u32,
    pub auth_fail_window_minutes: i64,
    pub session_timeout_minutes: i64,
    pub verify_within_hours: i64,
    pub request_exempt_business_codes: BTreeSet<String>,
    pub disabled_rules: BTreeSet<RuleId>,
    /// tenken's extension of `rules.toml`: how long a change is remembered for
    /// `self-verification` (and a verify for a change logged after it). `rules.md` puts no
    /// limit on how far apart a change and its verify may be, but memory must stay bounded
    /// by the rule windows, so the horizon is a documented setting. The default, 2 days,
    /// covers the 24-hour verification window with a margin; every day of horizon costs
    /// about one day's changes of rule state (a large city: ~20 000 changes, ~2 MB).
    pub self_verification_lookback_days: i64,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            mass_output_threshold: 100,
            split_output_window_minutes: 60,
            browse_threshold: 50,
            browse_window_minutes: 60,
            auth_fail_threshold: 5,
            auth_fail_window_minutes: 10,
            session_timeout_minutes: 30,
            verify_within_hours: 24,
            request_exempt_business_codes: BTreeSet::new(),
            disabled_rules: BTreeSet::new(),
            self_verification_lookback_days: 2,
        }
    }
}

impl RulesConfig {
    pub fn enabled(&self, rule: RuleId) -> bool {
        !self.disabled_rules.contains(&rule)
    }
}

/// Every rule table, loaded and validated.
#[derive(Debug, Clone)]
pub struct Ledgers {
    pub operators: Operators,
    pub terminals: Terminals,
    pub calendars: Calendars,
    pub approvals: Approvals,
    /// `None` when `requests.csv` is absent: `unmatched-request` is then not judged.
    pub requests: Option<Requests>,
    pub watchlist: Watchlist,
    pub rules: RulesConfig,
}

impl Ledgers {
    /// The calendar an event on `terminal` is judged by: the terminal's, or `default`
    /// for a terminal absent from the register.
    pub fn calendar_for(&self, terminal: Option<&str>) -> &Calendar {
        terminal
            .and_then(|t| self.terminals.get(t))
            .and_then(|t| self.calendars.get(&t.calendar))
            .unwrap_or_else(|| self.calendars.default_calendar())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists() {
        assert_eq!(Allow::parse("*"), Allow::Any);
        assert_eq!(Allow::parse("W01;*"), Allow::Any);
        assert_eq!(Allow::parse(""), Allow::Only(BTreeSet::new()));
        let a = Allow::parse("W01; W02;");
        assert!(a.allows(Some("W02")));
        assert!(!a.allows(Some("W03")));
        assert!(!a.allows(None));
        assert!(Allow::Any.allows(None));
    }

    #[test]
    fn a_row_word_keeps_every_day_of_four_digit_years() {
        let last = time::days_from_civil(9999, 12, 31);
        for target in [0, 99_999_999_999, NO_TARGET, ODD_TARGET | 12] {
            for day in [FIRST_DAY as Day, -1, 0, 20_544, last] {
                let w = form_word(target, day);
                assert_eq!((word_day(w), w & TARGET_MASK), (day, target));
            }
        }
        // Days no date can write are clamped, still on the same side of every day one can.
        assert_eq!(word_day(form_word(0, Day::MIN)), FIRST_DAY as Day);
        assert!(word_day(form_word(0, Day::MAX)) > last);
    }

    #[test]
    fn approvals_are_found_by_number_among_many() {
        let row = |no: &str, operator: &str, max: i64| Approval {
            approval_no: no.into(),
            operator_id: operator.into(),
            business_code: None,
            valid_from: 1_000,
            valid_until: 2_000,
            max_records: max,
            approved_by: "課長".into(),
        };
        // Given out of order, one number three times (two operators, two limits).
        let approvals = Approvals::from_rows([
            row("APV-3", "OP2", 10),
            row("APV-1", "OP1", 10),
            row("APV-2", "OP1", 10),
            row("APV-2", "OP2", 10),
            row("APV-2", "OP1", 500),
            row("APV-10", "OP1", 10),
        ]);
        assert_eq!(approvals.len(), 6);
        let covers =
            |no, operator, count| approvals.covers(Some(no), Some(operator), None, 1_500, count);
        assert!(
            covers("APV-2", "OP1", 500),
            "the third row of APV-2 covers it"
        );
        assert!(covers("APV-2", "OP2", 10));
        assert!(
            !covers("APV-2", "OP2", 11),
            "only OP1's row allows more than 10"
        );
        assert!(covers("APV-1", "OP1", 10) && covers("APV-10", "OP1", 10));
        assert!(covers("APV-3", "OP2", 10), "the last number is reached");
        assert!(!covers("APV-3", "OP1", 1), "APV-3 is OP2's");
        for absent in ["APV-0", "APV-11", "APV-4", "", "ZZZ"] {
            assert!(!covers(absent, "OP1", 1), "{absent} is not in the register");
        }
        assert!(!approvals.covers(None, Some("OP1"), None, 1_500, 1));
        assert!(!Approvals::default().covers(Some("APV-1"), Some("OP1"), None, 1_500, 1));
    }

    #[test]
    fn hours_parse() {
        assert_eq!(
            Hours::parse("08:30-17:15"),
            Some(Hours {
                open_min: 510,
                close_min: 1035
            })
        );
        assert_eq!(Hours::parse("17:15-08:30"), None);
        assert_eq!(Hours::parse("8:30-25:00"), None);
    }

    #[test]
    fn weekday_of_known_dates() {
        // 2026-04-01 is a Wednesday.
        assert_eq!(weekday_index(time::parse_day("2026-04-01").unwrap()), 2);
        assert_eq!(weekday_index(time::parse_day("1970-01-01").unwrap()), 3);
    }

    #[test]
    fn default_calendar_closes_on_year_end_and_weekends() {
        let cal = Calendar::builtin_default();
        let h = Holidays::default();
        let day = |s| time::parse_day(s).unwrap();
        assert!(cal.open_interval(day("2026-12-29"), &h).is_none());
        assert!(
            cal.open_interval(day("2026-04-04"), &h).is_none(),
            "Saturday"
        );
        assert_eq!(
            cal.open_interval(day("2026-04-01"), &h),
            Some((480 * 60_000, 1065 * 60_000))
        );
    }

    /// `unmatched-request` read straight from `ledgers.md` and `rules.md`, row by row.
    fn brute_check(
        rows: &[RequestForm],
        no: &str,
        target: Option<&str>,
        day: Day,
    ) -> Result<(), RequestMismatch> {
        let mine: Vec<&RequestForm> = rows.iter().filter(|r| r.request_no == no).collect();
        if mine.is_empty() {
            return Err(RequestMismatch::NotInRegister);
        }
        let why = |r: &RequestForm| match (r.target_code.as_deref(), target) {
            (Some(a), Some(b)) if a != b => Some(RequestMismatch::OtherResident),
            _ if r.received_on > day => Some(RequestMismatch::ReceivedLater {
                received_on: r.received_on,
            }),
            _ => None,
        };
        // The nearest miss, written out: the earliest late form about the resident, else
        // another resident's form.
        let misses: Vec<RequestMismatch> = mine.iter().filter_map(|r| why(r)).collect();
        if misses.len() < mine.len() {
            return Ok(());
        }
        let late = misses.iter().filter_map(|m| match m {
            RequestMismatch::ReceivedLater { received_on } => Some(*received_on),
            _ => None,
        });
        Err(match late.min() {
            Some(received_on) => RequestMismatch::ReceivedLater { received_on },
            None => RequestMismatch::OtherResident,
        })
    }

    /// Request rows from (number, received on, target) triples, named by `name` and `code`.
    fn request_forms<N: Copy>(
        rows: &[(N, Day, Option<u8>)],
        name: impl Fn(N) -> String,
        code: impl Fn(u8) -> String,
    ) -> Vec<RequestForm> {
        rows.iter()
            .map(|&(n, d, t)| RequestForm {
                request_no: name(n),
                received_on: d,
                kind: RequestKind::Request,
                business_code: None,
                target_code: t.map(&code),
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn flat_register_answers_as_the_rows(
            rows in proptest::collection::vec((0..6u8, 0..4i32, proptest::option::of(0..3u8)), 0..12),
            long in proptest::prelude::any::<bool>(),
            odd in proptest::prelude::any::<bool>(),
            no in 0..7u8,
            target in proptest::option::of(0..3u8),
            day in 0..5i32,
        ) {
            // Long numbers exercise the heap keys.
            let name = |n: u8| if long { format!("REQ-{n}-{}", "x".repeat(30)) } else { format!("R{n}") };
            // Codes that are not 11 digits exercise the unpacked targets.
            let code = |t: u8| if odd && t == 2 { format!("C{t}") } else { format!("0000000000{t}") };
            let forms = request_forms(&rows, name, code);
            let reqs = Requests::from_rows(forms.clone());
            let t = target.map(code);
            proptest::prop_assert_eq!(reqs.check(&name(no), t.as_deref(), day), brute_check(&forms, &name(no), t.as_deref(), day));
            proptest::prop_assert_eq!(reqs.len(), forms.len());
        }

        /// Enough rows for the build's buckets to matter, packed and unpacked numbers
        /// mixed, every number asked at once (as a day's judging does) and alone.
        #[test]
        fn large_register_answers_as_the_rows(
            rows in proptest::collection::vec((0..300u16, 0..4i32, proptest::option::of(0..3u8)), 0..3000),
            target in proptest::option::of(0..3u8),
            day in 0..5i32,
        ) {
            let name = |n: u16| if n.is_multiple_of(3) { format!("REQ-{n}-{}", "x".repeat(20)) } else { format!("R{n}") };
            let code = |t: u8| format!("0000000000{t}");
            let forms = request_forms(&rows, name, code);
            let reqs = Requests::from_rows(forms.clone());
            let t = target.map(code);
            let names: Vec<String> = (0..310).map(name).collect();
            let accesses: Vec<(&str, Option<&str>)> =
                names.iter().map(|n| (n.as_str(), t.as_deref())).collect();
            let all = reqs.check_all(&accesses, day);
            for (n, got) in names.iter().zip(all) {
                let expected = brute_check(&forms, n, t.as_deref(), day);
                proptest::prop_assert_eq!(&got, &expected, "{}", n);
                proptest::prop_assert_eq!(reqs.check(n, t.as_deref(), day), expected, "{}", n);
            }
            proptest::prop_assert_eq!(reqs.len(), forms.len());
        }
    }

    /// A register large enough for both rounds of the build's scatter (the property tests
    /// above stay in the first): numbers repeat with other days and residents, some do not
    /// pack, and the nearest miss decides the answer when none fits.
    #[test]
    fn a_register_of_both_scatter_rounds_answers_as_the_rows() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        let rows: Vec<(u32, Day, Option<u8>)> = (0..40_000)
            .map(|_| {
                let t = rng.random_range(0..4u8);
                (
                    rng.random_range(0..25_000),
                    rng.random_range(0..5),
                    (t < 3).then_some(t),
                )
            })
            .collect();
        let name = |n: u32| {
            if n.is_multiple_of(7) {
                format!("REQ-{n}-{}", "x".repeat(20))
            } else {
                format!("R{n:06}")
            }
        };
        let code = |t: u8| format!("0000000000{t}");
        let forms = request_forms(&rows, name, code);
        let reqs = Requests::from_rows(forms.clone());
        assert!(
            buckets::bits_for(forms.len(), 5) > 8,
            "the test must reach the inner round"
        );
        assert_eq!(reqs.len(), forms.len());
        let names: Vec<String> = (0..25_100).step_by(41).map(name).collect();
        for (target, day) in [(None, 2), (Some(code(1)), 0), (Some(code(2)), 4)] {
            let accesses: Vec<(&str, Option<&str>)> = names
                .iter()
                .map(|n| (n.as_str(), target.as_deref()))
                .collect();
            let all = reqs.check_all(&accesses, day);
            for (n, got) in names.iter().zip(all) {
                let expected = brute_check(&forms, n, target.as_deref(), day);
                assert_eq!(got, expected, "{n}");
                assert_eq!(reqs.check(n, target.as_deref(), day), expected, "{n}");
            }
        }
    }

    fn form(no: &str, received_on: Day) -> RequestForm {
        RequestForm {
            request_no: no.into(),
            received_on,
            kind: RequestKind::Request,
            business_code: None,
            target_code: None,
        }
    }

    #[test]
    fn request_numbers_pack_without_clashes() {
        // Digit counts, leading zeros, too many digits to pack, no digits, non-ASCII.
        let names = [
            "R1",
            "R01",
            "R001",
            "R",
            "1",
            "01",
            "12345678901",
            "123456789012",
            "0123456789012",
            "A12345678901",
            "A012345678901",
            "REQ-KW01-260401-00001",
            "REQ-KW01-260401-0001",
            "REQ-KW01-260402-00001",
            "ＡＢ1",
        ];
        let reqs = Requests::from_rows(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| form(n, i as Day + 10)),
        );
        assert_eq!(reqs.len(), names.len());
        for (i, n) in names.iter().enumerate() {
            let day = i as Day + 10;
            assert_eq!(reqs.check(n, None, day), Ok(()), "{n}");
            assert_eq!(
                reqs.check(n, None, day - 1),
                Err(RequestMismatch::ReceivedLater { received_on: day }),
                "{n}"
            );
        }
        for n in ["R0001", "R2", "", "2345678901", "A2012345678901", "ＡＢ01"] {
            assert_eq!(
                reqs.check(n, None, 100),
                Err(RequestMismatch::NotInRegister),
                "{n}"
            );
        }
    }

    #[test]
    fn request_numbers_past_the_prefix_ids_are_kept_as_bytes() {
        let count = PREFIX_IDS + 3;
        let mut reqs = RequestsBuilder::with_capacity(count);
        for i in 0..count {
            reqs.push(&format!("P{i}x"), 1, None);
        }
        // Known prefixes still pack after the ids ran out.
        reqs.push("P7x12", 1, None);
        let reqs = reqs.build();
        for i in [0, 7, PREFIX_IDS - 1, PREFIX_IDS, count - 1] {
            assert_eq!(reqs.check(&format!("P{i}x"), None, 1), Ok(()));
            assert_eq!(
                reqs.check(&format!("P{i}x1"), None, 1),
                Err(RequestMismatch::NotInRegister)
            );
        }
        assert_eq!(reqs.check("P7x12", None, 1), Ok(()));
        assert_eq!(reqs.len(), count + 1);
    }

    #[test]
    fn checking_a_day_at_once_answers_as_one_by_one() {
        // Packed and arena numbers, numbers with several rows in a scrambled order, an
        // odd target only code can register, targets and days on both sides of each row.
        let mut b = RequestsBuilder::default();
        let rows: [(&str, Day, Option<&str>); 10] = [
            ("R1", 10, Some("12345678901")),
            ("R2", 12, None),
            ("R1", 11, Some("12345678902")),
            ("123456789012345", 10, Some("12345678901")),
            ("ＡＢ1", 9, None),
            ("R3", 10, Some("X-7")),
            ("123456789012345", 14, Some("12345678903")),
            ("R1", 9, Some("12345678903")),
            ("REQ-00042", 10, Some("12345678901")),
            ("R0042", 10, None),
        ];
        for (no, day, target) in rows {
            b.push(no, day, target);
        }
        let reqs = b.build();
        assert_eq!(reqs.len(), rows.len());
        let numbers = [
            "R1",
            "R2",
            "R3",
            "R4",
            "R01",
            "123456789012345",
            "ＡＢ1",
            "REQ-00042",
            "R0042",
            "42",
        ];
        let targets = [
            None,
            Some("12345678901"),
            Some("12345678902"),
            Some("12345678903"),
            Some("X-7"),
            Some("X-8"),
        ];
        for day in 8..16 {
            let accesses: Vec<(&str, Option<&str>)> = numbers
                .iter()
                .flat_map(|&n| targets.iter().map(move |&t| (n, t)))
                .collect();
            let one_by_one: Vec<_> = accesses
                .iter()
                .map(|&(n, t)| reqs.check(n, t, day))
                .collect();
            assert_eq!(reqs.check_all(&accesses, day), one_by_one, "day {day}");
        }
        // Spot checks that the answers are the register's, not just self-consistent.
        assert_eq!(reqs.check("R1", Some("12345678903"), 9), Ok(()));
        // Each has a row about another resident and one about this resident received a day
        // late: the nearer miss is reported.
        assert_eq!(
            reqs.check("R1", Some("12345678902"), 10),
            Err(RequestMismatch::ReceivedLater { received_on: 11 })
        );
        assert_eq!(
            reqs.check("123456789012345", Some("12345678903"), 13),
            Err(RequestMismatch::ReceivedLater { received_on: 14 })
        );
        assert_eq!(
            reqs.check("123456789012345", Some("12345678903"), 14),
            Ok(())
        );
        assert_eq!(reqs.check("R3", Some("X-7"), 10), Ok(()));
        assert_eq!(
            reqs.check("R3", Some("X-8"), 10),
            Err(RequestMismatch::OtherResident)
        );
        assert_eq!(reqs.check("R0042", None, 10), Ok(()));
        assert_eq!(
            reqs.check("R042", None, 10),
            Err(RequestMismatch::NotInRegister)
        );
    }

    #[test]
    fn requests_check() {
        let day = |s| time::parse_day(s).unwrap();
        let reqs = Requests::from_rows([RequestForm {
            request_no: "R1".into(),
            received_on: day("2026-04-01"),
            kind: RequestKind::Request,
            business_code: None,
            target_code: Some("12345678901".into()),
        }]);
        assert_eq!(
            reqs.check("R1", Some("12345678901"), day("2026-04-01")),
            Ok(())
        );
        assert_eq!(reqs.check("R1", None, day("2026-04-02")), Ok(()));
        assert_eq!(
            reqs.check("R2", None, day("2026-04-02")),
            Err(RequestMismatch::NotInRegister)
        );
        assert_eq!(
            reqs.check("R1", Some("10000000000"), day("2026-04-02")),
            Err(RequestMismatch::OtherResident)
        );
        assert!(matches!(
            reqs.check("R1", None, day("2026-03-31")),
            Err(RequestMismatch::ReceivedLater { .. })
        ));
    }
}
