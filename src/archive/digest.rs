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
            buf: Vec::new(),
        }
    }

    /// Adds the rows of `batch`, which must have the digest's columns in order.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<(), UnsupportedType> {
        for (i, array) in batch.columns().iter().enumerate() {
            let Some(hasher) = self.columns.get_mut(i) else {
                break;
            };
            self.buf.clear();
            let name = self.schema.field(i).name();
            encode(array, &mut self.buf, name)?;
            hasher.update(&self.buf);
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

fn put_len(buf: &mut Vec<u8>, n: usize) {
    buf.extend_from_slice(&(n as u64).to_le_bytes());
}

macro_rules! primitive {
    ($array:expr, $buf:expr, $t:ty) => {{
        let a = $array.as_primitive::<$t>();
        for i in 0..a.len() {
            if a.is_null(i) {
                $buf.push(0);
            } else {
                $buf.push(1);
                $buf.extend_from_slice(&a.value(i).to_le_bytes());
            }
        }
    }};
}

fn encode(array: &ArrayRef, buf: &mut Vec<u8>, column: &str) -> Result<(), UnsupportedType> {
    let unsupported = || UnsupportedType {
        column: column.to_owned(),
        data_type: array.data_type().to_string(),
    };
    match array.data_type() {
        DataType::Dictionary(_, _) => {
            let dict = array.as_any_dictionary();
            // Materialise the values in row order; null keys become null values.
            let plain = arrow_select::take::take(dict.values().as_ref(), dict.keys(), None)
                .map_err(|_| unsupported())?;
            encode(&plain, buf, column)?;
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            for i in 0..a.len() {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    let v = a.value(i).as_bytes();
                    buf.push(1);
                    put_len(buf, v.len());
                    buf.extend_from_slice(v);
                }
            }
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            for i in 0..a.len() {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    let v = a.value(i).as_bytes();
                    buf.push(1);
                    put_len(buf, v.len());
                    buf.extend_from_slice(v);
                }
            }
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            for i in 0..a.len() {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    let v = a.value(i).as_bytes();
                    buf.push(1);
                    put_len(buf, v.len());
                    buf.extend_from_slice(v);
                }
            }
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            for i in 0..a.len() {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    let v = a.value(i);
                    buf.push(1);
                    put_len(buf, v.len());
                    buf.extend_from_slice(v);
                }
            }
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            for i in 0..a.len() {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    buf.push(1);
                    buf.push(a.value(i) as u8);
                }
            }
        }
        DataType::Int8 => primitive!(array, buf, Int8Type),
        DataType::Int16 => primitive!(array, buf, Int16Type),
        DataType::Int32 => primitive!(array, buf, Int32Type),
        DataType::Int64 => primitive!(array, buf, Int64Type),
        DataType::UInt8 => primitive!(array, buf, UInt8Type),
        DataType::UInt16 => primitive!(array, buf, UInt16Type),
        DataType::UInt32 => primitive!(array, buf, UInt32Type),
        DataType::UInt64 => primitive!(array, buf, UInt64Type),
        DataType::Date32 => primitive!(array, buf, Date32Type),
        DataType::Date64 => primitive!(array, buf, Date64Type),
        DataType::Timestamp(TimeUnit::Second, _) => primitive!(array, buf, TimestampSecondType),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            primitive!(array, buf, TimestampMillisecondType)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            primitive!(array, buf, TimestampMicrosecondType)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            primitive!(array, buf, TimestampNanosecondType)
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            for i in 0..a.len() {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    buf.push(1);
                    buf.extend_from_slice(&a.value(i).to_bits().to_le_bytes());
                }
            }
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            for i in 0..a.len() {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    buf.push(1);
                    buf.extend_from_slice(&a.value(i).to_bits().to_le_bytes());
                }
            }
        }
        DataType::List(_) => {
            let a = array.as_list::<i32>();
            for i in 0..a.len() {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    let v: Arc<dyn Array> = a.value(i);
                    buf.push(1);
                    put_len(buf, v.len());
                    encode(&v, buf, column)?;
                }
            }
        }
        DataType::LargeList(_) => {
            let a = array.as_list::<i64>();
            for i in 0..a.len() {
                if a.is_null(i) {
                    buf.push(0);
                } else {
                    let v: Arc<dyn Array> = a.value(i);
                    buf.push(1);
                    put_len(buf, v.len());
                    encode(&v, buf, column)?;
                }
            }
        }
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
        let dict: DictionaryArray<Int32Type> = values.iter().copied().collect();
        let dict_batch = RecordBatch::try_new(
            schema(true),
            vec![
                Arc::new(dict),
                Arc::new(TimestampMillisecondArray::from(ts.to_vec()).with_timezone("UTC")),
            ],
        )
        .unwrap();
        let (_, c) = digest_batches(schema(true), [&dict_batch]).unwrap();
        assert_eq!(a, c, "a dictionary column hashes as its values");
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
