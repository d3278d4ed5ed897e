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
use super::{Finding, FindingsError, Lang, message};
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
        write_to(&mut w, format, findings, lang).map_err(|e| e.at(path))?;
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
    match format {
        Format::Csv => write_csv(w, findings, lang),
        Format::Jsonl => write_jsonl(w, findings, lang),
        Format::Parquet => write_parquet(w, findings, lang),
    }
}

/// CSV, UTF-8, with the header of `cli.md`.
pub fn write_csv<W: Write>(w: W, findings: &[Finding], lang: Lang) -> Result<(), FindingsError> {
    let encode = |e: csv::Error| FindingsError::Encode {
        path: None,
        message: e.to_string(),
    };
    let mut out = csv::Writer::from_writer(w);
    out.write_record(FILE_COLUMNS).map_err(encode)?;
    for f in ordered(findings) {
        let ts = time::format_jst(f.timestamp);
        let msg = message(f, lang);
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
        .map_err(encode)?;
    }
    out.flush().map_err(|e| FindingsError::Encode {
        path: None,
        message: e.to_string(),
    })
}

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

/// JSON Lines: absent values are `null`, evidence an array.
pub fn write_jsonl<W: Write>(
    mut w: W,
    findings: &[Finding],
    lang: Lang,
) -> Result<(), FindingsError> {
    for f in ordered(findings) {
        let row = JsonRow {
            rule_id: f.rule.as_str(),
            severity: f.severity().as_str(),
            event_id: &f.event_id,
            timestamp: time::format_jst(f.timestamp),
            operator_id: f.operator_id.as_deref(),
            terminal_id: f.terminal_id.as_deref(),
            office: f.office.as_deref(),
            message: message(f, lang),
            evidence: &f.evidence,
        };
        serde_json::to_writer(&mut w, &row).map_err(|e| FindingsError::Encode {
            path: None,
            message: e.to_string(),
        })?;
        w.write_all(b"\n").map_err(|e| FindingsError::Encode {
            path: None,
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// Parquet, zstd, one row group per 64 Ki findings.
pub fn write_parquet<W: Write + Send>(
    w: W,
    findings: &[Finding],
    lang: Lang,
) -> Result<(), FindingsError> {
    let encode = |e: parquet::errors::ParquetError| FindingsError::Encode {
        path: None,
        message: e.to_string(),
    };
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut out =
        ArrowWriter::try_new(w, super::batch::file_schema(), Some(props)).map_err(encode)?;
    let rows = ordered(findings);
    for chunk in rows.chunks(65_536) {
        out.write(&to_file_batch(chunk, lang)?).map_err(encode)?;
    }
    out.close().map_err(encode)?;
    Ok(())
}
