//! Reading operation-log files: finding them, mapping or decompressing them, telling their
//! format and encoding, and cutting them into newline-aligned chunks for parallel parsing.
//!
//! [`walk`] expands the paths a reviewer gives into files; [`dates`] tells, before a file
//! is parsed, which local dates its events can fall on; [`source`] turns one file into
//! blocks of whole lines (memory-mapped windows, or decompressed buffers for `.gz`/`.zst`);
//! [`sniff`] recognises format and encoding; [`pipeline`] runs the whole read in parallel
//! and hands batches and rejects to the caller. The only `unsafe` of tenken is in `mmap`.

pub mod dates;
pub(crate) mod mmap;
pub mod pipeline;
pub mod sniff;
pub mod source;
pub mod walk;

use std::path::PathBuf;

pub use pipeline::{FileReport, Message, ReadOptions, ReadTotals, read_files, read_files_in_order};
pub use source::Compression;
pub use walk::{InputFile, discover};

/// An input that cannot be read at all (as opposed to a bad line, which is a reject).
/// Every variant names the file; the other inputs are still processed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: the {format} stream is truncated or corrupt after {after} bytes of text: {source} (the lines before were read)", path.display())]
    Decompress {
        path: PathBuf,
        format: &'static str,
        after: u64,
        source: std::io::Error,
    },
    #[error("{}: not an operation log: neither the oplog-csv v1 header nor key-value lines (first line: {first_line:?})", path.display())]
    UnknownFormat { path: PathBuf, first_line: String },
    #[error("{}: no *.csv or *.log files (optionally .gz or .zst) below this folder", path.display())]
    NoLogs { path: PathBuf },
    #[error("{}: internal error while building columns: {source}", path.display())]
    Internal {
        path: PathBuf,
        source: arrow_schema::ArrowError,
    },
}
