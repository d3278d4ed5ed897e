//! The day digest: a content hash of one day's rows that does not depend on how they are
//! stored.
//!
//! The same rows have different bytes in a daily file and in the yearly file that
//! consolidates them (other row groups, pages, dictionaries), so file checksums cannot
//! say whether two levels agree. The day digest hashes the *values*: for every column
//! its logical values in stored row order, in a fixed encoding. Each column is hashed on
//! its own as one stream, so the digest is the same however the rows were split into
//! batches. The digest is the same hash over a version tag, the row count, and for each
//! column its name, its type text and its column hash.
//!
//! Three definitions exist; the manifest records which one each day's digest uses
//! ([`Version`]), and days are only compared at one version.
//!
//! **Version 1** (`tenken-day-digest-v1`; archives written before version 2):
//!
//! * null: the byte `0x00`; a value: `0x01` then the value;
//! * strings and binaries: length (u64, little-endian) then the bytes; dictionaries are
//!   resolved (a dictionary column hashes as its plain values, type text unwrapped);
//! * integers, dates, timestamps, floats (their bit patterns): little-endian, at the
//!   column's own width; booleans one byte;
//! * lists: element count (u64) then each element as above.
//!
//! That is 9 bytes of framing per value on top of the value, and every dictionary value
//! in full on every row: a day of the bench set hashed ≈ 2.5 times its Parquet size.
//!
//! **Version 2** (`tenken-day-digest-v2`; archives written before version 3). `varint`
//! is unsigned LEB128:
//!
//! * strings and binaries: `varint(len + 1)` then the bytes; null is `varint(0)`;
//! * dictionary columns of strings or binaries (the schema's id columns): each row is
//!   `varint(id + 1)`, null `varint(0)`, where `id` numbers the column's distinct values
//!   in order of first appearance in the day; the row where a value first appears
//!   carries it right after its id, as `varint(len)` and the bytes. The ids depend on the
//!   values and their order only, not on the keys or the dictionary of any batch or
//!   file. Type text `Dictionary<Utf8>` (or `<Binary>`): a dictionary column and a plain
//!   one are different columns here, as they are in the schema;
//! * integers, dates and timestamps: `varint(zigzag(v − p) + 1)` where `p` is the
//!   column's previous non-null value (0 before the first); null `varint(0)`; sorted
//!   times and small counts take one to three bytes;
//! * floats and booleans as in version 1; dictionaries of other values as their values;
//! * lists: `varint(count + 1)` (null `varint(0)`), then the items as above, the items
//!   of all rows forming one stream.
//!
//! Versions 1 and 2 hash with SHA-256.
//!
//! **Version 3** (`tenken-day-digest-v3`; written now) is version 2's encoding, hashed
//! with BLAKE3 (its 32-byte output) in place of SHA-256, column hashes and the outer hash
//! alike. Hashing was half of a day's digest, and BLAKE3 is about four times as fast as
//! SHA-256 here. It is a cryptographic hash like SHA-256. The digest says whether two
//! levels hold the same rows; the manifest's SHA-256 of each file and its hash chain are
//! what make tampering evident.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use sha2::{Digest, Sha256};

/// A value type the digest does not know how to encode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column `{column}` has type {data_type}, which the archive cannot digest")]
pub struct UnsupportedType {
    pub column: String,
    pub data_type: String,
}

/// A definition of the day digest (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V1,
    V2,
    V3,
}

impl Version {
    /// The definition new days are written with.
    pub const CURRENT: Version = Version::V3;

    /// The number the manifest records.
    pub const fn number(self) -> u32 {
        match self {
            Version::V1 => 1,
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The definition a manifest number names; `None` for one this tenken does not know.
    pub const fn from_number(n: u32) -> Option<Version> {
        match n {
            1 => Some(Version::V1),
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }

    const fn tag(self) -> &'static [u8] {
        match self {
            Version::V1 => b"tenken-day-digest-v1\n",
            Version::V2 => b"tenken-day-digest-v2\n",
            Version::V3 => b"tenken-day-digest-v3\n",
        }
    }

    /// Whether values take the compact encoding of version 2 (versions 2 and 3).
    const fn compact(self) -> bool {
        matches!(self, Version::V2 | Version::V3)
    }
}

/// The hash function of a version: SHA-256 up to version 2, BLAKE3 from version 3.
enum Hasher {
    Sha256(Sha256),
    // Boxed: BLAKE3's state is ~2 KB, one per column.
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    fn new(version: Version) -> Hasher {
        match version {
            Version::V1 | Version::V2 => Hasher::Sha256(Sha256::new()),
            Version::V3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Blake3(h) => {
                h.update(bytes);
            }
        }
    }

    fn finalize(self) -> [u8; 32] {
        match self {
            Hasher::Sha256(h) => h.finalize().into(),
            Hasher::Blake3(h) => *h.finalize().as_bytes(),
        }
    }
}

/// Lowercase hex of a hash.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The logical type of a column: dictionaries unwrapped, string flavours merged.
fn logical_type(dt: &DataType) -> String {
    match dt {
        DataType::Dictionary(_, v) => logical_type(v),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "Utf8".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "Binary".into(),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("List<{}>", logical_type(f.data_type()))
        }
        other => other.to_string(),
    }
}

fn is_bytes(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
    )
}

/// The type text of a column in a version's digest.
fn type_text(version: Version, dt: &DataType) -> String {
    match dt {
        DataType::Dictionary(_, v) if version.compact() && is_bytes(v) => {
            format!("Dictionary<{}>", logical_type(v))
        }
        DataType::List(f) | DataType::LargeList(f) if version.compact() => {
            format!("List<{}>", type_text(version, f.data_type()))
        }
        _ => logical_type(dt),
    }
}

/// A column's hasher and the state version 2 carries from row to row.
struct Column {
    hasher: Hasher,
    /// The previous non-null integer (version 2 deltas).
    prev: i128,
    /// Distinct values of a dictionary column so far, with their ids (version 2).
    ids: hashbrown::HashMap<Box<[u8]>, u32>,
    /// Per key of the batch being hashed: its id, once looked up (version 2).
    remap: Vec<u32>,
}

/// Accumulates the digest of one day, batch by batch.
pub struct DayDigest {
    version: Version,
    schema: SchemaRef,
    columns: Vec<Column>,
    rows: u64,
    buf: Vec<u8>,
}

impl DayDigest {
    /// A digest of the current version ([`Version::CURRENT`]).
    pub fn new(schema: SchemaRef) -> DayDigest {
        DayDigest::with_version(schema, Version::CURRENT)
    }

    pub fn with_version(schema: SchemaRef, version: Version) -> DayDigest {
        DayDigest {
            columns: schema
                .fields()
                .iter()
                .map(|_| Column {
                    hasher: Hasher::new(version),
                    prev: 0,
                    ids: hashbrown::HashMap::new(),
                    remap: Vec::new(),
                })
                .collect(),
            version,
            schema,
            rows: 0,
            buf: vec![0; CHUNK],
        }
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// Adds the rows of `batch`, which must have the digest's columns in order.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<(), UnsupportedType> {
        for (i, array) in batch.columns().iter().enumerate() {
            let Some(col) = self.columns.get_mut(i) else {
                break;
            };
            let name = self.schema.field(i).name();
            let mut sink = Sink {
                buf: &mut self.buf,
                at: 0,
                hasher: &mut col.hasher,
            };
            match self.version {
                Version::V1 => encode(array, &mut sink, name)?,
                Version::V2 | Version::V3 => {
                    let state = State {
                        prev: &mut col.prev,
                        ids: &mut col.ids,
                        remap: &mut col.remap,
                    };
                    encode_v2(array, &mut sink, state, name)?
                }
            }
            sink.flush();
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The hex digest.
    pub fn finish(self) -> String {
        let mut h = Hasher::new(self.version);
        h.update(self.version.tag());
        h.update(&self.rows.to_le_bytes());
        h.update(&(self.columns.len() as u64).to_le_bytes());
        for (field, col) in self.schema.fields().iter().zip(self.columns) {
            h.update(field.name().as_bytes());
            h.update(&[0]);
            h.update(type_text(self.version, field.data_type()).as_bytes());
            h.update(&[0]);
            h.update(&col.hasher.finalize());
        }
        hex(&h.finalize())
    }
}

/// The digest of rows given as batches of one schema, at the current version.
pub fn digest_batches<'a>(
    schema: SchemaRef,
    batches: impl IntoIterator<Item = &'a RecordBatch>,
) -> Result<(u64, String), UnsupportedType> {
    digest_batches_with(Version::CURRENT, schema, batches)
}

/// [`digest_batches`] at a given version.
pub fn digest_batches_with<'a>(
    version: Version,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = &'a RecordBatch>,
) -> Result<(u64, String), UnsupportedType> {
    let mut d = DayDigest::with_version(schema, version);
    for b in batches {
        d.update(b)?;
    }
    Ok((d.rows(), d.finish()))
}

/// The encoded values go to the column's hasher through a fixed buffer, hashed each time
/// it fills: neither hash cares how its input is split, and a whole column's encoding
/// (tens of MB for a day's `detail`) would otherwise be a fresh allocation per file. The
/// buffer is written at a cursor, so a value costs one bounds check and its copies.
struct Sink<'a> {
    buf: &'a mut [u8],
    /// Bytes of `buf` gathered and not hashed yet.
    at: usize,
    hasher: &'a mut Hasher,
}

/// How much encoded text is gathered before it is hashed.
const CHUNK: usize = 64 * 1024;

/// The longest LEB128 encoding of a u128.
const MAX_VARINT: usize = 19;

impl Sink<'_> {
    fn null(&mut self) {
        self.byte(0);
    }

    fn byte(&mut self, b: u8) {
        if self.at == self.buf.len() {
            self.flush();
        }
        self.buf[self.at] = b;
        self.at += 1;
    }

    /// A present fixed-width value.
    #[inline]
    fn fixed<const W: usize>(&mut self, bytes: [u8; W]) {
        if self.at + W + 1 > self.buf.len() {
            self.flush();
        }
        let out = &mut self.buf[self.at..self.at + W + 1];
        out[0] = 1;
        out[1..].copy_from_slice(&bytes);
        self.at += W + 1;
    }

    /// A present variable-length value: its length, then its bytes (version 1).
    #[inline]
    fn var(&mut self, bytes: &[u8]) {
        let n = 9 + bytes.len();
        if self.at + n > self.buf.len() {
            self.flush();
            if n > self.buf.len() {
                self.hasher.update(&[1]);
                self.hasher.update(&(bytes.len() as u64).to_le_bytes());
                self.hasher.update(bytes);
                return;
            }
        }
        let out = &mut self.buf[self.at..self.at + n];
        out[0] = 1;
        out[1..9].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        out[9..].copy_from_slice(bytes);
        self.at += n;
    }

    fn put_len(&mut self, n: usize) {
        for b in (n as u64).to_le_bytes() {
            self.byte(b);
        }
    }

    /// Unsigned LEB128 at the cursor (version 2); the caller made room for it.
    #[inline]
    fn leb(&mut self, mut v: u128) {
        let out = &mut self.buf[self.at..];
        let mut i = 0;
        while v >= 0x80 {
            out[i] = (v as u8) | 0x80;
            v >>= 7;
            i += 1;
        }
        out[i] = v as u8;
        self.at += i + 1;
    }

    /// A varint (version 2).
    #[inline]
    fn varint(&mut self, v: u128) {
        if self.at + MAX_VARINT > self.buf.len() {
            self.flush();
        }
        self.leb(v);
    }

    /// `varint(head)` then `bytes` (version 2).
    #[inline]
    fn varint_bytes(&mut self, head: u64, bytes: &[u8]) {
        let n = MAX_VARINT + bytes.len();
        if self.at + n > self.buf.len() {
            self.flush();
            if n > self.buf.len() {
                self.leb(head as u128);
                self.flush();
                self.hasher.update(bytes);
                return;
            }
        }
        self.leb(head as u128);
        self.buf[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }

    fn flush(&mut self) {
        self.hasher.update(&self.buf[..self.at]);
        self.at = 0;
    }
}

macro_rules! primitive {
    ($array:expr, $sink:expr, $t:ty) => {{
        let a = $array.as_primitive::<$t>();
        if a.null_count() == 0 {
            for v in a.values().iter() {
                $sink.fixed(v.to_le_bytes());
            }
        } else {
            for i in 0..a.len() {
                if a.is_null(i) {
                    $sink.null();
                } else {
                    $sink.fixed(a.value(i).to_le_bytes());
                }
            }
        }
    }};
}

macro_rules! bytes {
    ($a:expr, $sink:expr) => {{
        let a = $a;
        if a.null_count() == 0 {
            for i in 0..a.len() {
                $sink.var(AsRef::<[u8]>::as_ref(a.value(i)));
            }
        } else {
            for i in 0..a.len() {
                if a.is_null(i) {
                    $sink.null();
                } else {
                    $sink.var(AsRef::<[u8]>::as_ref(a.value(i)));
                }
            }
        }
    }};
}

/// A list value: a presence byte, its length, then its items (either offset width).
fn encode_list<O: arrow_array::OffsetSizeTrait>(
    a: &arrow_array::GenericListArray<O>,
    sink: &mut Sink<'_>,
    column: &str,
) -> Result<(), UnsupportedType> {
    for i in 0..a.len() {
        if a.is_null(i) {
            sink.null();
        } else {
            let v: Arc<dyn Array> = a.value(i);
            sink.byte(1);
            sink.put_len(v.len());
            encode(&v, sink, column)?;
        }
    }
    Ok(())
}

fn unsupported(array: &dyn Array, column: &str) -> UnsupportedType {
    UnsupportedType {
        column: column.to_owned(),
        data_type: array.data_type().to_string(),
    }
}

/// Encodes floats and booleans, which both versions encode alike; false for other types.
fn encode_floats_and_booleans(array: &ArrayRef, sink: &mut Sink<'_>) -> bool {
    match array.data_type() {
        DataType::Boolean => {
            let a = array.as_boolean();
            for i in 0..a.len() {
                if a.is_null(i) {
                    sink.null();
                } else {
                    sink.fixed([a.value(i) as u8]);
                }
            }
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            for i in 0..a.len() {
                if a.is_null(i) {
                    sink.null();
                } else {
                    sink.fixed(a.value(i).to_bits().to_le_bytes());
                }
            }
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            for i in 0..a.len() {
                if a.is_null(i) {
                    sink.null();
                } else {
                    sink.fixed(a.value(i).to_bits().to_le_bytes());
                }
            }
        }
        _ => return false,
    }
    true
}

fn encode(array: &ArrayRef, sink: &mut Sink<'_>, column: &str) -> Result<(), UnsupportedType> {
    match array.data_type() {
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            // The id columns: look each key's value up in place. The keys are read as
            // they are, not normalised into a fresh vector: a day's column of those is
            // megabytes of new pages, zeroed by the kernel, for every column and day.
            let dict = array.as_dictionary::<Int32Type>();
            let values = dict.values().as_string::<i32>();
            let keys = dict.keys();
            let null_values = values.null_count() > 0;
            for (i, &k) in keys.values().iter().enumerate() {
                let k = usize::try_from(k).ok().filter(|&k| k < values.len());
                match k {
                    Some(k) if keys.is_valid(i) && !(null_values && values.is_null(k)) => {
                        sink.var(values.value(k).as_bytes())
                    }
                    _ => sink.null(),
                }
            }
        }
        DataType::Dictionary(..) => {
            // Other key types (not written by tenken): materialise the values in row
            // order; null keys become null values.
            let plain = materialise(array, column)?;
            encode(&plain, sink, column)?;
        }
        DataType::Utf8 => bytes!(array.as_string::<i32>(), sink),
        DataType::LargeUtf8 => bytes!(array.as_string::<i64>(), sink),
        DataType::Utf8View => bytes!(array.as_string_view(), sink),
        DataType::Binary => bytes!(array.as_binary::<i32>(), sink),
        DataType::Int8 => primitive!(array, sink, Int8Type),
        DataType::Int16 => primitive!(array, sink, Int16Type),
        DataType::Int32 => primitive!(array, sink, Int32Type),
        DataType::Int64 => primitive!(array, sink, Int64Type),
        DataType::UInt8 => primitive!(array, sink, UInt8Type),
        DataType::UInt16 => primitive!(array, sink, UInt16Type),
        DataType::UInt32 => primitive!(array, sink, UInt32Type),
        DataType::UInt64 => primitive!(array, sink, UInt64Type),
        DataType::Date32 => primitive!(array, sink, Date32Type),
        DataType::Date64 => primitive!(array, sink, Date64Type),
        DataType::Timestamp(TimeUnit::Second, _) => primitive!(array, sink, TimestampSecondType),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            primitive!(array, sink, TimestampMillisecondType)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            primitive!(array, sink, TimestampMicrosecondType)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            primitive!(array, sink, TimestampNanosecondType)
        }
        DataType::List(_) => encode_list(array.as_list::<i32>(), sink, column)?,
        DataType::LargeList(_) => encode_list(array.as_list::<i64>(), sink, column)?,
        _ if encode_floats_and_booleans(array, sink) => {}
        _ => return Err(unsupported(array.as_ref(), column)),
    }
    Ok(())
}

/// A dictionary's values in row order; null keys become null values.
fn materialise(array: &ArrayRef, column: &str) -> Result<ArrayRef, UnsupportedType> {
    let dict = array.as_any_dictionary();
    arrow_select::take::take(dict.values().as_ref(), dict.keys(), None)
        .map_err(|_| unsupported(array.as_ref(), column))
}

/// The per-column state of version 2 (see [`Column`]).
struct State<'a> {
    prev: &'a mut i128,
    ids: &'a mut hashbrown::HashMap<Box<[u8]>, u32>,
    remap: &'a mut Vec<u32>,
}

impl State<'_> {
    fn reborrow(&mut self) -> State<'_> {
        State {
            prev: self.prev,
            ids: self.ids,
            remap: self.remap,
        }
    }
}

/// The values of a string or binary array, by index (`None` for null).
enum ByteValues<'a> {
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    Utf8View(&'a arrow_array::StringViewArray),
    Binary(&'a arrow_array::BinaryArray),
    LargeBinary(&'a arrow_array::LargeBinaryArray),
    BinaryView(&'a arrow_array::BinaryViewArray),
}

impl<'a> ByteValues<'a> {
    fn of(array: &'a dyn Array) -> Option<ByteValues<'a>> {
        Some(match array.data_type() {
            DataType::Utf8 => ByteValues::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => ByteValues::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => ByteValues::Utf8View(array.as_string_view()),
            DataType::Binary => ByteValues::Binary(array.as_binary::<i32>()),
            DataType::LargeBinary => ByteValues::LargeBinary(array.as_binary::<i64>()),
            DataType::BinaryView => ByteValues::BinaryView(array.as_binary_view()),
            _ => return None,
        })
    }

    fn len(&self) -> usize {
        match self {
            ByteValues::Utf8(a) => a.len(),
            ByteValues::LargeUtf8(a) => a.len(),
            ByteValues::Utf8View(a) => a.len(),
            ByteValues::Binary(a) => a.len(),
            ByteValues::LargeBinary(a) => a.len(),
            ByteValues::BinaryView(a) => a.len(),
        }
    }

    fn get(&self, i: usize) -> Option<&'a [u8]> {
        macro_rules! at {
            ($a:expr) => {
                $a.is_valid(i).then(|| AsRef::<[u8]>::as_ref($a.value(i)))
            };
        }
        match self {
            ByteValues::Utf8(a) => at!(a),
            ByteValues::LargeUtf8(a) => at!(a),
            ByteValues::Utf8View(a) => at!(a),
            ByteValues::Binary(a) => at!(a),
            ByteValues::LargeBinary(a) => at!(a),
            ByteValues::BinaryView(a) => at!(a),
        }
    }
}

/// Version 2 of a string or binary column: `varint(len + 1)` and the bytes.
fn bytes_v2(values: &ByteValues<'_>, sink: &mut Sink<'_>) {
    macro_rules! each {
        ($a:expr) => {{
            let a = $a;
            if a.null_count() == 0 {
                for i in 0..a.len() {
                    let v = AsRef::<[u8]>::as_ref(a.value(i));
                    sink.varint_bytes(v.len() as u64 + 1, v);
                }
            } else {
                for i in 0..a.len() {
                    if a.is_null(i) {
                        sink.varint(0);
                    } else {
                        let v = AsRef::<[u8]>::as_ref(a.value(i));
                        sink.varint_bytes(v.len() as u64 + 1, v);
                    }
                }
            }
        }};
    }
    match values {
        ByteValues::Utf8(a) => each!(*a),
        ByteValues::LargeUtf8(a) => each!(*a),
        ByteValues::Utf8View(a) => each!(*a),
        ByteValues::Binary(a) => each!(*a),
        ByteValues::LargeBinary(a) => each!(*a),
        ByteValues::BinaryView(a) => each!(*a),
    }
}

/// No id looked up yet for this key of the batch.
const UNSEEN: u32 = u32::MAX;
/// The key's value is null.
const NULL_ID: u32 = u32::MAX - 1;

/// Version 2 of a dictionary column of strings or binaries: first-appearance ids. Each
/// key of the batch's dictionary is looked up once (its id cached in `remap`), so a row
/// costs an array read and a varint, not a hash of its value.
fn dictionary_v2(
    keys: impl Iterator<Item = Option<usize>>,
    values: &ByteValues<'_>,
    sink: &mut Sink<'_>,
    state: State<'_>,
) {
    let remap = state.remap;
    remap.clear();
    remap.resize(values.len(), UNSEEN);
    for k in keys {
        let Some(slot) = k.and_then(|k| remap.get_mut(k).map(|s| (k, s))) else {
            // A null key, or one past the dictionary: a null value.
            sink.varint(0);
            continue;
        };
        let (k, id) = slot;
        if *id == UNSEEN {
            match values.get(k) {
                None => *id = NULL_ID,
                Some(v) => {
                    let next = state.ids.len() as u32;
                    match state.ids.get(v) {
                        Some(&known) => *id = known,
                        None => {
                            state.ids.insert(v.into(), next);
                            *id = next;
                            // First appearance in the day: the id, then the value.
                            sink.varint(next as u128 + 1);
                            sink.varint_bytes(v.len() as u64, v);
                            continue;
                        }
                    }
                }
            }
        }
        match *id {
            NULL_ID => sink.varint(0),
            id => sink.varint(id as u128 + 1),
        }
    }
}

/// One integer of version 2: the zigzag delta from the column's previous one, plus one.
#[inline]
fn delta_v2(sink: &mut Sink<'_>, prev: &mut i128, v: i128) {
    let d = v - *prev;
    *prev = v;
    // zigzag: small deltas of either sign take few bytes.
    let z = ((d << 1) ^ (d >> 127)) as u128;
    sink.varint(z + 1);
}

macro_rules! integers_v2 {
    ($array:expr, $sink:expr, $state:expr, $t:ty) => {{
        let a = $array.as_primitive::<$t>();
        let prev = &mut *$state.prev;
        if a.null_count() == 0 {
            for v in a.values().iter() {
                delta_v2($sink, prev, *v as i128);
            }
        } else {
            for i in 0..a.len() {
                if a.is_null(i) {
                    $sink.varint(0);
                } else {
                    delta_v2($sink, prev, a.value(i) as i128);
                }
            }
        }
    }};
}

/// A list value in version 2: `varint(count + 1)`, then its items.
fn list_v2<O: arrow_array::OffsetSizeTrait>(
    a: &arrow_array::GenericListArray<O>,
    sink: &mut Sink<'_>,
    mut state: State<'_>,
    column: &str,
) -> Result<(), UnsupportedType> {
    for i in 0..a.len() {
        if a.is_null(i) {
            sink.varint(0);
        } else {
            let v: Arc<dyn Array> = a.value(i);
            sink.varint(v.len() as u128 + 1);
            encode_v2(&v, sink, state.reborrow(), column)?;
        }
    }
    Ok(())
}

fn encode_v2(
    array: &ArrayRef,
    sink: &mut Sink<'_>,
    mut state: State<'_>,
    column: &str,
) -> Result<(), UnsupportedType> {
    if let Some(values) = ByteValues::of(array.as_ref()) {
        bytes_v2(&values, sink);
        return Ok(());
    }
    match array.data_type() {
        DataType::Dictionary(k, v) if **k == DataType::Int32 && is_bytes(v) => {
            // The id columns as tenken writes them: the keys are read in place.
            let dict = array.as_dictionary::<Int32Type>();
            let keys = dict.keys();
            let Some(values) = ByteValues::of(dict.values().as_ref()) else {
                return Err(unsupported(array.as_ref(), column));
            };
            if keys.null_count() == 0 {
                let it = keys.values().iter().map(|&k| usize::try_from(k).ok());
                dictionary_v2(it, &values, sink, state);
            } else {
                let it = keys.iter().map(|k| k.and_then(|k| usize::try_from(k).ok()));
                dictionary_v2(it, &values, sink, state);
            }
        }
        DataType::Dictionary(_, v) if is_bytes(v) => {
            // Other key types (not written by tenken): keys normalised to indices.
            let dict = array.as_any_dictionary();
            let Some(values) = ByteValues::of(dict.values().as_ref()) else {
                return Err(unsupported(array.as_ref(), column));
            };
            let keys = dict.keys();
            let indices = dict.normalized_keys();
            let it = indices
                .iter()
                .enumerate()
                .map(|(i, &k)| keys.is_valid(i).then_some(k));
            dictionary_v2(it, &values, sink, state);
        }
        DataType::Dictionary(..) => {
            let plain = materialise(array, column)?;
            encode_v2(&plain, sink, state, column)?;
        }
        DataType::Int8 => integers_v2!(array, sink, state, Int8Type),
        DataType::Int16 => integers_v2!(array, sink, state, Int16Type),
        DataType::Int32 => integers_v2!(array, sink, state, Int32Type),
        DataType::Int64 => integers_v2!(array, sink, state, Int64Type),
        DataType::UInt8 => integers_v2!(array, sink, state, UInt8Type),
        DataType::UInt16 => integers_v2!(array, sink, state, UInt16Type),
        DataType::UInt32 => integers_v2!(array, sink, state, UInt32Type),
        DataType::UInt64 => integers_v2!(array, sink, state, UInt64Type),
        DataType::Date32 => integers_v2!(array, sink, state, Date32Type),
        DataType::Date64 => integers_v2!(array, sink, state, Date64Type),
        DataType::Timestamp(TimeUnit::Second, _) => {
            integers_v2!(array, sink, state, TimestampSecondType)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            integers_v2!(array, sink, state, TimestampMillisecondType)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            integers_v2!(array, sink, state, TimestampMicrosecondType)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            integers_v2!(array, sink, state, TimestampNanosecondType)
        }
        DataType::List(_) => list_v2(array.as_list::<i32>(), sink, state.reborrow(), column)?,
        DataType::LargeList(_) => list_v2(array.as_list::<i64>(), sink, state.reborrow(), column)?,
        _ if encode_floats_and_booleans(array, sink) => {}
        _ => return Err(unsupported(array.as_ref(), column)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use arrow_array::{DictionaryArray, StringArray, TimestampMillisecondArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    /// The existing tests hold the version-1 definition, which archives written before
    /// version 2 are still verified with.
    fn v1<'a>(
        schema: SchemaRef,
        batches: impl IntoIterator<Item = &'a RecordBatch>,
    ) -> Result<(u64, String), UnsupportedType> {
        digest_batches_with(Version::V1, schema, batches)
    }

    fn schema(dict: bool) -> SchemaRef {
        let t = if dict {
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
        } else {
            DataType::Utf8
        };
        Arc::new(Schema::new(vec![
            Field::new("op", t, true),
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
        ]))
    }

    fn plain(values: &[Option<&str>], ts: &[i64]) -> RecordBatch {
        RecordBatch::try_new(
            schema(false),
            vec![
                Arc::new(StringArray::from(values.to_vec())),
                Arc::new(TimestampMillisecondArray::from(ts.to_vec()).with_timezone("UTC")),
            ],
        )
        .unwrap()
    }

    fn dictionary(dict: DictionaryArray<Int32Type>, ts: &[i64]) -> RecordBatch {
        RecordBatch::try_new(
            schema(true),
            vec![
                Arc::new(dict),
                Arc::new(TimestampMillisecondArray::from(ts.to_vec()).with_timezone("UTC")),
            ],
        )
        .unwrap()
    }

    #[test]
    fn dictionaries_and_batch_splits_do_not_change_the_digest() {
        let values = [Some("A"), None, Some("B"), Some("A")];
        let ts = [1, 2, 3, 4];
        let whole = plain(&values, &ts);
        let (rows, a) = v1(schema(false), [&whole]).unwrap();
        assert_eq!(rows, 4);
        let (_, b) = v1(schema(false), [&whole.slice(0, 1), &whole.slice(1, 3)]).unwrap();
        assert_eq!(a, b);
        let dict_batch = dictionary(values.iter().copied().collect(), &ts);
        let (_, c) = v1(schema(true), [&dict_batch]).unwrap();
        assert_eq!(a, c, "a dictionary column hashes as its values");
    }

    #[test]
    fn a_dictionary_with_other_keys_hashes_as_its_values() {
        let values = [Some("A"), None, Some("B"), Some("A")];
        let ts = [1, 2, 3, 4];
        let (_, a) = v1(schema(false), [&plain(&values, &ts)]).unwrap();
        let dict: DictionaryArray<Int8Type> = values.iter().copied().collect();
        let t = DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8));
        let schema8 = Arc::new(Schema::new(vec![
            Field::new("op", t, true),
            schema(false).field(1).clone(),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema8),
            vec![
                Arc::new(dict),
                Arc::new(TimestampMillisecondArray::from(ts.to_vec()).with_timezone("UTC")),
            ],
        )
        .unwrap();
        let (_, b) = v1(schema8, [&batch]).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn the_digest_follows_the_documented_encoding_across_the_hashing_buffer() {
        // Values longer than the buffer, and many short ones: the column hash must be
        // SHA-256 of the whole encoding, however it was fed to the hasher.
        let long = "x".repeat(3 * CHUNK + 17);
        let mut values: Vec<Option<&str>> = vec![Some(&long), None, Some("")];
        values.extend(std::iter::repeat_n(Some("abc"), 20_000));
        let ts: Vec<i64> = (0..values.len() as i64).collect();
        let (rows, got) = v1(schema(false), [&plain(&values, &ts)]).unwrap();
        assert_eq!(rows, values.len() as u64);

        let mut op = Vec::new();
        for v in &values {
            match v {
                None => op.push(0),
                Some(v) => {
                    op.push(1);
                    op.extend_from_slice(&(v.len() as u64).to_le_bytes());
                    op.extend_from_slice(v.as_bytes());
                }
            }
        }
        let mut time = Vec::new();
        for t in &ts {
            time.push(1);
            time.extend_from_slice(&t.to_le_bytes());
        }
        let mut h = Sha256::new();
        h.update(b"tenken-day-digest-v1\n");
        h.update((values.len() as u64).to_le_bytes());
        h.update(2u64.to_le_bytes());
        let ts_type = logical_type(schema(false).field(1).data_type());
        for (name, ty, bytes) in [("op", "Utf8", &op), ("timestamp", ts_type.as_str(), &time)] {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(ty.as_bytes());
            h.update([0]);
            h.update(Sha256::digest(bytes));
        }
        assert_eq!(got, hex(&h.finalize()));
    }

    #[test]
    fn a_dictionary_with_null_values_hashes_as_its_values() {
        let keys = arrow_array::Int32Array::from(vec![Some(0), Some(1), None, Some(2), Some(0)]);
        let dict_values = Arc::new(StringArray::from(vec![Some("A"), None, Some("B")]));
        let dict = DictionaryArray::<Int32Type>::try_new(keys, dict_values).unwrap();
        let ts = [1, 2, 3, 4, 5];
        let dict_batch = dictionary(dict, &ts);
        let whole = plain(&[Some("A"), None, None, Some("B"), Some("A")], &ts);
        let a = v1(schema(false), [&whole]).unwrap();
        let b = v1(schema(true), [&dict_batch]).unwrap();
        assert_eq!(a, b);
        // A sliced dictionary batch hashes as the same rows of the plain one.
        let c = v1(schema(true), [&dict_batch.slice(1, 3)]).unwrap();
        let d = v1(schema(false), [&whole.slice(1, 3)]).unwrap();
        assert_eq!(c, d);
    }

    #[test]
    fn any_change_changes_the_digest() {
        let base = v1(schema(false), [&plain(&[Some("A"), Some("B")], &[1, 2])])
            .unwrap()
            .1;
        for (values, ts) in [
            (vec![Some("B"), Some("A")], vec![1, 2]), // order
            (vec![Some("A"), Some("B")], vec![1, 3]), // a value
            (vec![Some("A"), None], vec![1, 2]),      // null vs value
            (vec![Some("A"), Some("")], vec![1, 2]),  // empty vs value
            (vec![Some("AB"), Some("")], vec![1, 2]), // boundaries move
            (vec![Some("A")], vec![1]),               // a row less
        ] {
            let d = v1(schema(false), [&plain(&values, &ts)]).unwrap().1;
            assert_ne!(d, base, "{values:?} {ts:?}");
        }
        let empty = v1(schema(false), std::iter::empty()).unwrap();
        assert_eq!(empty.0, 0);
        assert_ne!(empty.1, base);
    }

    // ---- version 2 ----

    fn leb(out: &mut Vec<u8>, mut v: u128) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn zigzag(d: i128) -> u128 {
        ((d << 1) ^ (d >> 127)) as u128
    }

    fn sha(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// The outer hash as documented, over its whole input at once: both hashes give the
    /// same result however their input is fed.
    fn outer(
        tag: &[u8],
        rows: u64,
        columns: &[(&str, &str, [u8; 32])],
        hash: fn(&[u8]) -> [u8; 32],
    ) -> String {
        let mut text = tag.to_vec();
        text.extend_from_slice(&rows.to_le_bytes());
        text.extend_from_slice(&(columns.len() as u64).to_le_bytes());
        for (name, ty, col) in columns {
            text.extend_from_slice(name.as_bytes());
            text.push(0);
            text.extend_from_slice(ty.as_bytes());
            text.push(0);
            text.extend_from_slice(col);
        }
        hex(&hash(&text))
    }

    fn final_v2(rows: u64, columns: &[(&str, &str, [u8; 32])]) -> String {
        outer(b"tenken-day-digest-v2\n", rows, columns, sha)
    }

    /// Version 3's outer hash, with the `blake3` crate directly.
    fn final_v3(rows: u64, columns: &[(&str, &str, [u8; 32])]) -> String {
        outer(b"tenken-day-digest-v3\n", rows, columns, blake)
    }

    fn blake(bytes: &[u8]) -> [u8; 32] {
        *blake3::hash(bytes).as_bytes()
    }

    /// A four-column schema: a dictionary column, a plain string, a timestamp and a
    /// nullable unsigned integer.
    fn schema_v2(keys: DataType) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(
                "op",
                DataType::Dictionary(Box::new(keys), Box::new(DataType::Utf8)),
                true,
            ),
            Field::new("text", DataType::Utf8, true),
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
            Field::new("line", DataType::UInt64, true),
        ]))
    }

    fn batch_v2(
        op: ArrayRef,
        text: &[Option<&str>],
        ts: &[i64],
        line: &[Option<u64>],
    ) -> RecordBatch {
        let keys = match op.data_type() {
            DataType::Dictionary(k, _) => (**k).clone(),
            _ => unreachable!(),
        };
        RecordBatch::try_new(
            schema_v2(keys),
            vec![
                op,
                Arc::new(StringArray::from(text.to_vec())),
                Arc::new(TimestampMillisecondArray::from(ts.to_vec()).with_timezone("UTC")),
                Arc::new(arrow_array::UInt64Array::from(line.to_vec())),
            ],
        )
        .unwrap()
    }

    /// A dictionary column from keys into `values` (`None` keys are null).
    fn dict32(keys: &[Option<i32>], values: &[Option<&str>]) -> ArrayRef {
        let keys = arrow_array::Int32Array::from(keys.to_vec());
        let values = Arc::new(StringArray::from(values.to_vec()));
        Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).unwrap())
    }

    #[test]
    fn v2_follows_the_documented_encoding_across_the_hashing_buffer() {
        let long = "y".repeat(2 * CHUNK + 5);
        // The dictionary has an unused entry, a duplicate value and a null value.
        let dict_values = [Some("B"), Some("unused"), Some("A"), None, Some("A")];
        let keys = [Some(2), Some(0), None, Some(4), Some(3), Some(0), Some(2)];
        let op_values = [
            Some("A"),
            Some("B"),
            None,
            Some("A"),
            None,
            Some("B"),
            Some("A"),
        ];
        let text = [
            Some(long.as_str()),
            None,
            Some(""),
            Some("é"),
            Some("x"),
            None,
            Some("z"),
        ];
        let ts = [1_000, 1_000, 1_250, 900, 1_000_000_000_000, 5, 6];
        let line = [
            Some(3),
            None,
            Some(1),
            Some(u64::MAX),
            Some(0),
            None,
            Some(7),
        ];
        let batch = batch_v2(dict32(&keys, &dict_values), &text, &ts, &line);
        let (rows, got) = digest_batches_with(Version::V2, batch.schema(), [&batch]).unwrap();
        assert_eq!(rows, 7);
        let (_, got_v3) = digest_batches_with(Version::V3, batch.schema(), [&batch]).unwrap();

        // op: first-appearance ids, a new value's bytes after its id.
        let mut op = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for v in op_values {
            match v {
                None => op.push(0),
                Some(v) => match seen.iter().position(|s| *s == v) {
                    Some(id) => leb(&mut op, id as u128 + 1),
                    None => {
                        leb(&mut op, seen.len() as u128 + 1);
                        leb(&mut op, v.len() as u128);
                        op.extend_from_slice(v.as_bytes());
                        seen.push(v);
                    }
                },
            }
        }
        assert_eq!(op, [1, 1, b'A', 2, 1, b'B', 0, 1, 0, 2, 1]);
        let mut tx = Vec::new();
        for v in text {
            match v {
                None => tx.push(0),
                Some(v) => {
                    leb(&mut tx, v.len() as u128 + 1);
                    tx.extend_from_slice(v.as_bytes());
                }
            }
        }
        let deltas = |values: &[Option<i128>]| {
            let mut out = Vec::new();
            let mut prev = 0i128;
            for v in values {
                match v {
                    None => out.push(0),
                    Some(v) => {
                        leb(&mut out, zigzag(v - prev) + 1);
                        prev = *v;
                    }
                }
            }
            out
        };
        let time = deltas(&ts.map(|t| Some(t as i128)));
        let lines = deltas(&line.map(|l| l.map(|l| l as i128)));
        // Hand-checked: 1000 → zigzag 2000 + 1; 0 → 1; 250 → 501; −350 → 700.
        assert_eq!(&time[..7], &[0xd1, 0x0f, 0x01, 0xf5, 0x03, 0xbc, 0x05]);
        let ts_type = logical_type(batch.schema().field(2).data_type());
        let want = final_v2(
            7,
            &[
                ("op", "Dictionary<Utf8>", sha(&op)),
                ("text", "Utf8", sha(&tx)),
                ("timestamp", &ts_type, sha(&time)),
                ("line", "UInt64", sha(&lines)),
            ],
        );
        assert_eq!(got, want);
        // Version 3 hashes the same streams with BLAKE3.
        let want_v3 = final_v3(
            7,
            &[
                ("op", "Dictionary<Utf8>", blake(&op)),
                ("text", "Utf8", blake(&tx)),
                ("timestamp", &ts_type, blake(&time)),
                ("line", "UInt64", blake(&lines)),
            ],
        );
        assert_eq!(got_v3, want_v3);
        assert_ne!(got_v3, got);
    }

    #[test]
    fn v2_does_not_depend_on_keys_dictionaries_or_batches() {
        let op = [Some("A"), Some("B"), None, Some("A"), Some("C"), Some("B")];
        let text = [
            Some("t1"),
            None,
            Some("t3"),
            Some(""),
            Some("t5"),
            Some("t6"),
        ];
        let ts = [10, 11, 11, 12, 20, 21];
        let line = [Some(5), Some(2), None, Some(9), Some(1), Some(1)];
        // The same values four ways: a tidy dictionary; one in another order with unused,
        // duplicate and null entries; Int8 keys; and as the Parquet reader returns them,
        // batch by batch, each with a dictionary of its own.
        let tidy = dict32(
            &[Some(0), Some(1), None, Some(0), Some(2), Some(1)],
            &[Some("A"), Some("B"), Some("C")],
        );
        let messy = dict32(
            &[Some(5), Some(0), Some(3), Some(2), Some(4), Some(0)],
            &[Some("B"), Some("zz"), Some("A"), None, Some("C"), Some("A")],
        );
        let int8: DictionaryArray<Int8Type> = op.iter().copied().collect();
        let a = batch_v2(tidy, &text, &ts, &line);
        let b = batch_v2(messy, &text, &ts, &line);
        let c = batch_v2(Arc::new(int8), &text, &ts, &line);
        let (_, da) = digest_batches(a.schema(), [&a]).unwrap();
        let (_, db) = digest_batches(b.schema(), [&b]).unwrap();
        let (_, dc) = digest_batches(c.schema(), [&c]).unwrap();
        assert_eq!(da, db);
        assert_eq!(da, dc, "the key type is not part of the digest");
        let first = batch_v2(
            dict32(&[Some(1), Some(0), None], &[Some("B"), Some("A")]),
            &text[..3],
            &ts[..3],
            &line[..3],
        );
        let second = batch_v2(
            dict32(
                &[Some(0), Some(2), Some(1)],
                &[Some("A"), Some("B"), Some("C")],
            ),
            &text[3..],
            &ts[3..],
            &line[3..],
        );
        let (rows, dd) = digest_batches(a.schema(), [&first, &second]).unwrap();
        assert_eq!(rows, 6);
        assert_eq!(da, dd);
        // Slices of one batch, as a rollup copies a day row group by row group.
        let (_, de) = digest_batches(
            b.schema(),
            [
                &b.slice(0, 1),
                &b.slice(1, 0),
                &b.slice(1, 4),
                &b.slice(5, 1),
            ],
        )
        .unwrap();
        assert_eq!(da, de);
        // The definitions differ, and so do a dictionary column and a plain one.
        assert_ne!(da, v1(a.schema(), [&a]).unwrap().1);
        let (_, plain) = digest_batches(schema(false), [&plain(&op, &ts)]).unwrap();
        let (_, dict) = digest_batches(
            schema(true),
            [&dictionary(op.iter().copied().collect(), &ts)],
        )
        .unwrap();
        assert_ne!(plain, dict);
    }

    #[test]
    fn v2_any_change_changes_the_digest() {
        let base_op = [Some("A"), Some("B"), Some("A")];
        let base_text = [Some("x"), Some("yy"), None];
        let base_ts = [1, 2, 3];
        let digest = |op: &[Option<&str>], text: &[Option<&str>], ts: &[i64]| {
            let line: Vec<Option<u64>> = vec![Some(1); op.len()];
            let b = batch_v2(
                Arc::new(op.iter().copied().collect::<DictionaryArray<Int32Type>>()),
                text,
                ts,
                &line,
            );
            digest_batches(b.schema(), [&b]).unwrap().1
        };
        let base = digest(&base_op, &base_text, &base_ts);
        for (op, text, ts) in [
            (
                vec![Some("B"), Some("A"), Some("A")],
                base_text.to_vec(),
                base_ts.to_vec(),
            ),
            (
                vec![Some("A"), Some("B"), Some("B")],
                base_text.to_vec(),
                base_ts.to_vec(),
            ),
            (
                vec![Some("A"), Some("B"), None],
                base_text.to_vec(),
                base_ts.to_vec(),
            ),
            (
                vec![Some("A"), Some("B"), Some("")],
                base_text.to_vec(),
                base_ts.to_vec(),
            ),
            (
                vec![Some("A"), Some("BA"), Some("A")],
                base_text.to_vec(),
                base_ts.to_vec(),
            ),
            (
                base_op.to_vec(),
                vec![Some("xy"), Some("y"), None],
                base_ts.to_vec(),
            ),
            (
                base_op.to_vec(),
                vec![Some("x"), Some("yy"), Some("")],
                base_ts.to_vec(),
            ),
            (base_op.to_vec(), base_text.to_vec(), vec![1, 2, 4]),
            (base_op.to_vec(), base_text.to_vec(), vec![2, 1, 3]),
            (
                base_op[..2].to_vec(),
                base_text[..2].to_vec(),
                base_ts[..2].to_vec(),
            ),
        ] {
            assert_ne!(digest(&op, &text, &ts), base, "{op:?} {text:?} {ts:?}");
        }
        assert_eq!(digest(&base_op, &base_text, &base_ts), base);
    }

    #[test]
    fn versions_round_trip_through_their_numbers() {
        for v in [Version::V1, Version::V2, Version::V3] {
            assert_eq!(Version::from_number(v.number()), Some(v));
        }
        assert_eq!(Version::from_number(0), None);
        assert_eq!(Version::from_number(4), None);
        assert_eq!(Version::CURRENT, Version::V3);
        let d = DayDigest::new(schema(false));
        assert_eq!(d.version(), Version::V3);
    }
}
