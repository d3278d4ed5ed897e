//! Column builders: parsed fields in, one Arrow `RecordBatch` of the event schema out.
//!
//! Record splitting (the CSV and key-value parsers) is kept apart from column building
//! (this module), as arrow-csv does: the parsers hand over borrowed fields as an
//! [`EventRow`], the builder appends them to its columns and interns the id columns into
//! per-batch dictionaries. Interning per batch (not globally) keeps parallel workers
//! independent; the `days` stage maps dictionaries to run-wide keys.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray, UInt64Array,
};
use arrow_buffer::{NullBuffer, NullBufferBuilder};
use arrow_schema::ArrowError;

use super::schema::event_schema;
use crate::model::Op;

/// One event's fields, borrowed from the line they were parsed from. `None` = absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRow<'a> {
    pub event_id: &'a str,
    /// Milliseconds since the epoch (UTC).
    pub timestamp: i64,
    pub terminal_id: Option<&'a str>,
    pub operator_id: Option<&'a str>,
    pub auth_method: Option<&'a str>,
    pub operation: Op,
    pub business_code: Option<&'a str>,
    pub target_code: Option<&'a str>,
    pub record_count: i64,
    pub request_no: Option<&'a str>,
    pub approval_no: Option<&'a str>,
    pub ref_event_id: Option<&'a str>,
    pub result: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub extras: Option<&'a str>,
    /// 1-based line in the decompressed text.
    pub line: u64,
}

impl<'a> EventRow<'a> {
    /// A row with only the required fields set; handy in tests.
    pub fn new(event_id: &'a str, timestamp: i64, operation: Op) -> EventRow<'a> {
        EventRow {
            event_id,
            timestamp,
            terminal_id: None,
            operator_id: None,
            auth_method: None,
            operation,
            business_code: None,
            target_code: None,
            record_count: 0,
            request_no: None,
            approval_no: None,
            ref_event_id: None,
            result: None,
            detail: None,
            extras: None,
            line: 0,
        }
    }
}

/// Interns the values of one id column into a dictionary.
///
/// Ids are short (`KW01-T03`, `OP00123`, `OK`), so a value of up to 16 bytes is packed
/// into one `u128` and looked up by integer compare and a multiplicative
/// hash; longer values take a string map. A small direct-mapped cache in front of the map
/// answers most lookups, since a file holds few distinct ids.
#[derive(Debug)]
struct DictColumn {
    short: hashbrown::HashMap<u128, (i32, u8), PackedHash>,
    long: hashbrown::HashMap<Box<str>, i32>,
    values: StringBuilder,
    distinct: i32,
    keys: Vec<i32>,
    nulls: NullBufferBuilder,
    /// Nulls not yet appended to `keys` and `nulls`: runs of absent values (most
    /// `auth_method`s) are appended in one step when a value or the end comes.
    pending_nulls: usize,
    /// Rows per batch, to keep room for the next batch's keys.
    capacity: usize,
    cache: Box<[CacheSlot; CACHE_SLOTS]>,
}

/// Slots of the cache. A file's operators number in the low hundreds; with 256 slots
/// about a third of them shared a slot with another and missed on every line.
const CACHE_SLOTS: usize = 1024;

/// One slot of the direct-mapped cache: packed value, key, length (`u8::MAX`: empty).
#[derive(Debug, Clone, Copy)]
struct CacheSlot(u128, i32, u8);

const EMPTY_SLOT: CacheSlot = CacheSlot(0, 0, u8::MAX);

/// Mixes a packed value into 64 well-spread bits (the splitmix64 finaliser): the packed
/// bytes of similar ids differ in few bits, and both the cache index (low bits) and the
/// hash map's control byte (top bits) need all of them.
#[inline]
fn mix(p: u128) -> u64 {
    let mut f = (p as u64) ^ ((p >> 64) as u64).rotate_left(23);
    f ^= f >> 30;
    f = f.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    f ^= f >> 27;
    f = f.wrapping_mul(0x94d0_49bb_1331_11eb);
    f ^ (f >> 31)
}

#[inline]
fn slot_of(p: u128) -> usize {
    mix(p) as usize & (CACHE_SLOTS - 1)
}

/// Packs a string of at most 16 bytes into a `u128`: up to 7 bytes (as their first and
/// last four, overlapping) with their length in the top byte, 8–16 bytes as the first and
/// the last eight (overlapping). The packing
/// of different lengths can collide, so the map also stores the length and checks it.
#[inline]
fn pack(b: &[u8]) -> Option<u128> {
    let n = b.len();
    if n < 8 {
        let lo = if n >= 4 {
            let first = u32::from_le_bytes(b[..4].try_into().ok()?) as u64;
            let last = u32::from_le_bytes(b[n - 4..].try_into().ok()?) as u64;
            first | last << 32
        } else {
            b.iter()
                .enumerate()
                .fold(0u64, |acc, (i, &c)| acc | (c as u64) << (8 * i))
        };
        Some(lo as u128 | (n as u128) << 120)
    } else if n <= 16 {
        let lo = u64::from_le_bytes(b[..8].try_into().ok()?);
        let hi = u64::from_le_bytes(b[n - 8..].try_into().ok()?);
        Some(lo as u128 | (hi as u128) << 64)
    } else {
        None
    }
}

/// Hashes packed keys with [`mix`].
#[derive(Debug, Default, Clone, Copy)]
struct PackedHash;

impl std::hash::BuildHasher for PackedHash {
    type Hasher = PackedHasher;
    fn build_hasher(&self) -> PackedHasher {
        PackedHasher(0)
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct PackedHasher(u64);

impl std::hash::Hasher for PackedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = mix(v);
    }
}

impl DictColumn {
    fn new(capacity: usize) -> Self {
        DictColumn {
            short: hashbrown::HashMap::with_hasher(PackedHash),
            long: hashbrown::HashMap::new(),
            values: StringBuilder::new(),
            distinct: 0,
            keys: Vec::with_capacity(capacity),
            nulls: NullBufferBuilder::new(capacity),
            pending_nulls: 0,
            capacity,
            cache: Box::new([EMPTY_SLOT; CACHE_SLOTS]),
        }
    }

    fn insert(values: &mut StringBuilder, distinct: &mut i32, v: &str) -> i32 {
        values.append_value(v);
        *distinct += 1;
        *distinct - 1
    }

    /// Appends one value; the cache hit is the whole fast path, inlined at each call.
    #[inline(always)]
    fn push(&mut self, v: Option<&str>) {
        let Some(v) = v else {
            self.pending_nulls += 1;
            return;
        };
        if self.pending_nulls != 0 {
            self.append_pending_nulls();
        }
        let key = match pack(v.as_bytes()) {
            Some(p) => {
                let slot = slot_of(p);
                let CacheSlot(cp, ck, clen) = self.cache[slot];
                if cp == p && clen as usize == v.len() {
                    ck
                } else {
                    self.miss(p, slot, v)
                }
            }
            None => self.long_key(v),
        };
        self.keys.push(key);
        self.nulls.append_non_null();
    }

    #[cold]
    #[inline(never)]
    fn append_pending_nulls(&mut self) {
        let n = std::mem::take(&mut self.pending_nulls);
        self.keys.resize(self.keys.len() + n, 0);
        self.nulls.append_n_nulls(n);
    }

    /// A packed value not in the cache: look it up (or add it) and cache it.
    #[cold]
    #[inline(never)]
    fn miss(&mut self, p: u128, slot: usize, v: &str) -> i32 {
        let (values, distinct) = (&mut self.values, &mut self.distinct);
        let (k, len) = *self
            .short
            .entry(p)
            .or_insert_with(|| (Self::insert(values, distinct, v), v.len() as u8));
        if len as usize == v.len() {
            self.cache[slot] = CacheSlot(p, k, len);
            k
        } else {
            self.long_key(v)
        }
    }

    /// A value that does not pack (or whose packing collides with another length).
    #[cold]
    #[inline(never)]
    fn long_key(&mut self, v: &str) -> i32 {
        match self.long.get(v) {
            Some(&k) => k,
            None => {
                let k = Self::insert(&mut self.values, &mut self.distinct, v);
                self.long.insert(v.into(), k);
                k
            }
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        self.append_pending_nulls();
        let keys = std::mem::replace(&mut self.keys, Vec::with_capacity(self.capacity));
        let keys = Int32Array::new(keys.into(), self.nulls.finish());
        let values = self.values.finish();
        self.short.clear();
        self.long.clear();
        self.distinct = 0;
        self.cache.fill(EMPTY_SLOT);
        Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(
            keys,
            Arc::new(values),
        )?))
    }
}

/// A string column: a `StringBuilder` that appends runs of nulls in one step (several
/// columns are absent on almost every line) and keeps its room from batch to batch.
#[derive(Debug)]
struct StrColumn {
    values: StringBuilder,
    pending_nulls: usize,
    rows: usize,
    bytes: usize,
}

impl StrColumn {
    /// Room for `rows` values of about `bytes_per_row` bytes.
    fn new(rows: usize, bytes_per_row: usize) -> Self {
        StrColumn {
            values: StringBuilder::with_capacity(rows, rows * bytes_per_row),
            pending_nulls: 0,
            rows,
            bytes: rows * bytes_per_row,
        }
    }

    #[inline(always)]
    fn push(&mut self, v: &str) {
        if self.pending_nulls != 0 {
            self.append_pending_nulls();
        }
        self.values.append_value(v);
    }

    #[inline(always)]
    fn push_opt(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.push(v),
            None => self.pending_nulls += 1,
        }
    }

    #[cold]
    #[inline(never)]
    fn append_pending_nulls(&mut self) {
        self.values
            .append_nulls(std::mem::take(&mut self.pending_nulls));
    }

    fn finish(&mut self) -> StringArray {
        self.append_pending_nulls();
        // The next batch starts with the room of the last one rather than growing from
        // nothing by doubling (each step a copy).
        self.bytes = self.bytes.max(self.values.values_slice().len());
        let mut next = StringBuilder::with_capacity(self.rows, self.bytes);
        std::mem::swap(&mut next, &mut self.values);
        next.finish()
    }
}

/// Builds event batches, one source file at a time.
#[derive(Debug)]
pub struct EventBatchBuilder {
    source_file: Arc<str>,
    capacity: usize,
    event_id: StrColumn,
    timestamp: Vec<i64>,
    terminal_id: DictColumn,
    operator_id: DictColumn,
    auth_method: DictColumn,
    operation: Vec<i32>,
    business_code: DictColumn,
    target_code: StrColumn,
    record_count: Vec<i64>,
    request_no: StrColumn,
    approval_no: StrColumn,
    ref_event_id: StrColumn,
    result: DictColumn,
    detail: StrColumn,
    extras: StrColumn,
    source_line: Vec<u64>,
}

impl EventBatchBuilder {
    /// A builder for rows of `source_file` (the path as the user gave it), expecting
    /// about `capacity` rows per batch.
    pub fn new(source_file: &str, capacity: usize) -> Self {
        let strings = |bytes_per_row: usize| StrColumn::new(capacity, bytes_per_row);
        EventBatchBuilder {
            source_file: source_file.into(),
            capacity,
            event_id: strings(20),
            timestamp: Vec::with_capacity(capacity),
            terminal_id: DictColumn::new(capacity),
            operator_id: DictColumn::new(capacity),
            auth_method: DictColumn::new(capacity),
            operation: Vec::with_capacity(capacity),
            business_code: DictColumn::new(capacity),
            target_code: strings(11),
            record_count: Vec::with_capacity(capacity),
            request_no: strings(8),
            approval_no: strings(0),
            ref_event_id: strings(0),
            result: DictColumn::new(capacity),
            detail: strings(24),
            extras: strings(0),
            source_line: Vec::with_capacity(capacity),
        }
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.timestamp.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamp.is_empty()
    }

    /// Appends one row.
    #[inline]
    pub fn push(&mut self, row: &EventRow<'_>) {
        self.event_id.push(row.event_id);
        self.timestamp.push(row.timestamp);
        self.terminal_id.push(row.terminal_id);
        self.operator_id.push(row.operator_id);
        self.auth_method.push(row.auth_method);
        self.operation.push(row.operation as i32);
        self.business_code.push(row.business_code);
        self.target_code.push_opt(row.target_code);
        self.record_count.push(row.record_count);
        self.request_no.push_opt(row.request_no);
        self.approval_no.push_opt(row.approval_no);
        self.ref_event_id.push_opt(row.ref_event_id);
        self.result.push(row.result);
        self.detail.push_opt(row.detail);
        self.extras.push_opt(row.extras);
        self.source_line.push(row.line);
    }

    /// Adds `delta` to the line numbers of the rows appended so far (a parallel worker
    /// numbers its chunk from 1 and learns the chunk's first line afterwards).
    pub fn shift_lines(&mut self, delta: u64) {
        for l in &mut self.source_line {
            *l += delta;
        }
    }

    /// The rows appended so far as one batch of [`event_schema`]; the builder is then
    /// empty and ready for the next batch. Every column has the schema's type and the
    /// same length by construction, so an error here is a bug in this builder.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let n = self.len();
        let operation = {
            // The operation dictionary is the fixed table of codes, keyed by `Op as i32`.
            let keys = Int32Array::new(std::mem::take(&mut self.operation).into(), None);
            let values = StringArray::from_iter_values(Op::ALL.iter().map(|o| o.as_str()));
            Arc::new(DictionaryArray::<Int32Type>::new(keys, Arc::new(values))) as ArrayRef
        };
        let source_file = {
            let keys = Int32Array::new(vec![0; n].into(), None);
            let values = StringArray::from_iter_values([&*self.source_file]);
            Arc::new(DictionaryArray::<Int32Type>::new(keys, Arc::new(values))) as ArrayRef
        };
        let timestamp =
            TimestampMillisecondArray::new(std::mem::take(&mut self.timestamp).into(), None)
                .with_timezone("UTC");
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.event_id.finish()),
            Arc::new(timestamp),
            self.terminal_id.finish()?,
            self.operator_id.finish()?,
            self.auth_method.finish()?,
            operation,
            self.business_code.finish()?,
            Arc::new(self.target_code.finish()),
            Arc::new(Int64Array::new(
                std::mem::take(&mut self.record_count).into(),
                None,
            )),
            Arc::new(self.request_no.finish()),
            Arc::new(self.approval_no.finish()),
            Arc::new(self.ref_event_id.finish()),
            self.result.finish()?,
            Arc::new(self.detail.finish()),
            Arc::new(self.extras.finish()),
            source_file,
            Arc::new(UInt64Array::new(
                std::mem::take(&mut self.source_line).into(),
                None::<NullBuffer>,
            )),
        ];
        self.timestamp.reserve(self.capacity);
        self.operation.reserve(self.capacity);
        self.record_count.reserve(self.capacity);
        self.source_line.reserve(self.capacity);
        RecordBatch::try_new(event_schema(), columns)
    }
}

/// Builds one batch from rows: a convenience for tests and small inputs.
pub fn batch_from_rows<'a>(
    source_file: &str,
    rows: impl IntoIterator<Item = EventRow<'a>>,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let mut b = EventBatchBuilder::new(source_file, 64);
    for r in rows {
        b.push(&r);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    use super::*;
    use crate::normalize::schema::col;

    #[test]
    fn builds_schema_batches_with_nulls_and_dictionaries() {
        let mut a = EventRow::new("E1", 1000, Op::View);
        a.operator_id = Some("OP1");
        a.target_code = Some("12345678901");
        a.result = Some("OK");
        a.line = 2;
        let mut b = EventRow::new("E2", 2000, Op::Login);
        b.operator_id = Some("OP1");
        b.line = 3;
        let batch = batch_from_rows("x.csv", [a, b]).unwrap();
        assert_eq!(batch.num_rows(), 2);
        let ops = batch.column(col::OPERATION).as_dictionary::<Int32Type>();
        let names = ops.values().as_string::<i32>();
        assert_eq!(names.value(ops.keys().value(0) as usize), "VIEW");
        assert_eq!(names.value(ops.keys().value(1) as usize), "LOGIN");
        let opers = batch.column(col::OPERATOR_ID).as_dictionary::<Int32Type>();
        assert_eq!(opers.values().len(), 1, "one interned operator");
        assert!(batch.column(col::RESULT).is_null(1));
        assert!(batch.column(col::TARGET_CODE).is_null(1));
        assert!(!batch.column(col::TARGET_CODE).is_null(0));
        let files = batch.column(col::SOURCE_FILE).as_dictionary::<Int32Type>();
        assert_eq!(files.values().as_string::<i32>().value(0), "x.csv");
    }

    #[test]
    fn interning_keeps_values_that_pack_alike_apart() {
        // "aaaaaaaa" and "aaaaaaaaa" pack to the same first/last eight bytes.
        let ids = [
            "aaaaaaaa",
            "aaaaaaaaa",
            "aaaaaaaa",
            "x",
            "a-very-long-terminal-id-42",
            "x",
            "aaaaaaaaa",
        ];
        let rows: Vec<EventRow> = ids
            .iter()
            .map(|t| EventRow {
                terminal_id: Some(t),
                ..EventRow::new("E", 0, Op::View)
            })
            .collect();
        let batch = batch_from_rows("f", rows).unwrap();
        let dict = batch.column(col::TERMINAL_ID).as_dictionary::<Int32Type>();
        let values = dict.values().as_string::<i32>();
        let got: Vec<&str> = (0..ids.len())
            .map(|i| values.value(dict.keys().value(i) as usize))
            .collect();
        assert_eq!(got, ids);
        assert_eq!(values.len(), 4);
    }

    #[test]
    fn runs_of_nulls_land_on_their_rows() {
        let rows: Vec<EventRow> = [None, Some("A"), None, None, Some("B"), None]
            .into_iter()
            .map(|v| EventRow {
                auth_method: v,
                approval_no: v,
                ..EventRow::new("E", 0, Op::View)
            })
            .collect();
        let batch = batch_from_rows("f", rows).unwrap();
        let plain = batch.column(col::APPROVAL_NO).as_string::<i32>();
        let got: Vec<Option<&str>> = plain.iter().collect();
        assert_eq!(got, [None, Some("A"), None, None, Some("B"), None]);
        let dict = batch.column(col::AUTH_METHOD).as_dictionary::<Int32Type>();
        let values = dict.values().as_string::<i32>();
        let got: Vec<Option<&str>> = (0..6)
            .map(|i| {
                dict.is_valid(i)
                    .then(|| values.value(dict.keys().value(i) as usize))
            })
            .collect();
        assert_eq!(got, [None, Some("A"), None, None, Some("B"), None]);
    }

    #[test]
    fn builder_is_reusable_after_finish() {
        let mut b = EventBatchBuilder::new("f", 4);
        b.push(&EventRow {
            terminal_id: Some("T1"),
            ..EventRow::new("E1", 1, Op::Logout)
        });
        let first = b.finish().unwrap();
        b.push(&EventRow {
            terminal_id: Some("T2"),
            ..EventRow::new("E2", 2, Op::Logout)
        });
        b.shift_lines(10);
        let second = b.finish().unwrap();
        assert_eq!(first.num_rows(), 1);
        assert_eq!(second.num_rows(), 1);
        let t = second.column(col::TERMINAL_ID).as_dictionary::<Int32Type>();
        assert_eq!(
            t.values()
                .as_string::<i32>()
                .value(t.keys().value(0) as usize),
            "T2"
        );
        assert_eq!(
            second
                .column(col::SOURCE_LINE)
                .as_primitive::<arrow_array::types::UInt64Type>()
                .value(0),
            10
        );
    }
}
