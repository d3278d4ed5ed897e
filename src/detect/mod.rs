//! The rule engine: the catalogue of `rules.md` run over days of events.
//!
//! A [`Detector`] judges one local day (Asia/Tokyo) at a time, days ascending, and
//! carries between days a [`State`]: what the rolling windows, open sessions, pending
//! changes and the self-verification lookback still need, and nothing more. The state is
//! kept in its canonical, saved form between days (text, sorted maps, pruned), and every
//! day is judged from it — so a detector resumed from a saved state behaves exactly as
//! one that never stopped, and two detectors that saw the same events hold equal states.
//!
//! The engine is a list of *units* behind one trait:
//!
//! * [`PatternRule`]s — a [`Predicate`] over the event, optionally counted over rolling
//!   windows ([`WindowSpec`]: grouped by a column, `Count`, `Sum` or `Distinct`). The rules
//!   that fit this shape are written in it: `screen-hardcopy`, `recording-device`,
//!   `auth-failure-burst`, `browsing-spike`, `split-mass-output`. User rules will be too.
//! * [`LedgerRules`] — the eight rules that judge an event against the rule tables.
//! * [`Sessions`] — `concurrent-terminals`.
//! * [`Pairing`] — `self-verification` and `unverified-change`.
//!
//! A disabled rule (`rules.disabled_rules`) has no unit, or is skipped by its unit, and
//! produces nothing.
//!
//! Besides findings the detector keeps per-operator [`Activity`] (daily volumes).

mod activity;
mod columns;
mod index;
mod ledger_rules;
mod pairing;
mod pattern;
mod predicate;
mod sessions;
mod window;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};

pub use activity::{Activity, ActivityState, Busy, OperatorActivity};
pub use ledger_rules::LedgerRules;
pub use pairing::{ChangeState, Pairing, PendingChange, VerifyState};
pub use pattern::{Flag, PatternRule};
pub use predicate::{CmpOp, Field, Predicate};
pub use sessions::{SessionState, Sessions};
pub use window::{Aggregate, WindowEntry, WindowSpec, WindowState};

use crate::findings::Finding;
use crate::ledger::Ledgers;
use crate::model::{Op, RuleId};
use crate::time::{self, Day};
pub use columns::DayRows;
use columns::{DayCtx, NONE};

/// The rule engine cannot go on. Nothing of the day was judged.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// Days must be judged in ascending order; the state says which day came last.
    #[error("day {day} judged after day {last}: days must be judged in ascending order")]
    OutOfOrder { day: String, last: String },
    /// The batch does not have the event schema.
    #[error("event batch: column `{column}` has {found}")]
    Schema { column: &'static str, found: String },
    /// An operation code that is not one of `oplog.md`.
    #[error("event batch: unknown operation code `{value}`")]
    UnknownOperation { value: String },
    /// A row whose local date is not the day being judged.
    #[error("{origin}: event {event_id} at {timestamp} is not on the day judged, {day}")]
    WrongDay {
        origin: String,
        event_id: String,
        timestamp: String,
        day: String,
    },
    /// Rows not strictly ascending by (timestamp, event_id): out of order, or a
    /// duplicate event id.
    #[error(
        "{origin}: event {event_id} comes after {previous}: rows must be sorted by (timestamp, event_id) with unique ids"
    )]
    Unsorted {
        origin: String,
        event_id: String,
        previous: String,
    },
    /// A saved state that cannot be resumed.
    #[error("detector state: {message}")]
    State { message: String },
    /// A bug in tenken, reported rather than a panic.
    #[error("internal error in the rule engine: {0}")]
    Internal(String),
}

/// The version of the [`State`] layout.
pub const STATE_VERSION: u32 = 1;

/// Everything carried from one day to the next, in canonical form: text rather than
/// run-local ids, sorted containers, pruned to what later days can still use. Two
/// detectors that judged the same events have equal states and equal serialized bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// The last day judged (days since 1970-01-01, local).
    pub last_day: Option<Day>,
    /// The latest event time of all days judged (ms UTC).
    pub latest_timestamp: Option<i64>,
    /// The windows of each pattern rule, by rule id, one per window in declaration order.
    pub windows: BTreeMap<String, Vec<WindowState>>,
    /// Sessions that may still be open, by (operator, terminal).
    pub sessions: Vec<SessionState>,
    /// Changes within the self-verification lookback, and pending changes, by event id.
    /// A hash map, because a month of changes is looked up by id all day long; it is
    /// serialized sorted by id, so no iteration order leaks into the saved bytes.
    #[serde(serialize_with = "sorted")]
    pub changes: HashMap<String, ChangeState, hashbrown::DefaultHashBuilder>,
    /// OK verifies whose change has not been seen yet, by the change's event id.
    pub orphan_verifies: BTreeMap<String, Vec<VerifyState>>,
    /// Per-operator daily volumes.
    pub activity: BTreeMap<String, ActivityState>,
}

impl Default for State {
    fn default() -> Self {
        State {
            version: STATE_VERSION,
            last_day: None,
            latest_timestamp: None,
            windows: BTreeMap::new(),
            sessions: Vec::new(),
            changes: HashMap::default(),
            orphan_verifies: BTreeMap::new(),
            activity: BTreeMap::new(),
        }
    }
}

impl State {
    /// The state as JSON bytes (canonical: equal states give equal bytes).
    pub fn to_json(&self) -> Result<Vec<u8>, DetectError> {
        serde_json::to_vec(self).map_err(|e| DetectError::State {
            message: format!("cannot serialize: {e}"),
        })
    }

    /// A state from [`State::to_json`] bytes.
    pub fn from_json(bytes: &[u8]) -> Result<State, DetectError> {
        serde_json::from_slice(bytes).map_err(|e| DetectError::State {
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })
    }

    /// The state as saved between runs (format [`STATE_FORMAT`]): [`STATE_TAG`], the
    /// format number (u32, little-endian), then the fields in postcard's compact binary
    /// serde encoding. Canonical like [`State::to_json`]: equal states give equal bytes.
    ///
    /// Not JSON because a night saves one state per day and a state holds every change
    /// of the self-verification lookback (tens of thousands of entries for a large
    /// city): as JSON that was the archive's third-largest cost after Parquet encoding
    /// and the day digests.
    pub fn encode(&self) -> Result<Vec<u8>, DetectError> {
        // Into a vector of its own: postcard's `Extend` sink takes strings a byte at a
        // time, its vector sink a slice at a time; the copy behind the tag is one memcpy.
        let body = postcard::to_allocvec(self).map_err(|e| DetectError::State {
            message: format!("cannot serialize: {e}"),
        })?;
        let mut out = Vec::with_capacity(STATE_TAG.len() + 4 + body.len());
        out.extend_from_slice(STATE_TAG);
        out.extend_from_slice(&STATE_FORMAT.to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// A state from [`State::encode`] bytes, or from the JSON of format 1 (states saved
    /// by earlier versions of tenken), so an existing archive resumes as it is.
    pub fn decode(bytes: &[u8]) -> Result<State, DetectError> {
        if let Some(rest) = bytes.strip_prefix(STATE_TAG.as_slice()) {
            let (format, body) = rest.split_at_checked(4).ok_or_else(|| DetectError::State {
                message: "truncated: the format number is missing".into(),
            })?;
            let mut n = [0u8; 4];
            n.copy_from_slice(format);
            let format = u32::from_le_bytes(n);
            if format != STATE_FORMAT {
                return Err(DetectError::State {
                    message: format!(
                        "file format {format} (this tenken reads formats 1 and {STATE_FORMAT}; a newer tenken wrote it?)"
                    ),
                });
            }
            let (state, rest) =
                postcard::take_from_bytes::<State>(body).map_err(|e| DetectError::State {
                    message: format!("format {STATE_FORMAT}: {e}"),
                })?;
            if !rest.is_empty() {
                return Err(DetectError::State {
                    message: format!(
                        "format {STATE_FORMAT}: {} bytes after the end of the state",
                        rest.len()
                    ),
                });
            }
            return Ok(state);
        }
        if bytes.trim_ascii_start().starts_with(b"{") {
            return State::from_json(bytes);
        }
        Err(DetectError::State {
            message: "not a tenken rule-engine state (neither format 1 JSON nor format 2)".into(),
        })
    }
}

/// The first bytes of a saved state of format 2 and later.
pub const STATE_TAG: &[u8; 12] = b"tenken-state";

/// The format of [`State::encode`]: 1 was JSON, 2 is postcard behind [`STATE_TAG`]. A
/// format number says how the fields are written; [`STATE_VERSION`] what they mean.
pub const STATE_FORMAT: u32 = 2;

/// Serializes a map sorted by key (keys are unique, so an unstable sort is canonical).
fn sorted<S: serde::Serializer, V: Serialize, H>(
    map: &HashMap<String, V, H>,
    s: S,
) -> Result<S::Ok, S::Error> {
    // A month of changes is tens of thousands of ids, sorted once per saved day: compare
    // their first 24 bytes as integers and only ties byte by byte. Zero-padded big-endian
    // prefixes order exactly as the strings do, so the order is plain string order.
    let mut entries: Vec<([u64; 3], &String, &V)> =
        map.iter().map(|(k, v)| (prefix_key(k), k, v)).collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    s.collect_map(entries.into_iter().map(|(_, k, v)| (k, v)))
}

/// The first 24 bytes of `s`, zero-padded, as big-endian words.
fn prefix_key(s: &str) -> [u64; 3] {
    let mut bytes = [0u8; 24];
    let n = s.len().min(24);
    bytes[..n].copy_from_slice(&s.as_bytes()[..n]);
    let mut key = [0u64; 3];
    for (word, chunk) in key.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        *word = u64::from_be_bytes(w);
    }
    key
}

/// One part of the engine: judges a day, reading and updating its part of the state.
pub(crate) trait Unit: Send + Sync {
    fn judge(&self, d: &DayCtx<'_>, state: &mut State, out: &mut Vec<Finding>);
}

/// The rule engine.
pub struct Detector {
    ledgers: Arc<Ledgers>,
    index: index::LedgerIndex,
    units: Vec<Box<dyn Unit>>,
    /// The carried state; its `activity` part lives in `activity` and is filled in by
    /// [`Detector::state`].
    state: State,
    activity: Activity,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("units", &self.units.len())
            .field("last_day", &self.state.last_day)
            .finish_non_exhaustive()
    }
}

impl Detector {
    /// A detector that has judged nothing yet.
    pub fn new(ledgers: Arc<Ledgers>) -> Detector {
        let cfg = &ledgers.rules;
        let mut units: Vec<Box<dyn Unit>> = vec![Box::new(LedgerRules)];
        for rule in PatternRule::builtins(cfg) {
            units.push(Box::new(rule));
        }
        if cfg.enabled(RuleId::ConcurrentTerminals) {
            units.push(Box::new(Sessions {
                timeout_ms: cfg.session_timeout_minutes * 60_000,
            }));
        }
        let pairing = Pairing {
            self_verification: cfg.enabled(RuleId::SelfVerification),
            unverified: cfg.enabled(RuleId::UnverifiedChange),
            within_ms: cfg.verify_within_hours * 3_600_000,
            within_hours: cfg.verify_within_hours,
            lookback_days: cfg.self_verification_lookback_days,
        };
        if pairing.self_verification || pairing.unverified {
            units.push(Box::new(pairing));
        }
        Detector {
            index: index::LedgerIndex::new(&ledgers),
            ledgers,
            units,
            state: State::default(),
            activity: Activity::default(),
        }
    }

    /// Resumes from a saved state (the nightly job saves one per archived day). Parts of
    /// the state that belong to rules now disabled are dropped.
    pub fn resume(ledgers: Arc<Ledgers>, state: State) -> Result<Detector, DetectError> {
        if state.version != STATE_VERSION {
            return Err(DetectError::State {
                message: format!(
                    "version {} (this tenken reads version {STATE_VERSION})",
                    state.version
                ),
            });
        }
        let mut d = Detector::new(ledgers);
        let cfg = &d.ledgers.rules;
        let mut state = state;
        d.activity = Activity::load(&std::mem::take(&mut state.activity), state.last_day)?;
        state.windows.retain(|rule, _| {
            rule.parse::<RuleId>()
                .is_ok_and(|r| cfg.enabled(r) && PATTERN_RULES.contains(&r))
        });
        if !cfg.enabled(RuleId::ConcurrentTerminals) {
            state.sessions.clear();
        }
        if !cfg.enabled(RuleId::UnverifiedChange) {
            for c in state.changes.values_mut() {
                c.due = None;
            }
        }
        if !cfg.enabled(RuleId::SelfVerification) {
            state.orphan_verifies.clear();
            state.changes.retain(|_, c| c.due.is_some());
        }
        d.state = state;
        Ok(d)
    }

    /// Judges one local day (Asia/Tokyo). `events` has the event schema
    /// ([`crate::normalize::schema`]), every row on `day`, rows sorted by
    /// `(timestamp, event_id)`, event ids unique; dictionary columns may have any
    /// dictionary. Days must ascend strictly across calls (gaps allowed). Returns the
    /// findings produced by judging this day, each with `judged_on = day`, in the order of
    /// the findings file. On an error nothing of the day was judged and the state is
    /// unchanged.
    pub fn judge_day(
        &mut self,
        day: Day,
        events: &RecordBatch,
    ) -> Result<Vec<Finding>, DetectError> {
        self.judge_rows(day, DayRows::single(events))
    }

    /// [`Detector::judge_day`] over rows given as parts and an order over them: the
    /// contract holds for the rows in that order.
    pub fn judge_rows(
        &mut self,
        day: Day,
        events: DayRows<'_>,
    ) -> Result<Vec<Finding>, DetectError> {
        if let Some(last) = self.state.last_day
            && day <= last
        {
            return Err(DetectError::OutOfOrder {
                day: time::format_day(day),
                last: time::format_day(last),
            });
        }
        let ledgers = Arc::clone(&self.ledgers);
        let d = DayCtx::new(
            day,
            events,
            &ledgers,
            &self.index,
            self.state.latest_timestamp,
        )?;
        let mut out = Vec::new();
        for unit in &self.units {
            unit.judge(&d, &mut self.state, &mut out);
        }

        let mut volume = vec![0u64; d.operator.len()];
        for (op, &sym) in d.op.iter().zip(&d.operator.syms) {
            if *op != Op::LoginFail && sym != NONE {
                volume[sym as usize] += 1;
            }
        }
        self.activity
            .record_day(day, d.operator.values.iter().copied().zip(volume))?;
        self.state.last_day = Some(day);
        self.state.latest_timestamp = d.latest;

        crate::findings::sort(&mut out);
        // One finding per (rule, flagged event); duplicates would be adjacent.
        out.dedup_by(|a, b| a.rule == b.rule && a.event_id == b.event_id);
        Ok(out)
    }

    /// Everything carried to the next day, canonical.
    pub fn state(&self) -> State {
        let mut s = self.state.clone();
        s.activity = self.activity.save();
        s
    }

    /// [`Detector::state`] as [`State::encode`] bytes, without the copy: the nightly job
    /// saves one state per day, and copying a month of changes only to serialize and
    /// drop them cost more than serializing.
    pub fn encode_state(&mut self) -> Result<Vec<u8>, DetectError> {
        // `state.activity` is empty while judging (the live form is `self.activity`).
        self.state.activity = self.activity.save();
        let bytes = self.state.encode();
        self.state.activity.clear();
        bytes
    }

    /// Changes not yet judgeable by `unverified-change` (reported, not findings), by
    /// deadline then event id.
    pub fn pending_changes(&self) -> Vec<PendingChange> {
        pairing::pending(&self.state.changes)
    }

    /// Per-operator activity.
    pub fn activity(&self) -> &Activity {
        &self.activity
    }

    /// The ledgers this detector judges by.
    pub fn ledgers(&self) -> &Arc<Ledgers> {
        &self.ledgers
    }
}

/// The built-in rules written as [`PatternRule`]s.
const PATTERN_RULES: [RuleId; 5] = [
    RuleId::SplitMassOutput,
    RuleId::ScreenHardcopy,
    RuleId::AuthFailureBurst,
    RuleId::RecordingDevice,
    RuleId::BrowsingSpike,
];
