//! The rolling-window primitive: events grouped by the value of one column, each group
//! holding the events of `(t − W, t]` and an aggregate over them.
//!
//! A window lives in two forms. During a day it is a [`DayWindow`], evaluated
//! column-at-a-time: groups are interned to dense indices, every entry (the carried ones,
//! then the day's matching rows) is laid out with its group, and each group is swept once
//! in time order with the aggregate kept incrementally (count, sum, or a small multiset of
//! the distinct values present, keyed by integers). Between days it is a [`WindowState`]:
//! plain text, sorted maps, pruned to what a future window can still hold — the canonical
//! form that is saved and resumed.

use std::collections::BTreeMap;

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use serde::{Deserialize, Serialize};

use super::columns::{DayCtx, DictCol, NONE};
use super::predicate::Field;

/// What a window adds up over its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// How many events.
    Count,
    /// The sum of a numeric column (`record_count`).
    Sum(Field),
    /// How many distinct values of a column (absent values are not counted).
    Distinct(Field),
}

impl Aggregate {
    /// A stable text form, stored with the window's contents.
    pub fn describe(&self) -> String {
        match self {
            Aggregate::Count => "count".into(),
            Aggregate::Sum(f) => format!("sum({})", f.name()),
            Aggregate::Distinct(f) => format!("distinct({})", f.name()),
        }
    }
}

/// A rolling window `(t − width, t]` grouped by `key`, with a threshold on its aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpec {
    /// Events with an absent key enter no group of this window.
    pub key: Field,
    pub width_ms: i64,
    pub aggregate: Aggregate,
    /// The event is flagged when the aggregate is at least this.
    pub threshold: i64,
}

/// One event in a saved window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowEntry {
    pub event_id: String,
    pub timestamp: i64,
    /// The summed value (`Sum` windows).
    #[serde(default)]
    pub amount: i64,
    /// The counted value (`Distinct` windows).
    #[serde(default)]
    pub value: Option<String>,
}

/// A window's contents between days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowState {
    /// The key column's name.
    pub key: String,
    /// [`Aggregate::describe`].
    pub aggregate: String,
    /// Events by key value, each list by `(timestamp, event_id)`.
    pub groups: BTreeMap<String, Vec<WindowEntry>>,
}

/// A value counted by a `Distinct` window, as two words: text of at most 15 bytes is
/// packed with its length in the last byte (equal keys exactly when the texts are equal),
/// longer text is numbered by the window ([`LONG`] in the last byte). Comparing and hashing
/// a key then costs a few instructions instead of a string hash and a `memcmp` on every
/// entry added and evicted. Two words rather than a `u128`: 8-byte alignment keeps an
/// entry at 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ValueKey(u64, u64);

/// The last byte of a numbered (long) value; a packed value's is its length, ≤ 15.
const LONG: u64 = 0x80 << 56;

/// No value (an absent one, or a window that counts none).
const NO_VALUE: ValueKey = ValueKey(u64::MAX, u64::MAX);

/// `src` of an entry carried from the saved state: the rest is its index in `saved`.
const SAVED: u64 = 1 << 63;

/// One event of a window: where it comes from (a matching row of the day, by its index
/// among them, or a saved entry), its time, the amount of a `Sum`, the value of a
/// `Distinct`. The event id and the value's text are read from the source only for
/// evidence and for saving.
#[derive(Debug, Clone, Copy)]
struct Entry {
    ts: i64,
    amount: i64,
    /// [`NO_VALUE`] when there is none.
    value: ValueKey,
    src: u64,
}

const NO_ENTRY: Entry = Entry {
    ts: 0,
    amount: 0,
    value: NO_VALUE,
    src: 0,
};

/// The aggregate and size of one group at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reading {
    pub value: i64,
    pub count: usize,
}

/// One window of a pattern rule over one day, evaluated column-at-a-time.
///
/// Every entry of the day (the saved ones, then the matching rows) is placed with the
/// other entries of its group, each group contiguous and in time order, and each group is
/// then swept once with two pointers: the window `(t − width, t]` of a row is a range of
/// its group. Every matching row's reading is taken in that sweep. Per-row deques and
/// tables, one per group, were a cache miss or two per row on a large city's thousands
/// of operators; a sweep keeps one group's entries and its distinct-value table hot.
///
/// The readings are those of adding every matching event in time order and reading a
/// row once every event at its instant is in (the definition in `pattern.rs`): the
/// entries of the row's group with `t − width < ts ≤ t`, evicted from the front.
pub(crate) struct DayWindow<'a> {
    spec: WindowSpec,
    /// The key text of each group.
    keys: Vec<&'a str>,
    /// The saved entries carried into the day, by `src & !SAVED`.
    saved: Vec<&'a WindowEntry>,
    /// Every entry, by group: `entries[starts[g]..starts[g + 1]]` is group `g`.
    entries: Vec<Entry>,
    starts: Vec<usize>,
    /// Per group: where the entries kept after the day begin.
    kept: Vec<usize>,
    /// Per matching row: the aggregate, the number of entries, and where they begin in
    /// `entries` (a row without a group reads nothing).
    readings: Vec<(i64, u32, u32)>,
}

impl<'a> DayWindow<'a> {
    /// Evaluates `spec` over the matching `rows` of day `d` (ascending), starting from the
    /// saved contents `saved` when they were kept for the same key and aggregate.
    pub fn new<'d: 'a>(
        spec: &WindowSpec,
        saved: Option<&'a WindowState>,
        d: &DayCtx<'d>,
        rows: &[u32],
    ) -> Self {
        let mut keys: Vec<&'a str> = Vec::new();
        let mut slot_of: HashMap<&'a str, u32> = HashMap::new();
        let mut slot_for = |key: &'a str, keys: &mut Vec<&'a str>| -> u32 {
            *slot_of.entry(key).or_insert_with(|| {
                keys.push(key);
                (keys.len() - 1) as u32
            })
        };
        let mut long_values: HashMap<&'a str, u64> = HashMap::new();
        let mut value_key = |v: &'a str| -> ValueKey {
            pack(v).unwrap_or_else(|| {
                let next = long_values.len() as u64;
                ValueKey(*long_values.entry(v).or_insert(next), LONG)
            })
        };

        // The saved entries, group by group (the saved groups are the first slots).
        let mut saved_entries: Vec<&'a WindowEntry> = Vec::new();
        let mut counts: Vec<usize> = Vec::new();
        if let Some(saved) =
            saved.filter(|s| s.key == spec.key.name() && s.aggregate == spec.aggregate.describe())
        {
            for (key, entries) in &saved.groups {
                let slot = slot_for(key, &mut keys) as usize;
                if counts.len() <= slot {
                    counts.resize(slot + 1, 0);
                }
                counts[slot] += entries.len();
                saved_entries.extend(entries.iter());
            }
        }
        let saved_groups = keys.len();

        // The matching rows' groups and entries, in day order (sequential reads).
        let dict_slot: Option<(&DictCol<'d>, Vec<u32>)> = d.dict(spec.key).map(|col| {
            let map = col.values.iter().map(|v| slot_for(v, &mut keys)).collect();
            (col, map)
        });
        let mut slot_of_row: Vec<u32> = Vec::with_capacity(rows.len());
        let mut today: Vec<Entry> = Vec::with_capacity(rows.len());
        for (i, &row) in rows.iter().enumerate() {
            let row = row as usize;
            let slot = match &dict_slot {
                Some((col, map)) => match col.syms[row] {
                    NONE => NONE,
                    s => map[s as usize],
                },
                None => d
                    .text(spec.key, row)
                    .map_or(NONE, |k| slot_for(k, &mut keys)),
            };
            slot_of_row.push(slot);
            if slot == NONE {
                continue;
            }
            let (amount, value) = match spec.aggregate {
                Aggregate::Count => (0, NO_VALUE),
                Aggregate::Sum(f) => (number(d, f, row), NO_VALUE),
                Aggregate::Distinct(f) => (0, d.text(f, row).map_or(NO_VALUE, &mut value_key)),
            };
            today.push(Entry {
                ts: d.ts[row],
                amount,
                value,
                src: i as u64,
            });
        }

        // Groups laid out contiguously (a stable counting sort by group).
        counts.resize(keys.len(), 0);
        for &s in &slot_of_row {
            if s != NONE {
                counts[s as usize] += 1;
            }
        }
        let mut starts = Vec::with_capacity(keys.len() + 1);
        starts.push(0usize);
        for c in &counts {
            starts.push(starts.last().copied().unwrap_or(0) + c);
        }
        let mut entries = vec![NO_ENTRY; starts.last().copied().unwrap_or(0)];
        let mut cursor = starts.clone();
        if let Some(saved) = saved.filter(|_| saved_groups > 0) {
            let mut k = 0u64;
            for (slot, group) in saved.groups.values().enumerate() {
                for e in group {
                    if let Some(at) = entries.get_mut(cursor[slot]) {
                        *at = Entry {
                            ts: e.timestamp,
                            amount: e.amount,
                            value: e.value.as_deref().map_or(NO_VALUE, &mut value_key),
                            src: SAVED | k,
                        };
                    }
                    cursor[slot] += 1;
                    k += 1;
                }
            }
        }
        let mut next = today.into_iter();
        for &s in &slot_of_row {
            if s == NONE {
                continue;
            }
            if let (Some(e), Some(at)) = (next.next(), entries.get_mut(cursor[s as usize])) {
                *at = e;
            }
            cursor[s as usize] += 1;
        }

        // The sweep.
        let mut readings = vec![(0i64, 0u32, 0u32); rows.len()];
        let mut kept = Vec::with_capacity(keys.len());
        let hasher = DefaultHashBuilder::default();
        let mut distinct: HashTable<(ValueKey, u32)> = HashTable::new();
        for g in 0..keys.len() {
            let (begin, end) = (starts[g], starts[g + 1]);
            let (mut lo, mut hi) = (begin, begin);
            let mut sum: i128 = 0;
            if !distinct.is_empty() {
                distinct.clear();
            }
            for p in begin..end {
                let e = entries[p];
                if e.src & SAVED != 0 {
                    continue;
                }
                let t = e.ts;
                while hi < end && entries[hi].ts <= t {
                    insert(
                        &spec.aggregate,
                        &entries[hi],
                        &mut sum,
                        &mut distinct,
                        &hasher,
                    );
                    hi += 1;
                }
                let cutoff = t.saturating_sub(spec.width_ms);
                while lo < hi && entries[lo].ts <= cutoff {
                    remove(
                        &spec.aggregate,
                        &entries[lo],
                        &mut sum,
                        &mut distinct,
                        &hasher,
                    );
                    lo += 1;
                }
                let value = match spec.aggregate {
                    Aggregate::Count => (hi - lo) as i64,
                    Aggregate::Sum(_) => sum.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
                    Aggregate::Distinct(_) => distinct.len() as i64,
                };
                if let Some(r) = readings.get_mut(e.src as usize) {
                    *r = (value, (hi - lo) as u32, lo as u32);
                }
            }
            // What a window ending after the latest event time can still hold.
            if let Some(latest) = d.latest {
                let cutoff = latest.saturating_sub(spec.width_ms);
                while lo < end && entries[lo].ts <= cutoff {
                    lo += 1;
                }
            }
            kept.push(lo);
        }

        DayWindow {
            spec: spec.clone(),
            keys,
            saved: saved_entries,
            entries,
            starts,
            kept,
            readings,
        }
    }

    /// The reading of the `i`-th matching row.
    #[inline]
    pub fn read(&self, i: usize) -> Reading {
        self.readings
            .get(i)
            .map_or(Reading::default(), |&(value, count, _)| Reading {
                value,
                count: count as usize,
            })
    }

    /// The event id of an entry.
    fn id<'d: 'a>(&self, d: &DayCtx<'d>, rows: &[u32], e: &Entry) -> &'a str {
        if e.src & SAVED != 0 {
            self.saved
                .get((e.src & !SAVED) as usize)
                .map_or("", |s| s.event_id.as_str())
        } else {
            rows.get(e.src as usize).map_or("", |&r| d.id(r as usize))
        }
    }

    /// The event ids of the `i`-th matching row's window as it read: `first`, then the
    /// others in `(timestamp, event_id)` order.
    pub fn evidence<'d: 'a>(
        &self,
        d: &DayCtx<'d>,
        rows: &[u32],
        i: usize,
        first: &str,
    ) -> Vec<String> {
        let mut v = vec![first.to_owned()];
        if let Some(&(_, count, lo)) = self.readings.get(i) {
            let (lo, hi) = (lo as usize, lo as usize + count as usize);
            v.extend(
                self.entries
                    .get(lo..hi)
                    .unwrap_or_default()
                    .iter()
                    .map(|e| self.id(d, rows, e))
                    .filter(|id| *id != first)
                    .map(str::to_owned),
            );
        }
        v
    }

    pub fn spec(&self) -> &WindowSpec {
        &self.spec
    }

    /// The canonical saved form: every group pruned to the events a window ending after
    /// the latest event time can still hold, empty groups dropped.
    pub fn save<'d: 'a>(&self, d: &DayCtx<'d>, rows: &[u32]) -> WindowState {
        let mut groups = BTreeMap::new();
        for (g, key) in self.keys.iter().enumerate() {
            let kept = self
                .entries
                .get(self.kept[g]..self.starts[g + 1])
                .unwrap_or_default();
            if kept.is_empty() {
                continue;
            }
            let entries = kept
                .iter()
                .map(|e| match self.saved.get((e.src & !SAVED) as usize) {
                    // A carried entry is saved again as it was read.
                    Some(s) if e.src & SAVED != 0 => (*s).clone(),
                    _ => {
                        let row = rows.get(e.src as usize).map_or(0, |&r| r as usize);
                        WindowEntry {
                            event_id: d.id(row).to_owned(),
                            timestamp: e.ts,
                            amount: e.amount,
                            value: match self.spec.aggregate {
                                Aggregate::Distinct(f) => d.text(f, row).map(str::to_owned),
                                _ => None,
                            },
                        }
                    }
                })
                .collect();
            groups.insert((*key).to_owned(), entries);
        }
        WindowState {
            key: self.spec.key.name().to_owned(),
            aggregate: self.spec.aggregate.describe(),
            groups,
        }
    }
}

/// Puts an entry into a group's aggregate.
#[inline]
fn insert(
    aggregate: &Aggregate,
    e: &Entry,
    sum: &mut i128,
    distinct: &mut HashTable<(ValueKey, u32)>,
    hasher: &DefaultHashBuilder,
) {
    match aggregate {
        Aggregate::Count => {}
        Aggregate::Sum(_) => *sum += e.amount as i128,
        Aggregate::Distinct(_) => {
            let v = e.value;
            if v == NO_VALUE {
                return;
            }
            let hash = hasher.hash_one(v);
            match distinct.find_mut(hash, |(k, _)| *k == v) {
                Some((_, n)) => *n += 1,
                None => {
                    distinct.insert_unique(hash, (v, 1), |(k, _)| hasher.hash_one(k));
                }
            }
        }
    }
}

/// Takes an entry out of a group's aggregate.
#[inline]
fn remove(
    aggregate: &Aggregate,
    e: &Entry,
    sum: &mut i128,
    distinct: &mut HashTable<(ValueKey, u32)>,
    hasher: &DefaultHashBuilder,
) {
    match aggregate {
        Aggregate::Count => {}
        Aggregate::Sum(_) => *sum -= e.amount as i128,
        Aggregate::Distinct(_) => {
            let v = e.value;
            if v != NO_VALUE
                && let Ok(mut slot) = distinct.find_entry(hasher.hash_one(v), |(k, _)| *k == v)
            {
                if slot.get().1 > 1 {
                    slot.get_mut().1 -= 1;
                } else {
                    slot.remove();
                }
            }
        }
    }
}

/// Text of at most 15 bytes as a [`ValueKey`]: its bytes, zero-padded, with the length
/// in the last byte.
#[inline]
fn pack(v: &str) -> Option<ValueKey> {
    let b = v.as_bytes();
    if b.len() >= 16 {
        return None;
    }
    let mut k = [0u8; 16];
    k[..b.len()].copy_from_slice(b);
    k[15] = b.len() as u8;
    let (lo, hi) = k.split_at(8);
    let word = |w: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        u64::from_le_bytes(a)
    };
    Some(ValueKey(word(lo), word(hi)))
}

/// The number of a numeric field (text fields: their integer value, else 0).
fn number(d: &DayCtx<'_>, f: Field, row: usize) -> i64 {
    match f {
        Field::RecordCount => d.record_count[row],
        Field::Timestamp => d.ts[row],
        Field::SourceLine => d.source_line[row] as i64,
        _ => d.text(f, row).and_then(|v| v.parse().ok()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_values_are_equal_exactly_when_their_texts_are() {
        let texts = [
            "",
            "\0",
            "\0\0",
            "a",
            "a\0",
            "ab",
            "10000000001",
            "10000000002",
            "1000000000",
            "100000000010",
            "住民",
            "住民票",
            "123456789012345",
            "12345678901234\u{1}",
        ];
        for a in texts {
            let ka = pack(a).unwrap();
            assert_ne!(ka, NO_VALUE);
            assert_ne!(ka.1 & (0xff << 56), LONG, "{a:?} looks numbered");
            for b in texts {
                assert_eq!(ka == pack(b).unwrap(), a == b, "{a:?} vs {b:?}");
            }
        }
        assert_eq!(pack("1234567890123456"), None);
    }
}
