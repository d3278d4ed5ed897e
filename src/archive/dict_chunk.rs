//! Dictionary-encoded string column chunks written straight from Arrow dictionary keys.
//!
//! The id columns (terminal, operator, business code, source file, …) reach the writer
//! as Arrow dictionaries already: the day stage interned every value once. arrow-rs's
//! Parquet writer nonetheless hashes every row's string into a fresh dictionary and
//! compares every row's string for the minimum and maximum; on the bench set that was
//! half the time of writing a day file. Here the row work is a key remap and bit
//! packing; hashing, statistics and the Bloom filter cost one step per distinct value.
//!
//! The chunk is laid out as arrow-rs lays out its own: a PLAIN dictionary page, then
//! v1 data pages of RLE_DICTIONARY indices (RLE definition levels in front when the
//! column is nullable), at most `data_page_row_count_limit` rows each, every page
//! compressed with the file's zstd level; chunk statistics, a column index and an
//! offset index per page, and the Bloom filter the properties ask for, built from the
//! distinct values and folded as arrow-rs folds it. The caller splices the encoded
//! bytes into the row group with `append_column`, which moves the recorded offsets.
//!
//! Anything this does not cover — another codec, a dictionary with null values, values
//! longer than the statistics truncation length, a dictionary over the page size limit
//! — answers `None`, and the caller hands the column to arrow-rs unchanged.

use std::ops::Range;

use hashbrown::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::basic::{BoundaryOrder, Compression, Encoding, EncodingMask, PageType};
use parquet::bloom_filter::Sbbf;
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::ParquetError;
use parquet::file::metadata::{
    ColumnChunkMetaData, ColumnIndexBuilder, OffsetIndexBuilder, PageEncodingStats,
};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// An encoded column chunk: its bytes from offset 0, and what the row group records.
pub(crate) struct EncodedChunk {
    pub bytes: Bytes,
    pub close: ColumnCloseResult,
}

/// Encodes column chunks; keeps one zstd context for all of a file's chunks (creating
/// one costs more than compressing a small page).
#[derive(Default)]
pub(crate) struct Encoder {
    zstd: Option<(i32, zstd::bulk::Compressor<'static>)>,
}

impl Encoder {
    fn compressor(
        &mut self,
        level: i32,
    ) -> Result<&mut zstd::bulk::Compressor<'static>, ParquetError> {
        if self.zstd.as_ref().is_none_or(|(l, _)| *l != level) {
            let c = zstd::bulk::Compressor::new(level)
                .map_err(|e| ParquetError::General(format!("zstd level {level}: {e}")))?;
            self.zstd = Some((level, c));
        }
        match self.zstd.as_mut() {
            Some((_, c)) => Ok(c),
            None => Err(ParquetError::General("no zstd context".into())),
        }
    }

    /// Encodes the rows of `parts` (one column's slices, in order) as one column chunk,
    /// or `None` where arrow-rs must write it (see the module comment).
    pub(crate) fn encode(
        &mut self,
        descr: &ColumnDescPtr,
        props: &WriterProperties,
        parts: &[ArrayRef],
    ) -> Result<Option<EncodedChunk>, ParquetError> {
        let path = descr.path();
        let level = match props.compression(path) {
            Compression::ZSTD(level) => Some(level.compression_level()),
            Compression::UNCOMPRESSED => None,
            _ => return Ok(None),
        };
        if !props.dictionary_enabled(path)
            || props.statistics_enabled(path) == EnabledStatistics::None
            || descr.max_rep_level() != 0
            || descr.max_def_level() > 1
        {
            return Ok(None);
        }
        let Some(dict) = Dictionary::build(parts)? else {
            return Ok(None);
        };
        let limit = props
            .column_index_truncate_length()
            .unwrap_or(usize::MAX)
            .min(props.statistics_truncate_length().unwrap_or(usize::MAX));
        if dict.values.iter().any(|v| v.len() > limit)
            || dict.plain_len() > props.column_dictionary_page_size_limit(path)
        {
            return Ok(None);
        }
        if descr.max_def_level() == 0 && dict.nulls > 0 {
            return Err(ParquetError::General(format!(
                "column {path} is required but holds {} nulls",
                dict.nulls
            )));
        }
        let mut compress = |raw: Vec<u8>| -> Result<(Bytes, usize), ParquetError> {
            let n = raw.len();
            Ok(match level {
                Some(l) => (
                    Bytes::from(
                        self.compressor(l)?
                            .compress(&raw)
                            .map_err(|e| ParquetError::General(format!("zstd: {e}")))?,
                    ),
                    n,
                ),
                None => (Bytes::from(raw), n),
            })
        };

        let mut sink = TrackedWrite::new(Vec::<u8>::new());
        let mut specs = Vec::new();
        {
            let mut pages = SerializedPageWriter::new(&mut sink);
            let (buf, raw) = compress(dict.plain())?;
            let dict_page = Page::DictionaryPage {
                buf,
                num_values: dict.values.len() as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            };
            specs.push(pages.write_page(CompressedPage::new(dict_page, raw))?);

            let page_rows = props.column_data_page_row_count_limit(path).max(1);
            let nullable = descr.max_def_level() == 1;
            let width = bits_for(dict.values.len().saturating_sub(1) as u64);
            let mut index = ColumnIndexBuilder::new(descr.physical_type());
            let mut offsets = OffsetIndexBuilder::new();
            let mut order = Order::default();
            let mut seen = vec![u32::MAX; dict.values.len()];
            let mut start = 0;
            let mut page_no = 0u32;
            while start < dict.rows {
                let end = (start + page_rows).min(dict.rows);
                let page = dict.page(start..end, nullable, width, &mut seen, page_no);
                match page.min_max {
                    Some((a, b)) => {
                        order.page(a, b);
                        index.append(false, a.to_vec(), b.to_vec(), page.nulls, None);
                    }
                    None => index.append(true, Vec::new(), Vec::new(), page.nulls, None),
                }
                let raw = page.raw;

                let (buf, raw_len) = compress(raw)?;
                let page = Page::DataPage {
                    buf,
                    num_values: (end - start) as u32,
                    encoding: Encoding::RLE_DICTIONARY,
                    def_level_encoding: Encoding::RLE,
                    rep_level_encoding: Encoding::RLE,
                    statistics: None,
                };
                let spec = pages.write_page(CompressedPage::new(page, raw_len))?;
                offsets.append_offset_and_size(spec.offset as i64, spec.compressed_size as i32);
                offsets.append_row_count((end - start) as i64);
                specs.push(spec);
                start = end;
                page_no += 1;
            }
            pages.close()?;
            index.set_boundary_order(order.finish());

            let data_pages = (specs.len() - 1) as i32;
            let mut meta = ColumnChunkMetaData::builder(descr.clone())
                .set_compression(props.compression(path))
                .set_encodings_mask(EncodingMask::new_from_encodings(
                    [Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY].iter(),
                ))
                .set_page_encoding_stats(vec![
                    PageEncodingStats {
                        page_type: PageType::DICTIONARY_PAGE,
                        encoding: Encoding::PLAIN,
                        count: 1,
                    },
                    PageEncodingStats {
                        page_type: PageType::DATA_PAGE,
                        encoding: Encoding::RLE_DICTIONARY,
                        count: data_pages,
                    },
                ])
                .set_total_compressed_size(specs.iter().map(|s| s.compressed_size as i64).sum())
                .set_total_uncompressed_size(specs.iter().map(|s| s.uncompressed_size as i64).sum())
                .set_num_values(dict.rows as i64)
                .set_dictionary_page_offset(Some(specs[0].offset as i64))
                .set_data_page_offset(specs.get(1).map_or(0, |s| s.offset as i64));
            let (min, max) = dict.min_max();
            let stats = ValueStatistics::<ByteArray>::new(
                min.map(|v| ByteArray::from(v.to_vec())),
                max.map(|v| ByteArray::from(v.to_vec())),
                None,
                Some(dict.nulls as u64),
                false,
            );
            meta = meta.set_statistics(Statistics::ByteArray(stats));

            let bloom_filter = match props.bloom_filter_properties(path) {
                Some(bp) if props.bloom_filter_for_dictionary_encoded_chunks() => {
                    let mut sbbf = Sbbf::new_with_ndv_fpp(bp.ndv(), bp.fpp())?;
                    for v in &dict.values {
                        sbbf.insert(*v);
                    }
                    sbbf.fold_to_target_fpp(bp.fpp());
                    Some(sbbf)
                }
                _ => None,
            };
            let close = ColumnCloseResult {
                bytes_written: sink.bytes_written() as u64,
                rows_written: dict.rows as u64,
                metadata: meta.build()?,
                bloom_filter,
                column_index: index.valid().then(|| index.build()).transpose()?,
                offset_index: (!props.offset_index_disabled()).then(|| offsets.build()),
            };
            let bytes = Bytes::from(sink.into_inner()?);
            Ok(Some(EncodedChunk { bytes, close }))
        }
    }
}

/// One encoded data page before compression, and what its index entry records.
struct DataPage<'a> {
    raw: Vec<u8>,
    min_max: Option<(&'a [u8], &'a [u8])>,
    nulls: i64,
}

/// The distinct values of a column chunk in first-seen order, and each row as an id.
struct Dictionary<'a> {
    values: Vec<&'a [u8]>,
    /// Each row's id, [`NULL`] for a null row.
    ids: Vec<u32>,
    rows: usize,
    nulls: usize,
}

const NULL: u32 = u32::MAX;

impl<'a> Dictionary<'a> {
    fn build(parts: &'a [ArrayRef]) -> Result<Option<Dictionary<'a>>, ParquetError> {
        let rows: usize = parts.iter().map(|p| p.len()).sum();
        let mut d = Dictionary {
            values: Vec::new(),
            ids: Vec::with_capacity(rows),
            rows,
            nulls: 0,
        };
        let mut by_value: HashMap<&'a [u8], u32> = HashMap::new();
        for part in parts {
            if !is_string_dictionary(part.data_type()) {
                return Ok(None);
            }
            let array = part.as_dictionary::<Int32Type>();
            let strings = array.values().as_string::<i32>();
            if strings.null_count() > 0 {
                return Ok(None);
            }
            // Dictionary slot -> id, resolved once per slot a row uses.
            let mut remap = vec![NULL; strings.len()];
            let mut resolve = |key: i32| -> Result<u32, ParquetError> {
                let slot = usize::try_from(key)
                    .ok()
                    .filter(|&s| s < strings.len())
                    .ok_or_else(|| {
                        ParquetError::General(format!("dictionary key {key} out of range"))
                    })?;
                let mut id = remap[slot];
                if id == NULL {
                    let value = strings.value(slot).as_bytes();
                    let next = d.values.len() as u32;
                    id = *by_value.entry(value).or_insert_with(|| {
                        d.values.push(value);
                        next
                    });
                    remap[slot] = id;
                }
                Ok(id)
            };
            let keys = array.keys();
            match keys.nulls().filter(|n| n.null_count() > 0) {
                None => {
                    for &key in keys.values() {
                        d.ids.push(resolve(key)?);
                    }
                }
                Some(nulls) => {
                    d.nulls += nulls.null_count();
                    for (row, &key) in keys.values().iter().enumerate() {
                        d.ids.push(if nulls.is_null(row) {
                            NULL
                        } else {
                            resolve(key)?
                        });
                    }
                }
            }
        }
        Ok(Some(d))
    }

    /// The rows `range` as a v1 data page: definition levels (when `nullable`), then
    /// the bit width and the ids. `seen` marks the ids met on page `page_no`, so that
    /// the page's minimum and maximum cost one comparison per distinct value.
    fn page(
        &self,
        range: Range<usize>,
        nullable: bool,
        width: u8,
        seen: &mut [u32],
        page_no: u32,
    ) -> DataPage<'a> {
        let rows = &self.ids[range];
        let valid: Vec<u32>;
        let ids = if self.nulls == 0 {
            rows
        } else {
            valid = rows.iter().copied().filter(|&id| id != NULL).collect();
            &valid[..]
        };
        let mut raw = Vec::new();
        if nullable {
            let flags: Vec<u32> = rows.iter().map(|&id| u32::from(id != NULL)).collect();
            let mut levels = Vec::new();
            encode_hybrid(&flags, 1, &mut levels);
            raw.extend_from_slice(&(levels.len() as u32).to_le_bytes());
            raw.extend_from_slice(&levels);
        }
        raw.push(width);
        encode_hybrid(ids, width, &mut raw);

        let mut min_max: Option<(&'a [u8], &'a [u8])> = None;
        for &id in ids {
            if seen[id as usize] != page_no {
                seen[id as usize] = page_no;
                let v = self.values[id as usize];
                min_max = Some(match min_max {
                    None => (v, v),
                    Some((a, b)) => (a.min(v), b.max(v)),
                });
            }
        }
        DataPage {
            raw,
            min_max,
            nulls: (rows.len() - ids.len()) as i64,
        }
    }

    /// Bytes of the PLAIN dictionary page.
    fn plain_len(&self) -> usize {
        self.values.iter().map(|v| 4 + v.len()).sum()
    }

    fn plain(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.plain_len());
        for v in &self.values {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v);
        }
        out
    }

    fn min_max(&self) -> (Option<&'a [u8]>, Option<&'a [u8]>) {
        (
            self.values.iter().copied().min(),
            self.values.iter().copied().max(),
        )
    }
}

/// Whether page minima and maxima ascend or descend, as the column index records it
/// (all-null pages do not count; equal neighbours count as both).
#[derive(Default)]
struct Order<'a> {
    last: Option<(&'a [u8], &'a [u8])>,
    descending_broken: bool,
    ascending_broken: bool,
}

impl<'a> Order<'a> {
    fn page(&mut self, min: &'a [u8], max: &'a [u8]) {
        if let Some((lmin, lmax)) = self.last {
            if lmin > min || lmax > max {
                self.ascending_broken = true;
            }
            if lmin < min || lmax < max {
                self.descending_broken = true;
            }
        }
        self.last = Some((min, max));
    }

    fn finish(&self) -> BoundaryOrder {
        match (self.ascending_broken, self.descending_broken) {
            (false, _) => BoundaryOrder::ASCENDING,
            (true, false) => BoundaryOrder::DESCENDING,
            (true, true) => BoundaryOrder::UNORDERED,
        }
    }
}

/// Whether `t` is the Arrow type this module encodes: strings keyed by `Int32`.
pub(crate) fn is_string_dictionary(t: &DataType) -> bool {
    matches!(t, DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8)
}

/// Bits needed to store `max`.
fn bits_for(max: u64) -> u8 {
    (64 - max.leading_zeros()) as u8
}

fn uleb128(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Parquet's RLE / bit-packed hybrid encoding of `n` values of `width` bits: runs of
/// eight or more equal values starting at a group boundary become RLE runs, the rest
/// bit-packed groups of eight (the last padded with zeros).
fn encode_hybrid(values: &[u32], width: u8, out: &mut Vec<u8>) {
    let n = values.len();
    let mut packed_from = 0;
    let mut i = 0;
    while i < n {
        let v = values[i];
        let mut j = i + 1;
        while j < n && values[j] == v {
            j += 1;
        }
        if j - i >= 8 {
            bit_pack(&values[packed_from..i], width, out);
            uleb128(((j - i) as u64) << 1, out);
            let bytes = width.div_ceil(8) as usize;
            out.extend_from_slice(&v.to_le_bytes()[..bytes]);
            i = j;
            packed_from = j;
        } else {
            i = (i + 8).min(n);
        }
    }
    bit_pack(&values[packed_from..n], width, out);
}

/// One bit-packed run of `values` (a multiple of eight unless it ends the data).
fn bit_pack(values: &[u32], width: u8, out: &mut Vec<u8>) {
    if values.is_empty() {
        return;
    }
    let groups = values.len().div_ceil(8);
    uleb128(((groups as u64) << 1) | 1, out);
    let mut acc = 0u64;
    let mut bits = 0u32;
    for g in 0..groups {
        for k in 0..8 {
            let v = values.get(g * 8 + k).copied().unwrap_or(0);
            acc |= u64::from(v) << bits;
            bits += u32::from(width);
            while bits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                bits -= 8;
            }
        }
    }
    debug_assert_eq!(bits, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes the hybrid encoding the way the format describes it.
    fn decode_hybrid(mut data: &[u8], width: u8, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        while out.len() < n {
            let mut header = 0u64;
            let mut shift = 0;
            loop {
                let b = data[0];
                data = &data[1..];
                header |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            if header & 1 == 1 {
                let groups = (header >> 1) as usize;
                let bytes = groups * width as usize;
                let mut acc = 0u64;
                let mut bits = 0u32;
                let mut it = data[..bytes].iter();
                for _ in 0..groups * 8 {
                    while bits < u32::from(width) {
                        acc |= u64::from(*it.next().unwrap()) << bits;
                        bits += 8;
                    }
                    let mask = if width == 0 { 0 } else { (1u64 << width) - 1 };
                    out.push((acc & mask) as u32);
                    acc >>= width;
                    bits -= u32::from(width);
                }
                data = &data[bytes..];
            } else {
                let len = (header >> 1) as usize;
                let bytes = width.div_ceil(8) as usize;
                let mut v = [0u8; 4];
                v[..bytes].copy_from_slice(&data[..bytes]);
                data = &data[bytes..];
                out.extend(std::iter::repeat_n(u32::from_le_bytes(v), len));
            }
        }
        assert!(data.is_empty(), "{} bytes left over", data.len());
        out.truncate(n);
        out
    }

    #[test]
    fn hybrid_round_trips_runs_groups_and_tails() {
        let cases: Vec<(Vec<u32>, u8)> = vec![
            (vec![], 3),
            (vec![5], 3),
            (vec![1; 100], 1),
            (vec![0; 9], 0),
            ((0..37).map(|i| i % 7).collect(), 3),
            (
                [vec![2; 3], vec![7; 20], (0..13).collect(), vec![1; 8]].concat(),
                4,
            ),
            ((0..1000).map(|i| (i * 7919) % 70000).collect(), 17),
        ];
        for (values, width) in cases {
            let mut out = Vec::new();
            encode_hybrid(&values, width, &mut out);
            assert_eq!(
                decode_hybrid(&out, width, values.len()),
                values,
                "width {width}"
            );
        }
    }

    #[test]
    fn a_long_run_becomes_one_rle_run() {
        let mut out = Vec::new();
        encode_hybrid(&[1; 20_000], 1, &mut out);
        // ULEB128 of 40000 takes three bytes, then the one-byte value.
        assert_eq!(out, vec![0xc0, 0xb8, 0x02, 1]);
    }

    #[test]
    fn bits_for_matches_the_dictionary_sizes() {
        assert_eq!(bits_for(0), 0);
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(255), 8);
        assert_eq!(bits_for(256), 9);
    }
}
