//! The findings file of `cli.md`: `.csv`, `.jsonl` or `.parquet` by extension.
//!
//! Columns `rule_id,severity,event_id,timestamp,operator_id,terminal_id,office,message,
//! evidence`; rows sorted by timestamp, rule id, event id; timestamps ISO 8601 in +09:00
//! (CSV, JSON Lines) or `Timestamp(ms, "UTC")` (Parquet); evidence joined by `;` (CSV) or
//! a list. The file is written to a temporary file in the same folder and renamed over the
//! target, so a crash never leaves half a findings file behind.

use std::io::{BufWriter, Write};
use std::path::Path;

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use super::batch::{FILE_COLUMNS, to_file_batch};
use super::{Finding, FindingsError, Lang, Spool, message};
use crate::time;

/// The format of a findings file: the one output-file rule of `cli.md`.
pub use crate::output::OutputFormat as Format;

fn format_of(path: &Path) -> Result<Format, FindingsError> {
    Format::from_path(path).map_err(|_| FindingsError::UnknownExtension {
        path: path.to_owned(),
    })
}

/// The findings in file order.
fn ordered(findings: &[Finding]) -> Vec<&Finding> {
    let mut v: Vec<&Finding> = findings.iter().collect();
    v.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    v
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> FindingsError + '_ {
    move |source| FindingsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes the findings file at `path`, its format chosen by the extension.
pub fn write(path: &Path, findings: &[Finding], lang: Lang) -> Result<(), FindingsError> {
    write_with(path, lang, |sink| sink.rows(&ordered(findings)))
}

/// Writes the findings file at `path` from a spool, merging its runs as it goes.
pub fn write_spool(path: &Path, spool: Spool, lang: Lang) -> Result<(), FindingsError> {
    write_with(path, lang, |sink| {
        spool.drain_sorted(PARQUET_BATCH, |part| {
            sink.rows(&part.iter().collect::<Vec<_>>())
        })
    })
}

fn write_with(
    path: &Path,
    lang: Lang,
    fill: impl FnOnce(&mut Sink<&mut BufWriter<&std::fs::File>>) -> Result<(), FindingsError>,
) -> Result<(), FindingsError> {
    let format = format_of(path)?;
    let out_err = |e: crate::output::OutputError| match e {
        crate::output::OutputError::Io { path, source } => FindingsError::Io { path, source },
        crate::output::OutputError::UnknownExtension { path } => {
            FindingsError::UnknownExtension { path }
        }
    };
    let file = crate::output::AtomicFile::create(path).map_err(out_err)?;
    {
        let mut w = BufWriter::new(file.file());
        let mut sink = Sink::new(&mut w, format, lang).map_err(|e| e.at(path))?;
        fill(&mut sink).map_err(|e| e.at(path))?;
        sink.finish().map_err(|e| e.at(path))?;
        w.flush().map_err(io_error(path))?;
    }
    file.commit().map_err(out_err)
}

/// Writes findings in `format` to any writer.
pub fn write_to<W: Write + Send>(
    w: W,
    format: Format,
    findings: &[Finding],
    lang: Lang,
) -> Result<(), FindingsError> {
    let mut sink = Sink::new(w, format, lang)?;
    sink.rows(&ordered(findings))?;
    sink.finish()
}

/// CSV, UTF-8, with the header of `cli.md`.
pub fn write_csv<W: Write + Send>(
    w: W,
    findings: &[Finding],
    lang: Lang,
) -> Result<(), FindingsError> {
    write_to(w, Format::Csv, findings, lang)
}

/// JSON Lines: absent values are `null`, evidence an array.
pub fn write_jsonl<W: Write + Send>(
    w: W,
    findings: &[Finding],
    lang: Lang,
) -> Result<(), FindingsError> {
    write_to(w, Format::Jsonl, findings, lang)
}

/// Parquet, zstd, batches of 64 Ki findings.
pub fn write_parquet<W: Write + Send>(
    w: W,
    findings: &[Finding],
    lang: Lang,
) -> Result<(), FindingsError> {
    write_to(w, Format::Parquet, findings, lang)
}

/// Findings per Parquet batch (and per chunk taken from a spool).
const PARQUET_BATCH: usize = 65_536;

/// One JSON object per line, the keys in file-column order.
#[derive(Serialize)]
struct JsonRow<'a> {
    rule_id: &'a str,
    severity: &'a str,
    event_id: &'a str,
    timestamp: String,
    operator_id: Option<&'a str>,
    terminal_id: Option<&'a str>,
    office: Option<&'a str>,
    message: String,
    evidence: &'a [String],
}

fn encode_error(e: impl std::fmt::Display) -> FindingsError {
    FindingsError::Encode {
        path: None,
        message: e.to_string(),
    }
}

/// A findings file being written: rows go in already in file order.
pub(crate) enum Sink<W: Write + Send> {
    Csv(Box<csv::Writer<W>>, Lang),
    Jsonl(W, Lang),
    Parquet(Box<ArrowWriter<W>>, Lang),
}

impl<W: Write + Send> Sink<W> {
    fn new(w: W, format: Format, lang: Lang) -> Result<Sink<W>, FindingsError> {
        Ok(match format {
            Format::Csv => {
                let mut out = csv::Writer::from_writer(w);
                out.write_record(FILE_COLUMNS).map_err(encode_error)?;
                Sink::Csv(Box::new(out), lang)
            }
            Format::Jsonl => Sink::Jsonl(w, lang),
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                let out = ArrowWriter::try_new(w, super::batch::file_schema(), Some(props))
                    .map_err(encode_error)?;
                Sink::Parquet(Box::new(out), lang)
            }
        })
    }

    fn rows(&mut self, rows: &[&Finding]) -> Result<(), FindingsError> {
        match self {
            Sink::Csv(out, lang) => {
                for f in rows {
                    let ts = time::format_jst(f.timestamp);
                    let msg = message(f, *lang);
                    let evidence = f.evidence.join(";");
                    out.write_record([
                        f.rule.as_str(),
                        f.severity().as_str(),
                        &f.event_id,
                        &ts,
                        f.operator_id.as_deref().unwrap_or(""),
                        f.terminal_id.as_deref().unwrap_or(""),
                        f.office.as_deref().unwrap_or(""),
                        &msg,
                        &evidence,
                    ])
                    .map_err(encode_error)?;
                }
            }
            Sink::Jsonl(w, lang) => {
                for f in rows {
                    let row = JsonRow {
                        rule_id: f.rule.as_str(),
                        severity: f.severity().as_str(),
                        event_id: &f.event_id,
                        timestamp: time::format_jst(f.timestamp),
                        operator_id: f.operator_id.as_deref(),
                        terminal_id: f.terminal_id.as_deref(),
                        office: f.office.as_deref(),
                        message: message(f, *lang),
                        evidence: &f.evidence,
                    };
                    serde_json::to_writer(&mut *w, &row).map_err(encode_error)?;
                    w.write_all(b"\n").map_err(encode_error)?;
                }
            }
            Sink::Parquet(out, lang) => {
                for chunk in rows.chunks(PARQUET_BATCH) {
                    out.write(&to_file_batch(chunk, *lang)?)
                        .map_err(encode_error)?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(), FindingsError> {
        match self {
            Sink::Csv(mut out, _) => out.flush().map_err(encode_error),
            Sink::Jsonl(mut w, _) => w.flush().map_err(encode_error),
            Sink::Parquet(out, _) => out.close().map(|_| ()).map_err(encode_error),
        }
    }
}
