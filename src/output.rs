//! Output files that batch jobs read: the format follows the extension (`.csv`, `.jsonl`,
//! `.parquet`), and a file appears whole or not at all (written to a temporary file in
//! the same folder, synced, then renamed), so a crash never leaves half a file.
//!
//! The rejects file is written here, streamed: rejected lines are written as they come,
//! so a badly broken input costs disk, not memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::normalize::Reject;

/// A file format chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Csv,
    Jsonl,
    Parquet,
}

/// An output file cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{}: unknown extension (use .csv, .jsonl or .parquet)", path.display())]
    UnknownExtension { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl OutputFormat {
    /// The format a path's extension names (case-insensitive).
    pub fn from_path(path: &Path) -> Result<OutputFormat, OutputError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(OutputFormat::Csv),
            Some("jsonl") => Ok(OutputFormat::Jsonl),
            Some("parquet") => Ok(OutputFormat::Parquet),
            _ => Err(OutputError::UnknownExtension {
                path: path.to_owned(),
            }),
        }
    }
}

/// A file being written next to its final path; [`AtomicFile::commit`] renames it into
/// place, dropping it without committing removes it.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile, OutputError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".tenken-")
            .tempfile_in(&dir)
            .map_err(|source| OutputError::Io {
                path: path.to_owned(),
                source,
            })?;
        Ok(AtomicFile {
            tmp,
            path: path.to_owned(),
        })
    }

    pub fn file(&self) -> &File {
        self.tmp.as_file()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Syncs and renames the file into place.
    pub fn commit(self) -> Result<(), OutputError> {
        let path = self.path;
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|source| OutputError::Io {
                path: path.clone(),
                source,
            })?;
        self.tmp.persist(&path).map_err(|e| OutputError::Io {
            path,
            source: e.error,
        })?;
        Ok(())
    }
}

/// Writes a whole file atomically, its content produced by `write`.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    let file = AtomicFile::create(path)?;
    {
        let mut w = BufWriter::new(file.file());
        write(&mut w)
            .and_then(|()| w.flush())
            .map_err(|source| OutputError::Io {
                path: path.to_owned(),
                source,
            })?;
    }
    file.commit()
}

fn rejects_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("file", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("raw", DataType::Utf8, false),
    ]))
}

/// Rows of a Parquet rejects file buffered before a batch is written.
const PARQUET_BATCH: usize = 8192;

enum Sink {
    Csv(Box<csv::Writer<BufWriter<File>>>),
    Jsonl(BufWriter<File>),
    Parquet {
        writer: Box<ArrowWriter<BufWriter<File>>>,
        pending: Vec<Reject>,
    },
}

/// The rejects file (`file,line,reason,raw`), written as rejects arrive.
pub struct RejectsWriter {
    file: AtomicFile,
    sink: Sink,
    rows: u64,
}

impl RejectsWriter {
    pub fn create(path: &Path) -> Result<RejectsWriter, OutputError> {
        let format = OutputFormat::from_path(path)?;
        let file = AtomicFile::create(path)?;
        let io = |source| OutputError::Io {
            path: path.to_owned(),
            source,
        };
        let handle = file.file().try_clone().map_err(io)?;
        let out = BufWriter::with_capacity(1 << 16, handle);
        let sink = match format {
            OutputFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(["file", "line", "reason", "raw"])
                    .map_err(|e| io(csv_io(e)))?;
                Sink::Csv(Box::new(w))
            }
            OutputFormat::Jsonl => Sink::Jsonl(out),
            OutputFormat::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                let writer = ArrowWriter::try_new(out, rejects_schema(), Some(props))
                    .map_err(|e| io(std::io::Error::other(e)))?;
                Sink::Parquet {
                    writer: Box::new(writer),
                    pending: Vec::new(),
                }
            }
        };
        Ok(RejectsWriter {
            file,
            sink,
            rows: 0,
        })
    }

    /// Appends rejects (already in file and line order).
    pub fn write(&mut self, rejects: &[Reject]) -> Result<(), OutputError> {
        let path = self.file.path().to_owned();
        let io = |source| OutputError::Io {
            path: path.clone(),
            source,
        };
        self.rows += rejects.len() as u64;
        match &mut self.sink {
            Sink::Csv(w) => {
                for r in rejects {
                    w.write_record([&*r.file, &r.line.to_string(), r.reason.as_str(), &r.raw])
                        .map_err(|e| io(csv_io(e)))?;
                }
            }
            Sink::Jsonl(w) => {
                for r in rejects {
                    let row = serde_json::json!({"file": &*r.file, "line": r.line, "reason": r.reason.as_str(), "raw": r.raw});
                    serde_json::to_writer(&mut *w, &row).map_err(|e| io(e.into()))?;
                    w.write_all(b"\n").map_err(io)?;
                }
            }
            Sink::Parquet { writer, pending } => {
                pending.extend_from_slice(rejects);
                if pending.len() >= PARQUET_BATCH {
                    let batch = rejects_batch(pending).map_err(|e| io(std::io::Error::other(e)))?;
                    writer
                        .write(&batch)
                        .map_err(|e| io(std::io::Error::other(e)))?;
                    pending.clear();
                }
            }
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Finishes and renames the file into place.
    pub fn finish(self) -> Result<(), OutputError> {
        let path = self.file.path().to_owned();
        let io = |source| OutputError::Io {
            path: path.clone(),
            source,
        };
        match self.sink {
            Sink::Csv(w) => {
                let mut inner = w
                    .into_inner()
                    .map_err(|e| io(std::io::Error::other(e.to_string())))?;
                inner.flush().map_err(io)?;
            }
            Sink::Jsonl(mut w) => w.flush().map_err(io)?,
            Sink::Parquet {
                mut writer,
                pending,
            } => {
                if !pending.is_empty() {
                    let batch =
                        rejects_batch(&pending).map_err(|e| io(std::io::Error::other(e)))?;
                    writer
                        .write(&batch)
                        .map_err(|e| io(std::io::Error::other(e)))?;
                }
                let mut inner = writer
                    .into_inner()
                    .map_err(|e| io(std::io::Error::other(e)))?;
                inner.flush().map_err(io)?;
            }
        }
        self.file.commit()
    }
}

fn csv_io(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

fn rejects_batch(rejects: &[Reject]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let mut file = StringBuilder::new();
    let mut line = UInt64Builder::with_capacity(rejects.len());
    let mut reason = StringBuilder::new();
    let mut raw = StringBuilder::new();
    for r in rejects {
        file.append_value(&*r.file);
        line.append_value(r.line);
        reason.append_value(r.reason.as_str());
        raw.append_value(&r.raw);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(file.finish()),
        Arc::new(line.finish()),
        Arc::new(reason.finish()),
        Arc::new(raw.finish()),
    ];
    RecordBatch::try_new(rejects_schema(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::RejectReason;

    fn sample() -> Vec<Reject> {
        vec![
            Reject {
                file: "logs/a.csv".into(),
                line: 3,
                reason: RejectReason::Timestamp,
                raw: "E1,bad,\"x\"".into(),
            },
            Reject {
                file: "logs/a.csv".into(),
                line: 9,
                reason: RejectReason::Encoding,
                raw: "E2,\\xFF".into(),
            },
        ]
    }

    #[test]
    fn csv_and_jsonl_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rejects.csv");
        let mut w = RejectsWriter::create(&p).unwrap();
        w.write(&sample()).unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "file,line,reason,raw\nlogs/a.csv,3,timestamp,\"E1,bad,\"\"x\"\"\"\nlogs/a.csv,9,encoding,\"E2,\\xFF\"\n"
        );
        let p = dir.path().join("rejects.jsonl");
        let mut w = RejectsWriter::create(&p).unwrap();
        w.write(&sample()).unwrap();
        w.finish().unwrap();
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[1]["reason"], "encoding");
        assert_eq!(lines[1]["line"], 9);
    }

    #[test]
    fn parquet_rejects_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.parquet");
        let mut w = RejectsWriter::create(&p).unwrap();
        w.write(&sample()).unwrap();
        w.finish().unwrap();
        let f = File::open(&p).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, 2);
    }

    #[test]
    fn unknown_extension_and_uncommitted_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            RejectsWriter::create(&dir.path().join("r.txt")),
            Err(OutputError::UnknownExtension { .. })
        ));
        let f = AtomicFile::create(&dir.path().join("x.csv")).unwrap();
        drop(f);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "an uncommitted file leaves nothing"
        );
    }
}
