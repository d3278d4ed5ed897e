//! Regrouping events by local date (Asia/Tokyo), then handing out each day sorted and
//! without duplicate event ids.
//!
//! Files arrive in any order and their lines need not be sorted, but rules judge events in
//! time order and an archive snapshot is one day. This stage sits between normalize and
//! detect: it takes the parsers' batches, maps their per-batch dictionaries onto run-wide
//! dictionaries (so every day speaks one vocabulary), and files the rows under their
//! date. A day is handed out once it is complete: [`OpenDays`] tells when, from the
//! date span of every file (`ingest::dates`) and the files read so far, so with files
//! read in date order a day leaves memory long before the input ends. Memory stays
//! bounded: past a budget, the latest days but the earliest go to an anonymous spill
//! file (Arrow IPC) and come back when their turn comes. A day is then sorted by
//! (timestamp, event_id, source file, source line) and a repeated `event_id` — a day
//! exported twice — keeps its first row and is counted. The sort is an order over the
//! day's batches, not a copy: the rules read through it, and only the archive gathers the
//! day into one batch ([`DayEvents::to_batch`]).
//!
//! The same `event_id` on two different dates is two events to this stage (a re-export
//! repeats the timestamp, so duplicates always share a date); holding every id of every
//! day to catch that would make memory grow with the input.

use std::collections::BTreeMap;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMillisecondType, UInt64Type};
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Int32Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_buffer::Buffer;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

use crate::buckets;
use crate::detect::DayRows;
use crate::ingest::dates::DaySpan;
use crate::normalize::schema::{col, event_schema};
use crate::time::{Day, jst_day};

/// The columns interned into run-wide dictionaries.
const DICT_COLUMNS: [usize; 7] = [
    col::TERMINAL_ID,
    col::OPERATOR_ID,
    col::AUTH_METHOD,
    col::OPERATION,
    col::BUSINESS_CODE,
    col::RESULT,
    col::SOURCE_FILE,
];

/// The stage failed: spilling to disk or a batch of the wrong shape.
#[derive(Debug, thiserror::Error)]
pub enum DaysError {
    #[error("cannot spill events to a temporary file in {}: {source}", dir.display())]
    Spill {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("internal error while regrouping events by day: {0}")]
    Arrow(#[from] ArrowError),
    /// A file's date pass missed a date its events have: a bug, reported rather than
    /// judging the day twice or dropping the events.
    #[error("internal error: events of {} arrived after that day was judged", crate::time::format_day(*day))]
    Released { day: Day },
    /// Reading and judging parted before every day was handed over: a bug, reported so
    /// that a night is never archived without some of its days.
    #[error("internal error: reading and judging stopped before every day of the input was judged")]
    Abandoned,
}

/// The schema rows are stored in: the event schema with run-wide Int32 keys in place of
/// the dictionary columns.
static STORED_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let fields: Vec<Field> = event_schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if DICT_COLUMNS.contains(&i) {
                Field::new(f.name(), DataType::Int32, f.is_nullable())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new(fields))
});

/// A run-wide dictionary of one column.
#[derive(Debug, Default)]
struct GlobalDict {
    map: hashbrown::HashMap<Box<str>, i32>,
    values: Vec<Box<str>>,
    /// The values as an Arrow array, rebuilt only when new values came in.
    array: Option<ArrayRef>,
}

impl GlobalDict {
    fn intern(&mut self, v: &str) -> i32 {
        if let Some(&k) = self.map.get(v) {
            return k;
        }
        let k = self.values.len() as i32;
        self.values.push(v.into());
        self.map.insert(v.into(), k);
        self.array = None;
        k
    }

    fn array(&mut self) -> ArrayRef {
        let values = &self.values;
        Arc::clone(self.array.get_or_insert_with(|| {
            Arc::new(StringArray::from_iter_values(values.iter().map(|s| &**s)))
        }))
    }
}

/// Where a day's rows are.
#[derive(Debug, Default)]
struct Filed {
    memory: Vec<RecordBatch>,
    memory_bytes: usize,
    /// Byte ranges of IPC segments in the spill file.
    spilled: Vec<(u64, u64)>,
    rows: usize,
}

/// One day's events, ready for the rules and the archive: the rows as they were filed
/// (event schema, one dictionary per column shared by every part) and the day's order
/// over them.
#[derive(Debug, Clone)]
pub struct DayEvents {
    pub day: Day,
    pub parts: Vec<RecordBatch>,
    /// `(part, row)` sorted by (timestamp, event_id, source file, source line); unique ids.
    pub order: Vec<(u32, u32)>,
    /// Rows dropped because their `event_id` was already in this day.
    pub duplicates: u64,
}

/// Tuning of the stage.
#[derive(Debug, Clone)]
pub struct DaysOptions {
    /// Bytes of rows held in memory before the latest days are spilled.
    pub memory_budget: usize,
    /// Folder for the spill file (the system temporary folder if `None`).
    pub spill_dir: Option<PathBuf>,
}

impl Default for DaysOptions {
    fn default() -> Self {
        DaysOptions {
            memory_budget: 32 << 20,
            spill_dir: None,
        }
    }
}

/// Collects batches and hands them out day by day. See the module docs.
#[derive(Debug)]
pub struct DayStore {
    dicts: Vec<GlobalDict>,
    days: BTreeMap<Day, Filed>,
    memory_bytes: usize,
    options: DaysOptions,
    spill: Option<File>,
    spill_len: u64,
    /// Bytes written to the spill file over the run.
    pub spilled_bytes: u64,
    /// The latest day handed out: no rows may be filed on or before it.
    released: Option<Day>,
}

impl DayStore {
    pub fn new(options: DaysOptions) -> DayStore {
        DayStore {
            dicts: DICT_COLUMNS.iter().map(|_| GlobalDict::default()).collect(),
            days: BTreeMap::new(),
            memory_bytes: 0,
            options,
            spill: None,
            spill_len: 0,
            spilled_bytes: 0,
            released: None,
        }
    }

    /// The days that have rows, ascending.
    pub fn days(&self) -> Vec<Day> {
        self.days.keys().copied().collect()
    }

    /// Rows held so far (duplicates included).
    pub fn rows(&self) -> usize {
        self.days.values().map(|d| d.rows).sum()
    }

    /// Files the rows of one event-schema batch under their dates.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<(), DaysError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let stored = self.intern_batch(batch)?;
        let ts = stored
            .column(col::TIMESTAMP)
            .as_primitive::<TimestampMillisecondType>();
        let first = jst_day(ts.value(0));
        if ts.values().iter().all(|&t| jst_day(t) == first) {
            self.file(first, stored)?;
        } else {
            let mut by_day: BTreeMap<Day, Vec<u32>> = BTreeMap::new();
            for (i, &t) in ts.values().iter().enumerate() {
                by_day.entry(jst_day(t)).or_default().push(i as u32);
            }
            for (day, rows) in by_day {
                let part =
                    arrow_select::take::take_record_batch(&stored, &UInt32Array::from(rows))?;
                self.file(day, part)?;
            }
        }
        if self.beyond_earliest() > self.options.memory_budget {
            self.spill_latest()?;
        }
        Ok(())
    }

    fn file(&mut self, day: Day, batch: RecordBatch) -> Result<(), DaysError> {
        if self.released.is_some_and(|r| day <= r) {
            return Err(DaysError::Released { day });
        }
        let bytes = batch.get_array_memory_size();
        let rows = self.days.entry(day).or_default();
        rows.rows += batch.num_rows();
        rows.memory_bytes += bytes;
        rows.memory.push(batch);
        self.memory_bytes += bytes;
        Ok(())
    }

    /// Maps a batch's dictionary columns to run-wide keys.
    fn intern_batch(&mut self, batch: &RecordBatch) -> Result<RecordBatch, DaysError> {
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for (d, &c) in DICT_COLUMNS.iter().enumerate() {
            let dict = batch
                .column(c)
                .as_dictionary_opt::<Int32Type>()
                .ok_or_else(|| {
                    ArrowError::SchemaError(format!("column {c} is not a dictionary of Int32 keys"))
                })?;
            let values = dict.values().as_string_opt::<i32>().ok_or_else(|| {
                ArrowError::SchemaError(format!("column {c} is not a dictionary of strings"))
            })?;
            let map: Vec<i32> = values
                .iter()
                .map(|v| self.dicts[d].intern(v.unwrap_or("")))
                .collect();
            let keys = dict.keys();
            let remapped: Vec<i32> = keys
                .values()
                .iter()
                .map(|&k| map.get(k as usize).copied().unwrap_or(0))
                .collect();
            columns[c] = Arc::new(Int32Array::new(remapped.into(), keys.nulls().cloned()));
        }
        Ok(RecordBatch::try_new(Arc::clone(&STORED_SCHEMA), columns)?)
    }

    /// Bytes held in memory for days other than the earliest.
    ///
    /// The earliest day is never spilled and does not count against the budget: it is
    /// the next to be handed out, and while files are read in date order it is the day
    /// being read, which spilling would write out only to read it back at once. Memory
    /// is bounded by the largest day plus the budget.
    fn beyond_earliest(&self) -> usize {
        let earliest = self
            .days
            .first_key_value()
            .map_or(0, |(_, r)| r.memory_bytes);
        self.memory_bytes.saturating_sub(earliest)
    }

    /// Moves the latest in-memory days but the earliest to the spill file until half the
    /// budget is free.
    ///
    /// Latest first because days are handed out earliest first: the days left in memory
    /// when reading ends are the first to go, so judging starts by freeing memory rather
    /// than by reading spilled days back on top of a full budget.
    fn spill_latest(&mut self) -> Result<(), DaysError> {
        let sizes: Vec<(usize, Day)> = self
            .days
            .iter()
            .skip(1)
            .rev()
            .map(|(d, r)| (r.memory_bytes, *d))
            .collect();
        for (bytes, day) in sizes {
            if self.beyond_earliest() <= self.options.memory_budget / 2 {
                break;
            }
            if bytes == 0 {
                continue;
            }
            let batches = match self.days.get_mut(&day) {
                Some(r) => {
                    r.memory_bytes = 0;
                    std::mem::take(&mut r.memory)
                }
                None => continue,
            };
            let mut segments = Vec::with_capacity(batches.len());
            for b in &batches {
                segments.push(self.write_segment(b)?);
            }
            if let Some(r) = self.days.get_mut(&day) {
                r.spilled.extend(segments);
            }
            self.memory_bytes = self.memory_bytes.saturating_sub(bytes);
        }
        Ok(())
    }

    fn spill_dir(&self) -> PathBuf {
        self.options
            .spill_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir)
    }

    fn write_segment(&mut self, batch: &RecordBatch) -> Result<(u64, u64), DaysError> {
        let dir = self.spill_dir();
        let err = |source| DaysError::Spill {
            dir: dir.clone(),
            source,
        };
        if self.spill.is_none() {
            self.spill = Some(tempfile::tempfile_in(&dir).map_err(err)?);
        }
        let file = self
            .spill
            .as_mut()
            .ok_or_else(|| err(std::io::Error::other("spill file missing")))?;
        let at = self.spill_len;
        file.seek(SeekFrom::Start(at)).map_err(err)?;
        // Straight into the file through a buffer: encoding the segment into a Vec first
        // would copy every spilled byte once more.
        let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut *file);
        {
            let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &STORED_SCHEMA)?;
            w.write(batch)?;
            w.finish()?;
        }
        out.flush().map_err(err)?;
        drop(out);
        let end = file.stream_position().map_err(err)?;
        let len = end - at;
        self.spill_len = end;
        self.spilled_bytes += len;
        Ok((at, len))
    }

    fn read_segment(&mut self, at: u64, len: u64) -> Result<Vec<RecordBatch>, DaysError> {
        let dir = self.spill_dir();
        let err = |source| DaysError::Spill {
            dir: dir.clone(),
            source,
        };
        let file = self
            .spill
            .as_mut()
            .ok_or_else(|| err(std::io::Error::other("spill file missing")))?;
        // The decoded columns point into the page cache (mapped) or into the read buffer
        // instead of being copied out of it (the writer pads every buffer to 8 bytes; a
        // misaligned one would be copied).
        let mut buffer = match crate::ingest::mmap::map_private_buffer(file, at, len as usize) {
            Some(mapped) => mapped,
            None => {
                file.seek(SeekFrom::Start(at)).map_err(err)?;
                // Read into spare capacity: zeroing a buffer that is about to be
                // overwritten costs as much as a copy.
                let mut bytes = Vec::with_capacity(len as usize);
                let read = (&mut *file)
                    .take(len)
                    .read_to_end(&mut bytes)
                    .map_err(err)?;
                if read as u64 != len {
                    return Err(err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)));
                }
                Buffer::from_vec(bytes)
            }
        };
        let mut decoder = arrow_ipc::reader::StreamDecoder::new();
        let mut batches = Vec::new();
        while !buffer.is_empty() {
            if let Some(batch) = decoder.decode(&mut buffer)? {
                batches.push(batch);
            }
        }
        decoder.finish()?;
        Ok(batches)
    }

    /// Removes and returns the earliest day if it is before `limit` (days from `limit` on
    /// may still receive rows), sorted and without duplicate ids.
    pub fn pop_before(&mut self, limit: Day) -> Result<Option<DayEvents>, DaysError> {
        match self.days.first_key_value() {
            Some((&day, _)) if day < limit => self.pop_first(),
            _ => Ok(None),
        }
    }

    /// Removes and returns the earliest day, sorted and without duplicate ids. No rows
    /// may be pushed for it, or for any earlier day, afterwards.
    pub fn pop_first(&mut self) -> Result<Option<DayEvents>, DaysError> {
        let Some((day, rows)) = self.days.pop_first() else {
            return Ok(None);
        };
        self.released = Some(day);
        self.memory_bytes = self.memory_bytes.saturating_sub(rows.memory_bytes);
        let mut batches = rows.memory;
        for (at, len) in rows.spilled {
            batches.extend(self.read_segment(at, len)?);
        }
        self.assemble(day, &batches).map(Some)
    }

    /// Sorts and deduplicates the stored batches of `day`: the parts in the event schema,
    /// the order over them, and the number of duplicates dropped.
    fn assemble(&mut self, day: Day, batches: &[RecordBatch]) -> Result<DayEvents, DaysError> {
        // Rank source files by path so that ties break the same way whatever the order
        // the files were read in.
        let file_dict = DICT_COLUMNS
            .iter()
            .position(|&c| c == col::SOURCE_FILE)
            .unwrap_or(0);
        let mut by_path: Vec<usize> = (0..self.dicts[file_dict].values.len()).collect();
        by_path.sort_by(|&a, &b| {
            self.dicts[file_dict].values[a].cmp(&self.dicts[file_dict].values[b])
        });
        let mut file_rank = vec![0u32; by_path.len()];
        for (rank, &k) in by_path.iter().enumerate() {
            file_rank[k] = rank as u32;
        }

        let cols: Vec<_> = batches
            .iter()
            .map(|b| {
                (
                    b.column(col::TIMESTAMP)
                        .as_primitive::<TimestampMillisecondType>(),
                    b.column(col::EVENT_ID).as_string::<i32>(),
                    b.column(col::SOURCE_FILE).as_primitive::<Int32Type>(),
                    b.column(col::SOURCE_LINE).as_primitive::<UInt64Type>(),
                )
            })
            .collect();
        let mut order: Vec<(i64, u32, u32)> =
            Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
        for (bi, (ts, ..)) in cols.iter().enumerate() {
            order.extend(
                ts.values()
                    .iter()
                    .enumerate()
                    .map(|(r, &t)| (t, bi as u32, r as u32)),
            );
        }
        // Each batch is mostly a time-ordered run of one file, so the adaptive stable sort
        // merges runs instead of sorting from scratch. It compares timestamps alone; the
        // rare rows sharing a timestamp are then put in full key order among themselves.
        // The key is a total order (ids are unique per (file, line)), so the result is the
        // one sort by the whole key would give.
        order.sort_by_key(|e| e.0);
        let full = |a: &(i64, u32, u32), b: &(i64, u32, u32)| {
            let (ca, cb) = (&cols[a.1 as usize], &cols[b.1 as usize]);
            let (ra, rb) = (a.2 as usize, b.2 as usize);
            ca.1.value(ra)
                .cmp(cb.1.value(rb))
                .then_with(|| {
                    let fa = file_rank.get(ca.2.value(ra) as usize).copied().unwrap_or(0);
                    let fb = file_rank.get(cb.2.value(rb) as usize).copied().unwrap_or(0);
                    fa.cmp(&fb)
                })
                .then_with(|| ca.3.value(ra).cmp(&cb.3.value(rb)))
        };
        for tie in order.chunk_by_mut(|a, b| a.0 == b.0) {
            if tie.len() > 1 {
                tie.sort_by(full);
            }
        }
        let id = |pos: usize| {
            let (_, bi, r) = order[pos];
            cols[bi as usize].1.value(r as usize)
        };
        let hasher = hashbrown::DefaultHashBuilder::default();
        let repeated = repeated_ids(order.len(), id, |id| hasher.hash_one(id));
        let mut picks: Vec<(u32, u32)> = Vec::with_capacity(order.len());
        for (&(_, bi, r), again) in order.iter().zip(repeated) {
            if !again {
                picks.push((bi, r));
            }
        }
        let duplicates = (order.len() - picks.len()) as u64;
        let parts = batches
            .iter()
            .map(|b| self.event_part(b))
            .collect::<Result<_, _>>()?;
        Ok(DayEvents {
            day,
            parts,
            order: picks,
            duplicates,
        })
    }

    /// A stored batch in the event schema: the run-wide keys over the run-wide values.
    fn event_part(&mut self, batch: &RecordBatch) -> Result<RecordBatch, DaysError> {
        let mut columns = batch.columns().to_vec();
        for (d, &c) in DICT_COLUMNS.iter().enumerate() {
            let keys = batch
                .column(c)
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(|| ArrowError::SchemaError(format!("column {c} is not Int32 keys")))?
                .clone();
            let dict = DictionaryArray::<Int32Type>::try_new(keys, self.dicts[d].array())?;
            columns[c] = Arc::new(dict);
        }
        Ok(RecordBatch::try_new(event_schema(), columns)?)
    }
}

/// Which days are complete while files are being read: a day is, once every file whose
/// [`DaySpan`] may hold it is done. Files are to be read in [`order`](Self::order) —
/// by their first possible date, unknown spans first — so that the days complete one
/// after another instead of all at the end.
#[derive(Debug)]
pub struct OpenDays {
    order: Vec<usize>,
    /// The first possible date of each file, by position in `order`.
    firsts: Vec<Day>,
    /// Position in `order` of each file.
    position: Vec<usize>,
    done: Vec<bool>,
    /// The first position in `order` not done.
    cursor: usize,
}

impl OpenDays {
    pub fn new(spans: &[DaySpan]) -> OpenDays {
        let mut order: Vec<usize> = (0..spans.len()).collect();
        order.sort_by_key(|&i| (spans[i].first(), i));
        let mut position = vec![0; spans.len()];
        for (p, &i) in order.iter().enumerate() {
            position[i] = p;
        }
        OpenDays {
            firsts: order.iter().map(|&i| spans[i].first()).collect(),
            done: vec![false; spans.len()],
            order,
            position,
            cursor: 0,
        }
    }

    /// The order to start the files in (indices into the spans given).
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// File `file` (an index into the spans given) has been read.
    pub fn done(&mut self, file: usize) {
        if let Some(&p) = self.position.get(file) {
            self.done[p] = true;
        }
        while self.done.get(self.cursor) == Some(&true) {
            self.cursor += 1;
        }
    }

    /// Every day before this one is complete. The files not yet done all come at or
    /// after the cursor in date order, so none of them can hold an earlier day.
    pub fn complete_before(&self) -> Day {
        self.firsts.get(self.cursor).copied().unwrap_or(Day::MAX)
    }
}

impl DayEvents {
    /// Rows of the day (duplicates dropped).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the day has no rows.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The rows as the rules read them.
    pub fn rows(&self) -> DayRows<'_> {
        DayRows {
            parts: &self.parts,
            order: Some(&self.order),
        }
    }

    /// The day as one sorted batch, as the archive stores it.
    pub fn to_batch(&self) -> Result<RecordBatch, DaysError> {
        self.clone().into_batch()
    }

    /// Like [`to_batch`](Self::to_batch), giving up the parts column by column as they
    /// are gathered: the day is never held twice over in full.
    pub fn into_batch(self) -> Result<RecordBatch, DaysError> {
        let picks: Vec<(usize, usize)> = self
            .order
            .iter()
            .map(|&(p, r)| (p as usize, r as usize))
            .collect();
        let schema = event_schema();
        if self.parts.is_empty() {
            return Ok(RecordBatch::new_empty(schema));
        }
        let width = schema.fields().len();
        let mut by_column: Vec<Vec<ArrayRef>> = (0..width)
            .map(|c| self.parts.iter().map(|b| Arc::clone(b.column(c))).collect())
            .collect();
        drop(self.parts);
        let mut columns = Vec::with_capacity(width);
        for (c, arrays) in by_column.iter_mut().enumerate() {
            let arrays = std::mem::take(arrays);
            let parts: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
            let shared = if DICT_COLUMNS.contains(&c) {
                interleave_shared_dictionary(&parts, &picks)?
            } else {
                None
            };
            columns.push(match shared {
                Some(array) => array,
                None => arrow_select::interleave::interleave(&parts, &picks)?,
            });
        }
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

/// For each of the ids `id(0) .. id(n)`, whether an earlier one is the same: the rows a
/// day drops. Any hash gives the same answer (equal hashes are only candidates), so
/// tests can make every id collide.
///
/// A hash set of the day's ids missed the cache on nearly every insert (the table is
/// several MB), and sorting buckets of hashes instead still cost a comparison sort. So
/// each id's hash and position are partitioned by the hash's top bits into buckets of a
/// few hundred, and each bucket is deduplicated through a small open-addressing table
/// (indexed by the hash's low bits) that stays in the L1 cache.
fn repeated_ids<'a>(
    n: usize,
    id: impl Fn(usize) -> &'a str,
    hash: impl Fn(&str) -> u64,
) -> Vec<bool> {
    // Buckets of about 256 ids on average, each listing its ids by position.
    let bits = buckets::bits_for(n, 8);
    let keyed: Vec<(u64, u32)> = (0..n).map(|pos| (hash(id(pos)), pos as u32)).collect();
    let (parted, starts) = buckets::scatter(keyed, 1 << bits, |&(h, _)| buckets::top(h, bits));
    const EMPTY: u32 = u32::MAX;
    let mut repeated = vec![false; n];
    let mut table: Vec<u32> = Vec::new();
    for w in starts.windows(2) {
        let Some(part) = parted.get(w[0]..w[1]) else {
            continue;
        };
        // At most half full, so every probe ends at an empty slot soon.
        let size = (part.len() * 2).next_power_of_two();
        let mask = size - 1;
        table.clear();
        table.resize(size, EMPTY);
        // Only the first of each id goes into the table: a later copy finds it.
        for (k, &(h, pos)) in part.iter().enumerate() {
            let mut slot = h as usize & mask;
            loop {
                let e = table[slot];
                if e == EMPTY {
                    table[slot] = k as u32;
                    break;
                }
                let (eh, ep) = part[e as usize];
                // The id itself is fetched only for a hash match: fetching it for
                // every row was a cache miss per row, the bulk of the day's sort.
                if eh == h && id(ep as usize) == id(pos as usize) {
                    repeated[pos as usize] = true;
                    break;
                }
                slot = (slot + 1) & mask;
            }
        }
    }
    repeated
}

/// Interleaves dictionary columns that share one values array (as every day of one store
/// does) by their keys alone; `None` when they do not, and Arrow must merge dictionaries.
fn interleave_shared_dictionary(
    parts: &[&dyn Array],
    picks: &[(usize, usize)],
) -> Result<Option<ArrayRef>, ArrowError> {
    let Some(dicts) = parts
        .iter()
        .map(|a| a.as_dictionary_opt::<Int32Type>())
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    let Some(values) = dicts.first().map(|d| d.values()) else {
        return Ok(None);
    };
    if !dicts.iter().all(|d| Arc::ptr_eq(values, d.values())) {
        return Ok(None);
    }
    let keys: Vec<&dyn Array> = dicts.iter().map(|d| d.keys() as &dyn Array).collect();
    let keys = arrow_select::interleave::interleave(&keys, picks)?;
    let keys = keys
        .as_primitive_opt::<Int32Type>()
        .ok_or_else(|| ArrowError::SchemaError("interleaved keys are not Int32".into()))?
        .clone();
    let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::clone(values))?;
    Ok(Some(Arc::new(dict)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Op;
    use crate::normalize::{EventRow, batch_from_rows};
    use crate::time::parse_timestamp;

    fn ts(s: &str) -> i64 {
        parse_timestamp(s.as_bytes()).unwrap()
    }

    fn ids(b: &RecordBatch) -> Vec<String> {
        b.column(col::EVENT_ID)
            .as_string::<i32>()
            .iter()
            .map(|s| s.unwrap_or("").to_owned())
            .collect()
    }

    fn terminals(b: &RecordBatch) -> Vec<String> {
        let d = b.column(col::TERMINAL_ID).as_dictionary::<Int32Type>();
        let v = d.values().as_string::<i32>();
        (0..b.num_rows())
            .map(|i| v.value(d.keys().value(i) as usize).to_owned())
            .collect()
    }

    fn rows(file: &str, items: &[(&'static str, &str, &'static str)]) -> RecordBatch {
        let owned: Vec<(String, i64, &str)> = items
            .iter()
            .map(|(id, t, term)| (id.to_string(), ts(t), *term))
            .collect();
        let rows: Vec<EventRow> = owned
            .iter()
            .enumerate()
            .map(|(i, (id, t, term))| EventRow {
                terminal_id: Some(term),
                line: i as u64 + 2,
                ..EventRow::new(id, *t, Op::View)
            })
            .collect();
        batch_from_rows(file, rows).unwrap()
    }

    fn drain(store: &mut DayStore) -> Vec<DayEvents> {
        let mut out = Vec::new();
        while let Some(d) = store.pop_first().unwrap() {
            out.push(d);
        }
        out
    }

    #[test]
    fn regroups_by_local_date_sorts_and_drops_duplicates() {
        // 23:59 JST on April 1 and 00:00 JST on April 2 fall on different days; the input
        // files are unsorted and the second file repeats E2 (a day exported twice).
        let a = rows(
            "b.csv",
            &[
                ("E3", "2026-04-02T00:00:00+09:00", "T2"),
                ("E1", "2026-04-01T09:00:00+09:00", "T1"),
                ("E2", "2026-04-01T23:59:59.999+09:00", "T1"),
            ],
        );
        let b = rows(
            "a.csv",
            &[
                ("E2", "2026-04-01T23:59:59.999+09:00", "T9"),
                ("E0", "2026-04-01T09:00:00+09:00", "T3"),
            ],
        );
        let mut store = DayStore::new(DaysOptions::default());
        store.push(&a).unwrap();
        store.push(&b).unwrap();
        let days = drain(&mut store);
        assert_eq!(days.len(), 2);
        assert_eq!(ids(&days[0].to_batch().unwrap()), ["E0", "E1", "E2"]);
        assert_eq!(days[0].duplicates, 1);
        // The kept E2 is a.csv's (files rank by path), whatever the push order.
        assert_eq!(terminals(&days[0].to_batch().unwrap()), ["T3", "T1", "T9"]);
        assert_eq!(ids(&days[1].to_batch().unwrap()), ["E3"]);
        assert_eq!(terminals(&days[1].to_batch().unwrap()), ["T2"]);
        assert_eq!(crate::time::format_day(days[1].day), "2026-04-02");
    }

    #[test]
    fn parts_with_their_own_dictionaries_gather_into_one_batch() {
        // Not from a store: each part has its own terminal dictionary.
        let a = rows("a.csv", &[("E1", "2026-04-01T09:00:00+09:00", "T1")]);
        let b = rows(
            "b.csv",
            &[
                ("E0", "2026-04-01T08:00:00+09:00", "T2"),
                ("E2", "2026-04-01T10:00:00+09:00", "T3"),
            ],
        );
        let day = DayEvents {
            day: crate::time::jst_day(ts("2026-04-01T09:00:00+09:00")),
            parts: vec![a, b],
            order: vec![(1, 0), (0, 0), (1, 1)],
            duplicates: 0,
        };
        let batch = day.to_batch().unwrap();
        assert_eq!(ids(&batch), ["E0", "E1", "E2"]);
        assert_eq!(terminals(&batch), ["T2", "T1", "T3"]);
    }

    fn repeated_by(ids: &[&str], hash: impl Fn(&str) -> u64) -> Vec<bool> {
        repeated_ids(ids.len(), |i| ids[i], hash)
    }

    fn repeated(ids: &[&str]) -> Vec<bool> {
        let hasher = hashbrown::DefaultHashBuilder::default();
        repeated_by(ids, |id| hasher.hash_one(id))
    }

    #[test]
    fn repeated_ids_are_the_later_copies() {
        let ids = ["b", "a", "b", "c", "a", "a", "d"];
        assert_eq!(
            repeated(&ids),
            [false, false, true, false, true, true, false]
        );
        assert!(repeated(&[]).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn repeated_ids_agree_with_a_hash_set(
            ids in proptest::collection::vec("[a-d]{0,4}", 0..3000),
        ) {
            let ids: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
            let mut seen = std::collections::HashSet::new();
            let expected: Vec<bool> = ids.iter().map(|id| !seen.insert(*id)).collect();
            proptest::prop_assert_eq!(&repeated(&ids), &expected);
            // Every id in one bucket and one probe chain: equal hashes must not be
            // taken for equal ids. Hashes that agree in their top bits only (one
            // bucket), or in their low bits only (one chain per bucket).
            let few = ids.len().min(300);
            let (ids, expected) = (&ids[..few], expected[..few].to_vec());
            proptest::prop_assert_eq!(&repeated_by(ids, |_| 7), &expected);
            proptest::prop_assert_eq!(&repeated_by(ids, |id| (id.len() as u64) << 60), &expected);
            proptest::prop_assert_eq!(&repeated_by(ids, |id| id.len() as u64), &expected);
        }
    }

    #[test]
    fn open_days_complete_in_date_order() {
        let d = |n: i32| 20_544 + n;
        let spans = [
            DaySpan::Days {
                first: d(2),
                last: d(2),
            },
            DaySpan::Empty,
            DaySpan::Days {
                first: d(0),
                last: d(1),
            },
            DaySpan::Days {
                first: d(1),
                last: d(5),
            },
        ];
        let mut open = OpenDays::new(&spans);
        assert_eq!(open.order(), [2, 3, 0, 1]);
        assert_eq!(open.complete_before(), d(0));
        // A file done out of order completes nothing before the files ahead of it.
        open.done(0);
        assert_eq!(open.complete_before(), d(0));
        open.done(2);
        assert_eq!(open.complete_before(), d(1));
        open.done(3);
        // Only the empty file is left: it holds no day.
        assert_eq!(open.complete_before(), Day::MAX);
        open.done(1);
        assert_eq!(open.complete_before(), Day::MAX);

        // A file of unknown span holds every day back until it is done.
        let mut open = OpenDays::new(&[spans[0], DaySpan::Unknown]);
        assert_eq!(open.order(), [1, 0]);
        open.done(0);
        assert_eq!(open.complete_before(), Day::MIN);
        open.done(1);
        assert_eq!(open.complete_before(), Day::MAX);
    }

    #[test]
    fn days_are_handed_out_before_a_limit_and_then_closed() {
        let a = rows(
            "a.csv",
            &[
                ("E1", "2026-04-01T09:00:00+09:00", "T1"),
                ("E2", "2026-04-02T09:00:00+09:00", "T1"),
            ],
        );
        let mut store = DayStore::new(DaysOptions::default());
        store.push(&a).unwrap();
        let april2 = jst_day(ts("2026-04-02T00:00:00+09:00"));
        let first = store.pop_before(april2).unwrap().unwrap();
        assert_eq!(ids(&first.to_batch().unwrap()), ["E1"]);
        assert!(store.pop_before(april2).unwrap().is_none());
        // A row for a day already handed out is refused, not filed or dropped.
        let late = rows("b.csv", &[("E0", "2026-04-01T10:00:00+09:00", "T1")]);
        assert!(matches!(
            store.push(&late),
            Err(DaysError::Released { day }) if day == april2 - 1
        ));
        assert_eq!(
            ids(&store
                .pop_before(Day::MAX)
                .unwrap()
                .unwrap()
                .to_batch()
                .unwrap()),
            ["E2"]
        );
    }

    #[test]
    fn the_earliest_day_is_never_spilled() {
        // One large day pushed in many batches under a tiny budget stays in memory; a
        // later day beside it goes to disk.
        let dir = tempfile::tempdir().unwrap();
        let mut store = DayStore::new(DaysOptions {
            memory_budget: 1,
            spill_dir: Some(dir.path().to_path_buf()),
        });
        for i in 0..20 {
            let id: &'static str = Box::leak(format!("E{i:02}").into_boxed_str());
            store
                .push(&rows("a.csv", &[(id, "2026-04-01T09:00:00+09:00", "T1")]))
                .unwrap();
        }
        assert_eq!(store.spilled_bytes, 0);
        store
            .push(&rows("b.csv", &[("F1", "2026-04-02T09:00:00+09:00", "T1")]))
            .unwrap();
        assert!(store.spilled_bytes > 0);
        let days = drain(&mut store);
        assert_eq!(days.iter().map(|d| d.len()).collect::<Vec<_>>(), [20, 1]);
    }

    #[test]
    fn spills_the_latest_days_first() {
        // Five days pushed in scrambled order, the earlier ones larger (6 − d rows), with a
        // budget that holds about two of them beside the earliest: whenever the budget is
        // passed the latest days go to disk, not the largest.
        let day = |d: u32| {
            let t = format!("2026-04-0{d}T09:00:00+09:00");
            let items: Vec<(&'static str, &str, &'static str)> = (0..6 - d)
                .map(|i| {
                    let id: &'static str = Box::leak(format!("E{d}-{i}").into_boxed_str());
                    (id, t.as_str(), "T1")
                })
                .collect();
            rows(&format!("f{d}.csv"), &items)
        };
        let one = DayStore::new(DaysOptions::default())
            .intern_batch(&day(3))
            .unwrap()
            .get_array_memory_size();
        let dir = tempfile::tempdir().unwrap();
        let mut store = DayStore::new(DaysOptions {
            memory_budget: 2 * one + one / 2,
            spill_dir: Some(dir.path().to_path_buf()),
        });
        for d in [3, 1, 5, 2, 4] {
            store.push(&day(d)).unwrap();
        }
        assert!(store.spilled_bytes > 0);
        let in_memory: Vec<bool> = store.days.values().map(|r| !r.memory.is_empty()).collect();
        // Days 1 and 2, the largest, stay; 5, the latest, went to disk. (Day 4 came last,
        // when there was room again.)
        assert_eq!(in_memory, [true, true, false, true, false]);
        let sizes: Vec<usize> = drain(&mut store).iter().map(|d| d.len()).collect();
        assert_eq!(sizes, [5, 4, 3, 2, 1]);
    }

    #[test]
    fn spilling_gives_the_same_days() {
        let mut batches = Vec::new();
        for d in 1..=9 {
            let items: Vec<(&'static str, String, &'static str)> = (0..50)
                .map(|i| {
                    let id: &'static str = Box::leak(format!("E{d}-{i:03}").into_boxed_str());
                    (
                        id,
                        format!("2026-04-0{d}T{:02}:00:00+09:00", 8 + (i * 7) % 10),
                        if i % 2 == 0 { "T1" } else { "T2" },
                    )
                })
                .collect();
            let items: Vec<(&'static str, &str, &'static str)> =
                items.iter().map(|(a, b, c)| (*a, b.as_str(), *c)).collect();
            batches.push(rows(&format!("f{d}.csv"), &items));
        }
        let mut plain = DayStore::new(DaysOptions::default());
        let dir = tempfile::tempdir().unwrap();
        let mut tight = DayStore::new(DaysOptions {
            memory_budget: 1,
            spill_dir: Some(dir.path().to_path_buf()),
        });
        for b in batches.iter().rev() {
            plain.push(b).unwrap();
            tight.push(b).unwrap();
        }
        assert!(tight.spilled_bytes > 0);
        let (p, t) = (drain(&mut plain), drain(&mut tight));
        assert_eq!(p.len(), 9);
        for (x, y) in p.iter().zip(&t) {
            assert_eq!(x.day, y.day);
            let (x, y) = (x.to_batch().unwrap(), y.to_batch().unwrap());
            assert_eq!(ids(&x), ids(&y));
            assert_eq!(terminals(&x), terminals(&y));
        }
    }
}
