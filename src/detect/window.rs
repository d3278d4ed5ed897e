//! The rolling-window primitive: events grouped by the value of one column, each group
//! holding the events of `(t − W, t]` and an aggregate over them.
//!
//! A window lives in two forms. During a day it is *live*: groups are interned to dense
//! indices, entries borrow their event ids and values from the day's batch or the carried
//! state, and aggregates are kept incrementally (count, sum, and per group a small
//! multiset of the distinct values present — small tables stay in cache, where one table
//! of every value of the day would not). Between days it is a [`WindowState`]: plain text, sorted maps, pruned
//! to what a future window can still hold — the canonical form that is saved and resumed.

use std::collections::{BTreeMap, VecDeque};

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use serde::{Deserialize, Serialize};

use super::columns::{DayCtx, NONE};
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

/// One event in a live window: where it comes from (a row of the day, or a saved entry),
/// its time, the amount of a `Sum`, the value of a `Distinct`. The event id and the value's
/// text are read from the source only for evidence and for saving.
#[derive(Debug, Clone, Copy)]
struct Entry {
    ts: i64,
    amount: i64,
    /// [`NO_VALUE`] when there is none.
    value: ValueKey,
    src: u64,
}

/// The events of one group.
#[derive(Debug, Default)]
struct Group {
    entries: VecDeque<Entry>,
    sum: i128,
    /// Multiplicity of each distinct value present.
    distinct: HashTable<(ValueKey, u32)>,
}

/// A window during one day.
pub(crate) struct LiveWindow<'a> {
    spec: WindowSpec,
    keys: Vec<&'a str>,
    slot_of: HashMap<&'a str, u32>,
    /// For a dictionary key column: the group of each symbol of the day.
    dict_slot: Option<Vec<u32>>,
    groups: Vec<Group>,
    /// The saved entries carried into the day, by `src & !SAVED`.
    saved: Vec<&'a WindowEntry>,
    /// Values longer than a packed key, numbered.
    long_values: HashMap<&'a str, u64>,
    hasher: DefaultHashBuilder,
}

/// The aggregate and size of one group at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reading {
    pub value: i64,
    pub count: usize,
}

impl<'a> LiveWindow<'a> {
    /// A live window for `spec` over day `d`, holding the saved contents `saved` when they
    /// were kept for the same key and aggregate.
    pub fn new<'d: 'a>(spec: &WindowSpec, saved: Option<&'a WindowState>, d: &DayCtx<'d>) -> Self {
        let mut w = LiveWindow {
            spec: spec.clone(),
            keys: Vec::new(),
            slot_of: HashMap::new(),
            dict_slot: None,
            groups: Vec::new(),
            saved: Vec::new(),
            long_values: HashMap::new(),
            hasher: DefaultHashBuilder::default(),
        };
        if let Some(saved) =
            saved.filter(|s| s.key == spec.key.name() && s.aggregate == spec.aggregate.describe())
        {
            for (key, entries) in &saved.groups {
                let slot = w.slot_for(key);
                for e in entries {
                    let value = e.value.as_deref().map_or(NO_VALUE, |v| w.value_key(v));
                    let src = SAVED | w.saved.len() as u64;
                    w.saved.push(e);
                    w.push_entry(
                        slot,
                        Entry {
                            ts: e.timestamp,
                            amount: e.amount,
                            value,
                            src,
                        },
                    );
                }
            }
        }
        if let Some(col) = d.dict(spec.key) {
            let map = col
                .values
                .iter()
                .map(|v| w.slot_for(v))
                .collect::<Vec<u32>>();
            w.dict_slot = Some(map);
        }
        w
    }

    fn slot_for(&mut self, key: &'a str) -> u32 {
        if let Some(&s) = self.slot_of.get(key) {
            return s;
        }
        let s = self.keys.len() as u32;
        self.keys.push(key);
        self.slot_of.insert(key, s);
        self.groups.push(Group::default());
        s
    }

    /// The key of a counted value.
    #[inline]
    fn value_key(&mut self, v: &'a str) -> ValueKey {
        if let Some(k) = pack(v) {
            return k;
        }
        let next = self.long_values.len() as u64;
        ValueKey(*self.long_values.entry(v).or_insert(next), LONG)
    }

    /// The group of `row`, [`NONE`] when its key is absent.
    #[inline]
    pub fn slot<'d: 'a>(&mut self, d: &DayCtx<'d>, row: usize) -> u32 {
        if let Some(map) = &self.dict_slot {
            let s = d.dict(self.spec.key).map_or(NONE, |c| c.syms[row]);
            return if s == NONE { NONE } else { map[s as usize] };
        }
        match d.text(self.spec.key, row) {
            Some(k) => self.slot_for(k),
            None => NONE,
        }
    }

    fn push_entry(&mut self, slot: u32, e: Entry) {
        let hasher = &self.hasher;
        let g = &mut self.groups[slot as usize];
        match self.spec.aggregate {
            Aggregate::Count => {}
            Aggregate::Sum(_) => g.sum += e.amount as i128,
            Aggregate::Distinct(_) => {
                let v = e.value;
                if v != NO_VALUE {
                    let hash = hasher.hash_one(v);
                    match g.distinct.find_mut(hash, |(k, _)| *k == v) {
                        Some((_, n)) => *n += 1,
                        None => {
                            g.distinct
                                .insert_unique(hash, (v, 1), |(k, _)| hasher.hash_one(k));
                        }
                    }
                }
            }
        }
        g.entries.push_back(e);
    }

    /// Adds `row` to its group (nothing when its key is absent).
    pub fn add<'d: 'a>(&mut self, d: &DayCtx<'d>, row: usize) {
        let slot = self.slot(d, row);
        if slot == NONE {
            return;
        }
        let (amount, value) = match self.spec.aggregate {
            Aggregate::Count => (0, NO_VALUE),
            Aggregate::Sum(f) => (number(d, f, row), NO_VALUE),
            Aggregate::Distinct(f) => (0, d.text(f, row).map_or(NO_VALUE, |v| self.value_key(v))),
        };
        self.push_entry(
            slot,
            Entry {
                ts: d.ts[row],
                amount,
                value,
                src: row as u64,
            },
        );
    }

    /// Drops the events of group `slot` at or before `t − width`.
    fn evict(&mut self, slot: u32, t: i64) {
        let cutoff = t.saturating_sub(self.spec.width_ms);
        let hasher = &self.hasher;
        let g = &mut self.groups[slot as usize];
        while let Some(e) = g.entries.front().copied() {
            if e.ts > cutoff {
                break;
            }
            g.entries.pop_front();
            match self.spec.aggregate {
                Aggregate::Count => {}
                Aggregate::Sum(_) => g.sum -= e.amount as i128,
                Aggregate::Distinct(_) => {
                    let v = e.value;
                    if v != NO_VALUE
                        && let Ok(mut slot) =
                            g.distinct.find_entry(hasher.hash_one(v), |(k, _)| *k == v)
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
    }

    /// The group's window `(t − width, t]`: its aggregate and number of events. Every
    /// event of the group at or before `t` must have been added.
    pub fn read(&mut self, slot: u32, t: i64) -> Reading {
        if slot == NONE {
            return Reading::default();
        }
        self.evict(slot, t);
        let g = &self.groups[slot as usize];
        let value = match self.spec.aggregate {
            Aggregate::Count => g.entries.len() as i64,
            Aggregate::Sum(_) => g.sum.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
            Aggregate::Distinct(_) => g.distinct.len() as i64,
        };
        Reading {
            value,
            count: g.entries.len(),
        }
    }

    /// The event id of an entry.
    fn id<'d: 'a>(&self, d: &DayCtx<'d>, e: &Entry) -> &'a str {
        if e.src & SAVED != 0 {
            self.saved
                .get((e.src & !SAVED) as usize)
                .map_or("", |s| s.event_id.as_str())
        } else {
            d.id(e.src as usize)
        }
    }

    /// The event ids of group `slot` as last read: `first`, then the others in
    /// `(timestamp, event_id)` order.
    pub fn evidence<'d: 'a>(&self, d: &DayCtx<'d>, slot: u32, first: &str) -> Vec<String> {
        let mut v = vec![first.to_owned()];
        if let Some(g) = self.groups.get(slot as usize) {
            v.extend(
                g.entries
                    .iter()
                    .map(|e| self.id(d, e))
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
    /// `latest` can still hold, empty groups dropped.
    pub fn save<'d: 'a>(mut self, d: &DayCtx<'d>, latest: Option<i64>) -> WindowState {
        let mut groups = BTreeMap::new();
        for slot in 0..self.groups.len() as u32 {
            if let Some(t) = latest {
                self.evict(slot, t);
            }
            let g = &self.groups[slot as usize];
            if g.entries.is_empty() {
                continue;
            }
            let entries = g
                .entries
                .iter()
                .map(|e| match self.saved.get((e.src & !SAVED) as usize) {
                    // A carried entry is saved again as it was read.
                    Some(s) if e.src & SAVED != 0 => (*s).clone(),
                    _ => {
                        let row = e.src as usize;
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
            groups.insert(self.keys[slot as usize].to_owned(), entries);
        }
        WindowState {
            key: self.spec.key.name().to_owned(),
            aggregate: self.spec.aggregate.describe(),
            groups,
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
