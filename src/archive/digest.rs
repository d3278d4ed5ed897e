//! The day digest: a content hash of one day's rows that does not depend on how they are
//! stored.
//!
//! The same rows have different bytes in a daily file and in the yearly file that
//! consolidates them (other row groups, pages, dictionaries), so file checksums cannot
//! say whether two levels agree. The day digest hashes the *values*: for every column
//! its logical values in stored row order, dictionaries resolved, in a fixed encoding:
//!
//! * null: the byte `0x00`; a value: `0x01` then the value;
//! * strings and binaries: length (u64, little-endian) then the bytes;
//! * integers, dates, timestamps, floats (their bit patterns): little-endian, at the
//!   column's own width; booleans one byte;
//! * lists: element count (u64) then each element as above.
//!
//! Each column is hashed on its own (SHA-256), so the digest is the same however the rows
//! were split into batches. The digest is SHA-256 over a version tag, the row count, and
//! for each column its name, its logical type (dictionary unwrapped) and its column hash.

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

/// Hex SHA-256.
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

/// Accumulates the digest of one day, batch by batch.
pub struct DayDigest {
    schema: SchemaRef,
    columns: Vec<Sha256>,
    rows: u64,
    buf: Vec<u8>,
}

impl DayDigest {
    pub fn new(schema: SchemaRef) -> DayDigest {
        DayDigest {
            columns: schema.fields().iter().map(|_| Sha256::new()).collect(),
            schema,
            rows: 0,
            buf: vec![0; CHUNK],
        }
    }

    /// Adds the rows of `batch`, which must have the digest's columns in order.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<(), UnsupportedType> {
        for (i, array) in batch.columns().iter().enumerate() {
            let Some(hasher) = self.columns.get_mut(i) else {
                break;
            };
            let name = self.schema.field(i).name();
            let mut sink = Sink {
                buf: &mut self.buf,
                at: 0,
                hasher,
            };
            encode(array, &mut sink, name)?;
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
        let mut h = Sha256::new();
        h.update(b"tenken-day-digest-v1\n");
        h.update(self.rows.to_le_bytes());
        h.update((self.columns.len() as u64).to_le_bytes());
        for (field, col) in self.schema.fields().iter().zip(self.columns) {
            h.update(field.name().as_bytes());
            h.update([0]);
            h.update(logical_type(field.data_type()).as_bytes());
            h.update([0]);
            h.update(col.finalize());
        }
        hex(&h.finalize())
    }
}

/// The digest of rows given as batches of one schema.
pub fn digest_batches<'a>(
    schema: SchemaRef,
    batches: impl IntoIterator<Item = &'a RecordBatch>,
) -> Result<(u64, String), UnsupportedType> {
    let mut d = DayDigest::new(schema);
    for b in batches {
        d.update(b)?;
    }
    Ok((d.rows(), d.finish()))
}

/// The encoded values go to the column's hasher through a fixed buffer, hashed each time
/// it fills: SHA-256 does not care how its input is split, and a whole column's encoding
/// (tens of MB for a day's `detail`) would otherwise be a fresh allocation per file. The
/// buffer is written at a cursor, so a value costs one bounds check and its copies.
struct Sink<'a> {
    buf: &'a mut [u8],
    /// Bytes of `buf` gathered and not hashed yet.
    at: usize,
    hasher: &'a mut Sha256,
}

/// How much encoded text is gathered before it is hashed.
const CHUNK: usize = 64 * 1024;

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

    /// A present variable-length value: its length, then its bytes.
    #[inline]
    fn var(&mut self, bytes: &[u8]) {
        let n = 9 + bytes.len();
        if self.at + n > self.buf.len() {
            self.flush();
            if n > self.buf.len() {
                self.hasher.update([1]);
                self.hasher.update((bytes.len() as u64).to_le_bytes());
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

fn encode(array: &ArrayRef, sink: &mut Sink<'_>, column: &str) -> Result<(), UnsupportedType> {
    let unsupported = || UnsupportedType {
        column: column.to_owned(),
        data_type: array.data_type().to_string(),
    };
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
            let dict = array.as_any_dictionary();
            let plain = arrow_select::take::take(dict.values().as_ref(), dict.keys(), None)
                .map_err(|_| unsupported())?;
            encode(&plain, sink, column)?;
        }
        DataType::Utf8 => bytes!(array.as_string::<i32>(), sink),
        DataType::LargeUtf8 => bytes!(array.as_string::<i64>(), sink),
        DataType::Utf8View => bytes!(array.as_string_view(), sink),
        DataType::Binary => bytes!(array.as_binary::<i32>(), sink),
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
        DataType::List(_) => encode_list(array.as_list::<i32>(), sink, column)?,
        DataType::LargeList(_) => encode_list(array.as_list::<i64>(), sink, column)?,
        _ => return Err(unsupported()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use arrow_array::{DictionaryArray, StringArray, TimestampMillisecondArray};
    use arrow_schema::{Field, Schema};

    use super::*;

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
        let (rows, a) = digest_batches(schema(false), [&whole]).unwrap();
        assert_eq!(rows, 4);
        let (_, b) =
            digest_batches(schema(false), [&whole.slice(0, 1), &whole.slice(1, 3)]).unwrap();
        assert_eq!(a, b);
        let dict_batch = dictionary(values.iter().copied().collect(), &ts);
        let (_, c) = digest_batches(schema(true), [&dict_batch]).unwrap();
        assert_eq!(a, c, "a dictionary column hashes as its values");
    }

    #[test]
    fn a_dictionary_with_other_keys_hashes_as_its_values() {
        let values = [Some("A"), None, Some("B"), Some("A")];
        let ts = [1, 2, 3, 4];
        let (_, a) = digest_batches(schema(false), [&plain(&values, &ts)]).unwrap();
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
        let (_, b) = digest_batches(schema8, [&batch]).unwrap();
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
        let (rows, got) = digest_batches(schema(false), [&plain(&values, &ts)]).unwrap();
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
        let a = digest_batches(schema(false), [&whole]).unwrap();
        let b = digest_batches(schema(true), [&dict_batch]).unwrap();
        assert_eq!(a, b);
        // A sliced dictionary batch hashes as the same rows of the plain one.
        let c = digest_batches(schema(true), [&dict_batch.slice(1, 3)]).unwrap();
        let d = digest_batches(schema(false), [&whole.slice(1, 3)]).unwrap();
        assert_eq!(c, d);
    }

    #[test]
    fn any_change_changes_the_digest() {
        let base = digest_batches(schema(false), [&plain(&[Some("A"), Some("B")], &[1, 2])])
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
            let d = digest_batches(schema(false), [&plain(&values, &ts)])
                .unwrap()
                .1;
            assert_ne!(d, base, "{values:?} {ts:?}");
        }
        let empty = digest_batches(schema(false), std::iter::empty()).unwrap();
        assert_eq!(empty.0, 0);
        assert_ne!(empty.1, base);
    }
}
