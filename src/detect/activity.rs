//! Per-operator activity: how many events each operator logs a day, against the
//! operator's own history.
//!
//! This is context for the reviewer (the scan summary's busiest operators, the monthly
//! report's baseline), never a finding. A day counts in an operator's history only when
//! the operator logged at least one event that day: a day off is not a "quiet day" to
//! compare against. `LOGIN_FAIL` events are not counted: their `operator_id` is whatever
//! was typed, not proof that the operator worked.
//!
//! Histograms are saved as `(value, count)` pairs of their recorded buckets, which
//! rebuild the same histogram (the crate is built without its serialization feature).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::DetectError;
use crate::time::Day;

/// Significant figures of the daily-volume histograms.
const SIGFIG: u8 = 2;

/// One operator's saved activity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityState {
    /// The histogram of daily volumes as `(value, count)` of its recorded buckets.
    pub days: Vec<(u64, u64)>,
    /// Events on the last day judged.
    pub today: u64,
}

/// One operator's activity.
#[derive(Debug, Clone)]
pub struct OperatorActivity {
    /// Daily event volume over the days the operator was active.
    pub history: Histogram<u64>,
    /// Events on the last day judged (0 if none).
    pub today: u64,
}

/// An operator's volume on the last day judged, placed in the operator's own history.
#[derive(Debug, Clone, PartialEq)]
pub struct Busy {
    pub operator: String,
    pub volume: u64,
    /// The share of the operator's active days (this one included) with at most this
    /// volume, in percent.
    pub percentile: f64,
    /// Active days in the history.
    pub days: u64,
}

/// Per-operator activity over the days judged.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    by_operator: BTreeMap<String, OperatorActivity>,
    day: Option<Day>,
}

/// An empty histogram sized for ordinary daily volumes; it grows when one is exceeded.
/// Thousands of operators each have one, so it starts small.
fn histogram() -> Result<Histogram<u64>, DetectError> {
    let mut h = Histogram::new_with_max(1024, SIGFIG)
        .map_err(|e| DetectError::Internal(format!("histogram: {e}")))?;
    h.auto(true);
    Ok(h)
}

impl Activity {
    /// Records one day's volumes. Operators absent from `volumes` had none.
    pub(crate) fn record_day<'a>(
        &mut self,
        day: Day,
        volumes: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Result<(), DetectError> {
        for a in self.by_operator.values_mut() {
            a.today = 0;
        }
        for (operator, n) in volumes {
            if n == 0 {
                continue;
            }
            let a = match self.by_operator.get_mut(operator) {
                Some(a) => a,
                None => self
                    .by_operator
                    .entry(operator.to_owned())
                    .or_insert(OperatorActivity {
                        history: histogram()?,
                        today: 0,
                    }),
            };
            a.history.saturating_record(n);
            a.today = n;
        }
        self.day = Some(day);
        Ok(())
    }

    /// The last day judged.
    pub fn day(&self) -> Option<Day> {
        self.day
    }

    /// One operator's activity.
    pub fn get(&self, operator: &str) -> Option<&OperatorActivity> {
        self.by_operator.get(operator)
    }

    /// Every operator with a history, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OperatorActivity)> {
        self.by_operator.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The percentile of a day's `volume` within the operator's own history: the share of
    /// the operator's active days with at most that volume (within the histogram's
    /// precision). `None` for an operator without history.
    pub fn percentile(&self, operator: &str, volume: u64) -> Option<f64> {
        let a = self.by_operator.get(operator)?;
        (!a.history.is_empty()).then(|| a.history.percentile_below(volume))
    }

    /// The `n` operators with the most events on the last day judged, most first (ties by
    /// operator id), each with the percentile of that volume in their own history.
    pub fn busiest(&self, n: usize) -> Vec<Busy> {
        let mut v: Vec<Busy> = self
            .by_operator
            .iter()
            .filter(|(_, a)| a.today > 0)
            .map(|(op, a)| Busy {
                operator: op.clone(),
                volume: a.today,
                percentile: a.history.percentile_below(a.today),
                days: a.history.len(),
            })
            .collect();
        v.sort_by(|a, b| b.volume.cmp(&a.volume).then(a.operator.cmp(&b.operator)));
        v.truncate(n);
        v
    }

    /// The saved form.
    pub(crate) fn save(&self) -> BTreeMap<String, ActivityState> {
        self.by_operator
            .iter()
            .map(|(op, a)| {
                let days = a
                    .history
                    .iter_recorded()
                    .map(|v| (v.value_iterated_to(), v.count_at_value()))
                    .collect();
                (
                    op.clone(),
                    ActivityState {
                        days,
                        today: a.today,
                    },
                )
            })
            .collect()
    }

    /// Rebuilds the activity from its saved form.
    pub(crate) fn load(
        saved: &BTreeMap<String, ActivityState>,
        day: Option<Day>,
    ) -> Result<Activity, DetectError> {
        let mut by_operator = BTreeMap::new();
        for (op, s) in saved {
            let mut history = histogram()?;
            for &(value, count) in &s.days {
                history
                    .record_n(value, count)
                    .map_err(|e| DetectError::State {
                        message: format!("activity of operator {op}: value {value}: {e:?}"),
                    })?;
            }
            by_operator.insert(
                op.clone(),
                OperatorActivity {
                    history,
                    today: s.today,
                },
            );
        }
        Ok(Activity { by_operator, day })
    }
}
