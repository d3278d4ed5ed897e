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
    pub history: Histogram<u32>,
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
/// Thousands of operators each have one, so it starts small, and its counts are days, so
/// 32 bits hold them (64-bit counts doubled what the histograms cost).
fn histogram() -> Result<Histogram<u32>, DetectError> {
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
                    .map(|v| (v.value_iterated_to(), u64::from(v.count_at_value())))
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
                let bad = |e: String| DetectError::State {
                    message: format!("activity of operator {op}: value {value}: {e}"),
                };
                let count = u32::try_from(count).map_err(|_| bad(format!("{count} days")))?;
                history
                    .record_n(value, count)
                    .map_err(|e| bad(format!("{e:?}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_saves_and_loads_and_refuses_counts_beyond_its_width() {
        let mut a = Activity::default();
        for (day, n) in [(1, 10), (2, 10), (3, 30), (4, 5000)] {
            a.record_day(day, [("OP1", n), ("OP2", 0), ("LF", 3)])
                .unwrap();
        }
        let saved = a.save();
        let b = Activity::load(&saved, a.day()).unwrap();
        assert_eq!(b.save(), saved);
        let op1 = &saved["OP1"];
        assert_eq!(op1.days.iter().map(|&(_, c)| c).sum::<u64>(), 4);
        assert_eq!(
            (op1.today, b.get("OP1").map(|o| o.history.len())),
            (5000, Some(4))
        );
        assert!(
            b.get("OP2").is_none(),
            "a day without events is not in the history"
        );
        // Today's 5000 is above three of the four days: the top of its own history.
        assert_eq!(b.percentile("OP1", 5000), Some(100.0));
        assert_eq!(b.percentile("OP1", 10), Some(50.0));

        let mut bad = saved.clone();
        if let Some(s) = bad.get_mut("OP1") {
            s.days[0].1 = u64::from(u32::MAX) + 1;
        }
        let err = Activity::load(&bad, a.day()).unwrap_err().to_string();
        assert!(
            err.contains("OP1") && err.contains("4294967296 days"),
            "{err}"
        );
    }
}
