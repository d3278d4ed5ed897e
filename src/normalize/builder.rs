//! Column builders: parsed fields in, one Arrow `RecordBatch` of the event schema out.
//!
//! Record splitting (the CSV and key-value parsers) is kept apart from column building
//! (this module), as arrow-csv does: the parsers hand over borrowed fields as an
//! [`EventRow`], the builder appends them to its columns and interns the id columns into
//! per-batch dictionaries. Interning per batch (not globally) keeps parallel workers
//! independent; the `days` stage maps dictionaries to run-wide keys. The decoder's own
//! paths hand over positions in the text instead of `&str`s (`push_csv`, `push_kv`), so
//! that fields are copied by position with no per-field slice or call.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray, UInt64Array,
};
use arrow_buffer::{NullBuffer, NullBufferBuilder, OffsetBuffer};
use arrow_schema::ArrowError;

use super::csv::FastLine;
use super::kv::{KvFields, Span};
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
    long: hashbrown::HashMap<Box<[u8]>, i32>,
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

/// The cache slot of a packed value: the top bits of one multiply (Fibonacci hashing),
/// cheaper than [`mix`] and spread well enough for a direct-mapped cache.
#[inline]
fn slot_of(p: u128) -> usize {
    let f = (p as u64) ^ ((p >> 64) as u64).rotate_left(23);
    (f.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - CACHE_SLOTS.trailing_zeros())) as usize
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
            // Up to three bytes, read one by one (no loop for two or three bytes).
            let at = |i: usize| b.get(i).map_or(0, |&c| (c as u64) << (8 * i));
            at(0) | at(1) | at(2)
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

    fn insert(values: &mut StringBuilder, distinct: &mut i32, v: &[u8]) -> i32 {
        // Values come from text already checked to be UTF-8 and are cut at ASCII
        // delimiters, so this never replaces anything; it runs once per distinct value.
        values.append_value(String::from_utf8_lossy(v));
        *distinct += 1;
        *distinct - 1
    }

    /// Appends one value; the cache hit is the whole fast path, inlined at each call.
    #[inline(always)]
    fn push(&mut self, v: Option<&[u8]>) {
        let Some(v) = v else {
            self.pending_nulls += 1;
            return;
        };
        if self.pending_nulls != 0 {
            self.append_pending_nulls();
        }
        let key = match pack(v) {
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
    fn miss(&mut self, p: u128, slot: usize, v: &[u8]) -> i32 {
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
    fn long_key(&mut self, v: &[u8]) -> i32 {
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
    /// Room for `rows` values of `bytes` bytes in all.
    fn sized(rows: usize, bytes: usize) -> Self {
        StrColumn {
            values: StringBuilder::with_capacity(rows, bytes),
            pending_nulls: 0,
            rows,
            bytes,
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

/// A string column built at the byte level, for the columns the CSV fast path fills.
///
/// Values are copied from the line text into a zero-filled buffer in fixed 32- or 64-byte
/// moves (the text has room after the field; the bytes past the value are overwritten by
/// the next one), so a value costs no `memcpy` call and no `&str` slice; UTF-8 is checked
/// once per batch when the array is made.
#[derive(Debug)]
struct ByteColumn {
    /// Values in `buf[..used]`; the rest is slack for the fixed-size moves.
    buf: Vec<u8>,
    used: usize,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    pending_nulls: usize,
    /// Values that are not null (all-null columns take a shortcut in `finish`).
    present: usize,
    rows: usize,
    bytes: usize,
    /// The values outgrew `i32` offsets; [`finish`](Self::finish) reports it.
    overflow: bool,
}

/// The largest fixed-size move.
const MOVE: usize = 64;

/// Bytes zero-filled ahead of the values at a time.
const ZERO_STEP: usize = 4096;

impl ByteColumn {
    /// Room for `rows` values of `bytes` bytes in all.
    fn sized(rows: usize, bytes: usize) -> Self {
        ByteColumn {
            buf: Vec::new(),
            used: 0,
            offsets: Self::first_offset(rows),
            nulls: NullBufferBuilder::new(rows),
            pending_nulls: 0,
            present: 0,
            rows,
            bytes,
            overflow: false,
        }
    }

    fn first_offset(rows: usize) -> Vec<i32> {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        offsets
    }

    /// Makes room for `n` more bytes plus the slack of one fixed-size move. The buffer is
    /// zero-filled a few KiB at a time, not to its capacity: filled bytes are resident
    /// memory, and the capacity is an estimate.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, n: usize) {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(self.bytes + MOVE);
        }
        self.buf.resize(self.used + n + MOVE + ZERO_STEP, 0);
    }

    /// Appends `src[r]` to the value being built.
    #[inline(always)]
    fn copy(&mut self, src: &[u8], r: Range<usize>) {
        let (a, b) = (r.start, r.end);
        let n = b - a;
        if self.used + n + MOVE > self.buf.len() {
            self.grow(n);
        }
        let at = self.used;
        if n <= 32
            && let (Some(from), Some(to)) = (src.get(a..a + 32), self.buf.get_mut(at..at + 32))
        {
            to.copy_from_slice(from);
        } else if n <= MOVE
            && let (Some(from), Some(to)) = (src.get(a..a + MOVE), self.buf.get_mut(at..at + MOVE))
        {
            to.copy_from_slice(from);
        } else if let (Some(from), Some(to)) = (src.get(a..b), self.buf.get_mut(at..at + n)) {
            to.copy_from_slice(from);
        }
        self.used += n;
    }

    /// Appends `src[r]` as one value, an empty range as an empty string.
    #[inline(always)]
    fn push_in(&mut self, src: &[u8], r: Range<usize>) {
        if self.pending_nulls != 0 {
            self.append_pending_nulls();
        }
        self.copy(src, r);
        self.end_value();
    }

    /// Appends `src[r]`, an empty range as null.
    #[inline(always)]
    fn push_opt_in(&mut self, src: &[u8], r: Range<usize>) {
        if r.is_empty() {
            self.pending_nulls += 1;
        } else {
            self.push_in(src, r);
        }
    }

    #[inline(always)]
    fn push_opt(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.push_in(v.as_bytes(), 0..v.len()),
            None => self.pending_nulls += 1,
        }
    }

    #[inline(always)]
    fn end_value(&mut self) {
        match i32::try_from(self.used) {
            Ok(end) => self.offsets.push(end),
            Err(_) => {
                self.overflow = true;
                self.offsets.push(i32::MAX);
            }
        }
        self.present += 1;
        self.nulls.append_non_null();
    }

    #[cold]
    #[inline(never)]
    fn append_pending_nulls(&mut self) {
        let n = std::mem::take(&mut self.pending_nulls);
        let last = self.offsets.last().copied().unwrap_or(0);
        self.offsets.resize(self.offsets.len() + n, last);
        self.nulls.append_n_nulls(n);
    }

    fn finish(&mut self) -> Result<StringArray, ArrowError> {
        if self.present == 0 {
            // Only nulls (most `approval_no`s): nothing was appended but the count.
            return Ok(StringArray::new_null(std::mem::take(
                &mut self.pending_nulls,
            )));
        }
        self.append_pending_nulls();
        self.present = 0;
        // The next batch starts with the room of the last one rather than growing from
        // nothing by doubling (each step a copy).
        self.bytes = self.bytes.max(self.used);
        let mut values = std::mem::take(&mut self.buf);
        values.truncate(std::mem::take(&mut self.used));
        let offsets = std::mem::replace(&mut self.offsets, Self::first_offset(self.rows));
        let nulls = self.nulls.finish();
        if std::mem::take(&mut self.overflow) {
            return Err(ArrowError::InvalidArgumentError(
                "a string column of one batch exceeds 2 GiB".into(),
            ));
        }
        StringArray::try_new(OffsetBuffer::new(offsets.into()), values.into(), nulls)
    }
}

/// One CSV event as positions in the text it was read from (see
/// [`FastLine`]), with the values the decoder has parsed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CsvSpans<'a> {
    /// Where the line starts.
    pub start: usize,
    /// Where its fields are.
    pub fast: &'a FastLine,
    pub timestamp: i64,
    pub operation: Op,
    pub record_count: i64,
    pub detail: Option<&'a str>,
    pub line: u64,
}

/// One key-value event: its values as spans of the line (see [`KvFields`]), which starts
/// at `start` of the text, with the values the decoder has parsed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KvSpans<'a> {
    pub start: usize,
    /// The line (values in `Span::Line` are relative to it).
    pub line: &'a str,
    pub fields: &'a KvFields,
    pub operation: Op,
    pub record_count: i64,
    pub line_no: u64,
}

/// Builds event batches, one source file at a time.
#[derive(Debug)]
pub struct EventBatchBuilder {
    source_file: Arc<str>,
    capacity: usize,
    event_id: ByteColumn,
    timestamp: Vec<i64>,
    terminal_id: DictColumn,
    operator_id: DictColumn,
    auth_method: DictColumn,
    operation: Vec<i32>,
    business_code: DictColumn,
    target_code: ByteColumn,
    record_count: Vec<i64>,
    request_no: ByteColumn,
    approval_no: ByteColumn,
    ref_event_id: ByteColumn,
    result: DictColumn,
    detail: StrColumn,
    extras: StrColumn,
    source_line: Vec<u64>,
}

impl EventBatchBuilder {
    /// A builder for rows of `source_file` (the path as the user gave it), expecting
    /// about `capacity` rows per batch.
    pub fn new(source_file: &str, capacity: usize) -> Self {
        Self::with_text_rows(source_file, capacity, capacity)
    }

    /// Like [`new`](Self::new), with the string columns' bytes sized for `text_rows`
    /// typical lines (the text's size over a typical line length) rather than for
    /// `capacity` rows.
    pub fn with_text_rows(source_file: &str, capacity: usize, text_rows: usize) -> Self {
        let strings = |bytes_per_row: usize| StrColumn::sized(capacity, text_rows * bytes_per_row);
        let bytes = |bytes_per_row: usize| ByteColumn::sized(capacity, text_rows * bytes_per_row);
        EventBatchBuilder {
            source_file: source_file.into(),
            capacity,
            event_id: bytes(20),
            timestamp: Vec::with_capacity(capacity),
            terminal_id: DictColumn::new(capacity),
            operator_id: DictColumn::new(capacity),
            auth_method: DictColumn::new(capacity),
            operation: Vec::with_capacity(capacity),
            business_code: DictColumn::new(capacity),
            target_code: bytes(11),
            record_count: Vec::with_capacity(capacity),
            request_no: bytes(8),
            approval_no: bytes(0),
            ref_event_id: bytes(0),
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
        fn b(v: Option<&str>) -> Option<&[u8]> {
            v.map(str::as_bytes)
        }
        self.event_id
            .push_in(row.event_id.as_bytes(), 0..row.event_id.len());
        self.timestamp.push(row.timestamp);
        self.terminal_id.push(b(row.terminal_id));
        self.operator_id.push(b(row.operator_id));
        self.auth_method.push(b(row.auth_method));
        self.operation.push(row.operation as i32);
        self.business_code.push(b(row.business_code));
        self.target_code.push_opt(row.target_code);
        self.record_count.push(row.record_count);
        self.request_no.push_opt(row.request_no);
        self.approval_no.push_opt(row.approval_no);
        self.ref_event_id.push_opt(row.ref_event_id);
        self.result.push(b(row.result));
        self.detail.push_opt(row.detail);
        self.extras.push_opt(row.extras);
        self.source_line.push(row.line);
    }

    /// Appends one CSV event straight from the text it was read from: the fields are
    /// copied from `src` by position, with no `&str` per field. The same row as
    /// [`push`](Self::push) with the fields cut at those positions (empty = absent).
    #[inline]
    pub(crate) fn push_csv(&mut self, src: &[u8], row: &CsvSpans<'_>) {
        let field = |i: usize| row.fast.field(row.start, i);
        let dict = |i: usize| src.get(field(i)).filter(|v| !v.is_empty());
        self.event_id.push_in(src, field(0));
        self.timestamp.push(row.timestamp);
        self.terminal_id.push(dict(2));
        self.operator_id.push(dict(3));
        self.auth_method.push(dict(4));
        self.operation.push(row.operation as i32);
        self.business_code.push(dict(6));
        self.target_code.push_opt_in(src, field(7));
        self.record_count.push(row.record_count);
        self.request_no.push_opt_in(src, field(9));
        self.approval_no.push_opt_in(src, field(10));
        self.ref_event_id.push_opt_in(src, field(11));
        self.result.push(dict(12));
        self.detail.push_opt(row.detail);
        self.extras.push_opt(None);
        self.source_line.push(row.line);
    }

    /// Appends one key-value event; values in the line are copied from `src` (the whole
    /// text) by position. The same row as [`push`](Self::push) with the values of
    /// [`KvFields::get`].
    #[inline]
    pub(crate) fn push_kv(&mut self, src: &[u8], row: &KvSpans<'_>) {
        let k = row.fields;
        let scratch = k.scratch.as_bytes();
        // The bytes of value `i` as (source, range); empty = absent.
        let at = |i: usize| -> (&[u8], Range<usize>) {
            match k.values[i] {
                None => (src, 0..0),
                Some(Span::Line(a, b)) => (src, row.start + a as usize..row.start + b as usize),
                Some(Span::Scratch(a, b)) => (scratch, a as usize..b as usize),
            }
        };
        let dict = |i: usize| {
            let (s, r) = at(i);
            s.get(r).filter(|v| !v.is_empty())
        };
        let (s, r) = at(0);
        self.event_id.push_in(s, r);
        self.timestamp.push(k.timestamp);
        self.terminal_id.push(dict(1));
        self.operator_id.push(dict(2));
        self.auth_method.push(dict(3));
        self.operation.push(row.operation as i32);
        self.business_code.push(dict(5));
        let (s, r) = at(6);
        self.target_code.push_opt_in(s, r);
        self.record_count.push(row.record_count);
        let (s, r) = at(8);
        self.request_no.push_opt_in(s, r);
        let (s, r) = at(9);
        self.approval_no.push_opt_in(s, r);
        let (s, r) = at(10);
        self.ref_event_id.push_opt_in(s, r);
        self.result.push(dict(11));
        self.detail.push_opt(k.get(row.line, 12));
        self.extras
            .push_opt((!k.extras.is_empty()).then_some(k.extras.as_str()));
        self.source_line.push(row.line_no);
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
            Arc::new(self.event_id.finish()?),
            Arc::new(timestamp),
            self.terminal_id.finish()?,
            self.operator_id.finish()?,
            self.auth_method.finish()?,
            operation,
            self.business_code.finish()?,
            Arc::new(self.target_code.finish()?),
            Arc::new(Int64Array::new(
                std::mem::take(&mut self.record_count).into(),
                None,
            )),
            Arc::new(self.request_no.finish()?),
            Arc::new(self.approval_no.finish()?),
            Arc::new(self.ref_event_id.finish()?),
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
