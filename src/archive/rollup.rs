//! Rollups and retention: `tenken rollup`.
//!
//! **Building.** A weekly, monthly or yearly file is built once its period has ended
//! (its last day is before `now`; today's logs may still arrive). It holds every day of
//! the period that any finer level holds, each day taken from the finest level that
//! holds it — so a yearly file can be built from monthlies after the dailies are gone —
//! and each day's rows exactly as stored there. The build streams day by day, row group
//! by row group: memory is bounded by a row group, not by the period. Each period is its
//! own transaction, so a long catch-up that is interrupted keeps what it finished.
//!
//! **Staleness.** A rollup is rebuilt when a finer level holds a day of its period that
//! it lacks (a late day) or holds with other rows or another digest (a day re-written by
//! late logs). Days the rollup holds that no finer level holds any more are kept from the
//! rollup itself.
//!
//! **Retention** (ages per [`super::config`]): a snapshot that has aged out is removed
//! only when the level above holds each of its days with equal rows and digest — daily by
//! the weekly of its ISO week, weekly by the monthlies of its days (a week across two
//! months needs both), monthly by its yearly; a yearly one is removed once aged out.
//! Findings follow the same levels, their yearly files kept `findings_years` (never less
//! than `yearly_years`). A state file is kept while the daily events snapshot of its day
//! is, and the newest state is always kept (the next night's run starts from it).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::ArchiveError;
use super::manifest::{DayRows, FileKind};
use super::parquet_io;
use super::period::{Kind, Level, Period, month_index};
use super::store::{Archive, DayLoc, file_schema};
use crate::time::{self, Day};

/// One rollup file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub kind: Kind,
    pub period: Period,
    /// Replaced a stale file (late logs) rather than creating one.
    pub rebuilt: bool,
    pub days: usize,
    pub rows: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

/// One file removed by retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub kind: FileKind,
    pub level: Option<Level>,
    pub period: String,
    pub rows: Option<u64>,
    pub bytes: u64,
}

/// What a rollup run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    pub built: Vec<Built>,
    pub removed: Vec<Removed>,
    /// Bytes of the files written.
    pub bytes_written: u64,
    pub elapsed: Duration,
}

/// Progress of a rollup run, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// `count` more periods will be built.
    Planned { count: usize },
    /// One period is about to be built.
    Building { kind: Kind, period: Period },
    /// One period is done.
    Done,
}

/// Whether a snapshot of `period` has aged out at `now` (see [`super::config`]).
pub fn aged_out(
    retention: &super::config::Retention,
    kind: Kind,
    period: Period,
    now: Day,
) -> bool {
    match period {
        Period::Day(d) => (now - d) as i64 > retention.daily_days as i64,
        Period::Week { .. } => (now - period.last_day()) as i64 > 7 * retention.weekly_weeks as i64,
        Period::Month { .. } => {
            month_index(now) - month_index(period.first_day()) > retention.monthly_months as i64
        }
        Period::Year(y) => {
            let keep = match kind {
                Kind::Events => retention.yearly_years,
                Kind::Findings => retention.findings_years,
            };
            (time::civil_from_days(now).0 - y) as i64 > keep as i64
        }
    }
}

impl Archive {
    /// Builds the weekly, monthly and yearly levels that are missing or stale, then
    /// applies retention, all as of `now`.
    pub fn rollup(&mut self, now: Day) -> Result<RollupReport, ArchiveError> {
        self.rollup_with(now, &mut |_| {})
    }

    /// [`Archive::rollup`] with a progress callback.
    pub fn rollup_with(
        &mut self,
        now: Day,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RollupReport, ArchiveError> {
        let started = Instant::now();
        let mut report = RollupReport::default();
        for level in [Level::Weekly, Level::Monthly, Level::Yearly] {
            let mut plan = Vec::new();
            for kind in Kind::ALL {
                for (period, rebuilt) in self.plan(kind, level, now)? {
                    plan.push((kind, period, rebuilt));
                }
            }
            progress(Progress::Planned { count: plan.len() });
            for (kind, period, rebuilt) in plan {
                progress(Progress::Building { kind, period });
                let built = self.build_period(kind, period, rebuilt)?;
                report.bytes_written += built.bytes;
                report.built.push(built);
                progress(Progress::Done);
            }
        }
        report.removed = self.apply_retention(now)?;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// The periods of `level` to build (false) or rebuild (true).
    fn plan(
        &self,
        kind: Kind,
        level: Level,
        now: Day,
    ) -> Result<Vec<(Period, bool)>, ArchiveError> {
        let mut candidates: BTreeSet<Period> = BTreeSet::new();
        for (&(k, day), slots) in &self.index.days {
            if k == kind && slots[..level as usize].iter().any(Option::is_some) {
                candidates.insert(level.period_of(day));
            }
        }
        let mut out = Vec::new();
        for period in candidates {
            if period.last_day() >= now {
                continue;
            }
            let mut missing = false;
            let mut stale = false;
            for day in period.first_day()..=period.last_day() {
                let Some(below) = self.index.finest(kind, day, Some(level)) else {
                    continue;
                };
                match self.index.at(kind, day, level) {
                    None => missing = true,
                    Some(have) => {
                        if !stale && !self.same_day(below, have)? {
                            stale = true;
                        }
                    }
                }
            }
            let exists = self.index.files.contains_key(&(kind, level, period));
            if !exists {
                out.push((period, false));
            } else if missing || stale {
                out.push((period, true));
            }
        }
        Ok(out)
    }

    /// Writes the rollup file of `period` in its own transaction.
    fn build_period(
        &mut self,
        kind: Kind,
        period: Period,
        rebuilt: bool,
    ) -> Result<Built, ArchiveError> {
        let started = Instant::now();
        let level = period.level();
        // Each day from the finest level below, else from the current rollup file.
        let mut sources: Vec<(Day, DayLoc)> = Vec::new();
        for day in period.first_day()..=period.last_day() {
            if let Some(loc) = self
                .index
                .finest(kind, day, Some(level))
                .or_else(|| self.index.at(kind, day, level))
            {
                sources.push((day, loc.clone()));
            }
        }
        let Some((_, first)) = sources.first() else {
            return Err(ArchiveError::Internal {
                context: format!("rollup {kind} {period}"),
                message: "no day to build from".into(),
            });
        };
        let schema = file_schema(self, &first.path)?;
        let mut txn = self.begin();
        txn.note(format!("rollup {kind} {level} {period}"));
        let mut writer = txn.rollup_writer(kind, period, &schema)?;
        // One footer read per source file, not per day.
        let mut checked: BTreeSet<&str> = BTreeSet::new();
        for (day, loc) in &sources {
            if checked.insert(loc.path.as_str()) {
                let source_schema = file_schema(txn.archive(), &loc.path)?;
                check_same_schema(
                    txn.archive(),
                    &source_schema,
                    &schema,
                    loc,
                    &first.path,
                    period,
                )?;
            }
            // Digested at the source's version, so the copy checks against it as it is.
            let version = parquet_io::digest_version(
                &txn.archive().root().join(&loc.path),
                loc.digest_version,
            )?;
            writer.begin_day(*day, version)?;
            txn.archive().read_loc(loc, |b| writer.write(&b))?;
            let got = writer.end_day().ok_or_else(|| ArchiveError::Internal {
                context: format!("rollup {kind} {period}"),
                message: "day not recorded".into(),
            })?;
            check_copy(txn.archive(), loc, got)?;
        }
        let written = writer.finish()?;
        let out = Built {
            kind,
            period,
            rebuilt,
            days: written.days.len(),
            rows: written.rows,
            bytes: written.bytes,
            elapsed: Duration::ZERO,
        };
        txn.add_written(kind, period, written);
        txn.commit()?;
        Ok(Built {
            elapsed: started.elapsed(),
            ..out
        })
    }

    /// Removes what has aged out and is held above; one transaction.
    fn apply_retention(&mut self, now: Day) -> Result<Vec<Removed>, ArchiveError> {
        let retention = self.config().retention;
        let mut remove: Vec<String> = Vec::new();
        for (&(kind, level, period), path) in &self.index.files {
            if !aged_out(&retention, kind, period, now) {
                continue;
            }
            let held_above = match level.above() {
                None => true,
                Some(above) => match self.file(path) {
                    None => false,
                    Some(op) => {
                        let mut all = true;
                        for d in &op.days {
                            let (Some(here), Some(a)) = (
                                self.index.at(kind, d.day.0, level),
                                self.index.at(kind, d.day.0, above),
                            ) else {
                                all = false;
                                break;
                            };
                            if !self.same_day(here, a)? {
                                all = false;
                                break;
                            }
                        }
                        all
                    }
                },
            };
            if held_above {
                remove.push(path.clone());
            }
        }
        let removed_set: BTreeSet<&str> = remove.iter().map(String::as_str).collect();
        let newest_state = self.index.states.keys().next_back().copied();
        let mut states = Vec::new();
        for (&day, path) in &self.index.states {
            if Some(day) == newest_state || (now - day) as i64 <= retention.daily_days as i64 {
                continue;
            }
            let daily_kept = self
                .index
                .at(Kind::Events, day, Level::Daily)
                .is_some_and(|l| !removed_set.contains(l.path.as_str()));
            if !daily_kept {
                states.push(path.clone());
            }
        }
        remove.extend(states);
        if remove.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut txn = self.begin();
        txn.note(format!("retention as of {}", time::format_day(now)));
        for path in &remove {
            if let Some(op) = txn.archive().file(path) {
                out.push(Removed {
                    kind: op.kind,
                    level: op.level,
                    period: op.period.clone(),
                    rows: op.rows,
                    bytes: op.bytes,
                });
            }
            txn.remove(path)?;
        }
        txn.commit()?;
        Ok(out)
    }
}

/// Days of different schemas (versions) cannot share one file.
fn check_same_schema(
    archive: &Archive,
    source: &arrow_schema::Schema,
    schema: &arrow_schema::Schema,
    loc: &DayLoc,
    first: &str,
    period: Period,
) -> Result<(), ArchiveError> {
    let same = source.fields().len() == schema.fields().len()
        && source
            .fields()
            .iter()
            .zip(schema.fields())
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
    if same {
        return Ok(());
    }
    Err(ArchiveError::Schema {
        path: archive.root().join(&loc.path),
        message: format!(
            "has other columns than {first} (the first day of {period}): days of different schema versions cannot share a {} file",
            period.level()
        ),
    })
}

/// A day copied into a rollup must have the rows and digest its source's manifest entry
/// records; anything else means the source file is damaged.
fn check_copy(archive: &Archive, loc: &DayLoc, got: &DayRows) -> Result<(), ArchiveError> {
    if got.rows != loc.rows || got.digest != loc.digest || got.digest_version != loc.digest_version
    {
        return Err(ArchiveError::Corrupt {
            path: archive.root().join(&loc.path),
            message: format!(
                "day {} reads as {} rows with digest {} where the manifest records {} rows with digest {}",
                time::format_day(got.day.0),
                got.rows,
                super::manifest::short(&got.digest),
                loc.rows,
                super::manifest::short(&loc.digest)
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::config::Retention;

    fn day(s: &str) -> Day {
        time::parse_day(s).unwrap()
    }

    #[test]
    fn age_rules_at_their_boundaries() {
        let r = Retention::default();
        let d = day("2026-04-01");
        // Daily: kept while now − D ≤ 31.
        assert!(!aged_out(&r, Kind::Events, Period::Day(d), d + 31));
        assert!(aged_out(&r, Kind::Events, Period::Day(d), d + 32));
        // Weekly 2026-W14 ends Sunday 2026-04-05; kept while now − Sunday ≤ 70 days.
        let w = Level::Weekly.period_of(d);
        assert_eq!(w.last_day(), day("2026-04-05"));
        assert!(!aged_out(&r, Kind::Events, w, day("2026-06-14")));
        assert!(aged_out(&r, Kind::Events, w, day("2026-06-15")));
        // Monthly 2026-04: 13 months after April is May 2027; gone from June 2027.
        let m = Level::Monthly.period_of(d);
        assert!(!aged_out(&r, Kind::Events, m, day("2027-05-31")));
        assert!(aged_out(&r, Kind::Events, m, day("2027-06-01")));
        // Yearly 2026: kept through 2031, gone on 2032-01-01.
        let y = Period::Year(2026);
        assert!(!aged_out(&r, Kind::Events, y, day("2031-12-31")));
        assert!(aged_out(&r, Kind::Events, y, day("2032-01-01")));
        let seven = Retention {
            findings_years: 7,
            ..r
        };
        assert!(!aged_out(&seven, Kind::Findings, y, day("2032-01-01")));
        assert!(aged_out(&seven, Kind::Findings, y, day("2034-01-01")));
    }
}
