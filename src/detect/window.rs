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

/// One event in a live window: the amount of a `Sum`, the value of a `Distinct`.
#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    ts: i64,
    id: &'a str,
    amount: i64,
    value: Option<&'a str>,
    /// The hash of `value`, computed once.
    hash: u64,
}

/// The events of one group.
#[derive(Debug, Default)]
struct Group<'a> {
    entries: VecDeque<Entry<'a>>,
    sum: i128,
    /// Multiplicity of each distinct value present, by the entries' hashes.
    distinct: HashTable<(&'a str, u32)>,
}

/// A window during one day.
pub(crate) struct LiveWindow<'a> {
    spec: WindowSpec,
    keys: Vec<&'a str>,
    slot_of: HashMap<&'a str, u32>,
    /// For a dictionary key column: the group of each symbol of the day.
    dict_slot: Option<Vec<u32>>,
    groups: Vec<Group<'a>>,
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
    pub fn new(spec: &WindowSpec, saved: Option<&'a WindowState>, d: &DayCtx<'a>) -> Self {
        let mut w = LiveWindow {
            spec: spec.clone(),
            keys: Vec::new(),
            slot_of: HashMap::new(),
            dict_slot: None,
            groups: Vec::new(),
            hasher: DefaultHashBuilder::default(),
        };
        if let Some(saved) =
            saved.filter(|s| s.key == spec.key.name() && s.aggregate == spec.aggregate.describe())
        {
            for (key, entries) in &saved.groups {
                let slot = w.slot_for(key);
                for e in entries {
                    let value = e.value.as_deref();
                    let hash = value.map_or(0, |v| w.hasher.hash_one(v));
                    w.push_entry(
                        slot,
                        Entry {
                            ts: e.timestamp,
                            id: &e.event_id,
                            amount: e.amount,
                            value,
                            hash,
                        },
                    );
                }
            }
        }
        if let Some(col) = dict_column(d, spec.key) {
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

    /// The group of `row`, [`NONE`] when its key is absent.
    #[inline]
    pub fn slot(&mut self, d: &DayCtx<'a>, row: usize) -> u32 {
        if let Some(map) = &self.dict_slot {
            let s = dict_column(d, self.spec.key).map_or(NONE, |c| c.syms[row]);
            return if s == NONE { NONE } else { map[s as usize] };
        }
        match d.text(self.spec.key, row) {
            Some(k) => self.slot_for(k),
            None => NONE,
        }
    }

    fn push_entry(&mut self, slot: u32, e: Entry<'a>) {
        let hasher = &self.hasher;
        let g = &mut self.groups[slot as usize];
        match self.spec.aggregate {
            Aggregate::Count => {}
            Aggregate::Sum(_) => g.sum += e.amount as i128,
            Aggregate::Distinct(_) => {
                if let Some(v) = e.value {
                    match g.distinct.find_mut(e.hash, |(k, _)| *k == v) {
                        Some((_, n)) => *n += 1,
                        None => {
                            g.distinct
                                .insert_unique(e.hash, (v, 1), |(k, _)| hasher.hash_one(k));
                        }
                    }
                }
            }
        }
        g.entries.push_back(e);
    }

    /// Adds `row` to its group (nothing when its key is absent).
    pub fn add(&mut self, d: &DayCtx<'a>, row: usize) {
        let slot = self.slot(d, row);
        if slot == NONE {
            return;
        }
        let (amount, value) = match self.spec.aggregate {
            Aggregate::Count => (0, None),
            Aggregate::Sum(f) => (number(d, f, row), None),
            Aggregate::Distinct(f) => (0, d.text(f, row)),
        };
        let hash = value.map_or(0, |v| self.hasher.hash_one(v));
        self.push_entry(
            slot,
            Entry {
                ts: d.ts[row],
                id: d.id(row),
                amount,
                value,
                hash,
            },
        );
    }

    /// Drops the events of group `slot` at or before `t − width`.
    fn evict(&mut self, slot: u32, t: i64) {
        let cutoff = t.saturating_sub(self.spec.width_ms);
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
                    if let Some(v) = e.value
                        && let Ok(mut slot) = g.distinct.find_entry(e.hash, |(k, _)| *k == v)
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

    /// The event ids of group `slot` as last read: `first`, then the others in
    /// `(timestamp, event_id)` order.
    pub fn evidence(&self, slot: u32, first: &str) -> Vec<String> {
        let mut v = vec![first.to_owned()];
        if let Some(g) = self.groups.get(slot as usize) {
            v.extend(
                g.entries
                    .iter()
                    .filter(|e| e.id != first)
                    .map(|e| e.id.to_owned()),
            );
        }
        v
    }

    pub fn spec(&self) -> &WindowSpec {
        &self.spec
    }

    /// The canonical saved form: every group pruned to the events a window ending after
    /// `latest` can still hold, empty groups dropped.
    pub fn save(mut self, latest: Option<i64>) -> WindowState {
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
                .map(|e| WindowEntry {
                    event_id: e.id.to_owned(),
                    timestamp: e.ts,
                    amount: e.amount,
                    value: e.value.map(str::to_owned),
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

/// The dictionary column behind a field, if it is one.
fn dict_column<'c, 'a>(d: &'c DayCtx<'a>, f: Field) -> Option<&'c super::columns::DictCol<'a>> {
    Some(match f {
        Field::TerminalId => &d.terminal,
        Field::OperatorId => &d.operator,
        Field::AuthMethod => &d.auth_method,
        Field::BusinessCode => &d.business,
        Field::Result => &d.result,
        Field::SourceFile => &d.source_file,
        _ => return None,
    })
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
