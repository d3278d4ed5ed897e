//! The parallel read: files → blocks → newline-aligned chunks → decoders on rayon workers.
//!
//! Files are read concurrently, each worker taking the next file of the caller's order
//! when it is done with one, and each file's blocks in order; each block is cut at
//! newlines into chunks that are decoded in parallel, and the chunks' line numbers are
//! fixed up once their predecessors' line counts are known. Decompression runs on its own
//! thread, one block ahead of the parsers. Results go to the caller's thread through a
//! bounded channel, so memory stays bounded by the blocks in flight, not by the input.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{ArrayRef, RecordBatch, UInt64Array};
use crossbeam_channel::{Sender, bounded};
use rayon::prelude::*;

use super::source::{Block, Blocks, Compression};
use super::walk::InputFile;
use super::{InputError, sniff};
use crate::normalize::schema::col;
use crate::normalize::{DecodeStats, DecoderBuilder, Encoding, Format, Reject};

/// How inputs are read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Force an encoding instead of detecting it.
    pub encoding: Option<Encoding>,
    /// Memory-map plain files (with a fallback to `read`).
    pub mmap: bool,
    /// Bytes per block (a mapped window or a decompressed buffer).
    pub block_size: usize,
    /// Bytes per chunk handed to one decoder.
    pub chunk_size: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            encoding: None,
            mmap: true,
            block_size: 4 << 20,
            chunk_size: 1 << 20,
        }
    }
}

/// What was learned about one file.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    pub format: Option<Format>,
    pub encoding: Option<Encoding>,
    pub compression: Option<Compression>,
    pub stats: DecodeStats,
    /// Bytes of text (after decompression).
    pub text_bytes: u64,
}

/// One message from the readers to the caller.
pub enum Message {
    /// Rows and rejects of one block of file `file` (index into the input list).
    Data {
        file: usize,
        batches: Vec<RecordBatch>,
        rejects: Vec<Reject>,
    },
    /// File `file` is done; `error` says why it stopped early, if it did.
    Done {
        file: usize,
        report: FileReport,
        error: Option<InputError>,
    },
}

/// Reads `files`, calling `on` on the caller's thread for every message, in order per
/// file. `read_bytes` counts on-disk bytes as they are read (for progress). If `on`
/// fails, reading stops and the error is returned.
pub fn read_files<E>(
    files: &[InputFile],
    options: &ReadOptions,
    read_bytes: &Arc<AtomicU64>,
    on: impl FnMut(Message) -> Result<(), E>,
) -> Result<(), E> {
    let order: Vec<usize> = (0..files.len()).collect();
    read_files_in_order(files, &order, options, read_bytes, on)
}

/// Like [`read_files`], starting the files in the order `order` gives (indices into
/// `files`; messages still name files by their index in `files`). Each worker takes the
/// next file when it is done with one, so files finish roughly in that order — what lets
/// the caller release a day once the files that may hold it are read.
pub fn read_files_in_order<E>(
    files: &[InputFile],
    order: &[usize],
    options: &ReadOptions,
    read_bytes: &Arc<AtomicU64>,
    mut on: impl FnMut(Message) -> Result<(), E>,
) -> Result<(), E> {
    let (tx, rx) = bounded::<Message>(1);
    let next = AtomicUsize::new(0);
    // A pool of its own: its workers block while the caller is busy (judging, archiving),
    // which must never starve rayon work elsewhere in the process of its threads.
    let threads = rayon::current_num_threads();
    let own = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("tenken-read-{i}"))
        .build()
        .ok();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let workers = threads.clamp(1, order.len().max(1));
            let work = || {
                rayon::scope(|pool| {
                    for _ in 0..workers {
                        let tx = tx.clone();
                        let next = &next;
                        pool.spawn(move |_| {
                            while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                                let Some(file) = files.get(i) else { continue };
                                let mut report = FileReport::default();
                                let error =
                                    read_file(i, file, options, read_bytes, &tx, &mut report).err();
                                let done = Message::Done {
                                    file: i,
                                    report,
                                    error,
                                };
                                // A closed channel means the caller stopped: take no more files.
                                if tx.send(done).is_err() {
                                    break;
                                }
                            }
                        });
                    }
                })
            };
            // Inside `install`, `rayon::scope` and the chunks' `par_iter` use the own pool.
            match &own {
                Some(pool) => pool.install(work),
                None => work(),
            }
            drop(tx);
        });
        let mut result = Ok(());
        for msg in rx.iter() {
            if let Err(e) = on(msg) {
                result = Err(e);
                break;
            }
        }
        // Dropping the receiver makes every pending send fail, which ends the readers.
        drop(rx);
        result
    })
}

/// The caller stopped listening.
struct Stopped;

fn read_file(
    index: usize,
    file: &InputFile,
    options: &ReadOptions,
    read_bytes: &Arc<AtomicU64>,
    tx: &Sender<Message>,
    report: &mut FileReport,
) -> Result<(), InputError> {
    let mut blocks = Blocks::open(
        file,
        options.mmap,
        options.block_size,
        Arc::clone(read_bytes),
    )?;
    report.compression = Some(blocks.compression());
    let mut state = FileState {
        encoding: options.encoding,
        format: None,
        lines: 0,
        first: true,
    };
    let outcome = if blocks.is_stream() {
        // Decompress (or read) one block ahead on a thread of its own.
        let (btx, brx) = bounded::<Result<Block, InputError>>(1);
        std::thread::scope(|scope| {
            let producer = &mut blocks;
            scope.spawn(move || {
                loop {
                    let next = producer.next_block().transpose();
                    let stop = !matches!(next, Some(Ok(_)));
                    if let Some(item) = next
                        && btx.send(item).is_err()
                    {
                        break;
                    }
                    if stop {
                        break;
                    }
                }
            });
            for item in brx.iter() {
                match item.and_then(|block| state.block(index, file, &block, options, tx, report)) {
                    Ok(Ok(())) => {}
                    Ok(Err(Stopped)) => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    } else {
        loop {
            match blocks.next_block()? {
                None => break Ok(()),
                Some(block) => {
                    if state
                        .block(index, file, &block, options, tx, report)?
                        .is_err()
                    {
                        break Ok(());
                    }
                }
            }
        }
    };
    report.text_bytes = blocks.text_bytes();
    report.format = state.format;
    report.encoding = state.encoding;
    outcome
}

/// What one file's reader knows between blocks.
struct FileState {
    encoding: Option<Encoding>,
    format: Option<Format>,
    /// Lines before the next block.
    lines: u64,
    first: bool,
}

impl FileState {
    /// Decodes one block in parallel chunks and sends the result.
    fn block(
        &mut self,
        index: usize,
        file: &InputFile,
        block: &[u8],
        options: &ReadOptions,
        tx: &Sender<Message>,
        report: &mut FileReport,
    ) -> Result<Result<(), Stopped>, InputError> {
        let file_start = std::mem::take(&mut self.first);
        let format = match self.format {
            Some(f) => f,
            None => match sniff::format(block) {
                sniff::Sniffed::Format(f) => *self.format.insert(f),
                // Blank so far: decode as CSV, which only counts blank lines.
                sniff::Sniffed::Empty => Format::Csv,
                sniff::Sniffed::Unknown => {
                    return Err(InputError::UnknownFormat {
                        path: file.path.clone(),
                        first_line: sniff::first_line(block),
                    });
                }
            },
        };
        if self.encoding.is_none() {
            self.encoding = sniff::encoding(block, file_start);
        }
        let encoding = self.encoding.unwrap_or(Encoding::Utf8);
        let chunks = split_chunks(block, options.chunk_size);
        let outs: Vec<Result<ChunkOut, arrow_schema::ArrowError>> = chunks
            .par_iter()
            .enumerate()
            .map(|(k, chunk)| {
                decode_chunk(chunk, format, encoding, &file.name, file_start && k == 0)
            })
            .collect();
        let mut batches = Vec::new();
        let mut rejects = Vec::new();
        for out in outs {
            let mut out = out.map_err(|e| InputError::Internal {
                path: file.path.clone(),
                source: e,
            })?;
            for b in out.batches {
                batches.push(
                    shift_lines(b, self.lines).map_err(|e| InputError::Internal {
                        path: file.path.clone(),
                        source: e,
                    })?,
                );
            }
            for r in &mut out.rejects {
                r.line += self.lines;
            }
            rejects.append(&mut out.rejects);
            self.lines += out.stats.lines;
            report.stats.add(&out.stats);
        }
        if tx
            .send(Message::Data {
                file: index,
                batches,
                rejects,
            })
            .is_err()
        {
            return Ok(Err(Stopped));
        }
        Ok(Ok(()))
    }
}

struct ChunkOut {
    batches: Vec<RecordBatch>,
    rejects: Vec<Reject>,
    stats: DecodeStats,
}

fn decode_chunk(
    chunk: &[u8],
    format: Format,
    encoding: Encoding,
    name: &Arc<str>,
    file_start: bool,
) -> Result<ChunkOut, arrow_schema::ArrowError> {
    // One batch per chunk: chunks are already sized for the workers.
    let mut d = DecoderBuilder::new(format, Arc::clone(name))
        .with_encoding(encoding)
        .with_file_start(file_start)
        .with_batch_rows(usize::MAX)
        // Exactly the chunk's lines for the fixed-width columns (every day held in memory
        // carries whatever is reserved here), and string room for the chunk's text.
        .with_row_capacity(memchr::memchr_iter(b'\n', chunk).count() + 1)
        .with_text_capacity(chunk.len())
        .build();
    d.decode_final(chunk)?;
    Ok(ChunkOut {
        batches: d.flush()?,
        rejects: d.take_rejects(),
        stats: d.stats(),
    })
}

/// Cuts a block into chunks of about `size` bytes, each ending after a `\n` (the last
/// one at the block's end).
pub fn split_chunks(block: &[u8], size: usize) -> Vec<&[u8]> {
    let size = size.max(1);
    let mut chunks = Vec::with_capacity(block.len() / size + 1);
    let mut rest = block;
    while rest.len() > size {
        let cut = match memchr::memchr(b'\n', &rest[size..]) {
            Some(k) => size + k + 1,
            None => rest.len(),
        };
        let (head, tail) = rest.split_at(cut);
        chunks.push(head);
        rest = tail;
    }
    if !rest.is_empty() {
        chunks.push(rest);
    }
    chunks
}

/// Adds `delta` to a batch's `source_line` column.
fn shift_lines(batch: RecordBatch, delta: u64) -> Result<RecordBatch, arrow_schema::ArrowError> {
    if delta == 0 {
        return Ok(batch);
    }
    let lines = batch.column(col::SOURCE_LINE).as_primitive::<UInt64Type>();
    let shifted: ArrayRef = Arc::new(UInt64Array::from_iter_values(
        lines.values().iter().map(|l| l + delta),
    ));
    let mut columns = batch.columns().to_vec();
    columns[col::SOURCE_LINE] = shifted;
    RecordBatch::try_new(batch.schema(), columns)
}

/// Totals over a whole read.
#[derive(Debug, Clone, Default)]
pub struct ReadTotals {
    pub files: usize,
    pub failed_files: usize,
    pub disk_bytes: u64,
    pub text_bytes: u64,
    pub stats: DecodeStats,
}

impl ReadTotals {
    pub fn add(&mut self, report: &FileReport, failed: bool, disk_bytes: u64) {
        self.files += 1;
        self.failed_files += failed as usize;
        self.disk_bytes += disk_bytes;
        self.text_bytes += report.text_bytes;
        self.stats.add(&report.stats);
    }
}

/// Reads bytes counter helper for callers without a progress bar.
pub fn counter() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(0))
}

/// The current value of a bytes counter.
pub fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_at_newlines_and_cover_the_block() {
        let block = b"aaaa\nbbbbbbbb\ncc\n\ndddd";
        for size in 1..30 {
            let chunks = split_chunks(block, size);
            assert_eq!(chunks.concat(), block);
            for c in &chunks[..chunks.len() - 1] {
                assert_eq!(c.last(), Some(&b'\n'));
            }
        }
        assert!(split_chunks(b"", 4).is_empty());
    }
}
