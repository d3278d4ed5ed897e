//! Parquet in and out: the writer properties of `archive.md`, a streaming writer that
//! records each day's rows and digest as it goes, and a reader of one day's row range.
//!
//! Properties: zstd; statistics at page level (chunk statistics and the page index, so
//! engines prune pages too); dictionary encoding for the id columns and off for columns
//! whose values are mostly distinct (`event_id`, `target_code`, …; see
//! [`Kind::plain_columns`]) where a dictionary only costs; delta encoding for the time column, which is sorted; Bloom filters on the
//! columns an investigation looks up (`target_code`, `operator_id` for events), sized for
//! a full row group and folded down by the writer; row groups of a fixed row count so a
//! year file has many to skip; `timestamp` stays Arrow `Timestamp(ms, "UTC")`, which
//! Parquet stores as `TIMESTAMP(MILLIS, isAdjustedToUTC = true)`. The key-value metadata
//! carries `tenken.schema_version`, `tenken.kind`, `tenken.level` and `tenken.period`.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use super::ArchiveError;
use super::config::ParquetSettings;
use super::digest::{DayDigest, Version};
use super::fsutil::{HashingWriter, create_dirs, create_file, io_err};
use super::manifest::{DayRows, DayText};
use super::period::{Kind, Period};
use crate::time::Day;

/// The schema as stored: the caller's fields, without schema-level metadata (which the
/// Parquet key-value metadata replaces).
pub(crate) fn storage_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(schema.fields().clone()))
}

/// Whether `schema` has a `timestamp` column of the archive's type, and where.
pub(crate) fn timestamp_index(schema: &Schema) -> Option<usize> {
    let i = schema.index_of("timestamp").ok()?;
    matches!(
        schema.field(i).data_type(),
        DataType::Timestamp(TimeUnit::Millisecond, Some(tz)) if &**tz == "UTC" || &**tz == "+00:00"
    )
    .then_some(i)
}

fn writer_properties(
    kind: Kind,
    period: Period,
    schema: &Schema,
    settings: &ParquetSettings,
) -> Result<WriterProperties, ArchiveError> {
    let zstd = ZstdLevel::try_new(settings.zstd_level).map_err(|e| ArchiveError::Internal {
        context: "zstd level".into(),
        message: e.to_string(),
    })?;
    let version = kind.schema_version();
    let mut b = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(zstd))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(true)
        .set_max_row_group_row_count(Some(settings.row_group_rows))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("tenken.schema_version".into(), version.to_string()),
            KeyValue::new("tenken.kind".into(), kind.dir().to_owned()),
            KeyValue::new("tenken.level".into(), period.level().as_str().to_owned()),
            KeyValue::new("tenken.period".into(), period.to_string()),
        ]));
    let has = |name: &str| schema.index_of(name).ok();
    for name in kind.plain_columns() {
        if has(name).is_some() {
            b = b.set_column_dictionary_enabled(ColumnPath::from(*name), false);
        }
    }
    for name in kind.bloom_columns() {
        if has(name).is_some() {
            let col = ColumnPath::from(*name);
            b = b
                .set_column_bloom_filter_enabled(col.clone(), true)
                .set_column_bloom_filter_fpp(col.clone(), settings.bloom_fpp)
                .set_column_bloom_filter_max_ndv(col, settings.row_group_rows as u64);
        }
    }
    if let Some(ts) = timestamp_index(schema) {
        let col = ColumnPath::from("timestamp");
        b = b
            .set_column_dictionary_enabled(col.clone(), false)
            .set_column_encoding(col, Encoding::DELTA_BINARY_PACKED);
        // Events are sorted by time within a day and days are stored in order, so the
        // whole file is; findings are grouped by the day that judged them, not by time.
        let flat = schema.fields().iter().all(|f| !f.data_type().is_nested());
        if kind == Kind::Events && flat {
            b = b.set_sorting_columns(Some(vec![SortingColumn {
                column_idx: ts as i32,
                descending: false,
                nulls_first: false,
            }]));
        }
    }
    if has("source_line").is_some() {
        b = b.set_column_encoding(
            ColumnPath::from("source_line"),
            Encoding::DELTA_BINARY_PACKED,
        );
    }
    Ok(b.build())
}

/// What a finished data file holds, for its manifest entry.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub bytes: u64,
    pub sha256: String,
    pub rows: u64,
    pub min_ts: Option<i64>,
    pub max_ts: Option<i64>,
    pub days: Vec<DayRows>,
}

/// Writes one data file day by day, row group by row group: memory stays bounded by a
/// row group however long the period.
pub(crate) struct PartWriter {
    path: PathBuf,
    writer: ArrowWriter<HashingWriter>,
    schema: SchemaRef,
    ts: Option<usize>,
    current: Option<(Day, DayDigest)>,
    days: Vec<DayRows>,
    rows: u64,
    min_ts: Option<i64>,
    max_ts: Option<i64>,
}

impl PartWriter {
    /// Creates the file at `path` (folders 0700, file 0600).
    pub(crate) fn create(
        path: &Path,
        kind: Kind,
        period: Period,
        schema: &Schema,
        settings: &ParquetSettings,
    ) -> Result<PartWriter, ArchiveError> {
        if let Some(parent) = path.parent() {
            create_dirs(parent)?;
        }
        let schema = storage_schema(schema);
        let props = writer_properties(kind, period, &schema, settings)?;
        let file = create_file(path)?;
        let writer =
            ArrowWriter::try_new(HashingWriter::new(file), Arc::clone(&schema), Some(props))
                .map_err(|source| ArchiveError::Parquet {
                    path: path.to_path_buf(),
                    source,
                })?;
        Ok(PartWriter {
            path: path.to_path_buf(),
            writer,
            ts: timestamp_index(&schema),
            schema,
            current: None,
            days: Vec::new(),
            rows: 0,
            min_ts: None,
            max_ts: None,
        })
    }

    /// Closes the current day; returns its rows and digest as recorded.
    pub(crate) fn end_day(&mut self) -> Option<&DayRows> {
        let (day, d) = self.current.take()?;
        let version = d.version().number();
        self.days.push(DayRows {
            day: DayText(day),
            rows: d.rows(),
            digest: d.finish(),
            digest_version: version,
        });
        self.days.last()
    }

    /// Starts the rows of `day` (days must come in ascending order), digested at
    /// `version`: new days at the current one, a day copied into a rollup at its
    /// source's, so that the two compare as they are.
    pub(crate) fn begin_day(&mut self, day: Day, version: Version) -> Result<(), ArchiveError> {
        if let Some(last) = self
            .current
            .as_ref()
            .map(|c| c.0)
            .or(self.days.last().map(|d| d.day.0))
            && day <= last
        {
            return Err(ArchiveError::Internal {
                context: self.path.display().to_string(),
                message: format!("day {day} written after day {last}"),
            });
        }
        self.end_day();
        self.current = Some((
            day,
            DayDigest::with_version(Arc::clone(&self.schema), version),
        ));
        Ok(())
    }

    /// Appends rows of the current day. The batch must have the file's columns; its
    /// schema-level metadata is ignored.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), ArchiveError> {
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec())
            .map_err(|e| ArchiveError::Schema {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        let Some((_, digest)) = self.current.as_mut() else {
            return Err(ArchiveError::Internal {
                context: self.path.display().to_string(),
                message: "rows written before begin_day".into(),
            });
        };
        digest.update(&batch).map_err(|e| ArchiveError::Schema {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        if let Some(ts) = self.ts {
            let col = batch.column(ts).as_primitive::<TimestampMillisecondType>();
            if let Some(min) = arrow_array_min(col) {
                self.min_ts = Some(self.min_ts.map_or(min.0, |m| m.min(min.0)));
                self.max_ts = Some(self.max_ts.map_or(min.1, |m| m.max(min.1)));
            }
        }
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(&batch)
            .map_err(|source| ArchiveError::Parquet {
                path: self.path.clone(),
                source,
            })
    }

    /// Closes the file (footer, fsync) and returns what it holds.
    pub(crate) fn finish(mut self) -> Result<Written, ArchiveError> {
        self.end_day();
        let path = self.path.clone();
        let inner = self
            .writer
            .into_inner()
            .map_err(|source| ArchiveError::Parquet {
                path: path.clone(),
                source,
            })?;
        let (bytes, sha256) = inner.finish().map_err(io_err(&path))?;
        Ok(Written {
            bytes,
            sha256,
            rows: self.rows,
            min_ts: self.min_ts,
            max_ts: self.max_ts,
            days: self.days,
        })
    }
}

/// (min, max) of the non-null values.
fn arrow_array_min(col: &arrow_array::TimestampMillisecondArray) -> Option<(i64, i64)> {
    let mut out: Option<(i64, i64)> = None;
    for i in 0..col.len() {
        if col.is_valid(i) {
            let v = col.value(i);
            out = Some(out.map_or((v, v), |(a, b)| (a.min(v), b.max(v))));
        }
    }
    out
}

/// Opens a Parquet file for reading with the Arrow reader.
pub(crate) fn open_reader(
    path: &Path,
    file: File,
) -> Result<ParquetRecordBatchReaderBuilder<File>, ArchiveError> {
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| ArchiveError::Parquet {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads rows `offset .. offset + rows` of a Parquet file, batch by batch, touching only
/// the row groups that hold them. Returns the file's Arrow schema.
pub(crate) fn read_range(
    path: &Path,
    file: File,
    offset: u64,
    rows: u64,
    f: impl FnMut(RecordBatch) -> Result<(), ArchiveError>,
) -> Result<SchemaRef, ArchiveError> {
    let builder = open_reader(path, file)?;
    let schema = storage_schema(builder.schema());
    let range = offset..offset + rows;
    let total = read_ranges(path, builder, std::slice::from_ref(&range), |_| true, f)?;
    if total != rows {
        return Err(ArchiveError::Corrupt {
            path: path.to_path_buf(),
            message: format!("read {total} rows where the manifest expects {rows}"),
        });
    }
    Ok(schema)
}

/// Reads the rows of `ranges` (ascending, not overlapping) that lie in row groups
/// accepted by `keep_group`, batch by batch; returns the rows read. Row groups outside
/// the ranges are never touched.
pub(crate) fn read_ranges(
    path: &Path,
    builder: ParquetRecordBatchReaderBuilder<File>,
    ranges: &[Range<u64>],
    keep_group: impl Fn(usize) -> bool,
    mut f: impl FnMut(RecordBatch) -> Result<(), ArchiveError>,
) -> Result<u64, ArchiveError> {
    let schema = storage_schema(builder.schema());
    // The selected row groups, with the file row where each starts.
    let mut groups = Vec::new();
    let mut spans = Vec::new();
    let mut at = 0u64;
    for (i, rg) in builder.metadata().row_groups().iter().enumerate() {
        let n = rg.num_rows().max(0) as u64;
        let span = at..at + n;
        if n > 0
            && keep_group(i)
            && ranges
                .iter()
                .any(|r| r.start < span.end && r.end > span.start)
        {
            groups.push(i);
            spans.push(span);
        }
        at += n;
    }
    if let Some(last) = ranges.last()
        && last.end > at
    {
        return Err(ArchiveError::Corrupt {
            path: path.to_path_buf(),
            message: format!(
                "holds {at} rows; the manifest places rows up to {} in it",
                last.end
            ),
        });
    }
    if groups.is_empty() {
        return Ok(0);
    }
    // Selection positions count rows of the selected groups only, back to back.
    let mut selected = Vec::new();
    let mut base = 0u64;
    for span in &spans {
        for r in ranges {
            let (s, e) = (r.start.max(span.start), r.end.min(span.end));
            if s < e {
                selected.push((base + s - span.start) as usize..(base + e - span.start) as usize);
            }
        }
        base += span.end - span.start;
    }
    let selection = RowSelection::from_consecutive_ranges(selected.into_iter(), base as usize);
    let reader = builder
        .with_row_groups(groups)
        .with_row_selection(selection)
        .with_batch_size(8192)
        .build()
        .map_err(|source| ArchiveError::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
    let mut seen = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| ArchiveError::Corrupt {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        seen += batch.num_rows() as u64;
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), batch.columns().to_vec()).map_err(|e| {
                ArchiveError::Corrupt {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                }
            })?;
        f(batch)?;
    }
    Ok(seen)
}

/// The digest version a manifest number names, or an error naming the file.
pub(crate) fn digest_version(path: &Path, number: u32) -> Result<Version, ArchiveError> {
    Version::from_number(number).ok_or_else(|| ArchiveError::Corrupt {
        path: path.to_path_buf(),
        message: format!(
            "records a day digest of version {number}, which this tenken does not know (written by a newer one?)"
        ),
    })
}

/// Decodes rows `offset .. offset + rows` of a data file and digests them at `version`.
pub(crate) fn digest_range(
    path: &Path,
    file: File,
    offset: u64,
    rows: u64,
    version: Version,
) -> Result<String, ArchiveError> {
    let mut digest: Option<DayDigest> = None;
    let schema = read_range(path, file, offset, rows, |b| {
        let d = digest.get_or_insert_with(|| DayDigest::with_version(b.schema(), version));
        d.update(&b).map_err(|e| ArchiveError::Schema {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    })?;
    Ok(digest
        .unwrap_or_else(|| DayDigest::with_version(schema, version))
        .finish())
}

/// Rows according to the Parquet footer.
pub(crate) fn footer_rows(path: &Path) -> Result<u64, ArchiveError> {
    let file = File::open(path).map_err(io_err(path))?;
    let reader =
        parquet::file::serialized_reader::SerializedFileReader::new(file).map_err(|source| {
            ArchiveError::Parquet {
                path: path.to_path_buf(),
                source,
            }
        })?;
    use parquet::file::reader::FileReader;
    Ok(reader.metadata().file_metadata().num_rows().max(0) as u64)
}
