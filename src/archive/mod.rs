//! The Parquet archive of `archive.md`: Hive-partitioned events and findings at four
//! levels, a hash-chained manifest, rollups, retention, verification, crash safety.
//!
//! ```text
//! ROOT/archive.toml                          retention and Parquet settings (optional)
//! ROOT/manifest.jsonl                        one hash-chained line per transaction
//! ROOT/events/daily/year=2026/month=4/day=1/part-0.parquet
//! ROOT/events/weekly/year=2026/week=14/part-0.parquet      ISO week-year and week
//! ROOT/events/monthly/year=2026/month=4/part-0.parquet
//! ROOT/events/yearly/year=2026/part-0.parquet
//! ROOT/findings/…                            the same four levels
//! ROOT/state/2026-04-01.state.zst            the rule engine's state after that day
//! ROOT/reviews/…                             review records (a later issue)
//! ROOT/.staging/txn-N/…                      files of a transaction being committed
//! ROOT/.lock                                 the writer lock (pid and start time)
//! ```
//!
//! Each partition holds exactly one file with a fixed name, so replacing it is one
//! atomic rename. A daily file holds one day; a rollup file holds the days of its period
//! back to back in day order, each day's rows as the daily file had them, and the
//! manifest records each day's row count and content digest ([`digest`]), which is how a
//! day is found inside a rollup file and how levels are compared.
//!
//! * [`Archive`] opens an archive for reading or (with the lock) writing;
//!   [`Transaction`] writes days and states atomically ([`store`]);
//! * [`Archive::rollup`] builds the levels and applies retention ([`rollup`]);
//! * [`verify`](verify::verify) checks it all ([`verify`](mod@verify));
//! * [`probe`](probe::probe) counts what a point lookup can skip ([`probe`](mod@probe)).
//!
//! ## Stored schema (version 1)
//!
//! Events are stored with the columns of [`crate::normalize::schema`] (schema version
//! [`crate::normalize::schema::SCHEMA_VERSION`]), unchanged; `timestamp` is
//! `TIMESTAMP(MILLIS, isAdjustedToUTC = true)`, the id columns are dictionary encoded.
//! Findings are stored as the rule engine's findings batch (`rule_id`, `severity`,
//! `event_id`, `timestamp`, `operator_id`, `terminal_id`, `office`, `message`,
//! `message_en`, `evidence` List<Utf8>, `judged_on` Date32, `facts` Utf8), version
//! [`FINDINGS_SCHEMA_VERSION`]. Every file's Parquet key-value metadata carries
//! `tenken.schema_version`, `tenken.kind`, `tenken.level` and `tenken.period`.

pub mod config;
mod dict_chunk;
pub mod digest;
mod fsutil;
mod lock;
pub mod manifest;
mod parquet_io;
pub mod period;
pub mod probe;
pub mod rollup;
pub mod store;
pub mod synthetic;
pub mod verify;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

pub use config::{ArchiveConfig, ParquetSettings, Retention};
pub use fsutil::{FAILPOINT_ENV, FAILPOINTS};
pub use lock::LOCK_FILE;
pub use period::{Kind, Level, Period};
pub use probe::{ProbeStats, probe};
pub use rollup::{Built, Progress, Removed, RollupReport, aged_out};
pub use store::{Archive, DayJob, DayLoc, StagedFile, StateJob, Transaction};
pub use verify::{Problem, VerifyOptions, VerifyReport, verify, verify_with};

use crate::time::{self, Day};

/// The version of the findings layout stored in `findings/` files.
pub const FINDINGS_SCHEMA_VERSION: u32 = 1;

/// The one data file of every partition.
pub const PART_FILE: &str = "part-0.parquet";

/// The archive cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    /// `archive.toml` does not parse.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Config {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// `archive.toml` has a value that cannot work.
    #[error("{}: {key} = {value}: {why}", path.display())]
    ConfigValue {
        path: PathBuf,
        key: String,
        value: String,
        why: String,
    },
    /// A manifest line does not parse.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Manifest {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The manifest chain is broken: nothing is written to such an archive.
    #[error(
        "archive {} has a damaged manifest ({problems} problem(s), the first: {first}); run `tenken verify --archive {}`; nothing was written",
        root.display(), root.display()
    )]
    Broken {
        root: PathBuf,
        problems: usize,
        first: String,
    },
    #[error("archive {} is being written by another tenken ({holder})", root.display())]
    Locked { root: PathBuf, holder: String },
    #[error(
        "archive {} is being written by another tenken ({holder}); gave up after waiting {waited_secs} s",
        root.display()
    )]
    LockTimeout {
        root: PathBuf,
        holder: String,
        waited_secs: u64,
    },
    #[error("archive {} was opened for reading; open it for writing to change it", root.display())]
    ReadOnly { root: PathBuf },
    /// A batch handed to `put_day` cannot be stored as that day.
    #[error("{kind} of {day}: the batch {message}")]
    Batch {
        kind: Kind,
        day: String,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    /// A data file does not hold what the manifest says.
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("internal error ({context}): {message}")]
    Internal { context: String, message: String },
}

fn parse_day_arg(s: &str) -> Result<Day, String> {
    time::parse_day(s).ok_or_else(|| format!("`{s}` is not a date YYYY-MM-DD"))
}

const ROLLUP_HELP: &str = "\
Builds each weekly, monthly and yearly file whose period has ended and that is missing
or stale (late logs), then removes what has aged out of archive.toml's retention and is
held by the level above. Exit status: 0 done, 2 an error (nothing half-done is left:
every file is one atomic transaction). The archive folder must exist: `tenken ingest`
creates it, and a mistyped path is an error, not a new empty archive.

Examples:

  tenken rollup --archive /archive/tenken                     # as of today (Japan time)
  tenken rollup --archive /archive/tenken --now 2027-01-01    # as if run on that date
  tenken rollup --archive /archive/tenken --lock-wait 600 -q  # in cron, after ingest";

const VERIFY_HELP: &str = "\
Checks the manifest's hash chain, that every listed file is present with its SHA-256,
size and row count, that no unlisted file lies under events/, findings/, state/ or
reviews/, and that every day held by two levels has the same rows and digest at both.
Prints `OK …` or every problem with its path. Read-only; takes no lock.

Exit status: 0 every check held, 2 a check failed (a failed verification is an error)
or the archive could not be read.

Examples:

  tenken verify --archive /archive/tenken         # every night, after ingest and rollup
  tenken verify --archive /archive/tenken --deep  # before a review or an audit";

/// Flags of `tenken rollup`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = ROLLUP_HELP)]
pub struct RollupArgs {
    /// The archive's root folder.
    #[arg(long)]
    pub archive: PathBuf,
    /// Run as of this date (YYYY-MM-DD, Japan time) instead of today.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day_arg)]
    pub now: Option<Day>,
    /// If another tenken is writing the archive, wait up to SECS for it instead of
    /// refusing at once.
    #[arg(long, value_name = "SECS")]
    pub lock_wait: Option<u64>,
    /// Print only the summary line; no progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Flags of `tenken verify`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Exit status: 0 every check held; 2 a check failed (a failed verification is an error) or the \
archive could not be read.")]
#[command(after_long_help = VERIFY_HELP)]
pub struct VerifyArgs {
    /// The archive's root folder.
    #[arg(long)]
    pub archive: PathBuf,
    /// Also decode every day of every file and recompute its content digest (slower).
    #[arg(long)]
    pub deep: bool,
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Runs `tenken rollup`.
pub fn run_rollup(args: &RollupArgs) -> crate::Result<crate::Exit> {
    let now = args.now.unwrap_or_else(time::today_jst);
    // A rollup of a folder that is not there is a mistyped path in a batch job: it must
    // not succeed by creating an empty archive.
    let mut archive =
        Archive::open_write_existing(&args.archive, args.lock_wait.map(Duration::from_secs))?;
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} rollup {pos}/{len} {wide_msg}")
        {
            bar.set_style(style);
        }
        bar
    });
    let report = archive.rollup_with(now, &mut |p| {
        if let Some(bar) = &bar {
            match p {
                Progress::Planned { count } => bar.inc_length(count as u64),
                Progress::Building { kind, period } => {
                    bar.set_message(format!("{kind} {} {period}", period.level()))
                }
                Progress::Done => bar.inc(1),
            }
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !args.quiet {
        for b in &report.built {
            println!(
                "{} {} {} {}: {} days, {} rows, {} in {:.2} s",
                if b.rebuilt { "rebuilt" } else { "built" },
                b.kind,
                b.period.level(),
                b.period,
                b.days,
                b.rows,
                human_bytes(b.bytes),
                b.elapsed.as_secs_f64()
            );
        }
        for r in &report.removed {
            let what = match r.level {
                Some(level) => format!("{} {level}", r.kind.as_str()),
                None => r.kind.as_str().to_owned(),
            };
            println!(
                "removed {what} {}: {}{}",
                r.period,
                r.rows.map(|n| format!("{n} rows, ")).unwrap_or_default(),
                human_bytes(r.bytes)
            );
        }
    }
    println!(
        "rollup as of {}: {} built ({} rebuilt), {} removed, {} written in {:.2} s",
        time::format_day(now),
        report.built.len(),
        report.built.iter().filter(|b| b.rebuilt).count(),
        report.removed.len(),
        human_bytes(report.bytes_written),
        report.elapsed.as_secs_f64()
    );
    Ok(crate::Exit::Success)
}

/// Runs `tenken verify`: exit 0 only if every check holds, 2 otherwise.
pub fn run_verify(args: &VerifyArgs) -> crate::Result<crate::Exit> {
    let report = verify_with(&args.archive, VerifyOptions { deep: args.deep })?;
    for n in &report.notes {
        println!("note: {n}");
    }
    for p in &report.problems {
        println!("FAIL {p}");
    }
    if report.ok() {
        println!(
            "OK {}: {} manifest entries (head {}), {} files, {} rows, {}; {} days agree across levels",
            args.archive.display(),
            report.entries,
            manifest::short(&report.head),
            report.files,
            report.rows,
            human_bytes(report.bytes),
            report.days_compared
        );
        Ok(crate::Exit::Success)
    } else {
        println!(
            "FAILED {}: {} problem(s)",
            args.archive.display(),
            report.problems.len()
        );
        Ok(crate::Exit::Error)
    }
}
