//! `ROOT/archive.toml`: how long each level is kept and how the Parquet files are cut.
//!
//! The file is optional and every key in it is optional; a missing key takes the default
//! of `archive.md`. It is read once into [`ArchiveConfigFile`] (unknown keys are errors,
//! so a misspelt `dialy_days` cannot silently keep the default) and validated once by
//! [`ArchiveConfigFile::build`] into the runtime [`ArchiveConfig`].
//!
//! ```toml
//! [retention]
//! daily_days = 31       # a daily snapshot of day D is aged out when now − D > 31 days
//! weekly_weeks = 10     # a weekly one when now − (its Sunday) > 10 × 7 days
//! monthly_months = 13   # a monthly one when (now's month) − (its month) > 13 months
//! yearly_years = 5      # a yearly one when (now's year) − (its year) > 5 years
//! findings_years = 5    # findings' yearly level; never less than yearly_years
//!
//! [parquet]
//! row_group_rows = 65536
//! zstd_level = 1
//! bloom_fpp = 0.01
//! ```
//!
//! The age rules count whole units after the *end* of the period, so "5 years" keeps the
//! yearly file of 2026 through the whole of 2031 and drops it on 2032-01-01 — five full
//! years after the year it consolidates, as Kawasaki 要綱 第19条 asks.

use std::path::Path;

use serde::Deserialize;

use super::ArchiveError;

/// `[retention]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionFile {
    pub daily_days: Option<u32>,
    pub weekly_weeks: Option<u32>,
    pub monthly_months: Option<u32>,
    pub yearly_years: Option<u32>,
    pub findings_years: Option<u32>,
}

/// `[parquet]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetFile {
    pub row_group_rows: Option<usize>,
    pub zstd_level: Option<i32>,
    pub bloom_fpp: Option<f64>,
    pub state_zstd_level: Option<i32>,
}

/// `archive.toml` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfigFile {
    #[serde(default)]
    pub retention: RetentionFile,
    #[serde(default)]
    pub parquet: ParquetFile,
}

/// How long each level is kept; see the module documentation for the exact age rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub daily_days: u32,
    pub weekly_weeks: u32,
    pub monthly_months: u32,
    pub yearly_years: u32,
    /// The yearly level of findings; at least `yearly_years`.
    pub findings_years: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            daily_days: 31,
            weekly_weeks: 10,
            monthly_months: 13,
            yearly_years: 5,
            findings_years: 5,
        }
    }
}

/// How Parquet files are written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParquetSettings {
    /// Rows per row group: the unit a lookup skips with statistics and Bloom filters.
    pub row_group_rows: usize,
    /// zstd level of the data pages. Level 1 by default: on these pages (dictionary
    /// indices, sorted times, short ids) it compressed a day of events slightly smaller
    /// than level 3 and in about half the time; higher levels buy little on pages of a
    /// megabyte.
    pub zstd_level: i32,
    /// False-positive probability of the Bloom filters.
    pub bloom_fpp: f64,
    /// zstd level of the rule-engine state files.
    pub state_zstd_level: i32,
}

impl Default for ParquetSettings {
    fn default() -> Self {
        ParquetSettings {
            row_group_rows: 64 * 1024,
            zstd_level: 1,
            bloom_fpp: 0.01,
            state_zstd_level: 1,
        }
    }
}

/// The validated `archive.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ArchiveConfig {
    pub retention: Retention,
    pub parquet: ParquetSettings,
}

impl ArchiveConfigFile {
    /// Parses the text of `archive.toml`; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<ArchiveConfigFile, ArchiveError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            ArchiveError::Config {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })
    }

    /// Validates the values once; `path` is only used in messages.
    pub fn build(&self, path: &Path) -> Result<ArchiveConfig, ArchiveError> {
        let bad = |key: &str, value: String, why: &str| ArchiveError::ConfigValue {
            path: path.to_path_buf(),
            key: key.to_owned(),
            value,
            why: why.to_owned(),
        };
        let d = Retention::default();
        let r = &self.retention;
        let positive = |key: &str, v: Option<u32>, default: u32| -> Result<u32, ArchiveError> {
            match v {
                Some(0) => Err(bad(key, "0".into(), "must be at least 1")),
                Some(v) => Ok(v),
                None => Ok(default),
            }
        };
        let yearly_years = positive("retention.yearly_years", r.yearly_years, d.yearly_years)?;
        let findings_years = match r.findings_years {
            Some(v) if v < yearly_years => {
                return Err(bad(
                    "retention.findings_years",
                    v.to_string(),
                    "findings are kept at least as long as the yearly level (yearly_years)",
                ));
            }
            Some(v) => v,
            None => yearly_years,
        };
        let retention = Retention {
            daily_days: positive("retention.daily_days", r.daily_days, d.daily_days)?,
            weekly_weeks: positive("retention.weekly_weeks", r.weekly_weeks, d.weekly_weeks)?,
            monthly_months: positive(
                "retention.monthly_months",
                r.monthly_months,
                d.monthly_months,
            )?,
            yearly_years,
            findings_years,
        };
        let dp = ParquetSettings::default();
        let p = &self.parquet;
        let row_group_rows = match p.row_group_rows {
            Some(n) if !(16..=16 * 1024 * 1024).contains(&n) => {
                return Err(bad(
                    "parquet.row_group_rows",
                    n.to_string(),
                    "must be between 16 and 16777216",
                ));
            }
            Some(n) => n,
            None => dp.row_group_rows,
        };
        let level = |key: &str, v: Option<i32>, default: i32| -> Result<i32, ArchiveError> {
            match v {
                Some(l) if !(1..=22).contains(&l) => {
                    Err(bad(key, l.to_string(), "zstd levels are 1 to 22"))
                }
                Some(l) => Ok(l),
                None => Ok(default),
            }
        };
        let bloom_fpp = match p.bloom_fpp {
            Some(f) if !(f > 0.0 && f < 0.5) => {
                return Err(bad(
                    "parquet.bloom_fpp",
                    f.to_string(),
                    "must be a probability above 0 and below 0.5",
                ));
            }
            Some(f) => f,
            None => dp.bloom_fpp,
        };
        Ok(ArchiveConfig {
            retention,
            parquet: ParquetSettings {
                row_group_rows,
                zstd_level: level("parquet.zstd_level", p.zstd_level, dp.zstd_level)?,
                bloom_fpp,
                state_zstd_level: level(
                    "parquet.state_zstd_level",
                    p.state_zstd_level,
                    dp.state_zstd_level,
                )?,
            },
        })
    }
}

/// Reads and validates `archive.toml`; a missing file means every default.
pub fn load(path: &Path) -> Result<ArchiveConfig, ArchiveError> {
    match std::fs::read_to_string(path) {
        Ok(text) => ArchiveConfigFile::parse(&text, path)?.build(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ArchiveConfig::default()),
        Err(source) => Err(ArchiveError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(text: &str) -> Result<ArchiveConfig, ArchiveError> {
        let p = Path::new("archive.toml");
        ArchiveConfigFile::parse(text, p)?.build(p)
    }

    #[test]
    fn empty_file_is_the_defaults_of_archive_md() {
        let c = build("").unwrap();
        assert_eq!(c.retention.daily_days, 31);
        assert_eq!(c.retention.weekly_weeks, 10);
        assert_eq!(c.retention.monthly_months, 13);
        assert_eq!(c.retention.yearly_years, 5);
        assert_eq!(c.retention.findings_years, 5);
    }

    #[test]
    fn a_city_that_keeps_seven_years() {
        let c = build("[retention]\nyearly_years = 7\n").unwrap();
        assert_eq!(c.retention.yearly_years, 7);
        assert_eq!(
            c.retention.findings_years, 7,
            "findings follow the yearly level"
        );
        assert_eq!(c.retention.daily_days, 31);
    }

    #[test]
    fn unknown_keys_are_errors_with_position() {
        let err = build("[retention]\ndaily_days = 31\ndialy_days = 3\n").unwrap_err();
        match err {
            ArchiveError::Config { line, column, .. } => {
                assert_eq!((line, column), (3, 1));
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = build("[retention]\nfindings_years = 3\n").unwrap_err();
        assert!(err.to_string().contains("findings_years"), "{err}");
        let err = build("[retention]\ndaily_days = 0\n").unwrap_err();
        assert!(err.to_string().contains("daily_days"), "{err}");
        let err = build("[parquet]\nbloom_fpp = 1.5\n").unwrap_err();
        assert!(err.to_string().contains("1.5"), "{err}");
    }
}
