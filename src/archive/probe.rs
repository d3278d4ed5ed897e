//! Point lookups over the whole archive, and how many row groups they could skip.
//!
//! A lookup of `column = value` ("every event of resident X in five years") covers every
//! held day exactly once, each from the finest level that holds it (the newest days from
//! dailies, older ones from weeklies, monthlies, then yearly files). In each file it
//! considers only the row groups that overlap the days it is used for; of those it skips
//! the ones whose column statistics exclude the value, then the ones whose Bloom filter
//! says the value is absent, and reads the rest. [`ProbeStats`] counts each step, and
//! `matched_rows` is the lookup's answer, so a test can check that skipping never loses a
//! row.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use super::ArchiveError;
use super::parquet_io;
use super::period::Kind;
use super::store::Archive;

/// What one lookup touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeStats {
    /// Files in the lookup's coverage.
    pub files: usize,
    /// Row groups overlapping the covered days.
    pub row_groups_total: usize,
    /// Skipped because min/max statistics exclude the value (or the column is all null).
    pub pruned_by_stats: usize,
    /// Skipped because the Bloom filter says the value is absent.
    pub pruned_by_bloom: usize,
    /// Row groups decoded.
    pub read: usize,
    /// Rows whose column equals the value.
    pub matched_rows: u64,
}

/// Looks up `column = value` over the archive at `root` (see the module documentation).
pub fn probe(
    root: &Path,
    kind: Kind,
    column: &str,
    value: &str,
) -> Result<ProbeStats, ArchiveError> {
    let archive = Archive::open_read(root)?;
    archive.probe(kind, column, value)
}

impl Archive {
    /// [`probe`] on an open archive.
    pub fn probe(&self, kind: Kind, column: &str, value: &str) -> Result<ProbeStats, ArchiveError> {
        // The finest non-overlapping coverage: per file, the row ranges of its days.
        let mut coverage: BTreeMap<String, Vec<Range<u64>>> = BTreeMap::new();
        for day in self.days(kind) {
            if let Some(loc) = self.index.finest(kind, day, None) {
                let ranges = coverage.entry(loc.path.clone()).or_default();
                let r = loc.offset..loc.offset + loc.rows;
                match ranges.last_mut() {
                    Some(last) if last.end == r.start => last.end = r.end,
                    _ => ranges.push(r),
                }
            }
        }
        let mut stats = ProbeStats::default();
        let needle = value.as_bytes();
        for (path, ranges) in coverage {
            stats.files += 1;
            let (full, file) = self.open_file(&path)?;
            let builder = parquet_io::open_reader(&full, file)?;
            let Some(leaf) = builder
                .parquet_schema()
                .columns()
                .iter()
                .position(|c| c.path().string() == column)
            else {
                return Err(ArchiveError::Usage(format!(
                    "{} has no column `{column}`",
                    full.display()
                )));
            };
            let meta = builder.metadata().clone();
            let mut keep = Vec::new();
            let mut at = 0u64;
            for (i, rg) in meta.row_groups().iter().enumerate() {
                let n = rg.num_rows().max(0) as u64;
                let span = at..at + n;
                at += n;
                if n == 0
                    || !ranges
                        .iter()
                        .any(|r| r.start < span.end && r.end > span.start)
                {
                    continue;
                }
                stats.row_groups_total += 1;
                let chunk = rg.column(leaf);
                if let Some(s) = chunk.statistics() {
                    let all_null = s.null_count_opt().is_some_and(|c| c == n);
                    let below = s.min_bytes_opt().is_some_and(|m| needle < m);
                    let above = s.max_bytes_opt().is_some_and(|m| needle > m);
                    if all_null || below || above {
                        stats.pruned_by_stats += 1;
                        continue;
                    }
                }
                let bloom =
                    builder
                        .get_row_group_column_bloom_filter(i, leaf)
                        .map_err(|source| ArchiveError::Parquet {
                            path: full.clone(),
                            source,
                        })?;
                if bloom.is_some_and(|b| !b.check(&value)) {
                    stats.pruned_by_bloom += 1;
                    continue;
                }
                stats.read += 1;
                keep.push(i);
            }
            if keep.is_empty() {
                continue;
            }
            let col = builder
                .schema()
                .index_of(column)
                .map_err(|e| ArchiveError::Usage(e.to_string()))?;
            let mut matched = 0u64;
            parquet_io::read_ranges(
                &full,
                builder,
                &ranges,
                |i| keep.contains(&i),
                |batch| {
                    matched +=
                        count_equal(batch.column(col), value).map_err(ArchiveError::Usage)?;
                    Ok(())
                },
            )?;
            stats.matched_rows += matched;
        }
        Ok(stats)
    }
}

/// Rows of a text column equal to `value`.
fn count_equal(array: &ArrayRef, value: &str) -> Result<u64, String> {
    let plain;
    let array = match array.data_type() {
        DataType::Dictionary(_, _) => {
            let d = array.as_any_dictionary();
            plain = arrow_select::take::take(d.values().as_ref(), d.keys(), None)
                .map_err(|e| e.to_string())?;
            &plain
        }
        _ => array,
    };
    match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            Ok((0..a.len())
                .filter(|&i| a.is_valid(i) && a.value(i) == value)
                .count() as u64)
        }
        other => Err(format!("a lookup needs a text column, not {other}")),
    }
}
