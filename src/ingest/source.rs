//! Reading one input file as a sequence of blocks of whole lines.
//!
//! Plain files are memory-mapped window by window (falling back to `read` when mapping
//! fails or is switched off); `.gz` and `.zst` files are streamed through their
//! decompressor, never mapped. Compression is recognised by the file's magic bytes, not
//! its name. Every block but the last ends with `\n`, so blocks can be cut into chunks and
//! parsed independently; a line longer than a block makes the block grow.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use memchr::memrchr;
use memmap2::Mmap;

use super::walk::InputFile;
use super::{InputError, mmap};

/// How a file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Recognises gzip (`1f 8b`) and zstd (`28 b5 2f fd`) by their magic bytes.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// The bytes of one block: a mapped window or an owned buffer.
pub enum Block {
    Mapped { map: Mmap, len: usize },
    Owned(Vec<u8>),
}

impl Deref for Block {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Block::Mapped { map, len } => &map[..*len],
            Block::Owned(v) => v,
        }
    }
}

/// Counts the on-disk bytes read, for the progress bar and throughput.
struct Counting<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum Inner {
    Map {
        file: File,
        offset: u64,
        len: u64,
    },
    Stream {
        reader: Box<dyn Read + Send>,
        carry: Vec<u8>,
        eof: bool,
        /// A read error held back until the complete lines before it were handed out.
        failed: Option<std::io::Error>,
    },
}

/// The blocks of one file, in order.
pub struct Blocks {
    inner: Inner,
    name: Arc<str>,
    path: std::path::PathBuf,
    block_size: usize,
    compression: Compression,
    counter: Arc<AtomicU64>,
    /// Decompressed (text) bytes handed out so far.
    text_bytes: u64,
}

impl Blocks {
    /// Opens `file`. `mmap` = false forces reading; `counter` receives on-disk bytes read.
    pub fn open(
        file: &InputFile,
        mmap: bool,
        block_size: usize,
        counter: Arc<AtomicU64>,
    ) -> Result<Blocks, InputError> {
        let io = |source| InputError::Io {
            path: file.path.clone(),
            source,
        };
        let mut f = File::open(&file.path).map_err(io)?;
        let mut head = [0u8; 4];
        let mut got = 0;
        while got < head.len() {
            match f.read(&mut head[got..]).map_err(io)? {
                0 => break,
                n => got += n,
            }
        }
        let compression = Compression::sniff(&head[..got]);
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        let len = f.metadata().map_err(io)?.len();
        let stream = |reader: Box<dyn Read + Send>| Inner::Stream {
            reader,
            carry: Vec::new(),
            eof: false,
            failed: None,
        };
        let counting = |f: File| Counting {
            inner: f,
            counter: Arc::clone(&counter),
        };
        let inner = match compression {
            Compression::None if mmap => Inner::Map {
                file: f,
                offset: 0,
                len,
            },
            Compression::None => stream(Box::new(counting(f))),
            Compression::Gzip => stream(Box::new(flate2::read::MultiGzDecoder::new(
                BufReader::with_capacity(1 << 16, counting(f)),
            ))),
            Compression::Zstd => {
                let d = zstd::stream::read::Decoder::new(counting(f)).map_err(io)?;
                stream(Box::new(d))
            }
        };
        Ok(Blocks {
            inner,
            name: Arc::clone(&file.name),
            path: file.path.clone(),
            block_size: block_size.max(1 << 12),
            compression,
            counter,
            text_bytes: 0,
        })
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Whether blocks come from a decompressor or `read` (worth a prefetch thread).
    pub fn is_stream(&self) -> bool {
        matches!(self.inner, Inner::Stream { .. })
    }

    /// Text bytes (after decompression) handed out so far.
    pub fn text_bytes(&self) -> u64 {
        self.text_bytes
    }

    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The next block, `None` at the end of the file.
    pub fn next_block(&mut self) -> Result<Option<Block>, InputError> {
        let block = match &mut self.inner {
            Inner::Map { file, offset, len } => {
                if *offset >= *len {
                    return Ok(None);
                }
                let mut want = self.block_size as u64;
                loop {
                    let take = want.min(*len - *offset) as usize;
                    let at_end = *offset + take as u64 == *len;
                    let Some(map) = mmap::map_window(file, *offset, take) else {
                        // Mapping refused: continue this file with plain reads from here.
                        let mut f = file.try_clone().map_err(|source| InputError::Io {
                            path: self.path.clone(),
                            source,
                        })?;
                        f.seek(SeekFrom::Start(*offset))
                            .map_err(|source| InputError::Io {
                                path: self.path.clone(),
                                source,
                            })?;
                        self.inner = Inner::Stream {
                            reader: Box::new(Counting {
                                inner: f,
                                counter: Arc::clone(&self.counter),
                            }),
                            carry: Vec::new(),
                            eof: false,
                            failed: None,
                        };
                        return self.next_block();
                    };
                    let cut = if at_end {
                        Some(take)
                    } else {
                        memrchr(b'\n', &map).map(|k| k + 1)
                    };
                    if let Some(cut) = cut {
                        *offset += cut as u64;
                        self.counter.fetch_add(cut as u64, Ordering::Relaxed);
                        break Block::Mapped { map, len: cut };
                    }
                    // One line longer than the window: map a larger one.
                    want = want.saturating_mul(2);
                }
            }
            Inner::Stream {
                reader,
                carry,
                eof,
                failed,
            } => {
                if let Some(source) = failed.take() {
                    return Err(stream_error(
                        self.compression,
                        &self.path,
                        self.text_bytes,
                        source,
                    ));
                }
                if *eof && carry.is_empty() {
                    return Ok(None);
                }
                let mut buf = std::mem::take(carry);
                let mut target = self.block_size.max(buf.len().saturating_mul(2));
                let mut searched = 0;
                loop {
                    if let Err(source) = fill(reader, &mut buf, target, eof) {
                        // Hand out the complete lines read before the failure (the partial
                        // last line is lost); the error comes with the next call.
                        *eof = true;
                        *failed = Some(source);
                        let cut = memrchr(b'\n', &buf).map_or(0, |k| k + 1);
                        buf.truncate(cut);
                        break;
                    }
                    if *eof {
                        break;
                    }
                    if let Some(k) = memrchr(b'\n', &buf[searched..]) {
                        let cut = searched + k + 1;
                        *carry = buf[cut..].to_vec();
                        buf.truncate(cut);
                        break;
                    }
                    // One line longer than the block: read more.
                    searched = buf.len();
                    target = buf.len() * 2;
                }
                if buf.is_empty() && failed.is_some() {
                    let source = failed
                        .take()
                        .unwrap_or_else(|| std::io::Error::other("read failed"));
                    return Err(stream_error(
                        self.compression,
                        &self.path,
                        self.text_bytes,
                        source,
                    ));
                }
                if buf.is_empty() {
                    return Ok(None);
                }
                Block::Owned(buf)
            }
        };
        self.text_bytes += block.len() as u64;
        Ok(Some(block))
    }
}

/// A read error of a stream: a decompression failure names the format and how far it got.
fn stream_error(
    compression: Compression,
    path: &std::path::Path,
    after: u64,
    source: std::io::Error,
) -> InputError {
    match compression {
        Compression::None => InputError::Io {
            path: path.to_path_buf(),
            source,
        },
        c => InputError::Decompress {
            path: path.to_path_buf(),
            format: c.as_str(),
            after,
            source,
        },
    }
}

/// Reads from `reader` until `buf` holds `target` bytes or the stream ends.
fn fill(
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
    target: usize,
    eof: &mut bool,
) -> std::io::Result<()> {
    while !*eof && buf.len() < target {
        let start = buf.len();
        buf.resize(target, 0);
        let read = reader.read(&mut buf[start..]);
        buf.truncate(start + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => *eof = true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn collect(
        path: &std::path::Path,
        mmap: bool,
        block: usize,
    ) -> Result<Vec<Vec<u8>>, InputError> {
        let file = InputFile::new(path.to_path_buf(), 0);
        let mut b = Blocks::open(&file, mmap, block, Arc::new(AtomicU64::new(0)))?;
        let mut out = Vec::new();
        while let Some(x) = b.next_block()? {
            out.push(x.to_vec());
        }
        Ok(out)
    }

    fn sample() -> Vec<u8> {
        let mut s = Vec::new();
        for i in 0..5000 {
            writeln!(s, "line {i} {}", "x".repeat(i % 97)).unwrap();
        }
        s.extend_from_slice(b"last line without newline");
        s
    }

    fn check_blocks(blocks: &[Vec<u8>], whole: &[u8]) {
        assert_eq!(blocks.concat(), whole);
        for b in &blocks[..blocks.len() - 1] {
            assert_eq!(b.last(), Some(&b'\n'));
        }
    }

    #[test]
    fn plain_mapped_and_read_agree() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        let data = sample();
        std::fs::write(&p, &data).unwrap();
        for mmap in [true, false] {
            let blocks = collect(&p, mmap, 4096).unwrap();
            assert!(blocks.len() > 10);
            check_blocks(&blocks, &data);
        }
    }

    #[test]
    fn gzip_multi_member_and_zstd_stream() {
        let dir = tempfile::tempdir().unwrap();
        let data = sample();
        let (a, b) = data.split_at(data.len() / 2);
        let mut gz = Vec::new();
        for part in [a, b] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            gz.extend(e.finish().unwrap());
        }
        let pg = dir.path().join("a.csv.gz");
        std::fs::write(&pg, &gz).unwrap();
        check_blocks(&collect(&pg, true, 4096).unwrap(), &data);
        let pz = dir.path().join("named-wrong.csv");
        std::fs::write(&pz, zstd::encode_all(&data[..], 3).unwrap()).unwrap();
        check_blocks(&collect(&pz, true, 4096).unwrap(), &data);
    }

    #[test]
    fn truncated_gzip_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&sample()).unwrap();
        let gz = e.finish().unwrap();
        let p = dir.path().join("cut.csv.gz");
        std::fs::write(&p, &gz[..gz.len() / 2]).unwrap();
        let err = collect(&p, true, 1 << 20).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("cut.csv.gz") && msg.contains("gzip"), "{msg}");
    }

    #[test]
    fn a_line_longer_than_the_block_grows_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("long.log");
        let mut data = b"short\n".to_vec();
        data.extend(std::iter::repeat_n(b'y', 20_000));
        data.extend_from_slice(b"\nend\n");
        std::fs::write(&p, &data).unwrap();
        for mmap in [true, false] {
            let blocks = collect(&p, mmap, 4096).unwrap();
            check_blocks(&blocks, &data);
        }
    }
}
