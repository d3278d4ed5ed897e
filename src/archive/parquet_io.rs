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

use arrow_array::ArrayRef;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection};
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnDescPtr, ColumnPath};

use super::ArchiveError;
use super::config::ParquetSettings;
use super::dict_chunk;
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
    writer: GroupWriter,
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
        let writer = GroupWriter::try_new(HashingWriter::new(file), Arc::clone(&schema), props)
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

/// The Parquet file under a [`PartWriter`]: rows gathered into row groups of the fixed
/// row count. Dictionary-typed string columns are held until their group is complete
/// and encoded by [`dict_chunk`] from their keys; every other column streams into
/// arrow-rs's column writer as it arrives, so what is held is keys, not whole batches.
struct GroupWriter {
    file: SerializedFileWriter<HashingWriter>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    props: Arc<WriterProperties>,
    /// The leaf columns of each field, in order.
    leaves: Vec<Range<usize>>,
    /// Fields that `dict_chunk` may encode.
    held: Vec<bool>,
    /// The Parquet leaf columns.
    descrs: Vec<ColumnDescPtr>,
    max_rows: usize,
    group: Option<Group>,
    groups: usize,
    encoder: dict_chunk::Encoder,
}

/// The row group being filled.
struct Group {
    /// By leaf; `None` once closed.
    writers: Vec<Option<ArrowColumnWriter>>,
    /// By field: the slices of a held field.
    parts: Vec<Vec<ArrayRef>>,
    rows: usize,
}

/// A finished column chunk, either way it was encoded.
enum Chunk {
    Arrow(ArrowColumnChunk),
    Encoded(dict_chunk::EncodedChunk),
}

impl GroupWriter {
    fn try_new(
        out: HashingWriter,
        schema: SchemaRef,
        mut props: WriterProperties,
    ) -> Result<GroupWriter, ParquetError> {
        let parquet = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&schema)?;
        add_encoded_arrow_schema_to_metadata(&schema, &mut props);
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let props = Arc::new(props);
        let file = SerializedFileWriter::new(out, parquet.root_schema_ptr(), Arc::clone(&props))?;
        let factory = ArrowRowGroupWriterFactory::new(&file, Arc::clone(&schema));
        let descrs = parquet.columns().to_vec();
        let mut leaves = vec![0..0; schema.fields().len()];
        for leaf in 0..parquet.num_columns() {
            let root = parquet.get_column_root_idx(leaf);
            let r = &mut leaves[root];
            *r = if r.start == r.end {
                leaf..leaf + 1
            } else {
                r.start..leaf + 1
            };
        }
        let held = schema
            .fields()
            .iter()
            .zip(&leaves)
            .map(|(f, l)| l.len() == 1 && dict_chunk::is_string_dictionary(f.data_type()))
            .collect();
        Ok(GroupWriter {
            file,
            factory,
            schema,
            props,
            leaves,
            held,
            descrs,
            max_rows,
            group: None,
            groups: 0,
            encoder: dict_chunk::Encoder::default(),
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let mut at = 0;
        while at < batch.num_rows() {
            // Writers for every leaf, the held ones included: a held column that
            // `dict_chunk` turns down at the end of the group is written through its own.
            let group = match self.group.take() {
                Some(g) => g,
                None => Group {
                    writers: self
                        .factory
                        .create_column_writers(self.groups)?
                        .into_iter()
                        .map(Some)
                        .collect(),
                    parts: vec![Vec::new(); self.schema.fields().len()],
                    rows: 0,
                },
            };
            let group = self.group.insert(group);
            let n = (self.max_rows - group.rows).min(batch.num_rows() - at);
            let slice = batch.slice(at, n);
            for (i, field) in self.schema.fields().iter().enumerate() {
                let column = slice.column(i);
                if self.held[i] {
                    group.parts[i].push(Arc::clone(column));
                } else {
                    write_leaves(&mut group.writers, self.leaves[i].clone(), field, column)?;
                }
            }
            group.rows += n;
            at += n;
            if group.rows >= self.max_rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ParquetError> {
        let Some(mut group) = self.group.take() else {
            return Ok(());
        };
        let mut chunks = Vec::with_capacity(self.descrs.len());
        for (i, field) in self.schema.fields().iter().enumerate() {
            let leaves = self.leaves[i].clone();
            if self.held[i] {
                let parts = std::mem::take(&mut group.parts[i]);
                if let Some(c) =
                    self.encoder
                        .encode(&self.descrs[leaves.start], &self.props, &parts)?
                {
                    chunks.push(Chunk::Encoded(c));
                    continue;
                }
                for part in &parts {
                    write_leaves(&mut group.writers, leaves.clone(), field, part)?;
                }
            }
            for leaf in leaves {
                let w = group.writers[leaf].take().ok_or_else(|| {
                    ParquetError::General(format!("column writer {leaf} closed twice"))
                })?;
                chunks.push(Chunk::Arrow(w.close()?));
            }
        }
        let mut rg = self.file.next_row_group()?;
        for chunk in chunks {
            match chunk {
                Chunk::Arrow(c) => c.append_to_row_group(&mut rg)?,
                Chunk::Encoded(c) => rg.append_column(&c.bytes, c.close)?,
            }
        }
        rg.close()?;
        self.groups += 1;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the output.
    fn into_inner(mut self) -> Result<HashingWriter, ParquetError> {
        self.flush()?;
        self.file.into_inner()
    }
}

/// Writes `column` of `field` to the writers of its leaves.
fn write_leaves(
    writers: &mut [Option<ArrowColumnWriter>],
    leaves: Range<usize>,
    field: &arrow_schema::FieldRef,
    column: &ArrayRef,
) -> Result<(), ParquetError> {
    let computed = compute_leaves(field, column)?;
    if computed.len() != leaves.len() {
        return Err(ParquetError::General(format!(
            "field {} has {} leaves, the schema {}",
            field.name(),
            computed.len(),
            leaves.len()
        )));
    }
    for (leaf, col) in leaves.zip(&computed) {
        let w = writers[leaf]
            .as_mut()
            .ok_or_else(|| ParquetError::General(format!("column writer {leaf} closed")))?;
        w.write(col)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Level;
    use crate::archive::store::{DayLoc, same_rows};
    use arrow_array::types::Int32Type;
    use arrow_array::{DictionaryArray, Int32Array, Int64Array, StringArray};
    use arrow_schema::Field;
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ArrowReaderOptions;
    use parquet::file::metadata::PageIndexPolicy;

    const GROUP_ROWS: usize = 4096;
    /// A multiple of arrow-rs's mini-batch of 1024 rows, so both writers cut pages at
    /// the same rows and their page indexes compare entry by entry.
    const PAGE_ROWS: usize = 1024;

    fn schema() -> SchemaRef {
        let dict = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        Arc::new(Schema::new(vec![
            Field::new("operator_id", dict(), true),
            Field::new("result", dict(), false),
            Field::new("detail", dict(), true),
            Field::new("event_id", DataType::Utf8, false),
            Field::new("n", DataType::Int64, true),
            Field::new("terminal_id", dict(), false),
        ]))
    }

    fn props() -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_dictionary_enabled(true)
            .set_max_row_group_row_count(Some(GROUP_ROWS))
            .set_data_page_row_count_limit(PAGE_ROWS)
            .set_column_dictionary_enabled(ColumnPath::from("event_id"), false)
            .set_column_bloom_filter_enabled(ColumnPath::from("operator_id"), true)
            .set_column_bloom_filter_fpp(ColumnPath::from("operator_id"), 0.01)
            .set_column_bloom_filter_max_ndv(ColumnPath::from("operator_id"), GROUP_ROWS as u64)
            .build()
    }

    /// Batches of uneven sizes, each with its own dictionary: values in another order,
    /// entries no row uses, values repeated across batches, null rows, a stretch of
    /// more than a page with no operator at all, and a detail longer than the statistics
    /// truncation length in one batch (that chunk goes to arrow-rs).
    fn batches(sizes: &[usize]) -> Vec<RecordBatch> {
        let mut out = Vec::new();
        let mut row = 0usize;
        for (b, &size) in sizes.iter().enumerate() {
            let mut ops: Vec<String> = (0..40)
                .map(|i| format!("OP{:05}", (i * 7 + b * 3) % 53))
                .collect();
            ops.reverse();
            let op_keys: Int32Array = (0..size)
                .map(|i| {
                    let r = row + i;
                    let silent = (9000..10300).contains(&r);
                    (!silent && r % 11 != 3).then_some(((r * 31) % 37) as i32)
                })
                .collect();
            let results = StringArray::from(vec!["OK", "E101", "unused", "E102", "OK"]);
            let res_keys: Int32Array = (0..size)
                .map(|i| {
                    Some(if (row + i).is_multiple_of(97) {
                        1 + ((row + i) % 2) as i32 * 2
                    } else {
                        (i % 2) as i32 * 4
                    })
                })
                .collect();
            let long = "長".repeat(40);
            let details = StringArray::from(vec![
                "照会".to_string(),
                if b == 4 { long } else { "更新".to_string() },
                "出力".to_string(),
            ]);
            let det_keys: Int32Array = (0..size)
                .map(|i| (!(row + i).is_multiple_of(5)).then_some(((row + i) % 3) as i32))
                .collect();
            let ids = StringArray::from_iter_values(
                (0..size).map(|i| format!("KW{:02}-{:06}", (row + i) % 10, row + i)),
            );
            let n = Int64Array::from_iter(
                (0..size).map(|i| (!(row + i).is_multiple_of(4)).then_some((row + i) as i64)),
            );
            // Ascending page by page, but for a dip in one page of the second group: its
            // column index is unordered, the others ascending.
            let terminals = StringArray::from_iter_values((0..size).map(|i| {
                let r = row + i;
                if (6200..6210).contains(&r) {
                    "A".to_owned()
                } else {
                    format!("T{:05}", r / 600)
                }
            }));
            let terminals = DictionaryArray::<Int32Type>::try_new(
                (0..size as i32).collect::<Int32Array>(),
                Arc::new(terminals),
            )
            .unwrap();
            out.push(
                RecordBatch::try_new(
                    schema(),
                    vec![
                        Arc::new(
                            DictionaryArray::<Int32Type>::try_new(
                                op_keys,
                                Arc::new(StringArray::from(ops)),
                            )
                            .unwrap(),
                        ),
                        Arc::new(
                            DictionaryArray::<Int32Type>::try_new(res_keys, Arc::new(results))
                                .unwrap(),
                        ),
                        Arc::new(
                            DictionaryArray::<Int32Type>::try_new(det_keys, Arc::new(details))
                                .unwrap(),
                        ),
                        Arc::new(ids),
                        Arc::new(n),
                        Arc::new(terminals),
                    ],
                )
                .unwrap(),
            );
            row += size;
        }
        out
    }

    fn ours(path: &Path, batches: &[RecordBatch]) {
        let file = File::create(path).unwrap();
        let mut w = GroupWriter::try_new(HashingWriter::new(file), schema(), props()).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.into_inner().unwrap().finish().unwrap();
    }

    fn arrow_rs(path: &Path, batches: &[RecordBatch]) {
        let file = File::create(path).unwrap();
        let mut w = ArrowWriter::try_new(file, schema(), Some(props())).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.close().unwrap();
    }

    /// Every column's values as text, row by row, whatever the array type.
    fn rows(path: &Path) -> Vec<Vec<Option<String>>> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let mut out = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            for r in 0..batch.num_rows() {
                out.push(
                    batch
                        .columns()
                        .iter()
                        .map(|c| {
                            if c.is_null(r) {
                                return None;
                            }
                            Some(match c.data_type() {
                                DataType::Dictionary(..) => {
                                    let d = c.as_dictionary::<Int32Type>();
                                    let k = d.keys().value(r) as usize;
                                    d.values().as_string::<i32>().value(k).to_owned()
                                }
                                DataType::Utf8 => c.as_string::<i32>().value(r).to_owned(),
                                _ => c
                                    .as_primitive::<arrow_array::types::Int64Type>()
                                    .value(r)
                                    .to_string(),
                            })
                        })
                        .collect(),
                );
            }
        }
        out
    }

    /// (boundary order, per page: null page, nulls, min, max) of a string column index;
    /// arrow-rs adds level histograms, which the dictionary path leaves out.
    type PageSummary = (bool, Option<i64>, Option<Vec<u8>>, Option<Vec<u8>>);
    fn summary(
        ci: &parquet::file::page_index::column_index::ColumnIndexMetaData,
    ) -> Option<(Option<parquet::basic::BoundaryOrder>, Vec<PageSummary>)> {
        use parquet::file::page_index::column_index::ColumnIndexMetaData as C;
        let C::BYTE_ARRAY(x) = ci else { return None };
        let pages = (0..x.num_pages() as usize)
            .map(|i| {
                (
                    x.is_null_page(i),
                    x.null_count(i),
                    x.min_value(i).map(<[u8]>::to_vec),
                    x.max_value(i).map(<[u8]>::to_vec),
                )
            })
            .collect();
        Some((ci.get_boundary_order(), pages))
    }

    #[test]
    fn dictionary_chunks_read_back_as_arrow_rs_writes_them() {
        // Batches that end off page and group boundaries, and a batch of one row.
        compare(&[700, 3000, 2500, 1, 4096, 1900], false);
    }

    #[test]
    fn dictionary_chunks_index_pages_as_arrow_rs_does() {
        compare(&[1024, 3072, 2048, 1024, 4096, 1024], true);
    }

    fn compare(sizes: &[usize], pages_align: bool) {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            dir.path().join("ours.parquet"),
            dir.path().join("arrow.parquet"),
        );
        let input = batches(sizes);
        ours(&a, &input);
        arrow_rs(&b, &input);

        let expected = rows(&b);
        assert_eq!(
            expected.len(),
            input.iter().map(|b| b.num_rows()).sum::<usize>()
        );
        assert_eq!(rows(&a), expected);

        let open = |p: &Path| {
            ParquetRecordBatchReaderBuilder::try_new_with_options(
                File::open(p).unwrap(),
                ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required),
            )
            .unwrap()
        };
        let (ra, rb) = (open(&a), open(&b));
        let (ma, mb) = (ra.metadata(), rb.metadata());
        assert_eq!(ma.num_row_groups(), mb.num_row_groups());
        assert_eq!(ma.num_row_groups(), 3);
        // The dictionary path was taken: arrow-rs would have written the same bytes.
        assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        for g in 0..ma.num_row_groups() {
            let (ga, gb) = (ma.row_group(g), mb.row_group(g));
            assert_eq!(ga.num_rows(), gb.num_rows());
            for c in 0..ga.num_columns() {
                let (ca, cb) = (ga.column(c), gb.column(c));
                let name = ca.column_path().string();
                assert_eq!(ca.num_values(), cb.num_values(), "{name} group {g}");
                assert_eq!(ca.statistics(), cb.statistics(), "{name} group {g}");
                assert_eq!(ca.encodings_mask(), cb.encodings_mask(), "{name} group {g}");
                let (pa, pb) = (
                    ma.page_index_for_row_group(g),
                    mb.page_index_for_row_group(g),
                );
                let (ia, ib) = (pa.column_index(c).unwrap(), pb.column_index(c).unwrap());
                if !pages_align {
                    continue;
                }
                match summary(ia) {
                    Some(sa) => assert_eq!(Some(sa), summary(ib), "{name} group {g}"),
                    None => assert_eq!(ia, ib, "{name} group {g}"),
                }
                let rows = |p: &parquet::file::metadata::page_index::RowGroupPageIndex| {
                    p.offset_index(c)
                        .unwrap()
                        .page_locations()
                        .iter()
                        .map(|l| l.first_row_index)
                        .collect::<Vec<_>>()
                };
                assert_eq!(rows(&pa), rows(&pb), "{name} group {g}");
                assert!(rows(&pa).len() > 1 || ga.num_rows() <= PAGE_ROWS as i64);
            }
            // Every operator of the group passes its Bloom filter; most others do not.
            let bloom = ra.get_row_group_column_bloom_filter(g, 0).unwrap().unwrap();
            let start: i64 = (0..g).map(|i| ma.row_group(i).num_rows()).sum();
            let present: std::collections::BTreeSet<&str> = expected
                [start as usize..(start + ga.num_rows()) as usize]
                .iter()
                .filter_map(|r| r[0].as_deref())
                .collect();
            assert!(present.iter().all(|v| bloom.check(*v)), "group {g}");
            let absent = (0..1000)
                .filter(|i| bloom.check(format!("NOBODY{i}").as_str()))
                .count();
            assert!(
                absent < 100,
                "group {g}: {absent} of 1000 absent values admitted"
            );
        }
    }

    #[test]
    fn a_required_dictionary_column_with_a_null_is_refused() {
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let schema = Arc::new(Schema::new(vec![Field::new("result", dict, false)]));
        let keys = Int32Array::from(vec![Some(0), None]);
        let values = Arc::new(StringArray::from(vec!["OK"]));
        let column = Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).unwrap());
        // RecordBatch refuses the null itself; the encoder is asked directly.
        let parquet = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let descr = parquet.column(0);
        let mut enc = dict_chunk::Encoder::default();
        let err = enc
            .encode(&descr, &props(), &[column as ArrayRef])
            .err()
            .unwrap();
        assert!(err.to_string().contains("required"), "{err}");
    }

    /// Two days written with `PartWriter` into one file, the first at `first`, the
    /// second at `second`; their manifest records as the store would see them.
    fn two_days(
        dir: &Path,
        name: &str,
        versions: [Version; 2],
        days: [&[RecordBatch]; 2],
    ) -> Vec<DayLoc> {
        let path = dir.join(name);
        let period = Period::Day(crate::time::parse_day("2026-04-06").unwrap());
        let mut w = PartWriter::create(
            &path,
            Kind::Events,
            period,
            &schema(),
            &ParquetSettings::default(),
        )
        .unwrap();
        let mut offset = 0;
        let mut locs = Vec::new();
        for (i, (version, batches)) in versions.into_iter().zip(days).enumerate() {
            let day = crate::time::parse_day(&format!("2026-04-0{}", 6 + i)).unwrap();
            w.begin_day(day, version).unwrap();
            for b in batches {
                w.write(b).unwrap();
            }
            let d = w.end_day().unwrap();
            locs.push(DayLoc {
                path: name.to_owned(),
                level: Level::Daily,
                offset,
                rows: d.rows,
                digest: d.digest.clone(),
                digest_version: d.digest_version,
                seq: 1,
            });
            offset += d.rows;
        }
        w.finish().unwrap();
        locs
    }

    #[test]
    fn days_digested_at_versions_2_and_3_compare_by_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let a = batches(&[700, 2000]);
        let b = batches(&[1500]);
        let (v2, v3) = (Version::V2, Version::V3);
        // The same two days, the first stored at v2 in one file and at v3 in the other.
        let old = two_days(dir.path(), "old.parquet", [v2, v2], [&a, &b]);
        let new = two_days(dir.path(), "new.parquet", [v3, v3], [&a, &b]);
        assert_eq!((old[0].digest_version, new[0].digest_version), (2, 3));
        assert_ne!(old[0].digest, new[0].digest);
        let open = |loc: &DayLoc| {
            let p = dir.path().join(&loc.path);
            let f = File::open(&p).unwrap();
            Ok((p, f))
        };
        let same = |x, y| same_rows(dir.path(), x, y, open).unwrap();
        for d in 0..2 {
            assert!(same(&old[d], &new[d]), "day {d}");
            assert!(same(&new[d], &old[d]), "day {d}, the other way round");
        }
        // The same rows in another order: the older side, re-digested, tells them apart.
        let (a1, b0) = (&a[1], &b[0]);
        let moved = [a1.slice(0, 700), a[0].clone(), a1.slice(700, 1300)];
        let turned = [b0.slice(750, 750), b0.slice(0, 750)];
        let swapped = two_days(dir.path(), "swapped.parquet", [v3, v3], [&moved, &turned]);
        assert_eq!(swapped[0].rows, old[0].rows);
        assert_eq!(swapped[1].rows, old[1].rows);
        assert!(!same(&old[0], &swapped[0]));
        assert!(!same(&old[1], &swapped[1]));
    }
}
