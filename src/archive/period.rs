//! Kinds, levels and periods, and the Hive-style paths they live at.
//!
//! A period is a run of local days (Asia/Tokyo): one day, one ISO week (Monday to
//! Sunday, numbered in its ISO week-year), one calendar month or one calendar year.
//! Partition values are written without zero padding (`month=4`) so that DuckDB and
//! friends type them as integers (`archive.md`).

use std::fmt;

use chrono::Datelike;
use serde::{Deserialize, Serialize};

use crate::time::{self, Day};

/// What a data file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Operation-log events (`ROOT/events/…`), of [`crate::normalize::schema::event_schema`].
    Events,
    /// Findings of the rule engine (`ROOT/findings/…`).
    Findings,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Events, Kind::Findings];

    /// The top folder under the archive root.
    pub const fn dir(self) -> &'static str {
        match self {
            Kind::Events => "events",
            Kind::Findings => "findings",
        }
    }

    /// The columns that get a Bloom filter: the ones an investigation looks up.
    pub const fn bloom_columns(self) -> &'static [&'static str] {
        match self {
            Kind::Events => &["target_code", "operator_id"],
            Kind::Findings => &["operator_id", "event_id"],
        }
    }

    /// Columns whose values are mostly distinct within a row group: there a dictionary
    /// costs a hash lookup per value and makes the file larger, not smaller. A resident
    /// code or a request number recurs only a few times a day, an event id never (the
    /// other id columns — terminal, operator, `ref_event_id`, set on verifies only — keep
    /// the dictionary `archive.md` asks for). Free
    /// text (`detail`) keeps its dictionary: screen and form names repeat all day, and
    /// the writer falls back to plain pages by itself when the dictionary outgrows its
    /// page limit.
    pub const fn plain_columns(self) -> &'static [&'static str] {
        match self {
            Kind::Events => &[
                "event_id",
                "target_code",
                "request_no",
                "approval_no",
                "extras",
                "source_line",
            ],
            Kind::Findings => &["event_id", "message", "message_en", "facts"],
        }
    }

    /// The schema version written to `tenken.schema_version`.
    pub const fn schema_version(self) -> u32 {
        match self {
            Kind::Events => crate::normalize::schema::SCHEMA_VERSION,
            Kind::Findings => super::FINDINGS_SCHEMA_VERSION,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir())
    }
}

/// A level of consolidation, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Daily, Level::Weekly, Level::Monthly, Level::Yearly];

    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Daily => "daily",
            Level::Weekly => "weekly",
            Level::Monthly => "monthly",
            Level::Yearly => "yearly",
        }
    }

    /// The period of this level that contains `day`.
    pub fn period_of(self, day: Day) -> Period {
        let date = time::day_to_date(day);
        match self {
            Level::Daily => Period::Day(day),
            Level::Weekly => {
                let w = date.iso_week();
                Period::Week {
                    year: w.year(),
                    week: w.week(),
                }
            }
            Level::Monthly => Period::Month {
                year: date.year(),
                month: date.month(),
            },
            Level::Yearly => Period::Year(date.year()),
        }
    }

    /// The next coarser level.
    pub const fn above(self) -> Option<Level> {
        match self {
            Level::Daily => Some(Level::Weekly),
            Level::Weekly => Some(Level::Monthly),
            Level::Monthly => Some(Level::Yearly),
            Level::Yearly => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One period of one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Day(Day),
    /// An ISO week: `year` is the ISO week-year, which differs from the calendar year
    /// for a few days around New Year.
    Week {
        year: i32,
        week: u32,
    },
    Month {
        year: i32,
        month: u32,
    },
    Year(i32),
}

impl Period {
    pub const fn level(self) -> Level {
        match self {
            Period::Day(_) => Level::Daily,
            Period::Week { .. } => Level::Weekly,
            Period::Month { .. } => Level::Monthly,
            Period::Year(_) => Level::Yearly,
        }
    }

    /// The first day of the period.
    pub fn first_day(self) -> Day {
        match self {
            Period::Day(d) => d,
            Period::Week { year, week } => {
                // 4 January is always in ISO week 1; step back to its Monday.
                let jan4 = time::days_from_civil(year, 1, 4);
                let monday = jan4 - crate::ledger::weekday_index(jan4) as Day;
                monday + (week as Day - 1) * 7
            }
            Period::Month { year, month } => time::days_from_civil(year, month, 1),
            Period::Year(y) => time::days_from_civil(y, 1, 1),
        }
    }

    /// The last day of the period.
    pub fn last_day(self) -> Day {
        match self {
            Period::Day(d) => d,
            Period::Week { .. } => self.first_day() + 6,
            Period::Month { year, month } => {
                time::days_from_civil(year, month, time::days_in_month(year, month))
            }
            Period::Year(y) => time::days_from_civil(y, 12, 31),
        }
    }

    pub fn contains(self, day: Day) -> bool {
        (self.first_day()..=self.last_day()).contains(&day)
    }

    /// The partition folder below the level folder: `year=2026/month=4/day=1`, …
    pub fn partition(self) -> String {
        match self {
            Period::Day(d) => {
                let (y, m, dd) = time::civil_from_days(d);
                format!("year={y}/month={m}/day={dd}")
            }
            Period::Week { year, week } => format!("year={year}/week={week}"),
            Period::Month { year, month } => format!("year={year}/month={month}"),
            Period::Year(y) => format!("year={y}"),
        }
    }

    /// The path of the period's one data file, relative to the archive root.
    pub fn file_path(self, kind: Kind) -> String {
        format!(
            "{}/{}/{}/{}",
            kind.dir(),
            self.level().as_str(),
            self.partition(),
            super::PART_FILE
        )
    }

    /// Parses the text form of [`fmt::Display`] (`2026-04-01`, `2026-W14`, `2026-04`,
    /// `2026`) for a known level.
    pub fn parse(level: Level, s: &str) -> Option<Period> {
        match level {
            Level::Daily => time::parse_day(s).map(Period::Day),
            Level::Weekly => {
                let (y, w) = s.split_once("-W")?;
                let p = Period::Week {
                    year: y.parse().ok()?,
                    week: w.parse().ok()?,
                };
                // Reject week 53 of a year that has 52 and the like.
                (p.week_is_valid()).then_some(p)
            }
            Level::Monthly => {
                let (y, m) = s.split_once('-')?;
                let month: u32 = m.parse().ok()?;
                (1..=12).contains(&month).then_some(Period::Month {
                    year: y.parse().ok()?,
                    month,
                })
            }
            Level::Yearly => s.parse().ok().map(Period::Year),
        }
    }

    fn week_is_valid(self) -> bool {
        match self {
            Period::Week { week, .. } => {
                week >= 1 && Level::Weekly.period_of(self.first_day()) == self
            }
            _ => true,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Period::Day(d) => f.write_str(&time::format_day(d)),
            Period::Week { year, week } => write!(f, "{year}-W{week:02}"),
            Period::Month { year, month } => write!(f, "{year}-{month:02}"),
            Period::Year(y) => write!(f, "{y}"),
        }
    }
}

/// `(year, month)` as a count of months, for the monthly age rule.
pub fn month_index(day: Day) -> i64 {
    let (y, m, _) = time::civil_from_days(day);
    y as i64 * 12 + m as i64 - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        time::parse_day(s).unwrap()
    }

    #[test]
    fn partitions_are_not_zero_padded() {
        let d = day("2026-04-01");
        assert_eq!(
            Level::Daily.period_of(d).file_path(Kind::Events),
            "events/daily/year=2026/month=4/day=1/part-0.parquet"
        );
        // 2026-04-01 is a Wednesday of ISO week 14 (week 1 starts Monday 2025-12-29).
        assert_eq!(Level::Weekly.period_of(d).partition(), "year=2026/week=14");
        assert_eq!(Level::Monthly.period_of(d).partition(), "year=2026/month=4");
        assert_eq!(
            Level::Yearly.period_of(d).file_path(Kind::Findings),
            "findings/yearly/year=2026/part-0.parquet"
        );
    }

    #[test]
    fn iso_weeks_cross_new_year() {
        // 2027-01-01 is a Friday: it belongs to ISO week 53 of 2026
        // (2026 starts on a Thursday, so it has 53 weeks).
        let p = Level::Weekly.period_of(day("2027-01-01"));
        assert_eq!(
            p,
            Period::Week {
                year: 2026,
                week: 53
            }
        );
        assert_eq!(p.first_day(), day("2026-12-28"));
        assert_eq!(p.last_day(), day("2027-01-03"));
        // 2025-12-29 (Monday) starts week 1 of 2026.
        assert_eq!(
            Level::Weekly.period_of(day("2025-12-29")),
            Period::Week {
                year: 2026,
                week: 1
            }
        );
        assert_eq!(Period::parse(Level::Weekly, "2026-W53"), Some(p));
        assert_eq!(Period::parse(Level::Weekly, "2027-W53"), None);
    }

    #[test]
    fn period_bounds_and_text_round_trip() {
        for s in ["2024-02-01", "2026-04-30", "2026-12-31", "2027-01-04"] {
            let d = day(s);
            for level in Level::ALL {
                let p = level.period_of(d);
                assert!(p.contains(d), "{p} contains {s}");
                assert!(!p.contains(p.first_day() - 1));
                assert!(!p.contains(p.last_day() + 1));
                assert_eq!(Period::parse(level, &p.to_string()), Some(p));
            }
        }
        assert_eq!(
            Level::Monthly.period_of(day("2024-02-10")).last_day(),
            day("2024-02-29")
        );
    }
}
